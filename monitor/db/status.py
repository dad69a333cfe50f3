"""Queries for `monitor status` and the health gauges of /metrics: source states, the outbox,
recent activity and the last failures. Each stays cheap on 10,000 sources and 1M articles:
sources are counted in two passes (10,000 rows), the outbox through the index on
``deliveries.status``, articles through the index on ``articles.fetched_at``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, or_, select

from monitor.db.instances import InstanceRow, list_instances
from monitor.db.schema import articles, deliveries, sources

# The reasons of a failed poll that are this machine's, not the feed's (`pipeline.failure`):
# a status whose sources' last polls failed so is degraded (probe89: every poll failed on a
# full disk while `monitor status` said ok).
OURS_REASONS = ("database_error", "workers_unavailable")

# The states of a source, as `SourceRow.health` names them (and /metrics labels them).
SOURCE_STATES = ("healthy", "unhealthy", "gone", "disabled")
# At most this many problem sources and last failures are listed (`monitor sources` has all).
LIST_LIMIT = 20
LAST_ERRORS = 5
# A due source that no instance has started polling this long after its planned poll is late:
# polling is not keeping up (too many sources for `poll.concurrency`, slow feeds, a stopped
# service). The engine keeps every source well within it at 10,000 sources on 10 minutes.
LATE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class SinkOutbox:
    """One sink's part of the outbox."""

    pending: int = 0
    oldest_pending_at: datetime | None = None  # when the oldest pending delivery was queued
    dead: int = 0


@dataclass(frozen=True)
class Health:
    """What the health gauges show and `monitor status` counts: sources by state
    (`SOURCE_STATES`) and the outbox (pending deliveries, the oldest, dead letters)."""

    sources: dict[str, int]
    sinks: dict[str, SinkOutbox] = field(default_factory=dict)
    # Sources due and not being polled: how many are more than `LATE_AFTER` past their
    # planned poll, and the planned poll of the most overdue one.
    late: int = 0
    oldest_due_at: datetime | None = None
    # Healthy sources whose last poll failed (fewer than unhealthy_after failures in a row).
    failing: int = 0
    # Sources whose last poll failed on this machine, not the feed's failure (`OURS_REASONS`:
    # the database refused to store it, no parsing worker could start).
    not_stored: int = 0

    def poll_lag(self, now: datetime) -> timedelta:
        """How far past its planned poll the most overdue source is; zero when none is."""
        due = self.oldest_due_at
        return max(now - due, timedelta(0)) if due is not None else timedelta(0)

    @property
    def pending(self) -> int:
        return sum(s.pending for s in self.sinks.values())

    @property
    def dead(self) -> int:
        return sum(s.dead for s in self.sinks.values())

    @property
    def oldest_pending_at(self) -> datetime | None:
        return min(
            (s.oldest_pending_at for s in self.sinks.values() if s.oldest_pending_at is not None),
            default=None,
        )

    def oldest_pending_age(self, now: datetime) -> timedelta:
        """How long the oldest pending delivery has waited; zero when none waits."""
        oldest = self.oldest_pending_at
        return max(now - oldest, timedelta(0)) if oldest is not None else timedelta(0)


def _state(unhealthy_after: int) -> ColumnElement[str]:
    """A source's state in SQL, exactly as `SourceRow.health` decides it."""
    return case(
        (sources.c.enabled.is_(False), literal("disabled")),
        (sources.c.gone_at.is_not(None), literal("gone")),
        (sources.c.consecutive_failures >= unhealthy_after, literal("unhealthy")),
        else_=literal("healthy"),
    )


def health(
    conn: Connection,
    now: datetime,
    unhealthy_after: int,
    *,
    queued_lease_before: datetime | None = None,
) -> Health:
    """Sources by state and how late the due ones are (two passes over sources) and the
    outbox per sink (pending and dead deliveries only, through the status index).

    A leased source is being polled, unless its lease expires before
    ``queued_lease_before``: then it was claimed so long ago that no poll started then
    could still run (`queued_lease_before`), and it waits in its instance's queue."""
    state = _state(unhealthy_after).label("state")
    counts = {name: 0 for name in SOURCE_STATES}
    failing = not_stored = 0
    failed = func.count(case((sources.c.consecutive_failures > 0, 1)))
    ours_last = and_(
        sources.c.last_error_reason.in_(OURS_REASONS),
        or_(
            sources.c.last_success_at.is_(None),
            sources.c.last_success_at < sources.c.last_polled_at,
        ),
    )
    for name, count, failed_last, ours in conn.execute(
        select(state, func.count(), failed, func.count(case((ours_last, 1)))).group_by(state)
    ).all():
        counts[str(name)] = int(count)
        not_stored += int(ours)
        if name == "healthy":
            failing = int(failed_last)
    # Due, and no instance holds it (or one has held it in its queue for too long): a
    # source in the middle of its poll is not late.
    free = [sources.c.lease_expires_at.is_(None), sources.c.lease_expires_at < now]
    if queued_lease_before is not None:
        free.append(sources.c.lease_expires_at < queued_lease_before)
    waiting = and_(
        sources.c.enabled.is_(True),
        sources.c.gone_at.is_(None),
        or_(*free),
        sources.c.next_poll_at <= now,
    )
    late, oldest_due_at = conn.execute(
        select(
            func.count(case((sources.c.next_poll_at < now - LATE_AFTER, 1))),
            func.min(sources.c.next_poll_at),
        ).where(waiting)
    ).one()
    rows = conn.execute(
        select(
            deliveries.c.sink,
            deliveries.c.status,
            func.count(),
            func.min(deliveries.c.created_at),
        )
        .where(deliveries.c.status.in_(("pending", "dead")))
        .group_by(deliveries.c.sink, deliveries.c.status)
    ).all()
    sinks: dict[str, SinkOutbox] = {}
    for sink, status, count, oldest in rows:
        before = sinks.get(sink, SinkOutbox())
        if status == "pending":
            sinks[sink] = SinkOutbox(int(count), oldest, before.dead)
        else:
            sinks[sink] = SinkOutbox(before.pending, before.oldest_pending_at, int(count))
    return Health(
        sources=counts,
        sinks=dict(sorted(sinks.items())),
        late=int(late),
        oldest_due_at=oldest_due_at,
        failing=failing,
        not_stored=not_stored,
    )


@dataclass(frozen=True)
class Activity:
    """What happened in a window (the last hour, the last day)."""

    articles_stored: int
    alerts_queued: int
    delivered: int


def activity(conn: Connection, now: datetime, windows: dict[str, timedelta]) -> dict[str, Activity]:
    """Articles stored (by ``fetched_at``, indexed), alerts queued and deliveries delivered
    in each window. Deliveries have no index on their times: one pass over the table counts
    every window at once (about 80 ms per million deliveries on SQLite)."""
    since = {name: now - length for name, length in windows.items()}
    stored = {
        name: int(
            conn.execute(
                select(func.count()).select_from(articles).where(articles.c.fetched_at >= start)
            ).scalar_one()
        )
        for name, start in since.items()
    }
    earliest = min(since.values())
    columns = []
    for start in since.values():
        columns.append(
            func.coalesce(func.sum(case((deliveries.c.created_at >= start, 1), else_=0)), 0)
        )
        columns.append(
            func.coalesce(func.sum(case((deliveries.c.delivered_at >= start, 1), else_=0)), 0)
        )
    counted = conn.execute(
        select(*columns).where(
            or_(deliveries.c.created_at >= earliest, deliveries.c.delivered_at >= earliest)
        )
    ).one()
    return {
        name: Activity(stored[name], int(counted[2 * i]), int(counted[2 * i + 1]))
        for i, name in enumerate(since)
    }


@dataclass(frozen=True)
class SourceProblem:
    """A source that is unhealthy, gone or moved, with what it last said. Raw: the caller
    redacts ``url``, ``name``, ``moved_to`` and ``last_error`` before showing them."""

    state: str  # unhealthy, gone, or healthy (a moved source that works)
    name: str
    url: str
    consecutive_failures: int
    last_error_reason: str | None
    last_error: str | None
    last_status: int | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    gone_at: datetime | None
    moved_to: str | None


_PROBLEM_COLUMNS = (
    sources.c.name,
    sources.c.url,
    sources.c.consecutive_failures,
    sources.c.last_error_reason,
    sources.c.last_error,
    sources.c.last_status,
    sources.c.last_polled_at,
    sources.c.last_success_at,
    sources.c.gone_at,
    sources.c.moved_to,
)


def _problems(
    conn: Connection, unhealthy_after: int, condition: ColumnElement[bool]
) -> list[SourceProblem]:
    state = _state(unhealthy_after).label("state")
    rows = conn.execute(
        select(state, *_PROBLEM_COLUMNS)
        .where(and_(sources.c.enabled.is_(True), condition))
        .order_by(sources.c.consecutive_failures.desc(), sources.c.name)
        .limit(LIST_LIMIT)
    ).all()
    return [SourceProblem(**row._mapping) for row in rows]


def problem_sources(
    conn: Connection, unhealthy_after: int
) -> tuple[list[SourceProblem], list[SourceProblem], list[SourceProblem]]:
    """(unhealthy, gone, moved) enabled sources, at most `LIST_LIMIT` each, the ones failing
    longest first."""
    unhealthy = _problems(
        conn,
        unhealthy_after,
        and_(sources.c.gone_at.is_(None), sources.c.consecutive_failures >= unhealthy_after),
    )
    gone = _problems(conn, unhealthy_after, sources.c.gone_at.is_not(None))
    moved = _problems(conn, unhealthy_after, sources.c.moved_to.is_not(None))
    return unhealthy, gone, moved


def moved_count(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(sources)
            .where(and_(sources.c.enabled.is_(True), sources.c.moved_to.is_not(None)))
        ).scalar_one()
    )


@dataclass(frozen=True)
class SourceFailure:
    """A source's last failed poll (raw: the caller redacts)."""

    at: datetime | None
    name: str
    url: str
    reason: str | None
    status: int | None
    error: str | None
    consecutive_failures: int


@dataclass(frozen=True)
class DeliveryFailure:
    """A delivery whose last attempt failed: pending (``next_attempt_at`` is its retry) or
    dead (``next_attempt_at`` is when it died). Raw: the caller redacts ``error``."""

    id: str
    sink: str
    status: str
    attempts: int
    next_attempt_at: datetime
    reason: str | None
    http_status: int | None
    error: str | None


def last_failures(conn: Connection) -> tuple[list[SourceFailure], list[DeliveryFailure]]:
    """The `LAST_ERRORS` most recent source failures (enabled sources failing now, by their
    last poll) and delivery failures (pending or dead with an error, latest first)."""
    source_rows = conn.execute(
        select(
            sources.c.last_polled_at.label("at"),
            sources.c.name,
            sources.c.url,
            sources.c.last_error_reason.label("reason"),
            sources.c.last_status.label("status"),
            sources.c.last_error.label("error"),
            sources.c.consecutive_failures,
        )
        .where(and_(sources.c.enabled.is_(True), sources.c.consecutive_failures > 0))
        .order_by(sources.c.last_polled_at.desc().nulls_last(), sources.c.name)
        .limit(LAST_ERRORS)
    ).all()
    delivery_rows = conn.execute(
        select(
            deliveries.c.id,
            deliveries.c.sink,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.next_attempt_at,
            deliveries.c.last_error_reason.label("reason"),
            deliveries.c.last_status.label("http_status"),
            deliveries.c.last_error.label("error"),
        )
        .where(
            and_(
                deliveries.c.status.in_(("pending", "dead")),
                deliveries.c.last_error.is_not(None),
            )
        )
        .order_by(deliveries.c.next_attempt_at.desc())
        .limit(LAST_ERRORS)
    ).all()
    return (
        [SourceFailure(**row._mapping) for row in source_rows],
        [DeliveryFailure(**row._mapping) for row in delivery_rows],
    )


# The windows `monitor status` counts activity in.
WINDOWS = {"last_hour": timedelta(hours=1), "last_day": timedelta(days=1)}


@dataclass(frozen=True)
class Status:
    """Everything `monitor status` shows, read in one transaction. ``health`` is what the
    gauges of /metrics show; the rest is read only with ``details`` (empty otherwise)."""

    now: datetime
    health: Health
    instances: list[InstanceRow] = field(default_factory=list)
    activity: dict[str, Activity] = field(default_factory=dict)
    unhealthy: list[SourceProblem] = field(default_factory=list)
    gone: list[SourceProblem] = field(default_factory=list)
    moved: list[SourceProblem] = field(default_factory=list)
    moved_total: int = 0
    source_failures: list[SourceFailure] = field(default_factory=list)
    delivery_failures: list[DeliveryFailure] = field(default_factory=list)


def queued_lease_before(now: datetime, lease: timedelta, longest_poll: timedelta) -> datetime:
    """The lease expiry before which a leased source was claimed more than `LATE_AFTER`
    plus ``longest_poll`` (the fetch's total timeout) ago: a poll started when it was
    claimed would be over, so it still waits in its instance's queue, or started late."""
    return now + lease - LATE_AFTER - longest_poll


def status(
    conn: Connection,
    now: datetime,
    unhealthy_after: int,
    *,
    details: bool,
    queued_before: datetime | None = None,
) -> Status:
    counted = health(conn, now, unhealthy_after, queued_lease_before=queued_before)
    if not details:
        return Status(now=now, health=counted)
    unhealthy, gone, moved = problem_sources(conn, unhealthy_after)
    source_failures, delivery_failures = last_failures(conn)
    return Status(
        now=now,
        health=counted,
        instances=list_instances(conn),
        activity=activity(conn, now, WINDOWS),
        unhealthy=unhealthy,
        gone=gone,
        moved=moved,
        moved_total=moved_count(conn),
        source_failures=source_failures,
        delivery_failures=delivery_failures,
    )
