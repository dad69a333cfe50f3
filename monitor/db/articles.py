"""Queries on ``articles`` and ``matches``: which entries are new, and storing an article with
its matches and its pending deliveries in the caller's (single) transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select

from monitor.db.schema import articles, deliveries, matches, sources


@dataclass(frozen=True)
class MatchRecord:
    """One watchlist's match on an article, as stored (``detail`` is JSON)."""

    watchlist: str
    entities: tuple[str, ...]
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class ArticleRecord:
    """A new article to store, its matches, and the sinks to alert per watchlist."""

    entry_key: str
    canonical_url: str | None
    title: str
    summary: str
    content: str
    published_at: datetime | None
    content_hash: str
    matches: tuple[MatchRecord, ...] = ()
    alert_sinks: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredCounts:
    articles: int = 0
    matches: int = 0
    deliveries: int = 0


@dataclass(frozen=True)
class StoredArticle:
    """An article read back, with its source, for replay and payloads."""

    id: int
    source_id: int
    source_name: str
    source_url: str
    entry_key: str
    canonical_url: str | None
    title: str
    summary: str
    content: str
    published_at: datetime | None
    fetched_at: datetime


def existing_keys(conn: Connection, source_id: int, keys: Iterable[str]) -> set[str]:
    """The entry keys among ``keys`` already stored for this source."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            select(articles.c.entry_key).where(
                and_(articles.c.source_id == source_id, articles.c.entry_key.in_(chunk))
            )
        )
        found.update(row.entry_key for row in rows)
    return found


def store_articles(
    conn: Connection, source_id: int, records: Sequence[ArticleRecord], now: datetime
) -> StoredCounts:
    """Insert articles, their matches and one pending delivery per (match, sink)."""
    counts = StoredCounts()
    for record in records:
        article_id = conn.execute(
            articles.insert()
            .values(
                source_id=source_id,
                entry_key=record.entry_key,
                canonical_url=record.canonical_url,
                title=record.title,
                summary=record.summary,
                content=record.content,
                published_at=record.published_at,
                fetched_at=now,
                content_hash=record.content_hash,
            )
            .returning(articles.c.id)
        ).scalar_one()
        created = 0
        for match in record.matches:
            match_id = insert_match(conn, article_id, match, now)
            for sink in record.alert_sinks.get(match.watchlist, ()):
                insert_delivery(conn, match_id, sink, now)
                created += 1
        counts = StoredCounts(
            counts.articles + 1, counts.matches + len(record.matches), counts.deliveries + created
        )
    return counts


def insert_match(conn: Connection, article_id: int, match: MatchRecord, now: datetime) -> int:
    match_id: int = conn.execute(
        matches.insert()
        .values(
            article_id=article_id,
            watchlist=match.watchlist,
            entities=list(match.entities),
            detail=dict(match.detail),
            created_at=now,
        )
        .returning(matches.c.id)
    ).scalar_one()
    return match_id


def insert_delivery(conn: Connection, match_id: int, sink: str, now: datetime) -> str:
    delivery_id = str(uuid.uuid4())
    conn.execute(
        deliveries.insert().values(
            id=delivery_id,
            match_id=match_id,
            sink=sink,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return delivery_id


_ARTICLE_COLUMNS = (
    articles.c.id,
    articles.c.source_id,
    sources.c.name.label("source_name"),
    sources.c.url.label("source_url"),
    articles.c.entry_key,
    articles.c.canonical_url,
    articles.c.title,
    articles.c.summary,
    articles.c.content,
    articles.c.published_at,
    articles.c.fetched_at,
)


def articles_since(conn: Connection, since: datetime | None) -> list[StoredArticle]:
    """Stored articles fetched at or after ``since`` (all when None), oldest first."""
    query = select(*_ARTICLE_COLUMNS).join(sources, sources.c.id == articles.c.source_id)
    if since is not None:
        query = query.where(articles.c.fetched_at >= since)
    query = query.order_by(articles.c.fetched_at, articles.c.id)
    return [StoredArticle(**row._mapping) for row in conn.execute(query)]


def find_match(conn: Connection, article_id: int, watchlist: str) -> int | None:
    row = conn.execute(
        select(matches.c.id).where(
            and_(matches.c.article_id == article_id, matches.c.watchlist == watchlist)
        )
    ).first()
    return None if row is None else int(row.id)


def delete_older_than(conn: Connection, cutoff: datetime) -> int:
    """Retention: delete articles fetched before ``cutoff`` whose deliveries are all done."""
    pending = (
        select(matches.c.article_id)
        .join(deliveries, deliveries.c.match_id == matches.c.id)
        .where(deliveries.c.status == "pending")
    )
    doomed = select(articles.c.id).where(
        and_(articles.c.fetched_at < cutoff, articles.c.id.not_in(pending))
    )
    ids = [row.id for row in conn.execute(doomed)]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        match_ids = select(matches.c.id).where(matches.c.article_id.in_(chunk))
        conn.execute(deliveries.delete().where(deliveries.c.match_id.in_(match_ids)))
        conn.execute(matches.delete().where(matches.c.article_id.in_(chunk)))
        conn.execute(articles.delete().where(articles.c.id.in_(chunk)))
    return len(ids)
