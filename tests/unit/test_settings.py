"""Settings: YAML + MONITOR_* environment, ${VAR} expansion, durations, clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import parse_size
from monitor.durations import parse_duration
from monitor.errors import ConfigError
from monitor.settings import config_path, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("6h", 21600),
        ("7d", 604800),
        ("1h30m", 5400),
        (45, 45),
        ("250ms", 0.25),
        ("2w", 1209600),
        ("30", 30),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "10x", "m", "-5s", True, "5 minutes"])
def test_bad_durations_say_what_is_accepted(bad: object) -> None:
    with pytest.raises(ValueError, match="90s, 10m"):
        parse_duration(bad)


def test_sizes() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("512KiB") == 524288
    assert parse_size(1024) == 1024
    with pytest.raises(ValueError):
        parse_size("lots")


def test_defaults_and_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "poll:\n  interval: 5m\n")
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:///other.db")
    monkeypatch.setenv("MONITOR_POLL__MAX_INTERVAL", "2h")
    loaded = load_settings(path)
    settings = loaded.settings
    assert settings.database_url == "sqlite:///other.db"
    assert settings.poll.interval == timedelta(minutes=5)  # from the file
    assert settings.poll.max_interval == timedelta(hours=2)  # from the environment
    assert settings.first_run == "store_only"


def test_environment_wins_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "database_url: sqlite:///file.db\n")
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:///env.db")
    assert load_settings(path).settings.database_url == "sqlite:///env.db"


def test_variables_expand_and_unset_ones_fail_only_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK", "https://hooks.example.org/a")
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    path = write(
        tmp_path,
        "sinks:\n  - name: ops\n    url: ${HOOK}\n    secret: ${HOOK_SECRET}\n"
        "database_url: ${DB:-sqlite:///default.db}\n",
    )
    loaded = load_settings(path)
    assert loaded.settings.sinks[0].url == "https://hooks.example.org/a"
    assert loaded.settings.database_url == "sqlite:///default.db"
    with pytest.raises(ConfigError, match=r"sinks\[0\]\.secret: environment variable HOOK_SECRET"):
        loaded.require_sinks()


def test_every_problem_is_reported_with_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "poll:\n  interval: soon\nfirst_run: sometimes\nsources:\n  - name: X\n    url: ftp://x\n"
        "  - opml: a.opml\n    colour: red\ntypo_key: 1\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    problems = raised.value.problems
    text = "\n".join(problems)
    assert f"{path}:2: poll.interval: 'soon' is not a duration" in text
    assert f"{path}:3: first_run:" in text
    assert f"{path}:6: sources[0].url: url must be an http" in text
    assert f"{path}:8: sources[1].colour: unknown key 'colour'" in text
    assert f"{path}:9: typo_key: unknown key" in text
    assert len(problems) == 5


def test_config_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    assert config_path(None) == Path("config/monitor.yaml")
    monkeypatch.setenv("MONITOR_CONFIG", "/etc/monitor.yaml")
    assert config_path(None) == Path("/etc/monitor.yaml")
    assert config_path("x.yaml") == Path("x.yaml")
