"""Which sinks hear of just-stored matches: each sink's filters and story policy
(`monitor.alerts.policy`), applied in the storing transaction; queues the deliveries and
digest items, and records what each sink was told about each story (``story_alerts``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from monitor.alerts.policy import ALL, Sent, SinkPolicy, decide
from monitor.db.schema import (
    deliveries,
    digest_items,
    story_alerts,
)
from monitor.db.stories import story_refs
from monitor.match import WatchlistMatch

__all__ = ["Routed", "route"]


@dataclass(frozen=True)
class Routed:
    """A stored match to route: its article, story, match row and the sinks its watchlist
    alerts (before each sink's own filters)."""

    article_id: int
    story_id: int | None
    match_id: int
    match: WatchlistMatch
    sinks: Sequence[str]


def _history(conn: Connection, story_id: int, sink: str, watchlist: str) -> list[Sent]:
    rows = conn.execute(
        select(
            story_alerts.c.delivery_id,
            story_alerts.c.kind,
            story_alerts.c.entities,
            story_alerts.c.sources,
        )
        .where(story_alerts.c.story_id == story_id)
        .where(story_alerts.c.sink == sink)
        .where(story_alerts.c.watchlist == watchlist)
        .order_by(story_alerts.c.id)
    )
    return [
        Sent(
            str(row.delivery_id or ""),
            row.kind if row.kind in ("first", "update") else "all",
            frozenset(row.entities),
            frozenset(row.sources),
        )
        for row in rows
    ]


def route(
    conn: Connection,
    items: Sequence[Routed],
    policies: Mapping[str, SinkPolicy],
    now: datetime,
) -> int:
    """Queue a delivery (or a digest item) per (match, sink) that the sink's policy lets
    through, in order; the count queued. A sink with no policy gets every match (``all``).
    Callers serialise story routing across instances (the story lock, PostgreSQL)."""
    queued = 0
    # The stories' sources now (this transaction's articles included), in one query.
    stories = story_refs(conn, {item.story_id for item in items if item.story_id is not None})
    # A sink whose receiver asked to wait: what is queued now waits with the rest.
    holds = sink_holds(conn, {sink for item in items for sink in item.sinks}, now)
    for item in items:
        for sink in item.sinks:
            policy = policies.get(sink, ALL)
            if item.story_id is None:  # not assigned to a story (not from store_feed)
                queued += _queue(conn, item, sink, policy, None, now, holds.get(sink, now))
                continue
            story = stories.get(item.story_id)
            found = frozenset(story.sources) if story is not None else frozenset[str]()
            history = (
                _history(conn, item.story_id, sink, item.match.watchlist)
                if policy.stories != "all"
                else []
            )
            decision = decide(
                policy,
                watchlist=item.match.watchlist,
                entities=item.match.entities,
                story_sources=found,
                history=history,
            )
            if decision is None:
                continue
            delivery_id = str(uuid.uuid4())
            queued += _queue(
                conn,
                item,
                sink,
                policy,
                delivery_id,
                now,
                holds.get(sink, now),
                update_of=decision.update_of,
                changes=decision.changes(),
            )
            conn.execute(
                story_alerts.insert(),
                {
                    "story_id": item.story_id,
                    "watchlist": item.match.watchlist,
                    "sink": sink,
                    "kind": "digest" if policy.digest else decision.kind,
                    "delivery_id": None if policy.digest else delivery_id,
                    "article_id": item.article_id,
                    "entities": sorted(decision.entities),
                    "sources": sorted(decision.sources),
                    "created_at": now,
                },
            )
    return queued


def sink_holds(conn: Connection, sinks: Collection[str], now: datetime) -> dict[str, datetime]:
    """Until when each of these sinks is held by its receiver's Retry-After (`hold_sink`),
    for the sinks held now: the latest next attempt of its pending deliveries not tried yet
    (only a hold puts one in the future). A delivery queued meanwhile, by any process, is
    due then too, and after the ones held before it (the claim orders by due time, then
    queue time): the sink's order and its receiver's pause both hold."""
    if not sinks:
        return {}
    rows = conn.execute(
        select(deliveries.c.sink, func.max(deliveries.c.next_attempt_at))
        .where(
            deliveries.c.sink.in_(sorted(sinks)),
            deliveries.c.status == "pending",
            deliveries.c.attempts == 0,
            deliveries.c.next_attempt_at > now,
        )
        .group_by(deliveries.c.sink)
    )
    return {str(sink): until for sink, until in rows}


def _queue(
    conn: Connection,
    item: Routed,
    sink: str,
    policy: SinkPolicy,
    delivery_id: str | None,
    now: datetime,
    due: datetime,
    *,
    update_of: str | None = None,
    changes: dict[str, list[str]] | None = None,
) -> int:
    """A pending delivery due at ``due`` (now, or when its sink's hold ends), or for a
    digest sink an item waiting for its digest."""
    if policy.digest:
        conn.execute(
            digest_items.insert(),
            {
                "sink": sink,
                "match_id": item.match_id,
                "story_id": item.story_id,
                "watchlist": item.match.watchlist,
                "created_at": now,
                "digest_id": None,
            },
        )
        return 0
    conn.execute(
        deliveries.insert(),
        {
            "id": delivery_id or str(uuid.uuid4()),
            "match_id": item.match_id,
            "sink": sink,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": now,
            "update_of": update_of,
            "changes": changes,
        },
    )
    return 1
