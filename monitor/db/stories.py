"""Queries on ``stories``, ``story_signatures`` and ``story_bands``: assigning a stored
article to a story in the caller's (storing) transaction, listing recent stories, pruning
the band index (docs/stories.md, "Persistence")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, literal, select, text, tuple_

from monitor.alerts.payload import StoryRef
from monitor.db.schema import (
    UTCDateTime,
    articles,
    deliveries,
    matches,
    sources,
    stories,
    story_alerts,
    story_bands,
    story_signatures,
)
from monitor.stories import DEFAULT_CONFIG, Signature, StoryConfig, band_keys, similarity

__all__ = [
    "SCHEME",
    "STORY_LOCK",
    "StoryArticle",
    "StoryRow",
    "StoryToAssign",
    "assign_stories",
    "prune_bands",
    "recent_stories",
    "story_refs",
]

SCHEME = 1
"""The signature version stored with each row: changes whenever signatures change (num_perm,
shingle size, lead words, the text rules). Only signatures of the same scheme are compared."""

STORY_LOCK = 0x6E6D_7374_6F72_6965
"""PostgreSQL advisory lock key taken in the storing transaction before a story lookup, so
two instances storing variants of one text at the same moment cannot both start a story."""


@dataclass(frozen=True)
class StoryToAssign:
    """A just-inserted article: its id, its story signature and its time (published, else
    fetched)."""

    article_id: int
    signature: Signature
    at: datetime
    title: str


@dataclass(frozen=True)
class StoryArticle:
    article_id: int
    source_name: str
    title: str
    canonical_url: str | None
    at: datetime
    jaccard: float


@dataclass(frozen=True)
class StoryAlert:
    """What a sink was sent about a story: an alert (``first``, ``update``, ``all``) with its
    delivery's status, or an item of a digest (``digest``)."""

    sink: str
    watchlist: str
    kind: str
    delivery_id: str | None
    status: str | None
    entities: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class StoryRow:
    """A story read back for ``monitor stories``: its stored articles, oldest first, the
    watched entities they name, and what each sink was sent."""

    id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    article_count: int
    articles: tuple[StoryArticle, ...]
    entities: tuple[str, ...] = ()
    alerts: tuple[StoryAlert, ...] = ()

    @property
    def sources(self) -> list[str]:
        return sorted({a.source_name for a in self.articles})


def _names(text_: str) -> frozenset[str]:
    return frozenset(text_.split())


def _candidates(
    conn: Connection, sig: Signature, keys: Sequence[int], at: datetime, config: StoryConfig
) -> list[tuple[int, int, Signature]]:
    """(article id, story id, signature) of stored articles sharing a band with ``keys``,
    of the same scheme, within the window of ``at``."""
    low, high = at - config.window, at + config.window
    # The candidates sharing the most bands first (the most similar), at most max_candidates.
    band_hits = (
        select(story_bands.c.article_id)
        .where(tuple_(story_bands.c.band, story_bands.c.key).in_(list(enumerate(keys))))
        .where(story_bands.c.at.between(low, high))
        .group_by(story_bands.c.article_id)
        .order_by(func.count().desc(), story_bands.c.article_id)
        .limit(config.max_candidates)
    )
    rows = conn.execute(
        select(
            story_signatures.c.article_id,
            story_signatures.c.story_id,
            story_signatures.c.minhash,
            story_signatures.c.shingles,
            story_signatures.c.names,
            story_signatures.c.lead_names,
        )
        .where(story_signatures.c.article_id.in_(band_hits))
        .where(story_signatures.c.scheme == SCHEME)
        .where(story_signatures.c.at.between(low, high))
        .order_by(story_signatures.c.article_id)
    )
    return [
        (
            int(row.article_id),
            int(row.story_id),
            Signature.from_bytes(
                bytes(row.minhash), row.shingles, _names(row.names), _names(row.lead_names)
            ),
        )
        for row in rows
    ]


def _best(
    sig: Signature, candidates: Sequence[tuple[int, int, Signature]], config: StoryConfig
) -> tuple[int, int, float] | None:
    """(article id, story id, Jaccard) of the accepted candidate with the highest estimated
    Jaccard (the earliest stored on a tie), or None: `same_story`, vectorised by hand."""
    best: tuple[int, int, float] | None = None
    for article_id, story_id, other in candidates:
        jaccard, contained = similarity(sig, other)
        if jaccard < config.same_story and not (
            jaccard >= config.contained_floor and contained >= config.contained
        ):
            continue
        if config.names_guard and sig.names_conflict(other):
            continue
        if best is None or jaccard > best[2]:
            best = (article_id, story_id, jaccard)
    return best


def assign_stories(
    conn: Connection,
    items: Sequence[StoryToAssign],
    now: datetime,
    *,
    postgresql: bool,
    config: StoryConfig = DEFAULT_CONFIG,
) -> list[int]:
    """Assign each just-inserted article to the story of its closest stored match within
    the window, else to a new story, in order (a later item may join an earlier one's
    story); store its signature and band keys. The story id of each item."""
    if not items:
        return []
    if postgresql:
        # Serialise assignment across instances; released at commit or rollback. SQLite has
        # one writer, so its write transaction already does this.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK})
    assigned = []
    for item in items:
        sig = item.signature
        keys = band_keys(sig, config) if sig.size >= config.min_shingles else []
        found = _best(sig, _candidates(conn, sig, keys, item.at, config), config) if keys else None
        if found is None:
            story_id = int(
                conn.execute(
                    stories.insert().returning(stories.c.id),
                    {
                        "first_article_id": item.article_id,
                        "title": item.title,
                        "first_seen_at": item.at,
                        "last_seen_at": item.at,
                        "article_count": 1,
                    },
                ).scalar_one()
            )
            matched, jaccard = None, 1.0
        else:
            matched, story_id, jaccard = found
            at = literal(item.at, UTCDateTime())
            sqlite = conn.dialect.name == "sqlite"
            conn.execute(
                stories.update()
                .where(stories.c.id == story_id)
                .values(
                    article_count=stories.c.article_count + 1,
                    last_seen_at=(func.max if sqlite else func.greatest)(
                        stories.c.last_seen_at, at, type_=UTCDateTime()
                    ),
                    first_seen_at=(func.min if sqlite else func.least)(
                        stories.c.first_seen_at, at, type_=UTCDateTime()
                    ),
                )
            )
        conn.execute(
            story_signatures.insert(),
            {
                "article_id": item.article_id,
                "story_id": story_id,
                "matched_id": matched,
                "jaccard": jaccard,
                "at": item.at,
                "fetched_at": now,
                "scheme": SCHEME,
                "minhash": sig.to_bytes(),
                "shingles": sig.size,
                "names": " ".join(sorted(sig.names)),
                "lead_names": " ".join(sorted(sig.lead_names)),
            },
        )
        if keys:
            conn.execute(
                story_bands.insert(),
                [
                    {
                        "band": band,
                        "key": key,
                        "article_id": item.article_id,
                        "story_id": story_id,
                        "at": item.at,
                        "fetched_at": now,
                    }
                    for band, key in enumerate(keys)
                ],
            )
        assigned.append(story_id)
    return assigned


def prune_bands(conn: Connection, before: datetime) -> int:
    """Delete band rows fetched before ``before``: they can no longer match a new article."""
    return conn.execute(story_bands.delete().where(story_bands.c.fetched_at < before)).rowcount


def delete_for_articles(conn: Connection, article_ids: Sequence[int]) -> None:
    """The story rows of articles about to be deleted (the foreign keys cascade too)."""
    conn.execute(story_bands.delete().where(story_bands.c.article_id.in_(article_ids)))
    conn.execute(story_signatures.delete().where(story_signatures.c.article_id.in_(article_ids)))


def forget_empty_stories(conn: Connection) -> int:
    """Delete the stories that no stored article belongs to any more."""
    members = select(story_signatures.c.story_id)
    return conn.execute(stories.delete().where(stories.c.id.not_in(members))).rowcount


def recent_stories(conn: Connection, since: datetime | None) -> list[StoryRow]:
    """Stories with an article fetched at or after ``since`` (all when None), the latest
    published first, with their stored articles."""
    query = select(stories)
    if since is not None:
        fetched = select(story_signatures.c.story_id).where(story_signatures.c.fetched_at >= since)
        query = query.where(stories.c.id.in_(fetched))
    rows = list(conn.execute(query.order_by(stories.c.last_seen_at.desc(), stories.c.id.desc())))
    if not rows:
        return []
    members: dict[int, list[StoryArticle]] = {}
    entities: dict[int, set[str]] = {}
    alerts: dict[int, list[StoryAlert]] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found = conn.execute(
            select(
                story_signatures.c.story_id,
                story_signatures.c.article_id,
                story_signatures.c.at,
                story_signatures.c.jaccard,
                sources.c.name,
                articles.c.title,
                articles.c.canonical_url,
            )
            .join(articles, articles.c.id == story_signatures.c.article_id)
            .join(sources, sources.c.id == articles.c.source_id)
            .where(story_signatures.c.story_id.in_(chunk))
            .order_by(story_signatures.c.at, story_signatures.c.article_id)
        )
        for m in found:
            members.setdefault(m.story_id, []).append(
                StoryArticle(m.article_id, m.name, m.title, m.canonical_url, m.at, m.jaccard)
            )
        for e in conn.execute(
            select(story_signatures.c.story_id, matches.c.watchlist, matches.c.entities)
            .join(matches, matches.c.article_id == story_signatures.c.article_id)
            .where(story_signatures.c.story_id.in_(chunk))
        ):
            entities.setdefault(e.story_id, set()).update(
                f"{e.watchlist}/{entity}" for entity in e.entities
            )
        for a in conn.execute(
            select(
                story_alerts.c.story_id,
                story_alerts.c.sink,
                story_alerts.c.watchlist,
                story_alerts.c.kind,
                story_alerts.c.delivery_id,
                deliveries.c.status,
                story_alerts.c.entities,
                story_alerts.c.created_at,
            )
            .outerjoin(deliveries, deliveries.c.id == story_alerts.c.delivery_id)
            .where(story_alerts.c.story_id.in_(chunk))
            .order_by(story_alerts.c.id)
        ):
            alerts.setdefault(a.story_id, []).append(
                StoryAlert(
                    a.sink,
                    a.watchlist,
                    a.kind,
                    a.delivery_id,
                    a.status,
                    tuple(a.entities),
                    a.created_at,
                )
            )
    return [
        StoryRow(
            id=row.id,
            title=row.title,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            article_count=row.article_count,
            articles=tuple(members.get(row.id, ())),
            entities=tuple(sorted(entities.get(row.id, ()))),
            alerts=tuple(alerts.get(row.id, ())),
        )
        for row in rows
    ]


def story_refs(conn: Connection, story_ids: set[int]) -> dict[int, StoryRef]:
    """The payload's view of these stories now: article count, sources, first seen."""
    if not story_ids:
        return {}
    ids = sorted(story_ids)
    found: dict[int, set[str]] = {}
    for row in conn.execute(
        select(story_signatures.c.story_id, sources.c.name)
        .distinct()
        .join(articles, articles.c.id == story_signatures.c.article_id)
        .join(sources, sources.c.id == articles.c.source_id)
        .where(story_signatures.c.story_id.in_(ids))
    ):
        found.setdefault(int(row.story_id), set()).add(str(row.name))
    return {
        int(row.id): StoryRef(
            id=int(row.id),
            articles=int(row.article_count),
            sources=tuple(sorted(found.get(int(row.id), ()))),
            first_seen=row.first_seen_at,
        )
        for row in conn.execute(select(stories).where(stories.c.id.in_(ids)))
    }
