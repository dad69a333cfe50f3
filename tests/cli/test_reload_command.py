"""`monitor reload` signals only a running `monitor run`: never a process that merely holds
the SQLite lock (`monitor once`), never a PID left in the lock file or in a stale instance
row; and a config it finds invalid is printed as `monitor check` prints it, exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.db.instances import InstanceRow
from monitor.db.store import Store
from monitor.reload import find_services
from tests.integration.helpers import REPO, write_config


def reload(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MONITOR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "monitor", "reload", "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def config_in(tmp_path: Path, database_url: str | None = None) -> Path:
    return write_config(
        tmp_path,
        database_url=database_url or f"sqlite:///{tmp_path}/monitor.db",
        sources=[("One", "http://127.0.0.1:9/one.xml")],
        sink_url="http://127.0.0.1:9/hook",
    )


@pytest.fixture
def no_sighup() -> Iterator[list[int]]:
    """SIGHUP to this test process fails the test rather than killing pytest."""
    received: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: received.append(signum))
    yield received
    signal.signal(signal.SIGHUP, previous)


def test_a_lock_held_by_a_process_that_is_not_a_service_is_never_signalled(
    tmp_path: Path, no_sighup: list[int]
) -> None:
    config = config_in(tmp_path)
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    store.prepare()
    try:
        with store.instance_lock():  # as `monitor once` holds it: this process, unregistered
            result = reload(config)
    finally:
        store.close()
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"process {os.getpid()}, which is not a running `monitor run`" in result.stderr
    assert "no service is running on" in result.stderr
    assert no_sighup == []


def test_a_pid_left_in_the_lock_file_and_a_stale_row_are_no_service(
    tmp_path: Path, no_sighup: list[int]
) -> None:
    config = config_in(tmp_path)
    store = Store(f"sqlite:///{tmp_path}/monitor.db")
    store.prepare()
    try:
        with store.instance_lock():  # the lock file keeps this PID after it is released
            pass
        # A row as left by a service killed with SIGKILL, naming this (living) process.
        store.register_instance(
            owner="killed",
            hostname=socket.gethostname(),
            pid=os.getpid(),
            version="0",
            config_path=str(config),
            now=datetime.now(UTC),
        )
    finally:
        store.close()
    result = reload(config)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "no service is running on" in result.stderr
    assert no_sighup == []


def test_an_invalid_config_is_printed_as_check_prints_it_and_nothing_is_signalled(
    tmp_path: Path,
) -> None:
    config = config_in(tmp_path)
    config.write_text(config.read_text() + "bogus_key: 1\n", encoding="utf-8")
    result = reload(config)
    check = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in check.stderr.splitlines() if line.startswith("error: ")]
    assert errors and all(line in result.stderr.splitlines() for line in errors), result.stderr
    assert "the service was not signalled" in result.stderr


def row(owner: str, hostname: str, pid: int, beat: datetime) -> InstanceRow:
    return InstanceRow(
        owner=owner,
        hostname=hostname,
        pid=pid,
        version="0",
        config_path=None,
        config_generation=1,
        started_at=beat,
        heartbeat_at=beat,
        reloaded_at=None,
        stopped_at=None,
    )


def test_on_postgresql_running_instances_here_are_found_and_others_named() -> None:
    now = datetime.now(UTC)
    here = socket.gethostname()
    dead = 2**22 + 12345  # above the usual pid_max: no such process
    rows = [
        row("stale", here, os.getpid(), now - timedelta(minutes=10)),
        row("gone", here, dead, now),
        row("far", "another-host.example", 42, now),
    ]
    found = find_services(rows, now)
    assert [r.owner for r in found.elsewhere] == ["far"]
    assert found.here == []  # not heard from for 10 minutes; no such process
