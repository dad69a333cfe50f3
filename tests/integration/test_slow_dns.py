"""Name lookups that hang (a publisher's DNS servers do not answer) hold only the threads of
their own client: the database and the webhook client go on.

The system resolver is the one part replaced here: a name under ``.hang.test`` blocks in
``socket.getaddrinfo`` until the test ends, as a lookup does while the resolver waits for
servers that never answer (we cannot run such a DNS server as this machine's resolver).
Every other name is looked up for real.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.db.engine import Database
from monitor.egress import NameResolutionError, resolve_host
from monitor.errors import FetchError
from monitor.fetch import HttpOptions, fetch_feed, make_client
from tests.support.feed_server import FeedServer, Reply

# More lookups at once than the event loop's default threads (at most 32) and than one
# client's resolver threads.
HUNG_LOOKUPS = 40
OPTIONS = HttpOptions(allow_private_networks=True, connect_timeout=30, total_timeout=30)


class HangingResolver:
    """``socket.getaddrinfo`` for names under ``.hang.test`` blocks until `release`."""

    def __init__(self) -> None:
        self.real = socket.getaddrinfo
        self.released = threading.Event()
        self.waiting = 0
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".hang.test"):
            return self.real(host, *args, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self.waiting += 1
            self.asked.append(name)
        self.released.wait(60)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[HangingResolver]:
    hanging = HangingResolver()
    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        yield hanging
    finally:
        hanging.release()


async def _hang_feed_lookups(resolver: HangingResolver) -> tuple[object, list[asyncio.Task]]:
    """Start `HUNG_LOOKUPS` fetches of feeds on hanging names; return once lookups hang."""
    client = make_client(OPTIONS)
    fetches = [
        asyncio.create_task(
            fetch_feed(
                client,
                f"http://feed{i}.hang.test/rss.xml",
                etag=None,
                last_modified=None,
                options=OPTIONS,
            )
        )
        for i in range(HUNG_LOOKUPS)
    ]
    for _ in range(500):
        if resolver.waiting:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # let every fetch reach its lookup
    assert resolver.waiting > 0
    return client, fetches


async def _finish(resolver: HangingResolver, client: object, fetches: list[asyncio.Task]) -> None:
    resolver.release()
    results = await asyncio.gather(*fetches, return_exceptions=True)
    assert all(isinstance(r, FetchError) and r.reason == "dns_error" for r in results), results
    await client.aclose()  # type: ignore[attr-defined]


async def test_the_database_answers_while_feed_lookups_hang(
    resolver: HangingResolver, tmp_path: Path
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'monitor.db'}")
    client, fetches = await _hang_feed_lookups(resolver)
    try:
        answer = await asyncio.wait_for(
            database.run(lambda conn: conn.exec_driver_sql("SELECT 1").scalar()), 10
        )
        assert answer == 1
        assert not resolver.released.is_set()  # the lookups were still hanging
    finally:
        await _finish(resolver, client, fetches)
        database.close()


async def test_a_webhook_goes_while_feed_lookups_hang(resolver: HangingResolver) -> None:
    client, fetches = await _hang_feed_lookups(resolver)
    try:
        with FeedServer() as receiver:
            receiver.route("/hook", Reply(body=b"ok"))
            hook = receiver.url("/hook").replace("127.0.0.1", "localhost")  # looked up
            async with make_client(OPTIONS, follow_redirects=False) as webhooks:
                response = await asyncio.wait_for(webhooks.post(hook, content=b"{}"), 10)
        assert response.status_code == 200
        assert not resolver.released.is_set()
    finally:
        await _finish(resolver, client, fetches)


async def test_a_name_that_is_not_ascii_is_looked_up_as_idna(resolver: HangingResolver) -> None:
    resolver.release()  # lookups of .hang.test names now fail at once
    async with make_client(OPTIONS) as client:
        with pytest.raises(FetchError) as caught:
            await fetch_feed(
                client,
                "http://bücher.hang.test/rss.xml",
                etag=None,
                last_modified=None,
                options=OPTIONS,
            )
    assert caught.value.reason == "dns_error"
    with pytest.raises(NameResolutionError):
        await resolve_host("straße.hang.test", 80)  # not through httpx, which encodes it
    assert resolver.asked == ["xn--bcher-kva.hang.test", "xn--strae-oqa.hang.test"]
