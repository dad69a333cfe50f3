"""Queries on ``digests`` and ``digest_items``: making the digest of a period (its items and
its pending delivery in one transaction, at most one per sink and period) and reading one
back for sending."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from monitor.alerts.digest import Digest, DigestStory, best_excerpt
from monitor.alerts.record import match_from_json
from monitor.db.articles import article_ref, naming_text
from monitor.db.routing import sink_holds
from monitor.db.schema import articles, deliveries, digest_items, digests, matches, sources
from monitor.db.stories import story_refs

__all__ = ["load_digest", "make_digest"]


def make_digest(
    conn: Connection, sink: str, *, start: datetime, end: datetime, now: datetime
) -> str | None:
    """The digest of ``sink`` for the period ending at ``end``: every item queued before
    ``end`` and in no digest yet, and a pending delivery for it. Its id, or None when the
    period has a digest already or nothing matched. The caller's transaction makes the
    three writes one; the unique (sink, period_end) makes a second digest of the period
    fail, so it is never sent twice."""
    if conn.execute(
        select(digests.c.id).where(digests.c.sink == sink).where(digests.c.period_end == end)
    ).first():
        return None
    waiting = list(
        conn.execute(
            select(digest_items.c.id, digest_items.c.match_id, digest_items.c.created_at)
            .where(digest_items.c.sink == sink)
            .where(digest_items.c.digest_id.is_(None))
            .where(digest_items.c.created_at < end)
            .order_by(digest_items.c.id)
        )
    )
    if not waiting:
        return None
    # The period the digest covers: from where the sink's last digest ended (or its first
    # item), when that is earlier than ``start``: after a stop across periods, or a sink
    # switched back from immediate alerts, its stories are from before ``start``.
    last_end = conn.execute(
        select(func.max(digests.c.period_end)).where(digests.c.sink == sink)
    ).scalar()
    start = min(start, last_end if last_end is not None else waiting[0].created_at)
    digest_id = str(uuid.uuid4())
    conn.execute(
        digests.insert(),
        {
            "id": digest_id,
            "sink": sink,
            "period_start": start,
            "period_end": end,
            "items": len(waiting),
            "created_at": now,
        },
    )
    ids = [row.id for row in waiting]
    for chunk in range(0, len(ids), 500):
        conn.execute(
            update(digest_items)
            .where(digest_items.c.id.in_(ids[chunk : chunk + 500]))
            .values(digest_id=digest_id)
        )
    conn.execute(
        deliveries.insert(),
        {
            "id": digest_id,
            "match_id": waiting[0].match_id,
            "sink": sink,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": sink_holds(conn, [sink], now).get(sink, now),
            "created_at": now,
            "digest_id": digest_id,
        },
    )
    return digest_id


def load_digest(conn: Connection, digest_id: str) -> Digest:
    """The digest with its stories (one per story and watchlist, the first item of each),
    read back for sending; raises ValueError when it is gone."""
    head = conn.execute(select(digests).where(digests.c.id == digest_id)).first()
    if head is None:
        raise ValueError(f"digest {digest_id} is not stored")
    rows = list(
        conn.execute(
            select(
                digest_items.c.story_id,
                digest_items.c.watchlist,
                matches.c.detail,
                articles.c.id.label("article_id"),
                articles.c.title,
                naming_text,
                articles.c.canonical_url.label("url"),
                articles.c.published_at,
                sources.c.name.label("source_name"),
                sources.c.url.label("source_url"),
            )
            .join(matches, matches.c.id == digest_items.c.match_id)
            .join(articles, articles.c.id == matches.c.article_id)
            .join(sources, sources.c.id == articles.c.source_id)
            .where(digest_items.c.digest_id == digest_id)
            .order_by(digest_items.c.id)
        )
    )
    refs = story_refs(conn, {row.story_id for row in rows if row.story_id is not None})
    seen: set[tuple[object, str]] = set()
    items: list[DigestStory] = []
    for row in rows:
        key = row.story_id if row.story_id is not None else ("article", row.article_id)
        if (key, row.watchlist) in seen:
            continue
        seen.add((key, row.watchlist))
        match = match_from_json(row.detail)
        items.append(
            DigestStory(
                watchlist=row.watchlist,
                entities=match.entities,
                article=article_ref(row._mapping),
                excerpt=best_excerpt(match.excerpts),
                story=refs.get(row.story_id) if row.story_id is not None else None,
            )
        )
    return Digest(
        id=digest_id,
        sink=head.sink,
        start=head.period_start,
        end=head.period_end,
        stories=tuple(items),
        created_at=head.created_at,
    )
