"""``python -m monitor`` and the ``monitor`` command. Kept tiny: every spawned parsing worker
imports the command's script again, so what this module imports at the top, each worker
would load for nothing (the CLI, typer, rich, pydantic-settings: about 5 MB a worker)."""

from typing import Any


def main() -> None:
    import gc
    import signal
    import sys

    if "run" in sys.argv[1:]:
        # `monitor run` reloads on SIGHUP once it runs; until its handler is installed (after
        # the imports, the config, the database) a SIGHUP must not kill it (systemd's
        # ExecReload, `docker compose kill -s HUP` right after a start).
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # The imports make about 750,000 objects that live as long as the process: the garbage
    # collector, run while they are made, finds nothing (about 40 ms of start-up). Frozen
    # once made, no later collection walks them again.
    gc.disable()
    try:
        from monitor.cli import main as cli_main

        if "run" in sys.argv[1:] or "once" in sys.argv[1:]:
            import monitor.service  # noqa: F401  (imported by the command anyway)
    except KeyboardInterrupt:
        # Ctrl-C before the command began (its imports take about half a second): nothing
        # was done; exit as the command does on Ctrl-C, without a traceback (probe88).
        sys.exit(130)
    gc.freeze()
    gc.enable()
    output = sys.stdout = _Output(sys.stdout)
    try:
        cli_main()
    except SystemExit as done:
        _exit(done.code, output)
    _exit(0, output)


class _Output:
    """The command's standard output. A write that fails (the reader left, as `| head` does;
    a full disk) is recorded rather than raised, so the command finishes its work and keeps
    its exit code; `_exit` says what was lost. A closed standard output (``>&-``) takes the
    output nowhere, as ``print`` does."""

    def __init__(self, stream: Any) -> None:
        import os

        self._stream = stream if stream is not None else open(os.devnull, "w", encoding="utf-8")
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        if self.error is None:
            try:
                self._stream.write(text)
            except OSError as error:
                self.error = error
        return len(text)

    def flush(self) -> None:
        if self.error is None:
            try:
                self._stream.flush()
            except OSError as error:
                self.error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _exit(code: object, output: _Output) -> None:
    """Exit with ``code``, without the interpreter's teardown when nothing is left running.

    Tearing down the modules of a finished command took about 80 ms, a tenth of a `monitor
    once` that found nothing new. Everything the command wrote is committed and its files
    are closed by then; the logs and the terminal are flushed here. A command that left a
    thread or a child process running exits the usual way, which waits for them.

    Output that could not be written is said on stderr, and a command that would have exited
    0 exits 1; a reader that left early (a broken pipe) is not an error."""
    import logging
    import multiprocessing
    import os
    import sys
    import threading

    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    output.flush()
    if isinstance(output.error, BrokenPipeError):
        # Nothing more reaches the closed pipe, not even the interpreter's own last flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    elif output.error is not None:
        print(f"error: the output could not be written: {output.error}", file=sys.stderr)
        code = code or 1
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not t.daemon for t in others) or multiprocessing.active_children():
        sys.exit(code)
    logging.shutdown()
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed
        pass
    os._exit(code)


if __name__ == "__main__":
    main()
