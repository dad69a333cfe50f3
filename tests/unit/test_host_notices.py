"""`HostNotices`: one warning per host and minute for leases that ran out while their
sources waited for their host's places (a line per source made 36 lines a minute with 200
hanging feeds on one publisher: an outside probe)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.poller import HostNotices

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_one_warning_per_host_and_minute_counts_the_events_it_stands_for() -> None:
    notices = HostNotices(every=timedelta(minutes=1))
    assert notices.note("slow.example", T0) == 1  # the first is said at once
    quiet = [notices.note("slow.example", T0 + timedelta(seconds=s)) for s in (5, 20, 59)]
    assert quiet == [None, None, None]
    # Another host has its own minute.
    assert notices.note("other.example", T0 + timedelta(seconds=30)) == 1
    # A minute on, the next one stands for itself and the three held back.
    assert notices.note("slow.example", T0 + timedelta(seconds=61)) == 4
    assert notices.note("slow.example", T0 + timedelta(seconds=62)) is None
    assert notices.note("slow.example", T0 + timedelta(minutes=5)) == 2
