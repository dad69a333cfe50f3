"""`store_max_per_day`: a feed that serves megabytes of new entries at every poll (an outside
probe saw one grow the database 12.7 MB a minute) stores at most that much text a day; what
does not fit is not stored, not forgotten: a later poll stores it if the feed still has it.
Real feed server, webhook receiver, SQLite and PostgreSQL; the clock is controlled."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PARAGRAPH = "Officials in the region said on Monday that the talks would resume next week. "
LEAD = "Forces loyal to Khalifa Haftar moved towards Tripoli. "
KB = 1000


def big_feed(guids: list[str], now: datetime) -> bytes:
    """One entry per guid, the first the newest (a minute apart), each with about 20 KB of
    text (title, summary and content together)."""
    items = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>Report {guid}</title>"
        f"<link>https://example.org/{guid}</link>"
        f"<description>{LEAD}{PARAGRAPH * 250}</description>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=n))}</pubDate></item>"
        for n, guid in enumerate(guids)
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Flood</title>"
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


def test_a_source_stores_at_most_store_max_per_day_and_keeps_the_rest_for_later(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    entry = len(LEAD) + len(PARAGRAPH) * 250  # the description: the title adds a few bytes
    assert 19 * KB < entry < 21 * KB  # and its match detail about 1 KB
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Flood", feeds.url("/flood.xml")), ("Other", feeds.url("/other.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"store_max_per_day": "70KB", "alert_max_per_hour": None},
        )
        clock = [NOW]
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: clock[0])
        runtime.db.prepare()

        def poll(at: datetime, flood: list[str], other: list[str]) -> dict[str, int]:
            clock[0] = at
            feeds.route("/flood.xml", Reply(body=big_feed(flood, at)))
            feeds.route("/other.xml", Reply(body=big_feed(other, at)))
            with caplog.at_level(logging.WARNING, logger="monitor"):
                polls, _ = asyncio.run(run_once(runtime))
            return {p.source: p.new_articles for p in polls}

        try:
            # Five new entries of 20 KB: the three newest fit in 70 KB.
            assert poll(NOW, ["a5", "a4", "a3", "a2", "a1"], ["o1"]) == {"Flood": 3, "Other": 1}
            stored = {a.title for a in runtime.store.articles_since(None)}
            assert stored == {"Report a5", "Report a4", "Report a3", "Report o1"}
            warnings = [
                r.getMessage() for r in caplog.records if "store_max_per_day" in r.getMessage()
            ]
            assert len(warnings) == 1 and "/flood.xml: 2 new entries not stored" in warnings[0]
            # A minute later, new entries again: the day is full; the other source is not.
            later = NOW + timedelta(minutes=11)
            assert poll(later, ["b1", "a5", "a4", "a3", "a2", "a1"], ["o2", "o1"]) == {
                "Flood": 0,
                "Other": 1,
            }
            # A day after the first poll the budget is free again: what the feed still shows
            # and was left out is stored now, the newest first.
            next_day = NOW + timedelta(days=1, minutes=1)
            assert poll(next_day, ["b1", "a5", "a4", "a3", "a2", "a1"], []) == {
                "Flood": 3,
                "Other": 0,
            }
            stored = {a.title for a in runtime.store.articles_since(None)}
            assert {"Report b1", "Report a2", "Report a1"} <= stored
            # Every stored article alerted once (nothing left out was remembered as seen).
            assert len(stored) == 8
            assert len(receiver.wait_for(len(stored), timeout=10)) == 8
        finally:
            runtime.db.close()


def test_the_bound_counts_the_match_details_stored_with_the_text(tmp_path: Path) -> None:
    # An outside probe: short entries repeating "Haftar Tripoli" a hundred times stored 44 KB
    # of match detail for 3 KB of text, and the database grew 18 times faster than the
    # bound. The detail is now at most twice the text (8 KB at least) and counted with it.
    spam = "Haftar Tripoli " * 100  # 1.5 KB: 200 mentions
    items = "".join(
        f"<item><guid>s{n}</guid><title>Haftar in Tripoli {n}</title>"
        f"<link>https://example.org/s{n}</link><description>{spam}</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=n))}</pubDate></item>"
        for n in range(10)
    )
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Spam</title>"
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()
    with FeedServer() as feeds:
        feeds.route("/spam.xml", Reply(body=body))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Spam", feeds.url("/spam.xml"))],
            sink_url=None,
            first_run="alert_all",
            extra={"store_max_per_day": "30KB"},
        )
        runtime = Runtime.build(load_settings(config), need_sinks=False, clock=lambda: NOW)
        runtime.db.prepare()
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            # Ten entries of 1.5 KB text: all would fit in 30 KB as text alone; with their
            # details (up to 8 KB each) only some do.
            assert 2 <= poll.new_articles < 10, poll
            assert poll.source_id is not None
            day = NOW - timedelta(days=1)
            stored = asyncio.run(runtime.store.stored_bytes_since(poll.source_id, day))
            assert stored <= 30 * KB
        finally:
            runtime.db.close()


def test_null_switches_the_bound_off(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        for bound, expected in (("70KB", 3), (None, 5)):
            folder = tmp_path / str(bound)
            folder.mkdir()
            config = write_config(
                folder,
                database_url=f"sqlite:///{folder}/monitor.db",
                sources=[("Flood", feeds.url("/flood.xml"))],
                sink_url=None,
                extra={"store_max_per_day": bound},
            )
            runtime = Runtime.build(load_settings(config), need_sinks=False, clock=lambda: NOW)
            runtime.db.prepare()
            try:
                feeds.route("/flood.xml", Reply(body=big_feed(["a5", "a4", "a3", "a2", "a1"], NOW)))
                polls, _ = asyncio.run(run_once(runtime))
                assert [p.new_articles for p in polls] == [expected]
            finally:
                runtime.db.close()
