"""The engine's promises: a 304 pass writes poll times only, a burst of due sources is polled
without waiting for a tick, queued alerts leave at once (also across instances on PostgreSQL),
and a parsing worker that dies costs a retry, never a half-stored feed."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from monitor.db.schema import articles, deliveries, sources
from monitor.runtime import Runtime
from monitor.service import Service
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

HAFTAR = ("h1", "Haftar's forces advance on Tripoli", "<p>The LNA said on Monday.</p>")
QUIET = ("q1", "Weather in Lisbon", "<p>Sunny.</p>")
FIXED_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def count(runtime: Runtime, table: Any, *where: Any) -> int:
    query = select(func.count()).select_from(table)
    for condition in where:
        query = query.where(condition)
    return int(runtime.db.run_sync(lambda c: c.execute(query).scalar_one()))


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


async def _until(condition: Any, within: float = 45.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within} s")
        await asyncio.sleep(0.02)


def test_a_304_pass_writes_poll_times_only(
    tmp_path: Path, database_url: str, feeds: FeedServer
) -> None:
    for n in range(5):
        feeds.route(
            f"/f{n}.xml", Reply(body=rss([HAFTAR]), headers={"ETag": '"v1"'}, conditional=True)
        )
    config = write_config(
        tmp_path,
        database_url=database_url,
        sources=[(f"F{n}", feeds.url(f"/f{n}.xml")) for n in range(5)],
        sink_url=None,
        first_run="alert_all",
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    async def two_passes() -> list[str]:
        async with Service(runtime) as service:
            service.sync_sources()
            first = await service.poll_all()
            assert [o.status for o in first] == ["ok"] * 5
            event.listen(runtime.db.engine, "before_cursor_execute", record)
            try:
                second = await service.poll_all()
            finally:
                event.remove(runtime.db.engine, "before_cursor_execute", record)
            assert [o.status for o in second] == ["not_modified"] * 5
        return statements

    try:
        written = [s for s in asyncio.run(two_passes()) if not s.startswith(("SELECT", "BEGIN"))]
        # Claims take leases (UPDATE sources ... lease_owner) and one batched UPDATE records
        # the five polls; nothing touches articles, matches or deliveries.
        assert written and all(s.startswith("UPDATE SOURCES") for s in written), written
        recorded = [s for s in written if "LAST_POLLED_AT" in s]
        assert recorded and all("ETAG" in s for s in recorded)
        assert len(recorded) == 1, "the five 304s are written in one statement"
        assert count(runtime, articles) == 5
    finally:
        runtime.store.close()


def test_a_feeds_new_articles_cost_one_insert_per_table(
    tmp_path: Path, database_url: str, feeds: FeedServer
) -> None:
    # 20 distinct entries, every one matching: 20 articles, 20 matches, 20 new stories and
    # 20 deliveries, each table written by one INSERT (SQLAlchemy's ordered RETURNING runs
    # one per row on SQLite).
    places = ["Tripoli", "Benghazi", "Sirte", "Misrata", "Tobruk"]
    entries = [
        (
            f"e{n}",
            f"Haftar's forces report {n} {places[n % 5]} moves, case {n * 7919}",
            f"<p>Item {n}: the LNA said {n * 31} units moved near {places[n % 5]} "
            f"on day {n}; observers counted {n * 13} vehicles and {n * 3} checkpoints.</p>",
        )
        for n in range(20)
    ]
    feeds.route("/f.xml", Reply(body=rss(entries)))
    config = write_config(
        tmp_path,
        database_url=database_url,
        sources=[("F", feeds.url("/f.xml"))],
        sink_url="http://127.0.0.1:9/hook",
        first_run="alert_all",
        stories="all",
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    inserts: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        if words and words[0].upper() == "INSERT":
            inserts.append(words[words.index("INTO") + 1].strip('"'))

    async def one_pass() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            event.listen(runtime.db.engine, "before_cursor_execute", record)
            try:
                outcomes = await service.poll_all()
            finally:
                event.remove(runtime.db.engine, "before_cursor_execute", record)
            assert [o.status for o in outcomes] == ["ok"]

    try:
        asyncio.run(one_pass())
        assert count(runtime, articles) == 20
        assert count(runtime, deliveries) == 20
        for table in ("articles", "matches", "stories", "story_signatures", "deliveries"):
            assert inserts.count(table) == 1, (table, inserts)
    finally:
        runtime.store.close()


def test_a_burst_larger_than_any_batch_is_polled_without_waiting_for_a_tick(
    tmp_path: Path, feeds: FeedServer
) -> None:
    n_sources = 60
    for n in range(n_sources):
        feeds.route(f"/f{n}.xml", Reply(body=rss([(f"q{n}", f"Quiet {n}", "<p>x</p>")])))
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/m.db",
        sources=[(f"F{n}", feeds.url(f"/f{n}.xml")) for n in range(n_sources)],
        sink_url=None,
        # A tick of an hour: only the due queue can poll them all now.
        extra={
            "poll": {
                "interval": "10m",
                "allow_private_networks": True,
                "tick": "1h",
                "concurrency": 2,
                "per_host": 2,
                "workers": 0,
            }
        },
    )
    # The clock stands still: every source is due at FIXED_NOW and not again for 10 minutes.
    runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: FIXED_NOW)
    runtime.db.prepare()

    async def run() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            task = asyncio.create_task(service.run_forever())
            try:
                await _until(lambda: len(feeds.requests) >= n_sources)
                await _until(lambda: count(runtime, articles) == n_sources)
            finally:
                service.stopping.set()
                await task

    try:
        asyncio.run(run())
        for n in range(n_sources):
            assert len(feeds.requests_for(f"/f{n}.xml")) == 1  # each once: planned 10 min on
        assert count(runtime, sources, sources.c.lease_owner.is_not(None)) == 0
    finally:
        runtime.store.close()


def test_a_source_whose_lease_ran_out_in_the_queue_is_claimed_again_not_polled_on_it(
    tmp_path: Path, feeds: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # An instance paused (SIGSTOP, a frozen VM) with sources claimed and queued resumed and
    # polled them though their lease had run out and another instance held them: two
    # instances fetched one feed at once. Now a worker that finds the lease gone leaves the
    # source to whoever claims it next (here this instance again, under a new lease).
    feeds.route("/slow.xml", Reply(body=rss([QUIET]), delay=1.5))
    feeds.route("/next.xml", Reply(body=rss([("n1", "Weather in Oslo", "<p>Rain.</p>")])))
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/m.db",
        sources=[("Slow", feeds.url("/slow.xml")), ("Next", feeds.url("/next.xml"))],
        sink_url=None,
        extra={
            "poll": {
                "interval": "10m",
                "allow_private_networks": True,
                "tick": "1h",
                "concurrency": 1,
                "per_host": 1,
                "workers": 0,
                "lease": "5m",
            }
        },
    )
    now = [FIXED_NOW]
    runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: now[0])
    runtime.db.prepare()

    async def run() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            task = asyncio.create_task(service.run_forever())
            try:
                # Both claimed at FIXED_NOW; the one worker is on the slow feed, the other
                # waits in the queue while the clock jumps past its lease.
                await _until(lambda: len(feeds.requests) >= 1)
                assert [r.path for r in feeds.requests] == ["/slow.xml"]
                now[0] = FIXED_NOW + timedelta(minutes=6)
                await _until(lambda: len(feeds.requests_for("/next.xml")) == 1)
                await _until(lambda: count(runtime, articles) == 2)
            finally:
                service.stopping.set()
                await task

    try:
        with caplog.at_level(logging.WARNING, logger="monitor"):
            asyncio.run(run())
        skipped = [r.getMessage() for r in caplog.records if "lease ran out" in r.getMessage()]
        assert len(skipped) == 1 and "/next.xml" in skipped[0], skipped
        assert len(feeds.requests_for("/next.xml")) == 1
        assert count(runtime, sources, sources.c.lease_owner.is_not(None)) == 0
    finally:
        runtime.store.close()


def test_a_queued_alert_leaves_without_waiting_for_the_delivery_tick(
    tmp_path: Path, database_url: str, feeds: FeedServer
) -> None:
    feeds.route("/f.xml", Reply(body=rss([QUIET])))
    with WebhookReceiver() as receiver:
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            extra={
                "poll": {"interval": "1m", "min_interval": "1s", "allow_private_networks": True},
                "delivery": {"tick": "1h"},
            },
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()

        async def run() -> float:
            async with Service(runtime) as service:
                service.sync_sources()
                task = asyncio.create_task(service.run_forever())
                try:
                    await _until(lambda: count(runtime, articles) == 1)  # first poll: backlog
                    feeds.route("/f.xml", Reply(body=rss([QUIET, HAFTAR])))
                    runtime.store.database.run_sync(
                        lambda c: c.execute(sources.update().values(next_poll_at=FIXED_NOW))
                    )
                    started = time.monotonic()
                    await _until(lambda: len(receiver.requests) == 1)
                    return time.monotonic() - started
                finally:
                    service.stopping.set()
                    await task

        try:
            waited = asyncio.run(run())
            assert count(runtime, deliveries, deliveries.c.status == "delivered") == 1
        finally:
            runtime.store.close()
        # The claimer looks again within poll.tick (1 s): no waiting for the hour-long tick.
        assert waited < 30


@pytest.mark.postgres
def test_an_alert_queued_by_one_instance_is_sent_at_once_by_another(
    tmp_path: Path, postgres_url: str, feeds: FeedServer
) -> None:
    feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
    with WebhookReceiver() as receiver:
        config = write_config(
            tmp_path,
            database_url=postgres_url,
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            extra={
                "poll": {"interval": "10m", "allow_private_networks": True, "workers": 0},
                "delivery": {"tick": "1h"},
            },
        )
        sender = Runtime.build(load_settings(config), need_sinks=True)
        poller = Runtime.build(load_settings(config), need_sinks=True)
        sender.db.prepare()

        async def run() -> None:
            async with Service(sender) as b, Service(poller) as a:
                a.sync_sources()
                # Not due: b's own due queue leaves it alone; `a.poll_all()` polls it anyway.
                poller.store.database.run_sync(
                    lambda c: c.execute(
                        sources.update().values(next_poll_at=datetime(2100, 1, 1, tzinfo=UTC))
                    )
                )
                task = asyncio.create_task(b.run_forever())
                try:
                    await asyncio.sleep(0.5)  # b is listening, its delivery pass is done
                    # a polls and queues the alert; it never runs its own outbox here.
                    (outcome,) = await a.poll_all()
                    assert outcome.deliveries == 1
                    await _until(lambda: len(receiver.requests) == 1, within=10)
                finally:
                    b.stopping.set()
                    await task

        try:
            asyncio.run(run())
        finally:
            sender.store.close()
            poller.store.close()


BIG_ENTRIES = 58


def _big_feed_runtime(tmp_path: Path, feeds: FeedServer) -> Runtime:
    """One source: an 8 MB feed (under the 10 MB cap) of 58 entries naming Haftar, which keeps
    a parsing worker busy for a while however fast the machine; one worker."""
    big = [
        (f"b{i}", f"Item {i} about Haftar", "<p>" + "word " * 26000 + "</p>")
        for i in range(BIG_ENTRIES)
    ]
    feeds.route("/big.xml", Reply(body=rss(big)))
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/m.db",
        sources=[("Big", feeds.url("/big.xml"))],
        sink_url=None,
        extra={"poll": {"interval": "10m", "allow_private_networks": True, "workers": 1}},
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    return runtime


def test_a_worker_that_dies_mid_parse_is_replaced_and_nothing_is_half_stored(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # The large feed keeps the worker busy long enough to kill it while it parses.
    runtime = _big_feed_runtime(tmp_path, feeds)
    killed: list[int] = []

    async def run() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            analyser = service._analyser
            assert analyser is not None
            # Start the worker and let it load the watchlists, so the first kill is mid-parse.
            await analyser.analyse(rss([QUIET]), feeds.url("/warm.xml"), None)
            (first,) = analyser.worker_pids()
            idle = _cpu_ticks(first)

            async def killer() -> None:
                # The first worker when it is busy parsing the big feed; then its replacement,
                # which is given the same feed again, as soon as it exists.
                while len(killed) < 2:
                    for pid in analyser.worker_pids():
                        if pid in killed or (pid == first and _cpu_ticks(pid) < idle + 2):
                            continue
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    await asyncio.sleep(0.005)

            kill = asyncio.create_task(killer())
            (outcome,) = await service.poll_all()
            kill.cancel()
            assert outcome.status == "error" and outcome.reason == "worker_died", outcome
            assert count(runtime, articles) == 0  # nothing half-stored
            (row,) = runtime.store.list_sources()
            assert row.last_error_reason == "worker_died" and row.consecutive_failures == 1
            # A later poll, on new workers, stores the feed.
            runtime.store.database.run_sync(
                lambda c: c.execute(sources.update().values(next_poll_at=FIXED_NOW))
            )
            (again,) = await service.poll_all()
            assert again.status == "ok" and again.new_articles == BIG_ENTRIES

    try:
        asyncio.run(run())
    finally:
        runtime.store.close()
    assert len(killed) == 2


def test_a_feed_past_the_analysis_deadline_fails_alone_and_the_workers_are_replaced(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # A parser that never returns (or a feed that takes far too long) must not hold a poll
    # worker forever: past the deadline the feed fails with parse_timeout, its worker is
    # killed, and the next poll runs on new workers. The deadline is shortened for the test.
    runtime = _big_feed_runtime(tmp_path, feeds)

    async def run() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            analyser = service._analyser
            assert analyser is not None
            await analyser.analyse(rss([QUIET]), feeds.url("/warm.xml"), None)
            (first,) = analyser.worker_pids()
            analyser.deadline = 0.02
            (outcome,) = await service.poll_all()
            assert outcome.status == "error" and outcome.reason == "parse_timeout", outcome
            assert "took more than 0.02 s (" in (outcome.error or "")
            assert count(runtime, articles) == 0
            for _ in range(200):
                if not _running(first):
                    break
                await asyncio.sleep(0.01)
            assert not _running(first), "the timed-out worker still runs"
            analyser.deadline = 120.0
            runtime.store.database.run_sync(
                lambda c: c.execute(sources.update().values(next_poll_at=FIXED_NOW))
            )
            (again,) = await service.poll_all()
            assert again.status == "ok" and again.new_articles == BIG_ENTRIES
            assert first not in analyser.worker_pids()

    try:
        asyncio.run(run())
    finally:
        runtime.store.close()


def test_feeds_waiting_behind_one_past_the_deadline_are_stored_none_lost(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # A hostile feed (feedparser slows down with the square of an item's categories) holds
    # the only worker past the deadline while six ordinary feeds wait for it. It fails
    # alone: the others are not cancelled with its workers (they were lost without a word,
    # each taking a poll worker with it) nor timed out by the wait.
    hostile = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>H</title><link>/</link>"
        "<description>d</description><item><guid>h</guid><title>Haftar</title>"
        + "".join(f"<category>c{n}</category>" for n in range(30000))
        + "</item></channel></rss>"
    ).encode()
    feeds.route("/hostile.xml", Reply(body=hostile))
    names = [f"ordinary{n}" for n in range(6)]
    for name in names:
        entry = (f"{name}-1", f"{name}: Haftar", "<p>x</p>")
        # Answered while the hostile feed is being parsed: they wait for the worker.
        feeds.route(f"/{name}.xml", Reply(body=rss([entry]), delay=0.3))
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/m.db",
        sources=[("Hostile", feeds.url("/hostile.xml"))]
        + [(name, feeds.url(f"/{name}.xml")) for name in names],
        sink_url=None,
        extra={
            "poll": {
                "interval": "10m",
                "allow_private_networks": True,
                "workers": 1,
                "per_host": 8,
            }
        },
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()

    async def run() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            analyser = service._analyser
            assert analyser is not None
            await analyser.analyse(rss([QUIET]), feeds.url("/warm.xml"), None)
            # The hostile feed takes far longer; the others 0.01 s, plus starting a new worker
            # after the hostile one is killed (over 1 s on a loaded machine).
            analyser.deadline = 4.0
            outcomes = {o.source: o for o in await service.poll_all()}
            assert outcomes["Hostile"].reason == "parse_timeout", outcomes["Hostile"]
            for name in names:
                assert outcomes[name].status == "ok", outcomes[name]
                assert outcomes[name].new_articles == 1
            assert len(outcomes) == 7
            polled = [row.last_polled_at is not None for row in runtime.store.list_sources()]
            assert all(polled)

    try:
        asyncio.run(run())
    finally:
        runtime.store.close()


def test_slow_publishers_on_many_hosts_do_not_hold_up_the_other_feeds(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # Twelve publishers that never send their headers (each on its own host, as per_host
    # 16 lets them be here) hold a fetch place each until fetch.total_timeout; an ordinary
    # feed claimed after them is polled meanwhile, with the default poll.concurrency. (With
    # 8 places it came only after the first eight timed out.)
    slow = [f"slow{n}" for n in range(12)]
    for name in slow:
        feeds.route(f"/{name}.xml", Reply(body=rss([QUIET]), delay=30))
    feeds.route("/ordinary.xml", Reply(body=rss([HAFTAR])))
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/m.db",
        sources=[(name, feeds.url(f"/{name}.xml")) for name in slow]
        + [("Ordinary", feeds.url("/ordinary.xml"))],
        sink_url=None,
        extra={
            "poll": {"interval": "10m", "allow_private_networks": True, "per_host": 16},
            "fetch": {"total_timeout": "4s"},
        },
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()

    async def run() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            outcomes = await service.poll_all()  # in the order they finished
            assert [o.source for o in outcomes][0] == "Ordinary", outcomes
            assert outcomes[0].status == "ok" and outcomes[0].new_articles == 1
            assert {o.reason for o in outcomes[1:]} == {"timeout"}, outcomes

    try:
        asyncio.run(run())
    finally:
        runtime.store.close()


def test_a_slow_publisher_with_many_feeds_holds_its_own_places_and_no_other_feeds(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # An outside probe: 600 feeds on three hosts that stopped answering took every worker
    # (each waited for a place of its host: poll.per_host) and polling of the 8,000 others
    # nearly stopped. Six feeds on one host that never answers (within the test), per_host
    # 1 and 3 workers: every feed of the other host is polled while the first hanging one
    # still waits for its answer, and the hanging host gets one request at a time.
    with FeedServer(host="127.0.0.2") as slow_host:
        slow = [f"slow{n}" for n in range(6)]
        for name in slow:
            slow_host.route(f"/{name}.xml", Reply(body=rss([QUIET]), delay=120))
        healthy = [f"ok{n}" for n in range(8)]
        for name in healthy:
            feeds.route(f"/{name}.xml", Reply(body=rss([QUIET])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[(name, slow_host.url(f"/{name}.xml")) for name in slow]
            + [(name, feeds.url(f"/{name}.xml")) for name in healthy],
            sink_url=None,
            extra={
                "poll": {
                    "interval": "10m",
                    "allow_private_networks": True,
                    "concurrency": 3,
                    "per_host": 1,
                    "workers": 0,
                },
                "fetch": {"total_timeout": "2m"},
            },
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()

        async def run() -> None:
            async with Service(runtime) as service:
                service.sync_sources()
                task = asyncio.create_task(service.run_forever())
                try:
                    # Before: the three workers waited on the slow host's one place, and
                    # no other feed was fetched until its polls timed out (2 minutes each).
                    await _until(lambda: count(runtime, articles) == len(healthy), within=60)
                    assert len(slow_host.requests) == 1
                finally:
                    service.stop_now.set()
                    service.stopping.set()
                    await task

        try:
            asyncio.run(run())
        finally:
            runtime.store.close()


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cpu_ticks(pid: int) -> int:
    """The user CPU time of a process in clock ticks (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11])


def test_poll_times_a_failing_database_refused_are_written_when_it_answers_again(
    tmp_path: Path, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch of poll records that the database refused (a restart, a failover, a lock) was
    # dropped: its sources stayed leased, unpolled, until their lease expired (5 minutes).
    # Now it is written again once the database answers, while the leases still hold.
    import sqlite3
    from datetime import timedelta

    from monitor.db import engine as engine_module
    from monitor.db.sources import PollRecord
    from monitor.poller import PollWriter

    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    database = tmp_path / "monitor.db"
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{database}",
        sources=[("Wire", feeds.url("/wire.xml"))],
        sink_url=None,
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    Service(runtime).sync_sources()
    source_id = runtime.db.run_sync(lambda c: c.execute(select(sources.c.id)).scalar_one())
    now = runtime.clock()
    planned = now + timedelta(hours=1)

    async def write_through_a_locked_database() -> None:
        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        writer = PollWriter(runtime)
        stopping = asyncio.Event()
        task = asyncio.create_task(writer.run(stopping))
        writer.add(PollRecord(source_id, polled_at=now, next_poll_at=planned, ok=True, status=304))
        await asyncio.sleep(0.5)  # its first write is refused: "database is locked"
        blocker.execute("COMMIT")
        blocker.close()
        recorded = sources.c.next_poll_at == planned
        await _until(lambda: count(runtime, sources, recorded) == 1, within=20)
        stopping.set()
        await task

    try:
        asyncio.run(write_through_a_locked_database())
    finally:
        runtime.store.close()


def test_readiness_fails_while_sources_cannot_be_claimed_and_returns_after(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # A full disk answers reads: /readyz said "ready" (its SELECT 1 worked) while no source
    # could be claimed for minutes. Readiness now follows the claims too.
    from sqlalchemy.exc import OperationalError

    feeds.route("/wire.xml", Reply(body=rss([QUIET])))
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/monitor.db",
        sources=[("Wire", feeds.url("/wire.xml"))],
        sink_url=None,
        extra={
            "poll": {"interval": "10m", "allow_private_networks": True, "tick": "1s", "workers": 0}
        },
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    full = [False]

    def refuse_claims(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if full[0] and "FROM sources" in statement and "next_poll_at <=" in statement:
            raise OperationalError(statement, None, Exception("database or disk is full"))

    event.listen(runtime.db.engine, "before_cursor_execute", refuse_claims)

    async def until_ready_is(wanted: bool, service: Service) -> None:
        deadline = time.monotonic() + 20
        while await service.ready() is not wanted:
            assert time.monotonic() < deadline, f"ready() never became {wanted}"
            await asyncio.sleep(0.2)

    async def run() -> None:
        async with Service(runtime) as service:
            service.sync_sources()
            task = asyncio.create_task(service.run_forever())
            try:
                await _until(lambda: len(feeds.requests) == 1)
                assert await service.ready()
                full[0] = True
                await until_ready_is(False, service)
                full[0] = False
                await until_ready_is(True, service)
            finally:
                service.stopping.set()
                await task

    try:
        asyncio.run(run())
    finally:
        runtime.store.close()


def test_a_delivery_pass_the_database_refuses_logs_one_line_naming_the_sink(
    tmp_path: Path, feeds: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A locked or full database made every pass of every sink log a 60-line traceback, one a
    # second, and the pass for the sinks not configured was "sink None".
    from sqlalchemy.exc import OperationalError

    with WebhookReceiver() as receiver:
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            extra={
                "poll": {"interval": "1h", "allow_private_networks": True, "workers": 0},
                "delivery": {"tick": "0.2s"},
            },
        )
        feeds.route("/wire.xml", Reply(body=rss([QUIET])))
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()

        def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "FROM deliveries" in statement or "FROM sources" in statement:
                raise OperationalError(statement, None, Exception("database is locked"))

        async def run() -> None:
            async with Service(runtime) as service:
                service.sync_sources()
                event.listen(runtime.db.engine, "before_cursor_execute", refuse)
                task = asyncio.create_task(service.run_forever())
                try:
                    await asyncio.sleep(2.0)
                    event.remove(runtime.db.engine, "before_cursor_execute", refuse)
                    await asyncio.sleep(2.5)  # claims are tried again 1, 2, 4 s apart
                finally:
                    service.stopping.set()
                    await task

        try:
            with caplog.at_level(logging.INFO, logger="monitor"):
                asyncio.run(run())
        finally:
            runtime.store.close()
    passes = [r for r in caplog.records if r.getMessage().startswith("delivery pass for")]
    assert passes, [r.getMessage() for r in caplog.records]
    failed = [r for r in passes if "failed" in r.getMessage()]
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in failed)
    shown = {r.getMessage() for r in failed}
    assert any("for sink 'ops' failed: database is locked" in m for m in shown), shown
    assert any("for the alerts of sinks not in the config failed" in m for m in shown), shown
    # About ten failed passes per sink in 2 s: said at the 1st, 2nd, 4th and 8th, not each.
    of_ops = [m for m in (r.getMessage() for r in failed) if "sink 'ops'" in m]
    assert 2 <= len(of_ops) <= 4 and "(2 in a row)" in of_ops[1], of_ops
    again = [r.getMessage() for r in passes if "works again after" in r.getMessage()]
    assert any("sink 'ops' works again" in m for m in again), again
    # Claiming due sources: one line without a traceback (it had one at the first failure).
    claims = [r for r in caplog.records if r.getMessage().startswith("could not claim due")]
    assert claims and not any(r.exc_info for r in claims), [r.getMessage() for r in claims]
    # Each names the database it could not use (the path of its SQLite file).
    assert all(f"({tmp_path}/monitor.db)" in m for m in shown), shown
    assert any("claiming due sources works again" in r.getMessage() for r in caplog.records)


def test_readiness_says_why_a_database_that_does_not_answer_is_not_ready(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The log said "readiness check failed: " and nothing more when the check timed out.
    import sqlite3

    config = write_config(
        tmp_path, database_url=f"sqlite:///{tmp_path}/monitor.db", sources=[], sink_url=None
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    holder = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)

    async def run() -> bool:
        async with Service(runtime) as service:
            holder.execute("BEGIN IMMEDIATE")  # another process's write, for longer
            try:
                return await service.ready()
            finally:
                holder.execute("ROLLBACK")

    try:
        with caplog.at_level(logging.WARNING, logger="monitor.service"):
            assert asyncio.run(run()) is False
    finally:
        holder.close()
        runtime.db.close()
    assert "readiness check failed: the database did not answer within 5 s" in caplog.text
