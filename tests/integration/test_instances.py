"""Several instances on one database split the work: each due source and each delivery is
claimed by one instance only (leases; FOR UPDATE SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select

from monitor.db.engine import LOCK_SUFFIX, instance_lock
from monitor.db.schema import articles, deliveries
from monitor.db.sources import SourceSpec, sync_sources
from monitor.db.store import Store
from monitor.errors import DatabaseError
from monitor.runtime import Runtime
from monitor.service import Service
from monitor.settings import load_settings
from tests.cli.test_check_command import monitor
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver


def entries(n: int) -> list[tuple[str, str, str]]:
    return [(f"s{n}-{i}", f"Haftar visits Benghazi ({n}/{i})", "<p>Talks.</p>") for i in range(2)]


async def two_instances(config: Path) -> tuple[list[int], list[int]]:
    runtimes = [Runtime.build(load_settings(config), need_sinks=True) for _ in range(2)]
    runtimes[0].db.prepare()
    try:
        async with Service(runtimes[0]) as a, Service(runtimes[1]) as b:
            a.sync_sources()
            polls = await asyncio.gather(a.poll_all(), b.poll_all())
            sent = await asyncio.gather(a.deliver(), b.deliver())
        return [len(p) for p in polls], [len(s) for s in sent]
    finally:
        for runtime in runtimes:
            runtime.db.close()


@pytest.mark.postgres
def test_two_instances_split_sources_and_deliveries(tmp_path: Path, database_url: str) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        for n in range(8):
            feeds.route(f"/f{n}.xml", Reply(body=rss(entries(n)), delay=0.05))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[(f"Feed {n}", feeds.url(f"/f{n}.xml")) for n in range(8)],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",  # the feeds' entries are alike: one alert per article is counted
            extra={"poll": {"interval": "10m", "allow_private_networks": True, "concurrency": 2}},
        )
        polled, sent = asyncio.run(two_instances(config))
        assert sum(polled) == 8
        for n in range(8):
            assert len(feeds.requests_for(f"/f{n}.xml")) == 1
        assert sum(sent) == 16
        ids = [r.headers["webhook-id"] for r in receiver.requests]
        assert len(ids) == len(set(ids)) == 16

        runtime = Runtime.build(load_settings(config), need_sinks=False)
        try:
            stored = runtime.db.run_sync(
                lambda c: c.execute(select(func.count()).select_from(articles)).scalar_one()
            )
            done = runtime.db.run_sync(
                lambda c: c.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == "delivered")
                ).scalar_one()
            )
        finally:
            runtime.db.close()
        assert (stored, done) == (16, 16)


def test_second_instance_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, database_url=f"sqlite:///{tmp_path}/m.db", sources=[], sink_url=None
    )
    first = Runtime.build(load_settings(config), need_sinks=False)
    second = Runtime.build(load_settings(config), need_sinks=False)
    try:
        with instance_lock(first.db.engine):
            with pytest.raises(DatabaseError, match="another monitor instance"):
                with instance_lock(second.db.engine):
                    pass
        with instance_lock(second.db.engine):  # free again once the first is gone
            pass
    finally:
        first.db.close()
        second.db.close()


def test_a_database_named_like_a_lock_file_survives_runs(tmp_path: Path) -> None:
    # The lock was once the database path with its suffix replaced by .lock: for x.lock that
    # is the database itself, which the second run found truncated to a process id.
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss(entries(1))))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/x.lock",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        for run in range(2):
            result = monitor("once", "--config", str(config))
            assert result.returncode == 0, result.stderr
            assert ("2 new" if run == 0 else "0 new") in result.stdout, result.stdout
    with sqlite3.connect(tmp_path / "x.lock") as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (2,)


def test_databases_differing_only_in_suffix_have_separate_locks(tmp_path: Path) -> None:
    # a.db and a.sqlite once shared the lock a.lock, so each refused the other's instance.
    stores = [Store(f"sqlite:///{tmp_path}/a.db"), Store(f"sqlite:///{tmp_path}/a.sqlite")]
    try:
        with stores[0].instance_lock(), stores[1].instance_lock():
            locks = sorted(p.name for p in tmp_path.iterdir())
        assert locks == [f"a.db{LOCK_SUFFIX}", f"a.sqlite{LOCK_SUFFIX}"]
    finally:
        for store in stores:
            store.close()


def test_a_database_named_like_a_lock_is_refused(tmp_path: Path) -> None:
    # The lock of a.db is a.db.monitor-lock: a database of that name would be overwritten.
    with pytest.raises(DatabaseError, match=f"ends in {LOCK_SUFFIX}") as caught:
        Store(f"sqlite:///{tmp_path}/a.db{LOCK_SUFFIX}")
    assert str(tmp_path) in str(caught.value)


@pytest.mark.postgres
@pytest.mark.postgres
def test_the_postgresql_instances_lock_is_shared_and_belongs_to_one_schema(
    postgres_url: str,
) -> None:
    # Every run and once holds it shared; `db upgrade` takes it alone. Advisory locks are
    # the whole database's: an installation in another schema must not be held up by it.
    from sqlalchemy.engine import make_url

    from monitor.db.engine import open_engine, pg_instance_lock

    url = make_url(postgres_url)
    schema = url.query["options"]
    elsewhere = open_engine(
        url.update_query_dict({"options": "-csearch_path=public"}).render_as_string(
            hide_password=False
        )
    )
    engine = open_engine(postgres_url)
    try:
        with instance_lock(engine), instance_lock(engine):  # two instances at once
            with pg_instance_lock(engine, exclusive=True) as taken:
                assert not taken, f"an upgrade of {schema} while instances run"
            with pg_instance_lock(elsewhere, exclusive=True) as taken:
                assert taken  # another schema's upgrade is not held up
        with pg_instance_lock(engine, exclusive=True) as taken:
            assert taken  # both let go of it
            with pytest.raises(DatabaseError, match="is being upgraded"):
                with instance_lock(engine):
                    pass
    finally:
        engine.dispose()
        elsewhere.dispose()


def test_instances_starting_together_add_the_same_sources_once(postgres_url: str) -> None:
    specs = [
        SourceSpec(
            f"F{n}",
            f"https://example.org/{n}.xml",
            timedelta(minutes=10),
            True,
            "store_only",
            timedelta(hours=24),
        )  # fmt: skip
        for n in range(200)
    ]
    first, second = Store(postgres_url), Store(postgres_url)
    first.prepare()
    errors: list[BaseException] = []

    def sync_second() -> None:
        try:
            second.start_instance(specs, datetime.now(UTC))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def blocked_on_a_lock() -> bool:
        return bool(
            first.database.read_sync(
                lambda c: c.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                ).scalar()
            )
        )

    def sync_first_while_second_starts(conn: Connection) -> None:
        # The first instance has inserted but not committed; the second reads no sources,
        # inserts the same ones and waits for this transaction.
        sync_sources(conn, specs, datetime.now(UTC))
        thread.start()
        deadline = time.monotonic() + 30
        while not blocked_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.02)

    thread = threading.Thread(target=sync_second)
    try:
        first.database.run_sync(sync_first_while_second_starts)
        thread.join(60)
        assert errors == []
        assert len(first.list_sources()) == 200
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_two_once_runs_at_once_each_account_for_every_source(
    tmp_path: Path, postgres_url: str
) -> None:
    # Each `monitor once` report names every enabled source: polled by it, or held or
    # polled by the other instance. Sources polled by the other had been left out.
    from monitor.service import SKIPPED_BUSY, run_once_report

    with FeedServer() as feeds:
        for n in range(70):
            feeds.route(f"/f{n}.xml", Reply(body=rss(entries(n)), delay=0.05))
        config = write_config(
            tmp_path,
            database_url=postgres_url,
            sources=[(f"Feed {n}", feeds.url(f"/f{n}.xml")) for n in range(70)],
            sink_url=None,
            # 70 sources: more than one claim takes (64), so both instances poll some.
            extra={"poll": {"interval": "10m", "allow_private_networks": True}},
        )
        runtimes = [Runtime.build(load_settings(config), need_sinks=True) for _ in range(2)]
        runtimes[0].db.prepare()
        try:

            async def both() -> list[object]:
                return list(await asyncio.gather(*(run_once_report(r) for r in runtimes)))

            reports = asyncio.run(both())
        finally:
            for runtime in runtimes:
                runtime.db.close()
    # Each source polled once in all (one instance may have claimed them all).
    assert sum(len(report.polls) for report in reports) == 70  # type: ignore[attr-defined]
    for report in reports:
        named = {p.source for p in report.polls} | {s.source for s in report.skipped}  # type: ignore[attr-defined]
        assert named == {f"Feed {n}" for n in range(70)}
        assert {s.why for s in report.skipped} <= {SKIPPED_BUSY}  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_an_instance_whose_config_lists_fewer_sources_warns_that_it_stops_the_others_polls(
    postgres_url: str, tmp_path: Path
) -> None:
    # Instances with different source lists on one database disable each other's sources at
    # each start and reload, and nothing said so (an outside probe): the one that disables
    # names them and, another instance running, says what it does to it.
    from sqlalchemy import create_engine

    from monitor.db.schema import sources
    from tests.integration.test_service_signals import running

    both = [("One", "http://127.0.0.1:9/one.xml"), ("Two", "http://127.0.0.1:9/two.xml")]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config_a = write_config(tmp_path / "a", database_url=postgres_url, sources=both, sink_url=None)
    config_b = write_config(
        tmp_path / "b", database_url=postgres_url, sources=both[:1], sink_url=None
    )
    engine = create_engine(postgres_url)
    try:
        with running(config_a):
            _wait_until_registered(engine)
            once = monitor("once", "--config", str(config_b))
        assert "1 source not in the config is now disabled (their articles stay): 'Two'" in (
            once.stderr
        ), once.stderr
        assert "give every instance the same sources" in once.stderr, once.stderr
        with engine.connect() as conn:
            enabled = dict(conn.execute(select(sources.c.name, sources.c.enabled)).all())
        assert enabled == {"One": True, "Two": False}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_once_beside_a_running_instance_counts_the_alerts_it_sends(
    postgres_url: str, tmp_path: Path
) -> None:
    # An outside probe: `monitor once` beside `monitor run` on PostgreSQL said "0 delivered,
    # 2 retrying" and exited 4 (a failure, for cron) while the running instance, woken by the
    # alerts `once` queued, was sending them; later runs said "0 delivered" of alerts it
    # queued and the other instance delivered. Both are counted as such now, and exit 0.
    from sqlalchemy import create_engine

    from tests.integration.test_service_signals import running

    with FeedServer() as feeds, WebhookReceiver(default=Reply(delay=2.0)) as receiver:
        feeds.route("/f.xml", Reply(body=rss(entries(1)[:0])))
        config = write_config(
            tmp_path,
            database_url=postgres_url,
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
        )
        engine = create_engine(postgres_url)
        try:
            with running(config):
                _wait_until_registered(engine)
                # the running instance has polled the empty feed and let the source go: the
                # entries are for `once` (a source another instance holds is not polled)
                _wait_until_polled_and_released(engine)
                feeds.route("/f.xml", Reply(body=rss(entries(2))))
                once = monitor("once", "--config", str(config))
                deadline = time.monotonic() + 30
                while len(receiver.requests) < 2 and time.monotonic() < deadline:
                    time.sleep(0.1)
        finally:
            engine.dispose()
    assert once.returncode == 0, once.stdout + once.stderr
    summary = once.stdout.splitlines()[-1]
    assert summary.startswith("alerts: ") and " 0 retrying" in summary, summary
    assert "being sent by another instance" in summary or (
        "delivered by another instance meanwhile" in summary
    ), once.stdout + once.stderr
    assert len(receiver.requests) == 2


def _wait_until_polled_and_released(engine: Engine) -> None:
    """Until every source of the database of ``engine`` was polled and no lease holds it."""
    from monitor.db.schema import sources

    deadline = time.monotonic() + 60
    while True:
        with engine.connect() as conn:
            waiting = conn.execute(
                select(func.count())
                .select_from(sources)
                .where((sources.c.last_polled_at.is_(None)) | sources.c.lease_owner.is_not(None))
            ).scalar()
        if not waiting:
            return
        assert time.monotonic() < deadline, "the running instance did not poll its source"
        time.sleep(0.1)


def _wait_until_registered(engine: Engine) -> None:
    """Until a `monitor run` on the database of ``engine`` has registered its instance."""
    from sqlalchemy import inspect

    from monitor.db.schema import instances

    deadline = time.monotonic() + 60
    while True:
        with engine.connect() as conn:
            if (
                inspect(conn).has_table("instances")
                and conn.execute(select(func.count()).select_from(instances)).scalar()
            ):
                return
        assert time.monotonic() < deadline, "the instance did not register"
        time.sleep(0.2)
