"""The due queue: a claimer leases due sources from the database as long as workers have room
and sleeps until the next planned poll; workers poll them, bounded overall and per host; the
new state of sources whose poll stored nothing is written in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from monitor import metrics
from monitor.analysis import Analyser
from monitor.db.problems import is_conflict, is_outage
from monitor.db.sources import PollRecord, SourceRow
from monitor.logs import log_fields
from monitor.pipeline import Fetches, PollAbandoned, PollOutcome, poll_source, source_log_fields
from monitor.plural import plural
from monitor.redact import redact_url
from monitor.runtime import Runtime
from monitor.wait import wait_first

__all__ = ["PollWriter", "Poller"]

log = logging.getLogger(__name__)

# Poll outcomes that store nothing are written together: every FLUSH_SECONDS or FLUSH_SIZE
# records, whichever comes first. A crash loses at most those poll times (the sources are
# polled again when their lease expires), never an article or an alert.
FLUSH_SECONDS = 0.1
FLUSH_SIZE = 200
# Sources claimed ahead of the fetch workers (at least; 4 per worker otherwise). Each waits in
# the queue far less than its lease (`poll.lease`).
QUEUE_MIN = 64
# At a stop, the polls in hand finish, but a feed still being fetched this long after the
# stop is abandoned (a publisher that drips its bytes or never answers held the stop until
# the fetch's deadline, a minute: an outside probe); nothing of it was stored yet.
FETCH_GRACE_SECONDS = 5.0
# The longest wait between two claims while the database fails (it restarts, fails over).
TROUBLE_MAX_SECONDS = 30.0


def _host(source: SourceRow) -> str:
    """The host a source's URL names ("" for one that is not a URL: its fetch says so)."""
    try:
        return urlsplit(source.url).hostname or ""
    except ValueError:
        return ""


def trouble_wait(tries: int) -> float:
    """Seconds to wait after ``tries + 1`` failures in a row of the database: 1 s, 2 s, ...
    up to `TROUBLE_MAX_SECONDS` (claims, and poll times it refused)."""
    return min(TROUBLE_MAX_SECONDS, 2.0**tries)


class PollWriter:
    """Collects `PollRecord`s and writes them in one transaction per batch."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._pending: list[PollRecord] = []
        self._added = asyncio.Event()
        self._full = asyncio.Event()
        self._failures = 0  # writes failed in a row (the database restarts, fails over)

    def add(self, record: PollRecord) -> None:
        self._pending.append(record)
        self._added.set()
        if len(self._pending) >= FLUSH_SIZE:
            self._full.set()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        self._full.clear()
        if batch:
            try:
                await self._runtime.store.record_polls(batch)
                self._failures = 0
            except Exception as error:
                # Written again at the next flush while their sources are surely still
                # leased to this instance (half the lease): a lost write left each source
                # unpolled until its lease expired (5 min by default). Past that they are
                # dropped; the leases expire and the sources are polled again.
                self._failures += 1
                oldest = self._runtime.clock() - self._runtime.settings.poll.lease / 2
                kept = [poll for poll in batch if poll.polled_at >= oldest]
                self._pending = kept + self._pending
                outage = is_outage(error)  # the database away: one line, not a traceback
                log.warning(
                    "could not record %d polls%s; %s",
                    len(batch),
                    f" ({self._runtime.store.outage_text(error)})" if outage else "",
                    "trying again" if kept else "they will be polled again",
                    exc_info=not outage,
                    extra=log_fields(source_ids=[poll.source_id for poll in batch]),
                )

    async def run(self, stopping: asyncio.Event) -> None:
        """Flush batches until ``stopping``, then once more."""
        while not stopping.is_set():
            self._added.clear()
            if not self._pending:
                await wait_first(self._added.wait(), stopping.wait())
                continue
            if self._failures:  # the database failed: wait, however full the batch
                await wait_first(stopping.wait(), within=trouble_wait(self._failures - 1))
            else:
                # A batch is written when full, after FLUSH_SECONDS, or at once when
                # polling ends.
                await wait_first(self._full.wait(), stopping.wait(), within=FLUSH_SECONDS)
            await self.flush()
        await self.flush()


class HostNotices:
    """One warning per host and ``every`` for a kind of event that may hit each of a host's
    sources in turn (leases that ran out while they waited for the host's places): with 200
    hanging feeds on one publisher, a line per source made about 36 lines a minute (an
    outside probe). `note` says when to warn, with how many of the host's sources it
    stands for; the others are logged at debug."""

    def __init__(self, every: timedelta = timedelta(minutes=1)) -> None:
        self.every = every
        self._last: dict[str, datetime] = {}
        self._since: dict[str, int] = defaultdict(int)

    def note(self, host: str, now: datetime) -> int | None:
        """The number of the host's events this warning stands for (itself and those since
        the last), or None when one was logged within ``every``."""
        self._since[host] += 1
        last = self._last.get(host)
        if last is not None and now - last < self.every:
            return None
        self._last[host] = now
        return self._since.pop(host)


class Poller:
    """Polls due sources continuously with ``poll.concurrency`` workers."""

    def __init__(
        self,
        runtime: Runtime,
        client: httpx.AsyncClient,
        analyser: Analyser,
        *,
        owner: str,
        stopping: asyncio.Event,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.analyser = analyser
        self.owner = owner
        self.stopping = stopping
        self.on_queued = on_queued
        self.writer = PollWriter(runtime)
        self.fetches = Fetches()
        # Claimed sources, each with the end of its lease.
        self._queue: asyncio.Queue[tuple[SourceRow, datetime]] = asyncio.Queue()
        self._room = asyncio.Event()
        # Polls in progress per host, and the claimed sources that wait for one of their
        # host's `poll.per_host` places (taken by the workers polling that host, one after
        # another): a worker never waits for a busy host, so a publisher that answers
        # slowly, with hundreds of feeds, holds its own places and no other feed's.
        self._polling: dict[str, int] = defaultdict(int)
        self._parked: dict[str, deque[tuple[SourceRow, datetime]]] = defaultdict(deque)
        self._done = asyncio.Event()
        self._woken = asyncio.Event()
        self._busy = 0
        self._trouble = 0  # claims failed in a row (the database away)
        self.outcomes: list[PollOutcome] = []
        self.keep_outcomes = False
        self._expired = HostNotices()
        # Sources let go because their lease ran out while they waited (`monitor once` says so).
        self.expired_ids: set[int] = set()

    async def poll_one(self, source: SourceRow) -> PollOutcome:
        outcome = await poll_source(
            self.runtime, self.client, self.analyser, source, self.writer.add, self.fetches
        )
        metrics.polls.labels(outcome.status).inc()
        metrics.articles_stored.inc(outcome.new_articles)
        metrics.alerts_queued.inc(outcome.deliveries)
        if outcome.deliveries:
            self.on_queued()
        if self.keep_outcomes:
            self.outcomes.append(outcome)
        return outcome

    def _lease_ran_out(self, lease_end: datetime) -> bool:
        """Whether too little of a claim's lease is left to start its poll: the process was
        paused (SIGSTOP, a VM frozen) or starved while the source waited in the queue, and
        another instance may hold it now. The margin is a fetch's deadline, at most half the
        lease."""
        lease = self.runtime.settings.poll.lease
        margin = min(timedelta(seconds=self.runtime.http.total_timeout), lease / 2)
        return self.runtime.clock() + margin >= lease_end

    async def _worker(self) -> None:
        per_host = self.runtime.settings.poll.per_host
        while True:
            claimed = await self._queue.get()
            self._room.set()
            host = _host(claimed[0])
            if self._polling[host] >= per_host:
                self._parked[host].append(claimed)  # polled by a worker of its host, later
                continue
            self._polling[host] += 1
            item: tuple[SourceRow, datetime] | None = claimed
            try:
                while item is not None:
                    await self._handle(*item)
                    parked = self._parked[host]
                    item = parked.popleft() if parked else None
            finally:
                self._polling[host] -= 1
                if not self._polling[host] and not self._parked[host]:
                    del self._polling[host], self._parked[host]

    async def _handle(self, source: SourceRow, lease_end: datetime) -> None:
        """Poll one claimed source (or let it go: stopping, its lease ran out while it
        waited), and mark its queue item done."""
        self._busy += 1
        try:
            if self.stopping.is_set():
                await self.runtime.store.release_sources([source.id], self.owner)
            elif self._lease_ran_out(lease_end):
                # Not given back: a claim since (this instance's or another's) may hold it
                # now, and a give-back would clear that lease.
                self.expired_ids.add(source.id)
                count = self._expired.note(_host(source), self.runtime.clock())
                others = (
                    f" ({plural(count - 1, 'other source')} of this host since the last such "
                    "line, each logged at debug)"
                    if count is not None and count > 1
                    else ""
                )
                log.log(
                    logging.WARNING if count is not None else logging.DEBUG,
                    "not polling %s: its lease ran out while it waited for a worker or for "
                    "a place of its host (poll.per_host: that publisher answers slowly; or "
                    "was this process paused?); it is due again, for any instance%s",
                    redact_url(source.url),
                    others,
                    extra=source_log_fields(source, status="skipped", reason="lease_expired"),
                )
                self.wake()  # claim it again now, if no instance has
            else:
                await self.poll_one(source)
        except PollAbandoned:  # a stop: nothing was kept; due again at once
            with contextlib.suppress(Exception):
                await self.runtime.store.release_sources([source.id], self.owner)
        except Exception as error:
            self._failed(source, lease_end, error)
            if is_outage(error):
                # The connection or the database failed (a restart, a failover): due again
                # at once, not after its whole lease. Any other error waits out the lease,
                # so a feed that always fails is not polled in a loop.
                with contextlib.suppress(Exception):
                    await self.runtime.store.release_sources([source.id], self.owner)
        finally:
            self._busy -= 1
            self._queue.task_done()

    def _failed(self, source: SourceRow, lease_end: datetime, error: Exception) -> None:
        """Log a poll that raised (the fetch and the feed's own failures are outcomes)."""
        if is_conflict(error) and self._lease_ran_out(lease_end):
            # Its lease ran out during the poll (a partition, a pause): another instance
            # polled it and stored the same entries first. Rolled back: nothing is lost or
            # stored twice.
            log.warning(
                "polled %s after its lease ran out; another instance had stored its entries "
                "meanwhile, so this poll stored nothing",
                redact_url(source.url),
                extra=source_log_fields(source, status="skipped", reason="lease_expired"),
            )
            return
        outage = is_outage(error)  # the database away: one line, not a traceback
        log.log(
            logging.WARNING if outage else logging.ERROR,
            "polling %s failed%s; it will be polled again",
            redact_url(source.url),
            f": the database failed ({self.runtime.store.outage_text(error)})" if outage else "",
            exc_info=not outage,
            extra=source_log_fields(
                source, status="error", reason="database" if outage else "internal_error"
            ),
        )

    async def _claim(
        self, limit: int, not_polled_since: datetime | None
    ) -> list[tuple[SourceRow, datetime]]:
        """Due sources claimed for this instance, each with the end of its lease."""
        poll = self.runtime.settings.poll
        now = self.runtime.clock()
        claimed = await self.runtime.store.claim_sources(
            owner=self.owner,
            now=now,
            lease=poll.lease,
            limit=limit,
            not_polled_since=not_polled_since,
        )
        return [(source, now + poll.lease) for source in claimed]

    @property
    def claims_failing(self) -> bool:
        """Whether the last claim of due sources failed (the database refuses writes: full,
        locked, read-only, away): readiness says so."""
        return self._trouble > 0

    def wake(self) -> None:
        """Look for due sources now (a config reload added or changed some)."""
        self._woken.set()

    async def _sleep_until_due(self) -> None:
        """Sleep until the next planned poll, a stop, or ``poll.tick`` (another instance or
        a config change may have added due sources this one was not told about)."""
        self._woken.clear()  # before reading: a wake after this read is not lost
        next_at = await self.runtime.store.next_poll_at()
        delay = self.runtime.settings.poll.tick.total_seconds()
        if next_at is not None:
            delay = min(delay, max(0.01, (next_at - self.runtime.clock()).total_seconds()))
        await wait_first(self.stopping.wait(), self._woken.wait(), within=delay)

    async def run(self, *, once_since: datetime | None = None) -> None:
        """Poll until ``stopping`` (or, with ``once_since``, until every source not polled
        since then was polled once), then let the polls in hand finish."""
        concurrency = self.runtime.settings.poll.concurrency
        writer = asyncio.create_task(self.writer.run(self._done))
        workers = [asyncio.create_task(self._worker()) for _ in range(concurrency)]
        abandoner = asyncio.create_task(self._abandon_slow_fetches())
        try:
            while not self.stopping.is_set():
                # Claim in batches: refill when the queue is down to half, so one claim (a
                # write transaction) serves many polls rather than one.
                target = max(4 * concurrency, QUEUE_MIN)
                room = target - self._queue.qsize()
                if room < target // 2:
                    self._room.clear()
                    await wait_first(self._room.wait(), self.stopping.wait())
                    continue
                try:
                    claimed = await self._claim(room, once_since)
                except Exception as error:
                    if once_since is not None:
                        raise  # `monitor once` reports it and exits
                    await self._database_trouble(error)
                    continue
                if self._trouble:
                    log.info("claiming due sources works again after %d failures", self._trouble)
                self._trouble = 0
                for item in claimed:
                    self._queue.put_nowait(item)
                metrics.last_tick.set_to_current_time()
                if claimed:
                    continue
                if once_since is not None:
                    # Polled sources stay leased until their batch is written, then count as
                    # polled: when nothing is claimable after the queue drained, all are done.
                    if self._queue.empty() and self._idle_workers() == concurrency:
                        break
                    await wait_first(self._queue.join(), self.stopping.wait())
                    continue
                try:
                    await self._sleep_until_due()
                except Exception as error:
                    await self._database_trouble(error)
            await self._queue.join()
        finally:
            abandoner.cancel()
            for task in workers:
                task.cancel()
            await asyncio.gather(abandoner, *workers, return_exceptions=True)
            self._done.set()
            await writer
            # Sources claimed but not started (stopping): give them back.
            left = [source.id for parked in self._parked.values() for source, _ in parked]
            self._parked.clear()
            while not self._queue.empty():
                left.append(self._queue.get_nowait()[0].id)
            if left:
                await self.runtime.store.release_sources(left, self.owner)

    async def _abandon_slow_fetches(self) -> None:
        """At a stop, abandon the fetches still in progress `FETCH_GRACE_SECONDS` later."""
        await self.stopping.wait()
        await asyncio.sleep(FETCH_GRACE_SECONDS)
        if count := self.fetches.abandon():
            log.warning(
                "stopping: %s still being fetched %g s after the stop %s abandoned; nothing of "
                "%s was stored, and each is polled again (the next run, or another instance)",
                plural(count, "feed"),
                FETCH_GRACE_SECONDS,
                "was" if count == 1 else "were",
                "it" if count == 1 else "them",
            )

    async def _database_trouble(self, error: Exception) -> None:
        """Claiming failed (the database restarted, a connection was cut, a failover): wait
        and try again, 1 s, 2 s, ... up to `TROUBLE_MAX_SECONDS`, until stopped. The sources
        claimed before stay queued; nothing is lost, polls are only late."""
        wait = trouble_wait(self._trouble)
        self._trouble += 1
        log.warning(
            "could not claim due sources (%s: %s); trying again in %g s",
            type(error).__name__,
            self.runtime.store.outage_text(error),
            wait,
            exc_info=self._trouble == 1 and not is_outage(error),  # a bug's traceback, once
        )
        await wait_first(self.stopping.wait(), within=wait)

    def _idle_workers(self) -> int:
        return self.runtime.settings.poll.concurrency - self._busy
