"""Docker packaging: the Dockerfile runs `monitor` as a non-root user with a health check,
and docker-compose.yml wires the service to PostgreSQL."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = "postgresql+psycopg://monitor:${POSTGRES_PASSWORD:-monitor}@db:5432/monitor"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw_line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw_line.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, arguments = pending.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def instruction_values(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(part, str) for part in value)
    return value


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """Compose accepts a mapping or a list of KEY=VALUE / KEY (passed through from the host)."""
    raw = service.get("environment", {})
    if isinstance(raw, dict):
        return {str(key): None if value is None else str(value) for key, value in raw.items()}
    pairs: dict[str, str | None] = {}
    for item in raw:
        key, equals, value = str(item).partition("=")
        pairs[key] = value if equals else None
    return pairs


# --- Dockerfile --------------------------------------------------------------------------


def test_base_image() -> None:
    assert instruction_values("FROM") == ["python:3.11-slim"]


def test_installs_the_project_with_pip() -> None:
    assert any("pip install ." in run for run in instruction_values("RUN"))
    copied = " ".join(instruction_values("COPY"))
    for needed in ("pyproject.toml", "README.md", "monitor"):
        assert needed in copied
        assert (ROOT / needed).exists(), f"the Dockerfile copies {needed}, which is missing"


def test_runs_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    users = [arguments for name, arguments in instructions if name == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}
    last_user = max(index for index, (name, _) in enumerate(instructions) if name == "USER")
    install = max(
        index
        for index, (name, arguments) in enumerate(instructions)
        if name == "RUN" and "pip install" in arguments
    )
    assert install < last_user, "install as root, then drop privileges"


def test_command_is_monitor_run_with_the_config() -> None:
    assert instruction_values("ENTRYPOINT") == []
    (command,) = instruction_values("CMD")
    assert exec_form(command) == ["monitor", "run", "--config", "/etc/monitor/monitor.yaml"]


def test_healthcheck_gets_healthz_with_python() -> None:
    (healthcheck,) = instruction_values("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = exec_form(command)
    assert argv[:2] == ["python", "-c"]
    assert "http://127.0.0.1:8080/healthz" in argv[2]
    compile(argv[2], "<healthcheck>", "exec")  # valid Python


def test_http_endpoints_listen_where_the_healthcheck_looks() -> None:
    env = " ".join(instruction_values("ENV"))
    assert "MONITOR_HTTP__PORT=8080" in env
    assert "MONITOR_CONFIG=/etc/monitor/monitor.yaml" in env


def test_data_volume() -> None:
    volumes = [
        path
        for arguments in instruction_values("VOLUME")
        for path in (exec_form(arguments) if arguments.startswith("[") else shlex.split(arguments))
    ]
    assert "/data" in volumes


def test_dockerignore_keeps_what_the_build_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ".git" in patterns
    for needed in ("pyproject.toml", "README.md", "monitor", "monitor/parse.py", "config", "seeds"):
        assert not any(fnmatch.fnmatch(needed, pattern) for pattern in patterns), needed


# --- docker-compose.yml ------------------------------------------------------------------


def test_compose_services() -> None:
    assert set(compose()["services"]) == {"monitor", "db"}


def test_monitor_service() -> None:
    monitor = compose()["services"]["monitor"]

    assert monitor["build"] == "."
    assert monitor["restart"] == "unless-stopped"
    assert monitor["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert "./config:/etc/monitor:ro" in monitor["volumes"]
    assert "ports" not in monitor or all(
        not str(port).startswith("8080:") for port in monitor["ports"]
    ), "a fixed host port would stop `--scale monitor=N`"


def test_monitor_environment() -> None:
    env = environment(compose()["services"]["monitor"])

    assert env["MONITOR_DATABASE_URL"] == DATABASE_URL
    assert env["MONITOR_CONFIG"] == "/etc/monitor/monitor.yaml"
    assert "MONITOR_WEBHOOK_URL" in env
    assert "MONITOR_WEBHOOK_SECRET" in env
    # The mounted config file is the one the repository ships.
    assert (ROOT / "config" / "monitor.yaml").is_file()


def test_db_service() -> None:
    document = compose()
    db = document["services"]["db"]
    env = environment(db)

    assert db["image"] == "postgres:16-alpine"
    assert env == {
        "POSTGRES_USER": "monitor",
        "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-monitor}",
        "POSTGRES_DB": "monitor",
    }
    (volume,) = db["volumes"]
    name, _, target = volume.partition(":")
    assert target == "/var/lib/postgresql/data"
    assert name in document["volumes"], "the data lives in a named volume"
    test = db["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))


@pytest.mark.parametrize("service", ["monitor", "db"])
def test_named_volumes_are_declared(service: str) -> None:
    document = compose()
    for volume in document["services"][service].get("volumes", []):
        source = str(volume).partition(":")[0]
        if not source.startswith((".", "/")):
            assert source in document["volumes"]


# --- the two together, against the current config and CLI ---------------------------------


def image_environment() -> dict[str, str]:
    pairs: dict[str, str] = {}
    for arguments in instruction_values("ENV"):
        for item in shlex.split(arguments):
            key, _, value = item.partition("=")
            pairs[key] = value
    return pairs


def monitor_command() -> list[str]:
    """What the `monitor` container runs: compose's `command`, else the image's CMD."""
    command = compose()["services"]["monitor"].get("command")
    if command is None:
        (cmd,) = instruction_values("CMD")
        return exec_form(cmd)
    return command if isinstance(command, list) else shlex.split(command)


def test_the_container_command_is_one_monitor_accepts() -> None:
    program, *arguments = monitor_command()
    assert program == "monitor" and "run" in arguments
    accepted = subprocess.run(
        [sys.executable, "-m", "monitor", *arguments, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_the_container_environment_loads_the_shipped_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.settings import load_settings
    from monitor.validate import validate_config

    for name in list(os.environ):
        if name.startswith("MONITOR_"):
            monkeypatch.delenv(name)
    given = {
        "MONITOR_WEBHOOK_URL": "https://hooks.example.org/news",
        "MONITOR_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "MONITOR_LOG__FORMAT": "json",
    }
    env = {**image_environment()}
    for key, value in environment(compose()["services"]["monitor"]).items():
        if value is None:  # passed through from the host (or .env)
            assert key in given, f"{key} is passed through: give it a value in this test"
            env[key] = given[key]
        else:
            env[key] = value.replace("${POSTGRES_PASSWORD:-monitor}", "monitor")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    mounted = ROOT / "config" / "monitor.yaml"  # ./config is mounted at /etc/monitor
    assert env["MONITOR_CONFIG"] == "/etc/monitor/monitor.yaml"
    loaded = load_settings(mounted)
    settings = loaded.settings
    assert settings.database_url == "postgresql+psycopg://monitor:monitor@db:5432/monitor"
    assert settings.http is not None and settings.http.host == "0.0.0.0"
    assert settings.log.format == "json"
    loaded.require_sinks()
    validate_config(loaded, need_sinks=True)  # the watchlists load, the sinks are usable
    # The health check asks the port the service listens on.
    (healthcheck,) = instruction_values("HEALTHCHECK")
    assert f"http://127.0.0.1:{settings.http.port}/healthz" in healthcheck
    own = compose()["services"]["monitor"].get("healthcheck")
    assert own is None or "/healthz" in str(own["test"]), "a compose health check replaces it"


def test_the_data_volume_is_where_the_image_keeps_sqlite() -> None:
    monitor = compose()["services"]["monitor"]
    assert "monitor-data:/data" in monitor["volumes"]
    assert image_environment()["MONITOR_DATABASE_URL"] == "sqlite:////data/monitor.db"


def test_compose_waits_longer_than_the_stop_grace() -> None:
    from monitor.service import longest_stop

    grace = str(compose()["services"]["monitor"]["stop_grace_period"])
    assert grace.endswith("s") and float(grace[:-1]) > longest_stop()
