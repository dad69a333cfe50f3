"""Queries on ``stories``, ``story_signatures`` and ``story_bands``: assigning a stored
article to a story in the caller's (storing) transaction, listing recent stories, pruning
the band index (docs/stories.md, "Persistence")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, literal, select, text

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


@dataclass
class _Stored:
    """A stored article as the lookup needs it: its story, time and signature."""

    story_id: int
    at: datetime
    signature: Signature


# The latest PER_KEY articles of each key: a key shared by hundreds of articles (a story
# carried everywhere, or stock wording) names its story through its latest members.
PER_KEY = 8
_RANKED = (
    select(
        story_bands.c.key,
        story_bands.c.article_id,
        func.row_number()
        .over(partition_by=story_bands.c.key, order_by=story_bands.c.article_id.desc())
        .label("rank"),
    )
    .where(story_bands.c.key.in_(bindparam("keys", expanding=True)))
    .where(story_bands.c.at.between(bindparam("low"), bindparam("high")))
    .subquery()
)
_BAND_HITS = select(_RANKED.c.key, _RANKED.c.article_id).where(_RANKED.c.rank <= PER_KEY)
_SIGNATURES = select(
    story_signatures.c.article_id,
    story_signatures.c.story_id,
    story_signatures.c.at,
    story_signatures.c.minhash,
    story_signatures.c.shingles,
    story_signatures.c.names,
    story_signatures.c.lead_names,
).where(
    story_signatures.c.article_id.in_(bindparam("ids", expanding=True)),
    story_signatures.c.scheme == SCHEME,
)
_CHUNK = 2000  # bound values per statement (SQLite allows 32766)


def _band_hits(
    conn: Connection, keys: set[int], low: datetime, high: datetime
) -> dict[int, list[int]]:
    """Stored article ids per band key, for the keys given, published between low and high
    (one indexed query per chunk of keys, whatever the number of articles)."""
    hits: dict[int, list[int]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for row in conn.execute(_BAND_HITS, {"keys": chunk, "low": low, "high": high}):
            hits.setdefault(int(row.key), []).append(int(row.article_id))
    return hits


def _signatures(conn: Connection, ids: set[int]) -> dict[int, _Stored]:
    found: dict[int, _Stored] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        for row in conn.execute(_SIGNATURES, {"ids": ordered[start : start + _CHUNK]}):
            found[int(row.article_id)] = _Stored(
                int(row.story_id),
                row.at,
                Signature.from_bytes(
                    bytes(row.minhash), row.shingles, _names(row.names), _names(row.lead_names)
                ),
            )
    return found


def _candidates(
    keys: Sequence[int],
    at: datetime,
    hits: Mapping[int, Sequence[int]],
    stored: Mapping[int, _Stored],
    config: StoryConfig,
) -> list[tuple[int, int, Signature]]:
    """(article id, story id, signature) of the articles sharing the most bands with
    ``keys`` (at most ``max_candidates``) within the window of ``at``, in id order."""
    shared = Counter(article for key in keys for article in hits.get(key, ()))
    near = [
        (article, count)
        for article, count in shared.items()
        if article in stored and abs(stored[article].at - at) <= config.window
    ]
    near.sort(key=lambda pair: (-pair[1], pair[0]))
    chosen = sorted(article for article, _ in near[: config.max_candidates])
    return [(a, stored[a].story_id, stored[a].signature) for a in chosen]


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
    story); store its signature and band keys. The story id of each item. Two indexed reads
    for the whole batch (band hits, then the candidates' signatures), then the writes."""
    if not items:
        return []
    if postgresql:
        # Serialise assignment across instances; released at commit or rollback. SQLite has
        # one writer, so its write transaction already does this.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK})
    keys_of = [
        band_keys(item.signature, config) if item.signature.size >= config.min_shingles else []
        for item in items
    ]
    wanted = {key for keys in keys_of for key in keys}
    low = min(item.at for item in items) - config.window
    high = max(item.at for item in items) + config.window
    hits = _band_hits(conn, wanted, low, high) if wanted else {}
    # Only the signatures of each item's best candidates (the most shared bands) are read.
    shared = [Counter(a for key in keys for a in hits.get(key, ())) for keys in keys_of]
    best = {a for counts in shared for a, _ in counts.most_common(config.max_candidates)}
    stored = _signatures(conn, best)
    assigned: list[int] = []
    signature_rows: list[dict[str, object]] = []
    band_rows: list[dict[str, object]] = []
    for item, keys in zip(items, keys_of, strict=True):
        sig = item.signature
        found = (
            _best(sig, _candidates(keys, item.at, hits, stored, config), config) if keys else None
        )
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
        signature_rows.append(
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
            }
        )
        # A near-copy of the article it joined adds nothing to the index (config.redundant).
        redundant = (
            found is not None
            and found[2] >= config.redundant
            and abs(item.at - stored[found[0]].at) <= config.window / 2
        )
        indexed = [] if redundant else keys
        for band, key in enumerate(indexed):
            band_rows.append(
                {
                    "band": band,
                    "key": key,
                    "article_id": item.article_id,
                    "story_id": story_id,
                    "at": item.at,
                    "fetched_at": now,
                }
            )
            hits.setdefault(key, []).append(item.article_id)  # later items of the batch see it
        stored[item.article_id] = _Stored(story_id, item.at, sig)
        assigned.append(story_id)
    conn.execute(story_signatures.insert(), signature_rows)
    _insert_bands(conn, band_rows)
    return assigned


def _insert_bands(conn: Connection, rows: list[dict[str, object]]) -> None:
    """42 rows per article: the DB-API's executemany with values converted once per article
    (``conn.execute`` would convert both datetimes of every row, which was most of the cost
    of storing an article's story)."""
    if not rows:
        return
    compiled = story_bands.insert().compile(dialect=conn.dialect, column_keys=list(rows[0]))
    convert = story_bands.c.at.type._cached_bind_processor(conn.dialect)  # noqa: SLF001
    converted: dict[object, object] = {}

    def value(row: dict[str, object], key: str) -> object:
        raw = row[key]
        if key not in ("at", "fetched_at") or convert is None:
            return raw
        if raw not in converted:
            converted[raw] = convert(raw)
        return converted[raw]

    if compiled.positional:
        order = compiled.positiontup or []
        params: list[object] = [tuple(value(row, key) for key in order) for row in rows]
    else:
        params = [{key: value(row, key) for key in row} for row in rows]
    conn.exec_driver_sql(compiled.string, params)


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
