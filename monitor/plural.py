"""Counted nouns for the lines people read: ``1 source``, ``2 sources``, ``1 match``."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``count`` and the noun: ``singular`` for exactly one, else ``many`` (by default the
    singular plus ``s``)."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"
