"""`monitor status`: one screen for an operator (is a service running on this database, source
health, recent activity, the outbox, the last errors), its ``--json`` form, and its exit code
for a monitoring check. Every URL and error is shown redacted (`monitor.redact`)."""

from __future__ import annotations

import shlex
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.db.instances import STALE_AFTER, InstanceRow
from monitor.db.status import (
    LATE_AFTER,
    LIST_LIMIT,
    SOURCE_STATES,
    SinkOutbox,
    SourceProblem,
    Status,
)
from monitor.plural import plural
from monitor.redact import redact_text, redact_url, suggested_url, terminal_text
from monitor.reload import process_exists

# The exit codes of `monitor status`, decided here and nowhere else (README, "Exit codes";
# docs/operations.md, "Status"). 2 (could not start: usage, config, database) is the CLI's.
STATUS_OK = 0  # a service is running on this database, and nothing below is wrong
STATUS_DEGRADED = 1  # running, but: unhealthy, gone or late sources, dead letters, a stale outbox
STATUS_NOT_RUNNING = 3  # no `monitor run` is running on this database (wins over 1)
# A pending delivery older than this makes the outbox stale (degraded).
OUTBOX_STALE_AFTER = timedelta(minutes=15)

# Why the state is degraded: the stable names of --json "problems".
PROBLEM_UNHEALTHY = "unhealthy_sources"
# More than half of the sources polled failed their last poll: the network, DNS or a proxy
# is down, long before each source has failed often enough to count as unhealthy (two
# outside probes: "status: ok" while every feed failed, for hours of back-off).
PROBLEM_FAILING = "failing_sources"
PROBLEM_GONE = "gone_sources"
PROBLEM_DEAD = "dead_letters"
PROBLEM_STALE = "outbox_stale"
PROBLEM_LATE = "late_sources"
PROBLEM_NOT_STORED = "polls_not_stored"


def instance_state(row: InstanceRow, now: datetime) -> str:
    """``running``, ``stopped`` (recorded its stop), ``dead`` (not heard from for
    `STALE_AFTER` and no stop recorded: killed, or its host is down; or, on this host, its
    process is gone, which a kill -9 shows at once) or ``stalled`` (not heard from, but on
    this host its process is alive: the database refuses its writes, or it hangs)."""
    if row.stopped_at is not None:
        return "stopped"
    here = row.hostname == socket.gethostname()
    if not row.running(now):
        if here and not row.lock_free and process_exists(row.pid):
            return "stalled"
        return "dead"
    if here and not process_exists(row.pid):
        return "dead"
    return "running"


@dataclass(frozen=True)
class Verdict:
    """The state of the monitor as a check sees it: ``ok``, ``degraded`` or ``not_running``,
    why (problem names), and the exit code."""

    state: str
    problems: tuple[str, ...]
    exit_code: int


def verdict(status: Status) -> Verdict:
    """The one place that turns a status into ``state``, ``problems`` and the exit code."""
    health = status.health
    problems = []
    if health.sources["unhealthy"]:
        problems.append(PROBLEM_UNHEALTHY)
    polled = health.sources["healthy"] + health.sources["unhealthy"]
    if 2 * (health.failing + health.sources["unhealthy"]) > polled > 0:
        problems.append(PROBLEM_FAILING)
    if health.sources["gone"]:
        problems.append(PROBLEM_GONE)
    if health.dead:
        problems.append(PROBLEM_DEAD)
    if health.pending and health.oldest_pending_age(status.now) > OUTBOX_STALE_AFTER:
        problems.append(PROBLEM_STALE)
    if health.late:
        problems.append(PROBLEM_LATE)
    if health.not_stored:
        problems.append(PROBLEM_NOT_STORED)
    if not any(instance_state(row, status.now) == "running" for row in status.instances):
        return Verdict("not_running", tuple(problems), STATUS_NOT_RUNNING)
    if problems:
        return Verdict("degraded", tuple(problems), STATUS_DEGRADED)
    return Verdict("ok", (), STATUS_OK)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def _source_json(row: SourceProblem) -> dict[str, object]:
    return {
        "name": redact_text(row.name, row.url),
        "url": redact_url(row.url),
        "consecutive_failures": row.consecutive_failures,
        "last_error_reason": row.last_error_reason,
        "last_status": row.last_status,
        "last_error": redact_text(row.last_error, row.url) if row.last_error else None,
        "last_polled_at": _iso(row.last_polled_at),
        "last_success_at": _iso(row.last_success_at),
        "gone_at": _iso(row.gone_at),
        "moved_to": _moved_to(row),
    }


def _moved_to(row: SourceProblem) -> str | None:
    # The target may repeat the configured URL's credentials under a name not known secret.
    return redact_text(suggested_url(row.moved_to), row.url) if row.moved_to else None


def status_json(
    status: Status, unhealthy_after: int, sink_urls: Sequence[str]
) -> dict[str, object]:
    """The ``--json`` document (its keys are documented in docs/operations.md, "Status")."""
    now, health = status.now, status.health
    judged = verdict(status)
    return {
        "state": judged.state,
        "exit_code": judged.exit_code,
        "problems": list(judged.problems),
        "checked_at": _iso(now),
        "service": {
            "running": sum(instance_state(row, now) == "running" for row in status.instances),
            "heartbeat_stale_after_seconds": _seconds(STALE_AFTER),
            "instances": [
                {
                    "state": instance_state(row, now),
                    "owner": row.owner,
                    "hostname": row.hostname,
                    "pid": row.pid,
                    "version": row.version,
                    "config_path": row.config_path,
                    "config_generation": row.config_generation,
                    "started_at": _iso(row.started_at),
                    "heartbeat_at": _iso(row.heartbeat_at),
                    "reloaded_at": _iso(row.reloaded_at),
                    "reload_refused_at": _iso(row.reload_failed_at)
                    if reload_refused(row)
                    else None,
                    "stopped_at": _iso(row.stopped_at),
                }
                for row in status.instances
            ],
        },
        "sources": {
            "total": sum(health.sources.values()),
            **{state: health.sources[state] for state in SOURCE_STATES},
            "failing": health.failing,
            "moved": status.moved_total,
            "late": health.late,
            "poll_lag_seconds": _seconds(health.poll_lag(status.now)),
            "unhealthy_after": unhealthy_after,
            "unhealthy_sources": [_source_json(row) for row in status.unhealthy],
            "gone_sources": [_source_json(row) for row in status.gone],
            "moved_sources": [_source_json(row) for row in status.moved],
        },
        "activity": {
            window: {
                "articles_stored": counts.articles_stored,
                "alerts_queued": counts.alerts_queued,
                "delivered": counts.delivered,
            }
            for window, counts in status.activity.items()
        },
        "outbox": {
            "pending": health.pending,
            "oldest_pending_at": _iso(health.oldest_pending_at),
            "oldest_pending_age_seconds": _seconds(health.oldest_pending_age(now)),
            "stale_after_seconds": _seconds(OUTBOX_STALE_AFTER),
            "dead": health.dead,
            "sinks": {
                name: {
                    "pending": sink.pending,
                    "oldest_pending_at": _iso(sink.oldest_pending_at),
                    "dead": sink.dead,
                }
                for name, sink in health.sinks.items()
            },
        },
        "last_errors": {
            "sources": [
                {
                    "at": _iso(f.at),
                    "source": redact_text(f.name, f.url),
                    "url": redact_url(f.url),
                    "reason": f.reason,
                    "status": f.status,
                    "error": redact_text(f.error, f.url) if f.error else None,
                    "consecutive_failures": f.consecutive_failures,
                }
                for f in status.source_failures
            ],
            "deliveries": [
                {
                    "id": f.id,
                    "sink": f.sink,
                    "status": f.status,
                    "attempts": f.attempts,
                    "next_attempt_at": _iso(f.next_attempt_at),
                    "reason": f.reason,
                    "http_status": f.http_status,
                    "error": redact_text(f.error, *sink_urls) if f.error else None,
                }
                for f in status.delivery_failures
            ],
        },
    }


def _short(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def age(value: timedelta) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: how long, for people."""
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# Dead instances shown one a line (the latest first); more are counted: eight kill -9s in a
# week pushed the sources and the verdict off the screen.
DEAD_SHOWN = 3


def _instance_line(row: InstanceRow, now: datetime) -> str:
    state = instance_state(row, now)
    where = f"{row.pid}@{row.hostname}"
    config = f"config generation {row.config_generation}"
    if row.reloaded_at is not None:
        config += f", reloaded {_short(row.reloaded_at)}"
    if state == "running":
        line = (
            f"running: {where}, version {row.version}, since {_short(row.started_at)} "
            f"(up {age(now - row.started_at)}), {config}"
        )
        if reload_refused(row):
            assert row.reload_failed_at is not None
            line += (
                f"; its last reload was refused ({_short(row.reload_failed_at)}): it runs on "
                "the config it had; `monitor check` says what is wrong with the file"
            )
        return line
    if state == "stalled":
        return (
            f"stalled: {where}, version {row.version}, started {_short(row.started_at)}: its "
            f"process is alive but its last heartbeat is {_short(row.heartbeat_at)} "
            f"({age(now - row.heartbeat_at)} ago): the database refuses its writes (a full "
            "disk, a lock, a read-only file) or it hangs; its log says which"
        )
    if state == "dead":
        return (
            f"dead: {where}, version {row.version}, started {_short(row.started_at)}, "
            f"last heartbeat {_short(row.heartbeat_at)} ({age(now - row.heartbeat_at)} ago) "
            "and no stop recorded: killed, or its host is down"
        )
    return f"stopped: {where}, version {row.version}, at {_short(row.stopped_at)}"


def reload_refused(row: InstanceRow) -> bool:
    """Whether the instance's last reload was refused (a config with an error) and none
    succeeded since: the file and what it runs on differ."""
    failed = row.reload_failed_at
    return failed is not None and (row.reloaded_at is None or row.reloaded_at < failed)


def _source_line(row: SourceProblem, kind: str) -> str:
    name = terminal_text(redact_text(row.name, row.url))
    url = terminal_text(redact_url(row.url))
    if kind == "gone":
        return (
            f"  gone {name} ({url}): the feed answered 410 Gone at {_short(row.gone_at)}; "
            "remove it from the config or give it its new URL"
        )
    if kind == "moved":
        return (
            f"  moved {name} ({url}): permanently redirected to {terminal_text(_moved_to(row))}; "
            "update its URL in the config"
        )
    since = (
        f"last ok {_short(row.last_success_at)}"
        if row.last_success_at is not None
        else "never polled ok"
    )
    return (
        f"  unhealthy {name} ({url}): {plural(row.consecutive_failures, 'failure')} in a row, "
        f"{_failure(row.last_error_reason, row.last_error, row.url)} "
        f"(last try {_short(row.last_polled_at)}, "
        f"{since})"
    )


def _failure(reason: str | None, error: str | None, *urls: str) -> str:
    """``reason: message``, redacted, without the source's own URL in front, on one line."""
    text = redact_text(error, *urls) if error else ""
    if urls:
        text = text.removeprefix(f"{redact_url(urls[0])}: ")
    return terminal_text(f"{reason or 'unknown'}: {text}" if text else reason or "unknown")


def render_status(
    status: Status,
    unhealthy_after: int,
    sink_urls: Sequence[str],
    sink_names: Collection[str] | None = None,
) -> str:
    """The human form: a few sections, the verdict last; what a feed or a receiver wrote is
    shown by `terminal_text`, each on its line. A sink with alerts in the outbox that
    ``sink_names`` (the config's) does not name is said to be so."""
    now, health = status.now, status.health
    judged = verdict(status)
    lines = []
    shown = [r for r in status.instances if instance_state(r, now) != "stopped"]
    if not status.instances:
        lines.append("service: no `monitor run` has registered on this database")
    else:
        running = sum(instance_state(r, now) == "running" for r in status.instances)
        lines.append(
            f"service: {plural(running, 'instance')} running" if running else "service: not running"
        )
        dead = [r for r in shown if instance_state(r, now) == "dead"]
        for row in shown:
            if row in dead[DEAD_SHOWN:]:
                continue
            lines.append("  " + _instance_line(row, now))
        if len(dead) > DEAD_SHOWN:
            more = plural(len(dead) - DEAD_SHOWN, "more dead instance")
            lines.append(f"  and {more} (`monitor status --json` lists them)")
        if not running:
            stopped = [r for r in status.instances if instance_state(r, now) == "stopped"]
            if stopped:
                lines.append("  last " + _instance_line(stopped[0], now))
    counts = health.sources
    if not sum(counts.values()):
        lines.append(
            "sources: none stored yet (`monitor run` or `monitor once` stores the configured ones)"
        )
    else:
        failing = f" ({health.failing} failed their last poll)" if health.failing else ""
        lines.append(
            f"sources: {counts['healthy']} healthy{failing}, {counts['unhealthy']} unhealthy "
            f"({unhealthy_after}+ failures in a row), {counts['gone']} gone, "
            f"{counts['disabled']} disabled; {status.moved_total} moved"
        )
    if health.late:
        lines.append(
            f"  {plural(health.late, 'source')} more than {age(LATE_AFTER)} past the planned "
            f"poll, the most by {age(health.poll_lag(now))}: polling is not keeping up "
            "(poll.concurrency, poll.per_host, slow feeds; or no instance is running)"
        )
    for kind, rows, total in (
        ("unhealthy", status.unhealthy, counts["unhealthy"]),
        ("gone", status.gone, counts["gone"]),
        ("moved", status.moved, status.moved_total),
    ):
        lines.extend(_source_line(row, kind) for row in rows)
        if total > len(rows):
            lines.append(
                f"  ... and {total - len(rows)} more {kind} (the first {LIST_LIMIT} shown; "
                "`monitor sources` lists every source)"
            )
    for window, label in (("last_hour", "last hour"), ("last_day", "last day")):
        if window in status.activity:
            done = status.activity[window]
            lines.append(
                f"{label}: {plural(done.articles_stored, 'article')} stored, "
                f"{plural(done.alerts_queued, 'alert')} queued, {done.delivered} delivered"
            )
    outbox = f"outbox: {health.pending} pending"
    if health.pending:
        outbox += (
            f", the oldest queued {age(health.oldest_pending_age(now))} ago "
            f"({_short(health.oldest_pending_at)})"
        )
    outbox += f"; {health.dead} dead"
    if health.dead:
        outbox += " (`monitor alerts --status dead`, `monitor alerts retry`)"
    lines.append(outbox)
    unnamed = {n for n in health.sinks if sink_names is not None and n not in sink_names}
    if len(health.sinks) > 1 or unnamed:  # one sink: the totals are its own
        for name, sink in health.sinks.items():
            oldest = (
                f" (oldest {age(now - sink.oldest_pending_at)})"
                if sink.oldest_pending_at is not None
                else ""
            )
            # A renamed or removed sink: its alerts wait for a sink of that name (probe76).
            missing = (
                " (not in the config: they wait for a sink of that name; add it back, or "
                "drop them: `monitor alerts drop --sink NAME`)"
                if name in unnamed and (sink.pending or sink.dead)
                else ""
            )
            lines.append(
                f"  {terminal_text(name)}: {sink.pending} pending{oldest}, {sink.dead} dead"
                f"{missing}"
            )
    if status.source_failures or status.delivery_failures:
        lines.append("last errors:")
    for f in status.source_failures:
        lines.append(
            f"  {_short(f.at)} source {terminal_text(redact_text(f.name, f.url))}: "
            f"{_failure(f.reason, f.error, f.url)}"
        )
    for d in status.delivery_failures:
        when = "dead since" if d.status == "dead" else "retry at"
        error = redact_text(d.error, *sink_urls) if d.error else ""
        lines.append(
            f"  delivery {d.id[:8]} to {terminal_text(d.sink)}: {_failure(d.reason, error)} "
            f"({plural(d.attempts, 'attempt')}; {when} {_short(d.next_attempt_at)})"
        )
    lines.append(_verdict_line(judged, status))
    return terminal_text("\n".join(lines), one_line=False)


_PROBLEM_TEXT = {
    PROBLEM_UNHEALTHY: "unhealthy sources",
    PROBLEM_FAILING: "most sources failed their last poll",
    PROBLEM_GONE: "gone sources",
    PROBLEM_DEAD: "dead letters",
    PROBLEM_STALE: f"a delivery pending for over {age(OUTBOX_STALE_AFTER)}",
    PROBLEM_LATE: "late sources",
    PROBLEM_NOT_STORED: (
        "the last poll of some sources failed on this machine (the database refused to store "
        "it, or no parsing worker could start): `monitor sources` shows why"
    ),
}


def _verdict_line(judged: Verdict, status: Status) -> str:
    why = ", ".join(_PROBLEM_TEXT[p] for p in judged.problems)
    if judged.state == "ok":
        return "status: ok"
    if judged.state == "degraded":
        return f"status: degraded: {why}"
    line = "status: not running: no `monitor run` is running on this database"
    if not status.instances:
        line = "status: not running: no `monitor run` has registered on this database"
    return line + (f"; also {why}" if why else "")


def unnamed_sink_notes(outbox: Mapping[str, SinkOutbox], names: Collection[str]) -> list[str]:
    """A line for each sink the config does not name that has pending or dead alerts: they
    wait for a sink of that name (a sink removed or renamed in the config)."""
    notes = []
    for name, waiting in outbox.items():
        if name in names or not (waiting.pending or waiting.dead):
            continue
        counts = " and ".join(
            f"{count} {what}"
            for count, what in ((waiting.pending, "pending"), (waiting.dead, "dead"))
            if count
        )
        notes.append(
            f"{plural(waiting.pending + waiting.dead, 'alert')} ({counts}) of sink "
            f"{terminal_text(name)!r}, which this config does not name, wait for a sink of "
            "that name (a renamed sink is a new one): name it again to send them, or give "
            f"them up with `monitor alerts drop --sink {shlex.quote(name)}`"
        )
    return notes
