"""A database that cannot be used (read-only file or folder, a malformed URL, a read-only
PostgreSQL) ends `monitor once`, `monitor run` and `monitor check` with one line naming it and
the fix, and a non-zero exit: never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.db.engine import LOCK_SUFFIX
from tests.integration.helpers import LIBYA_WATCHLIST, REPO
from tests.support.cli import run_monitor

COMMANDS = [("once",), ("run",), ("check",)]


def monitor_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_monitor(args, cwd=folder, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """Makes a file or folder read-only for the commands the test runs: by its mode, or, when
    the tests run as root (whom modes do not stop), by the immutable attribute."""
    made: list[Path] = []

    def make(path: Path) -> None:
        path.chmod(0o555 if path.is_dir() else 0o444)
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"running as root, and chattr +i is refused here: {done.stderr}")
        made.append(path)

    try:
        yield make
    finally:
        for path in made:
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(path)], check=True)
            path.chmod(0o755 if path.is_dir() else 0o644)


def config_for(folder: Path, database_url: str) -> Path:
    config = folder / "monitor.yaml"
    config.write_text(
        f"database_url: {database_url}\nsources: []\nwatchlists: [{LIBYA_WATCHLIST}]\n",
        encoding="utf-8",
    )
    return config


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    # Warnings about the config itself (these configs poll nothing) are not the error.
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith("warning:") and " WARNING monitor: " not in line
    ]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert all(line == errors[0] or line == "1 problem found" for line in lines), lines
    return errors[0]


def created_database(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    database = folder / "news.db"
    config = config_for(tmp_path, f"sqlite:///{database}")
    created = monitor_in(tmp_path, "db", "upgrade", "--config", str(config))
    assert created.returncode == 0, created.stderr
    assert [p.name for p in folder.iterdir()] == ["news.db"]
    return database, config


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_read_only_database_file_is_one_line(
    tmp_path: Path, read_only: Callable[[Path], None], command: tuple[str, ...]
) -> None:
    database, config = created_database(tmp_path)
    read_only(database)

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert str(database) in line and "read-only" in line and "writable" in line, line


@pytest.mark.parametrize("command", [*COMMANDS, ("db", "upgrade")], ids=" ".join)
def test_read_only_database_folder_is_one_line(
    tmp_path: Path, read_only: Callable[[Path], None], command: tuple[str, ...]
) -> None:
    database, config = created_database(tmp_path)
    read_only(database.parent)

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert str(database.parent) in line and "writable" in line, line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_unusable_lock_file_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    # Something else where the instance lock goes (here a folder, which no user can open
    # for writing): the SQLite file itself is fine.
    database, config = created_database(tmp_path)
    lock = database.with_name(database.name + LOCK_SUFFIX)
    lock.mkdir()

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert f"lock file {lock}" in line and "writable" in line, line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_non_numeric_port_is_one_line_without_the_password(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = config_for(tmp_path, "postgresql+psycopg://u:hunter2@127.0.0.1:abc/db")

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert "hunter2" not in line
    assert "postgresql+psycopg://REDACTED@127.0.0.1:abc/db" in line and "port" in line, line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "'sqlite:///:memory:'"])
def test_a_sqlite_url_without_a_file_is_one_line(
    tmp_path: Path, command: tuple[str, ...], url: str
) -> None:
    # Each pooled connection would open its own empty in-memory database: "no such table"
    # tracebacks, about 200 lines.
    config = config_for(tmp_path, url)

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert "names no database file" in line and "sqlite:///monitor.db" in line, line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_database_folder_that_is_a_file_is_called_a_file(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # An outside probe: "folder ... does not exist; create it first", and mkdir failed.
    (tmp_path / "data").write_text("not a folder")
    config = config_for(tmp_path, f"sqlite:///{tmp_path}/data/news.db")

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert f"{tmp_path}/data is a file, not a folder" in line, line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_query_parameters_of_a_sqlite_url_are_refused_not_ignored(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # An outside probe: `?mode=ro` was ignored with a raw driver warning, and the file was
    # opened read-write; a value there (a password) is not repeated.
    config = config_for(tmp_path, f"sqlite:///{tmp_path}/news.db?mode=ro&password=hunter2")

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert "take no query parameters here (mode, password)" in line, line
    assert "hunter2" not in line and "mode=ro" not in line


def test_an_environment_value_that_is_not_json_is_one_line(tmp_path: Path) -> None:
    config = config_for(tmp_path, f"sqlite:///{tmp_path}/m.db")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "MONITOR_SOURCES": "notjson"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    line = one_error_line(result)

    assert "MONITOR_SOURCES" in line or "sources" in line, line
    assert "JSON" in line, line


@pytest.mark.postgres
@pytest.mark.parametrize("command", [("once",), ("run",)], ids=lambda c: c[0])
def test_read_only_postgresql_is_one_line(
    tmp_path: Path, postgres_url: str, command: tuple[str, ...]
) -> None:
    # A standby, or a database set to default_transaction_read_only: the schema exists, but
    # the first write at start-up failed with a ReadOnlySqlTransaction traceback.
    created = monitor_in(
        tmp_path, "db", "upgrade", "--config", str(config_for(tmp_path, postgres_url))
    )
    assert created.returncode == 0, created.stderr
    url = make_url(postgres_url)
    options = f"{url.query['options']} -cdefault_transaction_read_only=on"
    read_only = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    config = config_for(tmp_path, read_only)

    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))

    assert "read-only" in line and url.host is not None and url.host in line, line


@pytest.mark.parametrize(("revision", "says"), [("0099", "newer"), ("0003", "db upgrade")])
@pytest.mark.parametrize("command", [*COMMANDS, ("status",)])
def test_a_database_of_another_schema_is_one_line_with_the_right_fix(
    tmp_path: Path, command: tuple[str, ...], revision: str, says: str
) -> None:
    import sqlite3

    database, config = created_database(tmp_path)
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    line = one_error_line(monitor_in(tmp_path, *command, "--config", str(config)))
    assert f"revision {revision}" in line
    if says == "newer":
        assert "a newer news-monitor wrote" in line and "db upgrade" not in line
    else:
        assert "back it up, then run `monitor db upgrade`" in line


@pytest.mark.parametrize("command", [("status",), ("once",), ("alerts",), ("run",)], ids=" ".join)
def test_a_damaged_sqlite_file_is_one_line_naming_it_and_the_way_back(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # An outside probe (probe71): a file whose pages were damaged gave `once`, `run` and
    # `status` a SQLAlchemy traceback (exit 1, which a monitoring check reads as degraded).
    import sqlite3

    database, config = created_database(tmp_path)
    with sqlite3.connect(database) as connection:
        page = connection.execute("PRAGMA page_size").fetchone()[0]
    with database.open("r+b") as file:  # every b-tree page but the first: its header
        for number in range(1, database.stat().st_size // page):
            file.seek(number * page)
            file.write(b"\xff" * 8)
    result = monitor_in(tmp_path, *command, "--config", str(config))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: the SQLite database {database} is damaged (")
    assert "restore a backup" in line and ".recover" in line
