"""A loopback feed farm: N feeds x 20 news entries (RSS 2.0 and Atom) on 127.0.0.2-51 (or one
host), with ETag/304, entries published at run time and a log of every request."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from bench.news_text import sentence

HOSTS = tuple(f"127.0.0.{i}" for i in range(2, 52))
ENTRIES = 20
BASE_TIME = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# --- text -----------------------------------------------------------------------------------

_MENTIONS = [
    "Khalifa Haftar",
    "Field Marshal Haftar",
    "the Libyan National Army (LNA)",
    "the LNA",
    "the Government of National Accord (GNA)",
    "the GNA",
    "Tripoli",
    "officials in Tripoli",
]
_MENTIONS_FR = ["le maréchal Haftar", "Tripoli", "l’Armée nationale libyenne"]
_MENTIONS_AR = ["المشير خليفة حفتر", "طرابلس", "حكومة الوفاق الوطني"]


@dataclass
class Entry:
    guid: str
    link: str
    title: str
    summary: str  # HTML
    content: str  # HTML
    published: datetime


WIRE_SHARE = 0.05
"""Share of entries that are a copy of a wire story carried by other feeds too (its lead and
body, under the same or another headline): about ten outlets per wire story."""


@dataclass(frozen=True)
class Wire:
    lang: str
    title: str
    parts: tuple[str, ...]


def make_wire(rng: random.Random) -> Wire:
    """A wire story that several feeds carry."""
    lang = rng.choices(("en", "fr", "ar"), (75, 15, 10))[0]
    parts = tuple(sentence(rng, lang, None) for _ in range(5))
    return Wire(lang, sentence(rng, lang, None)[:-1][:90], parts)


def make_entry(
    rng: random.Random, feed: int, number: int, when: datetime, wires: Sequence[Wire] = ()
) -> Entry:
    """One news entry of about 1 KB of XML; one in five mentions a watched name, one in
    twenty (``WIRE_SHARE``) is a copy of one of ``wires``."""
    if wires and rng.random() < WIRE_SHARE:
        wire = rng.choice(wires)
        own_title = sentence(rng, wire.lang, None)[:-1][:90]
        lang, parts, title = wire.lang, list(wire.parts), rng.choice((wire.title, own_title))
    else:
        lang = rng.choices(("en", "fr", "ar"), (75, 15, 10))[0]
        names = {"en": _MENTIONS, "fr": _MENTIONS_FR, "ar": _MENTIONS_AR}[lang]
        mention = rng.choice(names) if rng.random() < 0.2 else None
        parts = [sentence(rng, lang, mention if i == 2 else None) for i in range(5)]
        title = sentence(rng, lang, mention)[:-1][:90]
    link = f"https://news{feed % 97}.example.org/{feed}/{number}-story"
    content = (
        f"<p>{escape(parts[0])} <strong>{escape(parts[1])}</strong></p>"
        f'<p>{escape(parts[2])} {escape(parts[3])} <a href="{link}#more">{escape(parts[4])}</a></p>'
    )
    return Entry(
        guid=f"urn:farm:{feed}:{number}",
        link=link,
        title=title,
        summary=f"<p>{escape(parts[0])}</p>",
        content=content,
        published=when,
    )


def render(feed: int, entries: Iterable[Entry]) -> bytes:
    """The feed document: Atom for every third feed, RSS 2.0 (with content:encoded) else."""
    if feed % 3 == 2:
        items = "".join(
            f"<entry><id>{e.guid}</id><title>{escape(e.title)}</title>"
            f'<link rel="alternate" href="{e.link}"/>'
            f"<updated>{e.published.isoformat()}</updated>"
            f'<summary type="html">{escape(e.summary)}</summary>'
            f'<content type="html">{escape(e.content)}</content></entry>\n'
            for e in entries
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>urn:farm:{feed}</id><title>Farm feed {feed}</title>"
            f"<updated>{BASE_TIME.isoformat()}</updated>\n{items}</feed>\n"
        ).encode()
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{e.link}</link>"
        f'<guid isPermaLink="false">{e.guid}</guid>'
        f"<pubDate>{format_datetime(e.published)}</pubDate>"
        f"<description>{escape(e.summary)}</description>"
        f"<content:encoded><![CDATA[{e.content}]]></content:encoded></item>\n"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Farm feed {feed}</title><link>https://news{feed % 97}.example.org/</link>"
        f"<description>Generated news</description>\n{items}</channel></rss>\n"
    ).encode()


# --- the server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    t: float  # time.time() when the request head arrived
    feed: int  # -1 for anything that is not a feed
    status: int
    size: int


@dataclass
class _Feed:
    entries: list[Entry]
    version: int = 1
    body: bytes = b""
    unserved: list[str] = field(default_factory=list)  # links published, not yet served


class Farm:
    """``with Farm(1000) as farm:`` serves ``farm.urls()`` from a background thread."""

    def __init__(
        self,
        feeds: int,
        *,
        single_host: bool = False,
        cookies: bool = False,
        seed: int = 1,
        port: int = 0,
    ):
        self.hosts = ("127.0.0.1",) if single_host else HOSTS
        # With ``cookies``, every answer sets a cookie of its feed's own, as many publishers
        # do (a visitor id, a load balancer's): a client that keeps them pays for all of them.
        self.cookies = cookies
        self.port = port
        self.requests: list[Request] = []
        self.first_served: dict[str, float] = {}  # link -> time its first response was sent
        self._lock = threading.Lock()
        self._feeds: list[_Feed] = []
        wire_rng = random.Random(seed)
        wires = [make_wire(wire_rng) for _ in range(max(4, feeds // 10))]
        for i in range(feeds):
            rng = random.Random(seed * 1_000_003 + i)
            start = BASE_TIME - timedelta(minutes=rng.randrange(600))
            entries = [
                make_entry(rng, i, n, start - timedelta(hours=n), wires) for n in range(ENTRIES)
            ]
            self._feeds.append(_Feed(entries, body=render(i, entries)))
        self._published = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()

    def __len__(self) -> int:
        return len(self._feeds)

    def url(self, feed: int) -> str:
        host = self.hosts[feed % len(self.hosts)]
        ext = "atom" if feed % 3 == 2 else "rss"
        return f"http://{host}:{self.port}/feeds/{feed}.{ext}"

    def urls(self) -> list[str]:
        return [self.url(i) for i in range(len(self._feeds))]

    def body(self, feed: int) -> bytes:
        return self._feeds[feed].body

    def etag(self, feed: int) -> str:
        return f'"{feed}-{self._feeds[feed].version}"'

    def write_opml(self, path: Path) -> Path:
        lines = [
            f'<outline type="rss" text="Farm {i}" xmlUrl="{escape(u)}"/>'
            for i, u in enumerate(self.urls())
        ]
        path.write_text(
            '<?xml version="1.0"?>\n<opml version="2.0"><head><title>farm</title></head><body>\n'
            + "\n".join(lines)
            + "\n</body></opml>\n",
            encoding="utf-8",
        )
        return path

    def publish(self, feed: int, title: str, text: str) -> str:
        """Put a new entry at the top of ``feed`` (the oldest drops off); returns its link."""
        with self._lock:
            self._published += 1
            state = self._feeds[feed]
            number = 1_000_000 + self._published
            link = f"https://news{feed % 97}.example.org/{feed}/{number}-breaking"
            html = f"<p>{escape(text)}</p>"
            entry = Entry(f"urn:farm:{feed}:{number}", link, title, html, html, datetime.now(UTC))
            state.entries = [entry, *state.entries[: ENTRIES - 1]]
            state.version += 1
            state.body = render(feed, state.entries)
            state.unserved.append(link)
        return link

    def polled(self) -> dict[int, list[float]]:
        """Arrival times of the requests per feed, in order."""
        times: dict[int, list[float]] = {}
        for r in list(self.requests):
            if r.feed >= 0:
                times.setdefault(r.feed, []).append(r.t)
        return times

    def _answer(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, int, dict, bytes]:
        """(feed or -1, status, headers, body) for one request."""
        name = path.rsplit("/", 1)[-1].split(".", 1)[0]
        feed = int(name) if path.startswith("/feeds/") and name.isdigit() else -1
        if method != "GET" or not 0 <= feed < len(self._feeds):
            return -1, 404, {}, b"not found\n"
        with self._lock:
            state = self._feeds[feed]
            etag = f'"{feed}-{state.version}"'
            extra = {"ETag": etag}
            if self.cookies:
                extra["Set-Cookie"] = f"visitor{feed}={state.version}; Path=/; Max-Age=86400"
            if headers.get("if-none-match") == etag:
                return feed, 304, extra, b""
            body, served, state.unserved = state.body, state.unserved, []
        now = time.time()
        for link in served:
            self.first_served.setdefault(link, now)
        kind = "atom" if feed % 3 == 2 else "rss"
        content_type = f"application/{kind}+xml; charset=utf-8"
        return feed, 200, {**extra, "Content-Type": content_type}, body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.time()
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                if int(headers.get("content-length", "0")):
                    await reader.readexactly(int(headers["content-length"]))
                feed, status, extra, body = self._answer(method, path, headers)
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
                out = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + body)
                self.requests.append(Request(arrived, feed, status, len(body)))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except ValueError:  # a malformed request line: drop the connection
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def serve(self) -> None:
        """Open one listening socket per host (all on the same port)."""
        for attempt in range(20):
            try:
                for host in self.hosts:
                    server = await asyncio.start_server(self._handle, host, self.port, backlog=1024)
                    self._servers.append(server)
                    self.port = server.sockets[0].getsockname()[1]
                return
            except OSError:  # the port chosen on the first host is taken on another: retry
                await self.close()
                self.port = 0
                if attempt == 19:
                    raise

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers = []
        await asyncio.sleep(0)

    def start(self) -> Farm:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="feed-farm", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the feed farm did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.close(), self._loop).result(10)
        asyncio.run_coroutine_threadsafe(_cancel_rest(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> Farm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _cancel_rest() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- helpers for the benches that run `monitor` ------------------------------------------

MONITOR = [str(Path(sys.executable).parent / "monitor")]  # the benches' --monitor replaces it


def tree_rss_kb(pid: int) -> int:
    """The resident memory of ``pid`` and all its descendants now (worker pools included)."""
    total, stack = 0, [pid]
    while stack:
        proc = Path(f"/proc/{stack.pop()}")
        try:
            total += int(proc.joinpath("status").read_text().split("VmRSS:")[1].split()[0])
            for task in proc.joinpath("task").iterdir():
                stack += [int(c) for c in task.joinpath("children").read_text().split()]
        except (OSError, IndexError, ValueError):
            pass
    return total


def child_env() -> dict[str, str]:
    """This environment without MONITOR_* (which would override the generated config)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


def compile_monitor() -> None:
    """Write the bytecode of the monitor package the benches run, as installing it does: pip
    compiles what it installs (reader and every library here have theirs), but an editable
    install run with PYTHONDONTWRITEBYTECODE=1, as on this project's machines, never
    writes it, and each run would compile about 100 modules again (0.1 s of start-up that no
    installed copy pays)."""
    code = (
        "import compileall, monitor, os; "
        "compileall.compile_dir(os.path.dirname(monitor.__file__), quiet=1)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/", capture_output=True)


def monitor_code() -> str:
    """Where the monitor package run by the benches comes from (PYTHONPATH can point elsewhere)."""
    code = "import monitor, os; print(os.path.dirname(monitor.__file__))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    return found.stdout.strip() or "?"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--single-host", action="store_true", help="every feed on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--opml", type=Path, help="write the feed list here")
    parser.add_argument("--seconds", type=float, default=600, help="stop after this long")
    parser.add_argument("--quick", action="store_true", help="10 feeds for 5 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.seconds = 10, 5
    started = time.perf_counter()
    with Farm(args.feeds, single_host=args.single_host, port=args.port) as farm:
        size = sum(len(farm.body(i)) for i in range(len(farm)))
        print(
            f"farm: {len(farm)} feeds ({size / len(farm) / 1000:.1f} KB each, built in "
            f"{time.perf_counter() - started:.1f} s) on {len(farm.hosts)} host(s), port "
            f"{farm.port}; first: {farm.url(0)}",
            file=sys.stderr,
        )
        if args.opml:
            farm.write_opml(args.opml)
        try:
            time.sleep(args.seconds)
        except KeyboardInterrupt:
            pass
        counts: dict[int, int] = {}
        for r in farm.requests:
            counts[r.status] = counts.get(r.status, 0) + 1
        print(f"requests by status: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
