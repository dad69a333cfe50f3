"""One feed's trip: fetch -> parse -> keep new entries -> match -> store articles, matches and
pending deliveries in ONE transaction, with the source's new state. It only orchestrates."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Connection

from monitor.db import articles as article_queries
from monitor.db import sources as source_queries
from monitor.db.articles import ArticleRecord, MatchRecord
from monitor.db.sources import SourceRow
from monitor.errors import FetchError, ParseError
from monitor.fetch import FetchResult, fetch_feed
from monitor.match import MatchResult
from monitor.parse import FeedEntry, ParsedFeed, parse_feed
from monitor.runtime import Runtime

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 512
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of one source did, for logs, metrics and the CLI."""

    source: str
    url: str
    status: str  # "ok", "not_modified" or "error"
    entries: int = 0
    new_articles: int = 0
    matches: int = 0
    deliveries: int = 0
    error: str | None = None
    reason: str | None = None


def entry_key(entry: FeedEntry) -> str:
    """The stored key: the entry's own key, hashed when too long for the column."""
    if len(entry.key) <= MAX_KEY_LENGTH:
        return entry.key
    return "sha256:" + hashlib.sha256(entry.key.encode("utf-8")).hexdigest()


def next_poll(
    runtime: Runtime, source: SourceRow, now: datetime, retry_after: float | None
) -> datetime:
    """The next poll after a success: the source's interval, or later if the server asked."""
    delay = source.interval
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return now + delay


def backoff(
    runtime: Runtime, source: SourceRow, now: datetime, retry_after: float | None
) -> datetime:
    """The next poll after a failure: exponential back-off with jitter, capped at max_interval,
    never sooner than a server's Retry-After."""
    poll = runtime.settings.poll
    failures = source.consecutive_failures + 1
    base = max(poll.min_interval, min(source.interval, poll.max_interval))
    delay: timedelta = min(base * (2 ** min(failures - 1, 10)), poll.max_interval)
    delay = delay * (0.9 + 0.2 * random.random())  # spread retries of many sources
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return now + delay


def should_alert(source: SourceRow, entry: FeedEntry, now: datetime) -> bool:
    """First poll of a source stores its backlog; whether it alerts is the source's policy."""
    if source.first_polled_at is not None or source.first_run == "alert_all":
        return True
    if source.first_run == "alert_recent":
        published = entry.published or entry.updated
        return published is not None and now - published <= source.first_run_window
    return False


def match_records(result: MatchResult) -> tuple[MatchRecord, ...]:
    return tuple(
        MatchRecord(watchlist=m.watchlist, entities=tuple(m.entities), detail=m.to_json())
        for m in result.alerts
    )


def _new_entries(conn: Connection, source_id: int, entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    unique: dict[str, FeedEntry] = {}
    for entry in entries:
        unique.setdefault(entry_key(entry), entry)
    stored = article_queries.existing_keys(conn, source_id, unique)
    return [entry for key, entry in unique.items() if key not in stored]


async def poll_source(
    runtime: Runtime, client: httpx.AsyncClient, source: SourceRow
) -> PollOutcome:
    """Poll one leased source and record the outcome; never raises, whatever the feed does
    (a bug of ours is recorded on the source as ``internal_error`` and backed off too)."""
    try:
        return await _poll(runtime, client, source)
    except Exception as error:  # noqa: BLE001 - one feed must never stop the others
        log.exception("polling %s failed unexpectedly", source.url)
        return await record_failure(
            runtime, source, "internal_error", f"{source.url}: {error!r}", None, None
        )


async def _poll(runtime: Runtime, client: httpx.AsyncClient, source: SourceRow) -> PollOutcome:
    db = runtime.db
    try:
        fetched = await fetch_feed(
            client,
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            options=runtime.http,
        )
    except FetchError as error:
        return await record_failure(
            runtime,
            source,
            error.reason,
            str(error),
            error.status,
            error.retry_after,
        )
    now = runtime.clock()
    if fetched.not_modified:
        await db.run(
            lambda conn: source_queries.record_success(
                conn,
                source,
                now=now,
                next_poll_at=next_poll(runtime, source, now, fetched.retry_after),
                status=fetched.status,
                etag=fetched.etag or source.etag,
                last_modified=fetched.last_modified or source.last_modified,
                final_url=fetched.url,
                entries_seen=0,
                articles_stored=0,
            )
        )
        return PollOutcome(source.name, source.url, "not_modified")
    try:
        parsed = await asyncio.to_thread(_parse, fetched)
    except ParseError as error:
        return await record_failure(runtime, source, error.reason, str(error), fetched.status, None)

    new = await db.run(lambda conn: _new_entries(conn, source.id, parsed.entries))
    records = await asyncio.to_thread(_records, runtime, source, new, now)

    def store(conn: Connection) -> PollOutcome:
        # Re-check inside the write transaction: the lease makes a race unlikely, the unique
        # constraint makes it harmless, this makes it quiet.
        still_new = article_queries.existing_keys(conn, source.id, (r.entry_key for r in records))
        fresh = [r for r in records if r.entry_key not in still_new]
        counts = article_queries.store_articles(conn, source.id, fresh, now)
        source_queries.record_success(
            conn,
            source,
            now=now,
            next_poll_at=next_poll(runtime, source, now, fetched.retry_after),
            status=fetched.status,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            final_url=fetched.url,
            entries_seen=len(parsed.entries),
            articles_stored=counts.articles,
            warning=f"feed is malformed but readable: {parsed.bozo_reason}"
            if parsed.bozo
            else None,
        )
        return PollOutcome(
            source.name,
            source.url,
            "ok",
            entries=len(parsed.entries),
            new_articles=counts.articles,
            matches=counts.matches,
            deliveries=counts.deliveries,
        )

    outcome = await db.run(store)
    log.info(
        "polled %s: %d entries, %d new, %d matches, %d alerts queued",
        source.url,
        outcome.entries,
        outcome.new_articles,
        outcome.matches,
        outcome.deliveries,
    )
    return outcome


def _parse(fetched: FetchResult) -> ParsedFeed:
    assert fetched.body is not None
    return parse_feed(fetched.body, fetched.url, fetched.content_type)


def _records(
    runtime: Runtime, source: SourceRow, entries: Sequence[FeedEntry], now: datetime
) -> list[ArticleRecord]:
    records = []
    for entry in entries:
        result = runtime.matcher.match(
            {"title": entry.title, "summary": entry.summary, "content": entry.content}
        )
        alert = should_alert(source, entry, now)
        matches = match_records(result)
        records.append(
            ArticleRecord(
                entry_key=entry_key(entry),
                canonical_url=entry.url,
                title=entry.title,
                summary=entry.summary,
                content=entry.content,
                published_at=entry.published or entry.updated,
                content_hash=entry.content_hash,
                matches=matches,
                alert_sinks=(
                    {m.watchlist: runtime.routes.get(m.watchlist, ()) for m in matches}
                    if alert
                    else {}
                ),
            )
        )
    return records


async def record_failure(
    runtime: Runtime,
    source: SourceRow,
    reason: str,
    message: str,
    status: int | None,
    retry_after: float | None,
) -> PollOutcome:
    now = runtime.clock()
    await runtime.db.run(
        lambda conn: source_queries.record_failure(
            conn,
            source,
            now=now,
            next_poll_at=backoff(runtime, source, now, retry_after),
            status=status,
            reason=reason,
            error=message,
        )
    )
    log.warning("poll failed for %s (%s): %s", source.url, reason, message)
    return PollOutcome(source.name, source.url, "error", error=message, reason=reason)
