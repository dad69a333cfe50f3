"""Queries on the ``sources`` table: sync from config, claim due sources with a lease,
record polls."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from monitor.db.engine import dialect_insert
from monitor.db.instances import STALE_AFTER
from monitor.db.schema import deliveries, instances, sources
from monitor.db.seen import SeenEntry
from monitor.redact import feed_named_by_page, without_credentials


@dataclass(frozen=True, slots=True)  # 10,000 of them: no per-instance dict
class SourceSpec:
    """A source as the config describes it."""

    name: str
    url: str
    interval: timedelta
    enabled: bool
    first_run: str
    first_run_window: timedelta
    # The config sets this source's interval: polled on it, not adaptively.
    pinned: bool = False


@dataclass(frozen=True, slots=True)
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
    interval_pinned: bool = False
    current_interval: timedelta | None = None  # the interval in use; None before a poll
    schedule_reason: str | None = None  # SCHEDULE_REASONS
    entry_rate_per_hour: float | None = None  # smoothed rate of new entries
    hint: timedelta | None = None  # the feed's own ttl / sy:update* / Cache-Control hint
    moved_to: str | None = None  # permanent redirect target, polled instead of ``url``
    gone_at: datetime | None = None  # 410 Gone: not polled until its config entry changes

    @property
    def base_interval(self) -> timedelta:
        """The interval in use (adaptive, hinted or pinned); the configured one before the
        first poll. Error back-off starts from it."""
        return self.current_interval or self.interval

    @property
    def poll_url(self) -> str:
        """The URL polled: the permanent redirect's target, else the configured one."""
        return self.moved_to or self.url

    def health(self, unhealthy_after: int) -> str:
        """``disabled``, ``gone``, ``unhealthy`` (``unhealthy_after`` failures in a row or
        more) or ``healthy``."""
        if not self.enabled:
            return "disabled"
        if self.gone_at is not None:
            return "gone"
        if self.consecutive_failures >= unhealthy_after:
            return "unhealthy"
        return "healthy"


@dataclass(frozen=True)
class PollRecord:
    """What one poll did to its source: written with other polls' records in one transaction.

    ``ok`` polls reset the failure count and keep the validators; failed ones count up.
    ``error``/``reason`` are the failure, or on an ``ok`` poll a warning (a malformed feed).
    ``sightings`` are entries to remember as seen at ``polled_at`` (no article is stored for
    them): new keys of known stories, and known keys last seen too long ago.
    """

    source_id: int
    polled_at: datetime
    next_poll_at: datetime
    ok: bool
    status: int | None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    entries_seen: int = 0
    articles_stored: int = 0
    reason: str | None = None
    error: str | None = None
    sightings: tuple[SeenEntry, ...] = ()
    # When the poll met a known story under a new key (a feed that changes its guids): every
    # key the feed showed. The source's other keys of no stored article, aliases of earlier
    # polls, are forgotten then: at every request such a feed added a row per entry.
    shown_keys: tuple[str, ...] = ()
    # The schedule (monitor.schedule): on success the interval used and why, the smoothed
    # rate of new entries, the feed's hint and where permanent redirects lead; on failure
    # why (backoff or gone) and, for 410 Gone, ``gone``.
    interval: timedelta | None = None
    schedule_reason: str | None = None
    rate: float | None = None
    hint: timedelta | None = None
    moved_to: str | None = None
    gone: bool = False
    # A poll that failed for a reason of this service's (its database: a full disk), not of
    # the feed's: no failure is counted, no back-off, the redirect kept.
    ours: bool = False


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
        interval_pinned=m["interval_pinned"],
        current_interval=_seconds(m["current_interval_seconds"]),
        schedule_reason=m["schedule_reason"],
        entry_rate_per_hour=m["entry_rate_per_hour"],
        hint=_seconds(m["hint_seconds"]),
        moved_to=m["moved_to"],
        gone_at=m["gone_at"],
    )


def _seconds(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


SYNC_CHUNK = 1000


# The answers whose wait (Retry-After, else the back-off) a config edit does not end.
SERVER_WAITS = (429, 503)


def sync_sources(conn: Connection, specs: Sequence[SourceSpec], now: datetime) -> list[str]:
    """Make the table follow the config: add new sources, update changed ones, and disable
    the ones no longer configured (their articles and history stay); the names of those it
    disabled. New sources are inserted in one statement."""
    compared = [
        sources.c.id,
        sources.c.url,
        sources.c.name,
        sources.c.enabled,
        sources.c.interval_seconds,
        sources.c.first_run,
        sources.c.first_run_window_seconds,
        sources.c.interval_pinned,
        sources.c.moved_to,
        sources.c.gone_at,
        sources.c.last_status,
        sources.c.next_poll_at,
        sources.c.last_error,
    ]
    existing = {row.url: row for row in conn.execute(select(*compared)).all()}
    wanted = {spec.url for spec in specs}
    # A config that now names the URL a source was permanently redirected to: the same
    # source (its history and seen entries stay), under its new URL.
    moved = {
        without_credentials(row.moved_to): row
        for url, row in existing.items()
        if row.moved_to and url not in wanted
    }
    # So is one that names the feed a source's HTML page named (its last error says which).
    for known_url, known in existing.items():
        named = feed_named_by_page(known.last_error)
        if named is not None and known_url not in wanted:
            moved.setdefault(without_credentials(named), known)
    added = []
    for spec in specs:
        values = {
            "name": spec.name,
            "enabled": spec.enabled,
            "interval_seconds": int(spec.interval.total_seconds()),
            "first_run": spec.first_run,
            "first_run_window_seconds": int(spec.first_run_window.total_seconds()),
            "interval_pinned": spec.pinned,
        }
        row = existing.get(spec.url)
        # Credentials do not count: the hint shows the new URL without them, and the
        # operator writes them back in (the moved URL may carry them or not).
        if row is None and without_credentials(spec.url) in moved:
            row = moved.pop(without_credentials(spec.url))
            # Polled now at its new URL (the page's source had failed, and waited its
            # back-off).
            conn.execute(
                update(sources)
                .where(sources.c.id == row.id)
                .values(url=spec.url, moved_to=None, next_poll_at=now, **values)
            )
            existing[spec.url] = row
            del existing[row.url]
            continue
        if row is None:
            added.append(
                {
                    "url": spec.url,
                    "next_poll_at": now,
                    "consecutive_failures": 0,
                    "entries_seen": 0,
                    "articles_stored": 0,
                    "created_at": now,
                    **values,
                }
            )
        elif any(row._mapping[key] != value for key, value in values.items()):
            # A changed entry ends a 410 Gone and forgets a permanent redirect (the operator
            # looked at it: the configured URL is tried again); a new interval is used now.
            revived: dict[str, object] = {"moved_to": None, "gone_at": None}
            rescheduled = (
                row.gone_at is not None
                or row.interval_seconds != values["interval_seconds"]
                or row.interval_pinned != values["interval_pinned"]
            )
            # Not sooner than a 429 or 503 asked, though: the server's wait is not the
            # operator's to shorten (an edit of another key does not end it).
            held = row.last_status in SERVER_WAITS and row.next_poll_at > now
            if rescheduled and not held:
                revived["next_poll_at"] = now
            conn.execute(update(sources).where(sources.c.id == row.id).values(**values, **revived))
    if added:
        # Another instance starting at the same moment may add the same sources: theirs win.
        statement = dialect_insert(conn, sources).on_conflict_do_nothing(index_elements=["url"])
        for start in range(0, len(added), SYNC_CHUNK):  # bounded memory for 10,000 sources
            conn.execute(statement, added[start : start + SYNC_CHUNK])
    gone = [row for url, row in existing.items() if url not in wanted and row.enabled]
    for start in range(0, len(gone), SYNC_CHUNK):
        ids = [row.id for row in gone[start : start + SYNC_CHUNK]]
        conn.execute(update(sources).where(sources.c.id.in_(ids)).values(enabled=False))
    return sorted(row.name for row in gone)


def list_sources(conn: Connection) -> list[SourceRow]:
    return [_row(r) for r in conn.execute(select(sources).order_by(sources.c.name)).all()]


def unpolled_sources(
    conn: Connection, since: datetime, polled: Collection[int]
) -> tuple[list[SourceRow], int]:
    """The enabled sources that ``polled`` (the ids ``monitor once`` polled) leaves out:
    those not polled at or after ``since``, and those another instance polled since then;
    and how many are disabled. What ``monitor once`` reports at its end, without reading
    the rows of the sources it polled."""
    recent = select(sources.c.id).where(sources.c.enabled, sources.c.last_polled_at >= since)
    by_others = [source_id for (source_id,) in conn.execute(recent) if source_id not in polled]
    left = or_(sources.c.last_polled_at.is_(None), sources.c.last_polled_at < since)
    if by_others:
        left = or_(left, sources.c.id.in_(by_others))
    unpolled = select(sources).where(sources.c.enabled, left)
    # A source this run polled whose poll time was not written (the database locked or
    # full) is not "not polled": its outcome says what happened.
    rows = [_row(r) for r in conn.execute(unpolled.order_by(sources.c.name)).all()]
    rows = [row for row in rows if row.id not in polled]
    disabled = conn.execute(select(func.count()).where(~sources.c.enabled)).scalar_one()
    return rows, int(disabled)


def get_source(conn: Connection, source_id: int) -> SourceRow:
    return _row(conn.execute(select(sources).where(sources.c.id == source_id)).one())


def claim_due(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    not_polled_since: datetime | None = None,
) -> list[SourceRow]:
    """Lease up to ``limit`` enabled sources whose poll is due and whose lease is free, the
    most overdue first. A lease is free when it expired, and also when its owner is a
    `monitor run` that stopped or was not heard from for `STALE_AFTER` (killed, its host
    down): its sources wait that long after a crash, not the whole ``poll.lease``.

    With ``not_polled_since`` (``monitor once``) every enabled source not polled since then is
    due, except those held back by a server's Retry-After or by error back-off.
    """
    dead_owners = select(instances.c.owner).where(
        instances.c.owner != owner,  # its own: a clock that jumped is not a death
        or_(instances.c.stopped_at.is_not(None), instances.c.heartbeat_at < now - STALE_AFTER),
    )
    free = or_(
        sources.c.lease_expires_at.is_(None),
        sources.c.lease_expires_at < now,
        sources.c.lease_owner.in_(dead_owners),
    )
    pollable = and_(sources.c.enabled.is_(True), sources.c.gone_at.is_(None))
    due = sources.c.next_poll_at <= now
    if not_polled_since is not None:
        due = and_(
            or_(due, sources.c.consecutive_failures == 0),
            or_(sources.c.last_polled_at.is_(None), sources.c.last_polled_at < not_polled_since),
        )
    query = (
        select(sources.c.id)
        .where(and_(pollable, free, due))
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


def retry_failed(conn: Connection, ids: Collection[int] | None, now: datetime) -> list[str]:
    """Make the enabled sources that failed and wait for a later poll (all, or those of
    ``ids``) due at ``now``: their error back-off, or a server's Retry-After, ends. Their
    failure count stays (a new failure backs off from it; a success clears it); a gone
    (410) source is left to its config entry. The names of the sources made due."""
    waiting = and_(
        sources.c.enabled.is_(True),
        sources.c.gone_at.is_(None),
        sources.c.consecutive_failures > 0,
        sources.c.next_poll_at > now,
    )
    if ids is not None:
        waiting = and_(waiting, sources.c.id.in_(list(ids)))
    rows = conn.execute(select(sources.c.id, sources.c.name).where(waiting)).all()
    if rows:
        conn.execute(
            update(sources).where(sources.c.id.in_([r.id for r in rows])).values(next_poll_at=now)
        )
    return sorted(r.name for r in rows)


def next_due_at(conn: Connection) -> datetime | None:
    """The earliest planned poll of an enabled source that is not gone (leased ones
    included), or None."""
    value: datetime | None = conn.execute(
        select(func.min(sources.c.next_poll_at)).where(
            sources.c.enabled.is_(True), sources.c.gone_at.is_(None)
        )
    ).scalar()
    return value


def release(conn: Connection, source_ids: Sequence[int], owner: str) -> None:
    """Give back leases without recording a poll (e.g. on shutdown before fetching)."""
    if not source_ids:
        return
    conn.execute(
        update(sources)
        .where(and_(sources.c.id.in_(list(source_ids)), sources.c.lease_owner == owner))
        .values(lease_owner=None, lease_expires_at=None)
    )


_SUCCESS = (
    update(sources)
    .where(sources.c.id == bindparam("b_id"))
    .values(
        next_poll_at=bindparam("b_next"),
        etag=bindparam("b_etag"),
        last_modified=bindparam("b_last_modified"),
        final_url=bindparam("b_final_url"),
        consecutive_failures=0,
        last_status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        last_error_reason=bindparam("b_reason"),
        last_polled_at=bindparam("b_now"),
        last_success_at=bindparam("b_now"),
        first_polled_at=func.coalesce(sources.c.first_polled_at, bindparam("b_now")),
        entries_seen=sources.c.entries_seen + bindparam("b_entries"),
        articles_stored=sources.c.articles_stored + bindparam("b_articles"),
        current_interval_seconds=bindparam("b_interval"),
        schedule_reason=bindparam("b_schedule"),
        entry_rate_per_hour=bindparam("b_rate"),
        hint_seconds=bindparam("b_hint"),
        moved_to=bindparam("b_moved_to"),
        gone_at=None,
        lease_owner=None,
        lease_expires_at=None,
    )
)

# A failure of ours (`PollRecord.ours`): the error is shown, the feed's record is not touched.
_OURS = (
    update(sources)
    .where(sources.c.id == bindparam("b_id"))
    .values(
        next_poll_at=bindparam("b_next"),
        last_error=bindparam("b_error"),
        last_error_reason=bindparam("b_reason"),
        last_polled_at=bindparam("b_now"),
        lease_owner=None,
        lease_expires_at=None,
    )
)

_FAILURE = (
    update(sources)
    .where(sources.c.id == bindparam("b_id"))
    .values(
        next_poll_at=bindparam("b_next"),
        consecutive_failures=sources.c.consecutive_failures + 1,
        last_status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        last_error_reason=bindparam("b_reason"),
        last_polled_at=bindparam("b_now"),
        schedule_reason=bindparam("b_schedule"),
        gone_at=bindparam("b_gone_at"),
        # A failure forgets a permanent redirect: the configured URL is tried next.
        moved_to=None,
        lease_owner=None,
        lease_expires_at=None,
    )
)


def _seconds_of(value: timedelta | None) -> int | None:
    return None if value is None else round(value.total_seconds())


def _params(poll: PollRecord) -> dict[str, object]:
    return {
        "b_id": poll.source_id,
        "b_next": poll.next_poll_at,
        "b_now": poll.polled_at,
        "b_status": poll.status,
        "b_error": poll.error,
        "b_reason": poll.reason,
        "b_etag": poll.etag,
        "b_last_modified": poll.last_modified,
        "b_final_url": poll.final_url,
        "b_entries": poll.entries_seen,
        "b_articles": poll.articles_stored,
        "b_interval": _seconds_of(poll.interval),
        "b_schedule": poll.schedule_reason,
        "b_rate": poll.rate,
        "b_hint": _seconds_of(poll.hint),
        "b_moved_to": poll.moved_to,
        "b_gone_at": poll.polled_at if poll.gone else None,
    }


def record_polls(conn: Connection, polls: Sequence[PollRecord]) -> None:
    """Write the outcome of many polls (one statement per kind) and release their leases."""
    ok = [_params(p) for p in polls if p.ok]
    failed = [_params(p) for p in polls if not p.ok and not p.ours]
    ours = [_params(p) for p in polls if not p.ok and p.ours]
    if ok:
        conn.execute(_SUCCESS, ok)
    if failed:
        conn.execute(
            _FAILURE,
            [{k: v for k, v in p.items() if k in _FAILURE_KEYS} for p in failed],
        )
    if ours:
        conn.execute(_OURS, [{k: v for k, v in p.items() if k in _OURS_KEYS} for p in ours])


_FAILURE_KEYS = frozenset(
    {"b_id", "b_next", "b_now", "b_status", "b_error", "b_reason", "b_schedule", "b_gone_at"}
)
_OURS_KEYS = frozenset({"b_id", "b_next", "b_now", "b_error", "b_reason"})


def clear_leases(conn: Connection) -> None:
    """Forget every lease on sources and deliveries. Only safe when no other instance can be
    running: a single SQLite instance holding the instance lock after a crash."""
    conn.execute(update(sources).values(lease_owner=None, lease_expires_at=None))
    conn.execute(update(deliveries).values(lease_owner=None, lease_expires_at=None))
