"""`alert_max_per_poll`: a feed that suddenly shows hundreds of matching entries new to us
(an archive republished under new ids, a hostile feed) alerts its newest few; the rest are
stored, matched, counted and logged, and `replay --deliver` can still send them.
`alert_max_per_hour`: the same over any hour of polls. Real feed server, webhook receiver,
SQLite (and PostgreSQL for the hourly count); the clock is controlled."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.replay import replay_articles
from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import write_config
from tests.integration.test_alert_max_age import feed
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
QUIET = (
    b"<item><guid isPermaLink='false'>quiet-%d</guid><title>Markets close higher</title>"
    b"<link>https://example.org/quiet-%d</link></item>"
)


def flood(count: int, prefix: str) -> bytes:
    """``count`` matching entries an hour apart (the newest first), one undated matching
    entry, and two that match nothing."""
    items: list[tuple[str, datetime | None]] = [(f"{prefix}-undated", None)]
    items += [(f"{prefix}-{n:03d}", NOW - timedelta(hours=n)) for n in range(count)]
    body = feed(items)
    quiet = b"".join(QUIET % (n, n) for n in range(2))
    return body.replace(b"</channel>", quiet + b"</channel>")


def test_one_poll_alerts_at_most_the_newest_and_stores_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=flood(12, "a")))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"alert_max_per_poll": 4},
        )
        clock = [NOW]
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: clock[0])
        runtime.db.prepare()
        try:
            with caplog.at_level(logging.WARNING, logger="monitor"):
                (poll,), _ = asyncio.run(run_once(runtime))
            assert (poll.new_articles, poll.matches, poll.deliveries) == (15, 13, 4)
            assert (poll.held_over_cap, poll.held_first_run, poll.held_too_old) == (9, 0, 0)
            sent = receiver.wait_for(4, timeout=10)
            titles = sorted(r.json["data"]["article"]["title"] for r in sent)
            # The newest: the undated one (feeds list the newest first) and the three
            # newest dated ones.
            assert titles == [
                f"Haftar forces near Tripoli ({guid})"
                for guid in ("a-000", "a-001", "a-002", "a-undated")
            ]
            (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert "13 new articles would have alerted in one poll" in warning.getMessage()
            assert "the 9 oldest are stored without alerting" in warning.getMessage()
            assert "alert_max_per_poll: 4" in warning.getMessage()

            # The cap is per poll: the next poll's two new entries alert.
            clock[0] = NOW + timedelta(minutes=11)
            feeds.route("/wire.xml", Reply(body=flood(2, "b")))
            (poll,), _ = asyncio.run(run_once(runtime))
            assert (poll.new_articles, poll.deliveries, poll.held_over_cap) == (3, 3, 0)
            receiver.wait_for(7, timeout=10)

            # What was held is stored and can still be sent on purpose.
            report = replay_articles(runtime, since=None, deliver=True)
            assert report["queued"] == 9
        finally:
            runtime.db.close()


@pytest.mark.parametrize(
    ("extra", "alerted", "held"),
    [({}, 50, 11), ({"alert_max_per_poll": None}, 61, 0)],
    ids=["the default is fifty", "null switches it off"],
)
def test_the_default_limit_and_no_limit(
    tmp_path: Path, extra: dict[str, object], alerted: int, held: int
) -> None:
    with FeedServer() as feeds:
        feeds.route("/wire.xml", Reply(body=flood(60, "a")))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url="http://127.0.0.1:9/hook",
            first_run="alert_all",
            stories="all",
            extra=extra,
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: NOW)
        runtime.db.prepare()
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            assert (poll.matches, poll.deliveries, poll.held_over_cap) == (61, alerted, held)
        finally:
            runtime.db.close()


def test_an_hour_of_polls_alerts_at_most_alert_max_per_hour(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A feed with new matching entries at every poll, polled every minute (a hostile feed
    # the adaptive schedule speeds up: an outside probe saw 50 alerts a minute, probe66 F1):
    # the per-poll cap alone lets all of them through; the hour's count does not.
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/wire.xml")), ("Other", feeds.url("/other.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"alert_max_per_poll": 4, "alert_max_per_hour": 6},
        )
        clock = [NOW]
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: clock[0])
        runtime.db.prepare()
        try:
            sent = 0
            for minute, (alerted, over_poll, over_hour) in enumerate(
                [(4, 0, 0), (2, 0, 2), (0, 0, 4), (0, 0, 4)]
            ):
                clock[0] = NOW + timedelta(minutes=minute * 11)
                feeds.route("/wire.xml", Reply(body=feed_of(4, f"w{minute}", clock[0])))
                feeds.route("/other.xml", Reply(body=feed_of(1, f"o{minute}", clock[0])))
                with caplog.at_level(logging.WARNING, logger="monitor"):
                    polls, _ = asyncio.run(run_once(runtime))
                by = {poll.source: poll for poll in polls}
                wire = by["Wire"]
                assert (wire.deliveries, wire.held_over_cap, wire.held_over_hour) == (
                    alerted,
                    over_poll,
                    over_hour,
                )
                assert by["Other"].deliveries == 1  # another source's own hour
                sent += alerted + 1
            receiver.wait_for(sent, timeout=10)
            warning = [
                r.getMessage() for r in caplog.records if "alert_max_per_hour" in r.getMessage()
            ]
            assert "2 new articles would have gone over alert_max_per_hour (6 alerts" in warning[0]
            # An hour after the first alerts, the source alerts again.
            clock[0] = NOW + timedelta(minutes=61)
            feeds.route("/wire.xml", Reply(body=feed_of(4, "w-later", clock[0])))
            polls, _ = asyncio.run(run_once(runtime))
            assert {p.source: p.deliveries for p in polls}["Wire"] == 4
        finally:
            runtime.db.close()


def feed_of(count: int, prefix: str, now: datetime) -> bytes:
    """``count`` matching entries, a minute apart up to ``now``."""
    return feed([(f"{prefix}-{n}", now - timedelta(minutes=n)) for n in range(count)])
