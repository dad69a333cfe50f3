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
                env = {**os.environ, "PYTHONPATH": str(REPO)}
                env.pop("MONITOR_DATABASE_URL", None)
                started = time.monotonic()
                status = subprocess.run(
                    [sys.executable, "-m", "monitor", "status", "--config", str(config)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
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
            assert shown == expected
        finally:
            engine.dispose()
