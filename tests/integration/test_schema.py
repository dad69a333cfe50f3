"""The alembic migrations build exactly the tables the code uses, on SQLite and PostgreSQL,
and what real feeds send (long URLs, long validators) fits in them."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, column, select, table

from monitor.db.engine import SCHEMA_REVISION, Database, current_revision, head_revision, upgrade
from monitor.db.schema import articles, metadata, sources
from monitor.parse import parse_feed
from monitor.runtime import Runtime
from monitor.service import Service, run_once
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

AT_0001 = {
    "id", "url", "name", "enabled", "interval_seconds", "first_run", "first_run_window_seconds",
    "next_poll_at", "consecutive_failures", "entries_seen", "articles_stored", "first_polled_at",
    "created_at",
}  # fmt: skip


def test_start_up_knows_the_newest_migration() -> None:
    # prepare() checks the schema against SCHEMA_REVISION without loading alembic.
    assert SCHEMA_REVISION == head_revision()


@pytest.mark.postgres
def test_migrations_match_the_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.prepare()
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
        assert differences == []
    finally:
        db.close()


@pytest.mark.postgres
def test_long_urls_and_validators_are_stored(tmp_path: Path, database_url: str) -> None:
    long_path = "a" * 3000
    entry = (f"x/{long_path}", "Haftar in Tripoli", "<p>Haftar spoke in Tripoli.</p>")
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([entry]), headers={"ETag": '"' + "e" * 3000 + '"'}))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            assert poll.status == "ok" and poll.new_articles == 1
            url = runtime.db.run_sync(
                lambda c: c.execute(select(articles.c.canonical_url)).scalar_one()
            )
            assert url is not None and long_path in url
        finally:
            runtime.db.close()


def prepare_when_released(url: str, barrier: Barrier, results: Queue[str]) -> None:
    """One instance starting: everything slow done first, then ``prepare`` at the barrier."""
    import alembic.command  # noqa: F401 - loaded before the start, as the race needs

    db = Database(url)
    try:
        assert current_revision(db.engine) is None  # connected, and the schema is empty
        barrier.wait(timeout=60)
        db.prepare()
        results.put("ok")
    except BaseException as error:  # noqa: BLE001 - reported to the test
        results.put(f"{type(error).__name__}: {error}")
    finally:
        db.close()


@pytest.mark.postgres
def test_instances_starting_together_on_a_new_database_all_start(postgres_url: str) -> None:
    # Each instance saw an empty schema and created it: all but one then failed on a
    # duplicate alembic_version key or table. Four processes are released at once.
    count = 4
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    results: Queue[str] = context.Queue()
    processes = [
        context.Process(target=prepare_when_released, args=(postgres_url, barrier, results))
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
    assert outcomes == ["ok"] * count
    db = Database(postgres_url)
    try:
        assert current_revision(db.engine) == head_revision()
        versions = db.run_sync(
            lambda c: c.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar()
        )
        assert versions == 1
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        db.close()


@pytest.mark.postgres
def test_a_database_at_0001_upgrades_and_still_knows_its_articles(
    tmp_path: Path, database_url: str
) -> None:
    # An article stored 200 days ago by 0001, whose entry the feed still shows; after the
    # upgrade, retention deletes the article (90 days), and neither the entry nor the same
    # story under a new guid (same link and text) is stored or alerted again.
    haftar = ("advance-1", "Haftar moves on Tripoli", "<p>Haftar's forces near Tripoli.</p>")
    link = "https://example.org/news/advance-1"
    fetched = datetime.now(UTC) - timedelta(days=200)
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        url = feeds.url("/wire.xml")
        (entry,) = parse_feed(rss([haftar], links=[link]), url).entries
        db = Database(database_url)
        try:
            assert upgrade(db.engine, "0001") == (None, "0001")

            # The sources table as 0001 made it: later revisions added columns.
            sources_0001 = table(
                "sources", *(column(c.name, c.type) for c in sources.c if c.name in AT_0001)
            )

            def write_as_0001(conn: Connection) -> None:
                source_id = conn.execute(
                    sources_0001.insert().returning(sources_0001.c.id),
                    {
                        "url": url,
                        "name": "Wire",
                        "enabled": True,
                        "interval_seconds": 600,
                        "first_run": "alert_all",
                        "first_run_window_seconds": 86400,
                        "next_poll_at": fetched,
                        "consecutive_failures": 0,
                        "entries_seen": 1,
                        "articles_stored": 1,
                        "first_polled_at": fetched,
                        "created_at": fetched,
                    },
                ).scalar_one()
                conn.execute(
                    articles.insert(),
                    {
                        "source_id": source_id,
                        "entry_key": entry.key,
                        "canonical_url": entry.url,
                        "title": entry.title,
                        "summary": entry.summary,
                        "content": entry.content,
                        "published_at": entry.published,
                        "fetched_at": fetched,
                        "content_hash": entry.content_hash,
                    },
                )

            db.run_sync(write_as_0001)
            assert upgrade(db.engine) == ("0001", SCHEMA_REVISION)
        finally:
            db.close()

        renamed = ("advance-1-v2", *haftar[1:])
        feeds.route("/wire.xml", Reply(body=rss([haftar, renamed], links=[link, link])))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", url)],
            sink_url=receiver.url,
            first_run="alert_all",
            extra={"retention": "90d"},
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()
        try:
            assert asyncio.run(Service(runtime).prune()).articles == 1
            (poll,), sent = asyncio.run(run_once(runtime))
            assert poll.status == "ok" and poll.new_articles == 0 and poll.repeats == 1
            assert sent == [] and receiver.requests == []
        finally:
            runtime.db.close()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("made", "said"),
    [
        (
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
            "another program's tables (users)",
        ),
        (
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL); "
            "INSERT INTO alembic_version VALUES ('ae1027a6acf')",
            "alembic_version holds revision ae1027a6acf, not one of news-monitor's",
        ),
    ],
)
def test_another_programs_database_is_refused_and_left_alone(
    database_url: str, made: str, said: str
) -> None:
    # An outside probe (probe89): "revision unknown ... run `monitor db upgrade`", which then
    # installed 14 tables among another program's; another program's alembic revision was
    # "written by a newer news-monitor?".
    from sqlalchemy import inspect, text

    from monitor.errors import DatabaseError

    database = Database(database_url)
    try:
        with database.engine.begin() as connection:
            for statement in made.split("; "):
                connection.execute(text(statement))
        for attempt in (database.prepare, lambda: upgrade(database.engine)):
            with pytest.raises(DatabaseError) as refused:
                attempt()
            assert said in str(refused.value) and "search_path" in str(refused.value)
        with database.engine.connect() as connection:
            assert "sources" not in inspect(connection).get_table_names()
    finally:
        database.close()


@pytest.mark.postgres
def test_a_statement_timeout_is_named_not_the_url(postgres_url: str) -> None:
    # An outside probe (probe89): a DBA's statement_timeout got "check that the server runs
    # and that database_url names it, with the right user and password".
    from sqlalchemy.engine import make_url

    from monitor.errors import DatabaseError

    url = make_url(postgres_url)
    options = f"{url.query['options']} -cstatement_timeout=1"
    database = Database(url.update_query_dict({"options": options}).render_as_string(False))
    try:
        with pytest.raises(DatabaseError) as refused:
            for _ in range(20):  # one statement in a few outlasts a millisecond
                database.prepare()
                upgrade(database.engine)
    finally:
        database.close()
    assert "statement_timeout" in str(refused.value)
    assert "password" not in str(refused.value)


def test_a_database_at_the_current_revision_missing_a_table_is_refused(
    database_url: str,
) -> None:
    # An outside probe (probe89) dropped story_alerts: every poll failed "no such table",
    # alerts were queued and never sent, and `db upgrade` said "already at revision".
    from sqlalchemy import text

    from monitor.errors import DatabaseError

    database = Database(database_url)
    try:
        database.prepare()
        with database.engine.begin() as connection:
            connection.execute(text("DROP TABLE story_alerts"))
        with pytest.raises(DatabaseError) as refused:
            database.prepare()
        assert "lacks its tables story_alerts" in str(refused.value)
    finally:
        database.close()
