"""Reloading the config of a running service (SIGHUP, `monitor reload`): which settings need a
restart, what a reload changed, and how `monitor reload` finds the service of a database and
signals it."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.db.engine import lock_path_of
from monitor.db.instances import InstanceRow
from monitor.plural import plural
from monitor.settings import Settings

# --- the service's side ----------------------------------------------------------------------


def restart_only_changes(old: Settings, new: Settings) -> list[str]:
    """The settings that differ between ``old`` and ``new`` but only take effect at a
    restart (the database, the health server's address, the poll workers' number and per-host
    limit), each as ``"name (old -> new)"``; the database URL is never shown (a password)."""
    changes = []
    if new.database_url != old.database_url:
        changes.append("database_url")
    if new.http != old.http:
        changes.append(f"http ({_address(old)} -> {_address(new)})")
    for name in ("concurrency", "per_host"):
        before, after = getattr(old.poll, name), getattr(new.poll, name)
        if before != after:
            changes.append(f"poll.{name} ({before} -> {after})")
    return changes


def _address(settings: Settings) -> str:
    http = settings.http
    return "none" if http is None else f"{http.host}:{http.port}"


def keeping_restart_only(old: Settings, new: Settings) -> Settings:
    """``new`` with the values of the restart-only settings still those of ``old`` (what is
    really in force until a restart)."""
    poll = new.poll.model_copy(
        update={"concurrency": old.poll.concurrency, "per_host": old.poll.per_host}
    )
    return new.model_copy(update={"database_url": old.database_url, "http": old.http, "poll": poll})


def config_changes(
    old: Mapping[str, Mapping[str, object]], new: Mapping[str, Mapping[str, object]]
) -> list[str]:
    """What a reload changed, for the log: for each kind (``sources``, ``sinks``,
    ``watchlists``: name -> value, in the order given) the names added, removed and
    changed; an empty list when nothing did. Only names are shown, never a URL or secret."""
    lines = []
    for kind in dict.fromkeys([*old, *new]):
        parts = _differences(kind.rstrip("s"), old.get(kind, {}), new.get(kind, {}))
        if parts:
            lines.append(f"{kind}: " + "; ".join(parts))
    return lines


def _differences(kind: str, before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(name for name in before.keys() & after.keys() if before[name] != after[name])
    return [
        f"{plural(len(names), kind)} {verb} ({_few(names)})"
        for verb, names in (("added", added), ("removed", removed), ("changed", changed))
        if names
    ]


def _few(names: Sequence[str], shown: int = 5) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


# --- `monitor reload`'s side -----------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The services `monitor reload` may signal: ``here`` (this host, process alive) and
    ``elsewhere`` (running on another host: they cannot be signalled from here);
    ``not_a_service`` explains a SQLite lock held by a process that is not `monitor run`."""

    here: list[InstanceRow]
    elsewhere: list[InstanceRow]
    not_a_service: str | None = None


def lock_pid(database: Path) -> int | None:
    """The PID that the instance lock file of the SQLite ``database`` names (the last process
    that took the lock), or None (no lock file, or no PID in it)."""
    try:
        text = lock_path_of(str(database)).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    text = text.strip()
    return int(text) if text.isdigit() else None


def lock_is_held(database: Path) -> bool:
    """Whether a process holds the instance lock of the SQLite ``database`` now (a
    `monitor run` or `monitor once` uses it): tried with a shared lock, released at once."""
    return _held(lock_path_of(str(database)))


def legacy_lock_is_held(database: Path) -> bool:
    """Whether a version from before 2026-12-03 runs on the SQLite ``database``: those
    locked ``<name>.lock`` (``news.db`` -> ``news.lock``), which `lock_is_held` does not
    see (probe82: `monitor db upgrade` went ahead under such a service)."""
    return _held(database.with_suffix(".lock"))


def _held(lock_path: Path) -> bool:
    try:
        handle = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
    finally:
        os.close(handle)


def process_exists(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0); one of another user counts."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _looks_like_monitor(pid: int) -> bool:
    """False only when /proc shows that ``pid`` is some other program (a reused PID)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"monitor" in command


def find_services(
    instances: list[InstanceRow], now: datetime, *, sqlite: Path | None = None
) -> Found:
    """The running services among ``instances``. On SQLite (``sqlite``: the database file)
    the lock file is the proof: only the process that holds it and registered as a running
    `monitor run` on this host runs."""
    hostname = socket.gethostname()
    if sqlite is not None:
        pid = lock_pid(sqlite)
        if pid is None or not process_exists(pid):
            return Found([], [])
        ours = [
            row
            for row in instances
            if row.hostname == hostname and row.pid == pid and row.stopped_at is None
        ]
        if not lock_is_held(sqlite):
            return Found([], [])
        if not ours:
            return Found(
                [],
                [],
                f"the database is in use by process {pid}, which is not a running "
                "`monitor run` (`monitor once`, or a service starting or stopping)",
            )
        return Found(ours[:1], [])
    running = [row for row in instances if row.running(now)]
    here = [
        row
        for row in running
        if row.hostname == hostname and process_exists(row.pid) and _looks_like_monitor(row.pid)
    ]
    elsewhere = [row for row in running if row.hostname != hostname]
    return Found(here, elsewhere)


def send_sighup(pid: int) -> str | None:
    """Send SIGHUP to ``pid``; the reason it could not be sent, or None."""
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return "the process is gone"
    except PermissionError:
        return "permission denied (run `monitor reload` as the user running the service)"
    return None
