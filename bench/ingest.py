"""Ingest throughput on the loopback farm: `monitor once` vs lemon24's reader vs feedparser alone
(2 processes); a cold pass, then a pass where every feed answers 304."""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.farm import MONITOR, Farm, child_env, compile_monitor, monitor_code, tree_rss_kb

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = ROOT / "config" / "watchlists" / "libya.yaml"
TIMEOUT = 1800.0  # no pass may take longer than this


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Timed:
    seconds: float
    peak_rss_mb: float
    returncode: int
    started_at: float  # time.time() at the start, the clock of the farm's request log


def run_timed(cmd: list[str], log: Path, cwd: Path, timeout: float = TIMEOUT) -> Timed:
    """Run ``cmd`` (output to ``log``), timed from its start. Peak RSS: the larger of the
    process's VmHWM and the largest sum of its process tree's VmRSS, sampled every 20 ms.

    ru_maxrss is not used: a child forked from this process (which holds the farm) starts
    with this process's peak."""
    peak = 0
    with log.open("ab") as out:
        started = time.perf_counter()
        started_at = time.time()
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=child_env()
        )
        while process.poll() is None:
            try:
                status = Path(f"/proc/{process.pid}/status").read_text()
                peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
            except (OSError, IndexError, ValueError):
                pass
            peak = max(peak, tree_rss_kb(process.pid))
            if time.perf_counter() - started > timeout:
                process.kill()
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    return Timed(seconds, peak / 1024, process.returncode, started_at)


def count_rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    conn.close()
    return int(count)


@dataclass
class Result:
    feeds: int
    system: str
    cold_s: float
    stored: int
    entries_per_s: float
    cold_window_s: float  # first to last farm request of the cold pass
    warm_s: float
    warm_304: int
    warm_window_s: float
    warm_start_s: float  # from the 304 pass's start to the first request the farm saw
    peak_rss_mb: float  # the larger of the two passes
    returncodes: tuple[int, int]


def _pass(farm: Farm, cmd: list[str], log: Path) -> tuple[Timed, int, float, float]:
    """Run one pass; return its timing, the 304s the farm sent, the request window and the
    time from the command's start to its first request."""
    before = len(farm.requests)
    # monitor runs in the work dir (so `python -m monitor` finds no ./monitor), reader in ROOT.
    timed = run_timed(cmd, log, ROOT if "bench.ingest" in cmd else log.parent)
    seen = farm.requests[before:]
    window = seen[-1].t - seen[0].t if seen else 0.0
    start = seen[0].t - timed.started_at if seen else 0.0
    return timed, sum(r.status == 304 for r in seen), window, start


def measure(farm: Farm, system: str, cmds: list[list[str]], db: Path, table: str, log: Path):
    progress(f"  {system}: cold pass ({len(farm)} feeds)")
    cold, _, cold_window, _ = _pass(farm, cmds[0], log)
    stored = count_rows(db, table) if db.exists() else 0
    progress(f"  {system}: {cold.seconds:.1f} s, {stored} stored; 304 pass")
    warm, warm_304, warm_window, warm_start = _pass(farm, cmds[1], log)
    progress(f"  {system}: {warm.seconds:.1f} s, {warm_304} answered 304")
    return Result(
        len(farm),
        system,
        cold.seconds,
        stored,
        stored / cold.seconds,
        cold_window,
        warm.seconds,
        warm_304,
        warm_window,
        warm_start,
        max(cold.peak_rss_mb, warm.peak_rss_mb),
        (cold.returncode, warm.returncode),
    )


def monitor_cmds(farm: Farm, work: Path) -> tuple[list[list[str]], Path]:
    db = work / "monitor.db"
    farm.write_opml(work / "farm.opml")
    config = work / "monitor.yaml"
    config.write_text(
        f"database_url: sqlite:///{db}\n"
        "poll:\n  allow_private_networks: true\n"
        "sources:\n  - opml: farm.opml\n"
        f"watchlists:\n  - {WATCHLIST}\n",
        encoding="utf-8",
    )
    cmd = [*MONITOR, "once", "--config", str(config)]
    return [cmd, cmd], db


def reader_cmds(farm: Farm, work: Path, workers: int) -> tuple[list[list[str]], Path]:
    db = work / "reader.sqlite"
    urls = work / "urls.txt"
    urls.write_text("\n".join(farm.urls()) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "bench.ingest", "--reader-worker", str(db), str(urls)]
    return [cmd + ["--workers", str(workers)]] * 2, db


def reader_worker(db: str, urls_file: str, workers: int) -> int:
    """One reader pass in this process: add the feeds (if new), update them all."""
    from reader import make_reader

    reader = make_reader(db, search_enabled=False)
    try:
        for url in Path(urls_file).read_text(encoding="utf-8").split():
            reader.add_feed(url, exist_ok=True)
        reader.update_feeds(scheduled=False, workers=workers)
    finally:
        reader.close()
    return 0


def _parse_count(body: bytes) -> int:
    import feedparser

    return len(feedparser.parse(body).entries)


def _parse_count_ours(body: bytes) -> int:
    """feedparser as news-monitor calls it (monitor.parse): a stream, and neither sanitising
    nor resolving links inside the HTML (the two passes cost about 40 % of the parse)."""
    import feedparser

    return len(
        feedparser.parse(io.BytesIO(body), resolve_relative_uris=False, sanitize_html=False).entries
    )


def ceiling(farm: Farm, processes: int = 2, *, ours: bool = False) -> Result:
    """feedparser alone on the farm's bytes from memory, ``processes`` at once: with its
    defaults (as reader calls it), or with ``ours``, as news-monitor calls it."""
    bodies = [farm.body(i) for i in range(len(farm))]
    parse = _parse_count_ours if ours else _parse_count
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(parse, bodies[:processes])  # import feedparser in every worker
        started = time.perf_counter()
        entries = sum(pool.imap_unordered(parse, bodies, chunksize=8))
        seconds = time.perf_counter() - started
    return Result(
        len(farm),
        f"feedparser x{processes}" + (" ours" if ours else ""),
        seconds,
        entries,
        entries / seconds,
        0.0,
        0.0,
        0,
        0.0,
        0.0,
        0.0,
        (0, 0),
    )


def reader_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("reader")
    except Exception:  # noqa: BLE001 - not installed
        return None


def run(
    sizes: list[int], *, with_reader: bool, workers: int, single_host: bool, cookies: bool
) -> list[Result]:
    results: list[Result] = []
    compile_monitor()
    for feeds in sizes:
        progress(f"farm: building {feeds} feeds")
        with (
            Farm(feeds, single_host=single_host, cookies=cookies) as farm,
            tempfile.TemporaryDirectory() as tmp,
        ):
            work = Path(tmp)
            log = work / "output.log"
            cmds, db = monitor_cmds(farm, work)
            results.append(measure(farm, "news-monitor once", cmds, db, "articles", log))
            if with_reader:
                cmds, db = reader_cmds(farm, work, workers)
                results.append(
                    measure(farm, f"reader {reader_version()}", cmds, db, "entries", log)
                )
            progress("  feedparser alone, 2 processes: its defaults, then as news-monitor")
            results.append(ceiling(farm))
            results.append(ceiling(farm, ours=True))
            errors = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if "Traceback" in line or "error" in line.lower()
            ][:5]
            for line in errors:
                progress(f"  log: {line[:200]}")
    return results


def table(results: list[Result], context: dict) -> str:
    lines = [
        f"Ingest benchmark, {context['when']}; {context['cpus']} CPUs, Python {context['python']}"
        f", commit {context['commit']}, monitor from {context['monitor']};\n"
        f"load average at the end {context['load']}; "
        f"{context['hosts']} farm host(s)"
        + ("; every answer sets a cookie" if context["cookies"] else "")
        + "; news-monitor poll settings at their defaults;"
        " reader update_feeds(workers="
        f"{context['workers']}, scheduled=False)",
        "",
        f"{'feeds':>6}  {'system':<18} {'cold s':>7} {'stored':>8} {'entries/s':>9} "
        f"{'req window s':>12} {'304 pass s':>10} {'304s':>6} {'1st req s':>9} {'window s':>8} "
        f"{'peak RSS MB':>11}",
    ]
    for r in results:
        if r.system.startswith("feedparser"):
            lines.append(
                f"{r.feeds:>6,}  {r.system:<18} {r.cold_s:>7.1f} {r.stored:>8,} "
                f"{r.entries_per_s:>9,.0f}   (parse only, from memory)"
            )
            continue
        lines.append(
            f"{r.feeds:>6,}  {r.system:<18} {r.cold_s:>7.1f} {r.stored:>8,}"
            f" {r.entries_per_s:>9,.0f} {r.cold_window_s:>12.1f} {r.warm_s:>10.1f}"
            f" {r.warm_304:>6,} {r.warm_start_s:>9.2f} {r.warm_window_s:>8.1f}"
            f" {r.peak_rss_mb:>11.0f}"
            + ("" if r.returncodes == (0, 0) else f"  exit {r.returncodes}")
        )
    lines += [
        "",
        "Ratios news-monitor / reader (entries/s: higher is better; 304 pass s and RSS: "
        "lower is better), and news-monitor's share of the feedparser ceiling (feedparser "
        "called as news-monitor calls it):",
    ]
    for feeds in sorted({r.feeds for r in results}):
        by = {r.system.split()[0]: r for r in results if r.feeds == feeds}
        ours = by["news-monitor"]
        peak = next(r for r in results if r.feeds == feeds and r.system.endswith(" ours"))
        text = f"  {feeds:,} feeds: ceiling share {ours.entries_per_s / peak.entries_per_s:.0%}"
        if "reader" in by:
            other = by["reader"]
            text += (
                f"; entries/s x{ours.entries_per_s / other.entries_per_s:.2f}, 304 pass "
                f"x{ours.warm_s / other.warm_s:.2f}, peak RSS "
                f"x{ours.peak_rss_mb / other.peak_rss_mb:.2f}"
            )
        lines.append(text)
    lines += [
        "",
        "cold s and 304 pass s: wall time of the command from its start (process start, "
        "config, schema, adding sources included);",
        "req window s: first to last request "
        "the farm saw in that pass; 1st req s: from the 304 pass's start to its first "
        "request (start-up);",
        "stored: rows in the database afterwards; feedparser x2: its defaults (sanitising "
        "and resolving links in the HTML, as reader calls it), ours: neither, as news-monitor "
        "calls it.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", default="1000", help="comma-separated sizes, e.g. 1000,10000")
    parser.add_argument("--quick", action="store_true", help="10 feeds: a smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-reader", action="store_true", help="skip the reader peer")
    parser.add_argument("--workers", type=int, default=20, help="reader's update workers")
    parser.add_argument("--single-host", action="store_true", help="every feed on 127.0.0.1")
    parser.add_argument("--cookies", action="store_true", help="every answer sets a cookie")
    parser.add_argument("--monitor", help="command that runs monitor (default: .venv/bin/monitor)")
    parser.add_argument("--reader-worker", nargs=2, metavar=("DB", "URLS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reader_worker:
        return reader_worker(*args.reader_worker, args.workers)
    if args.monitor:
        MONITOR[:] = shlex.split(args.monitor)
    sizes = [10] if args.quick else [int(n) for n in args.feeds.split(",")]
    with_reader = not args.no_reader and reader_version() is not None
    if not args.no_reader and not with_reader:
        progress("reader is not installed (pip install -r bench/requirements.txt): skipped")
    results = run(
        sizes,
        with_reader=with_reader,
        workers=args.workers,
        single_host=args.single_host,
        cookies=args.cookies,
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    context = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit,
        "hosts": 1 if args.single_host else 50,
        "cookies": args.cookies,
        "workers": args.workers,
        "monitor": monitor_code(),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    if args.json:
        print(json.dumps({"context": context, "results": [asdict(r) for r in results]}, indent=1))
    else:
        print(table(results, context))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
