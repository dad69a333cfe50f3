"""Migration 0007 repairs databases made by versions that ran an older text of an edited
migration (0001 at 277d462, 0003 at 971fa33, 0004 at f10fb57): each is built here as the
newest schema less what that version lacked, with rows in it, and upgraded. A database that
already matches is left as it is."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, event, inspect, select

from monitor.db.engine import SCHEMA_REVISION, Database, upgrade
from monitor.db.schema import articles, deliveries, instances, matches, metadata, sources
from monitor.db.store import Store
from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.cli.test_check_command import monitor
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DELIVERY = "d0000000-0000-4000-8000-000000000001"
OWNER = "old-host:4242:abcd"
# What each old version's migration lacked (the current 0001, 0003, 0004 create it).
ALERT_COLUMNS = ("update_of", "changes", "digest_id")  # deliveries, 0004 at f10fb57
ALERT_TABLES = ("digest_items", "digests", "story_alerts")  # 0004 at f10fb57
RELOAD_COLUMNS = ("reload_failed_at", "reload_error")  # instances, 0003 at 971fa33
BOUNDED = (  # PostgreSQL, 0001 at 277d462
    ("articles", "canonical_url", 2048),
    ("sources", "etag", 1024),
    ("sources", "last_modified", 256),
    ("sources", "final_url", 2048),
)
KEPT = ("sources", "articles", "matches", "deliveries", "instances")


def _write_rows(conn: Connection) -> None:
    """A source, an article, its match, a pending delivery due now, a stopped instance."""
    source_id = conn.execute(
        sources.insert().returning(sources.c.id),
        {
            "url": "https://example.org/wire.xml",
            "name": "Wire",
            "enabled": True,
            "interval_seconds": 600,
            "first_run": "alert_all",
            "first_run_window_seconds": 86400,
            "next_poll_at": T0,
            "etag": '"abc"',
            "last_modified": "Tue, 01 Dec 2026 08:00:00 GMT",
            "final_url": "https://example.org/wire.xml",
            "consecutive_failures": 0,
            "entries_seen": 1,
            "articles_stored": 1,
            "interval_pinned": False,
            "created_at": T0,
        },
    ).scalar_one()
    article_id = conn.execute(
        articles.insert().returning(articles.c.id),
        {
            "source_id": source_id,
            "entry_key": "guid:advance-1",
            "canonical_url": "https://example.org/news/advance-1",
            "title": "Haftar moves on Tripoli",
            "summary": "Haftar's forces near Tripoli.",
            "content": "",
            "fetched_at": T0,
            "content_hash": "0" * 64,
        },
    ).scalar_one()
    match_id = conn.execute(
        matches.insert().returning(matches.c.id),
        {
            "article_id": article_id,
            "watchlist": "libya",
            "entities": ["Khalifa Haftar"],
            "detail": {"entities": ["Khalifa Haftar"]},
            "created_at": T0,
        },
    ).scalar_one()
    conn.execute(
        deliveries.insert(),
        {
            "id": DELIVERY,
            "match_id": match_id,
            "sink": "ops",
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": T0,
            "created_at": T0,
        },
    )
    conn.execute(
        instances.insert(),
        {
            "owner": OWNER,
            "hostname": "old-host",
            "pid": 4242,
            "version": "0.9",
            "config_generation": 1,
            "started_at": T0,
            "heartbeat_at": T0,
            "stopped_at": T0 + timedelta(hours=1),
        },
    )


def _rows(engine: Engine, tables: Iterable[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Each table's columns and its rows (as text, in order), to compare across an upgrade."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    with engine.connect() as conn:
        for name in tables:
            columns = [c["name"] for c in inspect(conn).get_columns(name)]
            result = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {name}")  # noqa: S608
            found[name] = (columns, sorted(repr(tuple(row)) for row in result))
    return found


def _same_rows(engine: Engine, before: dict[str, tuple[list[str], list[str]]]) -> None:
    with engine.connect() as conn:
        for name, (columns, rows) in before.items():
            result = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {name}")  # noqa: S608
            assert sorted(repr(tuple(row)) for row in result) == rows, name
            assert rows, name  # each table kept had a row to keep


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def _drifted(url: str, drift: Callable[[Connection], None]) -> Database:
    """A database at 0006 with the rows of `_write_rows`, then changed by ``drift``."""
    db = Database(url)
    assert upgrade(db.engine, "0006") == (None, "0006")
    db.run_sync(_write_rows)
    with db.engine.begin() as conn:
        drift(conn)
    assert _differences(db.engine) != []  # the drift is there to repair
    return db


@pytest.mark.postgres
def test_a_database_from_f10fb57_gets_the_alert_columns_and_tables(database_url: str) -> None:
    # 0004 at f10fb57 made neither the three deliveries columns nor the three tables: after
    # upgrading to 0006 every delivery query failed on deliveries.update_of.
    def drift(conn: Connection) -> None:
        for name in ALERT_TABLES:
            conn.exec_driver_sql(f"DROP TABLE {name}")
        for name in ALERT_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE deliveries DROP COLUMN {name}")

    db = _drifted(database_url, drift)
    try:
        before = _rows(db.engine, KEPT)
        assert upgrade(db.engine) == ("0006", SCHEMA_REVISION)
        assert _differences(db.engine) == []
        _same_rows(db.engine, before)
    finally:
        db.close()
    store = Store(database_url)
    store.prepare()
    try:
        (listed,) = store.list_deliveries(status="pending")
        assert (listed.id, listed.watchlist, listed.waits_for) == (DELIVERY, "libya", None)
        due = asyncio.run(
            store.claim_deliveries(
                owner="new", now=T0 + timedelta(minutes=1), lease=timedelta(minutes=5), limit=10
            )
        )
        assert [d.id for d in due] == [DELIVERY]
    finally:
        store.close()


@pytest.mark.postgres
def test_a_database_from_971fa33_gets_the_reload_columns(tmp_path: Path, database_url: str) -> None:
    # 0003 at 971fa33 made instances without reload_failed_at and reload_error: `monitor
    # status` and `monitor reload` failed on them after the upgrade.
    def drift(conn: Connection) -> None:
        for name in RELOAD_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE instances DROP COLUMN {name}")

    db = _drifted(database_url, drift)
    try:
        before = _rows(db.engine, KEPT)
        assert upgrade(db.engine) == ("0006", SCHEMA_REVISION)
        assert _differences(db.engine) == []
        _same_rows(db.engine, before)
    finally:
        db.close()
    config = write_config(
        tmp_path,
        database_url=database_url,
        sources=[("Wire", "https://example.org/wire.xml")],
        sink_url=None,
    )
    status = monitor("status", "--json", "--config", str(config), cwd=tmp_path)
    assert "Traceback" not in status.stdout + status.stderr, status.stderr
    document = json.loads(status.stdout)
    (instance,) = document["service"]["instances"]
    assert (instance["owner"], instance["state"]) == (OWNER, "stopped")
    store = Store(database_url)
    try:
        failed_at = datetime.now(UTC)
        asyncio.run(store.instance_reload_failed(OWNER, "bad config", failed_at))
        (row,) = store.list_instances()
        assert (row.reload_failed_at, row.reload_error) == (failed_at, "bad config")
    finally:
        store.close()


@pytest.mark.postgres
def test_a_postgresql_database_from_277d462_gets_unbounded_urls(
    tmp_path: Path, postgres_url: str
) -> None:
    # 0001 at 277d462 made URLs and validators varchar(N) (SQLite ignores the length): a
    # link over 2,048 characters then failed its whole feed on every poll.
    def drift(conn: Connection) -> None:
        for table, column, length in BOUNDED:
            conn.exec_driver_sql(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({length})"
            )

    db = _drifted(postgres_url, drift)
    try:
        before = _rows(db.engine, KEPT)
        assert upgrade(db.engine) == ("0006", SCHEMA_REVISION)
        assert _differences(db.engine) == []
        _same_rows(db.engine, before)
        with db.engine.connect() as conn:
            kinds = {
                (table, c["name"]): str(c["type"])
                for table in ("articles", "sources")
                for c in inspect(conn).get_columns(table)
            }
        assert {kinds[table, column] for table, column, _ in BOUNDED} == {"TEXT"}
        assert kinds["sources", "url"] == "VARCHAR(2048)"  # only varchar -> text is changed
    finally:
        db.close()
    long_path = "a" * 3000
    entry = (f"x/{long_path}", "Haftar in Tripoli", "<p>Haftar spoke in Tripoli.</p>")
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([entry]), headers={"ETag": '"' + "e" * 3000 + '"'}))
        config = write_config(
            tmp_path,
            database_url=postgres_url,
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()
        try:
            (poll,), _ = asyncio.run(run_once(runtime))
            assert poll.status == "ok" and poll.new_articles == 1
            urls = runtime.db.run_sync(
                lambda c: c.execute(select(articles.c.canonical_url)).scalars().all()
            )
            assert any(long_path in (url or "") for url in urls)
        finally:
            runtime.db.close()


def _schema(engine: Engine) -> dict[str, object]:
    """Every table's columns (name, type, nullability, default), indexes, keys."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        return {
            name: (
                [
                    (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                    for c in inspector.get_columns(name)
                ],
                sorted(repr(ix) for ix in inspector.get_indexes(name)),
                sorted(repr(fk) for fk in inspector.get_foreign_keys(name)),
                sorted(repr(uq) for uq in inspector.get_unique_constraints(name)),
                repr(inspector.get_pk_constraint(name)),
            )
            for name in sorted(inspector.get_table_names())
            if name != "alembic_version"
        }


@pytest.mark.postgres
def test_0007_on_a_database_that_matches_only_reads(database_url: str) -> None:
    # The common case: a database every migration made as it is now. 0007 writes nothing
    # but its revision, and every row stays.
    db = Database(database_url)
    try:
        assert upgrade(db.engine, "0006") == (None, "0006")
        db.run_sync(_write_rows)
        schema = _schema(db.engine)
        rows = _rows(db.engine, sorted(t for t in schema if t in KEPT))
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert upgrade(db.engine, "0007") == ("0006", "0007")
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        words = {s.split()[0].upper() for s in statements}
        # SHOW and SET: the session's lock_timeout, lifted while the schema lock is waited for.
        allowed = {"SELECT", "UPDATE", "PRAGMA", "WITH", "BEGIN", "SHOW", "SET"}
        assert words <= allowed, statements
        assert [s for s in statements if s.split()[0].upper() == "UPDATE"] == [
            "UPDATE alembic_version SET version_num='0007' "
            "WHERE alembic_version.version_num = '0006'"
        ]
        assert _schema(db.engine) == schema
        _same_rows(db.engine, rows)
        assert _differences(db.engine) == []
    finally:
        db.close()
