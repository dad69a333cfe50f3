"""Queries on ``articles`` and ``matches``: storing an article with its matches and its pending
deliveries in the caller's (single) transaction, reading them back, retention."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, LargeBinary, Text, and_, case, func, or_, select

from monitor.alerts.payload import ArticleRef
from monitor.alerts.policy import SinkPolicy
from monitor.db import routing
from monitor.db import stories as story_queries
from monitor.db.engine import insert_with_ids
from monitor.db.schema import (
    articles,
    deliveries,
    digest_items,
    matches,
    sources,
    story_signatures,
)
from monitor.match import WatchlistMatch
from monitor.stories import Signature, signature
from monitor.text import cut_at_word, decode_leftover_entities, html_to_text, stand_in_title

# An entry dated further ahead than this is misdated: time zones and mislabelled zones put
# honest entries up to about 14 h ahead; one in 2099 is not news from the future. Such an
# entry is not recent on a first poll (``first_run: alert_recent``) and its story time is
# when it was fetched.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True)
class ArticleRecord:
    """A new article to store, its watchlist matches, and the sinks to alert per watchlist.
    ``fingerprint`` names its story (`monitor.parse.story_fingerprint`)."""

    entry_key: str
    canonical_url: str | None
    title: str
    summary: str
    content: str
    published_at: datetime | None
    content_hash: str
    fingerprint: str
    matches: tuple[WatchlistMatch, ...] = ()
    other_fingerprints: tuple[str, ...] = ()
    """The other fingerprints of its story (`monitor.parse.FeedEntry.fingerprints`)."""
    edit_fingerprint: str | None = None
    """Its link and time (`monitor.parse.FeedEntry.edit_fingerprint`): remembered, so that
    the article under a new guid with an edited text is known as an edit of it."""
    alert_sinks: Mapping[str, Sequence[str]] = field(default_factory=dict)
    story: Signature | None = None
    """Its story signature (`monitor.stories.signature`), made where the entry is parsed;
    None: made when it is stored."""

    @property
    def remembered(self) -> tuple[str, ...]:
        """The fingerprints it is remembered by once stored: its story's and its link and
        time."""
        edit = () if self.edit_fingerprint is None else (self.edit_fingerprint,)
        return (self.fingerprint, *self.other_fingerprints, *edit)

    def story_signature(self) -> Signature:
        if self.story is not None:
            return self.story
        return signature(self.title, self.summary, self.content)

    def story_time(self, now: datetime) -> datetime:
        """When it happened, for grouping it into a story: its date, or ``now`` (its fetch
        time) when it has none or is dated more than `FUTURE_TOLERANCE` ahead (an entry
        dated 2099 would never join its story's correctly dated copies)."""
        at = self.published_at
        return at if at is not None and at - now <= FUTURE_TOLERANCE else now


# The key of an edited entry's revision (an article of its own): its entry's key (hashed
# when the whole would not fit the column), this, and 16 hex of the revision's fingerprint.
REVISION_MARK = "#rev:"
ENTRY_KEY_LENGTH = 512  # the articles.entry_key and seen_keys.entry_key columns


def revision_key(entry_key: str, fingerprint: str) -> str:
    return f"{_revision_base(entry_key)}{REVISION_MARK}{fingerprint[:16]}"


def _revision_base(entry_key: str) -> str:
    if len(entry_key) + len(REVISION_MARK) + 16 <= ENTRY_KEY_LENGTH:
        return entry_key
    return hashed_key(entry_key)


def hashed_key(entry_key: str) -> str:
    """What is stored for a key too long for the column."""
    return "sha256:" + hashlib.sha256(entry_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredCounts:
    articles: int = 0
    matches: int = 0
    deliveries: int = 0
    # Matches that alerted no sink: their story had been told to those sinks already.
    told_before: int = 0


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


MAX_TITLE_CHARS = 500
"""An alert's title is cut at a word to this many characters: some feeds put a whole
article in the title."""


# The text an untitled article is named by (`alert_title`), selected as "summary": its
# summary, or without one the start of its content (a microblog's items carry only
# content; they alerted with an empty title: an outside probe, probe67).
naming_text = case(
    (articles.c.summary != "", articles.c.summary),
    else_=func.substr(articles.c.content, 1, 4000),
).label("summary")


def alert_title(title: str, summary: str) -> str:
    """An alert's title from a stored article's ``title`` and ``summary`` (HTML): its text
    (entities escaped twice decoded), cut to `MAX_TITLE_CHARS`; for an untitled article,
    its summary's first sentence. One line: a title's <br> or block is shown as a space."""
    text = decode_leftover_entities(html_to_text(title)).replace("\n", " ")
    return cut_at_word(text, MAX_TITLE_CHARS) or stand_in_title(summary)


def article_ref(row: Mapping[Any, Any]) -> ArticleRef:
    """The article an alert is about, from a row with ``article_id``, ``title``, ``url``,
    ``published_at``, ``source_name``, ``source_url`` and ``summary`` (stored fields are
    HTML), titled by `alert_title`."""
    return ArticleRef(
        id=row["article_id"],
        title=alert_title(row["title"], row.get("summary") or ""),
        url=row["url"],
        published=row["published_at"],
        source_name=row["source_name"],
        source_url=row["source_url"],
    )


@dataclass(frozen=True)
class StoredMatch:
    """A match row just inserted for a new article, with the sinks its watchlist alerts."""

    article_id: int
    match_id: int
    match: WatchlistMatch
    sinks: Sequence[str]


def store_articles(
    conn: Connection, source_id: int, records: Sequence[ArticleRecord], now: datetime
) -> tuple[list[int], list[StoredMatch]]:
    """Insert articles and their matches: two bulk statements, whatever the number of
    articles. The new articles' ids in the order of ``records``, and the match rows (their
    deliveries are queued by `monitor.db.routing.route`, once the stories are known)."""
    if not records:
        return [], []
    article_ids = insert_with_ids(
        conn,
        articles,
        [
            {
                "source_id": source_id,
                "entry_key": r.entry_key,
                "canonical_url": r.canonical_url,
                "title": r.title,
                "summary": r.summary,
                "content": r.content,
                "published_at": r.published_at,
                "fetched_at": now,
                "content_hash": r.content_hash,
            }
            for r in records
        ],
        key=("source_id", "entry_key"),  # unique (a constraint)
    )
    pairs = [
        (article_id, match, record.alert_sinks.get(match.watchlist, ()))
        for article_id, record in zip(article_ids, records, strict=True)
        for match in record.matches
    ]
    match_ids = _insert_match_rows(conn, [(a, m) for a, m, _ in pairs], now)
    stored = [
        StoredMatch(article_id, match_id, match, sinks)
        for (article_id, match, sinks), match_id in zip(pairs, match_ids, strict=True)
    ]
    return article_ids, stored


def stored_keys(conn: Connection, source_id: int, keys: Sequence[str]) -> set[str]:
    """Which of these entry keys a stored article of the source has: what the key check
    of `monitor.db.seen` did not know (an article a version without `seen_keys` stored
    after an upgrade: probe82), and the unique constraint would refuse."""
    found: set[str] = set()
    ordered = list(dict.fromkeys(keys))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update(
            conn.execute(
                select(articles.c.entry_key).where(
                    and_(articles.c.source_id == source_id, articles.c.entry_key.in_(chunk))
                )
            ).scalars()
        )
    return found


def _insert_match_rows(
    conn: Connection, pairs: Sequence[tuple[int, WatchlistMatch]], now: datetime
) -> list[int]:
    if not pairs:
        return []
    return insert_with_ids(
        conn,
        matches,
        [
            {
                "article_id": article_id,
                "watchlist": match.watchlist,
                "entities": list(match.entities),
                "detail": match.to_json(),
                "created_at": now,
            }
            for article_id, match in pairs
        ],
        key=("article_id", "watchlist"),  # unique (a constraint)
    )


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


def alerted_since(conn: Connection, source_id: int, since: datetime) -> int:
    """How many articles of the source fetched since ``since`` were queued an alert (to any
    sink): what `alert_max_per_hour` counts."""
    query = (
        select(func.count(func.distinct(articles.c.id)))
        .select_from(
            articles.join(matches, matches.c.article_id == articles.c.id).join(
                deliveries, deliveries.c.match_id == matches.c.id
            )
        )
        .where(articles.c.source_id == source_id, articles.c.fetched_at >= since)
    )
    return int(conn.execute(query).scalar_one())


def stored_bytes_since(conn: Connection, source_id: int, since: datetime) -> int:
    """Bytes of text (title, summary and content, UTF-8) of the source's articles fetched
    since ``since``, and of their match details (JSON): what `store_max_per_day` counts."""
    columns = (articles.c.title, articles.c.summary, articles.c.content)
    if conn.dialect.name == "postgresql":
        sizes = [func.octet_length(column) for column in columns]
        detail = func.octet_length(func.cast(matches.c.detail, Text))
    else:  # SQLite: length() of a blob counts bytes, of text characters
        sizes = [func.length(func.cast(column, LargeBinary)) for column in columns]
        detail = func.length(func.cast(matches.c.detail, LargeBinary))
    recent = (articles.c.source_id == source_id, articles.c.fetched_at >= since)
    text_query = select(func.coalesce(func.sum(sizes[0] + sizes[1] + sizes[2]), 0)).where(*recent)
    detail_query = (
        select(func.coalesce(func.sum(detail), 0))
        .select_from(matches.join(articles, articles.c.id == matches.c.article_id))
        .where(*recent)
    )
    return int(conn.execute(text_query).scalar_one()) + int(conn.execute(detail_query).scalar_one())


def articles_since(conn: Connection, since: datetime | None) -> list[StoredArticle]:
    """Stored articles fetched at or after ``since`` (all when None), oldest first."""
    query = select(*_ARTICLE_COLUMNS).join(sources, sources.c.id == articles.c.source_id)
    if since is not None:
        query = query.where(articles.c.fetched_at >= since)
    query = query.order_by(articles.c.fetched_at, articles.c.id)
    return [StoredArticle(**row._mapping) for row in conn.execute(query)]


def article_by_id(conn: Connection, article_id: int) -> StoredArticle | None:
    """The stored article with this id, or None."""
    query = (
        select(*_ARTICLE_COLUMNS)
        .join(sources, sources.c.id == articles.c.source_id)
        .where(articles.c.id == article_id)
    )
    row = conn.execute(query).first()
    return StoredArticle(**row._mapping) if row is not None else None


@dataclass(frozen=True)
class StoredVersions:
    """What the stored articles of one entry key (the first one and its revisions) were:
    their links, titles (HTML, as stored), the (watchlist, entity) pairs they matched, and
    their (title, summary, content) as stored, read as text only when asked (`had_text`),
    and their times of publication (None: one had none)."""

    links: frozenset[str | None]
    titles: frozenset[str]
    entities: frozenset[tuple[str, str]]
    fields: frozenset[tuple[str, str, str]] = frozenset()
    times: frozenset[datetime | None] = frozenset()

    @cached_property
    def _words(self) -> tuple[str, ...]:
        # Only for an edit that may name someone new: most changed entries never ask.
        return tuple(
            " ".join(html_to_text(part) for part in version).casefold() for version in self.fields
        )

    def had_text(self, surface: str) -> bool:
        """Whether a stored version already had ``surface`` (a mention's words) in it."""
        wanted = surface.casefold()
        return any(wanted in words for words in self._words)


def entities_at_links(
    conn: Connection, source_id: int, links: Sequence[str]
) -> dict[str, frozenset[tuple[str, str]]]:
    """The (watchlist, entity) pairs of this source's stored articles at these links,
    whatever their keys (a feed whose guids are the items' positions moves an article from
    key to key); a link with no stored article is not in the result."""
    found: dict[str, set[tuple[str, str]]] = {}
    ordered = list(dict.fromkeys(links))
    for start in range(0, len(ordered), 100):
        query = (
            select(articles.c.canonical_url, matches.c.watchlist, matches.c.entities)
            .outerjoin(matches, matches.c.article_id == articles.c.id)
            .where(
                and_(
                    articles.c.source_id == source_id,
                    articles.c.canonical_url.in_(ordered[start : start + 100]),
                )
            )
        )
        for url, watchlist, entities in conn.execute(query):
            pairs = found.setdefault(url, set())
            if watchlist is not None:
                pairs.update((watchlist, entity) for entity in entities)
    return {url: frozenset(pairs) for url, pairs in found.items()}


def stored_versions(
    conn: Connection, source_id: int, keys: Sequence[str]
) -> dict[str, StoredVersions]:
    """The stored versions of these entry keys, revisions included; a key none of whose
    articles is stored (retention deleted them) is not in the result."""
    found: dict[
        str,
        tuple[
            set[str | None],
            set[str],
            set[tuple[str, str]],
            set[tuple[str, str, str]],
            set[datetime | None],
        ],
    ] = {}
    ordered = list(dict.fromkeys(keys))
    for start in range(0, len(ordered), 100):
        chunk = ordered[start : start + 100]
        key_of = {key: key for key in chunk} | {_revision_base(key): key for key in chunk}
        wanted = or_(
            articles.c.entry_key.in_(chunk),
            *(
                articles.c.entry_key.startswith(
                    _revision_base(key) + REVISION_MARK, autoescape=True
                )
                for key in chunk
            ),
        )
        query = (
            select(
                articles.c.entry_key,
                articles.c.canonical_url,
                articles.c.title,
                articles.c.summary,
                articles.c.content,
                articles.c.published_at,
                matches.c.watchlist,
                matches.c.entities,
            )
            .outerjoin(matches, matches.c.article_id == articles.c.id)
            .where(and_(articles.c.source_id == source_id, wanted))
        )
        for (
            stored_key,
            url,
            title,
            summary,
            content,
            published,
            watchlist,
            entities,
        ) in conn.execute(query):
            key = key_of.get(stored_key) or key_of.get(stored_key.split(REVISION_MARK, 1)[0])
            if key is None:
                continue
            links, titles, pairs, versions, times = found.setdefault(
                key, (set(), set(), set(), set(), set())
            )
            links.add(url)
            times.add(published)
            titles.add(title)
            versions.add((title, summary or "", content or ""))
            if watchlist is not None:
                pairs.update((watchlist, entity) for entity in entities)
    return {
        key: StoredVersions(
            frozenset(links),
            frozenset(titles),
            frozenset(pairs),
            frozenset(versions),
            frozenset(times),
        )
        for key, (links, titles, pairs, versions, times) in found.items()
    }


def articles_at_url(conn: Connection, urls: Sequence[str]) -> list[StoredArticle]:
    """The stored articles whose canonical URL is one of ``urls``, newest first."""
    query = (
        select(*_ARTICLE_COLUMNS)
        .join(sources, sources.c.id == articles.c.source_id)
        .where(articles.c.canonical_url.in_(list(urls)))
        .order_by(articles.c.fetched_at.desc(), articles.c.id.desc())
    )
    return [StoredArticle(**row._mapping) for row in conn.execute(query)]


def queue_alerts(
    conn: Connection,
    items: Sequence[tuple[int, WatchlistMatch, Sequence[str]]],
    policies: Mapping[str, SinkPolicy],
    now: datetime,
) -> int:
    """Queue (article id, match, sinks) alerts as the storing transaction would have: the
    match is stored when missing, and each sink not yet told of it (no delivery, no digest
    item) goes through its filters and story policy (`monitor.db.routing.route`), so a story
    a sink has heard of is not sent again and a digest sink gets digest items. The count of
    deliveries added."""
    ids = sorted({article_id for article_id, _, _ in items})
    story_of: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        found = conn.execute(
            select(story_signatures.c.article_id, story_signatures.c.story_id).where(
                story_signatures.c.article_id.in_(ids[start : start + 500])
            )
        )
        story_of.update((int(article_id), int(story_id)) for article_id, story_id in found)
    pending: list[routing.Routed] = []
    for article_id, match, sinks in items:
        match_id = conn.execute(
            select(matches.c.id).where(
                and_(matches.c.article_id == article_id, matches.c.watchlist == match.watchlist)
            )
        ).scalar()
        if match_id is None:
            (match_id,) = _insert_match_rows(conn, [(article_id, match)], now)
        told = set(
            conn.execute(select(deliveries.c.sink).where(deliveries.c.match_id == match_id))
            .scalars()
            .all()
        ) | set(
            conn.execute(select(digest_items.c.sink).where(digest_items.c.match_id == match_id))
            .scalars()
            .all()
        )
        rest = [sink for sink in sinks if sink not in told]
        if rest:
            story_id = story_of.get(article_id)
            pending.append(routing.Routed(article_id, story_id, int(match_id), match, rest))
    return routing.route(conn, pending, policies, now).queued


def delete_older_than(conn: Connection, cutoff: datetime) -> int:
    """Retention: delete articles fetched before ``cutoff`` whose deliveries are all done:
    delivered or dropped. A pending one is still to be sent, a dead one waits for the
    operator (`monitor alerts retry` or `drop`): their articles stay (an outside probe found
    dead letters deleted with them, and `alerts retry ID` then knew no such delivery)."""
    pending = (
        select(matches.c.article_id)
        .join(deliveries, deliveries.c.match_id == matches.c.id)
        .where(deliveries.c.status.in_(("pending", "dead")))
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
        story_queries.delete_for_articles(conn, chunk)
        conn.execute(articles.delete().where(articles.c.id.in_(chunk)))
    return len(ids)
