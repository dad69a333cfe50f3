"""A receiver that was down and answers again gets the alerts that failed meanwhile at once,
not after a retry interval behind the alerts queued later; a refusal (4xx) keeps its
schedule."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.delivery import Outbox
from monitor.egress import make_client
from monitor.runtime import Runtime
from monitor.service import Service, run_once
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import Reply as Answer
from tests.support.webhook_receiver import WebhookReceiver

FIRST = ("h1", "Haftar's forces advance on Tripoli", "<p>The LNA said on Monday.</p>")
SECOND = ("h2", "GNA forces regroup south of Tripoli", "<p>Officials in Tripoli said.</p>")


@pytest.mark.postgres
@pytest.mark.parametrize(("down", "waits"), [(500, False), (503, False), (400, True)])
def test_alerts_that_failed_while_the_receiver_was_down_go_when_it_answers(
    tmp_path: Path, database_url: str, down: int, waits: bool
) -> None:
    with FeedServer() as feeds, WebhookReceiver(script=[down]) as receiver:
        feeds.route("/f.xml", Reply(body=rss([FIRST])))
        runtime = _runtime(
            tmp_path, database_url, feeds.url("/f.xml"), receiver.url, retry_schedule=["1h", "1h"]
        )
        try:
            _, sent = asyncio.run(run_once(runtime))  # the receiver is down: a retry in 1 h
            assert [o.status for o in sent] == ["retry"]
            feeds.route("/f.xml", Reply(body=rss([SECOND, FIRST])))
            _, sent = asyncio.run(run_once(runtime))  # it answers again
            titles = [r.json["data"]["article"]["title"] for r in receiver.requests]
            if waits:  # refused, not down: it keeps its schedule
                assert titles == [FIRST[1], SECOND[1]]
                assert [o.status for o in sent] == ["delivered"]
            else:
                assert titles == [FIRST[1], SECOND[1], FIRST[1]]
                assert [o.status for o in sent] == ["delivered", "delivered"]
                ids = [r.headers["webhook-id"] for r in receiver.requests]
                assert ids[0] == ids[2]  # the same alert, tried again
        finally:
            runtime.db.close()


def _runtime(
    tmp_path: Path, database_url: str, feed_url: str, sink_url: str, **extra: object
) -> Runtime:
    """One feed, one sink that hears of every stored article (`stories: all`)."""
    config = write_config(
        tmp_path,
        database_url=database_url,
        sources=[("F", feed_url)],
        sink_url=sink_url,
        first_run="alert_all",
        stories="all",
        **extra,
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    return runtime


THREE = [
    (f"r{n}", f"Haftar's forces near Tripoli, report {n}", "<p>The LNA said.</p>") for n in range(3)
]


@pytest.mark.postgres
def test_a_retry_after_hold_ends_when_the_operator_retries_the_sink(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: after a 429 with a day's Retry-After and a fixed receiver,
    # `monitor alerts retry --sink` re-queued only the alert that was tried; those queued
    # behind it kept the next day's time, and a running service kept its own hold in
    # memory: "0 deliveries re-queued", nothing sent until the next day.
    day = Answer(429, retry_after=86400)
    with FeedServer() as feeds, WebhookReceiver(script=[day]) as receiver:
        feeds.route("/f.xml", Reply(body=rss(THREE)))
        runtime = _runtime(
            tmp_path,
            database_url,
            feeds.url("/f.xml"),
            receiver.url,
            extra={"delivery": {"tick": "0.2s"}},
        )

        async def service_then_operator() -> None:
            async with Service(runtime) as service:
                service.sync_sources()
                await service.poll_all()
            stopping = asyncio.Event()
            async with make_client(runtime.http, follow_redirects=False) as client:
                outbox = Outbox(runtime, client, owner="run", stopping=stopping)
                running = asyncio.create_task(outbox.run())
                try:
                    await receiver.wait_for_async(1)  # the 429: the sink is held for a day
                    await asyncio.sleep(0.5)
                    assert len(receiver.requests) == 1
                    # The receiver is fixed; the operator runs `monitor alerts retry --sink`.
                    count = runtime.store.retry_sink("ops", now=runtime.clock(), dead=True)
                    assert count == 3  # the one tried and the two held behind it
                    await receiver.wait_for_async(4, timeout=5)
                finally:
                    stopping.set()
                    await running

        try:
            asyncio.run(service_then_operator())
            statuses = [r.reply_status for r in receiver.requests]
            assert statuses == [429, 200, 200, 200]
        finally:
            runtime.store.close()


@pytest.mark.postgres
def test_an_alert_accepted_during_a_retry_after_hold_ends_the_hold(
    tmp_path: Path, database_url: str
) -> None:
    # The operator re-queues one alert (`monitor alerts retry ID`) and `monitor once` sends
    # it: the receiver accepts it, so the alerts held behind it go too, not the next day.
    day = Answer(429, retry_after=86400)
    with FeedServer() as feeds, WebhookReceiver(script=[day]) as receiver:
        feeds.route("/f.xml", Reply(body=rss(THREE)))
        runtime = _runtime(tmp_path, database_url, feeds.url("/f.xml"), receiver.url)
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert [o.status for o in sent] == ["retry"]  # held for a day; the rest wait
            tried = sent[0].delivery_id
            assert runtime.store.requeue(now=runtime.clock(), delivery_id=tried) == 1
            _, sent = asyncio.run(run_once(runtime))
            assert [o.status for o in sent] == ["delivered"] * 3
            assert sent[0].delivery_id == tried
        finally:
            runtime.store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("status", [429, 503])
def test_a_later_once_queues_its_alerts_behind_a_retry_after_hold(
    tmp_path: Path, database_url: str, status: int
) -> None:
    # An outside probe: the only pending alert got a 429 with two hours' Retry-After; each
    # later `monitor once` sent its new alert into the pause (and spent one of its tries).
    # A 503 with a Retry-After ("down for maintenance until T") holds the sink the same way.
    hold = Answer(status, retry_after=7200)
    with FeedServer() as feeds, WebhookReceiver(script=[hold]) as receiver:
        feeds.route("/f.xml", Reply(body=rss(THREE[:1])))
        runtime = _runtime(tmp_path, database_url, feeds.url("/f.xml"), receiver.url)
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert [o.status for o in sent] == ["retry"]
            feeds.route("/f.xml", Reply(body=rss(THREE[:2])))
            _, sent = asyncio.run(run_once(runtime))
            assert sent == [] and len(receiver.requests) == 1
            rows = runtime.store.list_deliveries()
            assert len(rows) == 2 and len({row.next_attempt_at for row in rows}) == 1
        finally:
            runtime.store.close()


@pytest.mark.postgres
def test_an_alert_queued_during_a_hold_is_due_when_the_hold_ends_not_at_a_retry_slot(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: the alert that got "429, Retry-After: 60" had its own next try an
    # hour away (its retry schedule's slot, longer than the 60 s asked); alerts queued
    # during the minute's hold took that hour from it (`monitor alerts` showed it, and a
    # restart would have kept it), though the service sent them when the minute was over.
    hold = Answer(429, retry_after=60)
    with FeedServer() as feeds, WebhookReceiver(script=[hold]) as receiver:
        feeds.route("/f.xml", Reply(body=rss(THREE[:2])))
        runtime = _runtime(
            tmp_path, database_url, feeds.url("/f.xml"), receiver.url, retry_schedule=["1h"]
        )
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert [o.status for o in sent] == ["retry"]
            feeds.route("/f.xml", Reply(body=rss(THREE)))
            asyncio.run(run_once(runtime))
            assert len(receiver.requests) == 1
            rows = runtime.store.list_deliveries()
            tried = [row for row in rows if row.attempts]
            untried = sorted(row.next_attempt_at for row in rows if not row.attempts)
            assert len(tried) == 1 and len(untried) == 2
            assert untried[0] == untried[1] < tried[0].next_attempt_at
            # the hold's end: about a minute after the 429, not the hour of the retry slot
            assert untried[0] - tried[0].next_attempt_at < timedelta(minutes=-50)
        finally:
            runtime.store.close()


@pytest.mark.postgres
def test_a_failure_recorded_after_another_instance_delivered_the_alert_leaves_it_delivered(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe paused an instance (SIGSTOP) in the middle of a send; its lease ran
    # out and another instance delivered the alert; resumed, the paused one recorded its
    # send's timeout, which made the delivery pending again: the receiver got it a third
    # time. Here the other instance's delivery is written while this one's send waits for
    # an answer that will be a failure.
    import threading

    from sqlalchemy import update

    from monitor.db.schema import deliveries

    with FeedServer() as feeds, WebhookReceiver(default=Answer(500, delay=1.5)) as receiver:
        feeds.route("/f.xml", Reply(body=rss([FIRST])))
        runtime = _runtime(tmp_path, database_url, feeds.url("/f.xml"), receiver.url)

        def delivered_elsewhere() -> None:
            receiver.wait_for(1, timeout=30)
            runtime.db.run_sync(
                lambda c: c.execute(
                    update(deliveries).values(
                        status="delivered", lease_owner=None, lease_expires_at=None
                    )
                )
            )

        other = threading.Thread(target=delivered_elsewhere)
        try:
            other.start()
            _, sent = asyncio.run(run_once(runtime))
            other.join()
            assert [o.status for o in sent] == ["delivered"]
            (row,) = runtime.store.list_deliveries()
            assert (row.status, row.attempts) == ("delivered", 0)
            assert len(receiver.requests) == 1
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_a_send_cut_short_by_this_process_closing_its_client_spends_no_attempt(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe (a second SIGTERM while the receiver had not answered): the send
    # ended as the receiver's protocol error, an attempt spent towards `dead`, though this
    # process had closed the connection.
    with FeedServer() as feeds, WebhookReceiver(default=Answer(200, delay=30)) as receiver:
        feeds.route("/f.xml", Reply(body=rss(THREE)))
        runtime = _runtime(tmp_path, database_url, feeds.url("/f.xml"), receiver.url)

        async def send_then_close() -> list[str]:
            async with Service(runtime) as service:
                service.sync_sources()
                await service.poll_all()
            client = make_client(runtime.http, follow_redirects=False)
            outbox = Outbox(runtime, client, owner="once", stopping=asyncio.Event())
            sending = asyncio.create_task(outbox.deliver_pending())
            await receiver.wait_for_async(1)
            await client.aclose()
            return [outcome.status for outcome in await asyncio.wait_for(sending, 10)]

        try:
            assert asyncio.run(send_then_close()) == ["interrupted"]
            rows = runtime.store.list_deliveries()
            assert len(rows) == 3
            assert {(row.status, row.attempts) for row in rows} == {("pending", 0)}
            assert len(receiver.requests) == 1
        finally:
            runtime.db.close()
