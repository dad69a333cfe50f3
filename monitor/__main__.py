"""``python -m monitor`` and the ``monitor`` command. Kept tiny: every spawned parsing worker
imports the command's script again, so what this module imports at the top, each worker
would load for nothing (the CLI, typer, rich, pydantic-settings: about 5 MB a worker)."""


def main() -> None:
    import signal
    import sys

    if "run" in sys.argv[1:]:
        # `monitor run` reloads on SIGHUP once it runs; until its handler is installed (after
        # the imports, the config, the database) a SIGHUP must not kill it (systemd's
        # ExecReload, `docker compose kill -s HUP` right after a start).
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from monitor.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
