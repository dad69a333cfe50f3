"""How text looks in a terminal: the console of the command line (no control character it
is given is acted on: `monitor.redact.terminal_text`), and an alert (watchlist, entities,
title, highlighted excerpts)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.padding import Padding
from rich.table import Column, Table
from rich.text import Text

from monitor.redact import redact_article_url, terminal_text

if TYPE_CHECKING:
    from rich.style import Style

FIELD_ORDER = ("title", "summary", "content")


class TerminalConsole(Console):
    """A console that prints no control character it was given as text: each string, markup
    included, passes through `terminal_text` (newlines kept) before rich renders it. What
    rich itself writes (colours, when the output is a terminal) is not affected. Fields that
    must stay on one line are passed through ``terminal_text(field)`` first."""

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: Any = None,
        overflow: Any = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: Any = None,
    ) -> Text:
        return super().render_str(
            terminal_text(text, one_line=False),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=emoji,
            markup=markup,
            highlight=highlight,
            highlighter=highlighter,
        )

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size; output that is not a terminal (a pipe, a file, cron's mail)
        is `PIPED_WIDTH` wide unless COLUMNS says otherwise, where rich would take 80 and
        cut the tables' times and names short."""
        found = super().size
        if self._width is None and "COLUMNS" not in os.environ and not self.is_terminal:
            return ConsoleDimensions(max(found.width, PIPED_WIDTH), found.height)
        return found

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


PIPED_WIDTH = 200


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


PLAIN_ROWS = 500
"""Over this many rows a table is printed plain: a line a row, the columns padded and
separated by two spaces, nothing wrapped. Rich's table measured and wrapped every cell:
10,000 sources took `monitor sources` 16 s of CPU (an outside probe), the plain lines a
fraction of a second, and a line a row is what grep and sort want at that size."""


def _print_plain_rows(
    console: Console, names: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    widths = [
        max(cell_len(cell) for cell in (name, *(row[i] for row in rows)))
        for i, name in enumerate(names)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell + " " * (width - cell_len(cell)) for cell, width in zip(cells, widths, strict=True)
        )
        return "  ".join(padded).rstrip()

    text = "\n".join([line(names), *(line(row) for row in rows)])
    console.print(Text(text), soft_wrap=True)


# Lines printed to a terminal per call: rich holds every rendered line of a call at once
# (20 MB for 10,000 sources), and a call per line costs about 0.1 ms.
STYLED_CHUNK = 500


def print_styled(lines: Sequence[tuple[str, str, str]], console: Console) -> None:
    """Lines of (style, label, text), the label styled, the text never read as markup (a
    feed named "[b]" is shown so). Where rich would write no colour (not a terminal, or
    NO_COLOR), written as they are: rich's rendering cost 40 ms per 1,000 lines, a thirtieth
    of an all-304 `monitor once`."""
    if console.color_system is None:
        console.file.write("".join(f"{label} {terminal_text(text)}\n" for _, label, text in lines))
        return
    for start in range(0, len(lines), STYLED_CHUNK):
        chunk = lines[start : start + STYLED_CHUNK]
        texts = [
            Text.assemble((label, style), " ", terminal_text(text)) for style, label, text in chunk
        ]
        console.print(Text("\n").join(texts), soft_wrap=True)


def print_rows(
    console: Console, columns: Sequence[str | Column], rows: Sequence[Sequence[str]]
) -> None:
    """Rows of plain text (never read as markup: a feed's "[/x]" or "[link=...]" is shown as
    written) as a table when the console is wide enough for every column's longest word;
    else one block per row (a narrow terminal, where nine columns would be two letters
    wide): the first cell on a line, then "column: value" pairs packed into lines under it,
    an empty or "-" cell left out."""
    names = [str(c.header) if isinstance(c, Column) else c for c in columns]
    if len(rows) > PLAIN_ROWS:
        _print_plain_rows(console, names, rows)
        return
    # Each column as wide as its longest word, plus its padding and border.
    needed = 1 + sum(
        3 + max(_longest_word(cell) for cell in (name, *(row[i] for row in rows)))
        for i, name in enumerate(names)
    )
    if needed <= console.width:
        table = Table(*columns)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
        return
    width = console.width - 2
    for row in rows:
        console.print(Text(f"{names[0]} {row[0]}" if row[0].isdigit() else row[0]))
        line = ""
        for name, cell in zip(names[1:], row[1:], strict=True):
            if cell in ("", "-"):
                continue
            pair = f"{name}: {cell}"
            if line and cell_len(line) + 2 + cell_len(pair) > width:
                console.print(Padding(Text(line), (0, 0, 0, 2), expand=False), soft_wrap=False)
                line = ""
            line = f"{line}  {pair}" if line else pair
        if line:
            console.print(Padding(Text(line), (0, 0, 0, 2), expand=False), soft_wrap=False)


def excerpts_to_show(excerpts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The excerpts in reading order (title, summary, content; unknown fields last, each
    field's excerpts in their given order), without one whose text equals an earlier one's
    (a feed's summary is often its content's first paragraph)."""

    def rank(excerpt: Mapping[str, Any]) -> int:
        field = excerpt.get("field")
        return FIELD_ORDER.index(field) if field in FIELD_ORDER else len(FIELD_ORDER)

    shown: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    for excerpt in sorted(excerpts, key=rank):  # sorted() is stable
        text = " ".join(str(excerpt.get("text", "")).split())
        if text in seen:
            continue
        seen.add(text)
        shown.append(excerpt)
    return shown


def highlight(text: str, spans: Sequence[Sequence[int]], *, marks: bool = False) -> str:
    """Rich markup of ``text`` on one line with the ``spans`` in bold yellow (feed text is
    escaped, as markup and as `terminal_text`); with ``marks`` (output that is not a terminal)
    the spans are also wrapped in ``**``."""
    parts: list[str] = []
    position = 0
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        if start < position:
            continue
        parts.append(escape(terminal_text(text[position:start])))
        lit = escape(terminal_text(text[start:end]))
        parts.append(
            f"[bold yellow]**{lit}**[/bold yellow]"
            if marks
            else f"[bold yellow]{lit}[/bold yellow]"
        )
        position = end
    parts.append(escape(terminal_text(text[position:])))
    return "".join(parts)


def print_alert(console: Console, alert: Mapping[str, Any]) -> None:
    """Print one alert (a payload's ``data`` or a replay item): its excerpts in reading order,
    each text once; every field on its line (`terminal_text`)."""
    article = alert.get("article") or {}
    title = article.get("title") or alert.get("title") or "(no title)"
    source = (article.get("source") or {}).get("name") or alert.get("source") or ""
    url = article.get("url") or alert.get("url") or ""
    entities = ", ".join(alert.get("entities", []))
    rule = alert.get("rule")
    if rule and alert.get("rule_expr"):
        rule = f"{rule} ({alert['rule_expr']})"

    def shown(value: object) -> str:
        return escape(terminal_text(value))

    console.print(
        f"[bold]{shown(alert.get('watchlist'))}[/bold] · [cyan]{shown(entities)}[/cyan]"
        + (f" · rule {shown(rule)}" if rule else "")
    )
    console.print(f"  {shown(title)}" + (f"  [dim]({shown(source)})[/dim]" if source else ""))
    if url:
        console.print(f"  [dim]{shown(redact_article_url(url))}[/dim]")
    for excerpt in excerpts_to_show(alert.get("excerpts", [])):
        console.print(
            f"  [dim]{shown(excerpt.get('field'))}:[/dim] "
            + highlight(
                str(excerpt.get("text", "")),
                excerpt.get("highlights", []),
                marks=not console.is_terminal,
            )
        )
