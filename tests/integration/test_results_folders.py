"""The parsing workers' results folders (`monitor.analysis`): a process killed with SIGKILL
leaves its folder behind (in /dev/shm, in memory); the next one to start removes it, and
never the folder of a process that still runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitor.analysis import FOLDER_PREFIX, remove_stale_folders


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_folders_of_killed_processes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    stale = tmp_path / f"{FOLDER_PREFIX}{_dead_pid()}-abc123"
    stale.mkdir()
    (stale / "result.pickle").write_bytes(b"x" * 100)
    live = tmp_path / f"{FOLDER_PREFIX}{os.getpid()}-def456"
    live.mkdir()
    other = tmp_path / "monitor-analysis-notapid-x"
    other.mkdir()
    unrelated = tmp_path / "someone-else-1"
    unrelated.mkdir()
    remove_stale_folders(str(tmp_path))
    assert not stale.exists()
    assert live.exists() and other.exists() and unrelated.exists()


def test_a_sigkilled_once_leaves_a_folder_the_next_run_removes(tmp_path: Path) -> None:
    # The sweep runs where the folders are made: a second Analyser in a new process removes
    # the first one's folder once that process is gone.
    script = (
        "import asyncio, os, sys\n"
        "from monitor.analysis import Analyser\n"
        "a = Analyser((), excerpt_chars=100, workers=1)\n"
        "print(a._results_folder(), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    first = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert first.returncode == -9
    folder = Path(first.stdout.strip())
    assert folder.exists() and folder.name.startswith(FOLDER_PREFIX)
    second = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert not folder.exists()
    Path(second.stdout.strip()).rmdir()  # this one's own, left by its SIGKILL


def test_a_run_that_parses_nothing_still_removes_a_killed_ones_folder() -> None:
    # A `monitor once` whose feeds all answer 304 never makes a results folder of its own;
    # the sweep runs when its analyser is made (found by a black-box probe: the folder of a
    # SIGKILLed once outlived two such runs).
    from monitor.analysis import Analyser, results_base

    stale = Path(results_base()) / f"{FOLDER_PREFIX}{_dead_pid()}-stale1"
    stale.mkdir()
    try:
        Analyser((), excerpt_chars=100, workers=0)
        assert stale.exists()  # in this process: no workers, no folders, no sweep
        Analyser((), excerpt_chars=100, workers=1)
        assert not stale.exists()
    finally:
        if stale.exists():
            stale.rmdir()


def test_a_feeds_deadline_grows_with_its_size_up_to_the_cap() -> None:
    # A 100 KB feed that needs more than 11 s is hostile or broken (a normal 7.5 MB feed
    # takes under a second): it holds a worker, and its host's poll slots, that long only.
    from monitor.analysis import ANALYSIS_DEADLINE, Analyser

    analyser = Analyser([], excerpt_chars=300, workers=1)
    assert analyser.deadline_for(b"x" * 100_000) == 11.0
    assert analyser.deadline_for(b"x" * 5_000_000) == 60.0
    assert analyser.deadline_for(b"x" * 50_000_000) == ANALYSIS_DEADLINE == 120.0
    analyser.deadline = 0.5  # a lower cap (as the tests set) wins
    assert analyser.deadline_for(b"x" * 100_000) == 0.5


def test_a_sigkilled_process_leaves_no_warning_from_the_resource_tracker() -> None:
    # An outside probe: after SIGKILL (the OOM killer, systemd's last resort), the process
    # that cleans up the workers' semaphores wrote "resource_tracker: There appear to be 5
    # leaked semaphore objects" on the service's standard error: plain text among JSON
    # logs, and nothing an operator can act on (they are cleaned up).
    script = (
        "import asyncio, os\n"
        "from monitor.analysis import Analyser\n"
        "a = Analyser((), excerpt_chars=100, workers=1)\n"
        'feed = b\'<rss version="2.0"><channel><title>t</title><item><guid>1</guid>'
        "<title>x</title></item></channel></rss>'\n"
        "asyncio.run(a.analyse(feed, 'https://example.org/f.xml', None))\n"
        "print(a._results_folder(), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    killed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert killed.returncode == -9, killed.stderr
    assert "resource_tracker" not in killed.stderr and "leaked" not in killed.stderr, killed.stderr
    folder = Path(killed.stdout.strip())
    remove_stale_folders(str(folder.parent))


def test_each_reload_lets_go_of_the_old_workers_once_their_feeds_are_done() -> None:
    # An outside probe (probe68): every reload kept the retired worker pool, and the
    # watchlists it was started with, for the life of the service: 200 reloads, +29 MB.
    import asyncio
    import gc
    import time
    import weakref

    from monitor.analysis import Analyser

    feed = (
        b'<rss version="2.0"><channel><title>t</title><item><guid>1</guid>'
        b"<title>Haftar in Tripoli</title></item></channel></rss>"
    )
    analyser = Analyser((), excerpt_chars=100, workers=1)
    retired: list[weakref.ref[object]] = []
    try:
        for _ in range(3):
            asyncio.run(analyser.analyse(feed, "https://example.org/f.xml", None))
            retired.append(weakref.ref(analyser._pool.executor))
            analyser.reload((), excerpt_chars=100, workers=1)
        deadline = time.monotonic() + 30
        while any(ref() is not None for ref in retired) and time.monotonic() < deadline:
            gc.collect()
            time.sleep(0.1)
        assert [ref() for ref in retired] == [None, None, None]
        # The analyser still works after it.
        done = asyncio.run(analyser.analyse(feed, "https://example.org/f.xml", None))
        assert [entry.title for entry in done.feed.entries] == ["Haftar in Tripoli"]
    finally:
        analyser.close()


def test_workers_that_cannot_start_say_so(tmp_path: Path) -> None:
    # An outside probe ran the service as a user that could not run its interpreter again
    # (a virtualenv linked into /root): every poll failed as an internal error,
    # "BrokenPipeError(32, 'Broken pipe')". The poll fails as workers_unavailable, saying
    # what to check: this machine's failure, not the feed's (no back-off; probe89 filled
    # /dev/shm and every source was backed off as worker_died). (A subprocess: the
    # interpreter the workers start with is process-wide.)
    not_runnable = tmp_path / "python"
    not_runnable.write_text("not a program\n", encoding="utf-8")  # no execute bit
    script = (
        "import asyncio, multiprocessing, sys\n"
        "from monitor.analysis import Analyser, WorkersCannotStart\n"
        f"multiprocessing.set_executable({str(not_runnable)!r})\n"
        "a = Analyser((), excerpt_chars=100, workers=1)\n"
        "try:\n"
        "    asyncio.run(a.analyse(b'<rss/>', 'http://127.0.0.1/feed.xml', None))\n"
        "except WorkersCannotStart as error:\n"
        "    print(error.reason, error, flush=True)\n"
        "finally:\n"
        "    a.close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(
        "workers_unavailable http://127.0.0.1/feed.xml: the parsing workers"
    )
    from monitor.db.status import OURS_REASONS

    assert "workers_unavailable" in OURS_REASONS  # not the feed's failure: no back-off
    assert f"started with {not_runnable}" in done.stdout
