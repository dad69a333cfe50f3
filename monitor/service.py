"""The long-running service: APScheduler ticks claim due sources and deliveries from the
database (the real schedule lives there), SIGTERM/SIGINT stop it cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Connection

from monitor import metrics
from monitor.db import articles as article_queries
from monitor.db import sources as source_queries
from monitor.db.engine import instance_lock, is_sqlite
from monitor.delivery import DeliveryOutcome, deliver_due
from monitor.fetch import make_client
from monitor.health import serve_health
from monitor.pipeline import PollOutcome, poll_source
from monitor.runtime import Runtime, source_specs

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 90.0
PRUNE_EVERY = timedelta(hours=6)


def instance_name() -> str:
    """A lease owner that is unique per process and readable in the database."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Service:
    """Polls sources and delivers alerts; one instance per process."""

    runtime: Runtime
    owner: str = field(default_factory=instance_name)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _busy: set[asyncio.Task[object]] = field(default_factory=set)
    _feed_client: httpx.AsyncClient | None = None
    _sink_client: httpx.AsyncClient | None = None

    def sync_sources(self) -> None:
        """Make the sources table follow the config. On SQLite, where the instance lock proves
        no other instance runs, also forget leases left by a process that was killed."""
        specs = source_specs(self.runtime.loaded)
        now = self.runtime.clock()
        db = self.runtime.db

        def sync(conn: Connection) -> None:
            source_queries.sync_sources(conn, specs, now)
            if is_sqlite(db.engine):
                source_queries.clear_leases(conn)

        db.run_sync(sync)

    async def __aenter__(self) -> Service:
        self._feed_client = make_client(self.runtime.http, follow_redirects=True)
        self._sink_client = make_client(self.runtime.http, follow_redirects=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in (self._feed_client, self._sink_client):
            if client is not None:
                await client.aclose()

    async def poll_due(self, *, ignore_schedule: bool = False) -> list[PollOutcome]:
        """Claim the sources due now and poll them, bounded overall and per host."""
        assert self._feed_client is not None, "use `async with Service(...)`"
        poll = self.runtime.settings.poll
        now = self.runtime.clock()
        claimed = await self.runtime.db.run(
            lambda c: source_queries.claim_due(
                c,
                owner=self.owner,
                now=now,
                lease=poll.lease,
                limit=10_000 if ignore_schedule else poll.concurrency * 4,
                ignore_schedule=ignore_schedule,
            )
        )
        overall = asyncio.Semaphore(poll.concurrency)
        per_host: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(poll.per_host)
        )
        client = self._feed_client

        async def one(source: source_queries.SourceRow) -> PollOutcome | None:
            host = urlsplit(source.url).hostname or ""
            async with overall, per_host[host]:
                if self.stopping.is_set():
                    # Stop claiming work: give the lease back untouched.
                    await self.runtime.db.run(
                        lambda c: source_queries.release(c, source.id, self.owner)
                    )
                    return None
                return await poll_source(self.runtime, client, source)

        results = [r for r in await asyncio.gather(*(one(s) for s in claimed)) if r is not None]
        metrics.last_tick.set_to_current_time()
        for result in results:
            metrics.polls.labels(result.status).inc()
            metrics.articles_stored.inc(result.new_articles)
            metrics.alerts_queued.inc(result.deliveries)
        return results

    async def deliver(self) -> list[DeliveryOutcome]:
        assert self._sink_client is not None, "use `async with Service(...)`"
        outcomes = await deliver_due(
            self.runtime, self._sink_client, owner=self.owner, stopping=self.stopping
        )
        for outcome in outcomes:
            metrics.deliveries.labels(outcome.status).inc()
        return outcomes

    async def ready(self) -> bool:
        """Readiness: the database answers."""
        try:
            await self.runtime.db.run(lambda c: c.exec_driver_sql("SELECT 1").scalar())
        except Exception:
            log.exception("readiness check failed")
            return False
        return True

    async def prune(self) -> int:
        retention = self.runtime.settings.retention
        if retention is None:
            return 0
        cutoff = self.runtime.clock() - retention
        deleted = await self.runtime.db.run(lambda c: article_queries.delete_older_than(c, cutoff))
        if deleted:
            log.info("retention: deleted %d articles fetched before %s", deleted, cutoff)
        return deleted

    def _job(self, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self.stopping.is_set():
                return
            task = asyncio.current_task()
            assert task is not None
            self._busy.add(task)
            try:
                await work()
            except Exception:
                # A tick must never kill the service; the schedule in the database is intact.
                log.exception("scheduled work failed; it will run again on the next tick")
            finally:
                self._busy.discard(task)

        return run

    async def run_forever(self, *, ready: Callable[[], None] | None = None) -> None:
        """Run until SIGTERM/SIGINT (or ``stopping`` is set), then stop cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._request_stop, sig)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        settings = self.runtime.settings
        scheduler = AsyncIOScheduler(event_loop=loop)
        now = self.runtime.clock()
        jobs: list[tuple[str, Callable[[], Awaitable[object]], timedelta, timedelta]] = [
            ("poll", self.poll_due, settings.poll.tick, timedelta(0)),
            ("deliver", self.deliver, settings.delivery.tick, timedelta(0)),
            ("prune", self.prune, PRUNE_EVERY, timedelta(minutes=1)),
        ]
        for name, work, every, first_in in jobs:
            # APScheduler is only a timer here: coalescing or skipping a tick loses nothing.
            scheduler.add_job(
                self._job(work),
                "interval",
                seconds=every.total_seconds(),
                next_run_time=now + first_in,
                id=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        log.info("monitor running as %s", self.owner)
        if ready is not None:
            ready()
        try:
            await self.stopping.wait()
        finally:
            # Pause first and drain, then shut down: APScheduler's shutdown cancels the
            # coroutine jobs still running, and we want the feed in hand to finish.
            scheduler.pause()
            await self._drain()
            scheduler.shutdown(wait=False)
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.remove_signal_handler(sig)
                except (NotImplementedError, RuntimeError):
                    pass
        log.info("monitor stopped")

    def _request_stop(self, sig: signal.Signals) -> None:
        log.info("received %s: finishing the work in hand, then stopping", sig.name)
        self.stopping.set()

    async def _drain(self) -> None:
        """Let the feed and deliveries in hand finish; cancel them after a grace period (their
        transactions roll back, their leases expire, nothing is half-written)."""
        busy = set(self._busy)
        if not busy:
            return
        done, pending = await asyncio.wait(busy, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


async def run_service(runtime: Runtime, *, ready: Callable[[], None] | None = None) -> None:
    """``monitor run``: lock (SQLite), sync sources, run until stopped."""
    with instance_lock(runtime.db.engine):
        service = Service(runtime)
        service.sync_sources()
        async with service:
            http = runtime.settings.http
            if http is None:
                await service.run_forever(ready=ready)
            else:
                async with serve_health(http.host, http.port, service.ready):
                    await service.run_forever(ready=ready)


async def run_once(runtime: Runtime) -> tuple[list[PollOutcome], list[DeliveryOutcome]]:
    """``monitor once``: poll every enabled source now, then one delivery pass."""
    with instance_lock(runtime.db.engine):
        service = Service(runtime)
        service.sync_sources()
        async with service:
            polls = await service.poll_due(ignore_schedule=True)
            sent = await service.deliver()
    return polls, sent
