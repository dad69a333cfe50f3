"""`database_trouble`: an error the database raised, in one line without the SQL or
SQLAlchemy's help link (what a periodic job logs during an outage, each time, instead of
a traceback); None for other errors, whose traceback is worth logging."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.db.problems import database_trouble


def test_a_database_error_is_one_line_and_other_errors_none(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/missing-folder/x.db")
    with pytest.raises(OperationalError) as raised:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    engine.dispose()
    line = database_trouble(raised.value)
    assert line is not None
    assert line.startswith("OperationalError: unable to open database file")
    assert "\n" not in line and "sqlalche.me" not in line and "SELECT" not in line
    assert database_trouble(ValueError("a bug")) is None
