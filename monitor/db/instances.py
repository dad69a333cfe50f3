"""Queries on the ``instances`` table: each `monitor run` registers itself, beats, records
its config reloads and its stop, so `monitor status` and `monitor reload` can find it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from monitor.db.schema import instances

# A running service writes its heartbeat this often; one not heard from for STALE_AFTER is
# taken for dead (killed, host down) by `monitor status` and `monitor reload`.
HEARTBEAT = timedelta(seconds=30)
STALE_AFTER = 3 * HEARTBEAT
# Stopped or dead instances are kept this long for `monitor status`, then deleted.
KEEP_STOPPED = timedelta(days=7)


@dataclass(frozen=True)
class InstanceRow:
    """One `monitor run`, as it registered itself."""

    owner: str
    hostname: str
    pid: int
    version: str
    config_path: str | None
    config_generation: int
    started_at: datetime
    heartbeat_at: datetime
    reloaded_at: datetime | None
    stopped_at: datetime | None
    reload_failed_at: datetime | None = None
    reload_error: str | None = None
    # Not stored: set by a reader that saw the SQLite instance lock free, which proves no
    # service runs on the database whatever the heartbeat says (killed a moment ago).
    lock_free: bool = False

    def running(self, now: datetime) -> bool:
        """Not stopped, heard from within STALE_AFTER, and not proved dead by a free lock."""
        return (
            self.stopped_at is None
            and now - self.heartbeat_at <= STALE_AFTER
            and not self.lock_free
        )


def register(
    conn: Connection,
    *,
    owner: str,
    hostname: str,
    pid: int,
    version: str,
    config_path: str | None,
    now: datetime,
) -> None:
    """Record a starting service (generation 1), and forget instances long stopped or dead."""
    conn.execute(delete(instances).where(instances.c.heartbeat_at < now - KEEP_STOPPED))
    conn.execute(
        instances.insert(),
        {
            "owner": owner,
            "hostname": hostname,
            "pid": pid,
            "version": version,
            "config_path": config_path,
            "config_generation": 1,
            "started_at": now,
            "heartbeat_at": now,
        },
    )


def beat(conn: Connection, owner: str, now: datetime) -> None:
    conn.execute(update(instances).where(instances.c.owner == owner).values(heartbeat_at=now))


def reloaded(conn: Connection, owner: str, generation: int, now: datetime) -> None:
    """A reload took effect: the new config generation and when."""
    conn.execute(
        update(instances)
        .where(instances.c.owner == owner)
        .values(config_generation=generation, reloaded_at=now, heartbeat_at=now)
    )


# The refusal recorded for `monitor reload` is cut to this many characters.
MAX_RELOAD_ERROR = 4000


def reload_failed(conn: Connection, owner: str, error: str, now: datetime) -> None:
    """A reload was refused (the config in force stays): when, and the problems."""
    conn.execute(
        update(instances)
        .where(instances.c.owner == owner)
        .values(reload_failed_at=now, reload_error=error[:MAX_RELOAD_ERROR], heartbeat_at=now)
    )


def stopped(conn: Connection, owner: str, now: datetime) -> None:
    conn.execute(
        update(instances).where(instances.c.owner == owner).values(stopped_at=now, heartbeat_at=now)
    )


def list_instances(conn: Connection) -> list[InstanceRow]:
    """Every recorded instance, the most recently started first."""
    rows = conn.execute(select(instances).order_by(instances.c.started_at.desc())).all()
    return [InstanceRow(**row._mapping) for row in rows]
