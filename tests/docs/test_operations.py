"""What docs/operations.md tells an operator to run for months holds: the systemd unit it
ships (docs/monitor.service) verifies and has the options the page names, the SQLite backup
commands work on a database in use, and the metrics table matches monitor/metrics.py."""

from __future__ import annotations

import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitor import metrics
from monitor.db.engine import SCHEMA_REVISION
from monitor.db.store import Store
from monitor.service import longest_stop

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "docs" / "monitor.service"
OPERATIONS = REPO / "docs" / "operations.md"


def _blocks(language: str) -> list[str]:
    text = OPERATIONS.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def unit_options(text: str) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value (systemd allows a key more than once), in order; comments
    and blank lines dropped, continued lines joined."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith(("#", ";"))):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"an option outside a section: {line!r}"
        key, equals, value = line.partition("=")
        assert equals, f"not KEY=VALUE: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _one(options: dict[str, list[str]], key: str) -> str:
    (value,) = options[key]
    return value


def _seconds(value: str) -> float:
    found = re.fullmatch(r"(\d+)\s*(s|min|m)?", value)
    assert found, value
    return int(found.group(1)) * (60 if found.group(2) in ("min", "m") else 1)


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return unit_options(UNIT.read_text(encoding="utf-8"))["Service"]


def _installed_database(tmp_path: Path) -> Path:
    """The SQLite file of the shipped config once the install's commands have run (the
    `sed` that names the service's folder), read as every command reads it."""
    (block,) = [block for block in _blocks("bash") if "useradd" in block]
    joined = block.replace("\\\n", " ")
    (edit,) = [line for line in joined.splitlines() if line.startswith("sudo sed ")]
    config = tmp_path / "monitor.yaml"
    shutil.copy(REPO / "config" / "monitor.yaml", config)
    line = (
        edit.removeprefix("sudo ").split("#")[0].replace("/etc/monitor/monitor.yaml", str(config))
    )
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    url = yaml.safe_load(config.read_text(encoding="utf-8"))["database_url"]
    assert url.startswith("sqlite:////"), url
    return Path(url.removeprefix("sqlite:///"))


def test_the_unit_has_the_options_operations_md_names(
    service: dict[str, list[str]], tmp_path: Path
) -> None:
    sections = unit_options(UNIT.read_text(encoding="utf-8"))
    assert _one(sections["Install"], "WantedBy") == "multi-user.target"
    assert "network-online.target" in _one(sections["Unit"], "After")
    # `monitor run` does not notify systemd: simple, never notify.
    assert _one(service, "Type") == "simple"
    assert _one(service, "Restart") == "on-failure"
    assert _one(service, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert _one(service, "KillSignal") == "SIGTERM"
    assert _seconds(_one(service, "TimeoutStopSec")) > longest_stop()  # the longest stop
    assert _one(service, "User") not in ("root", "0") and _one(service, "Group")
    assert _one(service, "NoNewPrivileges") == "yes"
    assert _one(service, "ProtectSystem") == "strict"
    assert _one(service, "EnvironmentFile").startswith("/etc/")
    environment = dict(value.partition("=")[::2] for value in service["Environment"])
    assert environment["MONITOR_CONFIG"].endswith(".yaml")
    # The database is named in the config, never only in the unit: an operator's
    # `monitor status` or `db upgrade` with MONITOR_CONFIG must open the service's database.
    assert "MONITOR_DATABASE_URL" not in environment
    database = _installed_database(tmp_path)
    # The SQLite file's folder (the WAL, the shm and the lock beside it) is writable, and
    # it is the working directory.
    writable = _one(service, "ReadWritePaths").split()
    assert str(database.parent) in writable
    assert _one(service, "WorkingDirectory") == str(database.parent)
    assert _one(service, "StateDirectory") == database.parent.name


def test_execstart_runs_monitor_run_with_arguments_monitor_accepts(
    service: dict[str, list[str]],
) -> None:
    binary, *arguments = shlex.split(_one(service, "ExecStart"))
    assert binary.startswith("/") and binary.endswith("/bin/monitor")
    assert arguments[-1] == "run"
    accepted = subprocess.run(
        [sys.executable, "-m", "monitor", *arguments, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_operations_md_shows_the_unit_as_it_is() -> None:
    shown = [block for block in _blocks("ini") if "ExecStart=" in block]
    assert shown == [UNIT.read_text(encoding="utf-8")]


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=120
    )


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    # Does systemd-analyze work here at all (a container may lack what it needs)?
    trivial = tmp_path / "trivial.service"
    trivial.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    if _verify(trivial).returncode != 0:
        pytest.skip("systemd-analyze verify does not work here: " + _verify(trivial).stderr)
    # It checks that ExecStart's binary exists: point it at a real `monitor`.
    monitor = Path(sys.executable).parent / "monitor"
    if not monitor.exists():
        found = shutil.which("monitor")
        if found is None:
            pytest.skip("no installed `monitor` to point ExecStart at")
        monitor = Path(found)
    text = UNIT.read_text(encoding="utf-8")
    written = shlex.split(_one(unit_options(text)["Service"], "ExecStart"))[0]
    copy = tmp_path / "monitor.service"
    copy.write_text(text.replace(f"ExecStart={written} ", f"ExecStart={monitor} "), "utf-8")
    verified = _verify(copy)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "monitor.service" not in verified.stderr, verified.stderr  # no warning either


# --- backups ------------------------------------------------------------------------------


@pytest.fixture
def database_in_use(tmp_path: Path) -> Iterator[Path]:
    """A monitor database (schema and all) with commits still only in its WAL, and a
    connection that keeps writing to it while the backups are taken."""
    path = tmp_path / "lib" / "monitor.db"
    path.parent.mkdir()
    store = Store(f"sqlite:///{path}")
    store.prepare()
    store.close()
    writer = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # keep the commits in the WAL
    writer.execute("CREATE TABLE backup_probe (n INTEGER)")
    for n in range(100):
        writer.execute("INSERT INTO backup_probe VALUES (?)", (n,))
    stop = threading.Event()

    def write() -> None:
        n = 100
        while not stop.is_set():
            writer.execute("INSERT INTO backup_probe VALUES (?)", (n,))
            n += 1
            stop.wait(0.005)

    thread = threading.Thread(target=write)
    thread.start()
    assert path.with_name("monitor.db-wal").stat().st_size > 0
    try:
        yield path
    finally:
        stop.set()
        thread.join()
        writer.close()


def test_the_sqlite_backup_commands_work_on_a_database_in_use(
    database_in_use: Path, tmp_path: Path
) -> None:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed here")
    (block,) = [block for block in _blocks("bash") if ".backup" in block]
    backups = tmp_path / "backups"
    backups.mkdir()
    commands = [line for line in block.splitlines() if line.startswith("sqlite3 ")]
    assert len(commands) == 3, block
    for command in commands:
        line = command.replace("/var/lib/monitor/monitor.db", str(database_in_use)).replace(
            "/var/backups/monitor/", f"{backups}/"
        )
        done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        if "integrity_check" in command:
            assert done.stdout.strip() == "ok", done.stdout
    for copy in sorted(backups.glob("*.db")):
        assert not copy.with_name(copy.name + "-wal").exists()
        with sqlite3.connect(copy) as restored:
            (revision,) = restored.execute("SELECT version_num FROM alembic_version").fetchone()
            (rows,) = restored.execute("SELECT count(*) FROM backup_probe").fetchone()
        restored.close()
        assert revision == SCHEMA_REVISION
        assert rows >= 100, f"{copy.name} lacks the commits that were only in the WAL"
    assert len(list(backups.glob("*.db"))) == 2


# --- metrics ------------------------------------------------------------------------------


def _metrics_table() -> dict[str, bool]:
    """The metrics of "What to alert on": name -> whether it is marked as coming."""
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text.split("## What to alert on", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        found = re.match(r"\| `(monitor_[a-z_]+)(\{[a-z_,]+\})?` \|", line)
        if found:
            rows[found.group(1)] = "(coming with " in line
    return rows


def _exported() -> set[str]:
    names = set()
    for family in metrics.registry.collect():
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


def test_every_exported_metric_is_in_the_table_and_the_rest_is_marked_as_coming() -> None:
    table = _metrics_table()
    assert len(table) >= 5, table
    exported = _exported()
    assert exported <= set(table), f"not in docs/operations.md: {exported - set(table)}"
    unexported = {name for name in table if name not in exported}
    assert all(table[name] for name in unexported), f"neither exported nor coming: {unexported}"


def test_the_alerting_rules_parse_and_use_only_metrics_of_the_table() -> None:
    (block,) = [block for block in _blocks("yaml") if "alert:" in block]
    rules = yaml.safe_load(block)["groups"][0]["rules"]
    table = _metrics_table()
    for rule in rules:
        assert rule["alert"] and rule["expr"]
        for name in re.findall(r"monitor_[a-z_]+", rule["expr"]):
            assert name in table, f"{rule['alert']}: {name} is not in the table"
