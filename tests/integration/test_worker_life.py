"""The parsing workers' life: a worker that never starts holds neither the event loop nor the
exit, and closing the analyser kills a worker still busy `CLOSE_SECONDS` after it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from monitor.analysis import CLOSE_SECONDS, Analyser


def test_a_worker_that_never_starts_does_not_hold_the_event_loop_or_the_exit(
    tmp_path: Path,
) -> None:
    # A worker's arguments were written to its pipe while it started, on the event loop:
    # the compiled watchlists fill the pipe, so the loop waited until the child had read
    # them, 0.4-0.8 s a worker, and for ever for a child that never read them (seen: a
    # `monitor once` that ignored SIGTERM for two hours). Here the "interpreter" the workers
    # start with sleeps: the loop keeps running, the feed fails at its deadline, and
    # closing kills the sleeper. (A subprocess: the workers' interpreter is process-wide.)
    sleeper = tmp_path / "python"
    sleeper.write_text("#!/bin/sh\nexec sleep 30\n", encoding="utf-8")
    sleeper.chmod(0o755)
    script = (
        "import asyncio, multiprocessing, os, time\n"
        "from monitor.analysis import Analyser, AnalysisTimeout\n"
        "from monitor.match.watchlist_file import load_watchlist\n"
        f"multiprocessing.set_executable({str(sleeper)!r})\n"
        "watchlist = load_watchlist(__import__('pathlib').Path('config/watchlists/libya.yaml'))\n"
        "a = Analyser([watchlist], excerpt_chars=100, workers=1)\n"
        "a.deadline = 1.0\n"
        "gaps, pids = [], set()\n"
        "async def main():\n"
        "    async def tick():\n"
        "        last = time.monotonic()\n"
        "        while True:\n"
        "            await asyncio.sleep(0.02)\n"
        "            gaps.append(time.monotonic() - last)\n"
        "            pids.update(a.worker_pids())\n"
        "            last = time.monotonic()\n"
        "    ticker = asyncio.create_task(tick())\n"
        "    try:\n"
        "        await a.analyse(b'<rss/>', 'http://127.0.0.1/feed.xml', None)\n"
        "    except AnalysisTimeout as error:\n"
        "        print(error.reason, flush=True)\n"
        "    ticker.cancel()\n"
        "started = time.monotonic()\n"
        "asyncio.run(main())\n"
        "a.close()\n"
        "def running(pid):  # not gone, and not a zombie its parent has yet to reap\n"
        "    try:\n"
        "        with open(f'/proc/{pid}/stat') as stat:\n"
        "            return stat.read().rsplit(') ', 1)[1][0] != 'Z'\n"
        "    except FileNotFoundError:\n"
        "        return False\n"
        "until = time.monotonic() + 5  # SIGKILL takes effect soon, not at once\n"
        "while any(running(pid) for pid in pids) and time.monotonic() < until:\n"
        "    time.sleep(0.05)\n"
        "alive = [pid for pid in pids if running(pid)]\n"
        "print(f'{max(gaps):.2f} {time.monotonic() - started:.1f} {len(pids)} {alive}')\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    # Output to a file: the sleeper started as multiprocessing's resource tracker keeps
    # a pipe open for its 30 s.
    with open(tmp_path / "out", "w", encoding="utf-8") as output:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=root, stdout=output, env=env, timeout=90
        )
    out = (tmp_path / "out").read_text(encoding="utf-8")
    assert done.returncode == 0, out
    reason, timings = out.splitlines()
    assert reason == "parse_timeout"
    gap, elapsed, workers, alive = timings.split(" ", 3)
    assert float(gap) < 0.5 and float(elapsed) < 15, out  # not the sleeper's 30 s
    assert workers == "1" and alive == "[]", out  # the sleeper was started, then killed


def test_closing_kills_a_worker_still_busy_after_close_seconds() -> None:
    # At a stop no poll waits for a worker's result any more; closing waited for the feed in
    # hand to finish, however long (a parser that hangs held the service's exit).
    analyser = Analyser((), excerpt_chars=100, workers=1)
    try:
        assert analyser._pool is None
        pool = analyser._new_pool()
        analyser._pool = pool
        busy = pool.executor.submit(time.sleep, 60)
        started = time.monotonic()
        while not busy.running() and time.monotonic() - started < 30:
            time.sleep(0.05)
        (worker,) = analyser.worker_pids()
    finally:
        started = time.monotonic()
        analyser.close()
        took = time.monotonic() - started
    assert CLOSE_SECONDS <= took < CLOSE_SECONDS + 3
    assert not os.path.exists(f"/proc/{worker}")  # killed and reaped


def test_a_worker_that_died_between_two_feeds_costs_the_next_feed_nothing() -> None:
    # An outside probe (probe88): a worker killed between two feeds left the pool broken, and
    # the next feeds handed to it failed as internal errors (BrokenProcessPool from the
    # submit itself), where a worker's death should cost a retry on new workers.
    import asyncio
    import signal

    feed = (
        b'<rss version="2.0"><channel><title>t</title><item><guid>1</guid>'
        b"<title>Haftar in Tripoli</title></item></channel></rss>"
    )
    analyser = Analyser((), excerpt_chars=100, workers=1)
    try:
        asyncio.run(analyser.analyse(feed, "https://example.org/a.xml", None))
        (worker,) = analyser.worker_pids()
        pool = analyser._pool
        assert pool is not None
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not getattr(pool.executor, "_broken", False) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert getattr(pool.executor, "_broken", False)  # the pool knows, no feed waited
        done = asyncio.run(analyser.analyse(feed, "https://example.org/b.xml", None))
        assert [entry.title for entry in done.feed.entries] == ["Haftar in Tripoli"]
        assert worker not in analyser.worker_pids()
    finally:
        analyser.close()
