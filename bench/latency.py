"""Alert latency: from the farm serving the response that first holds a new entry naming Haftar
and Tripoli to a loopback webhook receiver getting its signed alert (SQLite, PostgreSQL x2)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import platform
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.farm import MONITOR, Farm, child_env, monitor_code, percentile

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = ROOT / "config" / "watchlists" / "libya.yaml"
NUMBER = re.compile(r"/(\d+)-breaking")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread: verifies signatures, records arrivals."""

    def __init__(self, secret: str) -> None:
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.alerts: list[tuple[float, str, str, bool]] = []  # time, webhook-id, url, valid
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in head[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                arrived = time.time()
                msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
                expected = base64.b64encode(
                    hmac.new(self.key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256)
                    .digest()
                ).decode()  # fmt: skip
                valid = any(
                    hmac.compare_digest(expected, sig.split(",", 1)[1])
                    for sig in headers.get("webhook-signature", "").split()
                    if sig.startswith("v1,")
                )
                try:
                    url = json.loads(body)["data"]["article"]["url"]
                except (ValueError, KeyError, TypeError):
                    url = ""
                self.alerts.append((arrived, msg_id, url, valid))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def __enter__(self) -> Receiver:
        self._thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@dataclass
class Result:
    backend: str
    instances: int
    published: int
    served: int  # published entries that the farm served in a 200
    alerted: int  # served entries whose alert arrived
    missing: int  # served, no alert by the end
    duplicates: int  # alerts received more than once (same webhook-id)
    bad_signatures: int
    p50_s: float
    p99_s: float
    max_s: float
    exit_codes: list[int | None]


def write_config(work: Path, farm: Farm, database_url: str, port: int, secret: str) -> Path:
    farm.write_opml(work / "farm.opml")
    config = work / "monitor.yaml"
    config.write_text(
        f"database_url: {database_url}\n"
        # Every feed every 2 s: the adaptive schedule would stretch the farm's feeds (an
        # entry an hour) to an hour.
        "poll:\n  allow_private_networks: true\n  interval: 2s\n  min_interval: 2s\n"
        "  max_interval: 2s\n"
        "sources:\n  - opml: farm.opml\n"
        f"watchlists:\n  - {WATCHLIST}\n"
        # stories: all: the published entries are one story; each one's alert is timed.
        f"sinks:\n  - name: bench\n    url: http://127.0.0.1:{port}/hook\n    secret: {secret}\n"
        "    stories: all\n",
        encoding="utf-8",
    )
    return config


def wait_for(condition, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def run_backend(
    farm: Farm, receiver: Receiver, backend: str, url: str, instances: int, args, secret: str
) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = write_config(work, farm, url, receiver.port, secret)
        monitor = [*MONITOR, "--log-level", "warning"]
        env = child_env()
        subprocess.run([*monitor, "db", "upgrade", "--config", str(config)], cwd=work, env=env,
                       check=True, capture_output=True)  # fmt: skip
        log = (work / "monitor.log").open("wb")
        before = len(farm.requests)
        processes = [
            subprocess.Popen(
                [*monitor, "run", "--config", str(config)],
                cwd=work,
                env=env,
                stdout=log,
                stderr=log,
            )  # fmt: skip
            for _ in range(instances)
        ]
        progress(f"{backend}: {instances} instance(s); waiting for every feed's first poll")
        wait_for(lambda: len({r.feed for r in farm.requests[before:]}) == len(farm), 120)
        time.sleep(3)  # let the first polls' transactions commit (entries there do not alert)
        rng = random.Random(7)
        published: dict[str, str] = {}  # number -> link
        progress(f"{backend}: publishing {args.alerts} entries, {args.rate}/s")
        for i in range(args.alerts):
            feed = rng.randrange(len(farm))
            link = farm.publish(
                feed,
                f"Khalifa Haftar's forces near Tripoli, update {i}",
                f"Forces loyal to Khalifa Haftar moved towards Tripoli on day {i} of the talks.",
            )
            published[NUMBER.search(link).group(1)] = link  # type: ignore[union-attr]
            time.sleep(1 / args.rate)

        def numbers() -> set[str]:
            return {m.group(1) for _, _, u, _ in list(receiver.alerts) if (m := NUMBER.search(u))}

        progress(f"{backend}: waiting for every published entry to be served and alerted")
        wait_for(lambda: all(link in farm.first_served for link in published.values()), 120)
        served = {n for n, link in published.items() if link in farm.first_served}
        wait_for(lambda: served <= numbers(), 60)
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for process in processes:
            try:
                codes.append(process.wait(150))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                codes.append(None)
        log.close()
        for line in (work / "monitor.log").read_text(errors="replace").splitlines()[-3:]:
            progress(f"  log: {line[:200]}")
    first: dict[str, float] = {}
    ids: dict[str, int] = {}
    for t, msg_id, url, _ in receiver.alerts:
        found = NUMBER.search(url)
        if found and found.group(1) in published:
            first.setdefault(found.group(1), t)
            ids[msg_id] = ids.get(msg_id, 0) + 1
    latencies = [first[n] - farm.first_served[published[n]] for n in served if n in first]
    result = Result(
        backend, instances, len(published), len(served), len(latencies),
        len(served) - len(latencies), sum(c > 1 for c in ids.values()),
        sum(not valid for *_, valid in receiver.alerts), percentile(latencies, 0.5),
        percentile(latencies, 0.99), max(latencies or [float("nan")]), codes,
    )  # fmt: skip
    receiver.alerts.clear()
    return result


def fresh_postgres(url: str, name: str, drop: bool = False) -> str:
    """Create (or drop) database ``name`` on the server of ``url``; return its URL."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))


def table(results: list[Result], context: dict) -> str:
    lines = [
        f"Alert latency, {context['when']}; {context['cpus']} CPUs, Python {context['python']}, "
        f"commit {context['commit']}; load average {context['load']};\n"
        f"monitor from {context['monitor']}",
        f"{context['feeds']} farm feeds on {min(context['feeds'], 50)} hosts, poll interval 2s "
        "(min_interval 1s); other settings at their defaults",
        "",
        f"{'backend':<11} {'inst':>4} {'published':>9} {'served':>6} {'alerted':>7} {'missing':>7} "
        f"{'dup':>4} {'p50 s':>6} {'p99 s':>6} {'max s':>6}  exit codes",
    ]
    for r in results:
        lines.append(
            f"{r.backend:<11} {r.instances:>4} {r.published:>9} {r.served:>6} {r.alerted:>7} "
            f"{r.missing:>7} {r.duplicates:>4} {r.p50_s:>6.2f} {r.p99_s:>6.2f} {r.max_s:>6.2f}  "
            f"{r.exit_codes}" + (f"  BAD SIGNATURES {r.bad_signatures}" if r.bad_signatures else "")
        )
    lines += [
        "",
        "latency: the receiver's arrival time of an entry's first alert - the time the farm sent",
        "the first response holding the entry. served: published entries the farm sent in a 200",
        "(an entry pushed out of a feed's 20 before a poll is never served).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=200, help="entries to publish")
    parser.add_argument("--rate", type=float, default=4.0, help="entries published per second")
    parser.add_argument(
        "--postgres", default=None,
        help="PostgreSQL server URL (default $MONITOR_TEST_POSTGRES_URL, not with --quick); "
        "'' skips it",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="10 feeds, 20 alerts")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--monitor", help="command that runs monitor (default: .venv/bin/monitor)")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.alerts, args.rate = 10, 20, 5.0
    if args.postgres is None:
        args.postgres = "" if args.quick else os.environ.get("MONITOR_TEST_POSTGRES_URL", "")
    if args.monitor:
        MONITOR[:] = shlex.split(args.monitor)
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    results = []
    with Farm(args.feeds) as farm, Receiver(secret) as receiver:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'monitor.db'}"
            results.append(run_backend(farm, receiver, "sqlite", url, 1, args, secret))
        if args.postgres:
            name = f"bench_latency_{os.getpid()}"
            url = fresh_postgres(args.postgres, name)
            try:
                results.append(run_backend(farm, receiver, "postgresql", url, 2, args, secret))
            finally:
                fresh_postgres(args.postgres, name, drop=True)
        else:
            progress("PostgreSQL: skipped (no --postgres and no $MONITOR_TEST_POSTGRES_URL)")
    context = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "feeds": args.feeds,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "monitor": monitor_code(),
    }
    if args.json:
        print(json.dumps({"context": context, "results": [asdict(r) for r in results]}, indent=1))
    else:
        print(table(results, context))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
