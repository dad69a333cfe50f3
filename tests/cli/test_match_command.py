"""`monitor match --jsonl`: one JSON line out per line in, DESIGN.md fields, errors by line."""

from __future__ import annotations

import json
from pathlib import Path

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
