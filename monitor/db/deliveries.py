"""Queries on the ``deliveries`` outbox: claim due deliveries with a lease, mark them delivered,
schedule a retry, or dead-letter them; list and re-queue for the CLI."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    update,
)

from monitor.alerts.digest import Digest
from monitor.alerts.payload import StoryRef
from monitor.alerts.record import Alert, match_from_json
from monitor.db.articles import alert_title, article_ref, naming_text
from monitor.db.digests import load_digest
from monitor.db.routing import HOLDING_REASONS
from monitor.db.schema import (
    articles,
    deliveries,
    digest_items,
    matches,
    sources,
    story_alerts,
    story_signatures,
)
from monitor.db.stories import story_refs


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery: its id (the webhook-id), sink, attempts so far, and the alert.

    ``alert`` is None when the stored match cannot be read back (``problem`` says why).
    """

    id: str
    sink: str
    attempts: int
    alert: Alert | Digest | None
    problem: str | None = None


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as listed by ``monitor alerts``."""

    id: str
    sink: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    last_error_reason: str | None
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None
    watchlist: str
    entities: tuple[str, ...]
    title: str
    waits_for: str | None = None
    """A pending story follow-up held back: the id of its original alert, not sent yet."""
    stories: int = 0
    """For a digest, the stories it holds (its title is then the first one's, so said)."""


_ORIGINAL = deliveries.alias("original")

SINK_LOCK = 0x6E6D_7369
"""PostgreSQL advisory lock class taken (with the sink's name hashed) in a claim of one sink's
deliveries, so that two instances cannot both find the sink free and claim at once."""


def _sending_elsewhere(sink: str, owner: str, now: datetime) -> ColumnElement[bool]:
    """A pending delivery of ``sink`` under another instance's live lease: that instance is
    sending the sink's alerts (a batch in hand)."""
    return and_(
        deliveries.c.sink == sink,
        deliveries.c.status == "pending",
        deliveries.c.lease_owner != owner,
        deliveries.c.lease_expires_at >= now,
    )


# The states of an original alert that hold its follow-ups back: it may still reach the
# receiver (pending: retrying; dead: `monitor alerts retry` may send it again). Delivered or
# dropped (the operator gave up on it), its follow-ups go.
HOLDING_STATES = ("pending", "dead")


def _not_waiting() -> ColumnElement[bool]:
    """Not a story follow-up whose original alert may still be sent (`HOLDING_STATES`)."""
    original_unsent = (
        select(_ORIGINAL.c.id)
        .where(_ORIGINAL.c.id == deliveries.c.update_of, _ORIGINAL.c.status.in_(HOLDING_STATES))
        .exists()
    )
    return or_(deliveries.c.update_of.is_(None), ~original_unsent)


def _due(now: datetime, sink: str | None, other_than: Collection[str]) -> ColumnElement[bool]:
    free = or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now)
    # A story follow-up waits while the alert it updates is pending or dead: it never
    # reaches the receiver first (that alert's retries may take hours, and a dead one may
    # be sent again by `monitor alerts retry`).
    condition = and_(
        deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now, free, _not_waiting()
    )
    if sink is not None:
        condition = and_(condition, deliveries.c.sink == sink)
    if other_than:
        condition = and_(condition, deliveries.c.sink.not_in(list(other_than)))
    return condition


def claim_due(
    conn: Connection,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    sink: str | None = None,
    other_than: Collection[str] = (),
) -> list[DueDelivery]:
    """Lease up to ``limit`` pending deliveries whose next attempt is due, oldest first (in
    the order their matches were stored: the ids are random): all sinks, one ``sink``, or
    those of sinks ``other_than`` the given ones.

    One ``sink`` is sent to by one instance at a time, so that its receiver gets the alerts
    one by one and in order whatever the number of instances: nothing is claimed while
    another instance holds a live lease on one of the sink's pending deliveries (it is
    sending a batch, and claims again after it)."""
    if sink is not None:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:key, hashtext(:sink))"),
                {"key": SINK_LOCK, "sink": sink},
            )
        busy = select(deliveries.c.id).where(_sending_elsewhere(sink, owner, now)).limit(1)
        if conn.execute(busy).first() is not None:
            return []
    query = (
        select(deliveries.c.id)
        .where(_due(now, sink, other_than))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at, deliveries.c.match_id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in conn.execute(query)]
    if not ids:
        return []
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids))
        .values(lease_owner=owner, lease_expires_at=now + lease)
    )
    rows = conn.execute(
        select(
            deliveries.c.id,
            deliveries.c.sink,
            deliveries.c.attempts,
            matches.c.detail,
            matches.c.created_at.label("match_created_at"),
            articles.c.id.label("article_id"),
            articles.c.title,
            naming_text,
            articles.c.canonical_url.label("url"),
            articles.c.published_at,
            sources.c.name.label("source_name"),
            sources.c.url.label("source_url"),
            deliveries.c.update_of,
            deliveries.c.changes,
            deliveries.c.digest_id,
            story_signatures.c.story_id,
            matches.c.watchlist,
        )
        .join(matches, matches.c.id == deliveries.c.match_id)
        .join(articles, articles.c.id == matches.c.article_id)
        .join(sources, sources.c.id == articles.c.source_id)
        .outerjoin(story_signatures, story_signatures.c.article_id == articles.c.id)
        .where(deliveries.c.id.in_(ids))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at, deliveries.c.match_id)
    ).all()
    refs = story_refs(conn, {row.story_id for row in rows if row.story_id is not None})
    changes = _changes_now(conn, rows, refs)
    superseded = [row.id for row in rows if changes.get(row.id) == _NOTHING_NEW]
    if superseded:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(superseded))
            .values(
                status="dropped",
                lease_owner=None,
                lease_expires_at=None,
                last_error_reason="superseded",
                last_error="not sent: the alert it follows, sent after this one was queued, "
                "already named the story's sources it was to tell of",
            )
        )
        rows = [row for row in rows if row.id not in superseded]
    # What the sink is now told of the story: a later follow-up counts sources from here.
    told = [
        {"delivery": row.id, "sources": list(refs[row.story_id].sources)}
        for row in rows
        if row.story_id in refs and row.digest_id is None
    ]
    if told:
        conn.execute(
            update(story_alerts)
            .where(story_alerts.c.delivery_id == bindparam("delivery"))
            .values(sources=bindparam("sources")),
            told,
        )
    return [
        _due_digest(conn, row)
        if row.digest_id is not None
        else _due_delivery(row, refs, changes.get(row.id))
        for row in rows
    ]


_NOTHING_NEW: dict[str, list[str]] = {"entities": [], "sources": []}


def _changes_now(
    conn: Connection, rows: Sequence[Any], refs: Mapping[int, StoryRef]
) -> dict[str, dict[str, list[str]]]:
    """The ``changes`` of the story follow-ups claimed in ``rows`` as they stand when sent:
    without the sources that the alerts sent before them already named. A follow-up is
    decided when its article is stored, against what the sink had been told; an original
    sent later than that (its receiver was down) carries the story as it is when sent, and
    the follow-up repeated its sources (two outside probes). ``_NOTHING_NEW``: nothing is
    left to tell."""
    follow_ups = {
        row.id: row
        for row in rows
        if row.update_of is not None
        and row.digest_id is None
        and row.story_id in refs
        and isinstance(row.changes, Mapping)
    }
    if not follow_ups:
        return {}
    in_batch = {row.id: row for row in rows}
    told: dict[tuple[int, str, str], set[str]] = {}
    alerts = conn.execute(
        select(
            story_alerts.c.story_id,
            story_alerts.c.sink,
            story_alerts.c.watchlist,
            story_alerts.c.delivery_id,
            story_alerts.c.sources,
            deliveries.c.status,
        )
        .join(deliveries, deliveries.c.id == story_alerts.c.delivery_id)
        .where(
            story_alerts.c.story_id.in_(sorted({r.story_id for r in follow_ups.values()})),
            story_alerts.c.sink.in_(sorted({r.sink for r in follow_ups.values()})),
        )
        .order_by(story_alerts.c.id)
    )
    found: dict[str, dict[str, list[str]]] = {}
    for alert in alerts:  # in the order they were queued, which is the order they are sent
        key = (int(alert.story_id), str(alert.sink), str(alert.watchlist))
        sources = told.setdefault(key, set())
        row = follow_ups.get(alert.delivery_id)
        if row is not None:
            found[row.id] = {
                "entities": [str(e) for e in row.changes.get("entities") or ()],
                "sources": [str(s) for s in row.changes.get("sources") or () if s not in sources],
            }
            if found[row.id] == _NOTHING_NEW:
                continue  # not sent: it tells nobody anything
        if alert.delivery_id in in_batch:  # sent now, with the story as it is now
            sources.update(refs[in_batch[alert.delivery_id].story_id].sources)
        elif alert.status == "delivered" and isinstance(alert.sources, list):
            sources.update(str(s) for s in alert.sources)
    return found


def _due_digest(conn: Connection, row: object) -> DueDelivery:
    m = row._mapping  # type: ignore[attr-defined]
    try:
        digest = load_digest(conn, m["digest_id"])
    except ValueError as error:
        return DueDelivery(m["id"], m["sink"], m["attempts"], None, str(error))
    return DueDelivery(m["id"], m["sink"], m["attempts"], digest)


def _due_delivery(
    row: object, refs: Mapping[int, StoryRef], changes_now: Mapping[str, object] | None
) -> DueDelivery:
    m = row._mapping  # type: ignore[attr-defined]
    try:
        match = match_from_json(m["detail"])
    except (ValueError, AttributeError) as error:
        problem = f"the stored match cannot be read: {error}"
        return DueDelivery(m["id"], m["sink"], m["attempts"], None, problem)
    article = article_ref(m)
    changes = m["changes"] if isinstance(m["changes"], Mapping) else None
    if changes_now is not None:
        changes = changes_now
    alert = Alert(
        match=match,
        article=article,
        created_at=m["match_created_at"],
        story=refs.get(m["story_id"]) if m["story_id"] is not None else None,
        update_of=m["update_of"],
        changes=changes,
    )
    return DueDelivery(m["id"], m["sink"], m["attempts"], alert)


def next_attempt_at(
    conn: Connection,
    *,
    sink: str | None = None,
    other_than: Collection[str] = (),
    owner: str | None = None,
    now: datetime | None = None,
    within: Collection[str] | None = None,
) -> datetime | None:
    """The earliest next attempt of a pending delivery (of ``sink``, or of the sinks
    ``within``) that is not waiting for its original alert, or None. With ``owner`` and
    ``now``: while another instance sends ``sink``'s alerts (`claim_due`), the end of its
    earliest lease (it claims the next ones itself; an earlier time would have ``owner`` try
    to claim in a loop)."""
    if sink is not None and owner is not None and now is not None:
        busy: datetime | None = conn.execute(
            select(func.min(deliveries.c.lease_expires_at)).where(
                _sending_elsewhere(sink, owner, now)
            )
        ).scalar()
        if busy is not None:
            return busy
    condition = and_(deliveries.c.status == "pending", _not_waiting())
    if sink is not None:
        condition = and_(condition, deliveries.c.sink == sink)
    if other_than:
        condition = and_(condition, deliveries.c.sink.not_in(list(other_than)))
    if within is not None:
        condition = and_(condition, deliveries.c.sink.in_(list(within)))
    value: datetime | None = conn.execute(
        select(func.min(deliveries.c.next_attempt_at)).where(condition)
    ).scalar()
    return value


def mark_delivered(conn: Connection, delivery_id: str, *, now: datetime, status: int) -> None:
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            status="delivered",
            attempts=deliveries.c.attempts + 1,
            delivered_at=now,
            last_status=status,
            last_error=None,
            last_error_reason=None,
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def mark_failed(
    conn: Connection,
    delivery_id: str,
    *,
    now: datetime,
    next_attempt_at: datetime | None,
    reason: str,
    error: str,
    status: int | None,
) -> bool:
    """Record a failed attempt: retry at ``next_attempt_at``, or dead-letter when None.
    Whether it was recorded: a delivery the operator dropped meanwhile (its lease had run
    out) stays dropped, and one another instance delivered meanwhile stays delivered (an
    outside probe paused an instance in the middle of a send; another sent it when the lease
    ran out, then the paused one's timeout made it pending, and it was sent a third time)."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status.not_in(("dropped", "delivered")))
        .values(
            status="pending" if next_attempt_at is not None else "dead",
            attempts=deliveries.c.attempts + 1,
            next_attempt_at=next_attempt_at or now,
            last_error=error,
            last_error_reason=reason,
            last_status=status,
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    return bool(result.rowcount)


def postpone(conn: Connection, delivery_id: str, *, until: datetime, reason: str) -> None:
    """Keep a delivery pending without counting an attempt (e.g. its sink is not configured)."""
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            next_attempt_at=until,
            last_error=reason,
            last_error_reason="sink_missing",
            lease_owner=None,
            lease_expires_at=None,
        )
    )


def hold_sink(conn: Connection, sink: str, *, until: datetime) -> int:
    """No pending delivery of ``sink`` is due before ``until`` (its receiver asked to wait:
    Retry-After); attempts are not counted. How many were moved."""
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.sink == sink,
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
    )
    return int(result.rowcount)


def release(conn: Connection, delivery_ids: Sequence[str], owner: str) -> None:
    """Give back the leases ``owner`` holds on deliveries it claimed but did not send (its
    sink's task stopped), so that they are due again at once rather than when the lease
    expires; their next attempt, attempts and order stay as they were."""
    if not delivery_ids:
        return
    conn.execute(
        update(deliveries)
        .where(
            and_(
                deliveries.c.id.in_(list(delivery_ids)),
                deliveries.c.lease_owner == owner,
                deliveries.c.status == "pending",
            )
        )
        .values(lease_owner=None, lease_expires_at=None)
    )


def renew_leases(
    conn: Connection, delivery_ids: Sequence[str], owner: str, until: datetime
) -> set[str]:
    """Extend ``owner``'s leases on these pending deliveries to ``until``; the ids it still
    holds (one whose lease ran out and that another instance claimed, or sent, is not)."""
    if not delivery_ids:
        return set()
    held = and_(
        deliveries.c.id.in_(list(delivery_ids)),
        deliveries.c.lease_owner == owner,
        deliveries.c.status == "pending",
    )
    conn.execute(update(deliveries).where(held).values(lease_expires_at=until))
    return {str(i) for i in conn.execute(select(deliveries.c.id).where(held)).scalars()}


# Failures that say the receiver was down or broken, not that it refused this alert: once
# it answers again, the alerts that failed so are worth trying at once.
RECEIVER_DOWN = (
    "connect_error",
    "dns_error",
    "network_error",
    "protocol_error",
    "timeout",
    "http_5xx",
)


def due_after_recovery(conn: Connection, sink: str, *, now: datetime) -> int:
    """The pending deliveries of ``sink`` waiting for a retry after the receiver was down
    (`RECEIVER_DOWN`) or held by its Retry-After (the one it answered so, and those never
    tried, moved to its time by `hold_sink`) are due at ``now``: it just accepted an alert,
    so they need not wait out their retry schedule or the hold behind the alerts queued
    after them. Their attempts stay (a schedule is not started over, as `retry_sink` does);
    a refusal (4xx), one postponed while its sink was not configured and one being sent
    (leased) are left alone."""
    return _due_now(
        conn,
        sink,
        now,
        or_(
            and_(
                deliveries.c.attempts > 0,
                deliveries.c.last_error_reason.in_((*RECEIVER_DOWN, *HOLDING_REASONS)),
            ),
            and_(deliveries.c.attempts == 0, deliveries.c.last_error_reason.is_(None)),
        ),
        or_(deliveries.c.lease_owner.is_(None), deliveries.c.lease_expires_at <= now),
    )


def hold_lifted(conn: Connection, sink: str, *, since: datetime, until: datetime) -> bool:
    """Whether a hold of ``sink`` until ``until``, made at ``since`` (`hold_sink` moved
    every pending delivery of it to ``until``), was lifted since: a delivery queued before
    it is due earlier now (`monitor alerts retry`, or the receiver accepted an alert sent
    by another process: `due_after_recovery`)."""
    lifted = select(deliveries.c.id).where(
        deliveries.c.sink == sink,
        deliveries.c.status == "pending",
        deliveries.c.created_at <= since,
        deliveries.c.next_attempt_at < until,
    )
    return conn.execute(lifted.limit(1)).first() is not None


def _due_now(conn: Connection, sink: str, now: datetime, *where: ColumnElement[bool]) -> int:
    """The pending deliveries of ``sink`` due later than ``now`` and matching ``where`` are
    due at ``now``; how many."""
    result = conn.execute(
        update(deliveries)
        .where(
            and_(
                deliveries.c.sink == sink,
                deliveries.c.status == "pending",
                deliveries.c.next_attempt_at > now,
                *where,
            )
        )
        .values(next_attempt_at=now)
    )
    return int(result.rowcount)


def resume_postponed(conn: Connection, sink: str, *, now: datetime) -> int:
    """The deliveries of ``sink`` kept pending while it was not configured (postponed,
    ``sink_missing``) are due again at ``now``: the sink is back. Their order among
    themselves (oldest first) stays."""
    return _due_now(conn, sink, now, deliveries.c.last_error_reason == "sink_missing")


def list_deliveries(
    conn: Connection, *, status: str | None = None, limit: int = 100
) -> list[DeliveryRow]:
    query = (
        select(
            deliveries.c.id,
            deliveries.c.sink,
            deliveries.c.status,
            deliveries.c.attempts,
            deliveries.c.next_attempt_at,
            deliveries.c.last_error,
            deliveries.c.last_error_reason,
            deliveries.c.last_status,
            deliveries.c.created_at,
            deliveries.c.delivered_at,
            matches.c.watchlist,
            matches.c.entities,
            articles.c.title,
            naming_text,
            case(
                (
                    and_(
                        deliveries.c.status == "pending",
                        _ORIGINAL.c.status.in_(HOLDING_STATES),
                    ),
                    _ORIGINAL.c.id,
                ),
                else_=None,
            ).label("waits_for"),
            select(func.count(digest_items.c.id))
            .where(digest_items.c.digest_id == deliveries.c.digest_id)
            .scalar_subquery()
            .label("stories"),
        )
        .join(matches, matches.c.id == deliveries.c.match_id)
        .join(articles, articles.c.id == matches.c.article_id)
        .outerjoin(_ORIGINAL, _ORIGINAL.c.id == deliveries.c.update_of)
        .order_by(deliveries.c.created_at.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(deliveries.c.status == status)
    rows = []
    for row in conn.execute(query):
        found = dict(row._mapping)
        summary = found.pop("summary")
        found["title"] = alert_title(found["title"] or "", summary or "")  # as alerts say it
        found["stories"] = found["stories"] or 0
        if found["stories"] > 1:
            # A digest is listed by its first story: say it holds more (probe69).
            found["title"] = f"digest of {found['stories']} stories, the first: {found['title']}"
        rows.append(DeliveryRow(**{**found, "entities": tuple(row.entities)}))
    return rows


def sink_names(conn: Connection) -> list[str]:
    """Every sink name the deliveries were queued for, sorted."""
    return sorted(conn.execute(select(deliveries.c.sink).distinct()).scalars())


def count_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
    ).all()
    return {str(status): int(count) for status, count in rows}


def count_sending_elsewhere(
    conn: Connection, owner: str, now: datetime, configured: Collection[str] = ()
) -> int:
    """Pending deliveries another instance is sending: those under its live lease, and the
    due ones of a sink (of ``configured``) it holds a lease on, which it sends next (one
    instance at a time sends a sink's alerts: `claim_due`). Counted as retrying, a second
    alert queued behind the one being sent made `monitor once` beside `monitor run` exit 4."""
    leased = and_(
        deliveries.c.status == "pending",
        deliveries.c.lease_owner != owner,
        deliveries.c.lease_expires_at >= now,
    )
    busy_sinks = select(deliveries.c.sink).where(leased).distinct()
    queued_behind = and_(
        deliveries.c.status == "pending",
        deliveries.c.sink.in_(list(configured)),
        deliveries.c.sink.in_(busy_sinks),
        deliveries.c.next_attempt_at <= now,
        _not_waiting(),
    )
    condition = or_(leased, queued_behind) if configured else leased
    return int(conn.execute(select(func.count()).where(condition)).scalar() or 0)


def count_delivered_since(conn: Connection, since: datetime) -> int:
    """Deliveries delivered at or after ``since`` (by any instance)."""
    delivered = and_(deliveries.c.status == "delivered", deliveries.c.delivered_at >= since)
    return int(conn.execute(select(func.count()).where(delivered)).scalar() or 0)


def count_held(conn: Connection, configured: Collection[str]) -> int:
    """Pending deliveries (not waiting for their original) of a sink not in ``configured``:
    kept until it is configured and enabled again, not retried."""
    held = and_(
        deliveries.c.status == "pending", _not_waiting(), deliveries.c.sink.not_in(list(configured))
    )
    return int(conn.execute(select(func.count()).where(held)).scalar() or 0)


def count_waiting(conn: Connection) -> int:
    """Pending follow-ups that wait for their original alert (pending or dead): they are
    not retrying, and go only after it (`_not_waiting`)."""
    waiting = and_(deliveries.c.status == "pending", ~_not_waiting())
    return int(conn.execute(select(func.count()).where(waiting)).scalar() or 0)


def ids_starting_with(conn: Connection, prefix: str, *, limit: int = 10) -> list[str]:
    """Up to ``limit`` delivery ids that start with ``prefix`` (the short id `monitor alerts`
    shows is the first 8 characters), in order."""
    query = (
        select(deliveries.c.id)
        .where(deliveries.c.id.startswith(prefix, autoescape=True))
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    return [str(row.id) for row in conn.execute(query)]


def requeue(conn: Connection, *, now: datetime, delivery_id: str | None = None) -> int:
    """Put dead deliveries (or one, by id, whatever its state but delivered) back in the queue."""
    condition = (
        deliveries.c.status == "dead"
        if delivery_id is None
        else and_(deliveries.c.id == delivery_id, deliveries.c.status != "delivered")
    )
    result = conn.execute(
        update(deliveries)
        .where(condition)
        .values(status="pending", attempts=0, next_attempt_at=now, lease_owner=None)
    )
    return int(result.rowcount)


def retry_sink(conn: Connection, sink: str, *, now: datetime, dead: bool) -> int:
    """The deliveries of ``sink`` waiting for a retry after failing or held by its
    receiver's Retry-After (and its dead ones when ``dead``) are due at ``now``, their retry
    schedule started over: the sink was fixed. One being sent (leased) is left alone."""
    failed = and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at > now)
    result = conn.execute(
        update(deliveries)
        .where(
            and_(
                deliveries.c.sink == sink,
                or_(failed, deliveries.c.status == "dead") if dead else failed,
                or_(deliveries.c.lease_owner.is_(None), deliveries.c.lease_expires_at <= now),
            )
        )
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    return int(result.rowcount)


def drop(
    conn: Connection, *, now: datetime, delivery_id: str | None = None, sink: str | None = None
) -> int:
    """Give up on dead deliveries (or one, by id, pending or dead, or every pending and dead
    one of ``sink``) for good: ``dropped``, never sent nor retried; `requeue` takes one
    back. One being sent (leased) is left alone: its send may reach the receiver whatever is
    written here, and its outcome overwrote the drop (an outside probe: "1 delivery
    dropped", then sent twice more and dead)."""
    waiting = deliveries.c.status.in_(("pending", "dead"))
    if delivery_id is not None:
        chosen = and_(deliveries.c.id == delivery_id, waiting)
    elif sink is not None:
        chosen = and_(deliveries.c.sink == sink, waiting)
    else:
        chosen = deliveries.c.status == "dead"
    condition = and_(
        chosen,
        or_(deliveries.c.lease_owner.is_(None), deliveries.c.lease_expires_at <= now),
    )
    result = conn.execute(
        update(deliveries)
        .where(condition)
        .values(
            status="dropped",
            lease_owner=None,
            lease_expires_at=None,
            last_error=f"dropped by the operator at {now.isoformat(timespec='seconds')}",
        )
    )
    return int(result.rowcount)


def status_of(conn: Connection, delivery_id: str) -> str | None:
    """The delivery's status, or None when there is no such delivery."""
    found = conn.execute(select(deliveries.c.status).where(deliveries.c.id == delivery_id))
    return found.scalar()


def alerts_of_article(conn: Connection, article_id: int) -> dict[tuple[str, str], tuple[str, str]]:
    """What was queued for a stored article, by (watchlist, sink): (the delivery's id, its
    status), or (the digest's id or "", ``in_digest``) for an item of a digest sink."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    rows = conn.execute(
        select(matches.c.watchlist, deliveries.c.sink, deliveries.c.id, deliveries.c.status)
        .join(deliveries, deliveries.c.match_id == matches.c.id)
        .where(matches.c.article_id == article_id)
    )
    for watchlist, sink, delivery_id, status in rows:
        found[(watchlist, sink)] = (delivery_id, status)
    items = conn.execute(
        select(digest_items.c.watchlist, digest_items.c.sink, digest_items.c.digest_id)
        .join(matches, digest_items.c.match_id == matches.c.id)
        .where(matches.c.article_id == article_id)
    )
    for watchlist, sink, digest_id in items:
        found.setdefault((watchlist, sink), (digest_id or "", IN_DIGEST))
    return found


IN_DIGEST = "in_digest"


@dataclass(frozen=True)
class Told:
    """The first thing a sink was told about a story for a watchlist (``story_alerts``)."""

    kind: str
    delivery_id: str | None
    article_id: int
    created_at: datetime


@dataclass(frozen=True)
class StoredContext:
    """What decided whether a stored article alerted (`monitor explain`): when it was stored
    beside its source's first poll and policy, its date, the watchlists stored as matching
    it, its story's sources when it was stored, and what each sink was told of the story."""

    fetched_at: datetime
    published_at: datetime | None
    first_polled_at: datetime | None
    first_run: str
    first_run_window: timedelta
    matched: frozenset[str]
    story_sources: int | None
    told: Mapping[tuple[str, str], Told]  # (watchlist, sink) -> the first row


def stored_context(conn: Connection, article_id: int) -> StoredContext | None:
    """`StoredContext` of a stored article (None when there is none): four small reads."""
    row = conn.execute(
        select(
            articles.c.fetched_at,
            articles.c.published_at,
            sources.c.first_polled_at,
            sources.c.first_run,
            sources.c.first_run_window_seconds,
        )
        .join(sources, sources.c.id == articles.c.source_id)
        .where(articles.c.id == article_id)
    ).first()
    if row is None:
        return None
    matched = frozenset(
        conn.execute(select(matches.c.watchlist).where(matches.c.article_id == article_id))
        .scalars()
        .all()
    )
    story_id = conn.execute(
        select(story_signatures.c.story_id).where(story_signatures.c.article_id == article_id)
    ).scalar()
    story_sources: int | None = None
    told: dict[tuple[str, str], Told] = {}
    if story_id is not None:
        story_sources = int(
            conn.execute(
                select(func.count(func.distinct(articles.c.source_id)))
                .join(story_signatures, story_signatures.c.article_id == articles.c.id)
                .where(
                    story_signatures.c.story_id == story_id,
                    articles.c.fetched_at <= row.fetched_at,  # as it was then
                )
            ).scalar_one()
        )
        for alert in conn.execute(
            select(
                story_alerts.c.watchlist,
                story_alerts.c.sink,
                story_alerts.c.kind,
                story_alerts.c.delivery_id,
                story_alerts.c.article_id,
                story_alerts.c.created_at,
            )
            .where(story_alerts.c.story_id == story_id)
            .order_by(story_alerts.c.id)
        ):
            told.setdefault(
                (alert.watchlist, alert.sink),
                Told(alert.kind, alert.delivery_id, int(alert.article_id), alert.created_at),
            )
    return StoredContext(
        fetched_at=row.fetched_at,
        published_at=row.published_at,
        first_polled_at=row.first_polled_at,
        first_run=str(row.first_run),
        first_run_window=timedelta(seconds=int(row.first_run_window_seconds)),
        matched=matched,
        story_sources=story_sources,
        told=told,
    )
