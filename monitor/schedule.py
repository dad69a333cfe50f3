"""How often a source is polled (pure): an interval that follows how often its feed publishes
(a smoothed rate of new entries), raised to the feed's own hints (RSS ttl, sy:updatePeriod,
Cache-Control max-age, Expires), within poll.min_interval..max_interval; or the config's."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Weight of the newest poll in the smoothed rate: about the last five polls count.
RATE_WEIGHT = 0.3
# A new source's rate is first estimated from the dates of its entries of the last week.
SEED_WINDOW = timedelta(days=7)
SEED_MIN_SPAN = timedelta(minutes=10)
# A poll is moved by up to this fraction of its interval, either way, so that sources that
# started together drift apart instead of firing in lock-step.
JITTER = 0.05
# RSS 2.0 ttl and the syndication module's periods.
_PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "yearly": timedelta(days=365),
}
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})\"?", re.IGNORECASE)

# Why a source's interval is what it is (stored, and shown by `monitor sources`).
PINNED = "pinned"  # the config sets the source's interval
INITIAL = "initial"  # poll.interval, until the source's rate is known
ADAPTIVE = "adaptive"  # from the smoothed rate of new entries
HINT = "hint"  # raised to the feed's own hint
BACKOFF = "backoff"  # failing: error back-off
GONE = "gone"  # 410 Gone: not polled until its config entry changes


@dataclass(frozen=True)
class Bounds:
    """``poll.min_interval``, ``poll.max_interval`` and ``poll.interval`` (the first guess)."""

    least: timedelta
    most: timedelta
    initial: timedelta

    def clamp(self, interval: timedelta) -> timedelta:
        return max(self.least, min(interval, self.most))


@dataclass(frozen=True)
class Schedule:
    """A source's interval, why, and what it was computed from."""

    interval: timedelta
    reason: str
    rate: float | None  # new entries per hour, smoothed; None while unknown
    hint: timedelta | None


def seed_rate(published: Iterable[datetime | None], now: datetime) -> float | None:
    """New entries per hour, from the dates of a feed's entries of the last SEED_WINDOW: the
    count over the time since the oldest of them (at least SEED_MIN_SPAN, so entries that
    came out together do not make a busy feed). 0.0 when none is that recent; None (the
    rate is then learnt from polls alone) when fewer than two recent entries are dated, or
    every date is in the future (a wrong clock or time zone). Future dates do not count."""
    dated = [when for when in published if when is not None]
    past = [when for when in dated if when <= now]
    if not past:
        return None
    recent = [when for when in past if now - SEED_WINDOW <= when]
    if not recent:
        return 0.0
    if len(recent) < 2:
        return None
    span = max(now - min(recent), SEED_MIN_SPAN)
    return len(recent) / (span / timedelta(hours=1))


def update_rate(
    previous: float | None, new_entries: int, elapsed: timedelta, initial: timedelta
) -> float | None:
    """The smoothed rate after a poll that found ``new_entries`` in ``elapsed`` since the last
    successful one. Without a previous rate the initial interval stands in for it (one entry
    per interval), so one quiet poll never sends a source straight to max_interval."""
    if elapsed <= timedelta(0):
        return previous
    if previous is None:
        previous = 1 / (initial / timedelta(hours=1))
    sample = new_entries / (elapsed / timedelta(hours=1))
    return RATE_WEIGHT * sample + (1 - RATE_WEIGHT) * previous


def plan(
    *,
    pinned: timedelta | None,
    rate: float | None,
    hint: timedelta | None,
    bounds: Bounds,
) -> Schedule:
    """The interval until the next poll: the pinned one; else about one new entry per poll
    (1 / rate), never shorter than the feed's hint; always within the bounds."""
    if pinned is not None:
        return Schedule(bounds.clamp(pinned), PINNED, rate, hint)
    if rate is None:
        interval, reason = bounds.initial, INITIAL
    elif rate <= 0:
        interval, reason = bounds.most, ADAPTIVE
    else:
        interval, reason = timedelta(hours=1 / rate), ADAPTIVE
    if interval > bounds.most:
        interval = bounds.most
    if hint is not None and hint > interval and interval < bounds.most:
        interval, reason = hint, HINT
    return Schedule(bounds.clamp(interval), reason, rate, hint)


def feed_hint(ttl: object, update_period: object, update_frequency: object) -> timedelta | None:
    """A feed's own statement of how often it changes: RSS ``<ttl>`` (minutes), or
    ``sy:updatePeriod``/``sy:updateFrequency`` (the period divided by the frequency). The
    longer of the two; None when neither is readable."""
    hints = []
    minutes = _positive_int(ttl)
    if minutes is not None:
        hints.append(timedelta(minutes=minutes))
    period = _PERIODS.get(str(update_period or "").strip().lower())
    # sy:updateFrequency defaults to 1 when absent; an unreadable one voids the hint, as
    # does a frequency above one a minute (a typo, not a promise).
    frequency = 1 if update_frequency in (None, "") else _positive_int(update_frequency)
    if period is not None and frequency is not None and period / frequency >= timedelta(minutes=1):
        hints.append(period / frequency)
    return max(hints) if hints else None


def cache_hint(
    cache_control: str | None, expires: str | None, date: str | None, now: datetime
) -> timedelta | None:
    """How long the server says its answer stays fresh: ``Cache-Control: max-age`` wins
    over ``Expires`` (HTTP caching rules), which counts from the response's ``Date`` (else
    from ``now``). None when neither says, or when the answer is already stale."""
    if cache_control:
        found = _MAX_AGE.search(cache_control)
        if found:
            seconds = int(found.group(1))
            return timedelta(seconds=seconds) if seconds > 0 else None
    if expires:
        until = _http_date(expires)
        if until is None:
            return None
        since = _http_date(date) if date else None
        left = until - (since or now)
        return left if left > timedelta(0) else None
    return None


def with_jitter(interval: timedelta, spread: float) -> timedelta:
    """``interval`` moved by ``spread`` (-1..1) times JITTER of itself."""
    return interval * (1 + JITTER * max(-1.0, min(1.0, spread)))


def _positive_int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 10**7 else None


def _http_date(value: str) -> datetime | None:
    if len(value) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when
