"""Prometheus metrics of the service (served on /metrics when ``http:`` is configured)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

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
