"""Prometheus metrics of the service (served on /metrics when ``http:`` is configured)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

if TYPE_CHECKING:
    from monitor.db.status import Health

registry = CollectorRegistry(auto_describe=True)

polls = Counter(
    "monitor_polls",
    "Feed polls by outcome (ok, not_modified, error).",
    ["status"],
    registry=registry,
)
articles_stored = Counter("monitor_articles_stored", "New articles stored.", registry=registry)
alerts_queued = Counter(
    "monitor_alerts_queued", "Alert deliveries queued in the outbox.", registry=registry
)
deliveries = Counter(
    "monitor_deliveries",
    "Delivery attempts by outcome (delivered, retry, dead, postponed).",
    ["status"],
    registry=registry,
)
last_tick = Gauge(
    "monitor_last_poll_tick_timestamp_seconds", "When the last poll tick ran.", registry=registry
)
config_generation = Gauge(
    "monitor_config_generation",
    "The config in force: 1 at start, one more at each successful reload (SIGHUP).",
    registry=registry,
)
config_reload_timestamp = Gauge(
    "monitor_config_reload_timestamp_seconds",
    "When the config in force was loaded (at start, or by the last successful reload).",
    registry=registry,
)
config_reload_failures = Counter(
    "monitor_config_reload_failures",
    "Reloads refused (an invalid config: the previous one stays in force) or failed.",
    registry=registry,
)

# Database-wide health, refreshed by the service's heartbeat (every 30 s, and at start) from
# `Store.status`, the numbers `monitor status` shows. With several instances on PostgreSQL
# each one reports the same database-wide values.
sources = Gauge(
    "monitor_sources",
    "Sources by state (healthy, unhealthy, gone, disabled), as `monitor status` counts them.",
    ["state"],
    registry=registry,
)
outbox_backlog = Gauge(
    "monitor_outbox_backlog", "Deliveries pending in the outbox (all sinks).", registry=registry
)
outbox_oldest_age = Gauge(
    "monitor_outbox_oldest_age_seconds",
    "Age of the oldest pending delivery (since it was queued); 0 when none is pending.",
    registry=registry,
)
sources_late = Gauge(
    "monitor_sources_late",
    "Sources due more than 60 s ago that no instance has started polling: polling is behind.",
    registry=registry,
)
poll_lag = Gauge(
    "monitor_poll_lag_seconds",
    "How far past its planned poll the most overdue source waiting to be polled is; 0 when none.",
    registry=registry,
)
database_wait = Gauge(
    "monitor_database_wait_seconds",
    "How long the oldest database transaction of this instance in progress has run; 0 when "
    "none is. It grows when the database, or the network to it, does not answer.",
    registry=registry,
)
dead_letters = Gauge(
    "monitor_dead_letters", "Deliveries dead-lettered (`monitor alerts retry`).", registry=registry
)


def show_health(health: Health, now: datetime) -> None:
    """Set the health gauges from one `Store.status` reading."""
    for state, count in health.sources.items():
        sources.labels(state).set(count)
    outbox_backlog.set(health.pending)
    outbox_oldest_age.set(health.oldest_pending_age(now).total_seconds())
    dead_letters.set(health.dead)
    sources_late.set(health.late)
    poll_lag.set(health.poll_lag(now).total_seconds())
