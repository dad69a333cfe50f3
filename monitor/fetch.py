"""Fetching one feed: a conditional GET through the guarded client (`monitor.egress`), with a
size cap, a total deadline and a stable reason code on every failure.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import re
import time
from dataclasses import dataclass, replace
from typing import Final

import httpx

from monitor.dates import entry_date
from monitor.durations import format_duration
from monitor.egress import (
    HttpOptions,
    classify_error,
    make_client,
    read_limited,
    reason_phrase,
    status_reason,
)
from monitor.errors import FetchError
from monitor.redact import redact_url
from monitor.schedule import cache_hint

__all__ = [
    "FEED_ACCEPT",
    "MAX_RETRY_AFTER",
    "FetchResult",
    "HttpOptions",
    "fetch_feed",
    "make_client",
    "parse_retry_after",
    "read_limited",
]

PERMANENT_REDIRECTS: Final = (301, 308)
# Retry-After: ASCII digits only (str.isdigit() also takes "²"), read as at most a year.
_DELTA_SECONDS: Final = re.compile(r"[0-9]+")
MAX_RETRY_AFTER_SECONDS: Final = 366 * 86400
# The longest a feed's Retry-After holds its next poll: a server that asks for more (a date
# years ahead, a misconfiguration) is asked again a day later.
MAX_RETRY_AFTER: Final = datetime.timedelta(days=1)

FEED_ACCEPT: Final = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)


@dataclass(frozen=True)
class FetchResult:
    """The outcome of a successful (2xx) or not-modified (304) feed request.

    ``url`` is the final URL after redirects. ``body`` is the decoded body, None on 304.
    ``etag``/``last_modified`` are the validators to send next time (on 304 the ones sent,
    unless the server gave new ones). ``retry_after`` is in seconds, when the server said.
    """

    url: str
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    not_modified: bool
    retry_after: float | None
    # Where permanent redirects (301/308, and only those, from the first hop on) lead: the
    # URL to poll from now on. None when the first hop was not a permanent redirect.
    moved_to: str | None = None
    # How long the server says the answer stays fresh (Cache-Control max-age, Expires).
    cache_hint: datetime.timedelta | None = None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date), or None
    when absent or unreadable. ``now`` is a Unix time, by default the current one."""
    if value is None:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        # Bounded, so that no later arithmetic overflows: nobody waits longer than a year. Any
        # number of digits is a number (23 digits were read as no answer at all: probe66 F4),
        # and one longer than a year's digits is more than a year (never converted whole).
        digits = text.lstrip("0") or "0"
        if len(digits) > len(str(MAX_RETRY_AFTER_SECONDS)):
            return float(MAX_RETRY_AFTER_SECONDS)
        return float(min(int(digits), MAX_RETRY_AFTER_SECONDS))
    if len(text) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # a "-0000" zone: the time is still UTC
        when = when.replace(tzinfo=datetime.UTC)
    current = time.time() if now is None else now
    try:
        seconds = when.timestamp() - current
    except (OverflowError, ValueError):
        return None
    return min(max(0.0, seconds), float(MAX_RETRY_AFTER_SECONDS))


def _fetch_error(
    url: str,
    reason: str,
    message: str,
    *,
    status: int | None = None,
    retry_after: float | None = None,
) -> FetchError:
    error = FetchError(url, reason, message, status)
    # Every FetchError from here carries `retry_after` (None when the server said nothing),
    # so the scheduler can honour a 429/503's Retry-After.
    error.retry_after = retry_after
    return error


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # an IDNA host is decoded (and refused) here
    except (httpx.InvalidURL, TypeError, ValueError) as error:  # IDNAError is a ValueError
        raise _fetch_error(url, "bad_url", f"not a valid URL: {error}") from error
    if parsed.scheme not in ("http", "https"):
        shown = f"{parsed.scheme}:" if parsed.scheme else "a URL without a scheme"
        raise _fetch_error(url, "bad_url", f"only http and https URLs can be fetched, not {shown}")
    if not host:
        raise _fetch_error(url, "bad_url", "the URL has no host name")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise _fetch_error(url, "bad_url", f"the port {parsed.port} is not 1-65535")
    return parsed


_MAX_VALIDATOR_CHARS = 1024


def sendable_validator(value: str | None) -> str | None:
    """An ETag or Last-Modified value that can be sent back as it came: printable ASCII, at
    most 1,024 characters; else None. A server may send other bytes (HTTP allows them, httpx
    reads them as Latin-1), but a request cannot carry them: stored, such a value made every
    later poll of the feed fail before its request was sent."""
    if not value:
        return None
    value = value.strip()
    if not value or len(value) > _MAX_VALIDATOR_CHARS:
        return None
    return value if value.isascii() and value.isprintable() else None


def sendable_date(value: str | None) -> str | None:
    """A Last-Modified value that can be sent back as If-Modified-Since, as it came:
    `sendable_validator` and a date, an HTTP date or another form a feed's dates take (a
    server's "garbage-date" was sent back on every poll; one writing "2026-12-07 07:58:39",
    and answering 304 to it, was fetched whole at every poll when only HTTP dates were
    kept: two outside probes)."""
    value = sendable_validator(value)
    if value is None:
        return None
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return value if entry_date(value, None) is not None else None
    return value


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    options: HttpOptions,
) -> FetchResult:
    """GET a feed, sending ``etag``/``last_modified`` as If-None-Match/If-Modified-Since.

    ``client`` comes from ``make_client(options)``, which sets the timeouts and the address
    guard; redirects are followed here, up to ``options.max_redirects``. Raises `FetchError`
    with a stable ``reason`` (timeout, connect_error, dns_error, blocked_address, tls_error,
    http_4xx, gone (410), http_5xx, rate_limited, http_error, too_large, too_many_redirects,
    bad_url, protocol_error, network_error, decoding_error; `monitor.egress.classify_error`, shared
    with the webhook senders) and a ``retry_after`` attribute.
    """
    target = _checked_url(url)
    headers = {"Accept": FEED_ACCEPT}
    # Checked here too: a validator stored before it was checked when read.
    if etag := sendable_validator(etag):
        headers["If-None-Match"] = etag
    if last_modified := sendable_date(last_modified):
        headers["If-Modified-Since"] = last_modified
    try:
        # One deadline over the whole exchange (redirects, headers, body): httpx's timeouts
        # are per network operation and never trip on a server that drips bytes.
        async with asyncio.timeout(options.total_timeout):
            request = client.build_request("GET", target, headers=headers)
            # Cookies live for one fetch: one a redirect sets goes with the requests that
            # follow it (a consent or session hop), as far as its domain allows. The jar is
            # made only then: most fetches have no redirect.
            cookies: httpx.Cookies | None = None
            moved_to: str | None = None
            permanent = True  # every hop so far was a 301/308
            for _hop in range(options.max_redirects + 1):
                # Redirects are followed here rather than by httpx, which reads the whole
                # body of every redirect response, with no size limit, before following it.
                response = await client.send(request, stream=True, follow_redirects=False)
                try:
                    if response.next_request is None:
                        result = await _read_feed_response(
                            response,
                            url,
                            etag=etag,
                            last_modified=last_modified,
                            options=options,
                            permanent=permanent,
                        )
                        return replace(result, moved_to=moved_to)
                    request = response.next_request
                    if request.url.scheme not in ("http", "https"):
                        # The Location as written: httpx gives a URL without a host this
                        # server's host (file:///etc/passwd -> file://<server>/etc/passwd).
                        written = response.headers.get("location") or str(request.url)
                        message = (
                            f"a redirect leads to {redact_url(written)}, not an http or https URL"
                        )
                        raise _fetch_error(url, "bad_url", message)
                    port = request.url.port
                    if port is not None and not 0 < port < 65536:
                        # A socket refuses it with an OverflowError (65536, -1): a traceback
                        # and an internal error; port 0 connected to port 80 (probe67).
                        written = response.headers.get("location") or str(request.url)
                        message = (
                            f"a redirect leads to {redact_url(written)}, whose port {port} is "
                            "not a port (1-65535)"
                        )
                        raise _fetch_error(url, "bad_url", message)
                    if "set-cookie" in response.headers:
                        cookies = cookies if cookies is not None else httpx.Cookies()
                        cookies.extract_cookies(response)
                    if cookies:
                        cookies.set_cookie_header(request)
                    permanent = permanent and response.status_code in PERMANENT_REDIRECTS
                    if permanent:
                        moved_to = str(request.url)
                finally:
                    await response.aclose()
            message = (
                f"more than {options.max_redirects} redirects (a redirect loop, or a chain "
                f"too long); the last one leads to {redact_url(str(request.url))}"
            )
            raise _fetch_error(url, "too_many_redirects", message)
    except (TimeoutError, httpx.HTTPError, httpx.InvalidURL) as error:
        # One classifier for feeds and sinks (monitor.egress.classify_error).
        failure = classify_error(error, deadline=options.total_timeout)
        if failure is None:
            raise
        message = failure.message
        if failure.reason == "too_large":
            message += " (`fetch.max_body`)"  # the setting that says how large a feed may be
        raise _fetch_error(url, failure.reason, message) from error


async def _read_feed_response(
    response: httpx.Response,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    options: HttpOptions,
    permanent: bool = True,
) -> FetchResult:
    """The final response of a fetch; ``permanent``: every redirect before it (if any) was
    301/308, so a 410 here means the feed itself is gone."""
    status = response.status_code
    final_url = str(response.url)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    fresh_for = cache_hint(
        response.headers.get("cache-control"),
        response.headers.get("expires"),
        response.headers.get("date"),
        datetime.datetime.now(datetime.UTC),
    )
    content_type = response.headers.get("content-type")
    if status == 304:
        # Not modified: keep the validators unless the server sent new ones. A 304 has no body
        # (HTTP says so, and h11 reads none), but closing it unread drops the connection:
        # reading the empty body ends the exchange, so the connection goes back to the pool.
        # Read from the stream itself: `aread` goes through four more async generators
        # (decoders, chunkers), a sixth of a 304's time in the event loop.
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # an AsyncClient's response
        async for _ in stream:
            pass
        return FetchResult(
            url=final_url,
            status=status,
            body=None,
            etag=sendable_validator(response.headers.get("etag")) or etag,
            last_modified=sendable_date(response.headers.get("last-modified")) or last_modified,
            content_type=content_type,
            not_modified=True,
            retry_after=retry_after,
            cache_hint=fresh_for,
        )
    if 200 <= status < 300:
        body = await read_limited(response, options)
        return FetchResult(
            url=final_url,
            status=status,
            body=body,
            etag=sendable_validator(response.headers.get("etag")),
            last_modified=sendable_date(response.headers.get("last-modified")),
            content_type=content_type,
            not_modified=False,
            retry_after=retry_after,
            cache_hint=fresh_for,
        )
    message = f"the server answered {status} {reason_phrase(response)}".rstrip()
    if 300 <= status < 400:
        message += " (a redirect that cannot be followed)"
    if final_url != url:
        message += f" at {redact_url(final_url)}"
    if retry_after is not None:
        asked = datetime.timedelta(seconds=retry_after)
        # parse_retry_after reads at most a year: what it cut says "more than a year".
        wait = (
            "more than a year" if retry_after >= MAX_RETRY_AFTER_SECONDS else format_duration(asked)
        )
        message += f"; it asks to wait {wait} before trying again"
        if asked > MAX_RETRY_AFTER:
            message += f" (polled again in {format_duration(MAX_RETRY_AFTER)}, the longest wait)"
    # 410 Gone: the feed was removed for good; the scheduler stops polling it. Behind a
    # temporary redirect it only says the temporary target is gone: an ordinary 4xx.
    reason = "gone" if status == 410 and permanent else status_reason(status)
    raise _fetch_error(url, reason, message, status=status, retry_after=retry_after)
