"""``python -m monitor`` and the ``monitor`` command. Kept tiny: every spawned parsing worker
imports the command's script again, so what this module imports at the top, each worker
would load for nothing (the CLI, typer, rich, pydantic-settings: about 5 MB a worker)."""


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
    from monitor.cli import main as cli_main

    if "run" in sys.argv[1:] or "once" in sys.argv[1:]:
        import monitor.service  # noqa: F401  (imported by the command anyway)
    gc.freeze()
    gc.enable()
    try:
        cli_main()
    except SystemExit as done:
        _exit(done.code)
    _exit(0)


def _exit(code: object) -> None:
    """Exit with ``code``, without the interpreter's teardown when nothing is left running.

    Tearing down the modules of a finished command took about 80 ms, a tenth of a `monitor
    once` that found nothing new. Everything the command wrote is committed and its files
    are closed by then; the logs and the terminal are flushed here. A command that left a
    thread or a child process running exits the usual way, which waits for them."""
    import logging
    import multiprocessing
    import os
    import sys
    import threading

    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not t.daemon for t in others) or multiprocessing.active_children():
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`monitor alerts | head`)
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
