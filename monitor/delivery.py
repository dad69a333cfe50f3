"""The outbox: claim due deliveries, POST them, then mark them delivered, schedule a retry with
back-off, or dead-letter them. Send first, mark after: never zero sends."""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from monitor import metrics
from monitor.alerts import send
from monitor.alerts.digest import Digest, period_end, previous_period_end
from monitor.alerts.record import Alert
from monitor.alerts.senders import secrets_of
from monitor.config import SinkConfig
from monitor.db.deliveries import DueDelivery
from monitor.db.problems import is_outage
from monitor.errors import DeliveryError
from monitor.logs import log_fields
from monitor.plural import plural
from monitor.redact import redact_text, redact_url
from monitor.runtime import Runtime, sink_target
from monitor.wait import wait_first

log = logging.getLogger(__name__)

SINK_MISSING_RECHECK = timedelta(minutes=10)
# Added to a sink's timeout: a claimed delivery is sent only under a lease that outlasts it.
LEASE_MARGIN = timedelta(seconds=5)


TITLE_CHARS = 80  # an article title in a log line is cut to this
# The longest a receiver's Retry-After holds a whole sink (and one delivery's next try).
MAX_SINK_WAIT = 86400.0


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt did; ``next_attempt_at`` is when a "retry" or "postponed" one is
    tried again."""

    delivery_id: str
    sink: str
    status: str  # "delivered", "retry", "dead", "postponed" or "interrupted" (nothing recorded)
    error: str | None = None
    next_attempt_at: datetime | None = None
    sink_wait: float | None = None
    """Seconds the receiver asked the whole sink to wait (its Retry-After), if it did."""


def utc_text(moment: datetime) -> str:
    """A time as log lines and the CLI show it: UTC, to the second, ``Z``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def describe_alert(due: DueDelivery) -> str:
    """The article an alert is about, for a log line: its title and redacted URL."""
    if due.alert is None:
        return f"delivery {due.id}"
    if isinstance(due.alert, Digest):
        return f"{due.alert.describe()} (delivery {due.id})"
    article = due.alert.article
    title = " ".join(article.title.split())
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1] + "…"
    shown = redact_url(article.url) if article.url else "no link"
    return f"{title!r} ({shown}; {due.alert.match.watchlist}; delivery {due.id})"


def delivery_log_fields(due: DueDelivery, **more: object) -> dict[str, object]:
    """``extra=`` for a log line about a delivery: its id, sink and article (id, redacted
    URL, watchlist)."""
    alert = due.alert if isinstance(due.alert, Alert) else None
    article = alert.article if alert is not None else None
    return log_fields(
        delivery_id=due.id,
        sink=due.sink,
        article_id=article.id if article is not None else None,
        url=redact_url(article.url) if article is not None and article.url else None,
        watchlist=alert.match.watchlist if alert is not None else None,
        **more,
    )


def next_attempt(
    sink: SinkConfig, attempts_before: int, now: datetime, retry_after: float | None
) -> datetime | None:
    """When to try again after failed attempt number ``attempts_before + 1``; None = dead."""
    schedule = sink.retry_schedule
    if attempts_before >= len(schedule):
        return None
    delay = schedule[attempts_before]
    if retry_after:
        delay = max(delay, timedelta(seconds=min(retry_after, MAX_SINK_WAIT)))
    return now + delay


async def deliver_one(
    runtime: Runtime, client: httpx.AsyncClient, due: DueDelivery
) -> DeliveryOutcome:
    """Send one claimed delivery, then record the result (send first, mark after)."""
    sink = runtime.sinks.get(due.sink)
    store = runtime.store
    if sink is None:
        # The sink left the config (or was disabled): keep the alert, look again later.
        until = runtime.clock() + SINK_MISSING_RECHECK
        message = (
            f"sink {due.sink!r} is not configured or disabled; the alert is kept pending: "
            "it is sent once a sink of that name is configured again (a renamed sink is a "
            "new one), or drop it with `monitor alerts drop ID` (or all of the sink's with "
            f"`monitor alerts drop --sink {shlex.quote(due.sink)}`)"
        )
        await store.postpone(due.id, until=until, reason=message)
        log.warning(
            "%s: %s; looking again at %s",
            describe_alert(due),
            message,
            utc_text(until),
            extra=delivery_log_fields(due, status="postponed", reason="sink_missing"),
        )
        return DeliveryOutcome(due.id, due.sink, "postponed", message, until)
    if due.alert is None:
        problem = DeliveryError(due.sink, "internal_error", due.problem or "unreadable alert")
        return await _record_failure(runtime, sink, due, problem)
    started = time.monotonic()
    try:
        status = await send(
            client, sink_target(sink), due.id, due.alert.payload(), now=runtime.clock()
        )
    except DeliveryError as error:
        if not client.is_closed:
            return await _record_failure(runtime, sink, due, error, started)
        # This process closed the connection (it is stopping at once), not the receiver: as
        # a cancel, nothing is recorded (an outside probe saw it counted as the receiver's
        # protocol error, an attempt spent).
        _interrupted(due, started)
        return DeliveryOutcome(due.id, due.sink, "interrupted", str(error))
    except asyncio.CancelledError:
        # The service stopped (its grace period over) while the receiver had not answered:
        # nothing is recorded, so the alert is sent again, with the same webhook-id.
        _interrupted(due, started)
        raise
    except Exception as error:  # noqa: BLE001 - a bad row must not stop the other deliveries
        log.exception(
            "delivery of %s failed unexpectedly",
            describe_alert(due),
            extra=delivery_log_fields(
                due, reason="internal_error", attempt=due.attempts + 1, duration_ms=_ms(started)
            ),
        )
        problem = DeliveryError(due.sink, "internal_error", repr(error))
        return await _record_failure(runtime, sink, due, problem, started)
    await store.mark_delivered(due.id, now=runtime.clock(), status=status)
    log.info(
        "delivered %s to %s",
        describe_alert(due),
        due.sink,
        extra=delivery_log_fields(
            due, status="delivered", attempt=due.attempts + 1, duration_ms=_ms(started)
        ),
    )
    return DeliveryOutcome(due.id, due.sink, "delivered")


def _interrupted(due: DueDelivery, started: float) -> None:
    log.warning(
        "delivery of %s to %s was stopped before the receiver answered; it stays "
        "pending and is sent again (same webhook-id: the receiver may have it already)",
        describe_alert(due),
        due.sink,
        extra=delivery_log_fields(due, status="interrupted", duration_ms=_ms(started)),
    )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


async def _record_failure(
    runtime: Runtime,
    sink: SinkConfig,
    due: DueDelivery,
    error: DeliveryError,
    started: float | None = None,
) -> DeliveryOutcome:
    now = runtime.clock()
    when = next_attempt(sink, due.attempts, now, error.retry_after)
    message = redact_text(str(error), sink.url, secrets=secrets_of(sink.secret))
    recorded = await runtime.store.mark_failed(
        due.id,
        now=now,
        next_attempt_at=when,
        reason=error.reason,
        error=message,
        status=error.status,
    )
    attempt = due.attempts + 1
    if not recorded and await runtime.store.adelivery_status(due.id) == "delivered":
        log.info(
            "delivery of %s to %s failed here (%s: %s), but another instance delivered it "
            "meanwhile (its lease had run out: was this process paused?); it stays delivered",
            describe_alert(due),
            due.sink,
            error.reason,
            message,
            extra=delivery_log_fields(due, status="delivered", reason="delivered_elsewhere"),
        )
        return DeliveryOutcome(due.id, due.sink, "delivered")
    duration = _ms(started) if started is not None else None
    if when is not None:
        state = "retry"
        log.warning(
            "delivery of %s to %s failed (%s, attempt %d): %s; next try at %s",
            describe_alert(due),
            due.sink,
            error.reason,
            attempt,
            message,
            utc_text(when),
            extra=delivery_log_fields(
                due, status=state, reason=error.reason, attempt=attempt, duration_ms=duration
            ),
        )
    else:
        state = "dead"
        log.warning(
            "delivery of %s to %s failed (%s, attempt %d): %s; no tries left, it is dead "
            "(`monitor alerts retry %s`)",
            describe_alert(due),
            due.sink,
            error.reason,
            attempt,
            message,
            due.id[:8],
            extra=delivery_log_fields(
                due, status=state, reason=error.reason, attempt=attempt, duration_ms=duration
            ),
        )
    wait = min(error.retry_after, MAX_SINK_WAIT) if error.retry_after else None
    return DeliveryOutcome(due.id, due.sink, state, message, when, wait)


class Outbox:
    """Sends due deliveries: one task per configured sink, so that a slow sink never delays
    the others and each sink gets its alerts in the order they were queued. `wake` sends what
    was just queued at once; ``delivery.tick`` remains as a safety net."""

    def __init__(
        self,
        runtime: Runtime,
        client: httpx.AsyncClient,
        *,
        owner: str,
        stopping: asyncio.Event,
    ) -> None:
        self.runtime = runtime
        self.client = client
        self.owner = owner
        self.stopping = stopping
        self._wake = {name: asyncio.Event() for name in runtime.sinks}
        self._sinks_changed = asyncio.Event()
        # The outcomes of the last `deliver_pending` so far: what a stopped `monitor once`
        # reports when its grace ran out in the middle of the pass (`run` keeps none).
        self.sent: list[DeliveryOutcome] = []
        # Sinks whose receiver accepted an alert since this instance started or last saw it
        # fail: the first acceptance after that makes the alerts waiting for a retry due.
        self._answering: set[str] = set()
        # Sinks whose sending settings changed in a reload (`sinks_changed`).
        self._redirected: set[str] = set()
        # A sink whose receiver answered with a Retry-After: nothing is sent to it before
        # then (this instance), so one rate-limited alert does not become a burst of refusals.
        # Each held sink's (until, since): its hold's end and when it was made in the
        # database (None: it could not be, and only this instance's memory holds it).
        self._sink_waits: dict[str, tuple[datetime, datetime | None]] = {}
        # The config of each sink not in digest mode whose leftover digest items were looked
        # for (`_make_digest`): once per sink and config, not at every pass.
        self._leftovers_checked: dict[str, object] = {}

    def wake(self) -> None:
        """Alerts were queued (here or, through NOTIFY, by another instance)."""
        for event in self._wake.values():
            event.set()

    def sinks_changed(self, redirected: Collection[str] = ()) -> None:
        """The runtime's sinks changed (a config reload): `run` starts a task for each new
        sink; the task of a sink no longer configured stops after the send in hand and gives
        back the leases of the deliveries it claimed and did not send; its pending deliveries
        stay in the database (kept pending by the task for the sinks that are not
        configured) until the sink is back, when its new task makes them due at once. A
        changed sink is sent to with its new settings from its next delivery on; for the
        ``redirected`` ones (URL, secret, format, signing or timeout changed: what failed may
        work now) the deliveries waiting for a retry are due at once, and a Retry-After of
        the old receiver no longer holds them."""
        for name in self.runtime.sinks:
            self._wake.setdefault(name, asyncio.Event())
        for name in redirected:
            self._sink_waits.pop(name, None)
            self._redirected.add(name)
        self.wake()
        self._sinks_changed.set()

    async def _retry_redirected(self, sink: str) -> None:
        """``sink``'s settings changed: its deliveries waiting for a retry are due now."""
        self._redirected.discard(sink)
        try:
            count = await self.runtime.store.aretry_sink(sink, now=self.runtime.clock(), dead=False)
        except Exception:  # noqa: BLE001 - they are sent when their retry comes, as before
            log.warning(
                "could not make the deliveries of sink %r due now",
                sink,
                exc_info=True,
                extra=log_fields(sink=sink),
            )
            return
        if count:
            log.info(
                "sink %r changed: %d deliveries waiting for a retry are due now",
                sink,
                count,
                extra=log_fields(sink=sink),
            )

    def _configured(self, sink: str | None) -> bool:
        return sink is None or sink in self.runtime.sinks

    def _waiting(self, sink: str | None) -> float:
        """Seconds ``sink`` still waits for its receiver's Retry-After (0: none)."""
        held = self._sink_waits.get(sink) if sink is not None else None
        if sink is None or held is None:
            return 0.0
        left = (held[0] - self.runtime.clock()).total_seconds()
        if left <= 0:
            del self._sink_waits[sink]
            return 0.0
        return left

    async def _pass(
        self, sink: str | None, outcomes: list[DeliveryOutcome] | None = None
    ) -> list[DeliveryOutcome]:
        """Send everything due now for ``sink`` (None: sinks that are not configured), each
        delivery at most once: a retry that falls due during the pass waits for the next
        one (`monitor once` is one pass, not a run through the whole retry schedule)."""
        config = self.runtime.settings.delivery
        outcomes = [] if outcomes is None else outcomes  # the caller's, to read as it fills
        others = tuple(self.runtime.sinks) if sink is None else ()
        tried: set[str] = set()
        interrupted = False
        if sink is not None:
            await self._make_digest(sink)
        lease = self._lease(sink)
        while not self.stopping.is_set() and self._configured(sink) and not self._waiting(sink):
            claimed_at = self.runtime.clock()
            claimed = await self.runtime.store.claim_deliveries(
                owner=self.owner,
                now=claimed_at,
                lease=lease,
                limit=config.batch,
                sink=sink,
                other_than=others,
            )
            batch = [due for due in claimed if due.id not in tried]
            if len(batch) < len(claimed):
                await self._release(sink, [due.id for due in claimed if due.id in tried])
            if not batch:
                break
            tried.update(due.id for due in batch)
            held_until = claimed_at + lease  # as the claim wrote it
            taken: set[str] = set()  # by another instance once their lease ran out
            started = 0
            try:
                for index, due in enumerate(batch):
                    if self.stopping.is_set() or not self._configured(sink):
                        break  # the rest are given back below, due again at once
                    if self._waiting(sink):
                        break  # the receiver asked for a pause: the rest wait with it
                    started += 1
                    held_until = await self._keep_leases(batch[index:], held_until, taken)
                    if due.id in taken:
                        continue  # another instance has it
                    outcome = await deliver_one(self.runtime, self.client, due)
                    metrics.deliveries.labels(outcome.status).inc()
                    outcomes.append(outcome)
                    if outcome.status == "interrupted":
                        interrupted = True  # the client is closed: the rest are given back
                        break
                    await self._note_answer(outcome)
                    if outcome.sink_wait and sink is not None:
                        await self._hold(sink, outcome.sink_wait)
            finally:
                # Claimed and not sent (stopping, the sink left the config, or an error):
                # give back their leases, so that they need not wait for `delivery.lease` to
                # expire (the sink may be back at once, or another instance may send them).
                await self._release(sink, [due.id for due in batch[started:]])
            if sink is None or interrupted:
                break  # postponed ones are not due again until later; nor sends, unsendable
        return outcomes

    async def _note_answer(self, outcome: DeliveryOutcome) -> None:
        """After a receiver was down, its first acceptance makes the sink's alerts that
        failed meanwhile due now: they would otherwise reach it after the ones queued
        later, up to a retry interval (hours) later."""
        if outcome.status in ("retry", "dead"):
            self._answering.discard(outcome.sink)
        elif outcome.status == "delivered" and outcome.sink not in self._answering:
            self._answering.add(outcome.sink)
            due = await self.runtime.store.due_after_recovery(outcome.sink, self.runtime.clock())
            if due:
                log.info(
                    "sink %r accepts alerts again: %s that failed, or were held behind its "
                    "pause, while it was down %s due now",
                    outcome.sink,
                    plural(due, "alert"),
                    "is" if due == 1 else "are",
                )

    def _lease(self, sink: str | None) -> timedelta:
        """How long a claim of ``sink``'s deliveries holds them: `delivery.lease`, at most
        two sends' worth (its timeout and `LEASE_MARGIN`, twice), renewed as the batch goes
        (`_keep_leases`). A sink has one sender at a time, so an instance that dies with a
        batch in hand holds the sink, new alerts included, until its leases end: seconds,
        not `delivery.lease`."""
        configured = self.runtime.sinks.get(sink) if sink is not None else None
        lease = self.runtime.settings.delivery.lease
        if configured is None:
            return lease
        return min(lease, 2 * (configured.timeout + LEASE_MARGIN))

    async def _keep_leases(
        self, rest: Sequence[DueDelivery], held_until: datetime, taken: set[str]
    ) -> datetime:
        """Until when the leases on ``rest`` (the batch from the next send on) hold, renewed
        first when the next send could outlast them (a slow receiver): otherwise another
        instance would claim the rest once they ran out, and both would send them. Those
        another instance took meanwhile are added to ``taken``."""
        configured = self.runtime.sinks.get(rest[0].sink)
        timeout = configured.timeout if configured is not None else timedelta(0)
        send_by = self.runtime.clock() + timeout + LEASE_MARGIN
        if send_by <= held_until:
            return held_until
        until = max(send_by, self.runtime.clock() + self._lease(rest[0].sink))
        ids = [due.id for due in rest]
        held = await self.runtime.store.renew_delivery_leases(ids, self.owner, until)
        taken.update(set(ids) - held)
        return until

    async def _hold(self, sink: str, seconds: float) -> None:
        """The receiver of ``sink`` asked to wait (Retry-After): nothing more is sent to it
        before then, by this instance (in memory: also alerts queued meanwhile) and by any
        (its pending deliveries are made due then)."""
        now = self.runtime.clock()
        until = now + timedelta(seconds=seconds)
        earlier = self._sink_waits.get(sink)
        since: datetime | None = now
        if earlier is not None and earlier[0] >= until:
            until, since = earlier
        self._sink_waits[sink] = (until, since)
        try:
            held = await self.runtime.store.hold_sink(sink, until=until)
        except Exception:  # noqa: BLE001 - this instance still waits; the others may ask
            log.warning("could not postpone the deliveries of sink %r", sink, exc_info=True)
            held = 0
            self._sink_waits[sink] = (until, None)
        log.info(
            "sink %r asked to wait %s (Retry-After): its alerts are sent from %s on (%s postponed)",
            sink,
            timedelta(seconds=round(seconds)),
            utc_text(until),
            plural(held, "pending alert"),
            extra=log_fields(sink=sink),
        )

    async def _hold_lifted(self, sink: str) -> bool:
        """Whether ``sink``'s Retry-After hold in this instance was lifted in the database
        (`monitor alerts retry`, or its receiver accepted an alert another process sent):
        then it ends here too."""
        until, since = self._sink_waits[sink]
        if since is None:
            return False
        try:
            lifted = await self.runtime.store.hold_lifted(sink, since=since, until=until)
        except Exception:  # noqa: BLE001 - the database away: the hold stands
            return False
        if lifted:
            del self._sink_waits[sink]
            log.info(
                "sink %r: its Retry-After hold until %s was lifted (alerts retry, or its "
                "receiver accepted an alert): sending again",
                sink,
                utc_text(until),
                extra=log_fields(sink=sink),
            )
        return lifted

    async def _make_digest(self, sink: str) -> None:
        """For a digest sink: the digest of its last ended period, when not made yet. For a
        sink that is no digest sink (any more): what waited for a digest is sent now, as its
        last digest (an outside probe: a sink switched from digest to immediate alerts never
        sent the items its digest had been collecting, and `status` said ok)."""
        config = self.runtime.sinks.get(sink)
        if config is None:
            return
        now = self.runtime.clock()
        if config.mode != "digest":
            if self._leftovers_checked.get(sink) is config:
                return
            self._leftovers_checked[sink] = config
            start, end = now, now
        else:
            end = period_end(now, every=config.every, at=config.at)
            start = previous_period_end(end, every=config.every)
        made = await self.runtime.store.make_digest(sink, start=start, end=end, now=now)
        if made:
            log.info(
                "digest %s for sink %r (period up to %s) is queued",
                made,
                sink,
                utc_text(end),
                extra=log_fields(sink=sink, delivery_id=made),
            )

    async def _release(self, sink: str | None, delivery_ids: list[str]) -> None:
        if not delivery_ids:
            return
        try:
            await self.runtime.store.release_deliveries(delivery_ids, self.owner)
        except Exception as error:  # noqa: BLE001 - the leases then expire: nothing is lost
            outage = is_outage(error)  # the database away or full: one line (probe89)
            log.warning(
                "could not give back the leases of %d claimed deliveries of sink %r%s; they "
                "are due again when their lease expires",
                len(delivery_ids),
                sink,
                f" ({self.runtime.store.outage_text(error)})" if outage else "",
                exc_info=not outage,
                extra=log_fields(sink=sink),
            )

    async def _resume(self, sink: str) -> None:
        """A sink's task starts (at start, or the sink is back after a reload): its deliveries
        postponed while it was not configured are due now."""
        try:
            resumed = await self.runtime.store.resume_postponed(sink, now=self.runtime.clock())
        except Exception as error:  # noqa: BLE001 - looked at again when their postponement ends
            outage = is_outage(error)  # the database away, full or damaged: one line
            log.warning(
                "could not resume the postponed deliveries of sink %r%s",
                sink,
                f" ({self.runtime.store.outage_text(error)})" if outage else "",
                exc_info=not outage,
                extra=log_fields(sink=sink),
            )
            return
        if resumed:
            log.info(
                "sink %r is configured: %s kept pending for it %s due now",
                sink,
                plural(resumed, "delivery", "deliveries"),
                "is" if resumed == 1 else "are",
                extra=log_fields(sink=sink),
            )

    async def deliver_pending(self) -> list[DeliveryOutcome]:
        """One pass over every sink, concurrently (``monitor once``); first, as a sink's task
        does when it starts, the deliveries postponed while a sink was not configured are due
        now (a sink enabled again since the last run)."""
        self.sent = []
        await asyncio.gather(*(self._resume(name) for name in self.runtime.sinks))
        sinks = [*self.runtime.sinks, None]
        await asyncio.gather(*(self._pass(name, self.sent) for name in sinks))
        return list(self.sent)

    async def _sink_loop(self, sink: str | None) -> None:
        tick = self.runtime.settings.delivery.tick.total_seconds()
        event = self._wake.get(sink) if sink is not None else None
        if sink is not None:
            await self._resume(sink)
        failed = 0  # passes failed in a row
        named = f"sink {sink!r}" if sink is not None else "the alerts of sinks not in the config"
        while not self.stopping.is_set() and self._configured(sink):
            if event is not None:
                event.clear()
            if sink in self._redirected:
                await self._retry_redirected(sink)
            try:
                await self._pass(sink)
                others = tuple(self.runtime.sinks) if sink is None else ()
                next_at = await self.runtime.store.next_attempt_at(
                    sink=sink, other_than=others, owner=self.owner, now=self.runtime.clock()
                )
            except Exception as error:
                # The database away (locked, full, restarting): one line, at the 1st, 2nd,
                # 4th, 8th ... failure in a row (a line per sink every tick filled the log),
                # the traceback only for what is not that.
                failed += 1
                outage = is_outage(error)
                if not outage or failed & (failed - 1) == 0:
                    log.log(
                        logging.WARNING if outage else logging.ERROR,
                        "delivery pass for %s failed%s%s; trying again",
                        named,
                        f": {self.runtime.store.outage_text(error)}" if outage else "",
                        f" ({failed} in a row)" if failed > 1 else "",
                        exc_info=not outage,
                        extra=log_fields(sink=sink),
                    )
                next_at = None
            else:
                if failed:
                    log.info(
                        "delivery pass for %s works again after %d failures",
                        named,
                        failed,
                        extra=log_fields(sink=sink),
                    )
                failed = 0
            delay = tick
            if next_at is not None:
                delay = min(tick, max(0.01, (next_at - self.runtime.clock()).total_seconds()))
            waiting = self._waiting(sink)
            if waiting and sink is not None and await self._hold_lifted(sink):
                delay = 0.0  # the sink was fixed, or its receiver accepted an alert
            elif waiting:
                # A wake-up changes nothing before the receiver's time, but the hold may be
                # lifted meanwhile from outside: looked at every tick.
                delay = min(waiting, tick)
            waits = [self.stopping.wait()] + ([event.wait()] if event is not None else [])
            await wait_first(*waits, within=delay)

    async def run(self) -> None:
        """Deliver until ``stopping``; a send in hand finishes first. One task per sink, and
        one for the deliveries of sinks that are not configured; `sinks_changed` starts the
        tasks of new sinks."""
        loops: dict[str | None, asyncio.Task[None]] = {}
        while True:
            self._sinks_changed.clear()
            for name, task in list(loops.items()):
                if task.done():  # a sink no longer configured, or an unexpected error
                    del loops[name]
                    task.result()  # raises that error, as one failing task always did
            if self.stopping.is_set():
                break
            for name in [None, *self.runtime.sinks]:
                if name not in loops:
                    loops[name] = asyncio.create_task(
                        self._sink_loop(name), name=f"outbox {name or '(sinks not configured)'}"
                    )
            ended = asyncio.wait(list(loops.values()), return_when=asyncio.FIRST_COMPLETED)
            await wait_first(self.stopping.wait(), self._sinks_changed.wait(), ended)
        await asyncio.gather(*loops.values())
