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
