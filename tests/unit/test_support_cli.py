"""The tests' `run_monitor` (a command forked from a process that has imported the package)
gives what a new `python -m monitor` gives: the same output, errors and exit code, the
command's own folder, environment and standard input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_monitor

REPO = Path(__file__).resolve().parents[2]
LIBYA = REPO / "config" / "watchlists" / "libya.yaml"


def fresh(
    args: list[str], *, cwd: Path, env: dict[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["--version"], None),
        (["--help"], None),
        (["sources", "--help"], None),
        (["check", "--config", "monitor.yaml"], None),  # relative to the command's folder
        (["check", "--config", "missing.yaml"], None),
        (["explain", "--watchlist", str(LIBYA), "-"], "Haftar's forces neared Tripoli.\r\n"),
        (["match", "--jsonl", "--watchlist", str(LIBYA), "-"], '{"title": "LNA says"}\n'),
        (["no-such-command"], None),
    ],
)
def test_a_forked_command_answers_as_a_new_interpreter_does(
    tmp_path: Path, args: list[str], stdin: str | None
) -> None:
    (tmp_path / "monitor.yaml").write_text(
        "database_url: sqlite:///m.db\npoll: {intervall: 5m}\nwatchlists: [" + str(LIBYA) + "]\n",
        encoding="utf-8",
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")},
        "PYTHONPATH": str(REPO),
        "MONITOR_LOG__LEVEL": "warning",
    }
    expected = fresh(args, cwd=tmp_path, env=env, input=stdin)
    forked = run_monitor(args, cwd=tmp_path, env=env, input=stdin, timeout=120)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        expected.returncode,
        expected.stdout,
        expected.stderr,
    )


def test_the_command_sees_only_its_own_environment(tmp_path: Path) -> None:
    """A variable of the test process the command was not given is not there (the config
    path comes from MONITOR_CONFIG only when the command is given it)."""
    (tmp_path / "elsewhere.yaml").write_text("database_url: [\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    given = run_monitor(
        ["check"], cwd=tmp_path, env={**env, "MONITOR_CONFIG": str(tmp_path / "elsewhere.yaml")}
    )
    assert given.returncode != 0 and "elsewhere.yaml" in given.stderr
    not_given = run_monitor(["check"], cwd=tmp_path, env=env)
    assert "elsewhere.yaml" not in not_given.stderr


def test_a_command_out_of_time_is_killed_and_says_so(tmp_path: Path) -> None:
    """`monitor run` runs until stopped: out of time, it is killed and its output so far kept."""
    (tmp_path / "monitor.yaml").write_text(
        "database_url: sqlite:///m.db\nwatchlists: [" + str(LIBYA) + "]\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    with pytest.raises(subprocess.TimeoutExpired) as out_of_time:
        run_monitor(["run", "--config", "monitor.yaml"], cwd=tmp_path, env=env, timeout=3)
    assert "no sources" in str(out_of_time.value.stderr)
