"""The whole service on real parts: a feed server and a webhook receiver on 127.0.0.1, a real
SQLite file or PostgreSQL schema, the shipped Libya watchlist."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from monitor.alerts import verify
from monitor.db.schema import articles, deliveries, matches
from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import SECRET, rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

QUIET = ("calm-1", "Markets open higher in Tokyo", "<p>Shares rose in early trading.</p>")
HAFTAR = (
    "advance-1",
    "Forces advance near the capital",
    "<p>Officials met on Monday. Field Marshal Khalifa Haftar ordered his troops to move on "
    "<b>Tripoli</b> at dawn. The UN called for calm.</p>",
)
UNRELATED = ("sport-1", "Local club wins the cup", "<p>The signature goal came late.</p>")


def feed_reply(*entries: tuple[str, str, str]) -> Reply:
    etag = f'"v{len(entries)}"'
    return Reply(
        body=rss(entries),
        headers={"Content-Type": "application/rss+xml", "ETag": etag},
        conditional=True,
    )


def build(path: Path) -> Runtime:
    runtime = Runtime.build(load_settings(path), need_sinks=True)
    runtime.db.prepare()
    return runtime


def count(runtime: Runtime, table: object) -> int:
    return int(
        runtime.db.run_sync(
            lambda c: c.execute(select(func.count()).select_from(table)).scalar_one()
        )
    )  # type: ignore[arg-type]


@pytest.mark.postgres
def test_new_entry_alerts_once_then_304_sends_nothing(tmp_path: Path, database_url: str) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/libya.xml", feed_reply(QUIET))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=receiver.url,
        )
        runtime = build(config)
        try:
            # First poll: the backlog is stored, nothing alerts (first_run: store_only).
            polls, sent = asyncio.run(run_once(runtime))
            assert [p.status for p in polls] == ["ok"]
            assert polls[0].new_articles == 1 and sent == []

            # A new entry naming Haftar and Tripoli: exactly one alert, signed, with excerpt.
            feeds.route("/libya.xml", feed_reply(HAFTAR, QUIET))
            polls, sent = asyncio.run(run_once(runtime))
            assert polls[0].new_articles == 1 and polls[0].deliveries == 1
            assert [d.status for d in sent] == ["delivered"]
            (request,) = receiver.wait_for(1)
            assert verify(SECRET, request.headers, request.body)
            Webhook(SECRET).verify(request.body, request.headers)  # the reference library agrees
            data = request.json["data"]
            assert request.json["type"] == "watchlist.match"
            assert data["watchlist"] == "libya"
            assert {"haftar", "tripoli"} <= set(data["entities"])
            assert data["rule"] == "offensive-on-tripoli"  # Haftar NEAR/15 Tripoli
            assert "NEAR/15" in data["rule_expr"]
            assert data["article"]["title"] == "Forces advance near the capital"
            assert data["article"]["url"] == "https://example.org/news/advance-1"
            sentence = [e for e in data["excerpts"] if "ordered his troops" in e["text"]]
            assert sentence, data["excerpts"]
            excerpt = sentence[0]
            lit = {excerpt["text"][s:e] for s, e in excerpt["highlights"]}
            assert any("Haftar" in t for t in lit) and "Tripoli" in lit
            assert "Officials met" not in excerpt["text"]  # the sentence, not the paragraph
            for m in data["matches"]:
                assert m["field"] in {"title", "summary", "content"}

            # Polling again: a conditional request, 304, nothing stored, nothing sent.
            before = len(feeds.requests_for("/libya.xml"))
            polls, sent = asyncio.run(run_once(runtime))
            assert [p.status for p in polls] == ["not_modified"]
            last = feeds.requests_for("/libya.xml")[before]
            assert last.headers.get("if-none-match") == '"v2"'
            assert sent == []
            assert count(runtime, articles) == 2
            assert count(runtime, deliveries) == 1
            assert len(receiver.requests) == 1
        finally:
            runtime.db.close()


def test_receiver_failing_twice_gets_alert_with_one_webhook_id(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver(script=[500, 500, 200]) as receiver:
        feeds.route("/libya.xml", feed_reply(HAFTAR))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = build(config)
        try:
            # One try per delivery per run (`monitor once` is one delivery pass): three runs.
            statuses = [[d.status for d in asyncio.run(run_once(runtime))[1]] for _ in range(3)]
            assert statuses == [["retry"], ["retry"], ["delivered"]]
            requests = receiver.wait_for(3)
            assert [r.reply_status for r in requests] == [500, 500, 200]
            ids = {r.headers["webhook-id"] for r in requests}
            assert len(ids) == 1
            # Each alert on a connection of its own, and the request says so (probe69).
            assert {r.headers.get("connection") for r in requests} == {"close"}
            bodies = {r.body for r in requests}
            assert len(bodies) == 1  # the same payload on every retry
            for r in requests:
                assert verify(SECRET, r.headers, r.body)
            row = runtime.db.run_sync(lambda c: c.execute(select(deliveries)).one())
            assert row.status == "delivered" and row.attempts == 3 and row.id in ids
            assert row.last_status == 200
        finally:
            runtime.db.close()


def test_a_receiver_asking_to_wait_holds_the_whole_sink_not_only_that_alert(
    tmp_path: Path,
) -> None:
    # A 429 with Retry-After is about the receiver, not one alert: the alerts queued after
    # the refused one wait too, instead of each being refused (and spending an attempt).
    from datetime import UTC, datetime, timedelta

    from tests.support.webhook_receiver import Reply as HookReply

    moment = [datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    entries = [(f"advance-{n}", f"{HAFTAR[1]} ({n})", HAFTAR[2]) for n in range(4)]
    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[HookReply(429, retry_after=30)]) as receiver,
    ):
        feeds.route("/libya.xml", feed_reply(*entries))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: moment[0])
        runtime.db.prepare()
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["retry"]
            assert [r.reply_status for r in receiver.requests] == [429]
            moment[0] += timedelta(seconds=10)  # still inside the receiver's 30 s
            _, sent = asyncio.run(run_once(runtime))
            assert sent == [] and len(receiver.requests) == 1
            moment[0] += timedelta(seconds=21)
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["delivered"] * 4
            titles = {r.json["data"]["article"]["title"] for r in receiver.requests[1:]}
            assert titles == {title for _, title, _ in entries}
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_a_receivers_pause_holds_for_the_next_process_and_keeps_the_sinks_order(
    database_url: str, tmp_path: Path
) -> None:
    # The hold is in the database: a later process (cron's next `monitor once`, another
    # instance) queues the alerts of new entries behind it, not ahead of it, and sends
    # nothing there before the receiver's time; then everything goes in the order queued.
    from datetime import UTC, datetime, timedelta

    from tests.support.webhook_receiver import Reply as HookReply

    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    first = [(f"g-{n}", f"{HAFTAR[1]} (g{n})", HAFTAR[2]) for n in range(3)]
    later = [(f"h-{n}", f"{HAFTAR[1]} (h{n})", HAFTAR[2]) for n in range(3)]

    def once_at(config: Path, moment: datetime) -> list[str]:
        # A new Runtime each time: nothing of the earlier pass is in memory.
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: moment)
        runtime.db.prepare()
        try:
            _, sent = asyncio.run(run_once(runtime))
        finally:
            runtime.db.close()
        return [d.status for d in sent]

    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[HookReply(429, retry_after=30)]) as receiver,
    ):
        feeds.route("/libya.xml", feed_reply(*first))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",  # one story: an alert per article all the same
        )
        assert once_at(config, start) == ["retry"]
        feeds.route("/libya.xml", feed_reply(*first, *later))
        assert once_at(config, start + timedelta(seconds=10)) == []
        assert [r.reply_status for r in receiver.requests] == [429]
        assert once_at(config, start + timedelta(seconds=31)) == ["delivered"] * 6
        titles = [r.json["data"]["article"]["title"] for r in receiver.requests]
        refused, *sent = titles
        assert sent[0] == refused  # the one the receiver refused goes first
        assert set(sent[:3]) == {title for _, title, _ in first}
        assert set(sent[3:]) == {title for _, title, _ in later}


def test_a_send_stopped_before_the_answer_is_logged_and_stays_pending(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The service's stop grace ran out while the receiver had not answered: the receiver
    # may have the alert, nothing was recorded, so it is sent again with the same id. Said.
    import logging

    from tests.support.webhook_receiver import Reply as HookReply

    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[HookReply(200, delay=20)]) as receiver,
    ):
        feeds.route("/libya.xml", feed_reply(HAFTAR))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = build(config)

        async def stopped() -> None:
            task = asyncio.create_task(run_once(runtime))
            await asyncio.to_thread(receiver.wait_for, 1, 30.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        try:
            with caplog.at_level(logging.WARNING, logger="monitor"):
                asyncio.run(stopped())
            row = runtime.db.run_sync(lambda c: c.execute(select(deliveries)).one())
            assert row.status == "pending" and row.attempts == 0
            assert "stays pending and is sent again (same webhook-id" in caplog.text
            assert receiver.requests[0].headers["webhook-id"] == row.id
        finally:
            runtime.db.close()


def test_a_stopped_once_waits_the_stop_grace_not_the_sinks_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # SIGTERM to `monitor once` while a receiver hangs: the send in hand gets the same grace
    # as in `run` (90 s; 1 s here), not the sink's whole timeout (300 s), then is abandoned:
    # the alert stays pending for the next run, and the report says the run was stopped.
    import logging
    import os
    import signal
    import time

    import yaml

    from monitor import service as service_module
    from monitor.service import run_once_report
    from tests.support.webhook_receiver import Reply as HookReply

    monkeypatch.setattr(service_module, "STOP_GRACE_SECONDS", 1.0)
    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[HookReply(200, delay=120)]) as receiver,
    ):
        feeds.route("/libya.xml", feed_reply(HAFTAR))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        data["sinks"][0]["timeout"] = "300s"
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
        runtime = build(config)

        async def stopped() -> object:
            task = asyncio.create_task(run_once_report(runtime))
            await asyncio.to_thread(receiver.wait_for, 1, 30.0)
            os.kill(os.getpid(), signal.SIGTERM)
            return await task

        try:
            started = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="monitor"):
                report = asyncio.run(stopped())
            assert time.monotonic() - started < 30
            assert report.stopped_by == signal.SIGTERM  # type: ignore[attr-defined]
            assert [p.status for p in report.polls] == ["ok"]  # type: ignore[attr-defined]
            assert "did not finish within 1 s; they are abandoned" in caplog.text
            row = runtime.db.run_sync(lambda c: c.execute(select(deliveries)).one())
            assert row.status == "pending" and row.attempts == 0
        finally:
            runtime.db.close()


def test_a_stop_of_run_that_runs_out_of_grace_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # An outside probe (probe88 M7): `run` stopped silently after its grace ran out, while
    # `once` said what was abandoned; a long silent stop looked like a hang.
    import logging
    import signal

    from monitor import service as service_module
    from monitor.service import Service
    from tests.support.webhook_receiver import Reply as HookReply

    monkeypatch.setattr(service_module, "STOP_GRACE_SECONDS", 1.0)
    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[HookReply(200, delay=120)]) as receiver,
    ):
        feeds.route("/libya.xml", feed_reply(HAFTAR))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = build(config)

        async def run() -> None:
            async with Service(runtime) as service:
                service.sync_sources()
                task = asyncio.create_task(service.run_forever())
                await asyncio.to_thread(receiver.wait_for, 1, 30.0)
                service.request_stop(signal.SIGTERM)
                await task

        try:
            with caplog.at_level(logging.WARNING, logger="monitor"):
                asyncio.run(run())
            assert "did not finish the work in hand within 1 s; it is abandoned" in caplog.text
        finally:
            runtime.db.close()


def test_entries_without_watched_names_store_but_send_nothing(tmp_path: Path) -> None:
    tricky = (
        "tricky-1",
        "Lna signature line",
        "<p>A lna test at the signature event in Tripolitania. "
        "<a href='https://example.org/Tripoli/Haftar'>link</a></p>",
    )
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/feed.xml", feed_reply(UNRELATED, tricky))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Sport", feeds.url("/feed.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = build(config)
        try:
            polls, sent = asyncio.run(run_once(runtime))
            assert polls[0].new_articles == 2
            assert polls[0].matches == 0 and sent == []
            assert count(runtime, articles) == 2
            assert count(runtime, matches) == 0
            assert receiver.requests == []
        finally:
            runtime.db.close()


def test_reordered_and_redated_feed_stores_nothing_twice(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/feed.xml", Reply(body=rss([HAFTAR, QUIET])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/feed.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = build(config)
        try:
            asyncio.run(run_once(runtime))
            # Same entries, other order, new dates (rss() dates by position), no ETag.
            feeds.route("/feed.xml", Reply(body=rss([QUIET, HAFTAR])))
            polls, sent = asyncio.run(run_once(runtime))
            assert polls[0].status == "ok" and polls[0].new_articles == 0 and sent == []
            assert count(runtime, articles) == 2
            assert len(receiver.requests) == 1
        finally:
            runtime.db.close()


def test_failing_source_is_recorded_and_does_not_stop_others(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/good.xml", feed_reply(HAFTAR))
        feeds.route("/broken.xml", Reply(status=500, body=b"oops"))
        feeds.route(
            "/html.xml",
            Reply(
                body=b"<html><body>Not a feed</body></html>", headers={"Content-Type": "text/html"}
            ),
        )
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[
                ("Broken", feeds.url("/broken.xml")),
                ("Html", feeds.url("/html.xml")),
                ("Good", feeds.url("/good.xml")),
            ],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = build(config)
        try:
            polls, sent = asyncio.run(run_once(runtime))
            by_name = {p.source: p for p in polls}
            assert by_name["Good"].status == "ok"
            assert by_name["Broken"].status == "error" and by_name["Broken"].reason == "http_5xx"
            assert by_name["Html"].status == "error" and by_name["Html"].reason == "parse_error"
            assert [d.status for d in sent] == ["delivered"]
            from monitor.db.sources import list_sources

            rows = {r.name: r for r in runtime.db.run_sync(list_sources)}
            broken = rows["Broken"]
            assert broken.consecutive_failures == 1 and broken.last_status == 500
            assert "broken.xml" in (broken.last_error or "")
            assert broken.next_poll_at > broken.last_polled_at  # type: ignore[operator]
            # `once` skips a source held back by error back-off.
            before = len(feeds.requests_for("/broken.xml"))
            polls, _ = asyncio.run(run_once(runtime))
            assert "Broken" not in {p.source for p in polls}
            assert len(feeds.requests_for("/broken.xml")) == before
        finally:
            runtime.db.close()


def test_a_broken_stored_alert_does_not_stop_the_others(tmp_path: Path) -> None:

    from sqlalchemy import update

    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/libya.xml", feed_reply(HAFTAR, ("second", "Tripoli talks", "<p>Talks.</p>")))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Test Wire", feeds.url("/libya.xml"))],
            sink_url=None,
            first_run="alert_all",
        )
        runtime = build(config)
        asyncio.run(run_once(runtime))  # stores two matches, no sink yet
        runtime.db.close()
        config.write_text(
            config.read_text(encoding="utf-8").replace(
                "sinks: []", f"sinks:\n- name: ops\n  url: {receiver.url}\n  secret: {SECRET}"
            ),
            encoding="utf-8",
        )
        runtime = build(config)
        try:
            from monitor.replay import replay_articles

            assert replay_articles(runtime, since=None, deliver=True)["queued"] == 2
            first = runtime.db.run_sync(lambda c: c.execute(select(matches.c.id)).first())
            assert first is not None
            # A row the payload builder cannot read (e.g. written by a buggy older version).
            runtime.db.run_sync(
                lambda c: c.execute(
                    update(matches)
                    .where(matches.c.id == first.id)
                    .values(detail={"matches": [{"nonsense": True}]})
                )
            )
            _, sent = asyncio.run(run_once(runtime))
            assert sorted(d.status for d in sent) == ["delivered", "retry"]
            rows = runtime.db.run_sync(lambda c: c.execute(select(deliveries)).all())
            broken = [r for r in rows if r.status == "pending"]
            assert len(broken) == 1 and broken[0].last_error_reason == "internal_error"
            assert broken[0].attempts == 1  # retried later (default schedule: 5s)
            assert len(receiver.requests) == 1
        finally:
            runtime.db.close()


def test_rate_limited_source_waits_for_retry_after(tmp_path: Path) -> None:
    from monitor.db.sources import list_sources

    with FeedServer() as feeds:
        feeds.route("/busy.xml", Reply(status=429, headers={"Retry-After": "7200"}))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Busy", feeds.url("/busy.xml"))],
            sink_url=None,
        )
        runtime = build(config)
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            assert poll.status == "error" and poll.reason == "rate_limited"
            (row,) = runtime.db.run_sync(list_sources)
            assert row.last_status == 429 and row.consecutive_failures == 1
            assert row.last_polled_at is not None
            wait = row.next_poll_at - row.last_polled_at
            assert wait.total_seconds() >= 7200 - 1  # never sooner than the server asked
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_an_entry_with_a_nul_reference_is_stored_clean_and_polled_again(
    tmp_path: Path, database_url: str
) -> None:
    # PostgreSQL refuses NUL in text: one such title would fail the feed's whole transaction
    # (and every later poll of it). The parser makes the character U+FFFD, as an HTML parser
    # does; both entries are stored.
    body = rss([("nul-1", "Haftar NUL visits Tripoli", "<p>Talks NUL.</p>"), QUIET])
    body = body.replace(b"NUL", b"&#0;")
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=body))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        runtime = build(config)
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            assert (poll.status, poll.entries, poll.new_articles) == ("ok", 2, 2), poll
            (again,), _ = asyncio.run(run_once(runtime))
            assert (again.status, again.new_articles) == ("ok", 0), again
            assert len(feeds.requests_for("/f.xml")) == 2
            stored = runtime.db.run_sync(
                lambda c: {
                    key: (title, summary)
                    for key, title, summary in c.execute(
                        select(articles.c.entry_key, articles.c.title, articles.c.summary)
                    )
                }
            )
        finally:
            runtime.db.close()
    assert set(stored) == {"nul-1", QUIET[0]}
    title, summary = stored["nul-1"]
    assert title == "Haftar \ufffd visits Tripoli" and "\x00" not in summary
    assert "Talks \ufffd." in summary
    assert stored[QUIET[0]][0] == QUIET[1]
