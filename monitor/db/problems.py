"""A database that cannot be used, in one line for the operator: which database (a SQLite
path, a PostgreSQL URL without its password), what went wrong, and what to do."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from monitor.errors import DatabaseError
from monitor.redact import redact_text, redact_url


def sqlite_path(engine: Engine) -> Path | None:
    """The absolute path of a SQLite engine's database file; None for another database or
    an in-memory one."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).expanduser().resolve()


_DELETED = " (deleted)"  # how Linux names an open file that was unlinked


def deleted_companions(database: Path) -> list[Path]:
    """The -wal and -shm files of ``database`` that this process has open but that were
    deleted (read from Linux's /proc/self/fd; elsewhere none is seen)."""
    wanted = {f"{database}-wal", f"{database}-shm"}
    found: set[str] = set()
    try:
        entries = list(os.scandir("/proc/self/fd"))
    except OSError:
        return []
    for entry in entries:
        try:
            target = os.readlink(entry.path)
        except OSError:
            continue  # closed meanwhile
        if target.endswith(_DELETED) and target[: -len(_DELETED)] in wanted:
            found.add(target[: -len(_DELETED)])
    return [Path(name) for name in sorted(found, key=lambda n: n.endswith("-shm"))]


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
        if is_damaged(error):
            return DatabaseError(damaged(path, detail))
        if code.startswith("SQLITE_CANTOPEN"):
            return DatabaseError(
                f"cannot open the SQLite database {path} ({detail}); make sure it and its "
                f"folder {folder} are readable and writable for {_user()}"
            )
        if code.startswith("SQLITE_IOERR") or "disk I/O error" in detail:
            # What SQLite says when it cannot even grow its -wal or -shm file (an outside
            # probe: a full disk, no service running).
            cause = (
                disk_full(path)
                if _free_bytes(folder) < _LOW_SPACE
                else "an I/O error: check the disk and the system log (is it failing, or "
                f"full?), that {folder} is on a local file system, and the process's file-size "
                "limit (ulimit -f, systemd's LimitFSIZE)"
            )
            return DatabaseError(f"cannot use the SQLite database {path}: {cause} ({detail})")
        if code.startswith("SQLITE_BUSY") or "database is locked" in detail:
            # Another process held a write transaction for longer than the busy timeout
            # (probe89: the message said only "database is locked").
            return DatabaseError(
                f"cannot use the SQLite database {path}: {detail} (another process has held "
                f"a write on it for over {SQLITE_LOCK_WAIT_S} s: a sqlite3 shell, a backup "
                "tool, another program; `fuser` or `lsof` on the file names it); when it is "
                "done, run the command again"
            )
        return DatabaseError(f"cannot use the SQLite database {path}: {detail}")
    # The driver's message may repeat connection parameters: the URL's credentials are
    # masked wherever they appear in it.
    detail = redact_text(detail, engine.url.render_as_string(hide_password=False))
    return DatabaseError(
        f"cannot use the database {shown_url(engine)}: {detail}; {_postgresql_advice(detail)}"
    )


# How long SQLite waits for another process's write (engine.SQLITE_BUSY_TIMEOUT_MS, in s).
SQLITE_LOCK_WAIT_S = 30

_LOW_SPACE = 4 * 1024 * 1024  # less free room than this: SQLite's journal may not fit


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return _LOW_SPACE  # cannot tell: the I/O error's own words are shown


def disk_full(path: Path) -> str:
    """What to say when SQLite finds no room for ``path``: the file system and the fix."""
    return (
        f"the file system of {path.parent} is full; free space there (or move the database), "
        "then start monitor again: nothing it stored is lost"
    )


def read_only_postgresql(engine: Engine) -> DatabaseError:
    where = redact_url(engine.url.render_as_string(hide_password=True))
    return DatabaseError(
        f"the PostgreSQL database {where} is read-only (a standby, or "
        "default_transaction_read_only is on); set database_url to the primary"
    )


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` is the database or the connection to it failing (a restart, a
    failover, a cut connection, a lock held too long, a damaged SQLite file), not a bug:
    said in one line, and the feed not blamed; the same work may succeed when tried again
    (after a damaged file is restored)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True  # a session the database cut or refused (read-only: engine.py)
    return isinstance(error, OperationalError) or is_damaged(error)


# What SQLite says of a file whose pages are not a database's (a disk fault, a copy made
# while it was written, a -wal applied to another file).
_DAMAGED_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_DAMAGED_WORDS = ("database disk image is malformed", "file is not a database")


def is_damaged(error: BaseException) -> bool:
    """Whether ``error`` is SQLite finding its file damaged: no retry mends it."""
    if not isinstance(error, DBAPIError):
        return False
    code = str(getattr(error.orig, "sqlite_errorname", ""))
    return code.startswith(_DAMAGED_CODES) or any(w in str(error.orig) for w in _DAMAGED_WORDS)


def damaged(path: Path | None, detail: str) -> str:
    """What to say of a damaged SQLite file: which, and how to get its data back."""
    where = f"the SQLite database {path}" if path is not None else "the SQLite database"
    return (
        f"{where} is damaged ({detail}): stop every instance, then restore a backup "
        '(docs/operations.md, "Backups"), or save what it still holds with '
        f"`sqlite3 {path or 'FILE'} .recover | sqlite3 recovered.db` and point database_url "
        "at recovered.db"
    )


def is_schema_gone(error: BaseException) -> bool:
    """Whether ``error`` says a table of the schema does not exist: the database was
    dropped and created again, or another one is there now."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) == "42P01" or "no such table" in str(error.orig)


def is_conflict(error: BaseException) -> bool:
    """Whether ``error`` is a row another transaction wrote first (a unique key): an
    instance whose lease ran out storing what another instance stored meanwhile."""
    return isinstance(error, IntegrityError)


def outage_text(error: BaseException, path: Path | None = None) -> str:
    """What the database said of an outage, on one line, without the SQL SQLAlchemy adds
    ("database is locked", "database or disk is full"); for a damaged SQLite file (at
    ``path``, when known), what to do about it."""
    said = _said(error)
    return damaged(path, said) if is_damaged(error) else said


def _said(error: BaseException) -> str:
    """The database's own words for ``error``, on one line."""
    return _one_line(str(getattr(error, "orig", None) or error))[:200] or type(error).__name__


def shown_url(engine: Engine) -> str:
    """The database of ``engine`` as messages name it: a SQLite path, else its URL with the
    password masked."""
    path = sqlite_path(engine)
    if path is not None:
        return str(path)
    return redact_url(engine.url.render_as_string(hide_password=True))


def failed_database(engine: Engine, error: BaseException) -> str:
    """One line for the database of ``engine`` failing in the middle of a command."""
    if is_damaged(error):
        return damaged(sqlite_path(engine), _said(error))
    detail = outage_text(error)
    if engine.dialect.name == "postgresql":
        detail = redact_text(detail, engine.url.render_as_string(hide_password=False))
        advice = _postgresql_advice(detail)
    else:
        advice = "try again once it answers"
    return (
        f"the database {shown_url(engine)} failed in the middle of the command: {detail}; {advice}"
    )


def _postgresql_advice(detail: str) -> str:
    """What to do about a PostgreSQL failure, by what the server or libpq said (psycopg
    gives no SQLSTATE for a refused connection)."""
    said = detail.lower()
    if "too many connections" in said or "too many clients" in said or "slots are" in said:
        return (
            "the server has no connection left for this role (its CONNECTION LIMIT, or the "
            "server's max_connections): close idle sessions (see pg_stat_activity) or raise "
            "the limit; every monitor process keeps a few connections open"
        )
    if "lock timeout" in said:
        return (
            "another session holds a lock on a table monitor needs (see pg_locks and "
            "pg_stat_activity); try again once it is released"
        )
    if "statement timeout" in said:
        # A DBA's statement_timeout (probe89: the advice was the URL and the password).
        return (
            "a statement_timeout set for this user or database ended a statement (ALTER ROLE "
            "or ALTER DATABASE ... SET statement_timeout; see SHOW statement_timeout): set it "
            "to 0 for monitor's user, or to a minute or more"
        )
    if "terminating connection" in said or "server closed the connection" in said:
        return "the server ended the session (a restart, pg_terminate_backend): try again"
    if "database" in said and "does not exist" in said:
        return "create that database (createdb), or correct the database name in database_url"
    if (
        "authentication failed" in said
        or ("role" in said and "does not exist" in said)
        or "pg_hba.conf" in said
        or "password" in said
    ):
        return "check the user and password in database_url, and the server's pg_hba.conf"
    return (
        "check that the server runs and that database_url names it, with the right user and "
        "password"
    )
