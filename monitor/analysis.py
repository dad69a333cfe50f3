"""Parse and match fetched feed bodies in worker processes, so both cores work and the event
loop only does I/O. Each worker compiles the watchlists once, when it starts."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from monitor.errors import MonitorError
from monitor.logs import LogSetup, configure_worker_logging, current_log_setup
from monitor.match import Watchlist, WatchlistMatch
from monitor.parse import ParsedFeed, parse_feed
from monitor.redact import redact_url
from monitor.stories import Signature, band_keys, feed_signatures, with_entities

if TYPE_CHECKING:  # the matcher is compiled where matching happens: not in the service
    import asyncio

    from monitor.match.matcher import Matcher

__all__ = [
    "ANALYSIS_DEADLINE",
    "AnalysedFeed",
    "Analyser",
    "AnalysisTimeout",
    "WorkerDied",
    "WorkersCannotStart",
    "analyse",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysedFeed:
    """A parsed feed and, for each of its entries (same order), the watchlists that fire
    and its story signature (docs/stories.md), made here so the event loop never does."""

    feed: ParsedFeed
    matches: tuple[tuple[WatchlistMatch, ...], ...]
    stories: tuple[Signature, ...] = ()
    # Entries (indices) only the start of which was matched (`MatchResult.text_cut`).
    cut: tuple[int, ...] = ()


class WorkerDied(MonitorError):
    """A parsing worker process died (killed, or out of memory) while reading a feed."""

    reason = "worker_died"


class WorkersCannotStart(MonitorError):
    """No parsing worker could start (the interpreter cannot be run, /dev/shm is full): this
    machine's failure, not the feed's (`pipeline.failure` counts it as ours: no back-off)."""

    reason = "workers_unavailable"


def _worker_executable() -> str:
    """The interpreter each parsing worker is started with."""
    from multiprocessing import spawn

    return os.fsdecode(spawn.get_executable())


def cannot_start(error: OSError) -> str:
    """Why no parsing worker could start, and what to check."""
    return (
        f"the parsing workers could not start ({type(error).__name__}: {error}); each is "
        f"started with {_worker_executable()}, which the service's user "
        "must be able to run, and needs a writable /dev/shm (or set poll.workers: 0 to parse "
        "in the service's own process)"
    )


class AnalysisTimeout(MonitorError):
    """Parsing and matching one feed took longer than `ANALYSIS_DEADLINE`."""

    reason = "parse_timeout"


# Seconds one feed may take to parse and match in a worker (a 10 MB feed takes a few): past
# it the workers are killed and replaced, so a parser that never returns cannot hold a poll.
ANALYSIS_DEADLINE = 120.0
# A feed's own deadline grows with its size, up to ANALYSIS_DEADLINE: a normal 7.5 MB feed
# takes under a second, so a 100 KB feed that needs more than 11 s is hostile or broken, and
# holds a worker (and its host's poll slots) 11 s, not 120.
DEADLINE_BASE = 10.0
DEADLINE_PER_MB = 10.0


def analyse(matcher: Matcher, body: bytes, url: str, content_type: str | None) -> AnalysedFeed:
    """Parse ``body``, match every entry and make its story signature (pure). Raises
    ParseError."""
    feed = parse_feed(body, url, content_type)
    results = [
        matcher.match({"title": e.title, "summary": e.summary, "content": e.content})
        for e in feed.entries
    ]
    matches = tuple(result.alerts for result in results)
    cut = tuple(index for index, result in enumerate(results) if result.text_cut)
    signatures = feed_signatures([(e.title, e.summary, e.content) for e in feed.entries])
    stories = tuple(
        replace(
            with_entities(
                sig,
                entry.title,
                ((m.field, f"{m.watchlist}/{m.entity}") for a in alerts for m in a.mentions),
            ),
            bands=tuple(band_keys(sig)),
        )
        for sig, entry, alerts in zip(signatures, feed.entries, matches, strict=True)
    )
    return AnalysedFeed(feed, matches, stories, cut)


_worker_matcher: Matcher | None = None


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to start, handed over in a file rather than in the arguments
    of the process: those are written to the new process's pipe while it starts (the
    compiled watchlists' 240 KB fill the pipe), and the event loop waited until the child
    had read them all, 0.4-0.8 s a worker, or for ever when a child never read them."""

    watchlists: tuple[Watchlist, ...]
    excerpt_chars: int
    log_setup: LogSetup | None


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when the service dies, even by SIGKILL: an orphaned
    worker would otherwise wait forever to hand back a result nobody reads."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the service died before the line above took effect
        os._exit(1)


def _start_worker(parent: int, setup: str) -> None:
    """Start a worker: its watchlists come from the file ``setup`` (`WorkerSetup`)."""
    global _worker_matcher
    _die_with(parent)
    with open(setup, "rb") as source:
        read: WorkerSetup = pickle.load(source)
    # A spawned worker logs (and shows warnings) as the service does: JSON lines stay JSON.
    configure_worker_logging(read.log_setup)
    # The service handles SIGINT/SIGTERM/SIGHUP and stops the pool itself; a Ctrl-C (or a
    # terminal's hangup) sent to the whole process group must not kill a worker in the
    # middle of a feed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from monitor.match.matcher import Matcher

    _worker_matcher = Matcher(read.watchlists, excerpt_chars=read.excerpt_chars)


def _analyse_in_worker(body: bytes, url: str, content_type: str | None, folder: str) -> str:
    """Analyse, write the result to a file in ``folder``, return the file's path.

    Why a file: a result sent back through the pool's pipe arrives in several writes when it
    is large, and a worker killed between them (the OOM killer, an operator) leaves half a
    message that the pool's result thread waits on forever: the whole service would hang.
    A path is one short write, which the kernel never splits.
    """
    assert _worker_matcher is not None, "worker started without its watchlists"
    result = analyse(_worker_matcher, body, url, content_type)
    handle, path = tempfile.mkstemp(dir=folder, suffix=".pickle")
    with os.fdopen(handle, "wb") as out:
        pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _take_result(path: str) -> AnalysedFeed:
    try:
        with open(path, "rb") as source:
            result: AnalysedFeed = pickle.load(source)
    finally:
        os.unlink(path)
    return result


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


FOLDER_PREFIX = "monitor-analysis-"
"""Results folders are named ``monitor-analysis-<pid>-<random>``: the pid of the process
that made them, so that a later one can tell a killed process's folder from a live one's."""


def remove_stale_folders(base: str) -> None:
    """Delete the results folders in ``base`` that this user's processes left when they were
    killed (SIGKILL, the OOM killer): each holds at most a few results nobody will read, in
    memory when ``base`` is /dev/shm. A folder whose process still runs is kept."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(FOLDER_PREFIX):
            continue
        pid_text = name[len(FOLDER_PREFIX) :].split("-", 1)[0]
        path = os.path.join(base, name)
        try:
            if not pid_text.isdigit() or os.stat(path).st_uid != os.getuid():
                continue
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:  # gone already, or a process of another user: not ours to judge
            continue


def results_base() -> str:
    """Where the workers' results folders go: /dev/shm (memory) where it can be written."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()


_QUIET_RESOURCE_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


# Seconds `Analyser.close` gives the workers to finish the feed in hand before it kills
# them: at a stop no poll waits for their results any more, and a worker that hangs (in a
# parser, or while it starts) must not hold the service's exit.
CLOSE_SECONDS = 2.0


@dataclass(eq=False)
class _Pool:
    """A process pool and what must outlive its `shutdown`, which forgets its processes:
    the map of its worker processes (the pool's own, which it fills as it starts them), and
    the `WorkerSetup` file they start from."""

    executor: ProcessPoolExecutor
    processes: Mapping[int, BaseProcess]
    setup: str

    def kill(self) -> None:
        """Kill the workers that still run."""
        for process in list(self.processes.values()):
            with contextlib.suppress(OSError, ValueError):  # gone, or closed already
                process.kill()


class Analyser:
    """Runs `analyse` in ``workers`` processes (0: in this process, on the calling thread).

    A worker that dies takes its pool with it (that is how `ProcessPoolExecutor` works): the
    pool is replaced and the feeds that were in it are tried once more; a feed that kills a
    worker twice raises `WorkerDied` and nothing of it is stored.
    """

    def __init__(
        self, watchlists: Sequence[Watchlist], *, excerpt_chars: int, workers: int
    ) -> None:
        # Built on first use in this process (``workers`` 0): workers build their own.
        self._matcher: Matcher | None = None
        self._watchlists = tuple(watchlists)
        self._excerpt_chars = excerpt_chars
        self.workers = workers
        self.deadline = ANALYSIS_DEADLINE
        self._pool: _Pool | None = None
        # Pools of earlier watchlists (`reload`) finishing the feeds they had in hand.
        self._retired: list[_Pool] = []
        self._folder: str | None = None
        # A feed is handed to the pool only when a worker is free (one slot per worker, per
        # event loop): none waits in the pool's own queue, where its deadline would run out
        # behind a slow feed and replacing the pool would cancel it.
        self._slots: tuple[object, asyncio.Semaphore] | None = None
        if workers:
            # What killed processes left, at every start: a run that parses nothing (every
            # feed answering 304) never makes a folder of its own.
            remove_stale_folders(results_base())

    def _results_folder(self) -> str:
        if self._folder is None:
            # A private folder (0700) for the workers' results; in memory where there is one.
            self._folder = tempfile.mkdtemp(
                prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=results_base()
            )
        return self._folder

    def _new_pool(self) -> _Pool:
        # A process killed outright (SIGKILL, the OOM killer) leaves its workers' semaphores
        # to multiprocessing's resource tracker, a process of its own started with this
        # interpreter's -W options: it cleans them up, and said so in a warning on the
        # service's standard error (plain text among JSON logs, nothing to act on).
        if _QUIET_RESOURCE_TRACKER not in sys.warnoptions:
            sys.warnoptions.append(_QUIET_RESOURCE_TRACKER)
        handle, setup = tempfile.mkstemp(
            dir=self._results_folder(), prefix="setup-", suffix=".pickle"
        )
        with os.fdopen(handle, "wb") as out:
            ready = WorkerSetup(self._watchlists, self._excerpt_chars, current_log_setup())
            pickle.dump(ready, out, protocol=pickle.HIGHEST_PROTOCOL)
        # spawn: each worker is a fresh interpreter and a direct child of the service (so
        # it can die with it), not a fork of this process with its threads and connections.
        executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), setup),
        )
        return _Pool(executor, executor._processes, setup)

    async def analyse(self, body: bytes, url: str, content_type: str | None) -> AnalysedFeed:
        if self.workers == 0:
            if self._matcher is None:
                from monitor.match.matcher import Matcher

                self._matcher = Matcher(self._watchlists, excerpt_chars=self._excerpt_chars)
            return analyse(self._matcher, body, url, content_type)
        async with self._free_worker():
            return await self._analyse_in_pool(body, url, content_type)

    def _free_worker(self) -> asyncio.Semaphore:
        import asyncio  # here: the workers import this module and need no event loop

        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.workers))
        return self._slots[1]

    def deadline_for(self, body: bytes) -> float:
        """How long parsing and matching ``body`` may take: `DEADLINE_BASE` plus
        `DEADLINE_PER_MB` per MB of it, at most ``self.deadline`` (`ANALYSIS_DEADLINE`)."""
        return min(self.deadline, DEADLINE_BASE + DEADLINE_PER_MB * len(body) / 1e6)

    async def _analyse_in_pool(
        self, body: bytes, url: str, content_type: str | None
    ) -> AnalysedFeed:
        import asyncio

        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                if self._pool is None:
                    self._pool = self._new_pool()
                pool = self._pool
                # It starts a worker when none is free: the process is started here, on the
                # event loop, but only its few-KB arguments are written to it (`WorkerSetup`).
                work = loop.run_in_executor(
                    pool.executor,
                    _analyse_in_worker,
                    body,
                    url,
                    content_type,
                    self._results_folder(),
                )
            except BrokenProcessPool:
                # The pool broke since the last feed (a worker died between two feeds): the
                # feed goes to a new pool; it failed as an internal error (an outside probe).
                self._discard(pool, "a parsing worker died; starting new workers")
                if attempt == 2:
                    break
                continue
            except OSError as error:  # not BrokenProcessPool: no worker could start at all
                if self._pool is not None:
                    self._discard(self._pool, "the parsing workers could not start")
                raise WorkersCannotStart(f"{redact_url(url)}: {cannot_start(error)}") from error
            try:
                deadline = self.deadline_for(body)
                path = await asyncio.wait_for(work, deadline)
            except BrokenProcessPool:
                self._discard(pool, "a parsing worker died; starting new workers")
                if attempt == 2:
                    break
                continue
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # this poll is being stopped
                # The pool was replaced while this feed was in it (another feed ran past
                # its deadline): this one did nothing wrong, it is tried once more.
                if attempt == 2:
                    break
                continue
            except TimeoutError:
                shown = redact_url(url)
                self._discard(pool, f"{shown}: parsing took more than {deadline:g} s")
                raise AnalysisTimeout(
                    f"{shown}: parsing and matching took more than {deadline:g} s "
                    f"({len(body) / 1e6:.1f} MB); the workers were replaced"
                ) from None
            return _take_result(path)
        executable = _worker_executable()
        if not os.access(executable, os.X_OK):
            # The workers broke because none could start (the pool may break before its
            # submit says why): this machine's failure, not the feed's.
            denied = PermissionError(13, "the interpreter cannot be run", executable)
            raise WorkersCannotStart(f"{redact_url(url)}: {cannot_start(denied)}")
        raise WorkerDied(f"{redact_url(url)}: the worker process parsing this feed died, twice")

    def reload(self, watchlists: Sequence[Watchlist], *, excerpt_chars: int, workers: int) -> None:
        """Analyse with new watchlists from the next feed on (a config reload): new workers
        load them; the feeds the current workers have in hand finish on them, with the
        watchlists they started with, and then those workers exit."""
        self._matcher = None
        self._watchlists = tuple(watchlists)
        self._excerpt_chars = excerpt_chars
        self.workers = workers
        self._slots = None  # the next feeds take slots for the new number of workers
        old, self._pool = self._pool, None
        if old is not None:
            self._retired.append(old)
            old.executor.shutdown(wait=False)  # the work in hand finishes; then they exit
            # Once it has, the pool is let go: kept in the list, each reload's pool (and the
            # watchlists it was started with) stayed in memory, 0.15-2 MB a reload (an
            # outside probe, probe68: 200 reloads, +29 MB).
            threading.Thread(
                target=self._release, args=(old,), name="monitor-retired-pool", daemon=True
            ).start()

    def _release(self, pool: _Pool) -> None:
        """Wait (on a thread of its own) for a retired ``pool``'s workers to finish the work
        they had in hand and exit, then forget the pool."""
        for process in list(pool.processes.values()):
            with contextlib.suppress(ValueError):  # closed by `close` meanwhile
                process.join()
        with contextlib.suppress(ValueError):  # `close` or `_discard` forgot it first
            self._retired.remove(pool)
        with contextlib.suppress(OSError):
            os.unlink(pool.setup)

    def _discard(self, pool: _Pool, why: str) -> None:
        """Replace ``pool`` (once, whichever feed finds it broken first): kill its workers,
        so none is left running a feed nobody waits for."""
        if self._pool is pool:
            self._pool = None
        elif pool in self._retired:
            with contextlib.suppress(ValueError):  # released by its thread meanwhile
                self._retired.remove(pool)
        else:
            return
        log.warning("%s", why)
        pool.kill()
        pool.executor.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(OSError):
            os.unlink(pool.setup)

    def worker_pids(self) -> list[int]:
        """The process ids of the current workers (for tests and logs)."""
        return list(self._pool.processes) if self._pool is not None else []

    def close(self) -> None:
        """Stop the workers: the ones in the middle of a feed get `CLOSE_SECONDS` to finish
        it, then are killed."""
        pools = [pool for pool in (self._pool, *self._retired) if pool is not None]
        self._pool = None
        self._retired.clear()
        for pool in pools:
            pool.executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + CLOSE_SECONDS
        for pool in pools:
            for process in list(pool.processes.values()):
                with contextlib.suppress(ValueError):
                    process.join(max(0.0, deadline - time.monotonic()))
            pool.kill()
            for process in list(pool.processes.values()):
                with contextlib.suppress(ValueError):
                    process.join(CLOSE_SECONDS)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
