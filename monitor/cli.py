"""The ``monitor`` command line (typer). Thin: parses arguments and calls the modules."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from urllib.parse import urlsplit

import typer
from rich.markup import escape
from rich.table import Column

from monitor import __version__
from monitor.durations import format_duration
from monitor.errors import ConfigError, DatabaseError, MonitorError, ServiceFailed
from monitor.logs import apply_config, configure_logging
from monitor.plural import plural
from monitor.redact import (
    redact_text,
    redact_url,
    suggested_url,
    terminal_json,
    terminal_text,
)
from monitor.render import TerminalConsole, print_rows, print_styled
from monitor.schedule import BACKOFF, GONE, INITIAL, PINNED
from monitor.settings import LoadedSettings, load_settings, variables_named

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from sqlalchemy.engine import Engine

    from monitor.db.deliveries import DeliveryRow
    from monitor.db.instances import InstanceRow
    from monitor.db.sources import SourceRow
    from monitor.db.status import Status
    from monitor.db.store import Store
    from monitor.db.stories import StoryAlert
    from monitor.pipeline import PollOutcome
    from monitor.runtime import Runtime
    from monitor.service import OnceReport, Service, SkippedSource
    from monitor.sourceedit import Edit, FeedCheck
    from monitor.sourcefiles import Located
    from monitor.validate import ValidConfig

app = typer.Typer(
    help="Watch news feeds for named actors and places; send signed webhook alerts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
alerts_app = typer.Typer(help="Alert deliveries: list them, re-queue dead ones.")
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer()
app.add_typer(alerts_app, name="alerts")
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")

# Every string they print passes through `terminal_text` (docs/operations.md, "What is never
# shown"): a control character a feed or a receiver wrote is shown, never acted on.
out = TerminalConsole(highlight=False, soft_wrap=True)
err = TerminalConsole(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $MONITOR_CONFIG, else config/monitor.yaml).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Exit codes (README.md, "Exit codes"; docs/operations.md): the same for every command.
EXIT_OK = 0
EXIT_PROBLEM = 1  # the command ran and found a problem (check, match, alerts retry ID)
EXIT_USAGE = 2  # a usage error, or the command could not start (config, database)
EXIT_SOURCE_FAILED = 3  # once: a source failed, or waits out a back-off after failing
EXIT_NO_SERVICE = 3  # reload: no service runs on the database (none was signalled)
EXIT_NOT_DELIVERED = 4  # once: an alert is not delivered (waits for a retry, or dead); wins


def _write_json(value: object) -> None:
    """One JSON document on standard output, one line; its control characters escaped
    (`terminal_json`: the same data, nothing for a terminal to act on)."""
    sys.stdout.write(terminal_json(json.dumps(value, ensure_ascii=False)) + "\n")


class Failed(typer.Exit):
    """The exit of a command that `fail` ended, with the problems it printed (for a command
    whose --json must still print a document)."""

    def __init__(self, code: int, problems: list[str]) -> None:
        super().__init__(code)
        self.problems = problems


def fail(error: MonitorError | str, code: int = 2) -> NoReturn:
    problems = error.problems if isinstance(error, ConfigError) else [str(error)]
    for problem in problems:
        err.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
    raise Failed(code, problems)


@contextlib.contextmanager
def _document_on_failure(as_json: bool) -> Iterator[None]:
    """With --json, a command that `fail` ends still prints a document (its exit code and
    errors): a script reading stdout gets something to parse, not nothing."""
    try:
        yield
    except Failed as stop:
        if as_json:
            _write_json({"exit_code": stop.exit_code, "errors": stop.problems})
        raise


def _settings(config: Path | None) -> LoadedSettings:
    try:
        loaded = load_settings(config)
    except ConfigError as error:
        fail(error)
    _log_as_configured(loaded)
    return loaded


def _read_settings(config: Path | None) -> LoadedSettings:
    """The settings of a command that only reads the database (status, sources, alerts):
    when the file has an error (a running service refused its reload and runs on), the
    database it names, every other setting at its default, and a warning."""
    from monitor.settings import database_only

    try:
        loaded = load_settings(config)
    except ConfigError as error:
        try:
            loaded = database_only(config)
        except ConfigError:
            fail(error)
        # The problem itself: it names the file's line, or the environment variable that
        # overrides it (a bad MONITOR_* value is no problem of the file).
        first = str(error.problems[0]) if error.problems else str(error)
        more = len(error.problems) - 1
        others = f" and {plural(more, 'more problem')} (`monitor check` lists them)" if more else ""
        err.print(
            f"warning: {first}{others}; this shows the database {loaded.path} names, read "
            "with the other settings at their defaults",
            markup=False,
            highlight=False,
        )
        return loaded
    _log_as_configured(loaded)
    return loaded


def _log_as_configured(loaded: LoadedSettings) -> None:
    """Log as the config's ``log:`` section says, where the command line did not say."""
    log = loaded.settings.log
    apply_config(log.level, log.format)


def _runtime(
    config: Path | None,
    *,
    need_sinks: bool,
    create: bool = True,
    writes: bool = True,
    need_watchlists: bool = True,
) -> Runtime:
    """The runtime of a command, its database checked (and writable when the command
    ``writes``); every problem ends the command with one line each. The commands that only
    tend the database (status, alerts, sources) pass ``need_watchlists=False``: a broken
    watchlist edit must not lock the operator out of them."""
    from monitor.runtime import Runtime

    loaded = _settings(config) if writes or need_watchlists else _read_settings(config)
    try:
        runtime = Runtime.build(loaded, need_sinks=need_sinks, need_watchlists=need_watchlists)
    except MonitorError as error:
        fail(error)
    _opened.append(runtime.store)
    try:
        runtime.store.prepare(allow_create=create, writable=writes)
    except MonitorError as error:
        runtime.store.close()
        fail(error)
    if need_sinks:
        # The commands that poll or send say at start what `monitor check` warns about.
        from monitor.check import refused_targets

        targets = refused_targets(loaded, runtime.specs(), look_up_names=False)
        for message in [*runtime.warnings, *targets.refused]:
            logging.getLogger("monitor").warning("%s", message)
    return runtime


class LogLevel(StrEnum):
    """The values ``--log-level`` accepts (any other is a usage error)."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    """The values ``--log-format`` accepts."""

    human = "human"
    json = "json"


class DeliveryStatus(StrEnum):
    """The values ``monitor alerts --status`` accepts (any other is a usage error)."""

    pending = "pending"
    delivered = "delivered"
    dead = "dead"
    dropped = "dropped"


def _print_version(value: bool) -> None:
    if value:
        out.print(f"news-monitor {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_callback(
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            case_sensitive=False,
            help="How much to log (default: the config's log.level, else info).",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            case_sensitive=False,
            help="Log lines as text or as JSON objects (default: the config's log.format, "
            "else human).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    if config is not None:
        # `monitor --config X check` as `monitor check --config X`: the command's own
        # --config still wins; $MONITOR_CONFIG is what every command reads without one.
        os.environ["MONITOR_CONFIG"] = str(config.absolute())
    # Every log line, from any library and with its traceback, has its URLs redacted. The
    # config's `log:` section applies once a command has loaded it (monitor.logs).
    configure_logging(
        log_level.value if log_level is not None else None,
        log_format.value if log_format is not None else None,
    )


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run the service until SIGTERM/SIGINT (then finish the feed in hand and exit 0)."""
    from monitor.service import end_process_if_stuck, run_service

    runtime = _runtime(config, need_sinks=True)

    def stopped(service: Service) -> None:
        end_process_if_stuck(lambda: EXIT_PROBLEM if service.crashed is not None else EXIT_OK)

    try:
        asyncio.run(run_service(runtime, stopped=stopped))
    except ServiceFailed as error:
        fail(error, EXIT_PROBLEM)
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()


@app.command()
def once(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Poll every enabled source now, run one delivery pass, and exit (for cron and scripts).

    Exit 0: every enabled source polled and every alert delivered; 3: a source failed (or
    waits out a back-off after failing); 4: an alert is not delivered (waiting for a retry,
    or dead); 2: it could not start (config, database), the database failed during a poll
    (full, locked, damaged), or its SQLite file was deleted or replaced while it ran; 143,
    130 or 129: SIGTERM, SIGINT or SIGHUP stopped it (the polls and sends in hand finished;
    a second signal stops it at once)."""
    from monitor.service import StoppedAtOnce, run_once_report

    with _document_on_failure(as_json):
        runtime = _runtime(config, need_sinks=True)
    try:
        report = asyncio.run(run_once_report(runtime))
    except MonitorError as error:
        with _document_on_failure(as_json):  # another instance holds the database, say
            fail(error)
    except StoppedAtOnce as stop:
        _hint(
            f"stopped at once by a second {stop.signal.name}: the work in hand was abandoned "
            "(an alert whose send was cut short is sent again, with the same webhook-id, by "
            "the next run)",
            logging.WARNING,
        )
        raise typer.Exit(128 + int(stop.signal)) from None
    finally:
        runtime.store.close()
    code = EXIT_OK
    problems = _once_errors(report)
    if problems:
        code = EXIT_USAGE  # the database, not a feed (probe89: a full disk was "a source failed")
    elif report.stopped_by is not None:
        code = 128 + int(report.stopped_by)  # as a shell reports a command it stopped
    elif report.undelivered:
        code = EXIT_NOT_DELIVERED
    elif report.failed_sources:
        code = EXIT_SOURCE_FAILED
    if as_json:
        _write_json(_once_json(report, code, problems))
        raise typer.Exit(code)
    _print_once(report)
    for problem in problems:
        err.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
    raise typer.Exit(code)


def _once_errors(report: OnceReport) -> list[str]:
    """The database's problems during the run: they make `monitor once` exit 2."""
    return [p for p in (report.database_lost, _database_failures(report)) if p is not None]


def _database_failures(report: OnceReport) -> str | None:
    """One line when polls failed because the database did (full, locked, damaged, away):
    the feeds are not to blame, and `monitor once` exits 2 as for a database that fails
    between its steps."""
    from monitor.pipeline import DATABASE_ERROR

    failed = [poll for poll in report.polls if poll.reason == DATABASE_ERROR]
    if not failed:
        return None
    return (
        f"the database failed during {plural(len(failed), 'poll')} ({failed[0].error}); "
        "nothing of them was stored, and the next run polls them again"
    )


def _once_counts(report: OnceReport) -> dict[str, int]:
    from monitor.service import (
        SKIPPED_BACKOFF,
        SKIPPED_BUSY,
        SKIPPED_LEASE_EXPIRED,
        SKIPPED_RETRY_AFTER,
        SKIPPED_STOPPED,
    )

    statuses = [poll.status for poll in report.polls]
    whys = [s.why for s in report.skipped]
    return {
        "enabled": len(statuses) + len(whys),
        "ok": statuses.count("ok"),
        "not_modified": statuses.count("not_modified"),
        "failed": statuses.count("error"),
        "skipped": len(whys),
        "skipped_error_backoff": whys.count(SKIPPED_BACKOFF),
        "skipped_retry_after": whys.count(SKIPPED_RETRY_AFTER),
        "skipped_busy": whys.count(SKIPPED_BUSY),
        "skipped_stopped": whys.count(SKIPPED_STOPPED),
        "skipped_lease_expired": whys.count(SKIPPED_LEASE_EXPIRED),
        "disabled": report.disabled,
    }


def _once_json(report: OnceReport, code: int, problems: list[str]) -> dict[str, object]:
    outcomes = [d.status for d in report.deliveries]
    return {
        "exit_code": code,
        **({"errors": problems} if problems else {}),
        "sources": _once_counts(report),
        "alerts": {
            "delivered": outcomes.count("delivered"),
            "retrying": report.retrying,
            "waiting_for_original": report.waiting,
            "held_for_missing_sink": report.held,
            "sending_elsewhere": report.sending_elsewhere,
            "delivered_elsewhere": report.delivered_elsewhere,
            "next_attempt_at": _iso(report.next_attempt_at),
            "dead": outcomes.count("dead"),
            "dead_before": report.dead_before,
        },
        "polls": [dataclasses.asdict(p) for p in report.polls],
        "skipped": [
            {
                "source": s.source,
                "url": s.url,
                "why": s.why,
                "until": _iso(s.until),
                "consecutive_failures": s.failures,
                "last_error_reason": s.last_error_reason,
            }
            for s in report.skipped
        ],
        "deliveries": [
            {**d.__dict__, "next_attempt_at": _iso(d.next_attempt_at)} for d in report.deliveries
        ],
    }


def _skip_text(skipped: SkippedSource) -> str:
    from monitor.service import (
        SKIPPED_BACKOFF,
        SKIPPED_GONE,
        SKIPPED_LEASE_EXPIRED,
        SKIPPED_RETRY_AFTER,
        SKIPPED_STOPPED,
    )

    until = _short(skipped.until)
    failed = f"after {plural(skipped.failures, 'failure')} ({skipped.last_error_reason})"
    if skipped.why == SKIPPED_BACKOFF:
        return f"in error back-off until {until}, {failed}"
    if skipped.why == SKIPPED_RETRY_AFTER:
        return f"its server's Retry-After holds it until {until}, {failed}"
    if skipped.why == SKIPPED_GONE:
        return "gone (410): not polled until its config entry changes"
    if skipped.why == SKIPPED_STOPPED:
        return "not polled: the run was stopped (SIGTERM or SIGINT)"
    if skipped.why == SKIPPED_LEASE_EXPIRED:
        return (
            "not polled: its lease (poll.lease) ran out while it waited for a place of its "
            "host (poll.per_host: that publisher answers slowly); the next run polls it"
        )
    return "held or polled by another instance"


def _not_alerted(poll: PollOutcome) -> str:
    """Why new matching articles of ``poll`` alerted nobody, when a rule says so."""
    why = poll.not_alerted()
    return f"; not alerted: {', '.join(why)}" if why else ""


def _print_once(report: OnceReport) -> None:
    # Each line a (style, label, text): source names and errors each on its one line.
    lines: list[tuple[str, str, str]] = []
    # By name, not in the order the polls ended: two runs' summaries then line up.
    for poll in sorted(report.polls, key=lambda p: (p.source.casefold(), p.source, p.url)):
        source = poll.source  # `print_styled` makes each line safe for a terminal
        if poll.status == "error":
            lines.append(("red", "error", f"{source}: {poll.error or ''}"))
        elif poll.status == "not_modified":
            lines.append(("dim", "not modified", source))
        else:
            lines.append(
                (
                    "",
                    "ok",
                    f"{source}: {plural(poll.entries, 'entry', 'entries')}, "
                    f"{poll.new_articles} new{poll.edits_note()}, "
                    f"{plural(poll.matches, 'match', 'matches')}, "
                    f"{plural(poll.deliveries, 'alert')} queued{_not_alerted(poll)}",
                )
            )
    for skipped in report.skipped:
        lines.append(("yellow", "skipped", f"{skipped.source}: {_skip_text(skipped)}"))
    counts = _once_counts(report)
    lines.append(
        (
            "",
            "sources:",
            f"{counts['enabled']} enabled: {counts['ok']} polled ok, "
            f"{counts['not_modified']} not modified, {counts['failed']} failed, "
            f"{counts['skipped']} skipped; {counts['disabled']} disabled",
        )
    )
    delivered = sum(d.status == "delivered" for d in report.deliveries)
    dead = sum(d.status == "dead" for d in report.deliveries)
    retrying = f"{report.retrying} retrying"
    if report.stopped_by is not None and report.pending:
        # Some were never tried: the stop came first. The next run sends them.
        retrying = (
            f"{report.pending} not delivered yet (the run was stopped; the next run sends them)"
        )
    else:
        due = report.next_attempt_at
        if due is not None and report.retrying:
            if report.finished_at is not None and due <= report.finished_at:
                # A retry that fell due during the pass is the next run's (one try each).
                retrying += f" (due since {_short(due)}: the next run or the service sends them)"
            else:
                retrying += f" (next attempt {_short(due)})"
        if report.sending_elsewhere:
            retrying += f", {report.sending_elsewhere} being sent by another instance"
        if report.held:
            retrying += (
                f", {report.held} kept for a sink that is not configured or is disabled "
                "(sent when it is back; `monitor alerts`)"
            )
        if report.waiting:
            updates = "it updates" if report.waiting == 1 else "they update"
            retrying += f", {report.waiting} waiting for the alert {updates} (`monitor alerts`)"
    summary = f"{delivered} delivered, {retrying}, {dead} dead"
    if report.delivered_elsewhere:
        summary += (
            f"; {report.delivered_elsewhere} delivered by another instance meanwhile "
            "(`monitor alerts`)"
        )
    if report.dead_before:
        summary += (
            f"; {report.dead_before} dead from earlier runs "
            "(`monitor alerts --status dead`, `monitor alerts retry`)"
        )
    lines.append(("", "alerts:", summary))
    print_styled(lines, out)
    if not report.polls and report.skipped and report.stopped_by is None:
        soonest = min((s.until for s in report.skipped if s.until is not None), default=None)
        when = f", the first until {_short(soonest)}" if soonest is not None else ""
        _hint(
            f"no source was polled: {plural(len(report.skipped), 'enabled source')} "
            f"{'is' if len(report.skipped) == 1 else 'are'} held back{when}; "
            "`monitor sources` shows why"
        )
    if any(s.until is not None for s in report.skipped):
        _hint(
            "a feed fixed since it failed: `monitor sources retry NAME` ends its wait, "
            "then `monitor once` polls it"
        )


def _hint(text: str, level: int = logging.INFO) -> None:
    """A line for the operator on standard error: a log line (logger ``monitor.cli``) when
    logs are JSON, so that every line there stays JSON; else the text as it is."""
    from monitor.logs import current_log_setup

    setup = current_log_setup()
    if setup is not None and setup.format == "json":
        logging.getLogger("monitor.cli").log(level, "%s", text)
    else:
        err.print(text, markup=False, highlight=False)


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate the config and its watchlists (and their examples); exit 1 on any problem
    (2 when there is no config file to check, as for every command)."""
    from monitor.check import check_config
    from monitor.settings import config_path

    if not config_path(config).is_file():
        fail(ConfigError(check_config(config)[0]))
    problems, warnings, notes = check_config(config)
    for note in notes:
        out.print(f"[dim]checked:[/dim] {escape(note)}")
    for warning in warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", markup=True, highlight=False)
    if problems:
        for problem in problems:
            err.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
        err.print(f"{plural(len(problems), 'problem')} found")
        raise typer.Exit(1)
    out.print("[green]config OK[/green]")


@app.command()
def reload(
    config: ConfigOption = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for the service to take the new config; 0: signal and do "
            "not wait.",
        ),
    ] = 10.0,
    no_check: Annotated[
        bool,
        typer.Option(
            "--no-check",
            help="Skip validating the watchlists, sources and sinks here first (when this "
            "shell lacks the environment of the service, such as its ${VAR}s). The settings "
            "must still load, to find the database: an unknown key or a bad value is still "
            "refused (exit 2).",
        ),
    ] = False,
) -> None:
    """Make the running service re-read its config (SIGHUP), and say whether it took it.

    The config is validated here first, as `monitor check` words it. Exit 0: reloaded (the
    new generation is printed), or signalled with --wait 0; 1: the service refused the new
    config (it says why), no new generation within --wait seconds, or the service could not
    be signalled; 2: the config is invalid (nothing was signalled), or the database cannot
    be read; 3: no service runs on the database."""
    from monitor.db.problems import sqlite_path
    from monitor.db.store import Store
    from monitor.redact import use_secret_params
    from monitor.reload import find_services, send_sighup
    from monitor.validate import validate_config

    try:
        try:
            loaded = load_settings(config)
        except ConfigError as unloadable:
            # Every problem at once, as `monitor check` shows them (the watchlists' too): an
            # outside probe fixed a typo only to be refused again for a rule.
            from monitor.check import check_config

            raise ConfigError(check_config(config)[0] or unloadable.problems) from None
        if not no_check:
            use_secret_params(loaded.settings.redact_query_params)
            validate_config(loaded, need_sinks=True)
    except ConfigError as error:
        for problem in error.problems:
            err.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
        err.print(f"{plural(len(error.problems), 'problem')} found")
        err.print("the service was not signalled: fix the config, then run `monitor reload` again")
        raise typer.Exit(EXIT_USAGE) from None
    store = Store(loaded.settings.database_url)
    try:
        database = sqlite_path(store.database.engine)
        shown = str(database) if database else redact_url(store.url)
        instances = []
        if _has_schema(store, database):  # else no service ever ran on it
            store.prepare(allow_create=False, writable=False)
            instances = store.list_instances()
            _note_unnamed_sinks(store, loaded)
        found = find_services(instances, datetime.now(UTC), sqlite=database)
        if not found.here:
            if found.not_a_service:
                err.print(f"{found.not_a_service}; nothing was signalled", markup=False)
            for row in found.elsewhere:
                _print_elsewhere(row)
            err.print(f"no service is running on {shown}", markup=False)
            raise typer.Exit(EXIT_NO_SERVICE)
        if len(found.here) > 1:
            out.print(
                f"{len(found.here)} services run on {shown} on this host: signalling each",
                markup=False,
            )
        for row in found.elsewhere:
            _print_elsewhere(row)
        for row in found.here:
            if row.config_path and Path(row.config_path) != loaded.path:
                err.print(
                    f"note: the service (pid {row.pid}) reads {row.config_path}, not "
                    f"{loaded.path}: it reloads its own file",
                    markup=False,
                )
        _note_the_environment(loaded)
        code = _signal_and_wait(store, found.here, wait, send_sighup)
    except MonitorError as error:
        fail(error)
    finally:
        store.close()
    raise typer.Exit(code)


def _note_unnamed_sinks(store: Store, loaded: LoadedSettings) -> None:
    """Say which alerts wait for a sink the new config does not name (a sink removed or
    renamed: its alerts wait for a sink of that name, and `reload` said nothing of them)."""
    from monitor.status import unnamed_sink_notes

    outbox = store.status(datetime.now(UTC), unhealthy_after=1, details=False).health.sinks
    for note in unnamed_sink_notes(outbox, {sink.name for sink in loaded.settings.sinks}):
        err.print(f"note: {note}", markup=False)


def _note_the_environment(loaded: LoadedSettings) -> None:
    """Say which environment variables a reload does not reread: those the config names
    (``${VAR}``) and the ``MONITOR_*`` ones set here (an outside probe changed a sink's
    secret in the environment, reloaded, was told "reloaded", and the old secret stayed)."""
    try:
        named = variables_named(loaded.path.read_text(encoding="utf-8"))
    except OSError:
        named = []
    from monitor.validate import NOT_SETTINGS

    here = [
        name
        for name in os.environ
        if name.upper().startswith("MONITOR_") and name.upper() not in NOT_SETTINGS
    ]
    shown = sorted(set(named)) + sorted(set(here) - set(named))
    if shown:
        err.print(
            "note: a reload rereads the files, not the environment: "
            f"{', '.join(shown)} keep the values the service was started with (a changed "
            "one needs a restart)",
            markup=False,
        )


def _has_schema(store: Store, database: Path | None) -> bool:
    """Whether the database exists and has a schema (``database``: its SQLite file)."""
    from sqlalchemy.exc import DBAPIError

    from monitor.db.engine import current_revision
    from monitor.db.problems import unusable

    if database is not None and not database.exists():
        return False
    try:
        return current_revision(store.database.engine) is not None
    except DBAPIError as error:
        raise unusable(store.database.engine, error) from None


def _print_elsewhere(row: InstanceRow) -> None:
    err.print(
        f"a service runs on host {row.hostname} (pid {row.pid}): it cannot be signalled "
        "from here; reload it on that host (`monitor reload` there, `systemctl reload "
        "<unit>`, or `docker compose kill -s HUP <service>`)",
        markup=False,
    )


def _signal_and_wait(
    store: Store,
    rows: list[InstanceRow],
    wait: float,
    send_sighup: Callable[[int], str | None],
) -> int:
    """SIGHUP each instance of ``rows``; wait up to ``wait`` seconds (0: not at all) for the
    generation of each to go up or a refusal to be recorded; print one line each; the exit
    code."""
    import time

    several = len(rows) > 1
    waiting = {}
    code = EXIT_OK
    for row in rows:
        prefix = f"{row.hostname}:{row.pid}: " if several else ""
        problem = send_sighup(row.pid)
        if problem:
            err.print(f"{prefix}could not signal the service (pid {row.pid}): {problem}")
            code = EXIT_PROBLEM
        elif wait == 0:
            out.print(f"{prefix}signalled (pid {row.pid})", markup=False)
        else:
            waiting[row.owner] = (row, prefix)
    deadline = time.monotonic() + wait
    while waiting:
        now = {r.owner: r for r in store.list_instances() if r.owner in waiting}
        for owner, (before, prefix) in list(waiting.items()):
            after = now.get(owner)
            if after is not None and after.config_generation > before.config_generation:
                out.print(f"{prefix}reloaded: generation {after.config_generation}", markup=False)
                del waiting[owner]
            elif after is not None and after.reload_failed_at != before.reload_failed_at:
                err.print(
                    f"{prefix}the service refused the new config (generation still "
                    f"{after.config_generation}):",
                    markup=False,
                )
                for line in (after.reload_error or "").splitlines():
                    err.print(f"{prefix}  {line}", markup=False)
                code = EXIT_PROBLEM
                del waiting[owner]
            elif after is None or after.stopped_at is not None:
                err.print(f"{prefix}the service stopped before it reloaded", markup=False)
                code = EXIT_PROBLEM
                del waiting[owner]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    for before, prefix in waiting.values():
        # Neither a new generation nor a refusal recorded: it may still be reloading.
        err.print(
            f"{prefix}no new generation within {wait:g} s (still {before.config_generation}): "
            "the service may still be reloading; check its log or `monitor status`",
            markup=False,
        )
        code = EXIT_PROBLEM
    return code


@app.command()
def match(
    jsonl: Annotated[
        str,
        typer.Option("--jsonl", help="JSON-lines file of articles, or - for standard input."),
    ] = "-",
    config: ConfigOption = None,
    watchlist: Annotated[
        list[Path] | None,
        typer.Option("--watchlist", "-w", help="Watchlist file(s) to use instead of the config's."),
    ] = None,
) -> None:
    """Match articles offline: one JSON line in ({"id","title","summary","content"}), one out."""
    from monitor.match import Matcher
    from monitor.match.watchlist_file import load_watchlist
    from monitor.matchio import LineError, match_lines
    from monitor.validate import load_watchlists

    try:
        if watchlist:
            watchlists = [load_watchlist(path) for path in watchlist]
            excerpt_chars = 300
        else:
            loaded = _settings(config)
            watchlists = load_watchlists(loaded)
            excerpt_chars = loaded.settings.match.excerpt_chars
    except ConfigError as error:
        fail(error)
    matcher = Matcher(watchlists, excerpt_chars=excerpt_chars)
    try:
        stream = sys.stdin if jsonl == "-" else open(jsonl, encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        fail(f"cannot read {jsonl}: {error.strerror}")
    errors = 0
    with stream:
        for result in match_lines(matcher, stream):
            if isinstance(result, LineError):
                errors += 1
                err.print(
                    f"[red]error:[/red] {escape(f'{jsonl}: {result}')}",
                    markup=True,
                    highlight=False,
                )
            else:
                _write_json(result)
                sys.stdout.flush()
    if errors:
        raise typer.Exit(1)


@app.command()
def explain(
    file: Annotated[
        str | None,
        typer.Argument(
            help="The article: a JSON object {title, summary, content} or its content as "
            "text/HTML; - for standard input.",
            show_default=False,
        ),
    ] = None,
    article_id: Annotated[
        int | None, typer.Option("--id", help="A stored article, by id.", show_default=False)
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="A stored article, by its URL.", show_default=False),
    ] = None,
    config: ConfigOption = None,
    watchlist: Annotated[
        list[Path] | None,
        typer.Option("--watchlist", "-w", help="Watchlist file(s) to use instead of the config's."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Explain one article: every name found (kept or dropped, and by what), every rule's
    value, and whether each watchlist would alert, and to which sinks. Exit 1 on a problem."""
    from monitor.config import SinkConfig
    from monitor.db.store import Store
    from monitor.explain import (
        ArticleInput,
        explanation_json,
        read_article,
        render_explanation,
        stored_article,
    )
    from monitor.match import Matcher, Watchlist
    from monitor.match.watchlist_file import load_watchlist
    from monitor.validate import validate_config

    if sum(given is not None for given in (file, article_id, url)) != 1:
        fail("give one article: a FILE (or - for standard input), --id N or --url URL", 2)
    try:
        # The config gives the watchlists and sinks, and the database of --id/--url.
        needs_config = config is not None or not watchlist or file is None
        loaded = load_settings(config) if needs_config else None
        if loaded is not None:
            _log_as_configured(loaded)
        article: ArticleInput
        if file is not None:
            article = read_article(file, sys.stdin.read() if file == "-" else None)
        else:
            assert loaded is not None
            store = Store(loaded.settings.database_url)
            try:
                store.prepare(allow_create=False, writable=False)
                article = stored_article(store, article_id=article_id, url=url)
            finally:
                store.close()
        watchlists: list[Watchlist]
        sinks: list[SinkConfig] | None = None
        routes: dict[str, tuple[str, ...]] = {}
        if watchlist:
            watchlists = [load_watchlist(path) for path in watchlist]
            excerpt_chars = 300
        else:
            assert loaded is not None
            valid = validate_config(loaded, need_sinks=False)
            watchlists, routes = valid.watchlists, valid.routes
            sinks = list(loaded.settings.sinks)
            excerpt_chars = loaded.settings.match.excerpt_chars
        explanation = Matcher(watchlists, excerpt_chars=excerpt_chars).explain(article.fields)
    except (ConfigError, DatabaseError) as error:
        fail(error, 2)  # could not start, as for every command
    except MonitorError as error:
        fail(error, 1)
    max_age = loaded.settings.alert_max_age if loaded is not None else None
    document = explanation_json(article, explanation, sinks, routes, max_age)
    if as_json:
        _write_json(document)
    else:
        sys.stdout.write(render_explanation(document) + "\n")


@app.command()
def replay(
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="How far back (fetch time): a duration (24h, 7d) or a UTC date or time "
            "(2026-12-01, 2026-12-01T06:00).",
        ),
    ] = "7d",
    watchlist: Annotated[
        str | None, typer.Option("--watchlist", help="Only this watchlist (by name).")
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="An older watchlist file: show what the change does."),
    ] = None,
    deliver: Annotated[
        bool,
        typer.Option(
            "--deliver",
            help="Queue the alerts as the service would (each sink's story policy and "
            "digests; never twice per sink, nor a story a sink was told of).",
        ),
    ] = False,
    new_sinks: Annotated[
        bool,
        typer.Option(
            "--new-sinks",
            help="With --deliver: the sinks never sent anything are new receivers, not "
            "renamed ones (replay refuses otherwise while the database holds alerts of sinks "
            "the config no longer names).",
        ),
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Run the current watchlists over stored articles and show what would have alerted."""
    from monitor.replay import render_replay, replay_articles

    start = _since(since)
    runtime = _runtime(config, need_sinks=deliver, create=False, writes=deliver)
    try:
        report = replay_articles(
            runtime,
            since=start if isinstance(start, datetime) else runtime.clock() - start,
            watchlist=watchlist,
            against=against,
            deliver=deliver,
            new_sinks=new_sinks,
        )
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()
    if as_json:
        _write_json(report)
    else:
        render_replay(out, report)


@app.command()
def stories(
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="Stories with an article fetched since: a duration (24h, 7d) or a UTC date "
            "or time (2026-12-01, 2026-12-01T06:00).",
        ),
    ] = "7d",
    limit: Annotated[
        int,
        typer.Option("--limit", min=1, max=1_000_000, help="How many, the latest published first."),
    ] = 50,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Recent stories: near-identical articles from any source, grouped (docs/stories.md),
    the latest first. Reads only; never creates a database."""
    from monitor.text import html_to_text

    start = _since(since)
    runtime = _runtime(config, need_sinks=False, create=False, writes=False)
    try:
        found, total = runtime.store.recent_stories(
            start if isinstance(start, datetime) else runtime.clock() - start, limit
        )
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()
    if as_json:
        _write_json(
            {
                "total": total,
                "stories": [
                    {
                        "id": s.id,
                        "title": html_to_text(s.title),
                        "article_count": s.article_count,
                        "sources": s.sources,
                        "first_seen_at": _iso(s.first_seen_at),
                        "last_seen_at": _iso(s.last_seen_at),
                        "entities": list(s.entities),
                        "alerts": [
                            {
                                "sink": a.sink,
                                "watchlist": a.watchlist,
                                "kind": a.kind,
                                "delivery_id": a.delivery_id,
                                "status": a.status,
                                "entities": list(a.entities),
                                "at": _iso(a.created_at),
                            }
                            for a in s.alerts
                        ],
                        "articles": [
                            {
                                "id": a.article_id,
                                "source": a.source_name,
                                "title": html_to_text(a.title),
                                "url": redact_url(a.canonical_url) if a.canonical_url else None,
                                "at": _iso(a.at),
                                "jaccard": round(a.jaccard, 3),
                            }
                            for a in s.articles
                        ],
                    }
                    for s in found
                ],
            }
        )
        return
    print_rows(
        out,
        ("story", "articles", "sources", "entities", "sent", "latest article", "title"),
        [
            (
                str(s.id),
                str(s.article_count),
                _cut(terminal_text(", ".join(s.sources)), 60),
                _cut(terminal_text(", ".join(e.split("/", 1)[-1] for e in s.entities)), 40),
                _cut(terminal_text(_sent(s.alerts)), 40),
                _short(s.last_seen_at),
                _cut(terminal_text(_story_title(s.title)), 70),
            )
            for s in found
        ],
    )
    if not found:
        out.print("no stories in that time")
    elif total > len(found):
        out.print(f"the latest {len(found)} of {plural(total, 'story', 'stories')} (--limit)")
    else:
        out.print(plural(len(found), "story", "stories"))


def _sent(alerts: Sequence[StoryAlert]) -> str:
    """A story's alerts as sink:kind, each once, with how many when more than one
    ("energy:all x2, digest:digest")."""
    counts = Counter(f"{alert.sink}:{alert.kind}" for alert in alerts)
    return ", ".join(f"{key} x{n}" if n > 1 else key for key, n in counts.items()) or "-"


@sources_app.callback(invoke_without_command=True)
def sources(ctx: typer.Context, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Feed health: last poll, status, consecutive failures, last error, next poll.

    Subcommands add, remove, import and export the configured sources."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = config  # `monitor sources --config X add URL`
        return

    # Reads only: the database's sources are the running service's (its config as last
    # loaded); this config's differences are shown, not written (`monitor reload` does that).
    runtime = _runtime(config, need_sinks=False, create=False, writes=False, need_watchlists=False)
    try:
        rows = runtime.store.list_sources()
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()
    configured = {spec.url for spec in runtime.specs() if spec.enabled}
    stored = {r.url for r in rows}
    pending = [s for s in runtime.specs() if s.enabled and s.url not in stored]
    unlisted = {r.id for r in rows if r.enabled and r.url not in configured}
    # Disabled because the config no longer lists it (not `enabled: false` in it): it read as
    # configured (an outside probe, probe68).
    listed = {spec.url for spec in runtime.specs()}
    removed = {r.id for r in rows if not r.enabled and r.url not in listed}
    # Enabled here, disabled in the database: another instance's config (or this one's
    # before an edit not yet reloaded) does not list it (an outside probe ran two instances,
    # added a source to one config: it ended disabled with no word why).
    held_off = {r.id for r in rows if not r.enabled and r.url in configured}
    # The stored URL is the one fetched, credentials included: only its redacted form is shown
    # (in the name too: a source from an OPML outline without a title is named by its URL).
    names = {r.id: redact_text(r.name) for r in rows}
    errors = {r.id: redact_text(r.last_error, r.url) if r.last_error else None for r in rows}
    unhealthy_after = runtime.settings.poll.unhealthy_after
    if as_json:
        data = [
            {
                "name": names[r.id],
                "url": redact_url(r.url),
                "enabled": r.enabled,
                "health": r.health(unhealthy_after),
                "interval_seconds": int(r.base_interval.total_seconds()),
                # The wait in force: the back-off after failures (the table's "4m6s backoff"),
                # else the interval (an outside probe read 60 for a wait of 482 s).
                "wait_seconds": int(_interval_now(r).total_seconds()),
                "schedule": _schedule_reason(r),
                "pinned": r.interval_pinned,
                "entry_rate_per_hour": r.entry_rate_per_hour,
                "hint_seconds": int(r.hint.total_seconds()) if r.hint else None,
                "moved_to": suggested_url(r.moved_to) if r.moved_to else None,
                "gone_at": _iso(r.gone_at),
                "last_polled_at": _iso(r.last_polled_at),
                "last_success_at": _iso(r.last_success_at),
                "next_poll_at": None if r.gone_at or not r.enabled else _iso(r.next_poll_at),
                "last_status": r.last_status,
                "consecutive_failures": r.consecutive_failures,
                "last_error_reason": r.last_error_reason,
                "last_error": errors[r.id],
                "articles_stored": r.articles_stored,
                "in_config": r.id not in unlisted and r.id not in removed,
                "disabled_elsewhere": r.id in held_off,
            }
            for r in rows
        ]
        data += [
            {"name": redact_text(s.name), "url": redact_url(s.url), "in_database": False}
            for s in pending
        ]
        _write_json(data)
        return
    table_rows = []
    for r in rows:
        note = f"{r.last_error_reason}: {_without_url(errors[r.id], r.url)}" if r.last_error else ""
        if r.moved_to:
            note = (
                f"moved permanently to {suggested_url(r.moved_to)}: update its URL in the config"
                + (f"; {note}" if note else "")
            )
        if r.id in unlisted:
            note = "not in this config: polled until the service reloads it" + (
                f"; {note}" if note else ""
            )
        elif r.id in removed:
            note = "not in this config: no longer polled (its articles stay)" + (
                f"; {note}" if note else ""
            )
        elif r.id in held_off:
            note = (
                "enabled in this config but disabled in the database: the config the service "
                "last loaded (another instance's, or this one before `monitor reload`) does "
                "not enable it; give every instance the same sources, then reload"
            ) + (f"; {note}" if note else "")
        pollable = r.enabled and r.gone_at is None
        table_rows.append(
            (
                terminal_text(names[r.id]),
                r.health(unhealthy_after),
                str(r.last_status or "-"),
                f"{format_duration(_interval_now(r))} {_schedule_reason(r)}",
                str(r.consecutive_failures),
                _short(r.last_polled_at),
                _short(r.next_poll_at) if pollable else "-",
                str(r.articles_stored),
                terminal_text(note),
            )
        )
    print_rows(
        out,
        (
            "name",
            "health",
            "status",
            "interval",
            "fails",
            "last poll",
            "next poll",
            "stored",
            "note",
        ),
        table_rows,
    )
    if pending:
        shown = ", ".join(terminal_text(redact_text(s.name)) for s in pending)
        out.print(
            f"{plural(len(pending), 'source')} of this config not polled yet (the service adds "
            f"them when it starts, or at `monitor reload`): {shown}",
            markup=False,
        )


def _interval_now(row: SourceRow) -> timedelta:
    """The wait in force: after failures, from the last poll to the next (the back-off),
    else the source's interval."""
    if row.consecutive_failures and row.last_polled_at is not None and row.gone_at is None:
        waited = row.next_poll_at - row.last_polled_at
        if waited > timedelta(0):
            return waited
    return row.base_interval


def _schedule_reason(row: SourceRow) -> str:
    """Why the source's interval is what it is (`monitor.schedule`): pinned, initial,
    adaptive, hint, backoff or gone."""
    if row.gone_at is not None:
        return GONE
    if row.consecutive_failures:
        return BACKOFF
    return row.schedule_reason or (PINNED if row.interval_pinned else INITIAL)


def _with_sqlite_lock(report: Status, store: Store) -> Status:
    """On SQLite a free instance lock proves no service runs (as `monitor reload` judges):
    instances of this host that still look alive by their heartbeat are dead (killed less
    than a heartbeat ago), so `status` and `reload` agree."""
    import dataclasses
    import socket

    from monitor.db.problems import sqlite_path
    from monitor.reload import lock_is_held

    database = sqlite_path(store.database.engine)
    if database is None or lock_is_held(database):
        return report
    host = socket.gethostname()
    instances = [
        dataclasses.replace(row, lock_free=True) if row.hostname == host else row
        for row in report.instances
    ]
    return dataclasses.replace(report, instances=instances)


@app.command()
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """One screen for an operator: is a service running on this database, source health,
    recent activity, the outbox, the last errors. Reads only; never creates a database.

    Exit 0: running and healthy; 1: running but degraded (unhealthy or gone sources, dead
    letters, a delivery pending for over 15 min, a source due over a minute ago that no
    instance has started polling); 3: no service running on this database;
    2: it could not start (config, database)."""
    from monitor.status import render_status, status_json, verdict

    runtime = _runtime(config, need_sinks=False, create=False, writes=False, need_watchlists=False)
    unhealthy_after = runtime.settings.poll.unhealthy_after
    try:
        report = runtime.store.status(
            runtime.clock(),
            unhealthy_after=unhealthy_after,
            lease=runtime.settings.poll.lease,
            longest_poll=runtime.settings.fetch.total_timeout,
        )
        report = _with_sqlite_lock(report, runtime.store)
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()
    sink_urls = [sink.url for sink in runtime.settings.sinks]
    if as_json:
        document = status_json(report, unhealthy_after, sink_urls)
        _write_json(document)
    else:
        names = [sink.name for sink in runtime.settings.sinks]
        sys.stdout.write(render_status(report, unhealthy_after, sink_urls, names) + "\n")
    raise typer.Exit(verdict(report).exit_code)


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    status: Annotated[
        DeliveryStatus | None, typer.Option("--status", help="Only deliveries in this state.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1_000_000, help="How many, newest first.")
    ] = 50,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List alert deliveries (pending, delivered, dead, dropped), newest first. "tries"
    counts the sends since a delivery was queued or last made due again (`alerts retry`, a
    change of its sink's URL or secret), not every request its receiver ever got."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = config  # `monitor alerts --config X drop ID`
        return

    runtime = _runtime(config, need_sinks=False, create=False, writes=False, need_watchlists=False)
    try:
        rows = runtime.store.list_deliveries(
            status=status.value if status is not None else None, limit=limit
        )
        counts = runtime.store.count_deliveries()
    finally:
        runtime.store.close()
    sink_urls = [sink.url for sink in runtime.settings.sinks]
    errors = {r.id: redact_text(r.last_error, *sink_urls) if r.last_error else None for r in rows}
    now = runtime.clock()
    held = {r.id for r in rows if _held(r, now)}
    if as_json:
        data = {
            "counts": counts,
            "deliveries": [
                {
                    "id": r.id,
                    "sink": r.sink,
                    "status": r.status,
                    "attempts": r.attempts,
                    "watchlist": r.watchlist,
                    "entities": list(r.entities),
                    "title": r.title,
                    "created_at": _iso(r.created_at),
                    "delivered_at": _iso(r.delivered_at),
                    "next_attempt_at": _iso(r.next_attempt_at),
                    "waits_for": r.waits_for,
                    "digest_stories": r.stories or None,
                    "last_error_reason": r.last_error_reason,
                    "last_error": errors[r.id],
                    "held": r.id in held,
                }
                for r in rows
            ],
        }
        _write_json(data)
        return
    if rows:  # no empty frame above "no deliveries yet"
        print_rows(
            out,
            (
                Column("id", no_wrap=True, min_width=8),  # what `alerts retry` and `drop` take
                "sink",
                "status",
                "tries",
                "next try",
                "watchlist",
                "entities",
                "title",
                "last error",
            ),
            [
                (
                    r.id[:8],
                    terminal_text(r.sink),
                    r.status,
                    str(r.attempts),
                    _next_try(r),
                    terminal_text(r.watchlist),
                    terminal_text(", ".join(r.entities)),
                    _cut(terminal_text(r.title), 60),
                    _cut(terminal_text(errors[r.id] or (HELD if r.id in held else "")), 60),
                )
                for r in rows
            ],
        )
    out.print(_alerts_footer(len(rows), status, limit, counts))


def _alerts_footer(
    shown: int, status: DeliveryStatus | None, limit: int, counts: dict[str, int]
) -> str:
    """What the table shows and what there is: ``shown 2 dead; all deliveries: dead: 2,
    delivered: 6`` (the counts are never those of the filter alone)."""
    if not counts:
        return "no deliveries yet"
    every = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    if status is None and shown < limit:
        return every
    what = f"{shown} {status.value}" if status is not None else str(shown)
    newest = f" (the newest {limit}: --limit)" if shown >= limit else ""
    return f"shown {what}{newest}; all deliveries: {every}"


HELD = "held: the sink's receiver asked to wait (Retry-After)"


def _held(row: DeliveryRow, now: datetime) -> bool:
    """Whether a delivery waits, never tried, for the time its sink's receiver asked the
    sink to wait (a Retry-After held every pending alert of the sink, and those queued
    meanwhile: their row has no error of its own to show)."""
    return (
        row.status == "pending"
        and row.attempts == 0
        and row.last_error is None
        and row.waits_for is None
        and row.next_attempt_at > now
    )


def _next_try(row: DeliveryRow) -> str:
    """When a pending delivery is tried next: its time, or after the original alert it
    follows up (`monitor alerts retry` or `drop` that one to release it)."""
    if row.status != "pending":
        return "-"
    if row.waits_for is not None:
        return f"after {row.waits_for[:8]}"
    return _short(row.next_attempt_at)


@alerts_app.command("retry")
def alerts_retry(
    ctx: typer.Context,
    delivery_id: Annotated[
        str | None,
        typer.Argument(
            help="A delivery id, or the short id `monitor alerts` shows (any unique prefix); "
            "default: every dead delivery.",
            show_default=False,
        ),
    ] = None,
    sink: Annotated[
        str | None,
        typer.Option(
            "--sink",
            help="Every dead delivery of this sink and every one waiting for a retry or held "
            "by its receiver's Retry-After: due now, their retry schedule started over (after "
            "fixing the sink).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Put dead deliveries (or one delivery, or a sink's) back in the queue for the next
    delivery pass."""
    if sink is not None and delivery_id is not None:
        fail("give a delivery id or --sink, not both", EXIT_USAGE)
    runtime = _runtime(
        _group_config(ctx, config), need_sinks=False, create=False, need_watchlists=False
    )
    names = [s.name for s in runtime.settings.sinks]
    if sink is not None and sink not in names:
        runtime.store.close()
        known = ", ".join(names) or "none"
        fail(f"--sink {sink!r}: no sink of that name in the config (its sinks: {known})")
    try:
        if sink is not None:
            count = runtime.store.retry_sink(sink, now=runtime.clock(), dead=True)
        elif delivery_id is None:
            count = runtime.store.requeue(now=runtime.clock())
        else:
            full = _one_delivery(runtime, delivery_id)
            count = runtime.store.requeue(now=runtime.clock(), delivery_id=full)
            if not count:
                fail(
                    f"delivery {full[:8]} was delivered already: nothing to re-queue", EXIT_PROBLEM
                )
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()
    out.print(f"{plural(count, 'delivery', 'deliveries')} re-queued")


@alerts_app.command("drop")
def alerts_drop(
    ctx: typer.Context,
    delivery_id: Annotated[
        str | None,
        typer.Argument(
            help="A delivery id, or the short id `monitor alerts` shows (any unique prefix).",
            show_default=False,
        ),
    ] = None,
    all_dead: Annotated[
        bool, typer.Option("--all-dead", help="Every dead delivery instead of one.")
    ] = False,
    sink: Annotated[
        str | None,
        typer.Option(
            "--sink",
            help="Every pending and dead delivery of this sink (a sink removed or renamed in "
            "the config, a receiver that is gone).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Give up on a delivery for good (one that is pending or dead: a sink that is gone, a
    receiver that will never take it), on every dead one, or on a sink's pending and dead
    ones: it is never sent or retried, and `monitor alerts retry ID` takes it back."""
    given = [g for g in (delivery_id is not None, all_dead, sink is not None) if g]
    if not given:
        fail("give one delivery id, --all-dead or --sink NAME")
    if len(given) > 1:
        fail("give one delivery id, --all-dead or --sink NAME, not more than one")
    runtime = _runtime(
        _group_config(ctx, config), need_sinks=False, create=False, need_watchlists=False
    )
    try:
        if sink is not None:
            _drop_sink(runtime, sink)
            return
        if delivery_id is None:
            count = runtime.store.drop_deliveries(now=runtime.clock())
        else:
            full = _one_delivery(runtime, delivery_id)
            count = runtime.store.drop_deliveries(now=runtime.clock(), delivery_id=full)
            if not count:
                status = runtime.store.delivery_status(full)
                if status == "pending":  # leased: a send of it is in progress
                    fail(
                        f"delivery {full[:8]} is being sent now; it cannot be taken back from a "
                        "send in progress: run `monitor alerts` once the send has ended, and "
                        "drop it then if it failed",
                        EXIT_PROBLEM,
                    )
                if status != "dropped":
                    fail(f"delivery {full[:8]} was delivered: nothing to drop", EXIT_PROBLEM)
                out.print(f"delivery {full[:8]} was dropped already")
                return
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()
    out.print(f"{plural(count, 'delivery', 'deliveries')} dropped")


def _drop_sink(runtime: Runtime, sink: str) -> None:
    """`monitor alerts drop --sink NAME`: every pending and dead delivery of the sink,
    but one being sent now; says how many, and what is left."""
    known = runtime.store.delivery_sinks()
    if sink not in known:
        some = ", ".join(repr(k) for k in known) or "none"
        fail(
            f"--sink {sink!r}: no alert was ever queued for a sink of that name (sinks with "
            f"alerts: {some})",
            EXIT_PROBLEM,
        )
    now = runtime.clock()
    count = runtime.store.drop_deliveries(now=now, sink=sink)
    left = runtime.store.status(now, unhealthy_after=1, details=False).health.sinks.get(sink)
    out.print(
        f"{plural(count, 'delivery', 'deliveries')} of sink {terminal_text(sink)!r} dropped",
        markup=False,
    )
    if left is not None and left.pending:
        out.print(
            f"{plural(left.pending, 'delivery is', 'deliveries are')} being sent now and "
            "cannot be taken back from a send in progress: run this again once the send "
            "has ended",
            markup=False,
        )


def _one_delivery(runtime: Runtime, given: str) -> str:
    """The full id of the one delivery whose id starts with ``given``; else one line, exit 1."""
    prefix = given.strip().lower()
    found = runtime.store.delivery_ids(prefix, limit=4) if prefix else []
    shown = _shown_id(given)
    if not found:
        fail(f"no delivery has the id {shown}; `monitor alerts` lists them", EXIT_PROBLEM)
    if len(found) > 1:
        some = ", ".join(i[: max(12, len(prefix) + 4)] for i in found[:3])
        more = ", ..." if len(found) > 3 else ""
        fail(
            f"the id {shown} is ambiguous: it starts {some}{more}; give more of it",
            EXIT_PROBLEM,
        )
    return found[0]


def _shown_id(given: str) -> str:
    """A delivery id as typed, shown on one line."""
    return repr(given[:64])


# --- monitor sources add / remove / import / export (monitor/sourceedit.py) ----------------

NoCheckOption = Annotated[
    bool,
    typer.Option("--no-check", help="Save without fetching the feed first."),
]


class ExportFormat(StrEnum):
    """The formats ``monitor sources export`` writes."""

    opml = "opml"
    yaml = "yaml"


def _group_config(ctx: typer.Context, config: Path | None) -> Path | None:
    """A subcommand's ``--config``, else its group's (`monitor alerts -c X drop ID`)."""
    return config or (ctx.obj if isinstance(ctx.obj, Path) else None)


def _sources_config(ctx: typer.Context, config: Path | None) -> tuple[LoadedSettings, ValidConfig]:
    """The config a sources subcommand edits, valid as `monitor check` wants it (sinks'
    secrets aside); else one line per problem, exit 2."""
    from monitor.redact import use_secret_params
    from monitor.validate import validate_config

    loaded = _settings(_group_config(ctx, config))
    use_secret_params(loaded.settings.redact_query_params)
    try:
        return loaded, validate_config(loaded, need_sinks=False)
    except ConfigError as error:
        fail(error)


def _validated(
    loaded: LoadedSettings, edit: Edit, before: ValidConfig, *, quiet: bool = False
) -> None:
    """Refuse ``edit`` (exit 2, nothing written) unless the config it makes is valid; show
    the warnings it adds (unless ``quiet``: shown by an earlier validation)."""
    from monitor.sourceedit import validate_edit

    try:
        after = validate_edit(loaded, edit)
    except ConfigError as error:
        for problem in error.problems:
            problem = _as_planned(problem, edit)
            err.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
        err.print("the config would not be valid: nothing was changed", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    if quiet:
        return
    for warning in after.warnings:
        if warning not in before.warnings:
            err.print(f"[yellow]warning:[/yellow] {escape(warning)}", markup=True)
    known = {spec.url for spec in before.specs}
    added = [spec for spec in after.specs if spec.url not in known]
    if added:  # saved without a fetch (--no-check): say what the guard will refuse
        from monitor.check import refused_targets

        report = refused_targets(loaded, added, look_up_names=False, sinks=False)
        for message in report.refused:
            err.print(f"[yellow]warning:[/yellow] {escape(message)}", markup=True)


def _as_planned(problem: str, edit: Edit) -> str:
    """A problem found in a file ``edit`` would write, named as what this command would
    write there: the file is not written, so its line (or the file) does not exist."""
    for path in edit.files:
        found = re.match(re.escape(str(path)) + r":\d+: ", problem)
        if found:
            return f"the entry this command would write to {path}: {problem[found.end() :]}"
    return problem


def _save(
    loaded: LoadedSettings,
    plan: Callable[[LoadedSettings], Edit],
    before: ValidConfig,
    *,
    warned: bool = False,
) -> None:
    """Plan the edit on the config as it is now, validate it and write it, with the config
    folder locked throughout (another command may have changed the files meanwhile)."""
    from monitor.sourceedit import SourceEditError, apply, editing

    with editing(loaded):
        current = _settings(loaded.path)
        edit = plan(current)
        _validated(current, edit, before, quiet=warned)
        try:
            apply(current, edit)
        except SourceEditError as error:
            fail(error, EXIT_PROBLEM)
    for note in edit.notes:
        out.print(escape(note))
    err.print(
        "a running service reads the change at `monitor reload` (or when it starts)",
        markup=False,
        highlight=False,
    )


def _plan_add(loaded: LoadedSettings, items: list[dict[str, object]]) -> Edit:
    from monitor.sourceedit import plan_add

    try:
        return plan_add(loaded, items)
    except ConfigError as error:
        fail(error)


def _checked(loaded: LoadedSettings, urls: list[str], progress: bool) -> list[FeedCheck]:
    """Fetch and parse each feed once, as the service would (its limits, its address guard),
    showing progress on standard error."""
    from monitor.runtime import http_options
    from monitor.sourceedit import check_feeds

    settings = loaded.settings
    total = len(urls)
    count = 0

    def line(check: FeedCheck) -> None:
        nonlocal count
        count += 1
        if check.error is None:
            entries = plural(check.entries, "entry", "entries")
            err.print(f"[{count}/{total}] ok {redact_url(check.url)}: {entries}", markup=False)
        else:
            err.print(f"[{count}/{total}] failed {check.error}", markup=False)

    def run(done: Callable[[FeedCheck], None] | None) -> list[FeedCheck]:
        return asyncio.run(
            check_feeds(
                urls,
                http_options(settings),
                concurrency=settings.poll.concurrency,
                per_host=settings.poll.per_host,
                done=done,
            )
        )

    if not progress:
        return run(None)
    if not err.is_terminal:
        return run(line)
    from rich.progress import Progress

    with Progress(console=err, transient=False) as bar:
        task = bar.add_task("checking feeds", total=total)
        return run(lambda _check: bar.advance(task))


@sources_app.command("add")
def sources_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's URL (http:// or https://).")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Its name (default: the feed's title).", show_default=False),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option("--interval", help="Its own poll interval (10m, 1h).", show_default=False),
    ] = None,
    watchlist: Annotated[
        str | None,
        typer.Option("--watchlist", help="Not supported yet (every watchlist sees every source)."),
    ] = None,
    no_check: NoCheckOption = False,
    config: ConfigOption = None,
) -> None:
    """Add a source to sources.d/cli.yaml beside the config (fetched once first)."""
    from monitor.config_errors import did_you_mean
    from monitor.sourceedit import MANAGED_FILE, as_read, default_name
    from monitor.validate import feed_identity

    loaded, before = _sources_config(ctx, config)
    if watchlist is not None:
        names = [w.name for w in before.watchlists]
        if watchlist not in names:
            hint = did_you_mean(watchlist, names) if names else "the config lists none"
            fail(f"--watchlist: no watchlist is named {watchlist!r}; {hint}")
        fail(
            f"--watchlist {watchlist}: tying a source to one watchlist is not supported yet; "
            "every watchlist matches the articles of every source, so add it without "
            "--watchlist (nothing was saved)"
        )
    if interval is not None:
        # Judged here, so that the message names the option typed, not the entry it would
        # write ("sources[2].interval": an outside probe, probe69).
        from monitor.durations import parse_duration

        try:
            every = parse_duration(interval)
        except ValueError as error:
            fail(f"--interval {interval!r}: {error}")
        if every <= timedelta(0):
            fail(f"--interval {interval!r}: must be longer than 0s; write e.g. 30s, 10m or 1h")
    url = url.strip()
    known = {feed_identity(spec.url): spec.name for spec in before.specs}
    if feed_identity(url) in known:
        fail(
            f"{redact_url(url)} is already configured, as {known[feed_identity(url)]!r}: "
            "nothing was changed",
            EXIT_PROBLEM,
        )

    def entry(chosen: str) -> dict[str, object]:
        item: dict[str, object] = {"name": chosen, "url": url}
        if interval is not None:
            item["interval"] = interval
        return item

    # The URL and interval are judged before any request: a bad one writes and fetches nothing.
    taken = {spec.name for spec in before.specs}
    _validated(loaded, _plan_add(loaded, [entry(name or default_name(url, None, taken))]), before)
    check = None
    if not no_check:
        (check,) = _checked(loaded, [url], progress=False)
        if check.error is not None:
            fail(
                f"{check.error}; nothing was saved (add --no-check to save it anyway)",
                EXIT_PROBLEM,
            )
        title = repr(check.title) if check.title else "(no title)"
        entries = plural(check.entries, "entry", "entries")
        out.print(f"feed OK: {escape(_cut(title, 200))}, {entries}")
    chosen = name or default_name(url, check, taken)
    _save(loaded, lambda current: _plan_add(current, [entry(chosen)]), before, warned=True)
    out.print(
        f"added {escape(repr(as_read(chosen)))} ({escape(redact_url(url))}) to "
        f"{escape(str(loaded.resolve(MANAGED_FILE)))}"
    )
    named = variables_named(url)
    if named:
        # A URL copied from elsewhere (a feed's redirect, a page) may name a secret of the
        # config: its value would go to the feed's server with every poll.
        shown = ", ".join("${" + name + "}" for name in dict.fromkeys(named))
        host = urlsplit(url).hostname or ""
        host = host if host and "$" not in host else "the feed's server"
        err.print(
            f"[yellow]warning:[/yellow] the URL names {escape(shown)}: the value of that "
            f"environment variable is sent to {escape(host)} with every poll; if the URL came "
            "from a feed or a page, write $${ for the text ${",
            markup=True,
            highlight=False,
        )
    named_in_name = variables_named(name or "")
    if named_in_name:
        # Written as typed, a ${VAR} is the variable's value in alerts and listings (probe85:
        # --name '${HOME}' read back as /root).
        shown = ", ".join("${" + each + "}" for each in dict.fromkeys(named_in_name))
        err.print(
            f"[yellow]warning:[/yellow] the name names {escape(shown)}: alerts and listings "
            "show that environment variable's value; write $${ for the text ${",
            markup=True,
            highlight=False,
        )


@sources_app.command("remove")
def sources_remove(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source's name or URL.", show_default=False)],
    config: ConfigOption = None,
) -> None:
    """Remove a source from the YAML file that lists it (comments kept)."""
    from monitor.sourceedit import SourceEditError, plan_remove

    loaded, before = _sources_config(ctx, config)
    removed: list[Located] = []

    def plan(current: LoadedSettings) -> Edit:
        try:
            edit, found = plan_remove(current, source.strip())
        except SourceEditError as error:
            fail(error, EXIT_PROBLEM)
        except ConfigError as error:
            fail(error)
        removed.extend(found)
        return edit

    _save(loaded, plan, before)
    for item in removed:
        out.print(
            f"removed {escape(repr(item.name))} ({escape(redact_url(item.url))}) from "
            f"{escape(str(item.file))}"
        )


@sources_app.command("import")
def sources_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="An OPML file, or a YAML sources list (what `export --format yaml` writes).",
            show_default=False,
        ),
    ],
    no_check: NoCheckOption = False,
    config: ConfigOption = None,
) -> None:
    """Add the feeds of an OPML (or YAML) file that are not configured yet.

    Each new feed is fetched once first (unless --no-check); the good ones are saved in one
    write, the failed ones listed and left out (then exit 1)."""
    from monitor.sourceedit import MANAGED_FILE, as_read, read_import
    from monitor.validate import feed_identity

    loaded, before = _sources_config(ctx, config)
    try:
        found = read_import(file)
    except ConfigError as error:
        fail(error)
    known = {feed_identity(spec.url) for spec in before.specs}
    new = [item for item in found if feed_identity(str(item["url"])) not in known]
    skipped = len(found) - len(new)
    out.print(
        f"{escape(str(file))}: {plural(len(found), 'feed')}, "
        f"{skipped} already configured (skipped), {len(new)} new"
    )
    if not new:
        return
    _validated(loaded, _plan_add(loaded, new), before)  # nothing fetched for a bad file
    failed: list[tuple[dict[str, object], FeedCheck]] = []
    good = new
    if not no_check:
        # The URLs as the config will read them (`$${` is the text `${`): what is polled later.
        checks = _checked(loaded, [as_read(str(item["url"])) for item in new], progress=True)
        good = [item for item, check in zip(new, checks, strict=True) if check.error is None]
        failed = [(i, c) for i, c in zip(new, checks, strict=True) if c.error is not None]
    if good:
        _save(loaded, lambda current: _plan_add(current, good), before, warned=True)
    out.print(
        f"added {plural(len(good), 'source')} to {escape(str(loaded.resolve(MANAGED_FILE)))}"
        + (f"; {len(failed)} failed, not added:" if failed else "")
    )
    for item, check in failed:
        name = as_read(str(item["name"]))
        out.print(f"  {escape(repr(name))}: {escape(terminal_text(check.error or ''))}")
    if failed:
        raise typer.Exit(EXIT_PROBLEM)


@sources_app.command("retry")
def sources_retry(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Sources by name or URL; default: every source waiting after a failure.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Poll failed sources at the next chance: their error back-off (or their server's
    Retry-After) ends now, after you fixed the feed or its URL. `monitor once` polls them
    at once; a running service within `poll.tick`. A new failure backs off again."""
    runtime = _runtime(
        _group_config(ctx, config), need_sinks=False, create=False, need_watchlists=False
    )
    try:
        rows = runtime.store.list_sources()
        ids: list[int] | None = None
        if names:
            ids = []
            for name in names:
                found = [r for r in rows if name.strip() in (r.name, r.url, r.poll_url)]
                if not found:
                    known = ", ".join(repr(r.name) for r in rows[:10]) or "none"
                    fail(
                        f"{name!r}: no source of that name or URL in the database (its "
                        f"sources: {known}{', ...' if len(rows) > 10 else ''}); a source "
                        "added to the config since the service last started is not there yet",
                        EXIT_PROBLEM,
                    )
                ids.extend(r.id for r in found)
        retried = runtime.store.retry_sources(ids, runtime.clock())
    except MonitorError as error:
        fail(error)
    finally:
        runtime.store.close()
    if not retried:
        which = "none of these sources" if names else "no source"
        out.print(f"{which} waits after a failure: nothing to retry", markup=False)
        raise typer.Exit(EXIT_PROBLEM if names else EXIT_OK)
    out.print(
        f"{plural(len(retried), 'source')} due now: {', '.join(retried)}; `monitor once` polls "
        "them now, a running service within poll.tick",
        markup=False,
    )


@sources_app.command("export")
def sources_export(
    ctx: typer.Context,
    format: Annotated[
        ExportFormat, typer.Option("--format", case_sensitive=False, help="opml or yaml.")
    ] = ExportFormat.opml,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (default: standard output)."),
    ] = None,
    config: ConfigOption = None,
    include_credentials: Annotated[
        bool,
        typer.Option(
            "--include-credentials",
            help="Write URLs with their passwords and tokens (keep the file private).",
        ),
    ] = False,
) -> None:
    """Write every configured source as OPML 2.0 or as a YAML `sources:` list.

    OPML files are expanded and included files included. Credentials in URLs (user:password,
    tokens) are masked unless --include-credentials."""
    from monitor.sourceedit import SourceEditError, export_opml, export_yaml, write_atomically

    loaded, valid = _sources_config(ctx, config)

    def as_configured(url: str) -> str:
        return url

    url_of = as_configured if include_credentials else redact_url
    masked = sum(redact_url(spec.url) != spec.url for spec in valid.specs)
    if masked and not include_credentials:
        err.print(
            f"{plural(masked, 'URL')} with credentials masked (REDACTED); "
            "--include-credentials writes them as configured",
            markup=False,
        )
    if format is ExportFormat.yaml:
        text = export_yaml(valid.specs, loaded.settings, url_of=url_of)
    else:
        text = export_opml(valid.specs, url_of=url_of)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text, make_folders=False)
    except SourceEditError as error:
        fail(error, EXIT_PROBLEM)
    err.print(f"wrote {plural(len(valid.specs), 'source')} to {output}", markup=False)


@contextlib.contextmanager
def _upgrade_lock(engine: Engine, stop_first: str) -> Iterator[None]:
    """On PostgreSQL, `PG_INSTANCE_LOCK` alone for the upgrade: refused while any `run` or
    `once` holds it (a `once` registers no instance row), and none starts meanwhile."""
    from monitor.db.engine import pg_instance_lock, running_instances

    if engine.dialect.name != "postgresql":
        yield
        return
    with pg_instance_lock(engine, exclusive=True) as taken:
        if not taken:
            # The ones registered and heard from lately, by name (a `once` registers none).
            try:
                running = running_instances(engine, datetime.now(UTC))
            except DatabaseError:
                running = []
            named = f" (running: {', '.join(running)})" if running else ""
            raise DatabaseError(
                f"a monitor instance (`monitor run` or `monitor once`) or another `monitor "
                f"db upgrade` is using {redact_url(engine.url.render_as_string())}{named}: "
                f"{stop_first}"
            )
        yield


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create the database, or migrate it to the current schema (back it up first)."""
    from monitor.db.engine import Database, running_instances, upgrade
    from monitor.db.problems import sqlite_path
    from monitor.reload import legacy_lock_is_held, lock_is_held, lock_pid

    loaded = _settings(config)
    stop_first = 'stop every instance before upgrading (docs/operations.md, "Upgrading")'
    try:
        db = Database(loaded.settings.database_url)
        try:
            # A service running on the old schema meanwhile fails on tables that are gone.
            database = sqlite_path(db.engine)
            if database is not None and lock_is_held(database):  # `monitor run` or `once`
                raise DatabaseError(
                    f"a monitor instance (pid {lock_pid(database)}) is using {database}: "
                    f"{stop_first}"
                )
            if database is not None and legacy_lock_is_held(database):
                raise DatabaseError(
                    f"a monitor instance of a version from before 2026-12-03 is using "
                    f"{database} (it holds {database.with_suffix('.lock')}): {stop_first}"
                )
            created = database is not None and not database.exists()
            with _upgrade_lock(db.engine, stop_first):
                # On PostgreSQL also the registered instances heard from lately (one of a
                # version before the lock); on SQLite the lock above is the truth (a killed
                # one's row would count as running for 90 s).
                running = (
                    running_instances(db.engine, datetime.now(UTC)) if database is None else []
                )
                if running:
                    raise DatabaseError(
                        f"{plural(len(running), 'monitor instance')} running on "
                        f"{redact_url(db.url)} ({', '.join(running)}): {stop_first}; one "
                        "killed without stopping counts as running for 90 s after its last "
                        "heartbeat"
                    )
                before, after = upgrade(db.engine)
        finally:
            db.close()
    except DatabaseError as error:
        fail(error)
    if before == after:
        out.print(f"database already at revision {after}")
    elif before is None:
        # Said so: an operator upgrading expects a database there, and one named by another
        # path (a relative path read from another folder, a URL set only in a service's
        # environment) would otherwise become a new empty one without a word (probe70).
        where = f"{database}: there was no database file" if created else redact_url(db.url)
        out.print(
            f"database created at revision {after} ({where}); if you meant to upgrade an "
            "existing database, database_url (or MONITOR_DATABASE_URL) names another one: "
            "point it at that database and run `monitor db upgrade` again"
        )
    else:
        out.print(f"database upgraded from {before} to {after}")


@app.command()
def demo(
    seeds: Annotated[
        Path | None, typer.Option("--seeds", help="Folder with the sample feeds (seeds/).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Give up after this many seconds.", min=1.0)
    ] = 45.0,
) -> None:
    """Offline demo: serve seeds/ on 127.0.0.1, run the real pipeline, print the alerts."""
    from monitor.demo import run_demo

    if logging.getLogger().level == logging.INFO:
        # The demo prints what matters; per-feed log lines would bury the alerts.
        logging.getLogger("monitor").setLevel(logging.WARNING)
    try:
        code = run_demo(out, seeds=seeds, timeout=timeout)
    except MonitorError as error:
        fail(error)
    raise typer.Exit(code)


def _without_url(error: str | None, url: str) -> str:
    """An error text without the source's own URL in front (the row already names it)."""
    text = error or ""
    return text.removeprefix(f"{redact_url(url)}: ")


_SINCE_EVER = timedelta(days=365 * 100)


def _since(text: str) -> datetime | timedelta:
    """``--since``: a duration back from now, or a date or time (UTC unless it says)."""
    from monitor.durations import parse_duration

    try:
        duration = parse_duration(text)
    except ValueError:
        pass
    else:
        # Longer than any stored article can be old ("99999999d"): all of them, as the
        # earliest date the database stores (a date that far back is out of range).
        return min(duration, _SINCE_EVER)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(
            f"--since: {text!r} is neither a duration (24h, 7d) nor a date or time "
            "(2026-12-01, 2026-12-01T06:00, 2026-12-01T06:00+02:00)"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _story_title(title: str) -> str:
    """A story's title as the table shows it: without a wire's revision marks and an
    outlet's name after it ("UPDATE 2-... - Reuters"), as stories compare titles."""
    from monitor.stories import lead_text
    from monitor.text import html_to_text

    return lead_text(title, "", "")[0] or html_to_text(title)


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, an ellipsis where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _short(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# The store `_runtime` opened: its database is named when it fails in the middle of a command.
_opened: list[Store] = []


def main() -> None:
    try:
        app()
    except Exception as error:
        problem = _database_failure(error)
        if problem is None:
            raise
        if "--json" in sys.argv[1:]:  # a script reading stdout gets a document (probe89)
            _write_json({"exit_code": EXIT_USAGE, "errors": [problem]})
        err.print(f"[red]error:[/red] {escape(problem)}", markup=True, highlight=False)
        raise SystemExit(EXIT_USAGE) from None


def _database_failure(error: Exception) -> str | None:
    """One line for a database that failed in the middle of a command (a lock held too
    long, the server gone): a traceback otherwise. None for any other error."""
    exc = sys.modules.get("sqlalchemy.exc")  # not imported: no database was used
    if exc is None or not isinstance(error, exc.DBAPIError) or not _opened:
        return None
    from monitor.db.problems import failed_database, is_outage

    if not is_outage(error):  # a bug: its traceback
        return None

    return failed_database(_opened[-1].database.engine, error)


if __name__ == "__main__":
    main()
