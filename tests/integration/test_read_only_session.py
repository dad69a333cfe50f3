"""A PostgreSQL session that became read-only (a managed service sets
`default_transaction_read_only` when its storage is full, and sessions opened meanwhile keep
it) is dropped at its first refused write, so that writes work again once the database does:
an outside probe's instances kept failing every write until their sessions were killed by
hand."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from monitor.db.engine import open_engine
from monitor.db.problems import is_outage

pytestmark = pytest.mark.postgres


def test_a_session_left_read_only_is_replaced_after_its_refused_write(postgres_url: str) -> None:
    engine = open_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x integer)"))
        with engine.connect() as connection:  # the pooled session, as the outage left it
            connection.exec_driver_sql("SET SESSION default_transaction_read_only = on")
            connection.commit()
        with pytest.raises(DBAPIError, match="read-only transaction") as raised:
            with engine.begin() as c:
                c.execute(text("INSERT INTO t VALUES (1)"))
        # An outage (one line, thinned), not a bug's traceback at every pass: the probe's
        # instances logged 306 tracebacks in 3 minutes.
        assert is_outage(raised.value)
        # The database itself is writable: the next write is made on a new session.
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t")).scalars().all() == [2]
    finally:
        engine.dispose()
