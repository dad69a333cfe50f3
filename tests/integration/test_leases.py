"""Leases on sources and deliveries: a claim holds until it is released or expires, so a
dead instance's work is taken over, and a live one's is never taken twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.db.articles import ArticleRecord
from monitor.db.instances import STALE_AFTER
from monitor.db.sources import PollRecord, SourceSpec
from monitor.db.store import Store
from monitor.delivery import DeliveryOutcome, Outbox
from monitor.egress import make_client
from monitor.match import WatchlistMatch
from monitor.runtime import Runtime
from monitor.service import Service
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import Reply as Answer
from tests.support.webhook_receiver import WebhookReceiver

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
DAY = timedelta(hours=24)


def _queue_alerts(store: Store, count: int) -> None:
    """``count`` stored articles of one source, each with a match that alerts sink "ops"."""
    spec = SourceSpec(
        "Wire", "https://example.org/rss", timedelta(minutes=10), True, "store_only", DAY
    )
    store.sync_sources([spec], T0)
    (source,) = asyncio.run(store.claim_sources(owner="a", now=T0, lease=LEASE, limit=1))
    match = WatchlistMatch("libya", ("haftar",), (), (), None)
    records = [
        ArticleRecord(
            entry_key=f"k{n}",
            canonical_url=None,
            title=f"Haftar {n}",
            summary="",
            content="",
            published_at=T0 + timedelta(minutes=n),
            content_hash=f"h{n}",
            fingerprint=f"f{n}",
            matches=(match,),
            alert_sinks={"libya": ("ops",)},
        )
        for n in range(count)
    ]
    poll = PollRecord(source.id, T0, T0 + timedelta(minutes=10), True, 200)
    asyncio.run(store.store_feed(source.id, records, poll, T0))


@pytest.mark.postgres
def test_source_and_delivery_leases(database_url: str) -> None:
    store = Store(database_url)
    store.prepare()
    try:
        spec = SourceSpec(
            "Wire",
            "https://example.org/rss",
            timedelta(minutes=10),
            True,
            "store_only",
            timedelta(hours=24),
        )
        store.sync_sources([spec], T0)

        def claim(owner: str, at: datetime) -> list[object]:
            return asyncio.run(store.claim_sources(owner=owner, now=at, lease=LEASE, limit=10))

        (claimed,) = claim("a", T0)
        assert claim("b", T0 + timedelta(minutes=1)) == []  # held by a
        (taken,) = claim("b", T0 + LEASE + timedelta(seconds=1))  # a died: b takes over
        assert taken.id == claimed.id  # type: ignore[attr-defined]

        match = WatchlistMatch("libya", ("haftar",), (), (), None)
        record = ArticleRecord(
            entry_key="k1",
            canonical_url=None,
            title="Haftar",
            summary="",
            content="",
            published_at=None,
            content_hash="h",
            fingerprint="f",
            matches=(match,),
            alert_sinks={"libya": ("ops",)},
        )
        poll = PollRecord(taken.id, T0, T0 + timedelta(minutes=10), True, 200)  # type: ignore[attr-defined]
        counts = asyncio.run(store.store_feed(taken.id, [record], poll, T0))  # type: ignore[attr-defined]
        assert (counts.articles, counts.matches, counts.deliveries) == (1, 1, 1)

        def claim_deliveries(owner: str, at: datetime) -> list[object]:
            return asyncio.run(store.claim_deliveries(owner=owner, now=at, lease=LEASE, limit=10))

        (due,) = claim_deliveries("a", T0)
        assert claim_deliveries("b", T0 + timedelta(minutes=1)) == []
        asyncio.run(
            store.mark_failed(
                due.id,  # type: ignore[attr-defined]
                now=T0,
                next_attempt_at=T0 + timedelta(minutes=2),
                reason="http_5xx",
                error="500",
                status=500,
            )
        )
        assert claim_deliveries("b", T0 + timedelta(minutes=1)) == []  # not due yet
        (again,) = claim_deliveries("b", T0 + timedelta(minutes=2))
        assert again.id == due.id and again.attempts == 1  # type: ignore[attr-defined]
    finally:
        store.close()


def test_a_dead_instances_sources_are_taken_over_once_its_heartbeat_is_stale(
    database_url: str,
) -> None:
    # An instance killed with sources in hand (kill -9, its host down) held them for the
    # whole poll.lease (5 minutes) on PostgreSQL, where no lock proves it dead (an outside
    # probe). Its heartbeat does: not heard from for STALE_AFTER, its leases are free.
    store = Store(database_url)
    store.prepare()
    try:
        specs = [
            SourceSpec(
                f"Wire {n}",
                f"https://example.org/{n}.rss",
                timedelta(minutes=10),
                True,
                "store_only",
                DAY,
            )
            for n in range(3)
        ]
        store.sync_sources(specs, T0)
        for owner in ("run-a", "run-b"):
            store.register_instance(
                owner=owner, hostname="h", pid=1, version="t", config_path=None, now=T0
            )

        def claim(owner: str, at: datetime, limit: int = 1) -> list[str]:
            rows = asyncio.run(store.claim_sources(owner=owner, now=at, lease=LEASE, limit=limit))
            return [row.name for row in rows]

        assert claim("run-a", T0) == ["Wire 0"]
        assert claim("once-c", T0) == ["Wire 1"]  # a `monitor once`: not registered
        # Within STALE_AFTER of run-a's last heartbeat, its lease holds.
        assert claim("run-b", T0 + STALE_AFTER, limit=3) == ["Wire 2"]
        asyncio.run(store.instance_beat("run-b", T0 + STALE_AFTER))
        # run-a's heartbeat is stale: its source is free, long before its lease ends; the
        # lease of the unregistered `once` holds until it expires.
        late = T0 + STALE_AFTER + timedelta(seconds=1)
        assert late < T0 + LEASE
        assert claim("run-b", late, limit=3) == ["Wire 0"]
        # An instance whose own heartbeat is stale (its clock jumped) never takes back a
        # source it holds: it is polling it.
        assert claim("run-b", T0 + timedelta(minutes=4), limit=3) == []
        # A stopped instance's leases are free at once.
        asyncio.run(store.instance_beat("run-a", T0 + timedelta(minutes=4)))
        store.instance_stopped("run-b", T0 + timedelta(minutes=4))
        assert sorted(claim("run-a", T0 + timedelta(minutes=4), limit=3)) == ["Wire 0", "Wire 2"]
    finally:
        store.close()


@pytest.mark.postgres
def test_a_batch_that_outlasts_its_leases_is_never_sent_by_two_instances(
    tmp_path: Path, database_url: str
) -> None:
    # Instance a claims six alerts under a one-second lease; its receiver takes 0.4 s an
    # answer, so the batch takes 2.4 s. Instance b looks after 1.2 s: it took (and sent) the
    # ones a had not reached, and a sent them too on its run-out leases (an outside probe:
    # 6 of 60 alerts twice, same webhook-id, no crash). The leases are renewed now.
    entries = [
        (f"h{n}", f"Haftar's forces near Tripoli, report {n}", "<p>LNA.</p>") for n in range(6)
    ]
    with FeedServer() as feeds, WebhookReceiver(default=Answer(200, delay=0.4)) as receiver:
        feeds.route("/f.xml", Reply(body=rss(entries)))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"delivery": {"lease": "1s", "tick": "1s"}},
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()

        async def two_instances() -> None:
            async with Service(runtime) as service:
                service.sync_sources()
                await service.poll_all()
            stopping = asyncio.Event()
            async with (
                make_client(runtime.http, follow_redirects=False) as one,
                make_client(runtime.http, follow_redirects=False) as two,
            ):
                a = Outbox(runtime, one, owner="a", stopping=stopping)
                b = Outbox(runtime, two, owner="b", stopping=stopping)

                async def later() -> list[DeliveryOutcome]:
                    await asyncio.sleep(1.2)
                    return await b.deliver_pending()

                await asyncio.gather(a.deliver_pending(), later())

        try:
            asyncio.run(two_instances())
            ids = [r.headers["webhook-id"] for r in receiver.requests]
            assert len(ids) == 6 and len(set(ids)) == 6, ids
        finally:
            runtime.store.close()


def test_one_sink_is_sent_to_by_one_instance_at_a_time(database_url: str) -> None:
    # Instance a claims two of a sink's five due alerts. Before, b claimed the next three
    # and sent them beside a's: a receiver got two at once, out of order.
    store = Store(database_url)
    store.prepare()
    try:
        _queue_alerts(store, 5)

        def claim(owner: str, at: datetime, limit: int = 10) -> list[str]:
            claimed = asyncio.run(
                store.claim_deliveries(owner=owner, now=at, lease=LEASE, limit=limit, sink="ops")
            )
            return [due.id for due in claimed]

        first = claim("a", T0, limit=2)
        assert len(first) == 2
        assert claim("b", T0 + timedelta(seconds=1)) == []  # a is sending to "ops"
        # To b (a `monitor once` beside a's `monitor run`), all five are a's to send: the
        # two in hand and the three it sends next; none is retrying (b exited 4 for them).
        elsewhere = store.acount_sending_elsewhere("b", T0 + timedelta(seconds=1), ["ops"])
        assert asyncio.run(elsewhere) == 5
        assert asyncio.run(store.acount_sending_elsewhere("a", T0, ["ops"])) == 0
        # b sleeps until a's lease ends (or a wake-up), not in a loop on a past due time.
        later = asyncio.run(store.next_attempt_at(sink="ops", owner="b", now=T0))
        assert later == T0 + LEASE
        assert asyncio.run(store.next_attempt_at(sink="ops", owner="a", now=T0)) == T0
        for delivery_id in first:
            asyncio.run(store.mark_delivered(delivery_id, now=T0, status=200))
        rest = claim("b", T0 + timedelta(seconds=2))  # a is done: b may send the rest
        assert len(rest) == 3 and not set(rest) & set(first)
        assert claim("a", T0 + timedelta(seconds=3)) == []
        # A dead sender's leases expire: the sink is free again.
        assert len(claim("a", T0 + timedelta(seconds=2) + LEASE + timedelta(seconds=1))) == 3
    finally:
        store.close()


def test_two_instances_send_to_one_sink_one_at_a_time(tmp_path: Path, database_url: str) -> None:
    # Two outboxes on one database, batches of two, a receiver taking 0.3 s an answer: the
    # receiver never answers two alerts at once (before: b sent beside a).
    entries = [
        (f"h{n}", f"Haftar's forces near Tripoli, report {n}", "<p>LNA.</p>") for n in range(6)
    ]
    with FeedServer() as feeds, WebhookReceiver(default=Answer(200, delay=0.3)) as receiver:
        feeds.route("/f.xml", Reply(body=rss(entries)))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"delivery": {"batch": 2, "tick": "1s"}},
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()

        async def two_instances() -> tuple[list[DeliveryOutcome], list[DeliveryOutcome]]:
            async with Service(runtime) as service:
                service.sync_sources()
                await service.poll_all()
            stopping = asyncio.Event()
            async with (
                make_client(runtime.http, follow_redirects=False) as one,
                make_client(runtime.http, follow_redirects=False) as two,
            ):
                a = Outbox(runtime, one, owner="a", stopping=stopping)
                b = Outbox(runtime, two, owner="b", stopping=stopping)

                async def later() -> list[DeliveryOutcome]:
                    await asyncio.sleep(0.1)
                    return await b.deliver_pending()

                sent_a, sent_b = await asyncio.gather(a.deliver_pending(), later())
                return sent_a, sent_b

        try:
            sent_a, sent_b = asyncio.run(two_instances())
            ids = [r.headers["webhook-id"] for r in receiver.requests]
            assert len(ids) == 6 and len(set(ids)) == 6, ids
            assert receiver.most_in_flight == 1
            assert [o.delivery_id for o in sent_a] == ids and sent_b == []
        finally:
            runtime.store.close()


@pytest.mark.postgres
def test_two_instances_claiming_one_sink_at_the_same_moment_never_both_get_some(
    postgres_url: str,
) -> None:
    # Without the advisory lock around the "is another instance sending?" check, two
    # claims at one moment both saw the sink free (neither had committed its leases) and
    # took different rows (SKIP LOCKED): two senders to one receiver.
    import threading

    stores = [Store(postgres_url), Store(postgres_url)]
    stores[0].prepare()
    try:
        _queue_alerts(stores[0], 40)
        both = 0
        for round_ in range(20):
            at = T0 + timedelta(seconds=round_)
            start = threading.Barrier(2)
            got: list[list[str]] = [[], []]

            def claim(
                index: int,
                at: datetime = at,
                start: threading.Barrier = start,
                got: list[list[str]] = got,
            ) -> None:
                start.wait()
                claimed = asyncio.run(
                    stores[index].claim_deliveries(
                        owner="ab"[index], now=at, lease=LEASE, limit=2, sink="ops"
                    )
                )
                got[index] = [due.id for due in claimed]

            threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            both += bool(got[0]) and bool(got[1])
            for index, ids in enumerate(got):
                for delivery_id in ids:
                    asyncio.run(stores[index].mark_delivered(delivery_id, now=at, status=200))
        assert both == 0
    finally:
        for store in stores:
            store.close()


def test_an_instance_that_dies_with_a_batch_holds_its_sink_for_seconds(
    tmp_path: Path, database_url: str
) -> None:
    # A sink has one sender at a time: the leases of an instance killed mid-batch hold the
    # sink, new alerts included, until they end. They last two sends' worth (the sink's
    # timeout and 5 s, twice: 30 s by default), renewed as a batch goes, not
    # `delivery.lease` (2 min).
    moment = [T0]
    entries = [
        (f"d{n}", f"Haftar's forces near Tripoli, report {n}", "<p>LNA.</p>") for n in range(3)
    ]
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/f.xml", Reply(body=rss(entries)))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: moment[0])
        runtime.db.prepare()

        async def scenario() -> tuple[timedelta, list[DeliveryOutcome], list[DeliveryOutcome]]:
            async with Service(runtime) as service:
                service.sync_sources()
                await service.poll_all()
            stopping = asyncio.Event()
            async with make_client(runtime.http, follow_redirects=False) as client:
                alive = Outbox(runtime, client, owner="alive", stopping=stopping)
                lease = alive._lease("ops")
                # The dead one's claim, as its outbox made it, and then nothing.
                dead = await runtime.store.claim_deliveries(
                    owner="dead", now=moment[0], lease=lease, limit=50, sink="ops"
                )
                assert len(dead) == 3
                moment[0] += timedelta(seconds=1)
                during = await alive.deliver_pending()
                moment[0] += lease
                after = await alive.deliver_pending()
            return lease, during, after

        try:
            lease, during, after = asyncio.run(scenario())
            timeout = runtime.sinks["ops"].timeout
            assert lease == 2 * (timeout + timedelta(seconds=5)) < runtime.settings.delivery.lease
            assert during == [] and [o.status for o in after] == ["delivered"] * 3
            assert len(receiver.requests) == 3
        finally:
            runtime.store.close()
