"""Durations as people write them in config and on the command line: ``90s``, ``10m``, ``6h``,
``7d``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_CAPITAL_M = re.compile(r"\d\s*M(?![sS])")


def parse_duration(value: object) -> timedelta:
    """Turn ``"90s"``, ``"1h30m"``, ``600`` (seconds) or a timedelta into a timedelta.

    Raises ValueError with a message that shows the accepted forms.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 10m, 6h or 7d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative; a duration must be 0 or more")
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        if _CAPITAL_M.search(value):
            # "6M" reads as six months to many, and was six minutes: a retention of six
            # minutes deletes nearly every article.
            raise ValueError(
                f"{value!r}: M is ambiguous (months or minutes?); write minutes as m (10m) "
                "and longer spans in days or weeks (180d, 26w)"
            )
        text = value.strip().lower().replace(" ", "")
        if text and _PART.sub("", text) == "":
            seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))
            return timedelta(seconds=seconds)
        if text.replace(".", "", 1).isdigit():
            return timedelta(seconds=float(text))
    raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 10m, 6h or 7d")


def config_duration(value: timedelta) -> str:
    """A duration as it is written in the config, exactly: ``10m``, ``90s``, ``1d``."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_duration(value: timedelta) -> str:
    """A duration in at most two units, as people read them: ``45s``, ``12m``, ``1h16m``,
    ``2d6h`` (rounded down)."""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        elif parts:
            break
        if len(parts) == 2:
            break
    return "".join(parts)
