"""Where the log format and level come from: `--log-format`/`--log-level` win over
`MONITOR_LOG__*`, which wins over the config's `log:` section; human is the default. A config
that cannot be loaded is reported by the same human `error:` lines in either format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
HUMAN = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")


def _config(folder: Path, **more: object) -> Path:
    # Nothing to poll and nowhere to send: `once` logs what it loaded and two warnings.
    path = folder / "monitor.yaml"
    config = {"database_url": "sqlite:///m.db", **more}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _once(config: Path, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *options, "once", "--config", str(config)],
        cwd=config.parent,
        env={**base, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _json_lines(stderr: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in stderr.splitlines()]
    assert lines and all(isinstance(line, dict) for line in lines), stderr
    return lines


def _human(stderr: str) -> bool:
    lines = stderr.splitlines()
    return bool(lines) and all(HUMAN.match(line) for line in lines)


def test_human_is_the_default(tmp_path: Path) -> None:
    result = _once(_config(tmp_path))
    assert result.returncode == 0, result.stderr
    assert _human(result.stderr), result.stderr
    assert " INFO monitor.service: loaded 0 sources" in result.stderr


def test_the_config_file_asks_for_json_and_the_flag_wins(tmp_path: Path) -> None:
    config = _config(tmp_path, log={"format": "json"})
    lines = _json_lines(_once(config).stderr)
    (loaded,) = [line for line in lines if str(line["event"]).startswith("loaded 0 sources")]
    assert loaded["logger"] == "monitor.service" and loaded["source_count"] == 0
    assert any(line["level"] == "WARNING" for line in lines)
    assert _human(_once(config, "--log-format", "human").stderr)
    assert _human(_once(config, **{"MONITOR_LOG__FORMAT": "human"}).stderr)


def test_the_environment_asks_for_json(tmp_path: Path) -> None:
    result = _once(_config(tmp_path), **{"MONITOR_LOG__FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    _json_lines(result.stderr)


def test_the_level_comes_from_the_config_unless_the_flag_says(tmp_path: Path) -> None:
    config = _config(tmp_path, log={"level": "warning"})
    quiet = _once(config).stderr
    assert "loaded 0 sources" not in quiet and " WARNING " in quiet, quiet
    assert "loaded 0 sources" in _once(config, "--log-level", "info").stderr


def test_a_broken_config_says_the_same_human_errors_in_either_format(tmp_path: Path) -> None:
    config = _config(tmp_path, poll={"intervall": "5m"}, log={"format": "json"})
    human = _once(config)
    as_json = _once(config, "--log-format", "json")
    assert human.returncode == as_json.returncode == 2
    assert human.stderr == as_json.stderr
    assert human.stderr.startswith("error: "), human.stderr
    assert "poll.intervall" in human.stderr


def test_a_bad_log_format_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    result = _once(_config(tmp_path), **{"MONITOR_LOG__FORMAT": "xml"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: environment variable MONITOR_LOG__FORMAT")
    assert "Traceback" not in result.stderr


def test_a_bad_log_format_option_is_a_usage_error(tmp_path: Path) -> None:
    result = _once(_config(tmp_path), "--log-format", "xml")
    assert result.returncode == 2
    assert "--log-format" in result.stderr
