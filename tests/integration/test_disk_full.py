"""A full disk under SQLite (SQLITE_FULL, made here with `max_page_count`): one line naming
the database and the fix at start-up, and one line per poll while running, never a
traceback; nothing stored is lost."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from monitor.db.sources import SourceSpec
from monitor.db.store import Store
from monitor.errors import DatabaseError
from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from monitor.status import verdict
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply


def _specs(count: int) -> list[SourceSpec]:
    return [
        SourceSpec(
            name=f"feed-{index:04d}-" + "x" * 200,
            url=f"http://127.0.0.1:9/feed/{index}/" + "y" * 300,
            interval=timedelta(minutes=10),
            enabled=True,
            first_run="store_only",
            first_run_window=timedelta(hours=24),
        )
        for index in range(count)
    ]


def _fill_up(store: Store) -> None:
    """From now on the database cannot grow: as on a full disk, SQLite says SQLITE_FULL."""
    engine = store.database.engine
    with engine.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _limit(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")


def test_a_start_on_a_full_disk_is_one_line_naming_the_database(tmp_path: Path) -> None:
    database = tmp_path / "monitor.db"
    store = Store(f"sqlite:///{database}")
    try:
        store.prepare()
        now = datetime.now(UTC)
        store.start_instance(_specs(2), now)
        _fill_up(store)
        with pytest.raises(DatabaseError) as raised:
            store.start_instance(_specs(500), now)
        message = str(raised.value)
        assert str(database) in message and "is full" in message
        assert "free space" in message and "\n" not in message
        # What was stored before is still there.
        assert len(store.list_sources()) == 2
    finally:
        store.close()


def test_a_poll_on_a_full_disk_logs_one_line_and_stores_it_once_there_is_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An outside probe: every poll logged a traceback with the SQL and was recorded as
    # internal_error, naming neither the database nor the problem.
    entries = [
        (f"e{n}", f"Haftar's forces near Tripoli, report {n}", "<p>" + "The LNA said. " * 300)
        for n in range(40)
    ]
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss(entries[:1])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path / 'monitor.db'}",
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=None,
            first_run="alert_all",
        )
        runtime = Runtime.build(load_settings(config), need_sinks=False)
        runtime.db.prepare()
        try:
            asyncio.run(run_once(runtime))
            feeds.route("/f.xml", Reply(body=rss(entries)))
            _fill_up(runtime.store)
            with caplog.at_level(logging.INFO):
                polls, _ = asyncio.run(run_once(runtime))
            assert [poll.reason for poll in polls] == ["database_error"]
            failed = [r for r in caplog.records if "the database failed" in r.getMessage()]
            assert failed and all(r.exc_info is None for r in failed)
            assert "full" in failed[0].getMessage()
            # Which database is full: its file (several instances or files on one host).
            assert str(tmp_path / "monitor.db") in failed[0].getMessage()
            assert not [r for r in caplog.records if r.exc_info and r.name == "monitor.pipeline"]
            # Not the feed's failure (an outside probe: a full disk backed every feed off,
            # 2 s -> 128 s, called them unhealthy, and held their alerts once there was
            # room): no failure counted, polled again at its interval, the error shown.
            (row,) = runtime.store.list_sources()
            assert row.consecutive_failures == 0 and row.last_error_reason == "database_error"
            assert row.next_poll_at - row.last_polled_at == timedelta(minutes=10)
            # But the operator's check says so (probe89: `monitor status` said ok, exit 0,
            # while no poll could be stored).
            health = runtime.store.status(datetime.now(UTC), unhealthy_after=5).health
            assert health.not_stored == 1
            assert (
                "polls_not_stored"
                in verdict(runtime.store.status(datetime.now(UTC), unhealthy_after=5)).problems
            )
        finally:
            runtime.db.close()
        # Room again (a new process, as after the operator freed space): all of it is stored.
        runtime = Runtime.build(load_settings(config), need_sinks=False)
        try:
            runtime.store.retry_sources(None, datetime.now(UTC))
            polls, _ = asyncio.run(run_once(runtime))
            assert [poll.status for poll in polls] == ["ok"]
            assert len(runtime.store.articles_since(None)) == 40
        finally:
            runtime.db.close()


def test_a_damaged_file_in_a_poll_or_log_line_is_named_in_the_advice(tmp_path: Path) -> None:
    # An outside probe (probe89): the per-feed errors and log lines said "sqlite3 FILE
    # .recover", the path only after the advice; the command's own error named it.
    import sqlite3

    from sqlalchemy.exc import DatabaseError as DriverDatabaseError

    database = tmp_path / "monitor.db"
    store = Store(f"sqlite:///{database}")
    try:
        said = sqlite3.DatabaseError("database disk image is malformed")
        text = store.outage_text(DriverDatabaseError("SELECT 1", {}, said))
    finally:
        store.close()
    assert f"`sqlite3 {database} .recover | sqlite3 recovered.db`" in text
    assert "FILE" not in text


def test_once_on_a_database_that_fills_exits_2_naming_the_database_not_the_feeds(
    tmp_path: Path,
) -> None:
    # An outside probe (probe89): the same full disk made `monitor once` exit 2 or 3 (a
    # source failed) depending on which write failed: a cron wrapper could not tell a feed
    # down from a database unusable.
    import json

    from tests.cli.test_check_command import monitor

    entries = [
        (f"e{n}", f"Haftar's forces near Tripoli, report {n}", "<p>" + "The LNA said. " * 300)
        for n in range(40)
    ]
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss(entries[:1])))
        database = tmp_path / "monitor.db"
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{database}",
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=None,
            extra={"poll": {"allow_private_networks": True}},
        )
        first = monitor("once", "--config", str(config), cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        # Every page the file has now is all it may have (as on a full disk).
        import sqlite3

        with sqlite3.connect(database) as connection:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            connection.execute("PRAGMA journal_mode = DELETE")
        connection.close()
        feeds.route("/f.xml", Reply(body=rss(entries)))
        limited = tmp_path / "limit.py"
        limited.write_text(
            "import sqlite3, sys\n"
            "real = sqlite3.connect\n"
            f"def connect(*a, **k):\n    c = real(*a, **k)\n"
            f"    c.execute('PRAGMA max_page_count = {pages}')\n    return c\n"
            "sqlite3.connect = sqlite3.dbapi2.connect = connect\n"
            "if __name__ == '__main__':  # not in the parsing workers it starts\n"
            "    from monitor.__main__ import main\n"
            "    sys.argv[0] = 'monitor'\n    main()\n",
            encoding="utf-8",
        )
        second = subprocess.run(
            [sys.executable, str(limited), "once", "--config", str(config), "--json"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")},
            timeout=120,
        )
    document = json.loads(second.stdout)
    assert second.returncode == 2, second.stderr
    assert document["exit_code"] == 2
    assert "the database failed during 1 poll" in document["errors"][0]
    assert "full" in document["errors"][0]


def test_a_database_locked_by_another_process_says_so(tmp_path: Path) -> None:
    # An outside probe (probe89): "cannot use the SQLite database ...: database is locked",
    # with no hint that another process held a write, nor what to do.
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from monitor.db.problems import unusable

    store = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        said = sqlite3.OperationalError("database is locked")
        error = unusable(store.database.engine, OperationalError("BEGIN", {}, said))
    finally:
        store.close()
    assert str(tmp_path / "monitor.db") in str(error)
    assert "another process has held a write on it for over 30 s" in str(error)
