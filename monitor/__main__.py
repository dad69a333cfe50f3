"""``python -m monitor`` and the ``monitor`` command. Kept tiny: every spawned parsing worker
imports the command's script again, so what this module imports at the top, each worker
would load for nothing (the CLI, typer, rich, pydantic-settings: about 5 MB a worker)."""


def main() -> None:
    from monitor.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
