"""Queries on ``stories``, ``story_signatures`` and ``story_band_keys``: assigning a stored
article to a story in the caller's (storing) transaction, listing recent stories, pruning
the band index (docs/stories.md, "Persistence")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Insert,
    Select,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
    type_coerce,
)

from monitor.alerts.payload import StoryRef
from monitor.db.engine import in_list, insert_with_ids, list_value
from monitor.db.schema import (
    UTCDateTime,
    articles,
    deliveries,
    matches,
    sources,
    stories,
    story_alerts,
    story_band_keys,
    story_band_keys_recent,
    story_signatures,
)
from monitor.stories import DEFAULT_CONFIG, Signature, StoryConfig, band_keys, similarity
from monitor.stories.decision import accepted, headline_rules

__all__ = [
    "MERGE_ARTICLES",
    "SCHEME",
    "STORY_LOCK",
    "StoryArticle",
    "StoryRow",
    "StoryToAssign",
    "assign_stories",
    "count_recent_stories",
    "lock_stories",
    "prune_bands",
    "recent_stories",
    "story_refs",
]

SCHEME = 1
"""The signature version stored with each row: changes when signatures of one text stop
being comparable (num_perm, shingle size, the hashing). Only signatures of the same scheme
are compared. A refinement of the text rules that changes a few shingles of some articles
(the stock-text rule, the outlet's name after a headline, 2026-12-06) keeps it: an article's
old and new signatures stay close, where a new scheme would split every story in progress
at the upgrade."""

MERGE_ARTICLES = 500
"""Band rows wait in ``story_band_keys_recent`` until the newest article is this many ids past
the oldest one there (about 21,000 rows), then move into ``story_band_keys`` in key order: a
merge writes each touched page of the large table once, where rows inserted per feed had
written most of its pages at every feed (docs/stories.md, "Persistence")."""

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
class _Growth:
    """What a batch adds to a story: articles, and the earliest and latest of their times."""

    count: int
    first: datetime
    last: datetime

    def add(self, at: datetime) -> None:
        self.count += 1
        self.first = min(self.first, at)
        self.last = max(self.last, at)


@dataclass
class _Stored:
    """A stored article as the lookup needs it: its story, time and signature. The
    signature's names are read from their stored text only when a candidate is similar
    enough for the names guard to look at them (most are not: parsing them for every
    candidate was 7 % of the lookup)."""

    story_id: int
    at: datetime
    signature: Signature
    names_text: tuple[str, str] | None = None  # (names, lead names) as stored, until read

    def with_names(self) -> Signature:
        if self.names_text is not None:
            names, lead_names = self.names_text
            self.signature = replace(
                self.signature, names=_names(names), lead_names=_names(lead_names)
            )
            self.names_text = None
        return self.signature


# The carriers' time comes from their signature (a band row is only the key and the
# article), read as the driver gives it and converted once per distinct value: converting
# every row was most of the lookup's cost. A row whose article is gone joins no signature.
# One query per level of the index; the keys and ids are one bound list each (`in_list`).
@cache
def _band_hits_queries(dialect: str) -> list[Select[Any]]:
    return [
        select(table.c.key, table.c.article_id, type_coerce(story_signatures.c.at, String))
        .join(story_signatures, story_signatures.c.article_id == table.c.article_id)
        .where(
            in_list(table.c.key, "keys", dialect),
            story_signatures.c.at.between(bindparam("low"), bindparam("high")),
        )
        for table in (story_band_keys, story_band_keys_recent)
    ]


@cache
def _signatures_query(dialect: str) -> Select[Any]:
    return select(
        story_signatures.c.article_id,
        story_signatures.c.story_id,
        type_coerce(story_signatures.c.at, String),
        story_signatures.c.minhash,
        story_signatures.c.shingles,
        story_signatures.c.names,
        story_signatures.c.lead_names,
    ).where(
        in_list(story_signatures.c.article_id, "ids", dialect),
        story_signatures.c.scheme == SCHEME,
    )


_AT = UTCDateTime()
_CHUNK = 2000  # bound values per statement (SQLite allows 32766)

Hits = dict[int, list[tuple[int, datetime]]]
"""(article id, published) of the stored articles carrying each band key."""


def _band_hits(
    conn: Connection, keys: set[int], low: datetime, high: datetime, per_key: int
) -> Hits:
    """Stored articles per band key, for the keys given, published between low and high
    (one indexed query per chunk of keys, whatever the number of articles)."""
    hits: Hits = {}
    times: dict[object, datetime] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        values = list_value(chunk, conn.dialect.name)
        for query in _band_hits_queries(conn.dialect.name):
            rows = conn.execute(query, {"keys": values, "low": low, "high": high}).all()
            for key, article_id, raw in rows:
                carriers = hits.setdefault(key, [])
                carrier = (article_id, _time(raw, times, conn))
                if carrier not in carriers:  # in both levels: an id SQLite gave again
                    carriers.append(carrier)
    for key, carriers in hits.items():
        if len(carriers) > 4 * per_key:  # a key crowded before the cap held: the latest
            hits[key] = sorted(carriers)[-4 * per_key :]
    return hits


def _time(raw: object, seen: dict[object, datetime], conn: Connection) -> datetime:
    """A stored ``at`` as the driver gave it, converted once per distinct value."""
    at = seen.get(raw)
    if at is None:
        converted = _AT.process_result_value(raw, conn.dialect)
        assert converted is not None  # the column is NOT NULL
        at = seen[raw] = converted
    return at


def _signatures(conn: Connection, ids: set[int]) -> dict[int, _Stored]:
    found: dict[int, _Stored] = {}
    times: dict[object, datetime] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        ids_value = list_value(ordered[start : start + _CHUNK], conn.dialect.name)
        rows = conn.execute(_signatures_query(conn.dialect.name), {"ids": ids_value}).all()
        for article_id, story_id, raw, minhash, shingles, names, lead_names in rows:
            found[article_id] = _Stored(
                story_id,
                _time(raw, times, conn),
                Signature(bytes(minhash), shingles),
                (names, lead_names),
            )
    return found


def _shared(keys: Sequence[int], at: datetime, hits: Hits, config: StoryConfig) -> Counter[int]:
    """Stored articles published within the window of ``at``, with how many of ``keys``
    (bands) they share."""
    return Counter(
        article
        for key in keys
        for article, published in hits.get(key, ())
        if abs(published - at) <= config.window
    )


def _candidates(
    shared: Counter[int],
    headline: set[int],
    stored: Mapping[int, _Stored],
    config: StoryConfig,
) -> list[tuple[int, _Stored]]:
    """(article id, stored article) of the articles sharing the most bands (at most
    ``max_candidates``) and of those under the same headline, in id order."""
    near = sorted((p for p in shared.items() if p[0] in stored), key=lambda p: (-p[1], p[0]))
    chosen = {a for a, _ in near[: config.max_candidates]} | (headline & stored.keys())
    return [(a, stored[a]) for a in sorted(chosen)]


def _same_headline(sig: Signature, at: datetime, hits: Hits, config: StoryConfig) -> set[int]:
    """Stored articles under the headline of ``sig`` (its key: `headline_key`), published
    within the window of ``at``."""
    if sig.headline is None:
        return set()
    return {
        a for a, published in hits.get(sig.headline, ()) if abs(published - at) <= config.window
    }


def _headline_rules(
    sig: Signature, carriers: set[int], stored: Mapping[int, _Stored]
) -> tuple[set[int], set[int]]:
    """`headline_rules` over the stored carriers of the headline of ``sig`` (a stored row
    has no title size, but under one headline the title's shingles are those of ``sig``)."""
    return headline_rules(
        sig,
        {
            a: (stored[a].story_id, stored[a].signature.size <= sig.title_size)
            for a in carriers
            if a in stored
        },
    )


def _best(
    sig: Signature,
    candidates: Sequence[tuple[int, _Stored]],
    headline: set[int],
    aside: set[int],
    config: StoryConfig,
) -> tuple[int, int, float] | None:
    """(article id, story id, Jaccard) of the accepted candidate with the highest estimated
    Jaccard (the earliest stored on a tie), or None: `same_story`, vectorised by hand
    (``headline``: the candidates the headline alone makes one story with it; ``aside``:
    those not to judge by: `headline_rules`)."""
    best: tuple[int, int, float] | None = None
    for article_id, candidate in candidates:
        if article_id in aside:
            continue
        jaccard, contained = similarity(sig, candidate.signature)
        if not accepted(jaccard, contained, article_id in headline, config):
            continue
        if config.names_guard and sig.names_conflict(candidate.with_names()):
            continue
        if best is None or jaccard > best[2]:
            best = (article_id, candidate.story_id, jaccard)
    return best


def _crowded(key: int, at: datetime, hits: Hits, config: StoryConfig) -> bool:
    """Whether ``per_key`` stored articles published within half the window of ``at``
    already carry ``key``: one more adds nothing a lookup needs (docs/stories.md,
    "Persistence"). Half: carriers are renewed before the first leave the window."""
    half = config.window / 2
    near = sum(1 for _, published in hits.get(key, ()) if abs(published - at) <= half)
    return near >= config.per_key


def _band_keys(sig: Signature, config: StoryConfig) -> list[int]:
    """The band keys of ``sig`` (none below ``min_shingles``): those its parsing worker
    made when they are for this config, else hashed here."""
    if sig.size < config.min_shingles:
        return []
    if sig.bands is not None and (config is DEFAULT_CONFIG or config == DEFAULT_CONFIG):
        return list(sig.bands)
    return band_keys(sig, config)


def lock_stories(conn: Connection) -> None:
    """PostgreSQL: serialise story assignment and routing across instances, until the
    transaction ends. SQLite has one writer, so its write transaction already does this."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK})


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
    story); store its signature and band keys. The story id of each item.

    Two indexed reads for the whole batch (band hits, then the candidates' signatures),
    the decisions in memory (a new story gets a stand-in id, below zero), then one
    statement per table: new stories, grown stories, signatures, band rows."""
    if not items:
        return []
    if postgresql:
        lock_stories(conn)
    keys_of = [_band_keys(item.signature, config) for item in items]
    wanted = {key for keys in keys_of for key in keys}
    low = min(item.at for item in items) - config.window
    high = max(item.at for item in items) + config.window
    hits = _band_hits(conn, wanted, low, high, config.per_key) if wanted else {}
    # Only the signatures of each item's best candidates (the most shared bands) are read.
    shared_of = [_shared(k, item.at, hits, config) for item, k in zip(items, keys_of, strict=True)]
    headline_of = [_same_headline(item.signature, item.at, hits, config) for item in items]
    best = {a for shared in shared_of for a, _ in shared.most_common(config.max_candidates)}
    stored = _signatures(conn, best.union(*headline_of))
    new: dict[int, tuple[StoryToAssign, _Growth]] = {}  # stand-in id -> first article
    grown: dict[int, _Growth] = {}  # stored story id -> what this batch adds
    assigned: list[int] = []
    signature_rows: list[dict[str, Any]] = []
    band_rows: list[tuple[int, int]] = []  # (key, article id)
    for item, keys in zip(items, keys_of, strict=True):
        sig = item.signature
        shared = _shared(keys, item.at, hits, config)  # earlier items of the batch count
        headline = _same_headline(sig, item.at, hits, config)
        candidates = _candidates(shared, headline, stored, config)
        decides, aside = _headline_rules(sig, headline, stored)
        found = _best(sig, candidates, decides, aside, config) if keys else None
        if found is None:
            story_id = -1 - len(new)
            new[story_id] = (item, _Growth(1, item.at, item.at))
            matched, jaccard = None, 1.0
        else:
            matched, story_id, jaccard = found
            if story_id < 0:
                new[story_id][1].add(item.at)
            else:
                grown.setdefault(story_id, _Growth(0, item.at, item.at)).add(item.at)
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
        # A near-copy of the article it joined adds nothing to the index (config.redundant),
        # nor does a key already carried by per_key articles of the window.
        redundant = (
            found is not None
            and found[2] >= config.redundant
            and abs(item.at - stored[found[0]].at) <= config.window / 2
        )
        for key in () if redundant else keys:
            if key in hits and _crowded(key, item.at, hits, config):
                continue
            band_rows.append((key, item.article_id))
            hits.setdefault(key, []).append((item.article_id, item.at))  # for later items
        stored[item.article_id] = _Stored(story_id, item.at, sig)
        assigned.append(story_id)
    real = _write_stories(conn, new, grown, postgresql=postgresql)
    for row in signature_rows:
        row["story_id"] = real.get(row["story_id"], row["story_id"])
    conn.execute(story_signatures.insert(), signature_rows)
    _insert_bands(conn, band_rows)
    _merge_recent_bands(conn, max(item.article_id for item in items))
    return [real.get(story_id, story_id) for story_id in assigned]


def _write_stories(
    conn: Connection,
    new: dict[int, tuple[StoryToAssign, _Growth]],
    grown: dict[int, _Growth],
    *,
    postgresql: bool,
) -> dict[int, int]:
    """Insert the new stories (one statement) and add to the stored ones (one statement);
    the real id of each stand-in id."""
    real: dict[int, int] = {}
    if new:
        rows = [
            {
                "first_article_id": first.article_id,
                "title": first.title,
                "first_seen_at": growth.first,
                "last_seen_at": growth.last,
                "article_count": growth.count,
            }
            for first, growth in new.values()
        ]
        # Each new story's first article is its own: the key that tells the rows apart.
        ids = insert_with_ids(conn, stories, rows, key=("first_article_id",))
        real = dict(zip(new, ids, strict=True))
    if grown:
        latest, earliest = (func.greatest, func.least) if postgresql else (func.max, func.min)
        conn.execute(
            stories.update()
            .where(stories.c.id == bindparam("id_"))
            .values(
                article_count=stories.c.article_count + bindparam("added"),
                last_seen_at=latest(
                    stories.c.last_seen_at,
                    bindparam("high", type_=UTCDateTime()),
                    type_=UTCDateTime(),
                ),
                first_seen_at=earliest(
                    stories.c.first_seen_at,
                    bindparam("low", type_=UTCDateTime()),
                    type_=UTCDateTime(),
                ),
            ),
            [
                {"id_": story_id, "added": g.count, "low": g.first, "high": g.last}
                for story_id, g in grown.items()
            ],
        )
    return real


def _adding(table: Table, dialect: Dialect) -> Insert:
    """An insert into a band table that skips a row already there. On SQLite an article id
    can come back (the highest id of a deleted article is reused) while the deleted
    article's band rows are still in the table: the same (key, article id) row then stands
    for the new article."""
    if dialect.name == "postgresql":
        # Imported here: its 20 modules cost 20 ms of every start on SQLite.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    return table.insert().prefix_with("OR IGNORE", dialect="sqlite")


def _insert_bands(conn: Connection, rows: list[tuple[int, int]]) -> None:
    """42 (key, article id) rows per article into ``story_band_keys_recent``: the DB-API's
    executemany on one statement compiled once (the rows are plain integers)."""
    if not rows:
        return
    compiled = _adding(story_band_keys_recent, conn.dialect).compile(
        dialect=conn.dialect, column_keys=["key", "article_id"]
    )
    params: list[Any]
    if compiled.positional:
        order = compiled.positiontup or []
        params = rows if order == ["key", "article_id"] else [r[::-1] for r in rows]
    else:
        params = [{"key": key, "article_id": article_id} for key, article_id in rows]
    conn.exec_driver_sql(compiled.string, params)


def _merge_recent_bands(conn: Connection, newest_article_id: int) -> None:
    """Move the recent band rows into ``story_band_keys``, in key order, once the newest
    article is `MERGE_ARTICLES` ids past the oldest one they hold (one read otherwise)."""
    oldest = conn.execute(select(func.min(story_band_keys_recent.c.article_id))).scalar()
    if oldest is None or newest_article_id - oldest < MERGE_ARTICLES:
        return
    recent = story_band_keys_recent
    moved = select(recent.c.key, recent.c.article_id).order_by(recent.c.key, recent.c.article_id)
    adding = _adding(story_band_keys, conn.dialect)
    conn.execute(adding.from_select(["key", "article_id"], moved))
    conn.execute(recent.delete())


def prune_bands(conn: Connection, before: datetime) -> int:
    """Delete the band rows of articles fetched before ``before`` (they can no longer match
    a new article) and of deleted articles older than the oldest one kept: every row below
    the first article id whose signature was fetched at or after ``before`` (ids grow with
    time). One scan of each level: the rows carry no time and no index on the article."""
    first_kept = conn.execute(
        select(func.min(story_signatures.c.article_id)).where(
            story_signatures.c.fetched_at >= before
        )
    ).scalar()
    return sum(
        conn.execute(
            table.delete()
            if first_kept is None
            else table.delete().where(table.c.article_id < first_kept)
        ).rowcount
        for table in (story_band_keys, story_band_keys_recent)
    )


def delete_for_articles(conn: Connection, article_ids: Sequence[int]) -> None:
    """The signatures of articles about to be deleted. Their band rows stay until
    `prune_bands` (no index reaches them by article): a lookup joins each row to its
    signature, so a row whose article is gone is never a candidate."""
    conn.execute(story_signatures.delete().where(story_signatures.c.article_id.in_(article_ids)))


def forget_empty_stories(conn: Connection) -> int:
    """Delete the stories that no stored article belongs to any more."""
    members = select(story_signatures.c.story_id)
    return conn.execute(stories.delete().where(stories.c.id.not_in(members))).rowcount


def _recent(since: datetime | None) -> Select[Any]:
    query = select(stories)
    if since is not None:
        fetched = select(story_signatures.c.story_id).where(story_signatures.c.fetched_at >= since)
        query = query.where(stories.c.id.in_(fetched))
    return query


def count_recent_stories(conn: Connection, since: datetime | None) -> int:
    """How many stories have an article fetched at or after ``since`` (all when None)."""
    counted = select(func.count()).select_from(_recent(since).subquery())
    return int(conn.execute(counted).scalar_one())


def recent_stories(
    conn: Connection, since: datetime | None, limit: int | None = None
) -> list[StoryRow]:
    """Stories with an article fetched at or after ``since`` (all when None), the latest
    published first (the first ``limit``), with their stored articles."""
    query = _recent(since).order_by(stories.c.last_seen_at.desc(), stories.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list(conn.execute(query))
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
