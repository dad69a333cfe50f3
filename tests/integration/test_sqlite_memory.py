"""The SQLite connections of the pool keep bounded memory however long the service runs:
statements of ever new text (IN lists, multi-row VALUES) and scans of a large database do
not pile up in SQLite's own allocations (which Python's allocator never sees)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import bindparam, text

from monitor.db.engine import open_engine


def _sqlite_memory_used() -> ctypes._CFuncPtr:
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        pytest.skip("no libsqlite3 shared library to read SQLite's memory counter from")
    library = ctypes.CDLL(name)
    if library.sqlite3_libversion_number() != sqlite3.sqlite_version_info[0] * 1_000_000 + (
        sqlite3.sqlite_version_info[1] * 1000 + sqlite3.sqlite_version_info[2]
    ):
        pytest.skip("Python's sqlite3 module is linked to another SQLite than libsqlite3.so")
    used = library.sqlite3_memory_used
    used.restype = ctypes.c_int64
    return used


def test_statements_of_new_text_do_not_pile_up(tmp_path: Path) -> None:
    used = _sqlite_memory_used()
    engine = open_engine(f"sqlite:///{tmp_path / 'memory.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (k INTEGER)")
    query = text("SELECT count(*) FROM t WHERE k IN :keys").bindparams(
        bindparam("keys", expanding=True)
    )
    with engine.connect() as conn:
        conn.execute(query, {"keys": [1]})
        before = used()
        # 300 statements, each of another text (an IN list of 300 to 599 values), as the
        # story index's lookups make: each prepared program is tens of KB.
        for n in range(300, 600):
            assert conn.execute(query, {"keys": list(range(n))}).scalar() == 0
        grown = used() - before
    engine.dispose()
    # The driver's default cache (128 statements) kept 12 MB here; a few are kept now.
    assert grown < 4_000_000, f"SQLite grew by {grown / 1e6:.1f} MB"


def test_writing_a_large_batch_keeps_a_small_page_cache(tmp_path: Path) -> None:
    used = _sqlite_memory_used()
    engine = open_engine(f"sqlite:///{tmp_path / 'pages.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, body TEXT)")
    with engine.begin() as conn:
        before = used()
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
            "INSERT INTO t SELECT i, printf('%.500c', 'x') FROM n"
        )
        grown = used() - before
    engine.dispose()
    # 10 MB written in one transaction; SQLite's default cache would hold 2 MB of it.
    assert grown < 1_000_000, f"SQLite kept {grown / 1e6:.1f} MB of pages"
