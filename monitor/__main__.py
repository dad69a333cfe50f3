"""``python -m monitor``: the same as the ``monitor`` command."""

from monitor.cli import main

# Guarded: parsing worker processes import this module again under another name.
if __name__ == "__main__":
    main()
