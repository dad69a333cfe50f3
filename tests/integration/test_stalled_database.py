"""A PostgreSQL server that takes connections and then says nothing (a hung host, a
stalled proxy or network path) neither hangs a command nor keeps a stopped service alive:
connecting gives up after `connect_timeout`, and a stopped `monitor run` ends although a
database call of it still waits. An outside probe saw both wait for ever (the process
alive 200 s after its "monitor stopped")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.integration.helpers import REPO, rss, write_config
from tests.integration.test_service_signals import ENTRIES, running
from tests.support.feed_server import FeedServer, Reply
from tests.support.tcp_proxy import StallingProxy
from tests.support.webhook_receiver import WebhookReceiver


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``monitor ARGS --config CONFIG`` as a user runs it, whatever this shell's database."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MONITOR_DATABASE_URL", None)
    command = [sys.executable, "-m", "monitor", *args, "--config", str(config)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_silent_database_neither_hangs_a_command_nor_a_stopped_service(
    postgres_url: str, tmp_path: Path
) -> None:
    target = make_url(postgres_url)
    with StallingProxy(target.port or 5432, target.host or "127.0.0.1") as proxy:
        # The URL's own connect_timeout wins over the default 10 s (test_pg_connect_args):
        # short here, so the test does not wait the default out.
        url = (
            target.set(host="127.0.0.1", port=proxy.port)
            .update_query_dict({"connect_timeout": "2"})
            .render_as_string(hide_password=False)
        )
        with FeedServer() as feeds, WebhookReceiver() as receiver:
            feeds.route("/wire.xml", Reply(body=rss(ENTRIES[:1])))
            config = write_config(
                tmp_path,
                database_url=url,
                sources=[("Wire", feeds.url("/wire.xml"))],
                sink_url=receiver.url,
                first_run="alert_all",
                extra={"poll": {"allow_private_networks": True, "interval": "1s",
                                "min_interval": "1s", "max_interval": "1s", "tick": "1s"}},
            )  # fmt: skip
            with running(config) as process:
                receiver.wait_for(1, timeout=60)
                proxy.stall()
                time.sleep(3)  # the service's next queries now wait on silent connections
                started = time.monotonic()
                status = monitor(config, "status")
                assert status.returncode == 2, status.stdout + status.stderr
                assert "timeout" in status.stderr and "Traceback" not in status.stderr
                assert time.monotonic() - started < 30, status.stderr
                # Stopped at once (a second signal), the process ends though a database
                # call of it never returns.
                process.send_signal(signal.SIGTERM)
                time.sleep(1)
                process.send_signal(signal.SIGTERM)
                code = process.wait(timeout=90)  # the process itself, not its pipes' readers
                _, stderr = process.communicate(timeout=90)
                assert code == 0, stderr.decode()
                assert "monitor stopped" in stderr.decode()


def test_pg_connect_args() -> None:
    from monitor.db.engine import PG_CONNECT_ARGS, pg_connect_args

    assert PG_CONNECT_ARGS["connect_timeout"] == 10 and PG_CONNECT_ARGS["keepalives"] == 1
    assert pg_connect_args("postgresql+psycopg://monitor@db/news") == PG_CONNECT_ARGS
    own = pg_connect_args("postgresql+psycopg://monitor@db/news?connect_timeout=30")
    assert "connect_timeout" not in own and own["keepalives_idle"] == 30
    assert PG_CONNECT_ARGS["tcp_user_timeout"] == 30_000  # ms: unacknowledged data


@pytest.mark.postgres
def test_a_session_idle_in_a_transaction_is_ended_by_the_server(postgres_url: str) -> None:
    # An instance cut off in the middle of a transaction held the story and sink locks that
    # every other instance waits on for as long as the server kept its session (an outside
    # probe: 3 minutes without a delivery to one sink); now the server ends it in a minute.
    from sqlalchemy import text

    from monitor.db.engine import open_engine

    own_options = make_url(postgres_url).query["options"]
    own = make_url(postgres_url).update_query_dict(
        {"options": f"{own_options} -cidle_in_transaction_session_timeout=5s"}
    )
    for url, expected in ((postgres_url, "1min"), (own.render_as_string(False), "5s")):
        engine = open_engine(url)
        try:
            with engine.connect() as conn:
                shown = conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar()
                assert conn.execute(text("SHOW lock_timeout")).scalar() == "1min"
            assert shown == expected
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_a_table_locked_by_another_session_ends_a_command_in_one_line(
    postgres_url: str, tmp_path: Path
) -> None:
    # An operator's `LOCK TABLE` (or an ALTER TABLE, a VACUUM FULL) held in another session
    # hung `monitor status` and froze the service without a word (an outside probe). Now a
    # statement waits `lock_timeout` (60 s unless the URL or the role sets one: 2 s here),
    # and the command says what held it, in one line; the schema's own lock is not bounded.
    from sqlalchemy import create_engine, text

    own_options = make_url(postgres_url).query["options"]
    url = make_url(postgres_url).update_query_dict({"options": f"{own_options} -clock_timeout=2s"})
    config = write_config(
        tmp_path, database_url=url.render_as_string(False), sources=[], sink_url=None
    )
    assert monitor(config, "db", "upgrade").returncode == 0
    admin = create_engine(postgres_url)
    try:
        with admin.connect() as holder:
            holder.execute(text("LOCK TABLE sources IN ACCESS EXCLUSIVE MODE"))
            for args in (("status",), ("sources",), ("once",)):
                started = time.monotonic()
                done = monitor(config, *args)
                assert done.returncode == 2, (args, done.stdout, done.stderr)
                lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
                assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
                assert "lock timeout" in lines[0] and "another session holds a lock" in lines[0]
                assert "REDACTED@" in lines[0] or "@" not in lines[0]
                assert time.monotonic() - started < 60
            holder.rollback()
    finally:
        admin.dispose()
    assert monitor(config, "sources").returncode == 0


@pytest.mark.postgres
def test_a_role_without_a_free_connection_is_told_so(postgres_url: str, tmp_path: Path) -> None:
    # "too many connections for role" was followed by "check that the server runs ... with
    # the right user and password" (an outside probe): the advice now fits the failure.
    import uuid

    from sqlalchemy import create_engine, text

    role = f"nm_limited_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
        url = make_url(postgres_url).set(username=role, password=None)
        config = write_config(
            tmp_path, database_url=url.render_as_string(False), sources=[], sink_url=None
        )
        done = monitor(config, "status")
        assert done.returncode == 2, done.stdout + done.stderr
        assert "too many connections" in done.stderr and "CONNECTION LIMIT" in done.stderr
        assert "right user and password" not in done.stderr and "Traceback" not in done.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()
