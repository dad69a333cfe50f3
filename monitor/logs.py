"""Log output: human lines (the default) or JSON lines (``--log-format json``, ``log.format``),
both redacted (docs/operations.md, "Logs" and "What is never shown").

Logging is configured twice: first by the main callback from ``--log-level``/``--log-format``
and the ``MONITOR_LOG__*`` variables (the config file is not read yet), then, once a command
has loaded its config, from the ``log:`` section for what the command line did not say. A
config that cannot be loaded is reported by the command's own ``error:`` lines, which are
never log lines, so they read the same in either format.

A JSON line always has ``time`` (ISO 8601, UTC, ``Z``), ``level``, ``logger`` and ``event``
(the message); when the line concerns them, the keys of `FIELDS` (a source, a poll, a
delivery); a traceback is the ``exc_info`` string of the same line. Every string value, keys
given with ``extra=`` included, passes through `monitor.redact`: ``url`` through
`redact_url`, every other through `redact_text`. No line carries a control character for a
terminal to act on: a human line shows each as its escape (``\\x1b``, `terminal_text`), a
JSON line as ``\\u001b`` (`terminal_json`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal

from pythonjsonlogger.json import JsonFormatter

from monitor.redact import RedactingFormatter, redact_text, redact_url, terminal_json

__all__ = [
    "FIELDS",
    "HUMAN_FORMAT",
    "JsonLogFormatter",
    "LogFormat",
    "LogLevel",
    "LogSetup",
    "apply_config",
    "configure_logging",
    "configure_worker_logging",
    "current_log_setup",
    "log_fields",
]

LogFormat = Literal["human", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
FORMATS: Final = ("human", "json")
LEVELS: Final = ("debug", "info", "warning", "error")

HUMAN_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The keys a JSON line carries when it is about them (given with ``extra=log_fields(...)``).
FIELDS: Final = (
    "source",  # the source's name
    "source_id",  # its id in the database
    "source_ids",  # the sources of a batch of polls
    "url",  # the feed's (or an article's) URL, redacted
    "delivery_id",  # the delivery's id (the webhook-id)
    "sink",  # the sink's name
    "article_id",  # the stored article
    "watchlist",
    "status",  # a poll's outcome (ok, not_modified, error) or a delivery's (delivered, ...)
    "reason",  # a failure's stable reason (timeout, http_5xx, parse_error, ...)
    "attempt",  # a delivery attempt's number
    "duration_ms",  # how long the poll or the send took
    "instance",  # the service instance (host:pid:random), as in the instances table
    "signal",  # the signal that stops the service
    "job",  # a periodic job (prune, heartbeat, health)
    "source_count",  # at start: the sources the config names,
    "enabled_source_count",  # those enabled,
    "watchlist_count",  # the watchlists,
    "sink_count",  # and the enabled sinks
)
_NOISY = ("httpx", "httpcore", "apscheduler", "alembic")
# APScheduler's own warnings ("skipped: maximum number of running instances reached") only
# repeat, every 30 s, that a periodic job waits on the database, which the service's
# database watch already says once with its cause; its errors stay shown.
_QUIET = ("apscheduler",)


def log_fields(**fields: object) -> dict[str, object]:
    """``extra=`` for a log call: the given fields of `FIELDS` that are known (not None)."""
    unknown = set(fields) - set(FIELDS)
    assert not unknown, f"not log fields: {sorted(unknown)}"
    return {key: value for key, value in fields.items() if value is not None}


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _shown(key: str, value: Any) -> Any:
    """``value`` as a JSON line may show it: redacted, and of a JSON type."""
    if isinstance(value, str):
        return redact_url(value) if key == "url" else redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _shown(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_shown(key, item) for item in value]
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    # Any other object is shown as its text, redacted like any text.
    return _shown(key, str(value))


class JsonLogFormatter(JsonFormatter):
    """One JSON object per line (python-json-logger), every value redacted."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "message": "event"},
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = _utc(datetime.fromtimestamp(record.created, UTC))
        super().add_fields(log_data, record, message_dict)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _shown(key, value) for key, value in log_data.items()}

    def jsonify_log_record(self, log_data: Any) -> str:
        # json.dumps escapes the C0 controls; the others too (DEL, C1, bidirectional).
        return terminal_json(super().jsonify_log_record(log_data))


@dataclass
class _Choice:
    """What the command line (or the environment, before the config is read) chose."""

    level: str = "info"
    level_given: bool = False
    format: str = "human"
    format_given: bool = False


_choice = _Choice()
_handler: logging.Handler | None = None


@dataclass(frozen=True)
class LogSetup:
    """How this process logs, for a worker process (spawned: it starts unconfigured)."""

    level: str
    format: str


def _formatter(fmt: str) -> logging.Formatter:
    return JsonLogFormatter() if fmt == "json" else RedactingFormatter(HUMAN_FORMAT)


def _set_level(level: str) -> None:
    root = logging.getLogger()
    root.setLevel(getattr(logging, level.upper()))
    for noisy in _NOISY:
        quiet = logging.ERROR if noisy in _QUIET else logging.WARNING
        logging.getLogger(noisy).setLevel(max(quiet, root.level))


def _from_environment(name: str, allowed: tuple[str, ...]) -> str | None:
    """``MONITOR_LOG__<NAME>`` when it is a valid value (an invalid one is reported by the
    config's validation, naming the variable)."""
    for variable, value in os.environ.items():
        if variable.upper() == f"MONITOR_LOG__{name}" and value.strip().lower() in allowed:
            return value.strip().lower()
    return None


def configure_logging(level: str | None, fmt: str | None) -> None:
    """The first configuration (the main callback): ``level``/``fmt`` are the command line's
    (None when not given there); else ``MONITOR_LOG__LEVEL``/``MONITOR_LOG__FORMAT``; else
    info, human. Every line goes to standard error. Like `logging.basicConfig`, nothing is
    changed when the root logger already has handlers (an embedding application's)."""
    global _choice, _handler
    _choice = _Choice(
        level=level or _from_environment("LEVEL", LEVELS) or "info",
        level_given=level is not None,
        format=fmt or _from_environment("FORMAT", FORMATS) or "human",
        format_given=fmt is not None,
    )
    root = logging.getLogger()
    if root.handlers and _handler not in root.handlers:
        return
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(_formatter(_choice.format))
    root.addHandler(_handler)
    _set_level(_choice.level)
    _capture_warnings(_choice.format)


def _capture_warnings(fmt: str) -> None:
    # In JSON, Python's warnings are log lines too (logger "py.warnings"): every line of
    # standard error is then JSON. Human output keeps Python's own warning lines.
    logging.captureWarnings(fmt == "json")


def apply_config(level: str, fmt: str) -> None:
    """The second configuration, from a loaded config's ``log:`` section (environment
    included): each of level and format applies unless the command line gave it."""
    if _handler is None or _handler not in logging.getLogger().handlers:
        return
    chosen_format = _choice.format if _choice.format_given else fmt
    chosen_level = _choice.level if _choice.level_given else level
    if chosen_format != _choice.format:
        _handler.setFormatter(_formatter(chosen_format))
        _choice.format = chosen_format
        _capture_warnings(chosen_format)
    if chosen_level != _choice.level:
        _set_level(chosen_level)
        _choice.level = chosen_level


def current_log_setup() -> LogSetup | None:
    """How this process logs, when `configure_logging` set it up (else None)."""
    if _handler is None or _handler not in logging.getLogger().handlers:
        return None
    return LogSetup(level=_choice.level, format=_choice.format)


def configure_worker_logging(setup: LogSetup | None) -> None:
    """In a worker process: log as the service does (nothing when ``setup`` is None)."""
    if setup is not None:
        configure_logging(setup.level, setup.format)
