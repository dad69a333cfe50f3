"""`monitor match --jsonl`: one JSON line out per line in, the documented fields, errors by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_check_command import monitor
from tests.integration.helpers import LIBYA_WATCHLIST

LINES = [
    {"id": "a", "title": "Haftar’s LNA pushes toward Tripoli", "summary": "<p>Clashes.</p>"},
    {"id": 2, "content": "<p>Markets were calm. A low-noise amplifier (lna) shipped.</p>"},
    {"id": None, "summary": "Le GNA de Fayez el-Sarraj dénonce l'offensive sur Tripoli."},
]


def test_one_line_out_per_line_in_with_design_fields(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in LINES) + "\n", encoding="utf-8"
    )
    result = monitor("match", "--jsonl", str(source), "--watchlist", str(LIBYA_WATCHLIST))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 2, None]
    first = out[0]
    assert set(first) >= {"id", "matches", "excerpts"}
    entities = {m["entity"] for m in first["matches"]}
    assert {"haftar", "lna", "tripoli"} <= entities
    for m in first["matches"]:
        assert set(m) == {"watchlist", "entity", "field", "start", "end", "text"}
        assert LINES[0][m["field"]][m["start"] : m["end"]] == m["text"]
    for e in first["excerpts"]:
        assert set(e) == {"field", "text", "highlights"}
        for start, end in e["highlights"]:
            assert e["text"][start:end]
    assert out[1]["matches"] == []
    assert {m["entity"] for m in out[2]["matches"]} >= {"gna", "tripoli"}


def test_malformed_line_is_named_and_the_others_still_come_out(tmp_path: Path) -> None:
    text = (
        json.dumps(LINES[0], ensure_ascii=False) + "\n"
        "{not json\n"
        "[1, 2]\n"
        + json.dumps({"id": 9, "title": 5})
        + "\n"
        + json.dumps(LINES[2], ensure_ascii=False)
        + "\n"
    )
    result = monitor("match", "--jsonl", "-", "--watchlist", str(LIBYA_WATCHLIST), stdin=text)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", None]
    assert "line 2:" in result.stderr and "not valid JSON" in result.stderr
    assert "line 3:" in result.stderr and "line 4:" in result.stderr


def _strict_json(line: str) -> object:
    """Parse a line as standard JSON: NaN and Infinity are refused."""

    def refuse(name: str) -> object:
        raise ValueError(f"{name} in the output")

    value = json.loads(line, parse_constant=refuse)
    json.dumps(value, allow_nan=False)
    return value


BAD_LINES = {
    "not UTF-8": (b'{"id": "b", "title": "Haftar \xff\xfe"}', "not UTF-8"),
    "lone surrogate in id": (b'{"id": "\\ud800", "title": "Haftar"}', "unpaired surrogate"),
    "lone surrogate in text": (b'{"id": "b", "title": "Haftar \\udc00"}', "unpaired surrogate"),
    "huge integer": (b'{"id": ' + b"7" * 5000 + b', "title": "Haftar"}', "5000 digits"),
    "deep nesting": (b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "NaN": (b'{"id": NaN, "title": "Haftar"}', "NaN is not standard JSON"),
    "Infinity": (b'{"id": "b", "extra": -Infinity}', "-Infinity is not standard JSON"),
    "overflowing float": (b'{"id": 1e999, "title": "Haftar"}', "out of range"),
}


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_bad_line_is_named_skipped_and_the_output_stays_standard_json(
    tmp_path: Path, kind: str
) -> None:
    bad, message = BAD_LINES[kind]
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"id": "a", "title": "Haftar in Tripoli"}\n' + bad + b'\n{"id": "c", "title": "LNA"}\n'
    )
    result = monitor("match", "--jsonl", str(source), "--watchlist", str(LIBYA_WATCHLIST))
    assert result.returncode == 1, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert "line 2:" in error and message in error, result.stderr
    out = [_strict_json(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out if isinstance(o, dict)] == ["a", "c"]


def test_bad_lines_on_standard_input_are_named_too() -> None:
    text = '{"id": NaN}\n{"id": "\\ud800"}\n{"id": "ok", "title": "\\ud83d\\ude00 Haftar"}\n'
    result = monitor("match", "--watchlist", str(LIBYA_WATCHLIST), stdin=text)
    assert result.returncode == 1
    assert "line 1:" in result.stderr and "line 2:" in result.stderr
    (out,) = [_strict_json(line) for line in result.stdout.splitlines()]
    assert isinstance(out, dict) and out["id"] == "ok" and out["matches"]


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'\xef\xbb\xbf{"id": 1, "title": "Haftar"}\n')
    result = monitor("match", "--jsonl", str(source), "--watchlist", str(LIBYA_WATCHLIST))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == 1
