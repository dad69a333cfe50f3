"""`monitor` commands run as processes for the tests, forked from one that has already imported
the package, instead of a new Python that imports it again for each command (0.4 s of CPU a
command: most of what the suite's ~800 commands cost).

Each command is still its own process: its own pid, environment, working folder, standard
streams (files, read back when it ends), `sys.argv` and exit code, and
`monitor.__main__.main` runs in it as under ``python -m monitor``. What the fork shares is
only what importing the package made. A command whose environment would change how the
interpreter or the imports set themselves up (``PYTHON*``, the locale, the terminal
variables rich reads when its consoles are made) runs as a new interpreter, as does every
command when ``MONITOR_TEST_FRESH_PROCESSES=1``. Tests of signals, of a terminal or of a
long-running service start their own processes."""

from __future__ import annotations

import io
import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["run_monitor"]

# The variables read while the interpreter starts or while the package is imported (rich's
# consoles are made at import): a command given other values than the forking process had
# runs as a new interpreter.
_START_UP_NAMES = frozenset(
    {
        "LANG",
        "LANGUAGE",
        "NO_COLOR",
        "FORCE_COLOR",
        "TTY_COMPATIBLE",
        "TTY_INTERACTIVE",
        "COLUMNS",
        "LINES",
        "TERM",
        "COLORTERM",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "JUPYTER_COLUMNS",
        "JUPYTER_LINES",
        "TMPDIR",
    }
)
_START_UP_PREFIXES = ("PYTHON", "LC_")

_REPO = Path(__file__).resolve().parents[2]
_server: _Forker | None = None
_server_lock = threading.Lock()


def run_monitor(
    args: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True,
    text=True, ...)``, in a forked process where that gives the same result."""
    command = [sys.executable, "-m", "monitor", *args]
    environment = dict(os.environ if env is None else env)
    if not _can_fork(environment):
        return subprocess.run(
            command,
            cwd=cwd,
            env=environment,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    with tempfile.TemporaryDirectory(prefix="monitor-cli-") as folder:
        streams = [os.path.join(folder, name) for name in ("stdin", "stdout", "stderr")]
        Path(streams[0]).write_text(input or "", encoding="utf-8")
        request = {
            "args": list(args),
            "cwd": str(cwd) if cwd is not None else os.getcwd(),
            "env": environment,
            "streams": streams,
        }
        code = _forker().run(request, timeout)
        stdout, stderr = (_read_text(path) for path in streams[1:])
    if code is None:
        raise subprocess.TimeoutExpired(command, timeout or 0, stdout, stderr)
    return subprocess.CompletedProcess(command, code, stdout, stderr)


def _can_fork(environment: Mapping[str, str]) -> bool:
    if os.environ.get("MONITOR_TEST_FRESH_PROCESSES") == "1" or sys.platform != "linux":
        return False
    # What the forking process started with (or will: this process's environment now).
    started = _server.environment if _server is not None else os.environ
    for name in {*environment, *started}:
        starts_up = name in _START_UP_NAMES or name.startswith(_START_UP_PREFIXES)
        if not starts_up or environment.get(name) == started.get(name):
            continue
        if name == "PYTHONPATH" and _already_on_path(environment.get(name, "")):
            continue
        return False
    return True


def _already_on_path(value: str) -> bool:
    """True when every folder of a PYTHONPATH is on the forking process's path."""
    known = {os.path.realpath(folder or os.curdir) for folder in sys.path} | {str(_REPO)}
    return all(os.path.realpath(folder) in known for folder in value.split(os.pathsep) if folder)


def _read_text(path: str) -> str:
    """A stream as ``text=True`` reads it: the locale's encoding, universal newlines."""
    data = Path(path).read_bytes()
    return io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False)).read()


def _forker() -> _Forker:
    global _server
    with _server_lock:
        if _server is None or _server.process.poll() is not None:
            _server = _Forker()
        return _server


class _Forker:
    """The forking process (`serve`, started once per test process) and the thread that reads
    its answers: each command's pid when it starts, its exit code when it ends."""

    def __init__(self) -> None:
        self.environment = dict(os.environ)
        path = os.pathsep.join(filter(None, [str(_REPO), os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tests.support.cli import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_REPO,
            env={**os.environ, "PYTHONPATH": path},
        )
        self._lock = threading.Lock()
        self._next = 0
        self._waiting: dict[int, dict[str, Any]] = {}
        threading.Thread(target=self._read, name="monitor-forker", daemon=True).start()

    def run(self, request: dict[str, Any], timeout: float | None) -> int | None:
        """Run one command; its exit code, or None when it ran out of time (and was killed)."""
        done = threading.Event()
        with self._lock:
            self._next += 1
            number = self._next
            answer: dict[str, Any] = {"done": done}
            self._waiting[number] = answer
            assert self.process.stdin is not None
            self.process.stdin.write((json.dumps({"id": number, **request}) + "\n").encode())
            self.process.stdin.flush()
        if done.wait(timeout):
            return self._exit_code(answer)
        if "pid" in answer:
            os.kill(int(answer["pid"]), signal.SIGKILL)
        done.wait()
        self._exit_code(answer)
        return None

    @staticmethod
    def _exit_code(answer: dict[str, Any]) -> int:
        if answer["exit"] is None:
            raise RuntimeError("the process that forks `monitor` commands ended")
        return int(answer["exit"])

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            with self._lock:
                answer = self._waiting[message["id"]]
            answer.update(message)
            if "exit" in message:
                with self._lock:
                    del self._waiting[message["id"]]
                answer["done"].set()
        with self._lock:  # it ended: no answer will come for the commands still waiting
            for answer in self._waiting.values():
                answer["exit"] = None
                answer["done"].set()
            self._waiting.clear()


def serve() -> None:
    """The forking process: import the package once, then fork a process for each command
    read from standard input (one JSON object a line) and write its pid, and later its exit
    code, to standard output."""
    import gc

    import monitor.__main__
    import monitor.cli
    import monitor.service  # noqa: F401  (what `run` and `once` import)

    gc.freeze()
    requests = sys.stdin.buffer
    answers = sys.stdout.buffer
    running: dict[int, int] = {}  # pid -> request id
    pending = b""
    while True:
        ready, _, _ = select.select([requests], [], [], 0.01 if running else 1.0)
        if ready:
            chunk = os.read(requests.fileno(), 1 << 16)
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    try:
                        _command(request)
                    except BaseException:
                        traceback.print_exc()
                    os._exit(1)
                running[pid] = request["id"]
                answers.write((json.dumps({"id": request["id"], "pid": pid}) + "\n").encode())
                answers.flush()
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            number = running.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            answers.write((json.dumps({"id": number, "exit": code}) + "\n").encode())
            answers.flush()


def _command(request: dict[str, Any]) -> None:
    """The forked process: take the command's environment, folder and streams, then run
    ``python -m monitor`` as its ``__main__`` would (which ends the process)."""
    import time

    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    os.chdir(request["cwd"])
    flags = (os.O_RDONLY, *[os.O_WRONLY | os.O_CREAT | os.O_TRUNC] * 2)
    for fd, path, flag in zip((0, 1, 2), request["streams"], flags, strict=True):
        opened = os.open(path, flag, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    main_module = sys.modules["monitor.__main__"]
    # click names the program from __main__'s package ("python -m monitor"); spawned
    # parsing workers import __main__ by its name, as under `python -m monitor`.
    sys.modules["__main__"] = main_module
    sys.argv = [str(main_module.__file__), *request["args"]]
    main_module.main()
