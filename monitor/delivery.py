"""The outbox worker: claim due deliveries, POST them, then mark them delivered, schedule a
retry with back-off, or dead-letter them. Send first, mark after: never zero sends."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from monitor.alerts import ArticleRef, build_payload, send
from monitor.config import SinkConfig
from monitor.db import deliveries as delivery_queries
from monitor.db.deliveries import DueDelivery
from monitor.errors import DeliveryError
from monitor.runtime import Runtime, sink_target
from monitor.text import html_to_text

log = logging.getLogger(__name__)

SINK_MISSING_RECHECK = timedelta(minutes=10)


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: str
    sink: str
    status: str  # "delivered", "retry", "dead" or "postponed"
    error: str | None = None


def payload_for(due: DueDelivery) -> dict[str, object]:
    """The webhook body of a delivery; the same bytes on every retry."""
    detail = due.detail
    return build_payload(
        watchlist=due.watchlist,
        entities=list(due.entities),
        article=ArticleRef(
            id=due.article_id,
            title=html_to_text(due.title),  # stored fields are HTML fragments
            url=due.url,
            published=due.published_at,
            source_name=due.source_name,
            source_url=due.source_url,
        ),
        matches=list(detail.get("matches", [])),
        excerpts=list(detail.get("excerpts", [])),
        rule=detail.get("rule"),
        rule_expr=detail.get("rule_expr"),
        timestamp=due.match_created_at,
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
        delay = max(delay, timedelta(seconds=min(retry_after, 86400)))
    return now + delay


async def deliver_one(
    runtime: Runtime, client: httpx.AsyncClient, due: DueDelivery
) -> DeliveryOutcome:
    sink = runtime.sinks.get(due.sink)
    db = runtime.db
    if sink is None:
        # The sink left the config (or was disabled): keep the alert, look again later.
        until = runtime.clock() + SINK_MISSING_RECHECK
        message = f"sink {due.sink!r} is not configured or disabled; the alert is kept pending"
        await db.run(lambda c: delivery_queries.postpone(c, due.id, until=until, reason=message))
        return DeliveryOutcome(due.id, due.sink, "postponed", message)
    try:
        status = await send(
            client, sink_target(sink), due.id, payload_for(due), now=runtime.clock()
        )
    except DeliveryError as error:
        return await _record_failure(runtime, sink, due, error)
    except Exception as error:  # noqa: BLE001 - a bad row must not stop the other deliveries
        log.exception("delivery %s failed unexpectedly", due.id)
        problem = DeliveryError(due.sink, "internal_error", repr(error))
        return await _record_failure(runtime, sink, due, problem)
    now = runtime.clock()
    await db.run(lambda c: delivery_queries.mark_delivered(c, due.id, now=now, status=status))
    log.info("delivered %s to %s (%s)", due.id, due.sink, due.watchlist)
    return DeliveryOutcome(due.id, due.sink, "delivered")


async def _record_failure(
    runtime: Runtime, sink: SinkConfig, due: DueDelivery, error: DeliveryError
) -> DeliveryOutcome:
    now = runtime.clock()
    when = next_attempt(sink, due.attempts, now, error.retry_after)
    await runtime.db.run(
        lambda c: delivery_queries.mark_failed(
            c,
            due.id,
            now=now,
            next_attempt_at=when,
            reason=error.reason,
            error=str(error),
            status=error.status,
        )
    )
    state = "retry" if when is not None else "dead"
    log.warning("delivery %s to %s failed (%s): %s", due.id, due.sink, state, error)
    return DeliveryOutcome(due.id, due.sink, state, str(error))


async def deliver_due(
    runtime: Runtime,
    client: httpx.AsyncClient,
    *,
    owner: str,
    stopping: asyncio.Event | None = None,
) -> list[DeliveryOutcome]:
    """One delivery pass: every delivery due now, bounded concurrency, batch by batch."""
    config = runtime.settings.delivery
    outcomes: list[DeliveryOutcome] = []
    limit = asyncio.Semaphore(config.concurrency)

    async def guarded(due: DueDelivery) -> DeliveryOutcome:
        async with limit:
            return await deliver_one(runtime, client, due)

    while stopping is None or not stopping.is_set():
        batch = await runtime.db.run(
            lambda c: delivery_queries.claim_due(
                c, owner=owner, now=runtime.clock(), lease=config.lease, limit=config.batch
            )
        )
        if not batch:
            break
        outcomes.extend(await asyncio.gather(*(guarded(due) for due in batch)))
    return outcomes
