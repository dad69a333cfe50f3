"""fetch_feed and the guarded client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from monitor.egress import GuardedTransport, IPAddress, ResponseTooLargeError, read_limited
from monitor.errors import FetchError
from monitor.fetch import FetchResult, HttpOptions, fetch_feed, make_client
from tests.support.feed_server import FeedServer, RecordedRequest, Reply

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire</title>
<item><guid>1</guid><title>Haftar's forces near Tripoli</title></item>
</channel></rss>
"""
ETAG = '"feed-v1"'
LAST_MODIFIED = "Tue, 24 Nov 2026 10:00:00 GMT"


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


# Every test server is on 127.0.0.1, so every client here allows private networks, except
# the ones that test the guard.
OPEN = HttpOptions(allow_private_networks=True)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(OPEN) as open_client:
        yield open_client


async def fetch(
    url: str,
    options: HttpOptions = OPEN,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    async with make_client(options) as own_client:
        return await fetch_feed(
            own_client, url, etag=etag, last_modified=last_modified, options=options
        )


async def fetch_error(url: str, options: HttpOptions = OPEN) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetch(url, options)
    return caught.value


# --- success and conditional GET ------------------------------------------------------------


async def test_200_returns_the_body_and_the_new_validators(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    feed_server.route(
        "/rss.xml",
        Reply(
            body=RSS,
            headers={
                "Content-Type": "application/rss+xml; charset=utf-8",
                "ETag": ETAG,
                "Last-Modified": LAST_MODIFIED,
            },
        ),
    )
    url = feed_server.url("/rss.xml")

    result = await fetch_feed(client, url, etag=None, last_modified=None, options=OPEN)

    assert result == FetchResult(
        url=url,
        status=200,
        body=RSS,
        etag=ETAG,
        last_modified=LAST_MODIFIED,
        content_type="application/rss+xml; charset=utf-8",
        not_modified=False,
        retry_after=None,
    )
    (request,) = feed_server.requests_for("/rss.xml")
    assert request.method == "GET"
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers
    assert "application/rss+xml" in request.headers["accept"]


async def test_the_server_receives_the_configured_user_agent(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS))
    options = HttpOptions(allow_private_networks=True, user_agent="test-agent/9 (+mailto:x@y)")

    await fetch(feed_server.url("/rss.xml"), options)

    (request,) = feed_server.requests
    assert request.headers["user-agent"] == "test-agent/9 (+mailto:x@y)"


async def test_default_user_agent_names_the_project(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS))

    await fetch(feed_server.url("/rss.xml"))

    (request,) = feed_server.requests
    assert request.headers["user-agent"].startswith("news-monitor/")


async def test_second_request_sends_the_validators_and_gets_304(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    feed_server.route(
        "/rss.xml",
        Reply(body=RSS, headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED}, conditional=True),
    )
    url = feed_server.url("/rss.xml")

    first = await fetch_feed(client, url, etag=None, last_modified=None, options=OPEN)
    second = await fetch_feed(
        client, url, etag=first.etag, last_modified=first.last_modified, options=OPEN
    )

    assert second.not_modified
    assert second.status == 304
    assert second.body is None
    assert (second.etag, second.last_modified) == (ETAG, LAST_MODIFIED)
    assert second.url == url
    request = feed_server.requests_for("/rss.xml")[1]
    assert request.headers["if-none-match"] == ETAG
    assert request.headers["if-modified-since"] == LAST_MODIFIED


@pytest.mark.parametrize("header", ["ETag", "Last-Modified"])
@pytest.mark.parametrize(
    "value", ['W/"\u00e9\u00e9"', "x" * 2000, "a\tb"], ids=["latin1", "long", "tab"]
)
async def test_a_validator_that_cannot_be_sent_back_is_not_kept(
    feed_server: FeedServer, client: httpx.AsyncClient, header: str, value: str
) -> None:
    # HTTP allows other bytes in a header and httpx reads them as Latin-1, but a request
    # cannot carry them: stored, such a value failed every later poll of the feed.
    feed_server.route("/rss.xml", Reply(body=RSS, headers={header: value}))
    url = feed_server.url("/rss.xml")

    first = await fetch_feed(client, url, etag=None, last_modified=None, options=OPEN)

    assert (first.status, first.etag, first.last_modified) == (200, None, None)
    # One stored before this check does not stop the feed either: it is not sent.
    second = await fetch_feed(client, url, etag=value, last_modified=value, options=OPEN)
    assert second.status == 200
    request = feed_server.requests_for("/rss.xml")[1]
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers


async def test_a_last_modified_that_is_no_date_is_not_sent_back(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    # An outside probe: "Last-Modified: garbage-date" came back as If-Modified-Since.
    feed_server.route("/rss.xml", Reply(body=RSS, headers={"Last-Modified": "garbage-date"}))
    url = feed_server.url("/rss.xml")

    first = await fetch_feed(client, url, etag=None, last_modified=None, options=OPEN)
    second = await fetch_feed(client, url, etag=None, last_modified="garbage-date", options=OPEN)

    assert first.last_modified is None and second.status == 200
    assert "if-modified-since" not in feed_server.requests_for("/rss.xml")[1].headers


async def test_a_last_modified_in_another_date_form_is_sent_back_as_it_came(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    # Another outside probe: "Last-Modified: 2026-12-07 07:58:39" (no HTTP date) was
    # dropped, so a server answering 304 to its own value sent the whole feed every poll.
    written = "2026-12-07 07:58:39"

    def reply(request: RecordedRequest) -> Reply:
        if request.headers.get("if-modified-since") == written:
            return Reply(status=304)
        return Reply(body=RSS, headers={"Last-Modified": written})

    feed_server.route("/rss.xml", reply)
    url = feed_server.url("/rss.xml")
    first = await fetch_feed(client, url, etag=None, last_modified=None, options=OPEN)
    assert first.last_modified == written
    second = await fetch_feed(client, url, etag=None, last_modified=written, options=OPEN)
    assert second.not_modified


async def test_if_modified_since_alone_gets_304(feed_server: FeedServer) -> None:
    feed_server.route(
        "/rss.xml", Reply(body=RSS, headers={"Last-Modified": LAST_MODIFIED}, conditional=True)
    )

    result = await fetch(feed_server.url("/rss.xml"), last_modified=LAST_MODIFIED)

    assert result.not_modified
    assert result.body is None
    assert result.etag is None
    assert result.last_modified == LAST_MODIFIED


async def test_a_changed_feed_answers_200_with_the_new_etag(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS, headers={"ETag": '"v2"'}, conditional=True))

    result = await fetch(feed_server.url("/rss.xml"), etag='"v1"')

    assert not result.not_modified
    assert result.body == RSS
    assert result.etag == '"v2"'
    assert result.last_modified is None


async def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS, gzip=True))

    result = await fetch(feed_server.url("/rss.xml"))

    assert result.body == RSS
    (request,) = feed_server.requests
    assert "gzip" in request.headers["accept-encoding"]


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("deflate", zlib.compress(RSS)),
        ("deflate", _raw_deflate(RSS)),
        ("gzip, gzip", gzip.compress(gzip.compress(RSS))),
        ("x-gzip", gzip.compress(RSS)),
        ("identity", RSS),
    ],
    ids=["deflate-zlib", "deflate-raw", "gzip-twice", "x-gzip", "identity"],
)
async def test_content_codings_are_decoded(
    feed_server: FeedServer, encoding: str, body: bytes
) -> None:
    feed_server.route("/rss.xml", Reply(body=body, headers={"Content-Encoding": encoding}))

    result = await fetch(feed_server.url("/rss.xml"))

    assert result.body == RSS


async def test_a_corrupt_gzip_body_is_a_decoding_error(feed_server: FeedServer) -> None:
    corrupt = gzip.compress(RSS)[:12] + b"not deflate data at all"
    feed_server.route("/rss.xml", Reply(body=corrupt, headers={"Content-Encoding": "gzip"}))

    error = await fetch_error(feed_server.url("/rss.xml"))

    assert error.reason == "decoding_error"


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip, br"])
async def test_a_coding_not_asked_for_is_named_not_misread_as_a_malformed_feed(
    feed_server: FeedServer, coding: str
) -> None:
    # A server that brotli-compresses whatever the request asked for: httpx hands the
    # bytes on undecoded, which read as "not well-formed: invalid token".
    body = b"\x8b\x0b\x80" + bytes(range(256)) * 4
    feed_server.route("/rss.xml", Reply(body=body, headers={"Content-Encoding": coding}))

    error = await fetch_error(feed_server.url("/rss.xml"))

    assert error.reason == "decoding_error"
    assert f"Content-Encoding: {coding.split(', ')[-1]}, which was not asked for" in str(error)
    assert "Accept-Encoding: gzip, deflate" in str(error)


LONG_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
    + b"".join(
        b"<item><guid>%d</guid><title>Report %d on Tripoli</title><description>%s"
        b"</description></item>" % (n, n, str(list(range(n, n + 60))).encode())
        for n in range(200)
    )
    + b"</channel></rss>"
)


@pytest.mark.parametrize(
    ("encoding", "whole"),
    [
        ("gzip", gzip.compress(LONG_RSS)),
        ("deflate", zlib.compress(LONG_RSS)),
        ("deflate", _raw_deflate(LONG_RSS)),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
# The last 4 bytes: gzip's length, zlib's checksum, raw deflate's last data.
@pytest.mark.parametrize("kept", [1 / 3, -4], ids=["a-third", "all-but-the-last-4-bytes"])
async def test_a_compressed_body_cut_short_is_a_decoding_error(
    feed_server: FeedServer, encoding: str, whole: bytes, kept: float
) -> None:
    # The Content-Length counts what is sent, so HTTP sees a whole body; only the compressed
    # stream shows that the rest is missing (the first third of a feed parses fine).
    cut = whole[: int(len(whole) * kept)] if kept > 0 else whole[: int(kept)]
    feed_server.route("/rss.xml", Reply(body=cut, headers={"Content-Encoding": encoding}))

    error = await fetch_error(feed_server.url("/rss.xml"))

    assert error.reason == "decoding_error"
    assert "cut short" in str(error)


async def test_an_empty_body_labelled_gzip_is_empty(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=b"", headers={"Content-Encoding": "gzip"}))

    result = await fetch(feed_server.url("/rss.xml"))

    assert result.body == b""


async def test_a_body_exactly_at_the_limit_is_accepted(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=b"x" * 1000, content_length=None))
    options = HttpOptions(allow_private_networks=True, max_body_bytes=1000)

    result = await fetch(feed_server.url("/rss.xml"), options)

    assert result.body == b"x" * 1000


# --- size cap ---------------------------------------------------------------------------------

SMALL_CAP = HttpOptions(allow_private_networks=True, max_body_bytes=1000)


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(body=b"x" * 5000), id="honest-content-length"),
        pytest.param(Reply(body=b"x" * 5000, content_length=None), id="no-content-length"),
        pytest.param(Reply(body=b"x" * 5000, chunked=True), id="chunked"),
        pytest.param(Reply(body=b"x" * 10, content_length=50_000), id="announces-too-much"),
        # Content-Length tells the compressed size (about 70 bytes): the cap is on the
        # decoded body, 50 times the limit.
        pytest.param(Reply(body=b"x" * 50_000, gzip=True), id="gzip-under-small-length"),
        pytest.param(
            Reply(body=b"x" * 50_000, gzip=True, content_length=None), id="gzip-no-length"
        ),
    ],
)
async def test_an_oversize_body_is_refused(feed_server: FeedServer, reply: Reply) -> None:
    feed_server.route("/big.xml", reply)
    url = feed_server.url("/big.xml")

    error = await fetch_error(url, SMALL_CAP)

    assert error.reason == "too_large"
    assert error.url == url
    assert str(error).startswith(url)
    assert "1,000 bytes (`fetch.max_body`)" in str(error)  # names the setting to raise


async def test_a_content_length_that_understates_lets_no_more_than_it_says_in(
    feed_server: FeedServer,
) -> None:
    feed_server.route("/rss.xml", Reply(body=b"x" * 5000, content_length=600))

    result = await fetch(feed_server.url("/rss.xml"), SMALL_CAP)

    assert result.body == b"x" * 600


async def test_a_compression_bomb_never_inflates_far_past_the_cap(
    feed_server: FeedServer,
) -> None:
    # 64 MiB of zeros gzip to about 64 KiB: one network read could inflate to all of it.
    bomb = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)
    feed_server.route("/bomb.xml", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    options = HttpOptions(allow_private_networks=True, max_body_bytes=1024 * 1024)

    tracemalloc.start()
    try:
        error = await fetch_error(feed_server.url("/bomb.xml"), options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert error.reason == "too_large"
    assert peak < 8 * 1024 * 1024


# --- deadlines --------------------------------------------------------------------------------


async def test_a_dripping_server_trips_the_total_deadline(feed_server: FeedServer) -> None:
    # One byte every 0.2 s never trips the 20 s read timeout; only the total deadline ends it.
    feed_server.route("/drip.xml", Reply(body=RSS, drip_interval=0.2))
    options = HttpOptions(allow_private_networks=True, total_timeout=0.5)
    url = feed_server.url("/drip.xml")

    error = await fetch_error(url, options)

    assert error.reason == "timeout"
    assert "0.5 s" in str(error)
    assert str(error).startswith(url)


async def test_a_server_slow_to_answer_trips_the_total_deadline(feed_server: FeedServer) -> None:
    feed_server.route("/slow.xml", Reply(body=RSS, delay=30))
    options = HttpOptions(allow_private_networks=True, total_timeout=0.3)

    error = await fetch_error(feed_server.url("/slow.xml"), options)

    assert error.reason == "timeout"


async def test_read_timeout_is_a_timeout(feed_server: FeedServer) -> None:
    feed_server.route("/slow.xml", Reply(body=RSS, delay=30))
    options = HttpOptions(allow_private_networks=True, read_timeout=0.2)

    error = await fetch_error(feed_server.url("/slow.xml"), options)

    assert error.reason == "timeout"
    # Not "the server stopped sending": it never started (an outside probe).
    assert "no data from the server within the read timeout (it did not answer" in str(error)


# --- redirects --------------------------------------------------------------------------------


async def test_a_redirect_chain_is_followed_to_the_final_url(feed_server: FeedServer) -> None:
    feed_server.route("/old", Reply.redirect("/older", status=301))
    feed_server.route("/older", Reply.redirect(feed_server.url("/rss.xml"), status=302))
    feed_server.route("/rss.xml", Reply(body=RSS, headers={"ETag": ETAG}))

    result = await fetch(feed_server.url("/old"))

    assert result.url == feed_server.url("/rss.xml")
    assert result.status == 200
    assert result.body == RSS
    assert result.etag == ETAG
    assert [request.path for request in feed_server.requests] == ["/old", "/older", "/rss.xml"]


async def test_a_redirect_loop_is_too_many_redirects(feed_server: FeedServer) -> None:
    feed_server.route("/a", Reply.redirect("/b"))
    feed_server.route("/b", Reply.redirect("/a"))
    url = feed_server.url("/a")

    error = await fetch_error(url)

    assert error.reason == "too_many_redirects"
    assert str(error).startswith(url)
    # The first request and max_redirects (5) more, then it stops.
    assert len(feed_server.requests) == 6


async def test_a_chain_longer_than_max_redirects_is_refused(feed_server: FeedServer) -> None:
    feed_server.route("/1", Reply.redirect("/2"))
    feed_server.route("/2", Reply.redirect("/3"))
    feed_server.route("/3", Reply(body=RSS))
    options = HttpOptions(allow_private_networks=True, max_redirects=1)

    error = await fetch_error(feed_server.url("/1"), options)

    assert error.reason == "too_many_redirects"


async def test_a_redirect_body_is_not_read(feed_server: FeedServer) -> None:
    feed_server.route(
        "/old", Reply(status=301, headers={"Location": "/rss.xml"}, body=b"x" * 2_000_000)
    )
    feed_server.route("/rss.xml", Reply(body=RSS))

    result = await fetch(feed_server.url("/old"), SMALL_CAP)

    assert result.body == RSS


async def test_a_redirect_to_a_non_http_scheme_is_a_bad_url(feed_server: FeedServer) -> None:
    feed_server.route("/feed", Reply.redirect("file:///etc/passwd"))

    error = await fetch_error(feed_server.url("/feed"))

    assert error.reason == "bad_url"
    # The Location as the server wrote it, not with the server's host put in by httpx.
    assert "a redirect leads to file:///etc/passwd, not an http or https URL" in str(error)


@pytest.mark.parametrize("port", ["65536", "-1", "0"])
async def test_a_redirect_to_a_port_out_of_range_is_a_bad_url(
    feed_server: FeedServer, port: str
) -> None:
    # 65536 and -1 reached the socket: an OverflowError, a traceback and an internal error;
    # 0 was tried as port 80 (an outside probe, probe67).
    feed_server.route("/feed", Reply.redirect(f"http://127.0.0.1:{port}/x"))

    error = await fetch_error(feed_server.url("/feed"))

    assert error.reason == "bad_url"
    assert f"a redirect leads to http://127.0.0.1:{port}/x, whose port {port} is not" in str(error)


# --- cookies ----------------------------------------------------------------------------------


async def test_a_cookie_set_by_a_redirect_goes_with_the_hops_after_it(
    feed_server: FeedServer,
) -> None:
    # A consent or session hop: the redirect sets a cookie, the feed behind it wants it.
    feed_server.route("/feed", Reply.redirect("/consent"))
    feed_server.route(
        "/consent",
        Reply(status=302, headers={"Location": "/rss.xml", "Set-Cookie": "consent=yes; Path=/"}),
    )
    feed_server.route("/rss.xml", Reply(body=RSS))

    result = await fetch(feed_server.url("/feed"))

    assert result.body == RSS
    cookies = {request.path: request.headers.get("cookie") for request in feed_server.requests}
    assert cookies == {"/feed": None, "/consent": None, "/rss.xml": "consent=yes"}


async def test_no_cookie_is_kept_from_one_fetch_to_the_next(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS, headers={"Set-Cookie": "session=1; Path=/"}))
    feed_server.route("/hop", Reply(status=302, headers={"Location": "/rss.xml"}))
    url = feed_server.url("/rss.xml")

    for target in (url, url, feed_server.url("/hop")):
        await fetch_feed(client, target, etag=None, last_modified=None, options=OPEN)

    assert [request.headers.get("cookie") for request in feed_server.requests] == [None] * 4
    # Nothing accumulates in the client however many publishers set cookies: httpx copies
    # and searches the client's jar for every request it builds.
    assert len(client.cookies.jar) == 0


async def test_a_cookie_is_not_sent_to_another_host_a_redirect_leads_to() -> None:
    with FeedServer("127.0.0.1") as first, FeedServer("127.0.0.2") as second:
        second.route("/rss.xml", Reply(body=RSS))
        first.route(
            "/feed",
            Reply(
                status=302,
                headers={"Location": second.url("/rss.xml"), "Set-Cookie": "id=secret; Path=/"},
            ),
        )

        result = await fetch(first.url("/feed"))

    assert result.body == RSS
    assert [request.headers.get("cookie") for request in second.requests] == [None]


async def test_the_webhook_client_keeps_no_cookie_either(feed_server: FeedServer) -> None:
    feed_server.route("/hook", Reply(body=b"ok", headers={"Set-Cookie": "track=1; Path=/"}))
    async with make_client(OPEN, follow_redirects=False) as hooks:
        for _ in range(2):
            (await hooks.post(feed_server.url("/hook"), content=b"{}")).raise_for_status()

    assert [request.headers.get("cookie") for request in feed_server.requests] == [None, None]


# --- HTTP errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "http_4xx"), (410, "gone"), (500, "http_5xx"), (502, "http_5xx")],
)
async def test_error_statuses_have_stable_reasons(
    feed_server: FeedServer, status: int, reason: str
) -> None:
    feed_server.route("/rss.xml", Reply(status=status, body=b"oops"))
    url = feed_server.url("/rss.xml")

    error = await fetch_error(url)

    assert error.reason == reason
    assert error.status == status
    assert getattr(error, "retry_after", "missing") is None
    assert str(error).startswith(f"{url}: the server answered {status}")


async def test_429_is_rate_limited_with_retry_after_seconds(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(status=429, headers={"Retry-After": "120"}))

    error = await fetch_error(feed_server.url("/rss.xml"))

    assert error.reason == "rate_limited"
    assert error.status == 429
    assert getattr(error, "retry_after", None) == 120.0
    assert "2m" in str(error)


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        ("120", "wait 2m before trying again"),
        # What is asked and what is done (an outside probe: "366d" said, 1d waited).
        ("99999999999999999999", "wait more than a year before trying again (polled again in"),
        ("Fri, 31 Dec 9999 23:59:59 GMT", "wait more than a year before trying again"),
        ("864000", "wait 10d before trying again (polled again in 1d, the longest wait)"),
    ],
)
async def test_the_wait_a_server_asks_for_is_shown_in_units_people_read(
    feed_server: FeedServer, header: str, shown: str
) -> None:
    feed_server.route("/rss.xml", Reply(status=429, headers={"Retry-After": header}))

    error = await fetch_error(feed_server.url("/rss.xml"))

    assert shown in str(error)
    assert "e+" not in str(error)


async def test_503_with_an_http_date_retry_after(feed_server: FeedServer) -> None:
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    feed_server.route("/rss.xml", Reply(status=503, headers={"Retry-After": later}))

    error = await fetch_error(feed_server.url("/rss.xml"))

    assert error.reason == "http_5xx"
    retry_after = getattr(error, "retry_after", None)
    assert isinstance(retry_after, float)
    assert 3000 < retry_after <= 3600


async def test_an_error_after_a_redirect_names_where_it_happened(feed_server: FeedServer) -> None:
    feed_server.route("/old", Reply.redirect("/gone"))
    feed_server.route("/gone", Reply(status=404))
    url = feed_server.url("/old")

    error = await fetch_error(url)

    assert error.url == url
    assert feed_server.url("/gone") in str(error)


async def test_a_closed_port_is_a_connect_error() -> None:
    with FeedServer() as server:
        url = server.url("/rss.xml")
    error = await fetch_error(url)

    assert error.reason == "connect_error"


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "127.0.0.1/feed.xml",
        "http:///feed.xml",
        "http://[::1/feed.xml",
        "http://127.0.0.1:99999/feed.xml",
    ],
)
async def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    error = await fetch_error(url)

    assert error.reason == "bad_url"
    assert error.url == url


# --- the address guard --------------------------------------------------------------------------

GUARDED = HttpOptions(allow_private_networks=False)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_guard_refuses_loopback(feed_server: FeedServer, host: str) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS))
    url = f"http://{host}:{feed_server.port}/rss.xml"

    error = await fetch_error(url, GUARDED)

    assert error.reason == "blocked_address"
    assert "loopback" in str(error)
    assert "allow_private_networks" in str(error)
    assert feed_server.requests == []


async def test_the_guard_allows_loopback_when_private_networks_are_allowed(
    feed_server: FeedServer,
) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS))
    url = f"http://localhost:{feed_server.port}/rss.xml"

    result = await fetch(url, HttpOptions(allow_private_networks=True))

    assert result.body == RSS


async def test_every_redirect_hop_is_checked_when_connecting() -> None:
    # Only loopback may be used in tests, so the two "hosts" are two ports on 127.0.0.1 and
    # the check refuses the second one: what is tested is that the hop's connection, after
    # DNS, goes through the check.
    with FeedServer() as allowed, FeedServer() as forbidden:
        forbidden.route("/rss.xml", Reply(body=RSS))
        allowed.route("/rss.xml", Reply.redirect(forbidden.url("/rss.xml")))
        checked: list[tuple[str, str, int]] = []

        def only_the_allowed_port(host: str, address: IPAddress, port: int) -> str | None:
            checked.append((host, str(address), port))
            return None if port == allowed.port else "test-forbidden"

        transport = GuardedTransport(
            allow_private_networks=False, address_check=only_the_allowed_port
        )
        async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
            with pytest.raises(FetchError) as caught:
                await fetch_feed(
                    client, allowed.url("/rss.xml"), etag=None, last_modified=None, options=OPEN
                )

        assert caught.value.reason == "blocked_address"
        assert "test-forbidden" in str(caught.value)
        assert checked == [
            ("127.0.0.1", "127.0.0.1", allowed.port),
            ("127.0.0.1", "127.0.0.1", forbidden.port),
        ]
        assert forbidden.requests == []


# --- the client for webhooks --------------------------------------------------------------------


async def test_a_client_without_redirects_returns_the_redirect(feed_server: FeedServer) -> None:
    feed_server.route("/hook", Reply.redirect("/elsewhere", status=307))

    async with make_client(OPEN, follow_redirects=False) as client:
        response = await client.post(feed_server.url("/hook"), content=b'{"a": 1}')

    assert response.status_code == 307
    assert [request.path for request in feed_server.requests] == ["/hook"]
    (request,) = feed_server.requests
    assert request.body == b'{"a": 1}'
    assert request.headers["user-agent"].startswith("news-monitor/")


async def test_read_limited_caps_a_webhook_response(feed_server: FeedServer) -> None:
    feed_server.route("/hook", Reply(body=b"y" * 5000, chunked=True))

    async with make_client(SMALL_CAP, follow_redirects=False) as client:
        async with client.stream("POST", feed_server.url("/hook"), content=b"{}") as response:
            with pytest.raises(httpx.HTTPError) as caught:
                await read_limited(response, SMALL_CAP)

    assert "1,000 bytes" in str(caught.value)


async def test_the_client_caps_bodies_read_without_read_limited(feed_server: FeedServer) -> None:
    feed_server.route("/hook", Reply(body=b"y" * 5000))

    async with make_client(SMALL_CAP, follow_redirects=False) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.get(feed_server.url("/hook"))


async def test_gzip_fixture_really_compresses() -> None:
    # Guards the oversize tests above: they rely on the server sending compressed bytes.
    with FeedServer() as server:
        server.route("/z", Reply(body=b"x" * 50_000, gzip=True))
        async with make_client(OPEN) as client:
            async with client.stream("GET", server.url("/z")) as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert len(raw) < 1000
    assert gzip.decompress(raw) == b"x" * 50_000


# --- the test server itself (others build on it) -------------------------------------------


async def test_feed_server_serves_a_script_in_order_then_repeats_the_last(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    feed_server.route("/s", Reply(body=b"one"), Reply(status=503), Reply(body=b"last"))
    feed_server.route("/s?page=2", Reply(body=b"page two"))

    answers = [await client.get(feed_server.url("/s")) for _ in range(4)]
    page_two = await client.get(feed_server.url("/s?page=2"))
    missing = await client.get(feed_server.url("/nowhere"))

    assert [(r.status_code, r.content) for r in answers] == [
        (200, b"one"),
        (503, b""),
        (200, b"last"),
        (200, b"last"),
    ]
    assert page_two.content == b"page two"
    assert missing.status_code == 404
    assert len(feed_server.requests_for("/s")) == 5
    assert len(feed_server.requests_for("/s?page=2")) == 1


async def test_feed_server_replies_computed_from_the_request(
    feed_server: FeedServer, client: httpx.AsyncClient
) -> None:
    def echo(request: RecordedRequest) -> Reply:
        return Reply(status=201, body=request.method.encode() + b" " + request.body)

    feed_server.route("/echo", echo)

    response = await client.post(feed_server.url("/echo"), content=b"hello")

    assert (response.status_code, response.content) == (201, b"POST hello")
    (request,) = await feed_server.await_requests(1, "/echo")
    assert request.headers["content-length"] == "5"


async def test_feed_server_await_requests_fails_after_its_deadline(
    feed_server: FeedServer,
) -> None:
    with pytest.raises(AssertionError, match="expected 1 request"):
        await feed_server.await_requests(1, "/never", within=0.05)


# --- a connection that breaks -----------------------------------------------------------------


@contextlib.contextmanager
def resetting_server(answer: bytes) -> Iterator[str]:
    """A server on 127.0.0.1 that reads one request, writes ``answer`` and resets the
    connection (SO_LINGER 0: an RST, not a FIN)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(answer)
            time.sleep(0.2)  # the headers and the first bytes are read before the reset
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    finally:
        thread.join(timeout=5)
        listener.close()


async def test_a_body_cut_by_a_reset_is_told_apart_from_a_refused_connection() -> None:
    # An outside soak test (probe83): a feed that sent its headers and half its body, then
    # reset, was logged "the connection failed: [Errno 104] Connection reset by peer", as a
    # server that reset before answering is.
    half = RSS[: len(RSS) // 2]
    headers = f"HTTP/1.1 200 OK\r\nContent-Length: {len(RSS)}\r\n\r\n".encode()
    with resetting_server(headers + half) as url:
        error = await fetch_error(url)
    assert error.reason == "network_error"
    assert "answered 200 and the connection broke in the middle of the body" in str(error)
    assert f"after {len(half):,} bytes of the {len(RSS):,} promised" in str(error)

    with resetting_server(b"") as url:
        before = await fetch_error(url)
    assert before.reason == "network_error"
    assert "the connection failed" in str(before)
    assert "middle of the body" not in str(before)
