"""A watchlist edit that does not load stops `run`, `once`, `check` and `match` with its
errors, but not the commands an operator tends the database with meanwhile (`status`,
`alerts`, `alerts retry`, `sources`): they never read watchlists. Run as a user runs them,
a subprocess against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.test_check_command import monitor
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply


def _polled_once(tmp_path: Path) -> Path:
    """A config whose one source ("Wire") `monitor once` has polled: its database is there."""
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([("a-1", "Haftar in Tripoli", "<p>x</p>")])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        assert monitor("once", "--config", str(config)).returncode == 0
    return config


def test_the_database_commands_work_while_a_watchlist_is_broken(tmp_path: Path) -> None:
    config = _polled_once(tmp_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text("entities:\n  - id: x\n    namez: [X]\n", encoding="utf-8")
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["watchlists"] = [str(broken)]
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")

    once = monitor("once", "--config", str(config))
    assert once.returncode == 2 and "did you mean 'names'?" in once.stderr

    status = monitor("status", "--config", str(config), "--json")
    assert status.returncode == 3, status.stderr  # not running; read all the same
    assert json.loads(status.stdout)["sources"]["total"] == 1
    listed = monitor("sources", "--config", str(config), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)] == ["Wire"]
    alerts = monitor("alerts", "--config", str(config))
    assert alerts.returncode == 0, alerts.stderr
    retry = monitor("alerts", "retry", "--config", str(config))
    assert retry.returncode == 0, retry.stderr


def test_the_reading_commands_work_while_the_config_has_an_error(tmp_path: Path) -> None:
    # An outside probe: with a typo in the config (the running service refused its reload
    # and runs on), status, sources and alerts all exited 2: the operator was blind.
    config = _polled_once(tmp_path)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["poll"]["intervall"] = "5m"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")

    once = monitor("once", "--config", str(config))
    assert once.returncode == 2 and "did you mean 'interval'?" in once.stderr
    status = monitor("status", "--config", str(config), "--json")
    assert status.returncode == 3, status.stderr  # not running; read all the same
    assert json.loads(status.stdout)["sources"]["total"] == 1
    assert status.stderr.startswith("warning: ") and "intervall" in status.stderr
    assert "this shows the database" in status.stderr
    listed = monitor("sources", "--config", str(config), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)] == ["Wire"]
    alerts = monitor("alerts", "--config", str(config))
    assert alerts.returncode == 0, alerts.stderr
    # What writes still refuses a config with an error.
    retry = monitor("alerts", "retry", "--config", str(config))
    assert retry.returncode == 2 and "intervall" in retry.stderr

    # A bad value from the environment is named as such, not blamed on the file (an
    # outside probe: "c.yaml has 1 problem" for MONITOR_POLL__INTERVAL=0s).
    settings["poll"].pop("intervall")
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    env_status = monitor("status", "--config", str(config), env={"MONITOR_POLL__INTERVAL": "0s"})
    assert "warning: environment variable MONITOR_POLL__INTERVAL" in env_status.stderr
    assert f"{config.name} has" not in env_status.stderr


def test_the_reading_commands_work_while_the_config_is_no_valid_yaml(tmp_path: Path) -> None:
    # An outside probe (probe85): an unclosed bracket, the commonest slip of an edit, made
    # status, sources and alerts exit 2 (with MONITOR_DATABASE_URL set too), where an
    # unknown key only warned: the file's own database_url line still names the database.
    config = _polled_once(tmp_path)
    text = config.read_text(encoding="utf-8")
    assert text.startswith("database_url:"), text
    config.write_text(text + "\nextra: [unclosed\n", encoding="utf-8")

    status = monitor("status", "--config", str(config), "--json")
    assert status.returncode == 3, status.stderr  # not running; read all the same
    assert json.loads(status.stdout)["sources"]["total"] == 1
    assert status.stderr.startswith("warning: ") and "this shows the database" in status.stderr
    listed = monitor("sources", "--config", str(config), "--json")
    assert [s["name"] for s in json.loads(listed.stdout)] == ["Wire"], listed.stderr
    assert monitor("alerts", "--config", str(config)).returncode == 0
    retry = monitor("alerts", "retry", "--config", str(config))
    assert retry.returncode == 2  # what writes still refuses it

    # The environment's database needs no line of the file at all.
    database_url = yaml.safe_load(text)["database_url"]
    config.write_text("sources: [unclosed\n", encoding="utf-8")
    env = {"MONITOR_DATABASE_URL": database_url}
    by_env = monitor("status", "--config", str(config), "--json", env=env)
    assert by_env.returncode == 3, by_env.stderr
    assert json.loads(by_env.stdout)["sources"]["total"] == 1
    # Without either, nothing names a database: refused with the YAML error.
    refused = monitor("status", "--config", str(config))
    assert refused.returncode == 2 and "unclosed" not in refused.stdout
