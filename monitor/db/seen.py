"""Queries on ``seen_keys`` and ``seen_stories``: what a source's feed has shown before (one
statement per feed), remembering what it shows, and forgetting what it stopped showing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal,
    select,
    union_all,
)

from monitor.db.engine import dialect_insert
from monitor.db.schema import UTCDateTime, articles, seen_keys, seen_stories

# Entries per lookup statement: a feed of up to this many entries is one statement.
CHUNK = 500


@dataclass(frozen=True)
class SeenEntry:
    """An entry a feed showed: its stored key and the fingerprint of its story."""

    entry_key: str
    fingerprint: str


@dataclass(frozen=True)
class KnownEntries:
    """What a source has shown before, among the keys and fingerprints asked about: when
    each known key was last seen, and which stories are known."""

    last_seen: Mapping[str, datetime]
    fingerprints: frozenset[str]


@dataclass(frozen=True)
class Forgotten:
    """What one retention run forgot."""

    keys: int = 0
    stories: int = 0


def known(
    conn: Connection, source_id: int, keys: Iterable[str], fingerprints: Iterable[str]
) -> KnownEntries:
    """The keys and stories among these that the source has shown before: ONE statement (both
    tables, UNION ALL) per ``CHUNK`` entries. Each row read is one asked about, found
    through its table's primary key."""
    wanted_keys = list(dict.fromkeys(keys))
    wanted_stories = list(dict.fromkeys(fingerprints))
    last_seen: dict[str, datetime] = {}
    found: set[str] = set()
    for start in range(0, max(len(wanted_keys), len(wanted_stories)), CHUNK):
        query = union_all(
            _lookup(seen_keys, seen_keys.c.entry_key, "key", source_id, wanted_keys, start),
            _lookup(
                seen_stories, seen_stories.c.fingerprint, "story", source_id, wanted_stories, start
            ),
        )
        for row in conn.execute(query):
            if row.kind == "key":
                last_seen[row.value] = row.last_seen_at
            else:
                found.add(row.value)
    return KnownEntries(last_seen, frozenset(found))


def _lookup(
    table: Table,
    column: Column[str],
    kind: str,
    source_id: int,
    values: Sequence[str],
    start: int,
) -> Select[str, str, datetime]:
    chunk = values[start : start + CHUNK]
    return select(literal(kind).label("kind"), column.label("value"), table.c.last_seen_at).where(
        and_(table.c.source_id == source_id, column.in_(chunk))
    )


def remember(conn: Connection, sightings: Iterable[tuple[int, datetime, SeenEntry]]) -> None:
    """Record (source id, when, entry) sightings: each key and story is added, or its last
    sighting moved forward (never back). Two statements, whatever the number of entries."""
    keys: dict[tuple[int, str], datetime] = {}
    stories: dict[tuple[int, str], datetime] = {}
    for source_id, seen_at, entry in sightings:
        for rows, value in ((keys, entry.entry_key), (stories, entry.fingerprint)):
            previous = rows.get((source_id, value))
            rows[(source_id, value)] = seen_at if previous is None else max(previous, seen_at)
    _upsert(conn, seen_keys, "entry_key", keys)
    _upsert(conn, seen_stories, "fingerprint", stories)


def forget_aliases(conn: Connection, polls: Iterable[tuple[int, Sequence[str]]]) -> int:
    """For each (source id, every key its feed showed at a poll that met aliases), forget
    the source's keys that the feed no longer shows and that no stored article has: the
    aliases of earlier polls. A feed that changes every guid at every request added a row
    per entry and poll (an outside probe: 540 MB a day); its stories stay remembered
    (``seen_stories``), so none of those entries is news if it comes back."""
    forgotten = 0
    for source_id, shown in polls:
        if not shown:
            continue
        stored = select(articles.c.id).where(
            and_(
                articles.c.source_id == seen_keys.c.source_id,
                articles.c.entry_key == seen_keys.c.entry_key,
            )
        )
        statement = seen_keys.delete().where(
            seen_keys.c.source_id == source_id,
            seen_keys.c.entry_key.not_in(list(shown)),
            ~exists(stored),
        )
        forgotten += conn.execute(statement).rowcount
    return forgotten


def _upsert(
    conn: Connection, table: Table, column: str, rows: Mapping[tuple[int, str], datetime]
) -> None:
    if not rows:
        return
    statement = dialect_insert(conn, table)
    statement = statement.on_conflict_do_update(
        index_elements=["source_id", column],
        set_={"last_seen_at": statement.excluded.last_seen_at},
        where=table.c.last_seen_at < statement.excluded.last_seen_at,
    )
    # Sorted: concurrent writers (other sources' polls) lock rows in one order.
    conn.execute(
        statement,
        [
            {"source_id": source_id, column: value, "last_seen_at": seen_at}
            for (source_id, value), seen_at in sorted(rows.items())
        ],
    )


def forget_unseen(
    conn: Connection, cutoff: datetime, refresh: timedelta = timedelta(0)
) -> Forgotten:
    """Retention: forget the keys and stories not seen since ``cutoff`` that their feed
    stopped showing, except the keys of articles still stored (kept for a delivery). Run
    after the articles' deletion.

    "Stopped showing": more than ``refresh`` (how old a sighting may get before a read of
    the feed dates it again, `pipeline.sighting_refresh`) before the source's latest
    sighting. A feed that answers 304 for months, or a service that was stopped for longer
    than the retention, has read nothing since: what it showed last is kept, or it would
    all be news, and alert again, at the next read (an outside probe)."""
    forgotten = []
    for table, column in (
        (seen_keys, seen_keys.c.entry_key),
        (seen_stories, seen_stories.c.fingerprint),
    ):
        old_sources = select(table.c.source_id).where(table.c.last_seen_at < cutoff).distinct()
        latest = conn.execute(
            select(table.c.source_id, func.max(table.c.last_seen_at))
            .where(table.c.source_id.in_(old_sources))
            .group_by(table.c.source_id)
        ).all()
        condition = [
            table.c.source_id == bindparam("source"),
            table.c.last_seen_at < bindparam("before", type_=UTCDateTime()),
        ]
        if table is seen_keys:
            stored = select(articles.c.id).where(
                and_(articles.c.source_id == seen_keys.c.source_id, articles.c.entry_key == column)
            )
            condition.append(~exists(stored))
        statement = table.delete().where(and_(*condition))
        count = 0
        for source_id, newest in latest:
            before = min(cutoff, newest - refresh)
            count += conn.execute(statement, {"source": source_id, "before": before}).rowcount
        forgotten.append(count)
    return Forgotten(forgotten[0], forgotten[1])
