"""`monitor run` against the loopback farm: feeds polled per minute and the lag between each
source's planned and actual poll (cold pass, steady state), then SIGTERM and its exit code."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.farm import MONITOR, Farm, child_env, monitor_code, percentile, tree_rss_kb

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = ROOT / "config" / "watchlists" / "libya.yaml"
STOP_WAIT = 150.0  # seconds to wait after SIGTERM (the service's own grace is 90 s)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Lags:
    count: int
    p50: float
    p99: float
    max: float


def lags(values: list[float]) -> Lags:
    return Lags(len(values), percentile(values, 0.5), percentile(values, 0.99), max(values or [0]))


@dataclass
class Report:
    feeds: int
    interval_s: float
    minutes: float
    poll_settings: dict[str, str]
    polls: int
    polls_per_min: float
    needed_per_min: float
    steady_polls_per_min: float | None  # after every feed had its first poll
    busiest_second: int  # after the cold pass: the most polls the farm saw in one second
    cold_pass_s: float | None  # start to the last feed's first poll; None if never done
    never_polled: int
    cold: Lags  # first poll - start (never polled: end - start)
    steady: Lags  # poll - (previous poll + interval), and still-overdue polls at the end
    overdue_at_end: int
    statuses: dict[str, int]
    exit_code: int | None
    stop_s: float
    peak_rss_mb: float  # the process tree's (service, parsing workers, resource tracker)
    overdue_max_s: float | None  # after the cold pass: now - the oldest next_poll_at
    overdue_60s_max: int | None  # after the cold pass: most sources > 60 s overdue at once


def analyse(farm: Farm, start: float, end: float, interval: float) -> dict:
    polled = farm.polled()
    cold, steady, overdue = [], [], 0
    for feed in range(len(farm)):
        times = [t for t in polled.get(feed, []) if t <= end]
        if not times:
            cold.append(end - start)
            continue
        cold.append(times[0] - start)
        steady += [b - (a + interval) for a, b in zip(times, times[1:], strict=False)]
        if times[-1] + interval < end:  # due and not polled yet: lag so far
            steady.append(end - (times[-1] + interval))
            overdue += 1
    firsts = [t[0] for t in polled.values() if t]
    done = max(firsts) if len(firsts) == len(farm) else None
    later = [t for times in polled.values() for t in times[1:] if done and done < t <= end]
    per_second: dict[int, int] = {}
    for t in later:
        per_second[int(t)] = per_second.get(int(t), 0) + 1
    statuses: dict[str, int] = {}
    for r in farm.requests:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    return {
        "polls": sum(len(t) for t in polled.values()),
        "cold_pass_s": None if done is None else done - start,
        "never_polled": len(farm) - len(firsts),
        "steady_polls_per_min": len(later) / (end - done) * 60 if done and end > done else None,
        "busiest_second": max(per_second.values(), default=0),
        "cold": lags(cold),
        "steady": lags(steady),
        "overdue_at_end": overdue,
        "statuses": statuses,
    }


def overdue(db: Path, farm: Farm, feed_of: dict[str, int]) -> tuple[float, int] | None:
    """How late the most overdue enabled source is now (now - its ``next_poll_at``, the
    planned poll) and how many are more than 60 s late, read from the service's database (a
    read in WAL mode never blocks its writer). A source the farm has already seen a request
    from since its planned time is not late, only not yet written back (its articles are
    being stored). None while the database is not there."""
    if not db.exists():
        return None
    now = time.time()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            rows = conn.execute("SELECT url, next_poll_at FROM sources WHERE enabled").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet
        return None
    if not rows:
        return None
    polled = farm.polled()
    late = []
    for url, stored in rows:
        planned = datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp()  # naive UTC
        asked = polled.get(feed_of.get(url, -1))
        if planned < now and not (asked and asked[-1] >= planned):
            late.append(now - planned)
    return max(late, default=0.0), sum(1 for x in late if x > 60)


def parse_seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def run(args: argparse.Namespace) -> Report:
    interval = parse_seconds(args.interval)
    # Every source on exactly this interval: the adaptive schedule would stretch the farm's
    # feeds (an entry an hour) to an hour, and this measures the scheduler, not the rates.
    fixed = f"{interval:g}s"
    poll = {"interval": fixed, "min_interval": fixed, "max_interval": fixed, **dict(args.poll)}
    progress(f"farm: building {args.feeds} feeds")
    with (
        Farm(args.feeds, single_host=args.single_host, cookies=args.cookies) as farm,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work = Path(tmp)
        farm.write_opml(work / "farm.opml")
        config = work / "monitor.yaml"
        config.write_text(
            f"database_url: sqlite:///{work / 'monitor.db'}\n"
            "poll:\n  allow_private_networks: true\n"
            + "".join(f"  {k}: {v}\n" for k, v in poll.items())
            + f"sources:\n  - opml: farm.opml\nwatchlists:\n  - {WATCHLIST}\n",
            encoding="utf-8",
        )
        log = (work / "monitor.log").open("wb")
        cmd = [*MONITOR, "--log-level", "warning", "run", "--config", str(config)]
        start = time.time()
        process = subprocess.Popen(cmd, cwd=work, env=child_env(), stdout=log, stderr=log)
        progress(f"monitor run: {args.feeds} feeds every {interval:g} s, for {args.minutes} min")
        deadline = start + args.minutes * 60
        peak_kb, shown, sampled = 0, start, start
        feed_of = {url: feed for feed, url in enumerate(farm.urls())}
        late: list[tuple[float, float, int]] = []  # (time, worst lag, sources > 60 s late)
        while time.time() < deadline and process.poll() is None:
            time.sleep(min(0.2, max(0.0, deadline - time.time())))
            peak_kb = max(peak_kb, tree_rss_kb(process.pid))
            if time.time() - sampled >= 1:
                sampled = time.time()
                found_late = overdue(work / "monitor.db", farm, feed_of)
                if found_late is not None:
                    late.append((sampled, *found_late))
            if time.time() - shown >= 5:
                shown = time.time()
                progress(f"  {shown - start:5.0f} s: {len(farm.requests)} requests")
        end = time.time()
        process.send_signal(signal.SIGTERM)
        try:
            exit_code: int | None = process.wait(STOP_WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            exit_code = None
        stop_s = time.time() - end
        log.close()
        tail = (work / "monitor.log").read_text(errors="replace").splitlines()[-5:]
        for line in tail:
            progress(f"  log: {line[:200]}")
        found = analyse(farm, start, end, interval)
    minutes = (end - start) / 60
    cold_done = found["cold_pass_s"]
    after = [x for x in late if cold_done is not None and x[0] > start + cold_done]
    return Report(
        feeds=args.feeds,
        interval_s=interval,
        minutes=round(minutes, 2),
        poll_settings=poll,
        polls_per_min=found["polls"] / minutes,
        needed_per_min=args.feeds / interval * 60,
        exit_code=exit_code,
        stop_s=stop_s,
        peak_rss_mb=peak_kb / 1024,
        overdue_max_s=max((x[1] for x in after), default=None),
        overdue_60s_max=max((x[2] for x in after), default=None),
        **found,
    )


def table(report: Report, context: dict) -> str:
    r = report

    def row(name: str, lag: Lags) -> str:
        return f"  {name:<13} {lag.count:>7,} {lag.p50:>8.1f} {lag.p99:>8.1f} {lag.max:>8.1f}"

    steady = "-" if r.steady_polls_per_min is None else f"{r.steady_polls_per_min:,.0f}"
    cold = "not finished" if r.cold_pass_s is None else f"{r.cold_pass_s:.1f} s"
    overdue_s = "-" if r.overdue_max_s is None else f"{r.overdue_max_s:.1f} s"
    overdue_n = "-" if r.overdue_60s_max is None else f"{r.overdue_60s_max:,}"
    return "\n".join(
        [
            f"Service benchmark, {context['when']}; {context['cpus']} CPUs, Python "
            f"{context['python']}, commit {context['commit']}; load average {context['load']};\n"
            f"monitor from {context['monitor']}",
            f"monitor run: {r.feeds:,} feeds on {context['hosts']} host(s)"
            + (", every answer sets a cookie" if context["cookies"] else "")
            + f", interval "
            f"{r.interval_s:g} s, {r.minutes:.2f} min; poll settings {r.poll_settings} "
            "(others at their defaults)",
            "",
            f"polls: {r.polls:,} ({r.polls_per_min:,.0f}/min; needed {r.needed_per_min:,.0f}/min"
            f"; after the cold pass {steady}/min); by status {r.statuses}",
            f"cold pass (every feed polled once): {cold}; never polled: {r.never_polled:,}; "
            f"after it, the busiest second saw {r.busiest_second:,} polls",
            "",
            f"  {'lag, s':<13} {'count':>7} {'p50':>8} {'p99':>8} {'max':>8}",
            row("cold pass", r.cold),
            row("steady state", r.steady),
            "",
            "cold pass lag: first poll - service start (never polled: end - start).",
            "steady lag: poll - (previous poll + interval); a poll due and not made by the end "
            f"counts with its lag so far ({r.overdue_at_end:,} such).",
            "",
            f"after the cold pass, read from the database every second: the most overdue "
            f"source (now - its next_poll_at, not yet asked for by then) {overdue_s}; sources "
            f"more than 60 s overdue at once: at most {overdue_n}",
            f"peak RSS of the process tree (service, parsing workers, resource tracker; "
            f"sampled every 0.2 s): {r.peak_rss_mb:.0f} MB",
            f"SIGTERM: exit code {r.exit_code}, stopped in {r.stop_s:.1f} s.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--interval", default="1m", help="poll interval, e.g. 1m or 10m")
    parser.add_argument("--minutes", type=float, default=2.5, help="how long the service runs")
    parser.add_argument("--quick", action="store_true", help="30 feeds every 5 s for 0.3 min")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--single-host", action="store_true", help="every feed on 127.0.0.1")
    parser.add_argument("--cookies", action="store_true", help="every answer sets a cookie")
    parser.add_argument("--monitor", help="command that runs monitor (default: .venv/bin/monitor)")
    parser.add_argument(
        "--poll", action="append", default=[], type=lambda s: s.split("=", 1),
        metavar="KEY=VALUE", help="extra poll: setting, e.g. --poll tick=5s (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.interval, args.minutes = 30, "5s", 0.3
    if args.monitor:
        MONITOR[:] = shlex.split(args.monitor)
    report = run(args)
    context = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "hosts": 1 if args.single_host else 50,
        "cookies": args.cookies,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "monitor": monitor_code(),
    }
    if args.json:
        print(json.dumps({"context": context, **asdict(report)}, indent=1))
    else:
        print(table(report, context))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
