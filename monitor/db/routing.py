"""Which sinks hear of just-stored matches: each sink's filters and story policy
(`monitor.alerts.policy`), applied in the storing transaction; queues the deliveries and
digest items, and records what each sink was told about each story (``story_alerts``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Connection, func, or_, select

from monitor.alerts.policy import ALL, Sent, SinkPolicy, decide
from monitor.db.schema import (
    articles,
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


HistoryKey = tuple[int, str, str]
"""(story id, sink, watchlist): what a sink was told about a story, for a watchlist."""


def _histories(
    conn: Connection, items: Sequence[Routed], policies: Mapping[str, SinkPolicy]
) -> dict[HistoryKey, list[Sent]]:
    """What each sink whose policy looks at a story's history was already told about the
    stories of ``items``, oldest first: one query for the batch."""
    wanted = {
        (item.story_id, sink, item.match.watchlist)
        for item in items
        if item.story_id is not None
        for sink in item.sinks
        if policies.get(sink, ALL).stories != "all"
    }
    if not wanted:
        return {}
    rows = conn.execute(
        select(
            story_alerts.c.story_id,
            story_alerts.c.sink,
            story_alerts.c.watchlist,
            story_alerts.c.delivery_id,
            story_alerts.c.kind,
            story_alerts.c.entities,
            story_alerts.c.sources,
        )
        .where(story_alerts.c.story_id.in_(sorted({key[0] for key in wanted})))
        .where(story_alerts.c.sink.in_(sorted({key[1] for key in wanted})))
        .order_by(story_alerts.c.id)
    )
    found: dict[HistoryKey, list[Sent]] = {}
    for row in rows:
        key = (int(row.story_id), str(row.sink), str(row.watchlist))
        if key in wanted:
            found.setdefault(key, []).append(
                _sent(row.delivery_id, row.kind, row.entities, row.sources)
            )
    return found


TellKey = tuple[int, str, str, str]
"""(story id, sink, watchlist, `link_identity` of the article's link): an article a ``stories: all``
sink was told of."""


# Host prefixes of one site's editions of a page: the desktop, mobile and AMP copies.
_EDITIONS = ("www.", "m.", "amp.", "mobile.")


def _page(url: str) -> tuple[str, str, str] | None:
    """An http(s) link's host without an edition prefix, its path without a trailing slash,
    and its query (with its ``?``); None for a link that is not one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.lower()
    for prefix in _EDITIONS:
        if host.startswith(prefix):
            host = host[len(prefix) :]
            break
    return host, parts.path.rstrip("/"), f"?{parts.query}" if parts.query else ""


def link_identity(url: str) -> str:
    """One page's identity across its link variants (canonical links, `canonical_url`): the
    scheme, a ``www.``/``m.``/``amp.`` host prefix and a trailing slash left out. Two feeds
    of one outlet link one article as ``https://www.x.org/a/`` and ``http://x.org/a``
    (an outside probe, probe80 #3)."""
    page = _page(url)
    return url if page is None else "".join(page)


def _variants(url: str) -> set[str]:
    """The canonical links that `link_identity` takes for the same page as ``url``."""
    page = _page(url)
    if page is None:
        return {url}
    host, path, query = page
    return {
        f"{scheme}://{edition}{host}{ending}{query}"
        for scheme in ("http", "https")
        for edition in ("", *_EDITIONS)
        for ending in ({path, path + "/"} if path else {"/"})
    } | {url}


@dataclass
class TellHistory:
    """For the sinks with ``stories: all``: the link of each item's article; which (story,
    sink, watchlist, link) they were already told of, with the entities told; and the
    first alert sent of each, which a revision's alert follows (``update_of``)."""

    links: dict[int, str]
    told: dict[TellKey, set[str]]
    first: dict[TellKey, str]


def _told_links(
    conn: Connection, items: Sequence[Routed], policies: Mapping[str, SinkPolicy]
) -> TellHistory:
    """What `TellHistory` holds for ``items``. One article is one alert for a ``stories:
    all`` sink even when two feeds carry it (an outlet's world and Africa feeds, the same
    link): each feed stores its own copy, and both copies alerted (an outside probe); a
    revision of it that names an entity not told of is an alert again (an edit that first
    names Haftar: probe65 D1), which follows the first alert of that link."""
    history = TellHistory({}, {}, {})
    wanted = [
        item
        for item in items
        if item.story_id is not None
        and any(policies.get(sink, ALL).stories == "all" for sink in item.sinks)
    ]
    if not wanted:
        return history
    stored_links = {
        int(row.id): str(row.canonical_url)
        for row in conn.execute(
            select(articles.c.id, articles.c.canonical_url).where(
                articles.c.id.in_(sorted({item.article_id for item in wanted})),
                articles.c.canonical_url.is_not(None),
            )
        )
    }
    if not stored_links:
        return history
    history.links = {article: link_identity(link) for article, link in stored_links.items()}
    variants = sorted({v for link in stored_links.values() for v in _variants(link)})
    rows = conn.execute(
        select(
            story_alerts.c.story_id,
            story_alerts.c.sink,
            story_alerts.c.watchlist,
            story_alerts.c.entities,
            story_alerts.c.delivery_id,
            articles.c.canonical_url,
        )
        .join(articles, articles.c.id == story_alerts.c.article_id)
        .where(story_alerts.c.story_id.in_(sorted({item.story_id for item in wanted})))
        .where(articles.c.canonical_url.in_(variants))
        .order_by(story_alerts.c.id)
    )
    for r in rows:
        key = (int(r.story_id), str(r.sink), str(r.watchlist), link_identity(r.canonical_url))
        history.told.setdefault(key, set()).update(r.entities or ())
        if r.delivery_id is not None:
            history.first.setdefault(key, str(r.delivery_id))
    return history


def _sent(
    delivery_id: str | None, kind: str, entities: Collection[str], sources: Collection[str]
) -> Sent:
    """A ``story_alerts`` row as the policy reads it (a digest item counts as ``all``)."""
    return Sent(
        str(delivery_id or ""),
        "first" if kind == "first" else "update" if kind == "update" else "all",
        frozenset(entities),
        frozenset(sources),
    )


@dataclass(frozen=True)
class Routing:
    """What `route` did: deliveries (and digest items) queued, and matches with sinks that
    queued nothing, their story being one those sinks were told of already."""

    queued: int
    told_before: int


def route(
    conn: Connection,
    items: Sequence[Routed],
    policies: Mapping[str, SinkPolicy],
    now: datetime,
) -> Routing:
    """Queue a delivery (or a digest item) per (match, sink) that the sink's policy lets
    through, in order; how many were queued, and how many matches their story held back.
    A sink with no policy gets every match (``all``).
    Callers serialise story routing across instances (the story lock, PostgreSQL).

    Two reads for the batch (the stories' sources, what each sink was told of them), the
    decisions in memory (a later match sees what an earlier one queued), then one insert
    per table: a feed's alerts cost the same few statements however many there are."""
    # The stories' sources now (this transaction's articles included), in one query; only
    # for matches that some sink may hear of.
    stories = story_refs(
        conn, {item.story_id for item in items if item.story_id is not None and item.sinks}
    )
    # A sink whose receiver asked to wait: what is queued now waits with the rest.
    holds = sink_holds(conn, {sink for item in items for sink in item.sinks}, now)
    histories = _histories(conn, items, policies)
    tell = _told_links(conn, items, policies)
    queue = _Queue()
    told: list[dict[str, object]] = []
    told_before = 0
    for item in items:
        told_so_far = len(told)  # every delivery or digest item of a story is told
        for sink in item.sinks:
            policy = policies.get(sink, ALL)
            due = holds.get(sink, now)
            if item.story_id is None:  # not assigned to a story (not from store_feed)
                queue.add(item, sink, policy, None, now, due)
                continue
            story = stories.get(item.story_id)
            found = frozenset(story.sources) if story is not None else frozenset[str]()
            key = (item.story_id, sink, item.match.watchlist)
            decision = decide(
                policy,
                watchlist=item.match.watchlist,
                entities=item.match.entities,
                story_sources=found,
                history=histories.get(key, []) if policy.stories != "all" else [],
            )
            if decision is None:
                continue
            update_of, changes = decision.update_of, decision.changes()
            link = tell.links.get(item.article_id)
            seen = (item.story_id, sink, item.match.watchlist, link or "")
            if policy.stories == "all" and link is not None:
                told_here = tell.told.get(seen)
                if told_here is not None:
                    new_entities = sorted(set(item.match.entities) - told_here)
                    if not new_entities:
                        continue  # this article, from another feed, or an edit naming nothing new
                    # A revision that first names someone: it follows the link's first alert.
                    update_of = tell.first.get(seen)
                    if update_of is not None:
                        changes = {"entities": new_entities, "sources": []}
                tell.told.setdefault(seen, set()).update(item.match.entities)
            delivery_id = None if policy.digest else str(uuid.uuid4())
            if policy.stories == "all" and link is not None and delivery_id is not None:
                tell.first.setdefault(seen, delivery_id)
            queue.add(
                item,
                sink,
                policy,
                delivery_id,
                now,
                due,
                update_of=update_of,
                changes=changes,
            )
            kind = "digest" if policy.digest else decision.kind
            entities, sources = sorted(decision.entities), sorted(decision.sources)
            told.append(
                {
                    "story_id": item.story_id,
                    "watchlist": item.match.watchlist,
                    "sink": sink,
                    "kind": kind,
                    "delivery_id": delivery_id,
                    "article_id": item.article_id,
                    "entities": entities,
                    "sources": sources,
                    "created_at": now,
                }
            )
            # As the row will read back: the batch's later matches of this story see it.
            histories.setdefault(key, []).append(_sent(delivery_id, kind, entities, sources))
        if item.sinks and item.story_id is not None and len(told) == told_so_far:
            told_before += 1
    queue.write(conn)
    if told:
        conn.execute(story_alerts.insert(), told)
    return Routing(len(queue.deliveries), told_before)


# Failures whose receiver named a time to come back (a 429, a 503 with Retry-After): the
# delivery's next try holds its whole sink (`sink_holds`).
HOLDING_REASONS = ("rate_limited", "unavailable")


def sink_holds(conn: Connection, sinks: Collection[str], now: datetime) -> dict[str, datetime]:
    """Until when each of these sinks is held by its receiver's Retry-After (`hold_sink`),
    for the sinks held now: the latest next attempt of its pending deliveries not tried yet
    (only a hold puts one in the future: `hold_sink` moved them to the Retry-After's end);
    when there are none, that of the delivery refused with a 429 or a 503 with a Retry-After
    (`HOLDING_REASONS`: alone pending, a later `monitor once` sent its new alerts into the
    pause, an outside probe). Not that delivery's own next try when untried ones are held:
    it may be a retry slot half an hour after the hold (its third try), and alerts queued
    during a minute's hold showed, and after a restart kept, that time (an outside probe).
    A delivery queued meanwhile, by any process, is due then too, and after the ones held
    before it (the claim orders by due time, then queue time): the sink's order and its
    receiver's pause both hold."""
    if not sinks:
        return {}
    untried = deliveries.c.attempts == 0
    rows = conn.execute(
        select(deliveries.c.sink, untried.label("untried"), func.max(deliveries.c.next_attempt_at))
        .where(
            deliveries.c.sink.in_(sorted(sinks)),
            deliveries.c.status == "pending",
            or_(untried, deliveries.c.last_error_reason.in_(HOLDING_REASONS)),
            deliveries.c.next_attempt_at > now,
        )
        .group_by(deliveries.c.sink, untried)
    )
    holds: dict[str, datetime] = {}
    held_untried: set[str] = set()
    for sink, is_untried, until in rows:
        name = str(sink)
        if is_untried:
            holds[name] = until
            held_untried.add(name)
        elif name not in held_untried:
            holds[name] = until
    return holds


class _Queue:
    """The pending deliveries and digest items of one `route` call, inserted together."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, object]] = []
        self.digest_items: list[dict[str, object]] = []

    def add(
        self,
        item: Routed,
        sink: str,
        policy: SinkPolicy,
        delivery_id: str | None,
        now: datetime,
        due: datetime,
        *,
        update_of: str | None = None,
        changes: dict[str, list[str]] | None = None,
    ) -> None:
        """A pending delivery due at ``due`` (now, or when its sink's hold ends), or for a
        digest sink an item waiting for its digest."""
        if policy.digest:
            self.digest_items.append(
                {
                    "sink": sink,
                    "match_id": item.match_id,
                    "story_id": item.story_id,
                    "watchlist": item.match.watchlist,
                    "created_at": now,
                    "digest_id": None,
                }
            )
            return
        self.deliveries.append(
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
            }
        )

    def write(self, conn: Connection) -> None:
        if self.digest_items:
            conn.execute(digest_items.insert(), self.digest_items)
        if self.deliveries:
            conn.execute(deliveries.insert(), self.deliveries)
