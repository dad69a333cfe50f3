"""One classifier for failed requests (`monitor.egress.classify_error`): a feed and a webhook
sink that fail the same way get the same reason code, through the real guarded client and
real servers on 127.0.0.1 (blocked address, unresolvable name, refused connection, timeout,
TLS, redirects)."""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from monitor.alerts import ArticleRef, SinkTarget, build_payload, send
from monitor.egress import (
    BlockedAddressError,
    HttpOptions,
    NameResolutionError,
    classify_error,
    make_client,
)
from monitor.errors import DeliveryError, FetchError
from monitor.fetch import fetch_feed
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import Reply as HookReply
from tests.support.webhook_receiver import WebhookReceiver

# A 64-character label is not a valid DNS name: the resolver fails it without a query.
UNRESOLVABLE = "x" * 64 + ".example"


def _payload() -> dict[str, object]:
    article = ArticleRef(
        id=1,
        title="Haftar near Tripoli",
        url="https://example.org/a",
        published=None,
        source_name="Wire",
        source_url="https://example.org/rss.xml",
    )
    return build_payload(
        watchlist="libya",
        entities=["haftar"],
        article=article,
        matches=[],
        excerpts=[],
        rule=None,
        timestamp=datetime.now(UTC),
    )


async def _feed_reason(url: str, *, private: bool = True, total: float = 10.0) -> str:
    options = HttpOptions(allow_private_networks=private, total_timeout=total, max_redirects=3)
    async with make_client(options) as client:
        with pytest.raises(FetchError) as caught:
            await fetch_feed(client, url, etag=None, last_modified=None, options=options)
    return caught.value.reason


async def _sink_reason(url: str, *, private: bool = True, seconds: float = 5.0) -> str:
    options = HttpOptions(allow_private_networks=private)
    sink = SinkTarget(name="ops", url=url, secret=None, timeout=seconds)
    async with make_client(options, follow_redirects=False) as client:
        with pytest.raises(DeliveryError) as caught:
            await send(client, sink, "d-1", _payload(), now=datetime.now(UTC))
    return caught.value.reason


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_loopback_address_is_blocked_for_a_feed_and_a_sink() -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/f.xml", Reply(body=b"<rss/>"))
        assert await _feed_reason(feeds.url("/f.xml"), private=False) == "blocked_address"
        assert await _sink_reason(receiver.url, private=False) == "blocked_address"
        assert feeds.requests == [] and receiver.requests == []


async def test_a_name_that_does_not_resolve_is_a_dns_error_for_both() -> None:
    url = f"http://{UNRESOLVABLE}/x"
    assert await _feed_reason(url) == "dns_error"
    assert await _sink_reason(url) == "dns_error"


async def test_a_refused_connection_is_a_connect_error_for_both() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/x"
    assert await _feed_reason(url) == "connect_error"
    assert await _sink_reason(url) == "connect_error"


async def test_a_server_that_does_not_answer_is_a_timeout_for_both() -> None:
    with FeedServer() as feeds, WebhookReceiver(script=[HookReply(200, delay=30)]) as receiver:
        feeds.route("/slow.xml", Reply(body=b"<rss/>", delay=30))
        assert await _feed_reason(feeds.url("/slow.xml"), total=0.3) == "timeout"
        assert await _sink_reason(receiver.url, seconds=0.3) == "timeout"


async def test_redirects_a_feed_loops_on_and_a_sink_is_sent() -> None:
    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[HookReply(307, headers={"Location": "/elsewhere"})]) as receiver,
    ):
        feeds.route("/loop.xml", Reply.redirect("/loop.xml"))
        assert await _feed_reason(feeds.url("/loop.xml")) == "too_many_redirects"
        # Webhook sends never follow a redirect: the first one is the failure.
        assert await _sink_reason(receiver.url) == "redirect"


@pytest.fixture
def untrusted_tls_url(tmp_path: Path) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=monitor-test", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda request, address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/x"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_an_untrusted_certificate_is_a_tls_error_for_both(untrusted_tls_url: str) -> None:
    assert await _feed_reason(untrusted_tls_url) == "tls_error"
    assert await _sink_reason(untrusted_tls_url) == "tls_error"


REQUEST = httpx.Request("GET", "https://example.org/x")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            BlockedAddressError("h", ipaddress.ip_address("10.0.0.1"), "private"),
            "blocked_address",
        ),
        (NameResolutionError("h", "no such name"), "dns_error"),
        (httpx.ConnectError("refused", request=REQUEST), "connect_error"),
        (httpx.ReadTimeout("x", request=REQUEST), "timeout"),
        (TimeoutError(), "timeout"),
        (httpx.TooManyRedirects("x", request=REQUEST), "too_many_redirects"),
        (httpx.RemoteProtocolError("x", request=REQUEST), "protocol_error"),
        (httpx.ReadError("x", request=REQUEST), "network_error"),
        (httpx.InvalidURL("x"), "bad_url"),
    ],
)
def test_the_one_classifier_names_each_failure(error: Exception, reason: str) -> None:
    failure = classify_error(error)
    assert failure is not None and failure.reason == reason


def test_a_refused_certificate_behind_a_connect_error_is_a_tls_error() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed")
        except ssl.SSLError as tls:
            raise httpx.ConnectError("handshake failed", request=REQUEST) from tls
    except httpx.ConnectError as error:
        failure = classify_error(error)
    assert failure is not None and failure.reason == "tls_error"


def test_an_error_that_is_not_about_the_request_is_not_classified() -> None:
    assert classify_error(ValueError("a bug")) is None


async def test_a_sinks_redirect_names_where_it_points() -> None:
    # An outside probe (probe85): "redirects are not followed ... configure the final URL"
    # and not a word of the final URL; its secrets are shown redacted.
    moved = {"Location": "/v2/hook?token=s3cr3t"}
    with WebhookReceiver(script=[HookReply(308, headers=moved)]) as receiver:
        options = HttpOptions(allow_private_networks=True)
        sink = SinkTarget(name="ops", url=receiver.url, secret=None, timeout=5.0)
        async with make_client(options, follow_redirects=False) as client:
            with pytest.raises(DeliveryError) as caught:
                await send(client, sink, "d-1", _payload(), now=datetime.now(UTC))
        base = "/".join(receiver.url.split("/", 3)[:3])
    message = str(caught.value)
    assert f"(it points to {base}/v2/hook?token=" in message, message
    assert "s3cr3t" not in message, message


async def test_a_sink_answering_304_is_not_called_a_redirect() -> None:
    # A 3xx without a Location sends nowhere: telling the operator to "configure the final
    # URL" would send them looking for one.
    with WebhookReceiver(script=[HookReply(304)]) as receiver:
        assert await _sink_reason(receiver.url) == "http_error"


async def test_a_sink_answering_moved_without_a_location_is_a_redirect() -> None:
    # 301/302/303/307/308 say "moved" even when the receiver names no Location: the reason
    # is `redirect` (docs/operations.md, "Receivers that fail"), the message says none named.
    for status in (301, 308):
        with WebhookReceiver(script=[HookReply(status)]) as receiver:
            assert await _sink_reason(receiver.url) == "redirect"


async def test_a_broken_status_line_is_quoted_as_text_not_as_python_bytes() -> None:
    # h11 names the bytes it refused as a bytearray repr; the message shows them as text.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        options = HttpOptions(allow_private_networks=True, total_timeout=5.0)
        async with make_client(options) as client:
            with pytest.raises(httpx.HTTPError) as caught:
                await client.get(f"http://127.0.0.1:{server.getsockname()[1]}/")
        failure = classify_error(caught.value)
        assert failure is not None and failure.reason == "protocol_error"
        assert "'HTTP/1.1 2OO OK'" in failure.message and "bytearray" not in failure.message
    finally:
        thread.join(timeout=5)
        server.close()


async def _message(url: str, *, seconds: float) -> tuple[str, str, str, str]:
    options = HttpOptions(allow_private_networks=True, total_timeout=seconds)
    async with make_client(options) as client:
        with pytest.raises(FetchError) as fetched:
            await fetch_feed(client, url, etag=None, last_modified=None, options=options)
    sink = SinkTarget(name="ops", url=url, secret=None, timeout=seconds)
    async with make_client(HttpOptions(allow_private_networks=True)) as client:
        with pytest.raises(DeliveryError) as sent:
            await send(client, sink, "d-1", _payload(), now=datetime.now(UTC))
    return fetched.value.reason, str(fetched.value), sent.value.reason, str(sent.value)


async def test_https_to_a_plain_http_port_says_so_for_both() -> None:
    # An https:// URL on a port that speaks plain HTTP (an operator's slip) said
    # "WRONG_VERSION_NUMBER", or, from a server that waits for a line end (Python's
    # http.server), "no complete answer within 15 s" and nothing about TLS.
    import asyncio

    accepted: list[asyncio.StreamWriter] = []

    async def answers_400(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read(1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()

    async def waits(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client gives up

    for handler, reason, words in (
        (answers_400, "tls_error", "the server answered in plain HTTP, not TLS; use http://"),
        (waits, "timeout", "no answer to the TLS handshake within 1.5 s"),
    ):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        try:
            url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
            feed_reason, feed_text, sink_reason, sink_text = await _message(url, seconds=1.5)
        finally:
            server.close()
            for writer in accepted:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
            await server.wait_closed()
        assert (feed_reason, sink_reason) == (reason, reason)
        assert words in feed_text and words in sink_text, (feed_text, sink_text)


@pytest.mark.parametrize(
    "flood",
    [
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
        # a chunked body whose chunks carry endless extensions and no data
        b"1;" + b"x" * 4000 + b"\r\na\r\n",
    ],
    ids=["early-hints", "chunk-extensions"],
)
async def test_a_server_that_answers_one_request_endlessly_is_cut_off(flood: bytes) -> None:
    # An outside probe: endless "103 Early Hints" (or chunk extensions, which are not body
    # bytes) kept the event loop parsing for the whole 30 s deadline, about a core's worth,
    # while /healthz took seconds. Everything read for one request is capped too.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def answer() -> None:
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            if flood.startswith(b"1;"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not stop.is_set():
                conn.sendall(flood * 64)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        options = HttpOptions(
            allow_private_networks=True, total_timeout=20.0, max_body_bytes=100_000
        )
        started = time.monotonic()
        async with make_client(options) as client:
            with pytest.raises(FetchError) as caught:
                await fetch_feed(
                    client,
                    f"http://127.0.0.1:{server.getsockname()[1]}/feed.xml",
                    etag=None,
                    last_modified=None,
                    options=options,
                )
        assert time.monotonic() - started < 10
        assert "bytes in answer to one request" in str(caught.value)
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
