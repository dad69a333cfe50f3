"""A database that cannot be used, in one line for the operator: which database (a SQLite
path, a PostgreSQL URL without its password), what went wrong, and what to do."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from monitor.errors import DatabaseError
from monitor.redact import redact_text, redact_url


def sqlite_path(engine: Engine) -> Path | None:
    """The absolute path of a SQLite engine's database file; None for another database or
    an in-memory one."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).expanduser().resolve()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _user() -> str:
    return f"the user running monitor (uid {os.geteuid()})"


def unusable(engine: Engine, error: DBAPIError) -> DatabaseError:
    """The `DatabaseError` to show for ``error``, raised while opening or checking the
    database of ``engine``."""
    detail = _one_line(str(error.orig))
    path = sqlite_path(engine)
    if path is not None:
        code = str(getattr(error.orig, "sqlite_errorname", ""))
        folder = path.parent
        if code == "SQLITE_READONLY_DIRECTORY":
            return DatabaseError(
                f"cannot write the SQLite database {path}: its folder {folder} is read-only "
                f"({detail}); SQLite writes {path.name}-wal and {path.name}-shm beside the "
                f"database: make the folder writable for {_user()}"
            )
        if code.startswith("SQLITE_READONLY"):
            return DatabaseError(
                f"cannot write the SQLite database {path}: the file is read-only ({detail}); "
                f"make it and its folder writable for {_user()}"
            )
        if code.startswith("SQLITE_FULL"):
            return DatabaseError(
                f"cannot write the SQLite database {path}: {disk_full(path)} ({detail})"
            )
        if code.startswith("SQLITE_CANTOPEN"):
            return DatabaseError(
                f"cannot open the SQLite database {path} ({detail}); make sure it and its "
                f"folder {folder} are readable and writable for {_user()}"
            )
        return DatabaseError(f"cannot use the SQLite database {path}: {detail}")
    where = redact_url(engine.url.render_as_string(hide_password=True))
    # The driver's message may repeat connection parameters: the URL's credentials are
    # masked wherever they appear in it.
    detail = redact_text(detail, engine.url.render_as_string(hide_password=False))
    return DatabaseError(
        f"cannot use the database {where}: {detail}; check that the server runs and that "
        "database_url names it, with the right user and password"
    )


def disk_full(path: Path) -> str:
    """What to say when SQLite finds no room for ``path``: the file system and the fix."""
    return (
        f"the file system of {path.parent} is full; free space there (or move the database), "
        "then start monitor again: what was stored is kept"
    )


def read_only_postgresql(engine: Engine) -> DatabaseError:
    where = redact_url(engine.url.render_as_string(hide_password=True))
    return DatabaseError(
        f"the PostgreSQL database {where} is read-only (a standby, or "
        "default_transaction_read_only is on); set database_url to the primary"
    )


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` is the database or the connection to it failing (a restart, a
    failover, a cut connection, a lock held too long), not something wrong with the data:
    the same work may succeed when tried again."""
    return isinstance(error, OperationalError)


def outage_text(error: BaseException) -> str:
    """What the database said of an outage, on one line, without the SQL SQLAlchemy adds
    ("database is locked", "database or disk is full")."""
    return _one_line(str(getattr(error, "orig", None) or error))[:200] or type(error).__name__
