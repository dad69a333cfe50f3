"""Opening the database: engine set-up per backend, transactions, schema creation and checks.

This is the one place that opens transactions. SQLite gets WAL, a busy timeout and
``BEGIN IMMEDIATE`` (a read-then-write transaction in WAL mode otherwise fails at once with
"database is locked"); PostgreSQL is used as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from monitor.db.problems import (
    SQLITE_LOCK_WAIT_S,
    read_only_postgresql,
    sqlite_path,
    unusable,
)
from monitor.errors import DatabaseError
from monitor.redact import redact_url

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# alembic is imported only where the schema is created, checked against files or migrated: it
# costs a tenth of a second at every start otherwise, and the schema check below needs none.

SQLITE_BUSY_TIMEOUT_MS = SQLITE_LOCK_WAIT_S * 1000
# Prepared statements each SQLite connection keeps (the driver's default is 128). Statements
# with an IN list or a multi-row VALUES differ in text with every length, so the cache fills
# with large one-off programs: with 128, each of the pool's connections grew by several MB
# over a cold pass (the service 105 -> 140 MB at 1,000 feeds); 16 holds every fixed statement
# of a feed's write and costs no measurable speed (docs/performance.md).
SQLITE_CACHED_STATEMENTS = 16
# Page cache per connection in KiB (SQLite's default is 2,000): the operating system caches
# the file as well, and each of the pool's connections (one per database thread) has its own.
# 256 and 2,000 made the same cold pass at 1,000 feeds (35.8 s against 35.7 s).
SQLITE_CACHE_KIB = 256
# The SQLite instance lock is the database's full file name with this appended (news.db ->
# news.db.monitor-lock): it never equals the database or its -wal, -shm and -journal files, and
# databases that differ only in their suffix (news.db, news.sqlite) get separate locks. A
# database whose name ends in it is refused, so no lock can ever be another database.
LOCK_SUFFIX = ".monitor-lock"
# PostgreSQL advisory lock held while one process creates or migrates the schema ("nmschema").
SCHEMA_LOCK_KEY = 0x6E6D_7363_6865_6D61
# The newest migration's revision, so that start-up can check the schema without loading
# alembic; a test keeps it equal to alembic's head.
SCHEMA_REVISION = "0007"
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
    except ValueError:  # the only one make_url raises: a port that is not a number
        raise DatabaseError(
            f"database_url {redact_url(url)!r}: the port is not a number; "
            "write e.g. postgresql+psycopg://user@host:5432/db, or leave the port out"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            # Every connection of the pool would get its own empty in-memory database.
            raise DatabaseError(
                f"database_url {redact_url(url)!r} names no database file; "
                "write e.g. sqlite:///monitor.db or "
                "sqlite:////var/lib/monitor/monitor.db"
            )
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return _postgresql_engine(parsed)
    raise DatabaseError(
        f"database_url {redact_url(parsed.render_as_string(hide_password=True))!r}: "
        "only sqlite:/// and postgresql+psycopg:// are supported"
    )


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        if parsed.database.endswith(LOCK_SUFFIX):
            raise DatabaseError(
                f"database_url {url!r}: the file name ends in {LOCK_SUFFIX}, which names the "
                "lock file of another database; rename the database file"
            )
        folder = Path(parsed.database).expanduser().resolve().parent
        if folder.exists() and not folder.is_dir():
            raise DatabaseError(
                f"database_url {url!r}: {folder} is a file, not a folder; name a folder "
                "for the database (or move that file away)"
            )
        if not folder.is_dir():
            raise DatabaseError(
                f"database_url {url!r}: folder {folder} does not exist; create it first"
            )
    if parsed.query:
        # The driver ignored them (with a raw warning): `?mode=ro` opened the file read-write.
        names = ", ".join(sorted(parsed.query))
        bare = parsed.difference_update_query(parsed.query).render_as_string(hide_password=True)
        raise DatabaseError(
            f"database_url {bare!r}: SQLite URLs take no query parameters here ({names}); "
            "remove them (monitor opens the file read-write and sets its own timeout)"
        )
    engine = create_engine(
        url,
        connect_args={
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "cached_statements": SQLITE_CACHED_STATEMENTS,
        },
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
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


# libpq waits for ever by default: for a server that takes the connection and never
# answers (a hung host, a stalled proxy), and for one gone without a reset in the middle of
# a query. A bound on connecting, and TCP keepalives that notice a dead peer within about a
# minute; the URL's own values (?connect_timeout=...) win (`pg_connect_args`).
PG_CONNECT_ARGS: dict[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    # Data sent and not acknowledged for this long (ms: a server gone in the middle of a
    # query, where keepalives are not sent) ends the connection.
    "tcp_user_timeout": 30_000,
}
# A session of this process idle inside a transaction for this long is ended by the server,
# and its locks with it: an instance cut off from the database in the middle of a
# transaction held the story and sink locks every other instance waits on for as long as
# the server kept its session (a probe: 3 minutes without a delivery to one sink). No
# transaction of the monitor waits on anything but the database.
IDLE_IN_TRANSACTION = "60s"
# A statement of this process waiting this long for a lock another session holds (a
# `LOCK TABLE`, an `ALTER TABLE` or a `VACUUM FULL` run by hand) fails, where it waited for
# ever: a probe's table lock froze polling and delivery without a word and hung `monitor
# status`. The failed work is retried like any outage, and logged; schema changes wait
# for each other without this bound (`_schema_transaction`).
LOCK_TIMEOUT = "60s"
# The session settings `_postgresql_engine` gives each connection, unless the URL's
# ``options`` or the role already set them.
SESSION_TIMEOUTS = {
    "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION,
    "lock_timeout": LOCK_TIMEOUT,
}


def _postgresql_engine(url: URL) -> Engine:
    engine = create_engine(url, pool_pre_ping=True, future=True, connect_args=pg_connect_args(url))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        # A value the database_url sets (options=-c lock_timeout=...) or the role has stays.
        with dbapi_connection.cursor() as cursor:
            for name, value in SESSION_TIMEOUTS.items():
                cursor.execute(f"SHOW {name}")
                if cursor.fetchone()[0] in ("0", "0ms"):
                    cursor.execute(f"SET {name} = '{value}'")
        dbapi_connection.commit()

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A session opened while the database was read-only stays read-only after it is
        # writable again (managed services set default_transaction_read_only when storage
        # is full): its connection is dropped so that the next one is a new session (an
        # outside probe: pooled sessions kept failing every write until killed by hand).
        sqlstate = getattr(context.original_exception, "sqlstate", None)
        if sqlstate == READ_ONLY_TRANSACTION:
            context.is_disconnect = True

    return engine


# SQLSTATE of a write in a read-only transaction (`read_only_sql_transaction`).
READ_ONLY_TRANSACTION = "25006"


def pg_connect_args(url: str | URL) -> dict[str, int]:
    """`PG_CONNECT_ARGS` that ``url`` does not set itself (its query wins)."""
    query = make_url(url).query
    return {key: value for key, value in PG_CONNECT_ARGS.items() if key not in query}


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


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return str(rows[0][0]) if len(rows) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in ``alembic_version``; None for a database without one. It
    only reads: on SQLite it takes no write lock, so that `monitor status` answers while
    another process writes (an outside probe: it waited 30 s and failed)."""
    with engine.connect() as connection:
        return _revision(connection.execution_options(monitor_read_only=True))


@contextlib.contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction in which to read the schema's revision and create or migrate it, held
    by one process at a time, so instances starting together on a new database create it
    once (the others then find it at the newest revision).

    PostgreSQL: a session advisory lock on `SCHEMA_LOCK_KEY`, taken on this connection before
    its transaction and released after it (or when the connection dies). SQLite: the
    transaction's ``BEGIN IMMEDIATE`` takes the write lock.
    """
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            with connection.begin():
                yield connection
            return
        # Another process creating or migrating the schema may take minutes: waited for
        # without `LOCK_TIMEOUT`, which comes back for the session's later work.
        bound = connection.exec_driver_sql("SHOW lock_timeout").scalar()
        connection.exec_driver_sql("SET lock_timeout = 0")
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({SCHEMA_LOCK_KEY})")
        connection.commit()
        try:
            with connection.begin():
                yield connection
        finally:
            try:
                connection.rollback()
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({SCHEMA_LOCK_KEY})")
                connection.execute(
                    text("SELECT set_config('lock_timeout', :bound, false)"), {"bound": bound}
                )
                connection.commit()
            except DBAPIError:
                connection.invalidate()  # closing the session releases the lock


def _migrate(connection: Connection, before: str | None, revision: str = "head") -> None:
    from alembic import command
    from alembic.util.exc import CommandError

    try:
        command.upgrade(_alembic_config(connection), revision)
    except CommandError as error:
        raise DatabaseError(
            f"cannot upgrade the database from revision {before}: {error}; "
            "was it written by a newer news-monitor?"
        ) from None


# Tables every revision of the schema has: a database with tables but none of these is
# another program's.
_CORE_TABLES = frozenset({"sources", "articles", "deliveries"})


def _check_tables(engine: Engine) -> None:
    """Refuse a database at the current revision that lacks some of its tables (dropped by
    hand, a partial restore: probe89 saw every poll fail "no such table", alerts queued and
    never sent, and `db upgrade` say "already at revision"). One catalogue read."""
    from monitor.db.schema import metadata

    with engine.connect() as connection:
        found = set(inspect(connection.execution_options(monitor_read_only=True)).get_table_names())
    missing = sorted(set(metadata.tables) - found)
    if missing:
        raise DatabaseError(
            f"the database is at revision {SCHEMA_REVISION} but lacks its tables "
            f"{', '.join(missing)}: they were dropped, or only part of it was restored; "
            "restore a backup, or begin a new database (an empty one: `monitor db upgrade`)"
        )


def foreign_schema(connection: Connection, revision: str | None) -> str | None:
    """Why the database is another program's, when it is (its tables and none of ours, or an
    alembic revision that is not one of ours, which are numbers); else None. An outside
    probe (probe89) was told "revision unknown ... run `monitor db upgrade`", which then
    installed news-monitor's tables among another program's."""
    own = (
        "give news-monitor an empty database of its own, or on PostgreSQL a schema of its "
        "own (database_url ending ?options=-csearch_path%3Dmonitor, the schema created first)"
    )
    if revision is not None and not revision.isdigit():
        return (
            f"the database's alembic_version holds revision {revision}, not one of "
            f"news-monitor's (0001 to {SCHEMA_REVISION}): another program's migrations use "
            f"this database; {own}"
        )
    tables = sorted(inspect(connection).get_table_names())
    if revision is None and tables and not _CORE_TABLES & set(tables):
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        return f"the database holds another program's tables ({shown}); {own}"
    return None


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``revision`` (the newest by default); returns (before, after)."""
    try:
        with _schema_transaction(engine) as connection:
            before = _revision(connection)
            foreign = foreign_schema(connection, before)
            if foreign is not None:
                raise DatabaseError(foreign)
            _migrate(connection, before, revision)
    except DBAPIError as error:
        raise unusable(engine, error) from None
    return before, head_revision() if revision == "head" else revision


def running_instances(engine: Engine, now: datetime) -> list[str]:
    """``pid@host`` of each instance registered as running, heard from within
    ``STALE_AFTER`` (none when the database has no ``instances`` table yet). Plain SQL on the
    columns every revision has, since it is asked before a migration."""
    from monitor.db.instances import STALE_AFTER
    from monitor.db.schema import UTCDateTime

    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("instances"):
                return []
            query = text(
                "SELECT pid, hostname FROM instances "
                "WHERE stopped_at IS NULL AND heartbeat_at >= :fresh ORDER BY started_at"
            ).bindparams(bindparam("fresh", type_=UTCDateTime()))
            rows = connection.execute(query, {"fresh": now - STALE_AFTER}).all()
    except DBAPIError as error:
        raise unusable(engine, error) from None
    return [f"{pid}@{hostname}" for pid, hostname in rows]


def prepare(engine: Engine, *, allow_create: bool = True) -> bool:
    """Create a new database at the current schema; refuse one on an older schema. Whether
    it created one.

    An existing database is never changed silently: ``monitor db upgrade`` does that.
    Instances that start together on a new database create it once (`_schema_transaction`).
    """
    try:
        if current_revision(engine) == SCHEMA_REVISION:
            _check_tables(engine)
            return False  # the usual start: no lock needed
        with _schema_transaction(engine) as connection:
            revision = _revision(connection)  # again: another instance may have created it
            if revision == SCHEMA_REVISION:
                return False
            if revision is None and not inspect(connection).get_table_names():
                if not allow_create:
                    raise DatabaseError(
                        "the database is empty; run `monitor db upgrade` to create it"
                    )
                _migrate(connection, None)
                return True
            foreign = foreign_schema(connection, revision)
    except DBAPIError as error:
        raise unusable(engine, error) from None
    raise DatabaseError(
        foreign or schema_problem(revision) or f"unknown schema revision {revision}"
    )


def schema_problem(revision: str | None) -> str | None:
    """Why a database at ``revision`` cannot be used by this version (None: it can): older
    ones are upgraded by ``monitor db upgrade``; one that a newer version wrote needs it."""
    if revision == SCHEMA_REVISION:
        return None
    if revision is not None and revision.isdigit() and revision > SCHEMA_REVISION:
        return (
            f"the database schema is at revision {revision}, which a newer news-monitor "
            f"wrote (this version knows revisions up to {SCHEMA_REVISION}): run that "
            "version, or a newer one, on it"
        )
    return (
        f"the database schema is at revision {revision or 'unknown'}, this version needs "
        f"{SCHEMA_REVISION}; back it up, then run `monitor db upgrade`"
    )


def check_writable(engine: Engine) -> None:
    """Fail now with a `DatabaseError` that names the database, rather than at the first
    write, when this process cannot write it: a read-only SQLite file or folder, a read-only
    PostgreSQL (a standby). SQLite: one write, rolled back."""
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            if engine.dialect.name == "postgresql":
                read_only = connection.exec_driver_sql("SHOW transaction_read_only").scalar()
                if read_only == "on":
                    raise read_only_postgresql(engine)
            else:
                version = int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)
                connection.exec_driver_sql(f"PRAGMA user_version = {version}")
            transaction.rollback()
    except DBAPIError as error:
        raise unusable(engine, error) from None


def lock_path_of(database: str) -> Path:
    """The instance lock file of the SQLite database at ``database`` (see `LOCK_SUFFIX`)."""
    path = Path(database).expanduser().resolve()
    return path.with_name(path.name + LOCK_SUFFIX)


def _open_lock(lock_path: Path, database: Path) -> int:
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise DatabaseError(
            f"cannot open the lock file {lock_path} of the SQLite database {database}: "
            f"{error.strerror}; make the folder {lock_path.parent} and that file writable "
            f"for the user running monitor (uid {os.geteuid()})"
        ) from None


def check_lock_file(engine: Engine) -> None:
    """Fail with a `DatabaseError` when `instance_lock` could not open its lock file; the
    lock itself is not taken, so a running instance is not disturbed."""
    database = sqlite_path(engine)
    if database is not None:
        os.close(_open_lock(lock_path_of(str(database)), database))


# The advisory lock every `run` and `once` holds shared on a PostgreSQL database and `monitor
# db upgrade` takes alone: the letters "news" as a number, with the schema's name hashed
# (advisory locks are the database's: installations in two schemas must not share one).
PG_INSTANCE_LOCK = 0x6E657773


def pg_conninfo(url: str | URL) -> str:
    """A libpq connection string for psycopg from the SQLAlchemy URL (``postgresql+psycopg``),
    with `PG_CONNECT_ARGS` that the URL does not set itself."""
    from psycopg.conninfo import make_conninfo

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return make_conninfo(libpq, **pg_connect_args(url))


@contextlib.contextmanager
def pg_instance_lock(engine: Engine, *, exclusive: bool) -> Iterator[bool]:
    """Take `PG_INSTANCE_LOCK` on a connection of its own, without waiting: shared (many
    instances at once) or ``exclusive``; yields whether it was taken. The server lets go of
    it when the connection ends, a killed process's too."""
    import psycopg

    kind = "" if exclusive else "_shared"
    key = "%s, hashtext(coalesce(current_schema(), ''))"
    try:
        connection = psycopg.connect(pg_conninfo(engine.url), autocommit=True)
    except psycopg.Error as error:
        raise unusable(engine, DBAPIError(None, None, error)) from None
    taken = False
    try:
        try:
            row = connection.execute(
                f"SELECT pg_try_advisory_lock{kind}({key})", (PG_INSTANCE_LOCK,)
            ).fetchone()
        except psycopg.Error as error:
            raise unusable(engine, DBAPIError(None, None, error)) from None
        taken = bool(row and row[0])
        yield taken
    finally:
        # Let go of it before closing: the server ends a closed session a moment later, and
        # an upgrade right after a `once` must find it free.
        with contextlib.suppress(psycopg.Error):
            if taken:
                connection.execute(f"SELECT pg_advisory_unlock{kind}({key})", (PG_INSTANCE_LOCK,))
        connection.close()


@contextlib.contextmanager
def instance_lock(engine: Engine) -> Iterator[None]:
    """Refuse a second service instance on the same SQLite file. On PostgreSQL, where several
    may run, hold `PG_INSTANCE_LOCK` shared: `monitor db upgrade` sees every `run` and
    `once` by it (a `once` registers no instance row), and none starts during an upgrade."""
    database = sqlite_path(engine)
    if database is None:
        if engine.dialect.name != "postgresql":
            yield
            return
        with pg_instance_lock(engine, exclusive=False) as taken:
            if not taken:
                raise DatabaseError(
                    f"the database {redact_url(engine.url.render_as_string())} is being "
                    "upgraded (`monitor db upgrade` is running): start again once it is done"
                )
            yield
        return
    lock_path = lock_path_of(str(database))
    handle = _open_lock(lock_path, database)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(handle, 0)
        os.write(handle, str(os.getpid()).encode())
    except BlockingIOError:
        os.close(handle)
        raise DatabaseError(
            f"another monitor instance is using {database} (lock {lock_path}); "
            "SQLite supports one instance: stop the other one, or use PostgreSQL "
            "to run several"
        ) from None
    except BaseException:
        os.close(handle)
        raise
    _held_locks[lock_path] = handle
    try:
        yield
    finally:
        # The descriptor may be another by now (`keep_instance_lock`).
        os.close(_held_locks.pop(lock_path, handle))


# The lock file each `instance_lock` in this process holds, and the descriptor holding it
# (`keep_instance_lock` may replace it).
_held_locks: dict[Path, int] = {}


def keep_instance_lock(engine: Engine) -> str | None:
    """Lock the SQLite lock file again when it was deleted or replaced while this instance
    held it (a tmp cleaner, an operator tidying the folder: probe89 let a `monitor once`
    start beside `run` that way); None when all is well. A WARNING says it was made again;
    the problem is returned when another instance has locked the new file meanwhile: two
    instances on one SQLite file, one must stop."""
    database = sqlite_path(engine)
    lock_path = lock_path_of(str(database)) if database is not None else None
    handle = _held_locks.get(lock_path) if lock_path is not None else None
    if database is None or lock_path is None or handle is None:
        return None
    held = os.fstat(handle)
    try:
        found = os.stat(lock_path)
        if (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino):
            return None
    except FileNotFoundError:
        pass
    replacement = _open_lock(lock_path, database)
    try:
        fcntl.flock(replacement, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(replacement)
        return (
            f"the lock file {lock_path} was deleted while this instance used {database}, "
            "and another instance has started on it since: SQLite supports one instance"
        )
    os.ftruncate(replacement, 0)
    os.write(replacement, str(os.getpid()).encode())
    _held_locks[lock_path] = replacement
    os.close(handle)
    log.warning(
        "the lock file %s was deleted or replaced while this instance used %s; it is made "
        "again (while it was gone, another instance could have started: `monitor status`)",
        lock_path,
        database,
    )
    return None


class Database:
    """The database of one monitor process: transactions, run off the event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)
        # When each transaction in progress began (time.monotonic), by a number of its own.
        self._begun: dict[int, float] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _in_progress(self) -> Iterator[None]:
        number = next(self._numbers)
        with self._lock:
            self._begun[number] = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                del self._begun[number]

    def longest_wait(self) -> float:
        """Seconds since the oldest transaction in progress began (0 when none is): a call
        that never returns (a connection a network path swallows, a lock) grows it."""
        with self._lock:
            oldest = min(self._begun.values(), default=None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    def run_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction: committed on success, rolled back on any error."""
        with self._in_progress(), self.engine.begin() as connection:
            return work(connection)

    def read_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work``, which only reads, in one transaction that takes no write lock."""
        with self._in_progress(), self.engine.connect() as connection:
            connection = connection.execution_options(monitor_read_only=True)
            with connection.begin():
                return work(connection)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction in a worker thread, so the event loop never blocks."""
        return await asyncio.to_thread(self.run_sync, work)

    def prepare(self, *, allow_create: bool = True, writable: bool = True) -> None:
        """Create or check the schema (`prepare`); with ``writable``, also make sure that
        this process can write the database (`check_writable`). Without ``allow_create``
        a missing SQLite file is an error that names it (and is not created)."""
        if not allow_create:
            database = sqlite_path(self.engine)
            if database is not None and not database.exists():
                raise DatabaseError(
                    f"no database at {database}: this command needs an existing one; "
                    "check database_url (a relative path is relative to the config file), or "
                    "run `monitor once` or `monitor db upgrade` to create it"
                )
        database = sqlite_path(self.engine)
        emptied = database is not None and database.is_file() and database.stat().st_size == 0
        if prepare(self.engine, allow_create=allow_create):
            _say_created(self.url, database, emptied=emptied)
        if writable:
            check_writable(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def _say_created(url: str, database: Path | None, *, emptied: bool) -> None:
    """One line when a command made a new database (an outside probe: a run on a file that
    was emptied, or a path that named another folder, began a new database without a word,
    and with `first_run: store_only` the news since the last run never alerted)."""
    where = str(database) if database is not None else redact_url(url)
    if emptied:
        log.warning(
            "the database file %s was empty (0 bytes): a new database was created in it; if "
            "it held this service's data (a failed copy or restore, a disk that filled), stop "
            "now and restore it: every source's next poll counts as its first",
            where,
        )
    else:
        log.info("database created at revision %s (%s)", SCHEMA_REVISION, where)


def in_list(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the integers bound to ``name`` (see `list_value`), with one
    bound value for the whole list: a JSON array read by ``json_each`` on SQLite, an array
    on PostgreSQL. SQLAlchemy's expanding ``IN`` renders and converts every value at each
    execution (800 band keys per feed: most of a story lookup's time)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(name, type_=ARRAY(BigInteger)))
    values: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(name))
    )
    return column.in_(values.scalar_subquery())


def list_value(values: Collection[int], dialect: str) -> object:
    """The bound value of an `in_list` list."""
    if dialect == "postgresql":
        return list(values)
    return json.dumps(list(values))


def dialect_insert(conn: Connection, table: Table) -> Any:
    """``INSERT`` for ``table`` in the connection's dialect, which has ``ON CONFLICT``.
    The dialect's module is imported here: SQLite users never load PostgreSQL's (20 ms)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def insert_with_ids(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]
) -> list[int]:
    """Insert ``rows`` into ``table`` and return their new ``id`` values in the order of
    ``rows``: one statement per few hundred rows on both databases. Each row is told apart
    by its ``key`` columns (unique among ``rows``), returned with the id. SQLAlchemy's
    ``sort_by_parameter_order`` would do the same, but on SQLite, which has no insert form
    that orders the new row ids, it runs one statement per row (20 per feed for articles)."""
    if not rows:
        return []
    columns = [table.c[name] for name in key]
    returned = conn.execute(table.insert().returning(table.c.id, *columns), rows)
    ids = {tuple(row[1:]): int(row[0]) for row in returned}
    if len(ids) != len(rows):
        raise ValueError(f"{table.name}: rows inserted with the same {', '.join(key)}")
    return [ids[tuple(row[name] for name in key)] for row in rows]
