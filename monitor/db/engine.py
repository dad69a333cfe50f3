"""Opening the database: engine set-up per backend, transactions, schema creation and checks.

This is the one place that opens transactions. SQLite gets WAL, a busy timeout and
``BEGIN IMMEDIATE`` (a read-then-write transaction in WAL mode otherwise fails at once with
"database is locked"); PostgreSQL is used as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from monitor.errors import DatabaseError
from monitor.redact import redact_url

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# alembic is imported only where the schema is created, checked against files or migrated: it
# costs a tenth of a second at every start otherwise, and the schema check below needs none.

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The newest migration's revision, so that start-up can check the schema without loading
# alembic; a test keeps it equal to alembic's head.
SCHEMA_REVISION = "0001"
T = TypeVar("T")


def open_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings each backend needs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database_url {redact_url(url)!r} is not a database URL; "
            "write e.g. sqlite:///monitor.db or postgresql+psycopg://user@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, future=True)
    raise DatabaseError(
        f"database_url {parsed.render_as_string(hide_password=True)!r}: "
        "only sqlite:/// and postgresql+psycopg:// are supported"
    )


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise DatabaseError(
                f"database_url {url!r}: folder {folder} does not exist; create it first"
            )
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Take the write lock up front: WAL refuses a later read->write upgrade at once.
        # A read-only transaction (Database.read_sync) takes no lock and never waits for one.
        if connection.get_execution_options().get("monitor_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", "monitor.db:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in ``alembic_version``; None for a database without one."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return str(rows[0][0]) if len(rows) == 1 else None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after)."""
    from alembic import command
    from alembic.util.exc import CommandError

    before = current_revision(engine)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    except CommandError as error:
        raise DatabaseError(
            f"cannot upgrade the database from revision {before}: {error}; "
            "was it written by a newer news-monitor?"
        ) from None
    return before, head_revision()


def prepare(engine: Engine, *, allow_create: bool = True) -> None:
    """Create a new database at the current schema; refuse one on an older schema.

    An existing database is never changed silently: ``monitor db upgrade`` does that.
    """
    try:
        revision = current_revision(engine)
        has_tables = bool(inspect(engine).get_table_names())
    except OperationalError as error:
        raise DatabaseError(f"cannot open the database: {error.orig}") from None
    if revision == SCHEMA_REVISION:
        return
    head = head_revision()
    if revision is None and not has_tables:
        if not allow_create:
            raise DatabaseError("the database is empty; run `monitor db upgrade` to create it")
        upgrade(engine)
        return
    raise DatabaseError(
        f"the database schema is at revision {revision or 'unknown'}, this version needs "
        f"{head}; back it up, then run `monitor db upgrade`"
    )


@contextlib.contextmanager
def instance_lock(engine: Engine) -> Iterator[None]:
    """Refuse a second service instance on the same SQLite file (PostgreSQL needs no lock)."""
    database = engine.url.database
    if not is_sqlite(engine) or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).expanduser().resolve().with_suffix(".lock")
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseError(
                f"another monitor instance is using {database} (lock {lock_path}); "
                "SQLite supports one instance: stop the other one, or use PostgreSQL "
                "to run several"
            ) from None
        os.ftruncate(handle, 0)
        os.write(handle, str(os.getpid()).encode())
        yield
    finally:
        os.close(handle)


class Database:
    """The database of one monitor process: transactions, run off the event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    def run_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction: committed on success, rolled back on any error."""
        with self.engine.begin() as connection:
            return work(connection)

    def read_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work``, which only reads, in one transaction that takes no write lock."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(monitor_read_only=True)
            with connection.begin():
                return work(connection)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction in a worker thread, so the event loop never blocks."""
        return await asyncio.to_thread(self.run_sync, work)

    def prepare(self, *, allow_create: bool = True) -> None:
        prepare(self.engine, allow_create=allow_create)

    def close(self) -> None:
        self.engine.dispose()
