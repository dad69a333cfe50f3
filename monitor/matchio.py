"""``monitor match``: the JSON-lines reader and writer around the matcher (one line in, one out)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from monitor.match import Matcher

TEXT_FIELDS = ("title", "summary", "content")


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def match_lines(matcher: Matcher, lines: Iterable[str]) -> Iterator[dict[str, object] | LineError]:
    """One result per non-blank input line, in order: the DESIGN.md output object, or an error
    naming the line number (the other lines still come out)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield LineError(number, f"not valid JSON ({error.msg} at column {error.colno})")
            continue
        if not isinstance(item, dict):
            yield LineError(number, 'expected a JSON object like {"id": 1, "title": "..."}')
            continue
        fields: dict[str, str] = {}
        bad = [
            name
            for name in TEXT_FIELDS
            if item.get(name) is not None and not isinstance(item.get(name), str)
        ]
        if bad:
            yield LineError(number, f"field {bad[0]!r} must be a string or missing")
            continue
        for name in TEXT_FIELDS:
            value = item.get(name)
            if isinstance(value, str):
                fields[name] = value
        yield matcher.match(fields).to_json(item.get("id"))
