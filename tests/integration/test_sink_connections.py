"""An alert is marked delivered only on an answer read for it: a receiver (or a proxy) that
writes one answer too many per request must not make the next alert look delivered."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class DoubleAnswerer:
    """A receiver on 127.0.0.1 that answers every request it reads twice, and closes the
    connection a second later without reading more (as the outside probe's did)."""

    def __init__(self) -> None:
        self.read: list[str] = []  # the webhook-id of each request it read
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._answer, "127.0.0.1"))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in fields.items()}
        await reader.readexactly(int(headers[b"content-length"]))
        self.read.append(headers[b"webhook-id"].decode())
        writer.write(ANSWER + ANSWER)
        try:
            await writer.drain()
            await asyncio.sleep(1.0)
        finally:
            writer.close()

    def __enter__(self) -> DoubleAnswerer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _shutdown(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def answerer() -> Iterator[DoubleAnswerer]:
    with DoubleAnswerer() as running:
        yield running


def test_an_extra_answer_never_marks_the_next_alert_delivered(
    tmp_path: Path, answerer: DoubleAnswerer
) -> None:
    # Before: the second answer of the first alert's exchange, left in the reused
    # connection, was read as the answer to the second alert, which the receiver never
    # read; `monitor once` reported 4 delivered, the receiver had 2 (an outside probe).
    entries = [
        (f"g{n}", f"Haftar's forces near Tripoli, report {n}", "<p>LNA.</p>") for n in range(4)
    ]
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss(entries)))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=f"http://127.0.0.1:{answerer.port}/hook",
            first_run="alert_all",
            stories="all",
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()
        try:
            _, sent = asyncio.run(run_once(runtime))
        finally:
            runtime.store.close()
    delivered = [outcome.delivery_id for outcome in sent if outcome.status == "delivered"]
    assert len(delivered) == 4
    assert sorted(delivered) == sorted(answerer.read)
