"""Keep-alive through the guarded client, against a real server on 127.0.0.1: conditional GETs
reuse one TCP connection, and every new connection is still checked by the guard."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from collections.abc import Iterator

import httpx
import pytest

from monitor.egress import GuardedTransport, IPAddress
from monitor.fetch import HttpOptions, fetch_feed, make_client
from tests.support.feed_server import FeedServer, Reply

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title></channel></rss>'
ETAG = '"feed-v1"'
OPEN = HttpOptions(allow_private_networks=True)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def record_client_ports(client: httpx.AsyncClient) -> list[int]:
    """The local port of the TCP connection each response arrived on, in order."""
    ports: list[int] = []

    async def on_response(response: httpx.Response) -> None:
        stream = response.extensions["network_stream"]
        ports.append(stream.get_extra_info("client_addr")[1])

    client.event_hooks["response"].append(on_response)
    return ports


async def test_conditional_gets_reuse_one_connection(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS, headers={"ETag": ETAG}, conditional=True))
    url = feed_server.url("/rss.xml")

    async with make_client(OPEN) as client:
        ports = record_client_ports(client)
        results = [
            await fetch_feed(client, url, etag=etag, last_modified=None, options=OPEN)
            for etag in (None, ETAG, ETAG)
        ]

    assert [result.status for result in results] == [200, 304, 304]
    assert len(ports) == 3
    assert len(set(ports)) == 1, f"one connection per request: ports {ports}"
    assert [request.headers.get("if-none-match") for request in feed_server.requests] == [
        None,
        ETAG,
        ETAG,
    ]


async def test_two_304s_in_a_row_reuse_one_connection(feed_server: FeedServer) -> None:
    feed_server.route("/rss.xml", Reply(body=RSS, headers={"ETag": ETAG}, conditional=True))
    url = feed_server.url("/rss.xml")

    async with make_client(OPEN) as client:
        ports = record_client_ports(client)
        for _ in range(2):
            result = await fetch_feed(client, url, etag=ETAG, last_modified=None, options=OPEN)
            assert result.not_modified and result.body is None

    assert len(ports) == 2 and ports[0] == ports[1]


async def test_the_guard_checks_every_new_connection_and_only_new_ones(
    feed_server: FeedServer,
) -> None:
    # /keep answers with keep-alive; /close closes the connection after its reply, so the
    # request after it needs a new connection, which the guard must check again.
    feed_server.route("/keep", Reply(body=RSS, headers={"ETag": ETAG}, conditional=True))
    feed_server.route("/close", Reply(body=RSS, content_length=None))
    checked: list[tuple[str, IPAddress, int]] = []

    def address_check(host: str, address: IPAddress, port: int) -> str | None:
        checked.append((host, address, port))
        return None

    transport = GuardedTransport(allow_private_networks=False, address_check=address_check)
    async with httpx.AsyncClient(transport=transport) as client:
        ports = record_client_ports(client)
        for path, etag in (("/keep", None), ("/keep", ETAG), ("/close", None), ("/keep", ETAG)):
            async with client.stream(
                "GET", feed_server.url(path), headers={"If-None-Match": etag} if etag else {}
            ) as response:
                await response.aread()

    assert len(set(ports[:3])) == 1 and ports[3] != ports[0]
    assert [str(address) for _, address, _ in checked] == ["127.0.0.1", "127.0.0.1"]
    assert {port for _, _, port in checked} == {feed_server.port}


async def test_a_refused_address_is_refused_on_a_new_connection(
    feed_server: FeedServer,
) -> None:
    feed_server.route("/close", Reply(body=RSS, content_length=None))
    verdicts = iter([None, "refused for the test"])

    def address_check(host: str, address: IPAddress, port: int) -> str | None:
        return next(verdicts)

    transport = GuardedTransport(allow_private_networks=False, address_check=address_check)
    async with httpx.AsyncClient(transport=transport) as client:
        first = await client.get(feed_server.url("/close"))
        assert first.status_code == 200
        with pytest.raises(httpx.ConnectError, match="refused for the test"):
            await client.get(feed_server.url("/close"))


def test_sniffio_is_installed() -> None:
    # httpcore tries `import sniffio` several times per request; when it is missing, every
    # failed import searches sys.path again (about 0.1 ms each, four per request).
    assert importlib.util.find_spec("sniffio") is not None


async def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    """A server that closes each connection after its answer, without saying so: the pooled
    connection is seen to be closed (the server's FIN) and the next request opens a new one."""
    answered: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        answered.append(writer.get_extra_info("peername")[1])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(RSS), RSS))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/rss.xml"
    try:
        async with make_client(OPEN) as client:
            for _ in range(3):
                result = await fetch_feed(client, url, etag=None, last_modified=None, options=OPEN)
                assert result.body == RSS
                await asyncio.sleep(0.05)  # the server's FIN arrives while the connection idles
    finally:
        server.close()
        await server.wait_closed()
    assert len(set(answered)) == 3, f"a new connection each time: client ports {answered}"


async def test_each_host_keeps_its_connection_while_other_hosts_are_polled() -> None:
    """Feeds of three hosts polled in turn (as a pass over many publishers does), with one
    connection per host allowed: every host's feeds share one connection, whatever was
    polled in between. One pool of two connections for all hosts reconnected every time."""
    options = HttpOptions(allow_private_networks=True, connections_per_origin=1)
    with FeedServer() as a, FeedServer() as b, FeedServer() as c:
        servers = (a, b, c)
        for server in servers:
            server.route("/rss.xml", Reply(body=RSS, headers={"ETag": ETAG}, conditional=True))
        async with make_client(options) as client:
            ports = record_client_ports(client)
            for _ in range(3):
                for server in servers:
                    url = server.url("/rss.xml")
                    result = await fetch_feed(
                        client, url, etag=ETAG, last_modified=None, options=options
                    )
                    assert result.not_modified
    by_host = [ports[i::3] for i in range(3)]
    assert all(len(set(host_ports)) == 1 for host_ports in by_host), by_host
    assert len(set(ports)) == 3


async def test_idle_pools_beyond_the_limit_are_closed_and_a_busy_one_is_kept() -> None:
    """At most MAX_POOLS origins keep connections: the least recently used idle pool is
    closed (its next request opens a new connection), and a pool whose response is still
    being read is never closed under it."""
    with FeedServer() as a, FeedServer() as b, FeedServer() as c, FeedServer() as d:
        for server in (a, b, c, d):
            server.route("/rss.xml", Reply(body=RSS))
        transport = GuardedTransport(allow_private_networks=True)
        transport.MAX_POOLS = 2  # type: ignore[misc]
        async with httpx.AsyncClient(transport=transport) as client:
            ports = record_client_ports(client)
            async with client.stream("GET", a.url("/rss.xml")) as busy:  # a: busy throughout
                await client.get(b.url("/rss.xml"))  # b: idle after this
                await client.get(c.url("/rss.xml"))  # closes b (a is busy)
                await client.get(d.url("/rss.xml"))  # closes c
                assert await busy.aread() == RSS
            await client.get(b.url("/rss.xml"))
            await client.get(d.url("/rss.xml"))
    assert ports[4] != ports[1], "b's idle connection was closed with its pool"
    assert ports[5] == ports[3], "d, the most recent, kept its connection"


async def test_a_failed_or_cancelled_request_leaves_no_pool_marked_busy() -> None:
    """A pool counts as busy from its request until its response is closed; a request that
    fails (refused) or is cancelled (a deadline) has no response, and must release it, or
    the pool could never be closed to make room for another host's."""
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    port = refused.getsockname()[1]
    with FeedServer() as slow:
        slow.route("/slow", Reply(body=RSS, delay=2.0))
        slow.route("/rss.xml", Reply(body=RSS))
        transport = GuardedTransport(allow_private_networks=True)
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/rss.xml")
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await client.get(slow.url("/slow"))
            assert transport._busy == {}
            async with client.stream("GET", slow.url("/rss.xml")) as response:
                assert transport._busy  # busy while its body is being read
                await response.aclose()
            assert transport._busy == {}
    refused.close()
