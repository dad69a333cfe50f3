"""Queries on the ``sources`` table: sync from config, claim due sources with a lease,
record polls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, or_, select, update

from monitor.db.schema import deliveries, sources


@dataclass(frozen=True)
class SourceSpec:
    """A source as the config describes it."""

    name: str
    url: str
    interval: timedelta
    enabled: bool
    first_run: str
    first_run_window: timedelta


@dataclass(frozen=True)
class SourceRow:
    """A source as stored, with its polling state."""

    id: int
    name: str
    url: str
    enabled: bool
    interval: timedelta
    first_run: str
    first_run_window: timedelta
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    last_status: int | None
    last_error: str | None
    last_error_reason: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    first_polled_at: datetime | None
    entries_seen: int
    articles_stored: int


def _row(row: object) -> SourceRow:
    m = row._mapping  # type: ignore[attr-defined]
    return SourceRow(
        id=m["id"],
        name=m["name"],
        url=m["url"],
        enabled=m["enabled"],
        interval=timedelta(seconds=m["interval_seconds"]),
        first_run=m["first_run"],
        first_run_window=timedelta(seconds=m["first_run_window_seconds"]),
        next_poll_at=m["next_poll_at"],
        etag=m["etag"],
        last_modified=m["last_modified"],
        consecutive_failures=m["consecutive_failures"],
        last_status=m["last_status"],
        last_error=m["last_error"],
        last_error_reason=m["last_error_reason"],
        last_polled_at=m["last_polled_at"],
        last_success_at=m["last_success_at"],
        first_polled_at=m["first_polled_at"],
        entries_seen=m["entries_seen"],
        articles_stored=m["articles_stored"],
    )


def sync_sources(conn: Connection, specs: Sequence[SourceSpec], now: datetime) -> None:
    """Make the table follow the config: add new sources, update changed ones, and disable
    the ones no longer configured (their articles and history stay)."""
    existing = {row.url: row for row in conn.execute(select(sources)).all()}
    wanted = {spec.url for spec in specs}
    for spec in specs:
        values = {
            "name": spec.name,
            "enabled": spec.enabled,
            "interval_seconds": int(spec.interval.total_seconds()),
            "first_run": spec.first_run,
            "first_run_window_seconds": int(spec.first_run_window.total_seconds()),
        }
        row = existing.get(spec.url)
        if row is None:
            conn.execute(
                sources.insert().values(
                    url=spec.url,
                    next_poll_at=now,
                    consecutive_failures=0,
                    entries_seen=0,
                    articles_stored=0,
                    created_at=now,
                    **values,
                )
            )
        elif any(row._mapping[key] != value for key, value in values.items()):
            conn.execute(update(sources).where(sources.c.id == row.id).values(**values))
    for url, row in existing.items():
        if url not in wanted and row.enabled:
            conn.execute(update(sources).where(sources.c.id == row.id).values(enabled=False))


def list_sources(conn: Connection) -> list[SourceRow]:
    return [_row(r) for r in conn.execute(select(sources).order_by(sources.c.name)).all()]


def get_source(conn: Connection, source_id: int) -> SourceRow:
    return _row(conn.execute(select(sources).where(sources.c.id == source_id)).one())


def claim_due(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    ignore_schedule: bool = False,
) -> list[SourceRow]:
    """Lease up to ``limit`` enabled sources whose poll is due and whose lease is free.

    With ``ignore_schedule`` (``monitor once``) every enabled source is due, except those held
    back by a server's Retry-After or by error back-off.
    """
    free = or_(sources.c.lease_expires_at.is_(None), sources.c.lease_expires_at < now)
    due = sources.c.next_poll_at <= now
    if ignore_schedule:
        due = or_(due, sources.c.consecutive_failures == 0)
    query = (
        select(sources.c.id)
        .where(and_(sources.c.enabled.is_(True), free, due))
        .order_by(sources.c.next_poll_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in conn.execute(query).all()]
    if not ids:
        return []
    conn.execute(
        update(sources)
        .where(sources.c.id.in_(ids))
        .values(lease_owner=owner, lease_expires_at=now + lease)
    )
    rows = conn.execute(select(sources).where(sources.c.id.in_(ids))).all()
    by_id = {r.id: _row(r) for r in rows}
    return [by_id[i] for i in ids]


def release(conn: Connection, source_id: int, owner: str) -> None:
    """Give back a lease without recording a poll (e.g. on shutdown before fetching)."""
    conn.execute(
        update(sources)
        .where(and_(sources.c.id == source_id, sources.c.lease_owner == owner))
        .values(lease_owner=None, lease_expires_at=None)
    )


def record_success(
    conn: Connection,
    source: SourceRow,
    *,
    now: datetime,
    next_poll_at: datetime,
    status: int,
    etag: str | None,
    last_modified: str | None,
    final_url: str | None,
    entries_seen: int,
    articles_stored: int,
    warning: str | None = None,
) -> None:
    conn.execute(
        update(sources)
        .where(sources.c.id == source.id)
        .values(
            next_poll_at=next_poll_at,
            etag=etag,
            last_modified=last_modified,
            final_url=final_url,
            consecutive_failures=0,
            last_status=status,
            last_error=warning,
            last_error_reason="bozo" if warning else None,
            last_polled_at=now,
            last_success_at=now,
            first_polled_at=source.first_polled_at or now,
            entries_seen=sources.c.entries_seen + entries_seen,
            articles_stored=sources.c.articles_stored + articles_stored,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def record_failure(
    conn: Connection,
    source: SourceRow,
    *,
    now: datetime,
    next_poll_at: datetime,
    status: int | None,
    reason: str,
    error: str,
) -> None:
    conn.execute(
        update(sources)
        .where(sources.c.id == source.id)
        .values(
            next_poll_at=next_poll_at,
            consecutive_failures=sources.c.consecutive_failures + 1,
            last_status=status,
            last_error=error,
            last_error_reason=reason,
            last_polled_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def clear_leases(conn: Connection) -> None:
    """Forget every lease on sources and deliveries. Only safe when no other instance can be
    running: a single SQLite instance holding the instance lock after a crash."""
    conn.execute(update(sources).values(lease_owner=None, lease_expires_at=None))
    conn.execute(update(deliveries).values(lease_owner=None, lease_expires_at=None))
