"""``monitor demo``: the real pipeline, offline. Serves ``seeds/`` on 127.0.0.1, starts a local
webhook receiver that verifies signatures, runs the service on a fresh SQLite file in a
temporary folder (deleted at the end) with ``first_run: alert_all`` (both said on screen), and
prints every alert it received."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import http.server
import json
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from monitor.alerts import verify
from monitor.errors import ConfigError
from monitor.plural import plural
from monitor.redact import terminal_text
from monitor.render import print_alert
from monitor.runtime import Runtime
from monitor.service import Service
from monitor.settings import LoadedSettings, Settings

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
FIRST_RUN_NOTE = (
    "first_run: alert_all, so the sample feeds' existing entries alert (a real config "
    "defaults to store_only: a new source's entries are stored without alerting)"
)


def find_seeds(explicit: Path | None) -> Path:
    """The seeds folder (the one holding ``feeds/``): --seeds (or its ``feeds`` folder
    itself), else ./seeds, else the one beside the installed package."""
    if explicit is not None:
        if (explicit / "feeds").is_dir():
            return explicit.resolve()
        if explicit.name == "feeds" and explicit.is_dir():
            return explicit.resolve().parent
        raise ConfigError(
            f"--seeds {explicit}: no feeds/ folder in it; give the folder that holds feeds/ "
            "(the project's seeds/)"
        )
    for candidate in (Path("seeds"), PACKAGE_ROOT / "seeds"):
        if (candidate / "feeds").is_dir():
            return candidate.resolve()
    raise ConfigError(
        "seeds/feeds not found; run `monitor demo` from the project folder or pass --seeds PATH"
    )


def find_watchlist(seeds: Path) -> Path:
    for candidate in (
        Path("config/watchlists/libya.yaml"),
        seeds.parent / "config/watchlists/libya.yaml",
        PACKAGE_ROOT / "config/watchlists/libya.yaml",
    ):
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError("config/watchlists/libya.yaml not found; run from the project folder")


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class _Receiver(http.server.BaseHTTPRequestHandler):
    secret = ""
    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        ok = verify(self.secret, headers, body)
        with self.lock:
            self.received.append(
                {"id": headers.get("webhook-id"), "verified": ok, "body": json.loads(body)}
            )
        self.send_response(204 if ok else 401)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def _serve(handler: Any) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_settings(
    folder: Path, feeds_url: str, feeds: list[Path], watchlist: Path, receiver_url: str, secret: str
) -> LoadedSettings:
    data = {
        "database_url": f"sqlite:///{folder / 'demo.db'}",
        "poll": {"interval": "1h", "allow_private_networks": True, "tick": "1s"},
        "first_run": "alert_all",  # the demo wants the backlog; real sources default to store_only
        "sources": [{"name": f.stem, "url": f"{feeds_url}/feeds/{f.name}"} for f in feeds],
        "watchlists": [str(watchlist)],
        "sinks": [
            {
                "name": "demo-receiver",
                "url": receiver_url,
                "secret": secret,
                "retry_schedule": ["1s", "2s", "4s"],
            }
        ],
        "delivery": {"tick": "1s"},
        "retention": None,
    }
    # model_validate, not Settings(...): the demo must not pick up MONITOR_* from the shell.
    return LoadedSettings(Settings.model_validate(data), folder / "demo.yaml", ())


async def _run(runtime: Runtime, expected_sources: int, limit_seconds: float) -> bool:
    async with Service(runtime) as service:
        service.sync_sources()

        async def finished() -> bool:
            rows = await runtime.store.alist_sources()
            counts = await runtime.store.acount_deliveries()
            polled = sum(r.last_polled_at is not None for r in rows)
            return polled >= expected_sources and counts.get("pending", 0) == 0

        async def watch() -> None:
            deadline = time.monotonic() + limit_seconds
            # Poll the database with a deadline: the work happens in scheduled jobs.
            while time.monotonic() < deadline and not await finished():  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            service.stopping.set()

        watcher = asyncio.create_task(watch())
        await service.run_forever()
        await watcher
        return await finished()


def run_demo(console: Console, *, seeds: Path | None = None, timeout: float = 45.0) -> int:
    seeds_dir = find_seeds(seeds)
    feeds = sorted(p for p in (seeds_dir / "feeds").iterdir() if p.suffix == ".xml")
    if not feeds:
        others = sorted(p.name for p in (seeds_dir / "feeds").iterdir() if p.is_file())
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise ConfigError(
            f"{seeds_dir / 'feeds'}: no *.xml feed in it"
            + (f" (it holds {shown}: name the feeds *.xml)" if others else "")
        )
    watchlist = find_watchlist(seeds_dir)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    receiver: type[_Receiver] = type(
        "DemoReceiver", (_Receiver,), {"secret": secret, "received": []}
    )
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="monitor-demo-") as tmp,
        _serve(functools.partial(_QuietFiles, directory=str(seeds_dir))) as feeds_url,
        _serve(receiver) as receiver_url,
    ):
        console.print(f"serving {len(feeds)} sample feeds from {seeds_dir} at {feeds_url}")
        console.print(
            f"webhook receiver at {receiver_url}; database in the temporary folder {tmp} "
            "(deleted when the demo ends)"
        )
        console.print(f"{FIRST_RUN_NOTE}\n")
        loaded = demo_settings(Path(tmp), feeds_url, feeds, watchlist, receiver_url, secret)
        runtime = Runtime.build(loaded, need_sinks=True)
        runtime.store.prepare()
        try:
            complete = asyncio.run(_run(runtime, len(feeds), timeout))
            rows = runtime.store.list_sources()
        finally:
            runtime.store.close()
    alerts = sorted(receiver.received, key=lambda r: r["body"]["data"]["article"]["title"])
    for alert in alerts:
        print_alert(console, alert["body"]["data"])
        console.print()
    stored = sum(r.articles_stored for r in rows)
    verified = sum(a["verified"] for a in alerts)
    failed = [r for r in rows if r.last_error_reason and r.last_error_reason != "bozo"]
    console.print(
        f"[bold]{plural(len(rows), 'feed')} polled, {plural(stored, 'article')} stored, "
        f"{plural(len(alerts), 'alert')} delivered ({verified} with a valid signature) in "
        f"{time.monotonic() - started:.1f}s[/bold]"
    )
    for row in failed:
        console.print(
            f"[red]feed error[/red] {escape(terminal_text(row.name))}: "
            f"{escape(terminal_text(row.last_error or ''))}"
        )
    if not complete:
        console.print("[red]the demo did not finish in time[/red]")
    return 0 if complete and alerts and verified == len(alerts) and not failed else 1
