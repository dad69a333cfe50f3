"""`is_outage` and `outage_text`, what a periodic job logs during a database outage (one
line each time, instead of a traceback every 30 s): the database's error in one line,
without the SQL or SQLAlchemy's help link; any other error is no outage and keeps its
traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.db.problems import is_outage, outage_text


def test_a_database_error_is_an_outage_in_one_line_and_a_bug_is_not(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/missing-folder/x.db")
    with pytest.raises(OperationalError) as raised:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    engine.dispose()
    assert is_outage(raised.value)
    line = outage_text(raised.value)
    assert line == "unable to open database file"
    assert not is_outage(ValueError("a bug"))


def test_an_io_error_opening_sqlite_names_the_disk(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # An outside probe: on a full disk with no service running, `status` and `once` said
    # only "disk I/O error" (SQLite could not grow its -shm file), with no cause and no fix.
    import sqlite3

    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    from monitor.db import problems

    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    orig = sqlite3.OperationalError("disk I/O error")
    orig.sqlite_errorname = "SQLITE_IOERR_SHMSIZE"  # type: ignore[attr-defined]
    error = OperationalError("PRAGMA journal_mode", {}, orig)
    monkeypatch.setattr(problems, "_free_bytes", lambda _folder: 0)
    message = str(problems.unusable(engine, error))
    assert f"{tmp_path}/m.db" in message and "is full; free space there" in message
    monkeypatch.setattr(problems, "_free_bytes", lambda _folder: 10**12)
    message = str(problems.unusable(engine, error))
    assert "an I/O error: check the disk and the system log" in message
    engine.dispose()
