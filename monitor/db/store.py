"""The storage face: every read and write the rest of the monitor needs, each method one
transaction, taking and returning typed records. Nothing outside ``monitor.db`` writes SQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from monitor.alerts.policy import SinkPolicy
from monitor.db import articles as article_queries
from monitor.db import deliveries as delivery_queries
from monitor.db import digests as digest_queries
from monitor.db import instances as instance_queries
from monitor.db import routing
from monitor.db import seen as seen_queries
from monitor.db import sources as source_queries
from monitor.db import status as status_queries
from monitor.db import stories as story_queries
from monitor.db.articles import ArticleRecord, StoredArticle, StoredCounts, StoredVersions
from monitor.db.deliveries import DeliveryRow, DueDelivery, StoredContext
from monitor.db.engine import Database, instance_lock, is_sqlite, keep_instance_lock
from monitor.db.instances import InstanceRow
from monitor.db.problems import is_damaged, outage_text, shown_url, sqlite_path, unusable
from monitor.db.seen import KnownEntries, SeenEntry
from monitor.db.sources import PollRecord, SourceRow, SourceSpec
from monitor.db.status import Status
from monitor.db.stories import StoryRow, StoryToAssign
from monitor.match import WatchlistMatch
from monitor.stories import DEFAULT_CONFIG, StoryConfig
from monitor.text import stand_in_title

__all__ = ["DELIVERY_CHANNEL", "Pruned", "Store"]

T = TypeVar("T")

# PostgreSQL NOTIFY channel: "deliveries were queued", so every instance's outbox wakes up.
DELIVERY_CHANNEL = "monitor_deliveries"


@dataclass(frozen=True)
class Pruned:
    """What one retention run deleted: articles, and the keys and stories (fingerprints)
    it forgot; ``bands``: story band rows past twice the story window."""

    articles: int = 0
    keys: int = 0
    stories: int = 0
    bands: int = 0


class Store:
    """The database of one monitor process. Sync methods block; ``a``-prefixed ones run the
    same transaction in a worker thread so the event loop never waits on the database."""

    def __init__(self, url: str, story_config: StoryConfig = DEFAULT_CONFIG) -> None:
        self.database = Database(url)
        self.story_config = story_config

    @property
    def url(self) -> str:
        return self.database.url

    @property
    def is_postgresql(self) -> bool:
        return self.database.engine.dialect.name == "postgresql"

    def outage_text(self, error: BaseException) -> str:
        """What the database said of an outage, on one line, naming this database (its
        SQLite path, or its URL with the password masked): an operator with several
        instances or files learns which one is full, locked or away."""
        engine = self.database.engine
        if is_damaged(error):  # the advice names the file (probe89: "sqlite3 FILE .recover")
            return outage_text(error, sqlite_path(engine))
        return f"{outage_text(error)} ({shown_url(engine)})"

    def prepare(self, *, allow_create: bool = True, writable: bool = True) -> None:
        self.database.prepare(allow_create=allow_create, writable=writable)

    def close(self) -> None:
        self.database.close()

    @contextmanager
    def instance_lock(self) -> Iterator[None]:
        """Refuse a second instance on the same SQLite file (PostgreSQL needs none)."""
        with instance_lock(self.database.engine):
            yield

    def keep_instance_lock(self) -> str | None:
        """The SQLite lock file locked again if it was deleted (`engine.keep_instance_lock`);
        the problem when another instance took it meanwhile."""
        return keep_instance_lock(self.database.engine)

    async def _run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.to_thread(self.database.run_sync, work)

    def ping(self) -> None:
        self.database.run_sync(lambda c: c.exec_driver_sql("SELECT 1").scalar())

    async def aping(self) -> None:
        await asyncio.to_thread(self.ping)

    # --- sources -------------------------------------------------------------------------

    def sync_sources(self, specs: Sequence[SourceSpec], now: datetime) -> list[str]:
        """Make the sources table follow the config (added, changed, disabled); the names of
        the sources it disabled."""
        return self.database.run_sync(lambda c: source_queries.sync_sources(c, specs, now))

    def start_instance(self, specs: Sequence[SourceSpec], now: datetime) -> list[str]:
        """At start-up: sync the sources, and on SQLite, where the instance lock proves no
        other instance runs, forget leases left by a process that was killed. The names of
        the sources the sync disabled."""
        sqlite = is_sqlite(self.database.engine)

        def work(conn: Connection) -> list[str]:
            disabled = source_queries.sync_sources(conn, specs, now)
            if sqlite:
                source_queries.clear_leases(conn)
            return disabled

        try:
            return self.database.run_sync(work)
        except OperationalError as error:  # the first write of a start: a full disk, say
            raise unusable(self.database.engine, error) from None

    def retry_sources(self, ids: Collection[int] | None, now: datetime) -> list[str]:
        """Failed sources (all, or those of ``ids``) due now, their back-off over: their
        names (`sources.retry_failed`)."""
        return self.database.run_sync(lambda c: source_queries.retry_failed(c, ids, now))

    def list_sources(self) -> list[SourceRow]:
        return self.database.read_sync(source_queries.list_sources)

    async def alist_sources(self) -> list[SourceRow]:
        return await self._run(source_queries.list_sources)

    async def aunpolled_sources(
        self, since: datetime, polled: Collection[int]
    ) -> tuple[list[SourceRow], int]:
        """The enabled sources not among ``polled`` (not polled since ``since``, or polled by
        another instance) and the number of disabled ones."""
        return await asyncio.to_thread(
            self.database.read_sync, lambda c: source_queries.unpolled_sources(c, since, polled)
        )

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
        """The outcomes of many polls that stored nothing, and their sightings, in one
        transaction."""
        if not polls:
            return

        def work(conn: Connection) -> None:
            source_queries.record_polls(conn, polls)
            seen_queries.remember(
                conn, ((p.source_id, p.polled_at, s) for p in polls for s in p.sightings)
            )
            seen_queries.forget_aliases(conn, ((p.source_id, p.shown_keys) for p in polls))

        await self._run(work)

    async def store_feed(
        self,
        source_id: int,
        records: Sequence[ArticleRecord],
        poll: PollRecord,
        now: datetime,
        policies: Mapping[str, SinkPolicy] | None = None,
    ) -> StoredCounts:
        """The new articles of one poll, their matches, their pending deliveries, the
        sightings of their keys and stories (and the poll's other sightings) and the source's
        new state, all in one transaction. A record whose key or story became known since
        the caller looked (a poll that raced this one) is not stored, only remembered. Wakes
        every instance's outbox when deliveries were queued (PostgreSQL NOTIFY, sent on
        commit). ``policies``: each sink's filters and story policy (none: every match is
        an alert, as `stories: all`)."""
        postgresql = self.is_postgresql
        policies = policies or {}

        def work(conn: Connection) -> StoredCounts:
            known = seen_queries.known(
                conn,
                source_id,
                (r.entry_key for r in records),
                (f for r in records for f in (r.fingerprint, *r.other_fingerprints)),
            )
            stories = set(known.fingerprints)
            fresh = []
            for record in records:
                named = (record.fingerprint, *record.other_fingerprints)
                if record.entry_key in known.last_seen or not stories.isdisjoint(named):
                    continue
                stories.update(named)
                fresh.append(record)
            if fresh:  # stored already, unknown to the sightings: remembered, not stored again
                stored_already = article_queries.stored_keys(
                    conn, source_id, [r.entry_key for r in fresh]
                )
                fresh = [r for r in fresh if r.entry_key not in stored_already]
            article_ids, stored = article_queries.store_articles(conn, source_id, fresh, now)
            story_ids = story_queries.assign_stories(
                conn,
                [
                    StoryToAssign(
                        article_id,
                        record.story_signature(),
                        record.story_time(now),
                        # An untitled article's story is named as its alert is.
                        record.title or stand_in_title(record.summary or record.content),
                    )
                    for article_id, record in zip(article_ids, fresh, strict=True)
                ],
                now,
                postgresql=postgresql,
                config=self.story_config,
            )
            story_of = dict(zip(article_ids, story_ids, strict=True))
            routed = routing.route(
                conn,
                [
                    routing.Routed(
                        m.article_id, story_of.get(m.article_id), m.match_id, m.match, m.sinks
                    )
                    for m in stored
                ],
                policies,
                now,
            )
            counts = StoredCounts(len(fresh), len(stored), routed.queued, routed.told_before)
            seen_queries.remember(
                conn,
                [
                    *(
                        (source_id, now, SeenEntry(r.entry_key, fingerprint))
                        for r in records
                        if r.entry_key not in known.last_seen
                        for fingerprint in r.remembered
                    ),
                    *((source_id, poll.polled_at, s) for s in poll.sightings),
                ],
            )
            seen_queries.forget_aliases(conn, [(source_id, poll.shown_keys)])
            source_queries.record_polls(conn, [replace(poll, articles_stored=counts.articles)])
            if counts.deliveries and postgresql:
                _notify(conn)
            return counts

        return await self._run(work)

    async def known_keys(
        self, source_id: int, keys: Collection[str], fingerprints: Collection[str]
    ) -> KnownEntries:
        """Which of these entry keys and story fingerprints this source has shown before
        (stored articles, pruned ones, other keys of a known story): one read, no lock."""
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: seen_queries.known(c, source_id, keys, fingerprints),
        )

    async def stored_versions(
        self, source_id: int, keys: Sequence[str], links: Sequence[str]
    ) -> tuple[dict[str, StoredVersions], dict[str, frozenset[tuple[str, str]]]]:
        """What changed entries are compared with: the links, titles and matched entities of
        the stored articles of these keys (and their revisions), and the matched entities of
        the source's stored articles at these links. One read-only transaction."""

        def read(
            conn: Connection,
        ) -> tuple[dict[str, StoredVersions], dict[str, frozenset[tuple[str, str]]]]:
            return (
                article_queries.stored_versions(conn, source_id, keys),
                article_queries.entities_at_links(conn, source_id, links),
            )

        return await asyncio.to_thread(self.database.read_sync, read)

    # --- articles ------------------------------------------------------------------------

    async def alerted_since(self, source_id: int, since: datetime) -> int:
        """Articles of the source fetched since ``since`` that were queued an alert."""
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: article_queries.alerted_since(c, source_id, since),
        )

    async def stored_bytes_since(self, source_id: int, since: datetime) -> int:
        """Bytes of article text of the source stored since ``since``."""
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: article_queries.stored_bytes_since(c, source_id, since),
        )

    def articles_since(self, since: datetime | None) -> list[StoredArticle]:
        return self.database.read_sync(lambda c: article_queries.articles_since(c, since))

    def article(self, article_id: int) -> StoredArticle | None:
        return self.database.read_sync(lambda c: article_queries.article_by_id(c, article_id))

    def alerts_of_article(self, article_id: int) -> dict[tuple[str, str], tuple[str, str]]:
        """What was queued for a stored article: (watchlist, sink) -> (id, status)."""
        return self.database.read_sync(lambda c: delivery_queries.alerts_of_article(c, article_id))

    def stored_context(self, article_id: int) -> StoredContext | None:
        """What decided whether a stored article alerted (`deliveries.stored_context`)."""
        return self.database.read_sync(lambda c: delivery_queries.stored_context(c, article_id))

    def articles_at_url(self, urls: Sequence[str]) -> list[StoredArticle]:
        """Stored articles whose canonical URL is one of ``urls``, newest first."""
        return self.database.read_sync(lambda c: article_queries.articles_at_url(c, urls))

    def recent_stories(
        self, since: datetime | None, limit: int | None = None
    ) -> tuple[list[StoryRow], int]:
        """Stories with an article fetched at or after ``since`` (all when None), latest
        first, at most ``limit``; and how many there are in all."""

        def read(conn: Connection) -> tuple[list[StoryRow], int]:
            found = story_queries.recent_stories(conn, since, limit)
            if limit is None or len(found) < limit:
                return found, len(found)
            return found, story_queries.count_recent_stories(conn, since)

        return self.database.read_sync(read)

    def queue_alerts(
        self,
        items: Sequence[tuple[int, WatchlistMatch, Sequence[str]]],
        now: datetime,
        policies: Mapping[str, SinkPolicy] | None = None,
    ) -> int:
        """Queue alerts for stored articles (replay) through each sink's filters and story
        policy; never a second delivery per sink, nor a story a sink was told of."""
        postgresql = self.is_postgresql

        def work(conn: Connection) -> int:
            if postgresql:  # story routing is serialised across instances, as in store_feed
                story_queries.lock_stories(conn)
            queued = article_queries.queue_alerts(conn, items, policies or {}, now)
            if queued and postgresql:
                _notify(conn)
            return queued

        return self.database.run_sync(work)

    async def prune(
        self,
        cutoff: datetime,
        *,
        now: datetime | None = None,
        refresh: timedelta = timedelta(0),
    ) -> Pruned:
        """Retention: delete articles fetched before ``cutoff`` with no pending or dead
        delivery (their story signatures go with them, and stories left with no article), and
        forget the keys and stories not seen in their feed since ``cutoff`` that it stopped
        showing (`seen.forget_unseen`, with ``refresh``; the keys of articles still stored
        are kept). With ``now``: also delete the story band rows fetched more than
        twice the story window before it (they can no longer match a new article), and
        those of deleted articles older than that (`stories.prune_bands`)."""
        bands_before = now - 2 * self.story_config.window if now is not None else None

        def work(conn: Connection) -> Pruned:
            deleted = article_queries.delete_older_than(conn, cutoff)
            story_queries.forget_empty_stories(conn)
            forgotten = seen_queries.forget_unseen(conn, cutoff, refresh)
            bands = story_queries.prune_bands(conn, bands_before) if bands_before else 0
            return Pruned(deleted, forgotten.keys, forgotten.stories, bands)

        return await self._run(work)

    async def prune_story_bands(self, now: datetime) -> int:
        """Delete the story band rows fetched more than twice the story window before
        ``now`` (they can no longer match a new article); how many."""
        before = now - 2 * self.story_config.window
        return await self._run(lambda c: story_queries.prune_bands(c, before))

    # --- digests -------------------------------------------------------------------------

    async def make_digest(
        self, sink: str, *, start: datetime, end: datetime, now: datetime
    ) -> str | None:
        """The digest of ``sink`` for the period ending at ``end`` with its pending delivery
        (`monitor.db.digests.make_digest`); None when it exists already (here or made by
        another instance at the same moment) or nothing matched."""
        postgresql = self.is_postgresql

        def work(conn: Connection) -> str | None:
            made = digest_queries.make_digest(conn, sink, start=start, end=end, now=now)
            if made and postgresql:
                _notify(conn)
            return made

        try:
            return await self._run(work)
        except IntegrityError:  # another instance made this period's digest first
            return None

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

    async def renew_delivery_leases(
        self, delivery_ids: Sequence[str], owner: str, until: datetime
    ) -> set[str]:
        """Extend ``owner``'s leases on these claimed deliveries to ``until``; the ids it
        still holds (`deliveries.renew_leases`)."""
        return await self._run(
            lambda c: delivery_queries.renew_leases(c, delivery_ids, owner, until)
        )

    async def due_after_recovery(self, sink: str, now: datetime) -> int:
        """``sink``'s alerts waiting for a retry after its receiver was down are due now
        (`deliveries.due_after_recovery`); how many."""
        return await self._run(lambda c: delivery_queries.due_after_recovery(c, sink, now=now))

    async def hold_lifted(self, sink: str, *, since: datetime, until: datetime) -> bool:
        """Whether ``sink``'s Retry-After hold was lifted (`deliveries.hold_lifted`)."""
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: delivery_queries.hold_lifted(c, sink, since=since, until=until),
        )

    async def next_attempt_at(
        self,
        *,
        sink: str | None = None,
        other_than: Collection[str] = (),
        owner: str | None = None,
        now: datetime | None = None,
        within: Collection[str] | None = None,
    ) -> datetime | None:
        """When a pending delivery is next due (`deliveries.next_attempt_at`)."""
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: delivery_queries.next_attempt_at(
                c, sink=sink, other_than=other_than, owner=owner, now=now, within=within
            ),
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
    ) -> bool:
        """A failed attempt: retry at ``next_attempt_at``, or dead-letter when None; False
        when the delivery was dropped or delivered (by another instance) meanwhile."""
        return await self._run(
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

    async def hold_sink(self, sink: str, *, until: datetime) -> int:
        """No pending delivery of ``sink`` is due before ``until`` (its receiver's
        Retry-After), on every instance; how many were moved."""
        return await self._run(lambda c: delivery_queries.hold_sink(c, sink, until=until))

    async def release_deliveries(self, delivery_ids: Sequence[str], owner: str) -> None:
        """Give back ``owner``'s leases on deliveries it claimed and did not send."""
        await self._run(lambda c: delivery_queries.release(c, delivery_ids, owner))

    async def resume_postponed(self, sink: str, *, now: datetime) -> int:
        """The deliveries of ``sink`` postponed while it was not configured are due at
        ``now``; how many."""
        return await self._run(lambda c: delivery_queries.resume_postponed(c, sink, now=now))

    def list_deliveries(self, *, status: str | None = None, limit: int = 100) -> list[DeliveryRow]:
        return self.database.read_sync(
            lambda c: delivery_queries.list_deliveries(c, status=status, limit=limit)
        )

    def delivery_ids(self, prefix: str, *, limit: int = 10) -> list[str]:
        """Delivery ids starting with ``prefix`` (at most ``limit``)."""
        return self.database.read_sync(
            lambda c: delivery_queries.ids_starting_with(c, prefix, limit=limit)
        )

    def delivery_status(self, delivery_id: str) -> str | None:
        return self.database.read_sync(lambda c: delivery_queries.status_of(c, delivery_id))

    async def adelivery_status(self, delivery_id: str) -> str | None:
        return await asyncio.to_thread(self.delivery_status, delivery_id)

    def delivery_sinks(self) -> list[str]:
        """Every sink name that deliveries were queued for."""
        return self.database.read_sync(delivery_queries.sink_names)

    def count_deliveries(self) -> dict[str, int]:
        return self.database.read_sync(delivery_queries.count_by_status)

    async def acount_deliveries(self) -> dict[str, int]:
        return await asyncio.to_thread(self.count_deliveries)

    async def acount_sending_elsewhere(
        self, owner: str, now: datetime, configured: Collection[str] = ()
    ) -> int:
        """Pending deliveries another instance is sending now, or next (`deliveries`)."""
        return await asyncio.to_thread(
            self.database.read_sync,
            lambda c: delivery_queries.count_sending_elsewhere(c, owner, now, configured),
        )

    async def acount_delivered_since(self, since: datetime) -> int:
        """Deliveries delivered since ``since``, by any instance."""
        return await asyncio.to_thread(
            self.database.read_sync, lambda c: delivery_queries.count_delivered_since(c, since)
        )

    async def acount_held(self, configured: Collection[str]) -> int:
        """Pending deliveries of a sink not configured or disabled (`deliveries.count_held`)."""
        return await asyncio.to_thread(
            self.database.read_sync, lambda c: delivery_queries.count_held(c, configured)
        )

    async def acount_waiting(self) -> int:
        """Pending follow-ups waiting for their original (`deliveries.count_waiting`)."""
        return await asyncio.to_thread(self.database.read_sync, delivery_queries.count_waiting)

    def requeue(self, *, now: datetime, delivery_id: str | None = None) -> int:
        """Put dead deliveries (or one by id) back in the queue."""
        postgresql = self.is_postgresql

        def work(conn: Connection) -> int:
            count = delivery_queries.requeue(conn, now=now, delivery_id=delivery_id)
            if count and postgresql:
                _notify(conn)
            return count

        return self.database.run_sync(work)

    def retry_sink(self, sink: str, *, now: datetime, dead: bool) -> int:
        """The deliveries of ``sink`` waiting for a retry (and its dead ones when ``dead``)
        are due now, their retry schedule started over; how many."""
        postgresql = self.is_postgresql

        def work(conn: Connection) -> int:
            count = delivery_queries.retry_sink(conn, sink, now=now, dead=dead)
            if count and postgresql:
                _notify(conn)
            return count

        return self.database.run_sync(work)

    async def aretry_sink(self, sink: str, *, now: datetime, dead: bool) -> int:
        return await asyncio.to_thread(self.retry_sink, sink, now=now, dead=dead)

    def drop_deliveries(
        self, *, now: datetime, delivery_id: str | None = None, sink: str | None = None
    ) -> int:
        """Give up on dead deliveries (or one, pending or dead, by id, or a sink's pending and
        dead ones) for good."""
        return self.database.run_sync(
            lambda c: delivery_queries.drop(c, now=now, delivery_id=delivery_id, sink=sink)
        )

    # --- instances (`monitor status`, `monitor reload`) ----------------------------------

    def register_instance(
        self,
        *,
        owner: str,
        hostname: str,
        pid: int,
        version: str,
        config_path: str | None,
        now: datetime,
    ) -> None:
        self.database.run_sync(
            lambda c: instance_queries.register(
                c,
                owner=owner,
                hostname=hostname,
                pid=pid,
                version=version,
                config_path=config_path,
                now=now,
            )
        )

    async def instance_beat(self, owner: str, now: datetime) -> None:
        await self._run(lambda c: instance_queries.beat(c, owner, now))

    async def instance_reloaded(self, owner: str, generation: int, now: datetime) -> None:
        await self._run(lambda c: instance_queries.reloaded(c, owner, generation, now))

    async def instance_reload_failed(self, owner: str, error: str, now: datetime) -> None:
        await self._run(lambda c: instance_queries.reload_failed(c, owner, error, now))

    def instance_stopped(self, owner: str, now: datetime) -> None:
        self.database.run_sync(lambda c: instance_queries.stopped(c, owner, now))

    def list_instances(self) -> list[InstanceRow]:
        return self.database.read_sync(instance_queries.list_instances)

    # --- status (`monitor status`, the health gauges of /metrics) ------------------------

    def status(
        self,
        now: datetime,
        *,
        unhealthy_after: int,
        details: bool = True,
        lease: timedelta | None = None,
        longest_poll: timedelta | None = None,
    ) -> Status:
        """Sources by state and the outbox (``health``: what the gauges show), and with
        ``details`` the instances, recent activity, problem sources and last failures: one
        read-only transaction. `monitor status` and the gauges both call this, so their
        numbers cannot disagree. With ``lease`` and ``longest_poll`` (``poll.lease``,
        ``fetch.total_timeout``), a source leased too long ago to be in a poll counts as
        waiting (`monitor.db.status.queued_lease_before`)."""
        queued_before = (
            status_queries.queued_lease_before(now, lease, longest_poll)
            if lease is not None and longest_poll is not None
            else None
        )
        return self.database.read_sync(
            lambda c: status_queries.status(
                c, now, unhealthy_after, details=details, queued_before=queued_before
            )
        )

    async def astatus(
        self,
        now: datetime,
        *,
        unhealthy_after: int,
        details: bool = True,
        lease: timedelta | None = None,
        longest_poll: timedelta | None = None,
    ) -> Status:
        return await asyncio.to_thread(
            lambda: self.status(
                now,
                unhealthy_after=unhealthy_after,
                details=details,
                lease=lease,
                longest_poll=longest_poll,
            )
        )


def _notify(conn: Connection) -> None:
    conn.exec_driver_sql(f"NOTIFY {DELIVERY_CHANNEL}")
