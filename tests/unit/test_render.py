"""How an alert is printed: excerpts in reading order (title, summary, content), each text once."""

from __future__ import annotations

import io

from rich.console import Console

from monitor.render import excerpts_to_show, print_alert


def _printed(alert: dict[str, object]) -> list[str]:
    buffer = io.StringIO()
    print_alert(Console(file=buffer, force_terminal=False, width=200), alert)
    return buffer.getvalue().splitlines()


def test_excerpts_are_title_summary_content_and_a_repeated_text_is_shown_once() -> None:
    same = "Haftar's sons run much of the army."
    alert = {
        "watchlist": "libya",
        "entities": ["haftar"],
        "article": {"title": "Haftar's succession", "source": {"name": "Wire"}},
        "excerpts": [
            {"field": "summary", "text": same, "highlights": [[0, 6]]},
            {"field": "content", "text": same, "highlights": [[0, 6]]},
            {"field": "title", "text": "Haftar's succession", "highlights": [[0, 6]]},
            {"field": "content", "text": "Haftar met the envoy.", "highlights": [[0, 6]]},
            {"field": "content", "text": " Haftar's sons  run much of the army.", "highlights": []},
        ],
    }
    lines = [line.strip() for line in _printed(alert) if line.startswith("  ") and ":" in line]
    assert lines == [
        "title: **Haftar**'s succession",
        "summary: **Haftar**'s sons run much of the army.",
        "content: **Haftar** met the envoy.",
    ]


def test_excerpts_keep_their_order_within_a_field_and_unknown_fields_come_last() -> None:
    excerpts = [
        {"field": "other", "text": "d"},
        {"field": "content", "text": "b"},
        {"field": "content", "text": "a"},
        {"field": "title", "text": "c"},
    ]
    assert [e["text"] for e in excerpts_to_show(excerpts)] == ["c", "b", "a", "d"]
