"""When the next poll and the next delivery attempt happen, and which entries alert on a
source's first poll."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import SinkConfig
from monitor.db.sources import PollRecord, SourceRow
from monitor.db.store import Store
from monitor.delivery import next_attempt
from monitor.fetch import FetchResult
from monitor.parse import FeedEntry
from monitor.pipeline import FUTURE_TOLERANCE, backoff, held_back, next_poll, scheduled
from monitor.runtime import Runtime, http_options
from monitor.settings import LoadedSettings, Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TEN = timedelta(minutes=10)


def alerts_now(
    source: SourceRow, entry: FeedEntry, now: datetime, max_age: timedelta | None = None
) -> bool:
    """Whether an entry new to us alerts: `held_back` gives no reason to hold it."""
    return held_back(source, entry, now, max_age) is None


def runtime(tmp_path: Path) -> Runtime:
    settings = Settings.model_validate(
        {"poll": {"interval": "10m", "min_interval": "1m", "max_interval": "6h"}}
    )
    return Runtime(
        loaded=LoadedSettings(settings, tmp_path / "m.yaml", ()),
        store=Store(f"sqlite:///{tmp_path}/m.db"),
        watchlists=[],
        routes={},
        sinks={},
        http=http_options(settings),
        specs_=[],
    )


def source(**changes: object) -> SourceRow:
    values: dict[str, object] = dict(
        id=1,
        name="s",
        url="https://example.org/f",
        enabled=True,
        interval=timedelta(minutes=10),
        first_run="store_only",
        first_run_window=timedelta(hours=24),
        next_poll_at=NOW,
        etag=None,
        last_modified=None,
        consecutive_failures=0,
        last_status=None,
        last_error=None,
        last_error_reason=None,
        last_polled_at=None,
        last_success_at=None,
        first_polled_at=None,
        entries_seen=0,
        articles_stored=0,
    )
    values.update(changes)
    return SourceRow(**values)  # type: ignore[arg-type]


def entry(published: datetime | None) -> FeedEntry:
    return FeedEntry("k", None, "t", "", "", published, None, "h")


def test_next_poll_uses_interval_and_honours_retry_after(tmp_path: Path) -> None:
    assert next_poll(TEN, NOW, NOW, None) == NOW + timedelta(minutes=10)
    assert next_poll(TEN, NOW, NOW, 3600) == NOW + timedelta(hours=1)
    assert next_poll(TEN, NOW, NOW, 10 * 86400) == NOW + timedelta(days=1)  # capped


def test_next_poll_counts_from_the_planned_time_not_the_end_of_the_fetch() -> None:
    ten = timedelta(minutes=10)
    planned = NOW - timedelta(seconds=40)  # claimed late, or a slow fetch
    assert next_poll(TEN, planned, NOW, None) == planned + ten
    # Fell behind by more than an interval: the next slot on the same grid, not a burst.
    way_behind = NOW - timedelta(minutes=25)
    assert next_poll(TEN, way_behind, NOW, None) == way_behind + 3 * ten
    # Polled early (monitor once beside a service): its place on the grid stays, the
    # planned time or one interval later when that is less than half an interval away (one
    # interval from the poll put every source a `once` reached in one burst: an outside
    # probe saw 950 requests in 15 s and then none for 45 s, every minute).
    assert next_poll(TEN, NOW + timedelta(minutes=5), NOW, None) == NOW + timedelta(minutes=5)
    assert next_poll(TEN, NOW + timedelta(minutes=2), NOW, None) == NOW + timedelta(minutes=12)


def _not_modified() -> FetchResult:
    return FetchResult("https://example.org/f", 304, None, None, None, None, True, None)


def _planned_after(rt: Runtime, src: SourceRow, polled_at: datetime) -> timedelta:
    success = PollRecord(
        source_id=1, polled_at=polled_at, next_poll_at=polled_at, ok=True, status=304
    )
    return scheduled(rt, src, success, _not_modified(), new_entries=0).next_poll_at - polled_at


def test_a_sources_schedule_starts_at_its_first_poll(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    # Added (planned) at NOW with thousands of others, first polled 5 minutes later: the
    # next poll is an interval after that first poll, not NOW + 10 min (when every source
    # added with it would be due together again).
    first = NOW + timedelta(minutes=5)
    delay = _planned_after(rt, source(interval_pinned=True), first)
    assert timedelta(minutes=9.5) <= delay <= timedelta(minutes=10.5)  # the jitter: 5 %
    # Later polls count from the planned time: polled 40 s late, the next comes 40 s sooner.
    polled = NOW + timedelta(seconds=40)
    later = _planned_after(rt, source(interval_pinned=True, first_polled_at=NOW - TEN), polled)
    late = timedelta(seconds=40)
    assert timedelta(minutes=9.5) - late <= later <= timedelta(minutes=10.5) - late


@pytest.mark.parametrize(("failures", "minutes"), [(0, 10), (1, 20), (2, 40), (5, 320), (9, 360)])
def test_backoff_doubles_with_jitter_up_to_max(tmp_path: Path, failures: int, minutes: int) -> None:
    rt = runtime(tmp_path)
    delay = backoff(rt, source(consecutive_failures=failures), NOW, None) - NOW
    assert timedelta(minutes=minutes * 0.9) <= delay <= timedelta(minutes=minutes * 1.1)


def test_backoff_never_sooner_than_retry_after(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    assert backoff(rt, source(), NOW, 7200) - NOW == timedelta(hours=2)


def test_first_run_policies() -> None:
    recent, old = entry(NOW - timedelta(hours=2)), entry(NOW - timedelta(days=3))
    assert not alerts_now(source(), recent, NOW)
    assert alerts_now(source(first_polled_at=NOW - timedelta(days=1)), old, NOW)
    assert alerts_now(source(first_run="alert_all"), old, NOW)
    assert alerts_now(source(first_run="alert_recent"), recent, NOW)
    assert not alerts_now(source(first_run="alert_recent"), old, NOW)
    assert not alerts_now(source(first_run="alert_recent"), entry(None), NOW)


@pytest.mark.parametrize(
    ("age", "alerts"),
    [
        (timedelta(0), True),
        (timedelta(hours=23), True),
        (timedelta(hours=24), True),  # the window's edge
        (timedelta(hours=24, seconds=1), False),
        (timedelta(days=400), False),
        (-timedelta(hours=14), True),  # a feed in a zone ahead, or a mislabelled zone
        (-FUTURE_TOLERANCE, True),
        (-FUTURE_TOLERANCE - timedelta(seconds=1), False),
        (-timedelta(days=3), False),
        (NOW - datetime(2099, 1, 1, tzinfo=UTC), False),  # a date years ahead
    ],
    ids=["now", "23h", "24h", "24h+1s", "400d", "-14h", "-1d", "-1d-1s", "-3d", "2099"],
)
def test_alert_recent_alerts_entries_dated_within_the_window_not_ahead_of_it(
    age: timedelta, alerts: bool
) -> None:
    first_poll = source(first_run="alert_recent")
    assert alerts_now(first_poll, entry(NOW - age), NOW) is alerts
    # The updated date stands in for a missing published one.
    only_updated = FeedEntry("k", None, "t", "", "", None, NOW - age, "h")
    assert alerts_now(first_poll, only_updated, NOW) is alerts
    # alert_all and later polls alert whatever the date.
    assert alerts_now(source(first_run="alert_all"), entry(NOW - age), NOW)
    later = source(first_run="alert_recent", first_polled_at=NOW - TEN)
    assert alerts_now(later, entry(NOW - age), NOW)
    assert not alerts_now(source(), entry(NOW - age), NOW)  # store_only


def test_delivery_retry_schedule_then_dead() -> None:
    sink = SinkConfig(
        name="ops", url="https://x.example/h", retry_schedule=["5s", "5m"], signing="none"
    )
    assert next_attempt(sink, 0, NOW, None) == NOW + timedelta(seconds=5)
    assert next_attempt(sink, 1, NOW, None) == NOW + timedelta(minutes=5)
    assert next_attempt(sink, 2, NOW, None) is None
    assert next_attempt(sink, 0, NOW, 120) == NOW + timedelta(minutes=2)


@pytest.mark.parametrize(
    ("configured", "target", "expected"),
    [
        # Same origin, and the usual http -> https upgrade of one host: userinfo goes along.
        ("http://u:p@example.org/f", "http://example.org/g", "http://u:p@example.org/g"),
        ("http://u:p@example.org/f", "https://example.org/f", "https://u:p@example.org/f"),
        (
            "http://u:p@example.org:80/f",
            "https://example.org:443/f",
            "https://u:p@example.org:443/f",
        ),
        # Another host, another port, a downgrade: never.
        ("http://u:p@example.org/f", "https://cdn.example.net/f", "https://cdn.example.net/f"),
        ("http://u:p@example.org:8080/f", "https://example.org/f", "https://example.org/f"),
        ("https://u:p@example.org/f", "http://example.org/f", "http://example.org/f"),
        # A Location with its own userinfo keeps it.
        ("http://u:p@example.org/f", "http://v:q@example.org/g", "http://v:q@example.org/g"),
        # Moved back to the configured URL: no move.
        ("https://example.org/f", "https://example.org/f", None),
    ],
)
def test_a_move_carries_userinfo_only_to_the_same_site(
    configured: str, target: str, expected: str | None
) -> None:
    from monitor.pipeline import moved_to

    assert moved_to(source(url=configured, moved_to="https://example.org/old"), target) == (
        expected
    )


@pytest.mark.parametrize(
    ("age", "alerts"),
    [
        (timedelta(hours=1), True),
        (timedelta(days=3), True),
        (timedelta(days=3, seconds=1), False),
        (timedelta(days=40), False),
        (-timedelta(hours=5), True),  # a few hours ahead: the zone was wrong, not the news
    ],
)
def test_an_entry_older_than_alert_max_age_never_alerts(age: timedelta, alerts: bool) -> None:
    max_age = timedelta(days=3)
    later_poll = source(first_polled_at=NOW - timedelta(days=1))
    assert alerts_now(later_poll, entry(NOW - age), NOW, max_age) is alerts
    assert alerts_now(source(first_run="alert_all"), entry(NOW - age), NOW, max_age) is alerts
    only_updated = replace(entry(None), updated=NOW - age)
    assert alerts_now(later_poll, only_updated, NOW, max_age) is alerts
    # Without the setting, and for an undated entry, nothing changes.
    assert alerts_now(later_poll, entry(NOW - age), NOW)
    assert alerts_now(later_poll, entry(None), NOW, max_age)
