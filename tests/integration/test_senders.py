"""Sending alerts to a real webhook receiver on 127.0.0.1: delivery, signatures, and failures."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from monitor.alerts import ArticleRef, SinkTarget, build_payload, encode_body, send, verify
from monitor.errors import DeliveryError, FetchError
from tests.support.webhook_receiver import Reply, WebhookReceiver

SECRET = "whsec_" + base64.b64encode(b"integration test secret").decode()
DELIVERY_ID = "0b8e5c1e-2f6d-4c1a-9a43-2f0c7f1f7a11"


def _payload() -> dict[str, object]:
    article = ArticleRef(
        id=7,
        title="حفتر: Haftar's forces near Tripoli",
        url="https://news.example.org/haftar",
        published=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        source_name="Example Wire",
        source_url="https://news.example.org/rss.xml",
    )
    return build_payload(
        watchlist="libya",
        entities=["haftar", "tripoli"],
        article=article,
        matches=[
            {
                "watchlist": "libya",
                "entity": "haftar",
                "field": "title",
                "start": 6,
                "end": 12,
                "text": "Haftar",
            }
        ],
        excerpts=[{"field": "title", "text": article.title, "highlights": [[6, 12]]}],
        rule=None,
        timestamp=datetime.now(UTC),
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http_client:
        yield http_client


def _sink(url: str, **overrides: object) -> SinkTarget:
    options: dict[str, object] = {"name": "ops", "url": url, "secret": SECRET, "timeout": 5.0}
    options.update(overrides)
    return SinkTarget(**options)  # type: ignore[arg-type]


async def _failure(client: httpx.AsyncClient, sink: SinkTarget) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await send(client, sink, DELIVERY_ID, _payload(), now=datetime.now(UTC))
    assert caught.value.sink == sink.name
    assert not sink.url or sink.url not in str(caught.value)
    return caught.value


async def test_standard_webhook_delivers_signed_body(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    payload = _payload()
    now = datetime.now(UTC)
    sink = _sink(receiver.url, headers={"Authorization": "Bearer t", "webhook-id": "forged"})
    await send(client, sink, DELIVERY_ID, payload, now=now)

    [request] = receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.body == encode_body(payload)
    assert request.json == payload
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == DELIVERY_ID
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert request.headers["authorization"] == "Bearer t"
    assert verify(SECRET, request.headers, request.body)
    assert Webhook(SECRET).verify(request.body, dict(request.headers)) == payload


async def test_unsigned_sink_still_sends_the_delivery_id(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    await send(
        client, _sink(receiver.url, secret=None), DELIVERY_ID, _payload(), now=datetime.now(UTC)
    )
    [request] = receiver.wait_for(1)
    assert request.headers["webhook-id"] == DELIVERY_ID
    assert "webhook-signature" not in request.headers


@pytest.mark.parametrize(("message_format", "key"), [("slack", "blocks"), ("discord", "embeds")])
async def test_chat_formats_are_sent_with_the_delivery_id(
    receiver: WebhookReceiver, client: httpx.AsyncClient, message_format: str, key: str
) -> None:
    sink = _sink(receiver.url, format=message_format)
    await send(client, sink, DELIVERY_ID, _payload(), now=datetime.now(UTC))
    [request] = receiver.wait_for(1)
    assert isinstance(request.json, dict) and key in request.json
    assert request.headers["webhook-id"] == DELIVERY_ID
    assert verify(SECRET, request.headers, request.body)
    assert "حفتر" in request.body.decode("utf-8")


async def test_scripted_failures_then_success(client: httpx.AsyncClient) -> None:
    with WebhookReceiver(script=[500, 500, 200]) as receiver:
        sink = _sink(receiver.url)
        for _ in range(2):
            error = await _failure(client, sink)
            assert (error.reason, error.status) == ("http_5xx", 500)
        await send(client, sink, DELIVERY_ID, _payload(), now=datetime.now(UTC))
        requests = receiver.wait_for(3)
    assert [request.reply_status for request in requests] == [500, 500, 200]
    assert {request.headers["webhook-id"] for request in requests} == {DELIVERY_ID}


async def test_server_error_reports_a_short_one_line_message(client: httpx.AsyncClient) -> None:
    body = b"database\n  is down " + b"x" * 1_000_000
    with WebhookReceiver(script=[Reply(503, body=body)]) as receiver:
        error = await _failure(client, _sink(receiver.url))
    assert (error.reason, error.status) == ("http_5xx", 503)
    assert "HTTP 503" in str(error) and "database is down" in str(error)
    assert "\n" not in str(error) and len(str(error)) < 400
    assert error.retry_after is None


async def test_client_error_is_http_4xx(client: httpx.AsyncClient) -> None:
    with WebhookReceiver(script=[Reply(401, body=b'{"error":"bad signature"}')]) as receiver:
        error = await _failure(client, _sink(receiver.url))
    assert (error.reason, error.status) == ("http_4xx", 401)
    assert "bad signature" in str(error)


async def test_retry_after_seconds_and_date_are_reported(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    http_date = (now + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    script = [Reply(429, retry_after=7), Reply(503, retry_after=http_date)]
    with WebhookReceiver(script=script) as receiver:
        sink = _sink(receiver.url)
        with pytest.raises(DeliveryError) as first:
            await send(client, sink, DELIVERY_ID, _payload(), now=now)
        with pytest.raises(DeliveryError) as second:
            await send(client, sink, DELIVERY_ID, _payload(), now=now)
    assert (first.value.reason, first.value.status) == ("rate_limited", 429)  # as for feeds
    assert first.value.retry_after == 7.0
    assert second.value.retry_after == 120.0


async def test_slow_receiver_is_a_timeout(client: httpx.AsyncClient) -> None:
    with WebhookReceiver(script=[Reply(200, delay=30)]) as receiver:
        error = await _failure(client, _sink(receiver.url, timeout=0.3))
        assert len(receiver.wait_for(1)) == 1
    assert error.reason == "timeout"
    assert error.status is None


async def test_an_accepting_answer_whose_body_never_ends_is_delivered_at_once(
    client: httpx.AsyncClient,
) -> None:
    # The status line says 200, the body promises a megabyte and stops after two bytes. The
    # alert is delivered when the status came; waiting for the rest cost the sink's whole
    # timeout (here 60 s) per alert.
    import asyncio
    import time

    handlers: list[asyncio.Task[object]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nok")
        try:
            await writer.drain()
            await asyncio.sleep(120)
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        started = time.monotonic()
        status = await send(
            client,
            _sink(f"http://127.0.0.1:{port}/hook", timeout=60.0),
            DELIVERY_ID,
            _payload(),
            now=datetime.now(UTC),
        )
        assert status == 200
        assert time.monotonic() - started < 30  # the sink's timeout was not waited out
    finally:
        server.close()
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


async def test_closed_port_is_connect_error(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await _failure(client, _sink(f"http://127.0.0.1:{port}/hook"))
    assert error.reason == "connect_error"


async def test_redirect_is_not_followed(client: httpx.AsyncClient) -> None:
    with WebhookReceiver(script=[Reply(307, headers={"Location": "/elsewhere"})]) as receiver:
        error = await _failure(client, _sink(receiver.url))
        requests = receiver.requests
    assert (error.reason, error.status) == ("redirect", 307)
    assert [request.path for request in requests] == ["/hook"]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hook", "not a url", "http:///nohost", ""])
async def test_bad_url_sends_nothing(client: httpx.AsyncClient, url: str) -> None:
    error = await _failure(client, _sink(url))
    assert error.reason == "bad_url"


class _GuardTransport(httpx.AsyncBaseTransport):
    """Stands in for the egress guard: refuses every address, as the real one does for these."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise FetchError(str(request.url), "blocked_address", "10.0.0.1 is a private address")


async def test_blocked_address_from_the_guard_is_reported() -> None:
    async with httpx.AsyncClient(transport=_GuardTransport(), follow_redirects=False) as guarded:
        error = await _failure(guarded, _sink("http://127.0.0.1:9/hook"))
    assert error.reason == "blocked_address"
    assert "private address" in str(error)


async def test_receiver_wait_for_times_out_clearly(receiver: WebhookReceiver) -> None:
    with pytest.raises(AssertionError, match="expected 1 webhook request"):
        await receiver.wait_for_async(1, timeout=0.05)
    with pytest.raises(AssertionError, match="got 0"):
        receiver.wait_for(1, timeout=0.05)


async def test_receiver_records_non_json_bodies(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    response = await client.post(receiver.url, content=b"not json")
    assert response.status_code == 200
    [request] = await receiver.wait_for_async(1)
    assert (request.body, request.json) == (b"not json", None)
    assert json.loads(encode_body({"ok": True})) == {"ok": True}


async def test_unusable_secret_or_payload_is_reported_without_sending(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    error = await _failure(client, _sink(receiver.url, secret="whsec_***"))
    assert error.reason == "bad_secret"
    with pytest.raises(DeliveryError) as caught:
        await send(
            client,
            _sink(receiver.url, format="slack"),
            DELIVERY_ID,
            {"data": []},
            now=datetime.now(UTC),
        )
    assert caught.value.reason == "bad_payload"
    assert receiver.requests == []


async def test_naive_now_is_utc(receiver: WebhookReceiver, client: httpx.AsyncClient) -> None:
    now = datetime(2026, 11, 25, 12, 0, 0)
    await send(client, _sink(receiver.url), DELIVERY_ID, _payload(), now=now)
    [request] = receiver.wait_for(1)
    assert request.headers["webhook-timestamp"] == str(int(now.replace(tzinfo=UTC).timestamp()))


@pytest.mark.parametrize("headers", [{"X-Team": "ops\r\nX-Injected: 1"}, {"X-Team": "café"}])
async def test_unusable_extra_header_is_reported_without_sending(
    receiver: WebhookReceiver, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    error = await _failure(client, _sink(receiver.url, headers=headers))
    assert error.reason == "bad_header"
    assert receiver.requests == []


async def test_error_messages_never_show_the_sink_url(client: httpx.AsyncClient) -> None:
    token_path = "/services/T0001/B0001/s3cr3tT0k3n"
    with WebhookReceiver(script=[Reply(404, body=f"no hook at {token_path}".encode())]) as receiver:
        error = await _failure(client, _sink(receiver.base_url + token_path))
    assert error.reason == "http_4xx"
    assert "s3cr3tT0k3n" not in str(error)


async def test_a_non_ascii_reason_phrase_is_kept(client: httpx.AsyncClient) -> None:
    # An outside probe: "500 Ërreur ñ 服务器" was stored and logged as "HTTP 500 rreur  ".
    import asyncio

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        phrase = "Ërreur ñ 服务器".encode() if b"/utf8" in head else "Ërreur".encode("latin-1")
        writer.write(b"HTTP/1.1 500 " + phrase + b"\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        error = await _failure(client, _sink(f"http://127.0.0.1:{port}/utf8"))
        assert str(error).endswith("HTTP 500 Ërreur ñ 服务器"), str(error)
        error = await _failure(client, _sink(f"http://127.0.0.1:{port}/latin1"))
        assert str(error).endswith("HTTP 500 Ërreur"), str(error)
    finally:
        server.close()


async def test_a_503_with_a_retry_after_is_unavailable(client: httpx.AsyncClient) -> None:
    # "Down for maintenance, back in an hour": a pause that holds the sink, as a 429's does.
    with WebhookReceiver(script=[Reply(503, headers={"Retry-After": "3600"})]) as receiver:
        error = await _failure(client, _sink(receiver.url))
    assert (error.reason, error.status, error.retry_after) == ("unavailable", 503, 3600)
