"""Digest sinks (docs/stories.md, "Digests"): over a simulated hour, one message with every
matched story exactly once, also when the service restarts in the middle; nothing when
nothing matched. Real loopback feeds and webhook receiver, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts.digest import period_end, slack_digest
from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import SECRET, rss, write_config
from tests.integration.test_stories_store import OTHER, WIRE
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

THIRD = (
    "noc-1",
    "Oil output resumes at Sharara field, NOC says in Tripoli",
    "<p>TRIPOLI, Nov 20 (Maghreb Wire) - Libya's National Oil Corporation said on Tuesday "
    "that production had resumed at the Sharara field after a two-week shutdown caused by a "
    "protest by guards over unpaid wages, and that exports from Zawiya would follow.</p>",
)
DAY = datetime(2026, 11, 20, tzinfo=UTC)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute, seconds=second)


def build(path: Path, moment: list[datetime]) -> Runtime:
    runtime = Runtime.build(load_settings(path), need_sinks=True, clock=lambda: moment[0])
    runtime.db.prepare()
    return runtime


def hourly_digest(
    folder: Path, database_url: str, sources: list[tuple[str, str]], url: str, sink: str
) -> Path:
    """A config whose one sink gets an hourly digest."""
    digest = {"name": sink, "url": url, "secret": SECRET, "mode": "digest", "every": "1h"}
    return write_config(
        folder,
        database_url=database_url,
        sources=sources,
        sink_url=None,
        first_run="alert_all",
        extra={"sinks": [{**digest, "retry_schedule": ["0s"]}]},
    )


def test_period_end_every_and_time_of_day() -> None:
    assert period_end(at(10, 59, 59), every=timedelta(hours=1), at=None) == at(10, 0)
    assert period_end(at(11, 0), every=timedelta(hours=1), at=None) == at(11, 0)
    assert period_end(at(10, 7), every=timedelta(minutes=15), at=None) == at(10, 0)
    assert period_end(at(9, 0), every=None, at="08:00") == at(8, 0)
    assert period_end(at(7, 59), every=None, at="08:00") == at(8, 0) - timedelta(days=1)


@pytest.mark.postgres
def test_hourly_digest_sends_every_story_once_across_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    moment = [at(10, 5)]
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        for name in ("a", "b", "c"):
            feeds.route(f"/{name}.xml", Reply(body=rss([])))
        sources = [(name.upper(), feeds.url(f"/{name}.xml")) for name in ("a", "b", "c")]
        config = hourly_digest(tmp_path, database_url, sources, receiver.url, "daily-brief")
        runtime = build(config, moment)
        try:
            feeds.route("/a.xml", Reply(body=rss([WIRE[0]])))
            _, sent = asyncio.run(run_once(runtime))
            assert sent == []  # the 10:00 period had nothing

            moment[0] = at(10, 20)
            feeds.route("/b.xml", Reply(body=rss([WIRE[1], OTHER])))  # X again, and Y
            _, sent = asyncio.run(run_once(runtime))
            assert sent == []
        finally:
            runtime.db.close()

        # A restart in the middle of the hour: a new process, the same database.
        runtime = build(config, moment)
        try:
            moment[0] = at(10, 40)
            feeds.route("/c.xml", Reply(body=rss([THIRD])))
            _, sent = asyncio.run(run_once(runtime))
            assert sent == []

            moment[0] = at(11, 0, 5)
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["delivered"]
            (request,) = receiver.requests
            body = request.json
            assert body["type"] == "watchlist.digest"
            data = body["data"]
            assert data["period"] == {
                "start": "2026-11-20T10:00:00Z",
                "end": "2026-11-20T11:00:00Z",
            }
            listed = [
                story
                for group in data["watchlists"]
                for entity in group["entities"]
                for story in entity["stories"]
            ]
            titles = sorted(story["article"]["title"] for story in listed)
            assert data["count"] == 3
            assert titles == sorted([WIRE[0][1], OTHER[1], THIRD[1]])
            wire = next(s for s in listed if s["article"]["title"] == WIRE[0][1])
            assert wire["story"]["sources"] == ["A", "B"]
            assert all(s["excerpt"] and s["excerpt"]["highlights"] for s in listed)
            assert request.headers["webhook-id"]

            # Later passes in the same hour, and the next hour with nothing new: nothing.
            moment[0] = at(11, 0, 30)
            assert asyncio.run(run_once(runtime))[1] == []
            moment[0] = at(12, 0, 10)
            assert asyncio.run(run_once(runtime))[1] == []
            assert len(receiver.requests) == 1
            # Slack renders the same body within its limits.
            message = slack_digest(body)
            assert "3 stories" in str(message["text"])
            # `monitor alerts` lists the digest as one, not as its first story (probe69).
            (row,) = runtime.store.list_deliveries()
            assert row.stories == 3
            assert row.title.startswith("digest of 3 stories, the first: ")
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_what_waited_for_a_digest_is_sent_after_a_stop_or_a_switch_to_alerts(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: a digest after a stop across periods was labelled with the last
    # period only, its stories matched before it; and a sink switched from digests to
    # alerts never sent what its digest had been collecting (`status` said ok).
    import yaml

    moment = [at(10, 5)]
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/a.xml", Reply(body=rss([WIRE[0]])))
        sources = [("A", feeds.url("/a.xml"))]
        config = hourly_digest(tmp_path, database_url, sources, receiver.url, "brief")
        runtime = build(config, moment)
        try:
            assert asyncio.run(run_once(runtime))[1] == []
            moment[0] = at(12, 10)  # stopped from 10:05 to 12:10
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["delivered"]
            period = receiver.requests[0].json["data"]["period"]
            assert period == {"start": "2026-11-20T10:05:00Z", "end": "2026-11-20T12:00:00Z"}

            moment[0] = at(12, 20)
            feeds.route("/a.xml", Reply(body=rss([WIRE[0], THIRD])))
            assert asyncio.run(run_once(runtime))[1] == []  # waits for the 13:00 digest
        finally:
            runtime.db.close()
        settings = yaml.safe_load(config.read_text(encoding="utf-8"))
        for key in ("mode", "every"):
            settings["sinks"][0].pop(key)
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        runtime = build(config, moment)
        try:
            moment[0] = at(12, 30)
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["delivered"]
            last = receiver.requests[-1].json
            assert last["type"] == "watchlist.digest" and last["data"]["count"] == 1
            assert last["data"]["period"] == {
                "start": "2026-11-20T12:00:00Z",
                "end": "2026-11-20T12:30:00Z",
            }
        finally:
            runtime.db.close()
