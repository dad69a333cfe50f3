"""The pure schedule (monitor.schedule): rates, hints as feeds and servers really write them
(and miswrite them), the plan within the bounds, jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.schedule import (
    ADAPTIVE,
    HINT,
    INITIAL,
    JITTER,
    PINNED,
    Bounds,
    cache_hint,
    feed_hint,
    plan,
    seed_rate,
    update_rate,
    with_jitter,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOUNDS = Bounds(timedelta(minutes=1), timedelta(hours=6), timedelta(minutes=10))
MINUTES = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("ttl", "period", "frequency", "expected"),
    [
        ("60", None, None, timedelta(hours=1)),
        (" 15 ", None, None, timedelta(minutes=15)),
        (None, "hourly", "2", timedelta(minutes=30)),
        (None, "Daily", None, timedelta(days=1)),  # frequency defaults to 1
        (None, "weekly", "0", None),  # an unreadable frequency voids the hint
        (None, "daily", "abc", None),
        (None, "daily", "99999999", None),  # more than once a minute: a typo
        (None, "hourly", "", timedelta(hours=1)),
        ("5", "hourly", "1", timedelta(hours=1)),  # the longer of the two
        # What feeds get wrong: not a number, negative, zero, absurd, an unknown period.
        ("abc", None, None, None),
        ("-5", None, None, None),
        ("0", None, None, None),
        ("99999999999", None, None, None),
        ("1.5", None, None, None),
        (None, "fortnightly", "1", None),
        (None, None, "4", None),
        (None, None, None, None),
    ],
)
def test_feed_hints(
    ttl: str | None, period: str | None, frequency: str | None, expected: timedelta | None
) -> None:
    assert feed_hint(ttl, period, frequency) == expected


@pytest.mark.parametrize(
    ("cache_control", "expires", "date", "expected"),
    [
        ("max-age=300", None, None, timedelta(minutes=5)),
        ("public, max-age=1800, must-revalidate", None, None, timedelta(minutes=30)),
        ('max-age="600"', None, None, timedelta(minutes=10)),
        ("MAX-AGE=60", None, None, timedelta(minutes=1)),
        ("no-cache, max-age=0", None, None, None),
        ("s-maxage=600", None, None, None),  # for shared caches, not for us
        ("max-age=abc", None, None, None),
        ("no-store", None, None, None),
        # Expires counts from the response's Date, else from now; max-age wins over it.
        (None, "Tue, 01 Dec 2026 13:00:00 GMT", None, timedelta(hours=1)),
        (
            None,
            "Tue, 01 Dec 2026 13:00:00 GMT",
            "Tue, 01 Dec 2026 12:30:00 GMT",
            timedelta(minutes=30),
        ),
        ("max-age=60", "Tue, 01 Dec 2026 13:00:00 GMT", None, timedelta(minutes=1)),
        (None, "Tue, 01 Dec 2026 11:00:00 GMT", None, None),  # already stale
        (None, "0", None, None),  # common: "already expired"
        (None, "-1", None, None),
        (None, "not a date", None, None),
        (None, None, None, None),
    ],
)
def test_cache_hints(
    cache_control: str | None, expires: str | None, date: str | None, expected: timedelta | None
) -> None:
    assert cache_hint(cache_control, expires, date, NOW) == expected


def test_seed_rate_from_the_dates_of_recent_entries() -> None:
    every_minute = [NOW - MINUTES * i for i in range(20)]
    assert seed_rate(every_minute, NOW) == pytest.approx(20 / (19 / 60))
    # Out together (a batch): counted over at least 10 minutes, not as 600 an hour.
    batch = [NOW - timedelta(seconds=i) for i in range(10)]
    assert seed_rate(batch, NOW) == pytest.approx(60.0)
    # Entries older than a week say the feed is quiet; none dated: unknown.
    assert seed_rate([NOW - timedelta(days=30)], NOW) == 0.0
    assert seed_rate([None, None], NOW) is None
    assert seed_rate([], NOW) is None
    # A date in the future (a wrong clock) is not counted; one recent entry says nothing.
    two_hours = [NOW - timedelta(hours=2), NOW - timedelta(hours=1)]
    assert seed_rate([NOW + timedelta(days=3), *two_hours], NOW) == 1.0
    assert seed_rate([NOW + timedelta(minutes=30), *two_hours], NOW) == 1.0
    assert seed_rate([NOW - timedelta(hours=2)], NOW) is None
    # Every date ahead (a feed in the wrong time zone): unknown, not quiet.
    assert seed_rate([NOW + timedelta(hours=3) - MINUTES * i for i in range(20)], NOW) is None


def test_one_quiet_poll_never_sends_a_source_to_max_interval() -> None:
    rate = update_rate(None, 0, timedelta(minutes=10), BOUNDS.initial)
    assert rate is not None
    assert plan(pinned=None, rate=rate, hint=None, bounds=BOUNDS).interval < timedelta(minutes=15)
    # ... but quiet polls one after another do, gradually.
    intervals = []
    for _ in range(30):
        interval = plan(pinned=None, rate=rate, hint=None, bounds=BOUNDS).interval
        intervals.append(interval)
        rate = update_rate(rate, 0, interval, BOUNDS.initial)
    assert intervals == sorted(intervals)
    assert intervals[-1] == BOUNDS.most
    assert update_rate(3.0, 5, timedelta(0), BOUNDS.initial) == 3.0  # no time passed


def test_busy_polls_converge_to_the_publishing_gap() -> None:
    gap = timedelta(minutes=2)  # one entry every 2 minutes
    rate = None
    interval = BOUNDS.initial
    polled = timedelta(0)
    seen = []
    for _ in range(40):
        now = polled + interval
        new = now // gap - polled // gap  # the entries published since the last poll
        rate = update_rate(rate, new, interval, BOUNDS.initial)
        interval = plan(pinned=None, rate=rate, hint=None, bounds=BOUNDS).interval
        polled = now
        seen.append(interval)
    # Near the gap, averaged over the last polls (a poll finds 0, 1 or 2 entries).
    average = sum(seen[-10:], timedelta(0)) / 10
    assert timedelta(minutes=1.5) <= average <= timedelta(minutes=3)


def test_plan_reasons_and_bounds() -> None:
    assert plan(pinned=None, rate=None, hint=None, bounds=BOUNDS).reason == INITIAL
    fast = plan(pinned=None, rate=600.0, hint=None, bounds=BOUNDS)
    assert (fast.interval, fast.reason) == (BOUNDS.least, ADAPTIVE)
    slow = plan(pinned=None, rate=0.0, hint=None, bounds=BOUNDS)
    assert (slow.interval, slow.reason) == (BOUNDS.most, ADAPTIVE)
    hinted = plan(pinned=None, rate=60.0, hint=timedelta(minutes=30), bounds=BOUNDS)
    assert (hinted.interval, hinted.reason) == (timedelta(minutes=30), HINT)
    # A hint shorter than the adaptive interval changes nothing; a longer one than the
    # bound is capped.
    assert plan(pinned=None, rate=1.0, hint=MINUTES, bounds=BOUNDS).reason == ADAPTIVE
    assert plan(pinned=None, rate=60.0, hint=timedelta(days=2), bounds=BOUNDS).interval == (
        BOUNDS.most
    )
    # The config's interval wins over the rate and hints, within the bounds.
    pinned = plan(pinned=timedelta(minutes=5), rate=600.0, hint=timedelta(hours=1), bounds=BOUNDS)
    assert (pinned.interval, pinned.reason) == (timedelta(minutes=5), PINNED)


def test_jitter_is_bounded() -> None:
    ten = timedelta(minutes=10)
    assert with_jitter(ten, 0.0) == ten
    assert with_jitter(ten, 1.0) == ten * (1 + JITTER)
    assert with_jitter(ten, -5.0) == ten * (1 - JITTER)
