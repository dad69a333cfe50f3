"""The storage face: every read and write the rest of the monitor needs, each method one
transaction, taking and returning typed records. Nothing outside ``monitor.db`` writes SQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection

from monitor.db import articles as article_queries
from monitor.db import deliveries as delivery_queries
from monitor.db import sources as source_queries
from monitor.db.articles import ArticleRecord, StoredArticle, StoredCounts
from monitor.db.deliveries import DeliveryRow, DueDelivery
from monitor.db.engine import Database, instance_lock, is_sqlite
from monitor.db.sources import PollRecord, SourceRow, SourceSpec
from monitor.match import WatchlistMatch

__all__ = ["DELIVERY_CHANNEL", "Store"]

T = TypeVar("T")

# PostgreSQL NOTIFY channel: "deliveries were queued", so every instance's outbox wakes up.
DELIVERY_CHANNEL = "monitor_deliveries"


class Store:
    """The database of one monitor process. Sync methods block; ``a``-prefixed ones run the
    same transaction in a worker thread so the event loop never waits on the database."""

    def __init__(self, url: str) -> None:
        self.database = Database(url)

    @property
    def url(self) -> str:
        return self.database.url

    @property
    def is_postgresql(self) -> bool:
        return self.database.engine.dialect.name == "postgresql"

    def prepare(self, *, allow_create: bool = True, writable: bool = True) -> None:
        self.database.prepare(allow_create=allow_create, writable=writable)

    def close(self) -> None:
        self.database.close()

    @contextmanager
    def instance_lock(self) -> Iterator[None]:
        """Refuse a second instance on the same SQLite file (PostgreSQL needs none)."""
        with instance_lock(self.database.engine):
            yield

    async def _run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self.database.run_sync, work)

    def ping(self) -> None:
        self.database.run_sync(lambda c: c.exec_driver_sql("SELECT 1").scalar())

    async def aping(self) -> None:
        await asyncio.to_thread(self.ping)

    # --- sources -------------------------------------------------------------------------

    def sync_sources(self, specs: Sequence[SourceSpec], now: datetime) -> None:
        """Make the sources table follow the config (added, changed, disabled)."""
        self.database.run_sync(lambda c: source_queries.sync_sources(c, specs, now))

    def start_instance(self, specs: Sequence[SourceSpec], now: datetime) -> None:
        """At start-up: sync the sources, and on SQLite, where the instance lock proves no
        other instance runs, forget leases left by a process that was killed."""
        sqlite = is_sqlite(self.database.engine)

        def work(conn: Connection) -> None:
            source_queries.sync_sources(conn, specs, now)
            if sqlite:
                source_queries.clear_leases(conn)

        self.database.run_sync(work)

    def list_sources(self) -> list[SourceRow]:
        return self.database.run_sync(source_queries.list_sources)

    async def alist_sources(self) -> list[SourceRow]:
        return await self._run(source_queries.list_sources)

    async def claim_sources(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        not_polled_since: datetime | None = None,
    ) -> list[SourceRow]:
        """Lease up to ``limit`` due sources, the most overdue first."""
        return await self._run(
            lambda c: source_queries.claim_due(
                c,
                owner=owner,
                now=now,
                lease=lease,
                limit=limit,
                not_polled_since=not_polled_since,
            )
        )

    async def next_poll_at(self) -> datetime | None:
        """The earliest planned poll of any enabled source."""
        return await self._run(source_queries.next_due_at)

    async def release_sources(self, source_ids: Sequence[int], owner: str) -> None:
        await self._run(lambda c: source_queries.release(c, source_ids, owner))

    async def record_polls(self, polls: Sequence[PollRecord]) -> None:
        """The outcomes of many polls that stored nothing, in one transaction."""
        if polls:
            await self._run(lambda c: source_queries.record_polls(c, polls))

    async def store_feed(
        self, source_id: int, records: Sequence[ArticleRecord], poll: PollRecord, now: datetime
    ) -> StoredCounts:
        """The new articles of one poll, their matches, their pending deliveries and the
        source's new state, all in one transaction. Entries already stored (by a poll that
        raced this one) are skipped. Wakes every instance's outbox when deliveries were
        queued (PostgreSQL NOTIFY, sent on commit)."""
        postgresql = self.is_postgresql

        def work(conn: Connection) -> StoredCounts:
            stored = article_queries.existing_keys(conn, source_id, (r.entry_key for r in records))
            fresh = [r for r in records if r.entry_key not in stored]
            counts = article_queries.store_articles(conn, source_id, fresh, now)
            source_queries.record_polls(conn, [replace(poll, articles_stored=counts.articles)])
            if counts.deliveries and postgresql:
                _notify(conn)
            return counts

        return await self._run(work)

    async def known_keys(self, source_id: int, keys: Collection[str]) -> set[str]:
        """The entry keys among ``keys`` already stored for this source."""
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: article_queries.existing_keys(c, source_id, keys),
        )

    # --- articles ------------------------------------------------------------------------

    def articles_since(self, since: datetime | None) -> list[StoredArticle]:
        return self.database.read_sync(lambda c: article_queries.articles_since(c, since))

    def queue_alerts(
        self, items: Sequence[tuple[int, WatchlistMatch, Sequence[str]]], now: datetime
    ) -> int:
        """Queue alerts for stored articles (replay); never a second delivery per sink."""
        postgresql = self.is_postgresql

        def work(conn: Connection) -> int:
            queued = article_queries.queue_alerts(conn, items, now)
            if queued and postgresql:
                _notify(conn)
            return queued

        return self.database.run_sync(work)

    async def prune(self, cutoff: datetime) -> int:
        """Retention: delete articles fetched before ``cutoff`` with no pending delivery."""
        return await self._run(lambda c: article_queries.delete_older_than(c, cutoff))

    # --- deliveries ----------------------------------------------------------------------

    async def claim_deliveries(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        sink: str | None = None,
        other_than: Collection[str] = (),
    ) -> list[DueDelivery]:
        return await self._run(
            lambda c: delivery_queries.claim_due(
                c, owner=owner, now=now, lease=lease, limit=limit, sink=sink, other_than=other_than
            )
        )

    async def next_attempt_at(
        self, *, sink: str | None = None, other_than: Collection[str] = ()
    ) -> datetime | None:
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: delivery_queries.next_attempt_at(c, sink=sink, other_than=other_than),
        )

    async def mark_delivered(self, delivery_id: str, *, now: datetime, status: int) -> None:
        await self._run(
            lambda c: delivery_queries.mark_delivered(c, delivery_id, now=now, status=status)
        )

    async def mark_failed(
        self,
        delivery_id: str,
        *,
        now: datetime,
        next_attempt_at: datetime | None,
        reason: str,
        error: str,
        status: int | None,
    ) -> None:
        """A failed attempt: retry at ``next_attempt_at``, or dead-letter when None."""
        await self._run(
            lambda c: delivery_queries.mark_failed(
                c,
                delivery_id,
                now=now,
                next_attempt_at=next_attempt_at,
                reason=reason,
                error=error,
                status=status,
            )
        )

    async def postpone(self, delivery_id: str, *, until: datetime, reason: str) -> None:
        await self._run(
            lambda c: delivery_queries.postpone(c, delivery_id, until=until, reason=reason)
        )

    def list_deliveries(self, *, status: str | None = None, limit: int = 100) -> list[DeliveryRow]:
        return self.database.read_sync(
            lambda c: delivery_queries.list_deliveries(c, status=status, limit=limit)
        )

    def count_deliveries(self) -> dict[str, int]:
        return self.database.read_sync(delivery_queries.count_by_status)

    async def acount_deliveries(self) -> dict[str, int]:
        return await asyncio.to_thread(self.count_deliveries)

    def requeue(self, *, now: datetime, delivery_id: str | None = None) -> int:
        """Put dead deliveries (or one by id) back in the queue."""
        postgresql = self.is_postgresql

        def work(conn: Connection) -> int:
            count = delivery_queries.requeue(conn, now=now, delivery_id=delivery_id)
            if count and postgresql:
                _notify(conn)
            return count

        return self.database.run_sync(work)


def _notify(conn: Connection) -> None:
    conn.exec_driver_sql(f"NOTIFY {DELIVERY_CHANNEL}")
