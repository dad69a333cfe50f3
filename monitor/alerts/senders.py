"""Sends one alert to one sink (standard webhook, Slack or Discord) over a given httpx client.

Failures raise ``DeliveryError`` with a stable ``reason`` (see ``DELIVERY_REASONS``), the HTTP
``status`` when there was one, and ``retry_after`` (seconds, or None). Messages never show the
sink URL's credentials (userinfo, secret query parameters, Slack and Discord webhook tokens):
they pass through ``monitor.redact.redact_text``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

import httpx

from monitor.alerts.payload import MessageFormat, encode_body, render_message
from monitor.alerts.signing import secret_forms, sign
from monitor.egress import classify_error, reason_phrase, status_reason
from monitor.errors import DeliveryError, FetchError
from monitor.fetch import parse_retry_after
from monitor.redact import redact_text, redact_url

__all__ = [
    "DELIVERY_REASONS",
    "MAX_ERROR_BODY_BYTES",
    "SinkTarget",
    "secrets_of",
    "send",
]

DELIVERY_REASONS = (
    # The receiver's answer (``status`` is set): the codes of `monitor.egress.status_reason`,
    # as for feeds, except that webhook sends never follow a redirect.
    "http_4xx",  # the receiver answered 4xx
    "rate_limited",  # the receiver answered 429 (its Retry-After is honoured)
    "unavailable",  # the receiver answered 503 with a Retry-After (honoured as a 429's)
    "http_5xx",  # the receiver answered 5xx
    "http_error",  # any other non-2xx, non-3xx final status
    "redirect",  # 3xx: webhook sends never follow redirects
    # No answer: `monitor.egress.classify_error`, the one classifier shared with feeds.
    "timeout",  # no full answer within the sink's timeout
    "blocked_address",  # the egress guard refused the address (private, loopback, ...)
    "dns_error",  # the host name could not be resolved
    "connect_error",  # no connection (refused, unreachable)
    "tls_error",  # the TLS handshake failed (certificate not trusted, wrong name, ...)
    "protocol_error",  # the receiver broke the HTTP protocol
    "network_error",  # the connection broke while sending or reading
    "bad_url",  # the sink URL cannot be requested
    # Before sending.
    "bad_header",  # a configured extra header is not a valid HTTP header
    "bad_secret",  # the sink secret is not usable (whsec_ without valid base64, empty)
    "bad_payload",  # the stored payload cannot be rendered for the sink's format
)

MAX_ERROR_BODY_BYTES = 64 * 1024
# Seconds the body of a 2xx answer may take once its status line came: the alert is
# delivered by then, and the body is read only so the connection can be used again. A
# receiver whose accepting answer never ends cost each alert the sink's whole timeout.
ACCEPTED_BODY_WAIT = 2.0
_MESSAGE_CHARS = 300
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SinkTarget:
    """Where and how to send alerts; ``timeout`` is the total seconds allowed per send."""

    name: str
    url: str
    secret: str | None
    format: MessageFormat = "standard"
    timeout: float = 15.0
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def secrets_of(secret: str | None, headers: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """What a receiver may repeat of a sink's credentials, to be masked in its answers: the
    signing secret's forms (`monitor.alerts.signing.secret_forms`), each extra header's
    value, and the value without its scheme word (``Bearer <token>``)."""
    found = list(secret_forms(secret)) if secret else []
    for value in (headers or {}).values():
        found += [value, value.partition(" ")[2]]
    return tuple(s for s in found if s.strip())


def _delivery_error(
    sink: SinkTarget,
    reason: str,
    message: str,
    status: int | None = None,
    retry_after: float | None = None,
) -> DeliveryError:
    shown = redact_text(message, sink.url, secrets=secrets_of(sink.secret, sink.headers))
    error = DeliveryError(sink.name, reason, shown, status)
    # Every DeliveryError from send() carries retry_after, so the outbox can honour it.
    error.retry_after = retry_after
    return error


def _retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP date; None if unreadable."""
    reference = now if now.tzinfo else now.replace(tzinfo=UTC)
    # One reader for feeds and sinks: bounded, never raises (a header "²" or 5000 digits).
    return parse_retry_after(value, now=reference.timestamp())


def _one_line(text: str) -> str:
    line = _WHITESPACE.sub(" ", text).strip()
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 1] + "…"


async def _read_capped(response: httpx.Response) -> bytes:
    """Up to MAX_ERROR_BODY_BYTES of the raw body; the rest is never read."""
    received = bytearray()
    async for chunk in response.aiter_raw():
        received += chunk
        if len(received) >= MAX_ERROR_BODY_BYTES:
            break
    return bytes(received[:MAX_ERROR_BODY_BYTES])


# The statuses that say "moved": a redirect even when the receiver names no Location.
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _status_error(
    sink: SinkTarget, response: httpx.Response, body: bytes, now: datetime
) -> DeliveryError:
    status = response.status_code
    retry_after = _retry_after_seconds(response.headers.get("retry-after"), now)
    if status in _REDIRECTS or (300 <= status < 400 and response.headers.get("location")):
        reason = "redirect"
        detail = "redirects are not followed for webhooks; configure the final URL"
        location = response.headers.get("location")
        if location:  # where it points (probe85: the operator had to find it out)
            try:
                target = str(response.url.join(location))
            except (httpx.InvalidURL, ValueError):
                target = location
            detail += f" (it points to {redact_url(target)})"
        else:
            detail += " (this one names none: no Location header)"
    elif 300 <= status < 400:  # 304 and the like: not a redirect, and not an acceptance
        reason = "http_error"
        detail = "a webhook receiver must answer 2xx to accept an alert"
    else:
        reason = status_reason(status)
        if status == 503 and retry_after is not None:
            # "Down for maintenance, back at T": a pause like a 429's, which holds the sink
            # (HOLDING_REASONS), not a failure that the next alert should try again.
            reason = "unavailable"
        detail = _one_line(body.decode("utf-8", errors="replace"))
    message = f"HTTP {status}"
    if phrase := reason_phrase(response):
        message += f" {phrase}"
    if detail:
        message += f": {detail}"
    return _delivery_error(sink, reason, message, status, retry_after)


def _transport_error(sink: SinkTarget, exc: Exception) -> DeliveryError:
    """No answer from the receiver, classified as feeds are (`classify_error`)."""
    if isinstance(exc, FetchError):
        message = str(exc).removeprefix(f"{redact_url(exc.url)}: ")
        return _delivery_error(sink, exc.reason, message, exc.status)
    failure = classify_error(exc, deadline=sink.timeout)
    if failure is None:
        detail = _one_line(str(exc)) or type(exc).__name__
        return _delivery_error(sink, "network_error", f"{type(exc).__name__}: {detail}")
    return _delivery_error(sink, failure.reason, _one_line(failure.message))


def _check_url(sink: SinkTarget) -> httpx.URL:
    try:
        url = httpx.URL(sink.url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _delivery_error(sink, "bad_url", "sink URL cannot be parsed") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise _delivery_error(sink, "bad_url", "sink URL must be an absolute http(s) URL")
    return url


_BAD_HEADER_CHARS = re.compile(r"[\r\n\x00]")


def _request_headers(sink: SinkTarget, delivery_id: str, timestamp: int) -> httpx.Headers:
    """The configured extra headers plus the protocol headers (which always win)."""
    for name, value in sink.headers.items():
        if _BAD_HEADER_CHARS.search(name) or _BAD_HEADER_CHARS.search(value):
            raise _delivery_error(sink, "bad_header", f"header {name!r} has a line break or NUL")
    try:
        headers = httpx.Headers(dict(sink.headers))
    except (UnicodeError, TypeError, ValueError) as exc:
        raise _delivery_error(sink, "bad_header", f"extra headers are not usable: {exc}") from exc
    headers["content-type"] = "application/json"
    # The body is only read for an error message; ask for it uncompressed so it stays small.
    headers["accept-encoding"] = "identity"
    headers["webhook-id"] = delivery_id
    headers["webhook-timestamp"] = str(timestamp)
    if "webhook-signature" in headers:
        del headers["webhook-signature"]
    return headers


async def send(
    client: httpx.AsyncClient,
    sink: SinkTarget,
    delivery_id: str,
    payload: Mapping[str, object],
    *,
    now: datetime,
) -> int:
    """POST the alert ``payload`` to ``sink`` as delivery ``delivery_id`` (the ``webhook-id``).

    Returns the 2xx status when the receiver accepted it; raises ``DeliveryError`` otherwise.
    ``now`` gives the ``webhook-timestamp`` (a naive ``now`` is taken as UTC). The body is
    encoded once and the signature covers exactly those bytes.
    """
    url = _check_url(sink)
    try:
        body = encode_body(render_message(sink.format, payload))
    except (ValueError, TypeError) as exc:
        raise _delivery_error(sink, "bad_payload", f"alert cannot be rendered: {exc}") from exc
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    timestamp = int(now.timestamp())
    headers = _request_headers(sink, delivery_id, timestamp)
    if sink.secret:
        try:
            headers["webhook-signature"] = sign(sink.secret, delivery_id, timestamp, body)
        except ValueError as exc:
            raise _delivery_error(sink, "bad_secret", str(exc)) from exc
    response: httpx.Response | None = None
    response_body = b""
    try:
        # httpx timeouts apply per phase and per read; the asyncio deadline bounds the whole send.
        async with asyncio.timeout(sink.timeout):
            async with client.stream(
                "POST",
                url,
                content=body,
                headers=headers,
                timeout=httpx.Timeout(sink.timeout),
                follow_redirects=False,
            ) as response:
                if response.is_success:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(ACCEPTED_BODY_WAIT):
                            await _read_capped(response)
                else:
                    response_body = await _read_capped(response)
    except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, FetchError) as exc:
        if response is None:
            raise _transport_error(sink, exc) from exc
    # Past this point the status line arrived: a body that broke off or came too slowly only
    # shortens the error message, and a 2xx counts as delivered whatever happened after it.
    if response is None:
        raise _delivery_error(sink, "network_error", "no response")
    if not response.is_success:
        raise _status_error(sink, response, response_body, now)
    return response.status_code
