"""`alert_max_age`: a feed whose window grows (a cache that served a short copy, an archive
republished) shows entries new to us but dated days ago; they are stored and matched, and
only the news alerts. Real feed server, webhook receiver, SQLite; the clock is controlled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def feed(items: list[tuple[str, datetime | None]]) -> bytes:
    """RSS whose items (guid, date) each mention Haftar in Tripoli; date None: undated."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid>"
        f"<title>{escape(f'Haftar forces near Tripoli ({guid})')}</title>"
        f"<link>https://example.org/{guid}</link><description>Report {guid}.</description>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + "</item>"
        for guid, when in items
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
        f"<link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


def test_entries_new_to_us_but_old_are_stored_and_do_not_alert(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=feed([("today-1", NOW - timedelta(hours=2))])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"alert_max_age": "3d"},
        )
        clock = [NOW]
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: clock[0])
        runtime.db.prepare()
        try:
            asyncio.run(run_once(runtime))
            receiver.wait_for(1, timeout=10)
            clock[0] = NOW + timedelta(minutes=11)  # the next poll is due
            # The window grows: a month-old and a week-old entry appear, with a new one and
            # an undated one.
            feeds.route(
                "/wire.xml",
                Reply(
                    body=feed(
                        [
                            ("today-2", NOW - timedelta(minutes=5)),
                            ("undated", None),
                            ("today-1", NOW - timedelta(hours=2)),
                            ("week-old", NOW - timedelta(days=7)),
                            ("month-old", NOW - timedelta(days=30)),
                        ]
                    )
                ),
            )
            (poll,), _ = asyncio.run(run_once(runtime))
            assert poll.new_articles == 4  # all stored (and matched), whatever their age
            sent = receiver.wait_for(3, timeout=10)[1:]
            assert len(receiver.requests) == 3  # `once` delivered all it queued
            titles = sorted(r.json["data"]["article"]["title"] for r in sent)
            assert titles == [
                "Haftar forces near Tripoli (today-2)",
                "Haftar forces near Tripoli (undated)",
            ]
        finally:
            runtime.db.close()


def test_replay_deliver_holds_back_what_is_older_than_alert_max_age(tmp_path: Path) -> None:
    # The first poll stores its backlog without alerting; `replay --deliver` then queues
    # what matches, except what the service would hold back as not news.
    from monitor.replay import replay_articles

    with FeedServer() as feeds:
        items = [
            ("today", NOW - timedelta(hours=2)),
            ("undated", None),
            ("week-old", NOW - timedelta(days=7)),
        ]
        feeds.route("/wire.xml", Reply(body=feed(items)))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url="http://127.0.0.1:9/hook",
            stories="all",
            extra={"alert_max_age": "3d"},
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: NOW)
        runtime.db.prepare()
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            assert (poll.new_articles, poll.deliveries) == (3, 0)
            report = replay_articles(runtime, since=None, deliver=True)
            assert (report["queued"], report["held_too_old"]) == (2, 1)
            assert len(runtime.store.list_deliveries(status="pending")) == 2
        finally:
            runtime.db.close()


def test_an_entry_with_a_placeholder_date_does_not_fail_its_feed(tmp_path: Path) -> None:
    # Go's zero time (year 1) made the story window's date arithmetic overflow: the whole
    # feed failed on every poll and its good entries never alerted. A placeholder is no
    # date: such an entry is stored and alerts as an undated one does.
    items = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid>"
        f"<title>Haftar forces near Tripoli ({guid})</title>"
        f"<link>https://example.org/{guid}</link><pubDate>{when}</pubDate></item>"
        for guid, when in (
            ("zero", "Mon, 01 Jan 0001 00:00:00 GMT"),
            ("never", "Fri, 31 Dec 9999 23:59:59 GMT"),
            ("today", format_datetime(NOW - timedelta(hours=1))),
        )
    )
    body = (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>W</title>{items}</channel></rss>"
    )
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=body.encode()))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"alert_max_age": "3d"},
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: NOW)
        runtime.db.prepare()
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
        finally:
            runtime.db.close()
    assert (poll.status, poll.new_articles, poll.deliveries) == ("ok", 3, 3), poll
    assert len(receiver.requests) == 3
