"""`monitor reload` signals only a running `monitor run`: never a process that merely holds
the SQLite lock (`monitor once`), never a PID left in the lock file or in a stale instance
row; a config it finds invalid is printed as `monitor check` prints it, exit 2 (--no-check
skips the watchlist, source and sink checks, never loading the settings); no new generation
and no refusal recorded within --wait is not called a refusal; --wait 0 signals only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.cli import _signal_and_wait
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
    # A typo in the config and a broken watchlist: both at once, as `check` shows them (an
    # outside probe fixed the typo only to be refused again for the watchlist).
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities:\n  - id: x\n    names: []\n", encoding="utf-8")
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["watchlists"] = [*data["watchlists"], str(bad)]
    data["bogus_key"] = 1
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
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
    assert any("bogus_key" in line for line in errors)
    assert any(str(bad) in line for line in errors), check.stderr
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


class Instances:
    """A store whose `list_instances` answers from a script (the last answer repeats)."""

    def __init__(self, *answers: list[InstanceRow]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def list_instances(self) -> list[InstanceRow]:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


def test_no_new_generation_and_no_refusal_recorded_is_not_called_a_refusal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = row("one", socket.gethostname(), 4242, datetime.now(UTC))
    store = Instances([before])
    signalled: list[int] = []
    started = time.monotonic()
    code = _signal_and_wait(
        store,  # type: ignore[arg-type]
        [before],
        0.5,
        lambda pid: signalled.append(pid),  # type: ignore[func-returns-value]
    )
    captured = capsys.readouterr()
    assert (code, signalled) == (1, [4242])
    assert time.monotonic() - started >= 0.5
    assert "refused" not in captured.err, captured.err
    assert captured.err.strip() == (
        "no new generation within 0.5 s (still 1): the service may still be reloading; "
        "check its log or `monitor status`"
    )
    assert captured.out == ""


def test_a_refusal_the_service_recorded_is_reported_as_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    before = row("one", socket.gethostname(), 4242, now)
    after = replace(before, reload_failed_at=now, reload_error="reload refused: 1 problem")
    code = _signal_and_wait(
        Instances([before], [after]),  # type: ignore[arg-type]
        [before],
        10,
        lambda pid: None,
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "the service refused the new config (generation still 1):" in err
    assert "reload refused: 1 problem" in err


def test_wait_0_signals_and_does_not_wait(capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    rows = [row("one", "here", 4242, now), row("two", "here", 4343, now)]
    store = Instances(rows)
    signalled: list[int] = []
    code = _signal_and_wait(
        store,  # type: ignore[arg-type]
        rows,
        0,
        lambda pid: signalled.append(pid),  # type: ignore[func-returns-value]
    )
    captured = capsys.readouterr()
    assert (code, signalled, store.calls) == (0, [4242, 4343], 0)
    assert captured.out.splitlines() == [
        "here:4242: signalled (pid 4242)",
        "here:4343: signalled (pid 4343)",
    ]
    assert captured.err == ""


def test_a_negative_wait_is_a_usage_error(tmp_path: Path, no_sighup: list[int]) -> None:
    result = reload(config_in(tmp_path), "--wait", "-1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--wait" in result.stderr
    assert no_sighup == []


def test_no_check_skips_the_watchlist_source_and_sink_checks_but_not_the_settings(
    tmp_path: Path, no_sighup: list[int]
) -> None:
    config = config_in(tmp_path)
    # What --no-check skips: an unset ${VAR} in a sink, a watchlist file that is missing.
    text = config.read_text(encoding="utf-8").replace(
        "http://127.0.0.1:9/hook", "${MONITOR_TEST_UNSET_HOOK}"
    )
    config.write_text(text, encoding="utf-8")
    with_watchlist = yaml.safe_load(text)
    with_watchlist["watchlists"].append("missing-list.yaml")
    config.write_text(yaml.safe_dump(with_watchlist), encoding="utf-8")
    checked = reload(config)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "MONITOR_TEST_UNSET_HOOK" in checked.stderr
    assert "missing-list.yaml" in checked.stderr
    skipped = reload(config, "--no-check")
    assert skipped.returncode == 3, skipped.stdout + skipped.stderr  # on to finding the service
    assert "no service is running on" in skipped.stderr

    # What it cannot skip: the settings must load, to find the database.
    config.write_text(config.read_text(encoding="utf-8") + "bogus_key: 1\n", encoding="utf-8")
    refused = reload(config, "--no-check")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "bogus_key" in refused.stderr
    assert "the service was not signalled" in refused.stderr
    assert no_sighup == []
