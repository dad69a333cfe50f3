"""JSON log lines (monitor.logs): stable keys, one line per record (traceback included), and
every value redacted, ``extra=`` fields too. The `log:` config section and its variables."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.errors import ConfigError
from monitor.logs import FIELDS, JsonLogFormatter, log_fields
from monitor.redact import RedactingFormatter
from monitor.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
URL = "http://user:s3cretpw@feeds.example.org/x.xml?token=t0ken123&page=2"
SHOWN = "http://REDACTED@feeds.example.org/x.xml?token=REDACTED&page=2"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _record(
    message: str,
    *args: object,
    level: int = logging.INFO,
    extra: dict[str, object] | None = None,
    exc: bool = False,
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"fetching {URL} broke")
        except RuntimeError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("monitor.pipeline", level, __file__, 1, message, args, exc_info)
    for key, value in (extra or {}).items():
        setattr(record, key, value)
    return record


class _Thing:
    def __str__(self) -> str:
        return f"<thing at {URL}>"


def _json(record: logging.LogRecord) -> dict[str, object]:
    line = JsonLogFormatter().format(record)
    assert "\n" not in line
    document = json.loads(line)
    assert isinstance(document, dict)
    return document


def test_a_json_line_has_the_stable_keys_first() -> None:
    document = _json(_record("polled %s", "Wire", extra=log_fields(source="Wire", source_id=3)))
    assert list(document)[:4] == ["time", "level", "logger", "event"]
    assert TIME.fullmatch(str(document["time"])), document
    assert document["level"] == "INFO"
    assert document["logger"] == "monitor.pipeline"
    assert document["event"] == "polled Wire"
    assert document["source"] == "Wire" and document["source_id"] == 3


def test_the_time_is_the_records_in_utc() -> None:
    record = _record("x")
    record.created = datetime(2026, 12, 4, 8, 30, 1, 250000, tzinfo=UTC).timestamp()
    assert _json(record)["time"] == "2026-12-04T08:30:01.250Z"


def test_every_value_is_redacted_the_message_extras_and_the_traceback() -> None:
    extra = {
        "url": URL,
        "source": f"named after {URL}",
        "nested": {"where": [URL]},
        "when": datetime(2026, 1, 1, tzinfo=UTC),
        "thing": _Thing(),  # any object: shown as its text, redacted
    }
    document = _json(_record("poll failed for %s", URL, level=logging.ERROR, extra=extra, exc=True))
    text = json.dumps(document)
    assert "s3cretpw" not in text and "t0ken123" not in text, text
    assert document["url"] == SHOWN
    assert document["event"] == f"poll failed for {SHOWN}"
    assert document["source"] == f"named after {SHOWN}"
    assert document["nested"] == {"where": [SHOWN]}
    assert document["when"] == "2026-01-01T00:00:00.000Z"
    assert document["thing"] == f"<thing at {SHOWN}>"
    exc_info = str(document["exc_info"])
    assert exc_info.startswith("Traceback (most recent call last):")
    assert f"RuntimeError: fetching {SHOWN} broke" in exc_info


def test_a_url_field_is_redacted_even_without_a_scheme() -> None:
    document = _json(_record("x", extra={"url": "user:pw@host/feed?token=abcdef"}))
    assert "abcdef" not in json.dumps(document)


def test_human_lines_are_unchanged() -> None:
    formatter = RedactingFormatter("%(levelname)s %(name)s: %(message)s")
    record = _record("polled %s", URL, extra=log_fields(source="Wire", url=URL))
    assert formatter.format(record) == f"INFO monitor.pipeline: polled {SHOWN}"


def test_log_fields_drops_unknowns_and_refuses_other_keys() -> None:
    assert log_fields(source="Wire", reason=None, duration_ms=1.5) == {
        "source": "Wire",
        "duration_ms": 1.5,
    }
    with pytest.raises(AssertionError):
        log_fields(sorce="Wire")
    assert {"source", "url", "delivery_id", "sink", "article_id", "reason", "duration_ms"} <= set(
        FIELDS
    )


def _config(folder: Path, **more: object) -> Path:
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump({"database_url": "sqlite:///m.db", **more}), encoding="utf-8")
    return path


def test_the_log_section_defaults_to_human_at_info(tmp_path: Path) -> None:
    log = load_settings(_config(tmp_path)).settings.log
    assert (log.format, log.level) == ("human", "info")


def test_the_log_section_and_its_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path, log={"format": "json", "level": "debug"})
    assert load_settings(path).settings.log.format == "json"
    monkeypatch.setenv("MONITOR_LOG__FORMAT", "human")
    log = load_settings(path).settings.log
    assert (log.format, log.level) == ("human", "debug")  # the environment wins


def test_a_bad_log_value_is_one_problem_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_config(tmp_path, log={"format": "xml"}))
    (problem,) = raised.value.problems
    assert "log.format (how log lines are written (human or json))" in problem, problem
    monkeypatch.setenv("MONITOR_LOG__FORMAT", "xml")
    with pytest.raises(ConfigError) as raised:
        load_settings(_config(tmp_path))
    (problem,) = raised.value.problems
    assert "environment variable MONITOR_LOG__FORMAT" in problem, problem


def test_the_log_keys_are_documented() -> None:
    config_md = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert "| `log.format` |" in config_md and "| `log.level` |" in config_md
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    for key in ("time", "level", "logger", "event", "exc_info", *FIELDS):
        assert f"`{key}`" in operations, key


def test_human_log_times_are_utc_whatever_tz_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # An outside probe: under TZ=Pacific/Kiritimati the human lines' times were local, with
    # no offset, beside messages that say "...Z".
    import logging
    import time

    from monitor.redact import RedactingFormatter

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    try:
        record = logging.LogRecord("monitor", logging.INFO, __file__, 1, "x", None, None)
        record.created = 0.0  # 1970-01-01 00:00:00 UTC
        line = RedactingFormatter("%(asctime)s").format(record)
        assert line.startswith("1970-01-01 00:00:00"), line
    finally:
        monkeypatch.undo()
        time.tzset()


def test_apscheduler_says_nothing_of_a_periodic_job_still_running(tmp_path: Path) -> None:
    # An outside probe: while the database was locked, the heartbeat job outlived its 30 s
    # and APScheduler warned "skipped: maximum number of running instances reached" each
    # time, beside the service's own line saying the database waits. Its errors still show.
    import subprocess

    script = tmp_path / "blocked_job.py"
    script.write_text(
        "import asyncio, logging\n"
        "from apscheduler.schedulers.asyncio import AsyncIOScheduler\n"
        "from monitor.logs import configure_logging\n"
        "configure_logging(None, None)\n"
        "async def main():\n"
        "    scheduler = AsyncIOScheduler()\n"
        "    async def job():\n"
        "        await asyncio.sleep(1.0)\n"
        "    scheduler.add_job(job, 'interval', seconds=0.2, max_instances=1)\n"
        "    scheduler.start()\n"
        "    await asyncio.sleep(1.5)\n"
        "    logging.getLogger('apscheduler.scheduler').error('an error of its own')\n"
        "    scheduler.shutdown(wait=False)\n"
        "asyncio.run(main())\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert "maximum number of running instances" not in done.stderr, done.stderr
    assert "an error of its own" in done.stderr
