"""The ``monitor`` command ends without the interpreter's teardown (`monitor.__main__._exit`):
its output and its exit code must come out whole all the same. Real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return {**base, "PYTHONPATH": str(REPO)}


def _monitor(cwd: Path, *args: str, **options: Any) -> subprocess.CompletedProcess[Any]:
    """``python -m monitor ARGS`` as a user runs it (output captured unless redirected)."""
    if "stdout" not in options:
        options["capture_output"] = True
    else:
        options.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=_env(),
        timeout=120,
        **options,
    )


def _config(tmp_path: Path, sources: int) -> Path:
    outlines = "\n".join(
        f'<outline type="rss" text="Feed {i}" xmlUrl="http://127.0.0.1:9/feeds/{i}.xml"/>'
        for i in range(sources)
    )
    (tmp_path / "feeds.opml").write_text(
        f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>',
        encoding="utf-8",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'monitor.db'}\nsources:\n  - opml: feeds.opml\n"
        "poll:\n  allow_private_networks: true\n",
        encoding="utf-8",
    )
    _monitor(tmp_path, "db", "upgrade", "--config", str(config), check=True)
    return config


def test_output_larger_than_a_pipe_buffer_arrives_whole(tmp_path: Path) -> None:
    # 3,000 sources as JSON: several pipe buffers (64 KiB) that must all be flushed.
    config = _config(tmp_path, 3000)
    result = _monitor(tmp_path, "sources", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) > 4 * 65536
    listed = json.loads(result.stdout)
    assert len(listed) == 3000


def test_a_failing_command_keeps_its_code_and_its_message(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("poll:\n  concurrency: many\n", encoding="utf-8")
    result = _monitor(tmp_path, "once", "--config", str(config), text=True)
    assert result.returncode == 2
    assert "concurrency" in result.stderr
    assert str(config) in result.stderr


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    # `monitor sources --json | head -c 100`: the pipe closes under the command; it exits
    # without a traceback (the teardown it skips would have printed BrokenPipeError).
    config = _config(tmp_path, 3000)
    with subprocess.Popen(
        [sys.executable, "-m", "monitor", "sources", "--json", "--config", str(config)],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as command:
        assert command.stdout is not None and command.stderr is not None
        head = command.stdout.read(100)
        command.stdout.close()
        errors = command.stderr.read().decode()
        code = command.wait(timeout=120)
    assert head.startswith(b"[")
    assert "Traceback" not in errors, errors
    assert code == 0  # its own code: the reader leaving is not the command failing


def test_output_that_cannot_be_written_is_said_and_fails_the_command(tmp_path: Path) -> None:
    config = _config(tmp_path, 10)
    with Path("/dev/full").open("w") as full:
        result = _monitor(
            tmp_path, "sources", "--json", "--config", str(config), stdout=full, text=True
        )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: the output could not be written: [Errno 28] No space left on device"
    )
    assert result.returncode == 1


def test_a_closed_standard_output_keeps_the_commands_exit_code(tmp_path: Path) -> None:
    # `monitor once >&-`: the sources are unreachable (port 9), so `once` exits 3.
    config = _config(tmp_path, 2)
    result = _monitor(
        tmp_path,
        "once",
        "--config",
        str(config),
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: os.close(1),
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 3


def test_version_exits_zero(tmp_path: Path) -> None:
    result = _monitor(tmp_path, "--version", text=True)
    assert result.returncode == 0
    assert result.stdout.strip()


def test_run_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "monitor.yaml"
        config.write_text(
            f"database_url: sqlite:///{tmp_path / 'monitor.db'}\nsinks: []\nsources: []\n"
            f"http: {{host: 127.0.0.1, port: {port}}}\n",
            encoding="utf-8",
        )
        result = _monitor(tmp_path, "run", "--config", str(config), text=True)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"http: cannot listen on 127.0.0.1:{port}" in line
    assert "address already in use" in line and "http.port" in line
