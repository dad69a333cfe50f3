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
