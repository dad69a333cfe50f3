"""`monitor run` as a real process: SIGTERM during a poll stops it cleanly (exit 0), and a
restart continues without storing anything twice or losing a pending alert."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from monitor.db.schema import articles, deliveries
from tests.integration.helpers import REPO, rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

ENTRIES = [
    (
        f"story-{i}",
        f"Report {i} from the front",
        f"<p>Haftar's forces shelled the southern outskirts of Tripoli on day {i}.</p>",
    )
    for i in range(3)
]


def start(config: Path, marker: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MONITOR_TEST_MARKER": marker}
    env.pop("MONITOR_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@contextlib.contextmanager
def running(config: Path, marker: str = "") -> Iterator[subprocess.Popen[bytes]]:
    """`monitor run` in a child process, killed at the end whatever the test did."""
    process = start(config, marker)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # waits, and closes the pipes (a leaked pipe fails a later test)


def stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> str:
    """Send ``sig`` and wait for the process to end; its stderr."""
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    return stderr.decode()


def counts(database_url: str) -> tuple[int, int, int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(articles)).scalar_one()
        total = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
        done = conn.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.status == "delivered")
        ).scalar_one()
    engine.dispose()
    return int(stored), int(total), int(done)


@pytest.mark.slow
@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stop_during_poll_then_restart(tmp_path: Path, kill: signal.Signals) -> None:
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        # The feed answers slowly, so the signal arrives while the poll is in hand.
        slow = Reply(
            body=rss(ENTRIES),
            headers={"Content-Type": "application/rss+xml"},
            drip_interval=0.05,
            drip_bytes=64,
        )
        feeds.route("/slow.xml", slow)
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Slow Wire", feeds.url("/slow.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",  # alike entries: one alert per article is counted
        )
        with running(config) as process:
            feeds.wait_for_requests(1, path="/slow.xml", within=20)
            stderr = stop(process, kill)
        if kill is signal.SIGKILL:
            assert process.returncode == -signal.SIGKILL
        else:
            assert process.returncode == 0, stderr
            assert "Traceback" not in stderr, stderr

        stored, total, _ = counts(database_url)
        # All of the feed or none of it: never a half-written poll.
        assert (stored, total) in {(0, 0), (3, 3)}, (stored, total)

        # Restart: continues where it stopped; nothing twice, every alert delivered.
        feeds.route("/slow.xml", Reply(body=rss(ENTRIES)))
        with running(config) as process:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                stored, total, done = counts(database_url)
                if stored == 3 and done == 3:
                    break
                time.sleep(0.1)
            stderr = stop(process)
        assert process.returncode == 0, stderr
        assert counts(database_url) == (3, 3, 3)
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert len(ids) == 3


@pytest.mark.slow
def test_run_polls_each_source_on_its_interval(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route(
            "/fast.xml", Reply(body=rss(ENTRIES[:1]), headers={"ETag": '"v1"'}, conditional=True)
        )
        feeds.route("/slow.xml", Reply(body=rss(ENTRIES[1:2])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Fast", feeds.url("/fast.xml")), ("Slow", feeds.url("/slow.xml"))],
            sink_url=None,
            extra={
                "poll": {
                    "interval": "1h",
                    "min_interval": "1s",
                    "allow_private_networks": True,
                    "tick": "1s",
                },
            },
        )
        text = config.read_text(encoding="utf-8").replace(
            f"url: {feeds.url('/fast.xml')}", f"url: {feeds.url('/fast.xml')}\n  interval: 2s"
        )
        config.write_text(text, encoding="utf-8")
        with running(config) as process:
            feeds.wait_for_requests(3, path="/fast.xml", within=30)
            stderr = stop(process)
        assert process.returncode == 0, stderr
        fast = feeds.requests_for("/fast.xml")
        assert all(r.headers.get("if-none-match") == '"v1"' for r in fast[1:])  # conditional
        assert len(feeds.requests_for("/slow.xml")) == 1  # its interval is an hour


def marked_processes(marker: str) -> list[int]:
    """Processes (the service and every process it started) whose environment has ``marker``."""
    needle = f"MONITOR_TEST_MARKER={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def cpu_ticks(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11])
    except OSError:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL])
def test_stop_while_workers_parse_leaves_no_process_behind(
    tmp_path: Path, kill: signal.Signals
) -> None:
    marker = uuid.uuid4().hex
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    # Eight 7.8 MB feeds: the two workers parse for seconds, however fast the machine.
    big = [(f"b{i}", f"Item {i}: Haftar", "<p>" + "word " * 26000 + "</p>") for i in range(58)]
    with FeedServer() as feeds:
        for number in range(8):
            feeds.route(f"/big{number}.xml", Reply(body=rss(big)))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[(f"Big {n}", feeds.url(f"/big{n}.xml")) for n in range(8)],
            sink_url=None,
            extra={"poll": {"interval": "1h", "allow_private_networks": True, "workers": 2}},
        )
        with running(config, marker) as process:
            feeds.wait_for_requests(1, within=20)
            # Wait until a parsing worker (not the service itself) is busy with the feed.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                workers = [p for p in marked_processes(marker) if p != process.pid]
                if any(cpu_ticks(p) > 30 for p in workers):
                    break
                time.sleep(0.01)
            else:
                raise AssertionError("no worker got busy")
            stderr = stop(process, kill)
        if kill is signal.SIGTERM:
            assert process.returncode == 0, stderr
            assert "Traceback" not in stderr, stderr
        stored, _, _ = counts(database_url)
        assert stored % 58 == 0  # whole feeds or nothing
        # Every worker (and the forkserver) is gone, whether stopped or orphaned by SIGKILL.
        deadline = time.monotonic() + 20
        while marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marked_processes(marker) == []


@pytest.mark.slow
@pytest.mark.postgres
def test_connections_cut_by_the_database_do_not_stop_the_service(
    postgres_url: str, request: pytest.FixtureRequest
) -> None:
    # A database restart or failover cuts every connection (pg_terminate_backend here, as
    # a restart does): the service goes on polling and alerting. It had stopped, exit 0,
    # whenever the poller was in a query at that moment.
    import tempfile

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"monitor-cut-{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_url).update_query_dict({"application_name": name})
    cut = text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n")
    admin = create_engine(postgres_url)
    # Disposed however the test ends: a pooled connection left to the garbage collector
    # fails a later test of the worker with a ResourceWarning.
    request.addfinalizer(admin.dispose)
    with (
        tempfile.TemporaryDirectory() as folder,
        FeedServer() as feeds,
        WebhookReceiver() as receiver,
    ):
        feeds.route("/wire.xml", Reply(body=rss(ENTRIES[:1])))
        config = write_config(
            Path(folder),
            database_url=url.render_as_string(hide_password=False),
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            extra={"poll": {"allow_private_networks": True, "interval": "1s",
                            "min_interval": "1s", "max_interval": "1s", "tick": "1s"}},
        )  # fmt: skip
        with running(config) as process:
            receiver.wait_for(1, timeout=30)
            for _ in range(40):  # whatever each task is doing, many times over
                with admin.begin() as conn:
                    conn.execute(cut, {"n": name})
                time.sleep(0.05)
            feeds.route("/wire.xml", Reply(body=rss(ENTRIES[:2])))
            receiver.wait_for(2, timeout=60)  # a new item, polled and alerted after the cuts
            assert process.poll() is None, stop(process)
            stderr = stop(process)
        assert process.returncode == 0, stderr


def test_a_part_of_the_service_that_fails_ends_run_with_exit_1(tmp_path: Path) -> None:
    # A part that stops on an error it does not handle (none is known: this injects one
    # through sitecustomize) must not leave `monitor run` exiting 0: a supervisor restarts
    # a service only when it fails (systemd's Restart=on-failure).
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        "from monitor.delivery import Outbox\n"
        "async def run(self):\n"
        "    raise RuntimeError('injected fault')\n"
        "Outbox.run = run\n",
        encoding="utf-8",
    )
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=rss(ENTRIES[:1])))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(inject), str(REPO)])}
        env.pop("MONITOR_DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert "error: the service stopped: outbox stopped unexpectedly" in done.stderr
    assert "injected fault" in done.stderr
    # It recorded its stop: `monitor status` shows it stopped, not running or dead.
    status = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "--json", "--config", str(config)],
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    instances = json.loads(status.stdout)["service"]["instances"]
    assert [i["state"] for i in instances] == ["stopped"], instances


@pytest.mark.slow
def test_a_second_signal_stops_run_at_once(tmp_path: Path) -> None:
    # The first SIGTERM lets the poll in hand finish (a publisher that holds the request
    # for a minute: up to the grace period); the second abandons it at once, as `once`
    # does and as an operator pressing Ctrl-C twice expects.
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    with FeedServer() as feeds:
        feeds.route("/held.xml", Reply(body=rss(ENTRIES), delay=60))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Held Wire", feeds.url("/held.xml"))],
            sink_url=None,
        )
        with running(config) as process:
            feeds.wait_for_requests(1, path="/held.xml", within=20)
            process.send_signal(signal.SIGTERM)
            time.sleep(1.5)
            assert process.poll() is None, "the first signal lets the poll in hand finish"
            started = time.monotonic()
            stderr = stop(process, signal.SIGTERM)
            took = time.monotonic() - started
    assert process.returncode == 0, stderr
    assert "received SIGTERM again: stopping at once" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    assert took < 5, took  # the poll in hand had up to fetch.total_timeout (10 s here) left
    assert counts(database_url) == (0, 0, 0)


@pytest.mark.slow
def test_a_signal_while_run_closes_leaves_its_stop_recorded(tmp_path: Path) -> None:
    # An outside probe (probe85): `timeout 4 monitor run` (coreutils signals the process,
    # then its whole group) exited 143 in some runs and left no stop recorded, so that
    # `monitor status` called the cleanly stopped instance dead: the second SIGTERM came
    # after `run_forever` had given the signals back, while the service closed.
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    config = write_config(
        tmp_path,
        database_url=database_url,
        sources=[("Closed", "http://127.0.0.1:9/feed.xml")],
        sink_url=None,
        extra={"poll": {"allow_private_networks": True}},
    )
    with running(config) as process:
        assert process.stderr is not None
        lines: list[str] = []

        def read_until(wanted: str) -> None:
            assert process.stderr is not None
            for raw in process.stderr:
                lines.append(raw.decode())
                if wanted in lines[-1]:
                    return
            raise AssertionError(f"{wanted!r} never came: {''.join(lines)}")

        read_until("monitor running as")
        process.send_signal(signal.SIGTERM)
        read_until("monitor stopped")  # run_forever has returned: the service closes
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    stderr = "".join(lines) + rest.decode()
    assert process.returncode == 0, stderr
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stopped = conn.execute(text("SELECT stopped_at FROM instances")).scalar_one()
    engine.dispose()
    assert stopped is not None, stderr
