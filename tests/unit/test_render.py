"""How an alert is printed: excerpts in reading order (title, summary, content), each text once;
and no control character a feed wrote reaches the terminal (it is shown as its escape)."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from monitor.redact import terminal_json, terminal_text
from monitor.render import TerminalConsole, excerpts_to_show, print_alert, print_styled


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


# --- what a feed or a receiver wrote, in a terminal (docs/operations.md, "What is never shown")

HOSTILE = "\x1b]0;PWNED\x07\x1b[31mRED\x9b2J\r\x08\x7f\x85\u202eevil\u2066x\u2069\x00"
SHOWN = "\\x1b]0;PWNED\\x07\\x1b[31mRED\\x9b2J\\x0d\\x08\\x7f\\x85\\u202eevil\\u2066x\\u2069\\x00"
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_terminal_text_shows_each_control_character_as_its_escape() -> None:
    assert terminal_text(HOSTILE) == SHOWN
    assert terminal_text(HOSTILE, one_line=False) == SHOWN
    assert terminal_text("one\ntwo\tthree") == "one two three"  # one line: a cell, a field
    assert terminal_text("one\ntwo\tthree", one_line=False) == "one\ntwo\tthree"
    assert terminal_text(SHOWN) == SHOWN  # shown text stays as it is (nothing twice)
    plain = "Haftar's forces near Tripoli — قوات حفتر [bold] ünïcödé"
    assert terminal_text(plain) == plain
    # The line and paragraph separators break lines in some terminals: a space, as in the
    # human log line (an outside probe, probe66 N1: they reached the tables raw).
    assert terminal_text("one\u2028two\u2029three") == "one two three"
    assert terminal_text("one\u2028two", one_line=False) == "one two"


def test_terminal_json_is_the_same_data_without_a_raw_control_character() -> None:
    document = {"title": HOSTILE + "\u2028\u2029", "text": "قوات حفتر"}
    written = terminal_json(json.dumps(document, ensure_ascii=False))
    assert not UNSAFE.search(written) and "\u2028" not in written
    assert json.loads(written) == document
    assert "قوات حفتر" in written


def test_an_alert_with_control_characters_prints_them_as_escapes_each_field_on_its_line() -> None:
    title = f"Haftar near Tripoli{HOSTILE}"
    alert = {
        "watchlist": "libya",
        "entities": ["haftar"],
        "article": {"title": title, "source": {"name": f"Wire\n{HOSTILE}"}},
        "excerpts": [
            # A highlight after control characters still marks the right words.
            {
                "field": "title",
                "text": f"{HOSTILE} Haftar\nnear",
                "highlights": [[len(HOSTILE) + 1, len(HOSTILE) + 7]],
            },
        ],
    }
    lines = _printed(alert)
    assert not UNSAFE.search("\n".join(lines))
    assert lines[1] == f"  Haftar near Tripoli{SHOWN}  (Wire {SHOWN})"
    assert lines[2] == f"  title: {SHOWN} **Haftar** near"


def test_the_command_line_console_prints_no_control_character_it_is_given() -> None:
    buffer = io.StringIO()
    console = TerminalConsole(file=buffer, force_terminal=False, width=200)
    console.print(f"[red]error:[/red] {HOSTILE}\nnext line")
    assert buffer.getvalue() == f"error: {SHOWN}\nnext line\n"


def test_output_that_is_no_terminal_is_wide_unless_columns_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from rich.table import Table

    from monitor.render import PIPED_WIDTH, TerminalConsole

    monkeypatch.delenv("COLUMNS", raising=False)
    buffer = io.StringIO()
    console = TerminalConsole(file=buffer)
    table = Table("name", "last poll", "next poll", "note")
    table.add_row("Wire", "2026-12-05 10:29:41", "2026-12-05 10:39:41", "x" * 60)
    console.print(table)

    assert console.width == PIPED_WIDTH
    assert "2026-12-05 10:29:41" in buffer.getvalue() and "x" * 60 in buffer.getvalue()
    monkeypatch.setenv("COLUMNS", "100")
    assert TerminalConsole(file=io.StringIO()).width == 100


def test_many_rows_print_plain_a_line_each_never_as_markup() -> None:
    # An outside probe: `monitor sources` took 16 s of CPU for 10,000 rows in rich's table.
    from monitor.render import PLAIN_ROWS, print_rows

    rows = [
        (f"Feed {n}", "[red]x[/red]" if n == 3 else "ok", "طرابلس") for n in range(PLAIN_ROWS + 1)
    ]
    stream = io.StringIO()
    print_rows(Console(file=stream, width=40), ("name", "status", "note"), rows)
    lines = stream.getvalue().splitlines()
    assert len(lines) == PLAIN_ROWS + 2  # the header, a line a row, nothing wrapped
    assert lines[0].split() == ["name", "status", "note"]
    assert lines[4] == "Feed 3    [red]x[/red]  طرابلس"
    assert lines[1].index("ok") == lines[0].index("status")


def test_styled_lines_show_names_as_written_in_colour_and_without() -> None:
    lines = [
        ("dim", "not modified", "feed [b]bold[/b]"),
        ("red", "error", "evil\x1b[2J feed: timeout"),
        ("", "sources:", "2 enabled"),
    ]
    plain = io.StringIO()
    print_styled(lines, Console(file=plain, width=80))
    assert plain.getvalue().splitlines() == [
        "not modified feed [b]bold[/b]",
        "error evil\\x1b[2J feed: timeout",  # a control character shown, never sent
        "sources: 2 enabled",
    ]
    coloured = io.StringIO()
    print_styled(
        lines, Console(file=coloured, width=80, force_terminal=True, color_system="standard")
    )
    text = coloured.getvalue()
    assert "\x1b[31merror\x1b[0m" in text  # the label in red
    assert "[b]bold[/b]" in text  # a name is no markup
    assert "\x1b[2J" not in text
