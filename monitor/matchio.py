"""``monitor match``: the JSON-lines reader and writer around the matcher (one line in, one out)."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from monitor.match import Matcher

TEXT_FIELDS = ("title", "summary", "content")

# A UTF-16 surrogate left alone by a JSON escape ("\ud800"): it cannot be written as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class BadArticle(ValueError):
    """Why an article (an input line of `monitor match`, the file of `monitor explain`) cannot
    be read."""


def match_lines(
    matcher: Matcher, lines: Iterable[str] | Iterable[bytes]
) -> Iterator[dict[str, object] | LineError]:
    """One result per non-blank input line, in order: the output object, or an error naming the
    line number (the other lines still come out). Every result can be written as standard JSON
    in UTF-8. Given a text file, its bytes are read and decoded here line by line, so that a
    line that is not UTF-8 is one bad line, not the end of the input."""
    source: Iterable[str | bytes] = getattr(lines, "buffer", lines)
    for number, line in enumerate(source, start=1):
        try:
            item = _parse(line, first=number == 1)
        except BadArticle as error:
            yield LineError(number, str(error))
            continue
        if item is not None:
            yield matcher.match(item[1]).to_json(item[0])


def _parse(line: str | bytes, *, first: bool) -> tuple[object, dict[str, str]] | None:
    """The id and text fields of one line, None for a blank line; raises BadArticle."""
    try:
        # A byte order mark may start the file.
        text = line.decode("utf-8-sig" if first else "utf-8") if isinstance(line, bytes) else line
    except UnicodeDecodeError as error:
        bad = error.object[error.start]
        raise BadArticle(f"not UTF-8 (byte {error.start + 1} is 0x{bad:02x})") from None
    if not text.strip():
        return None
    return article_json(text)


def article_json(text: str) -> tuple[object, dict[str, str]]:
    """The ``id`` and the text fields of one JSON article object; raises BadArticle naming
    what is wrong (not JSON, nested too deeply, not an object, a field that is not a string
    or holds an unpaired surrogate)."""
    try:
        item = json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite, parse_int=_integer
        )
    except json.JSONDecodeError as error:
        # One line of `monitor match` names its line already; a file of `explain` may span many.
        at = f"line {error.lineno} column" if "\n" in text.strip() else "column"
        message = error.msg.removesuffix(" at")  # "Invalid control character at"
        raise BadArticle(f"not valid JSON ({message} at {at} {error.colno})") from None
    except BadArticle as error:
        raise BadArticle(f"not valid JSON ({error})") from None
    except RecursionError:
        raise BadArticle("not valid JSON (nested too deeply)") from None
    if not isinstance(item, dict):
        raise BadArticle('expected a JSON object like {"id": 1, "title": "..."}')
    fields: dict[str, str] = {}
    for name in TEXT_FIELDS:
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadArticle(f"field {name!r} must be a string or missing")
        _check_text(value, f"field {name!r}")
        fields[name] = value
    id = item.get("id")
    _check_text(json.dumps(id, ensure_ascii=False), "'id'")
    return id, fields


def _check_text(text: str, what: str) -> None:
    found = _SURROGATE.search(text)
    if found:
        raise BadArticle(f"{what} holds an unpaired surrogate (\\u{ord(found.group()):04x})")


def _refuse_constant(name: str) -> object:
    raise BadArticle(f"{name} is not standard JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadArticle(f"number {text[:20]} is out of range")
    return value


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    limit = sys.get_int_max_str_digits()  # 0: no limit
    if limit and digits > limit:
        raise BadArticle(f"an integer of {digits} digits, more than {limit}")
    return int(text)
