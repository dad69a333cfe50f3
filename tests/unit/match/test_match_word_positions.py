"""Word positions (for NEAR and proximity rules) are found lazily, only as far into a field
as asked; they must be what counting every word of the field gives."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from monitor.match import Matcher, Watchlist
from monitor.match.scan import PatternIndex

WriteWatchlist = Callable[..., Watchlist]
WORDS = st.sampled_from(["Haftar", "lna", "x", "of", "_", "a_b", "طرابلس", "وحفتر", "12", "é"])
SEPARATORS = st.sampled_from([" ", ", ", ". ", "-", "\n", "’"])


def every_word_start(text: str) -> list[int]:
    return [found.start() for found in re.finditer(r"[^\W_]+", text)]


@given(
    st.lists(st.tuples(WORDS, SEPARATORS), max_size=40),
    st.lists(st.tuples(st.integers(0, 400), st.integers(1, 30)), max_size=12),
)
def test_spans_asked_in_any_order_are_those_of_the_whole_field(
    pieces: list[tuple[str, str]], queries: list[tuple[int, int]]
) -> None:
    index = PatternIndex([])
    scan = index.scan("content", "".join(word + separator for word, separator in pieces))
    text = scan.normalized.text
    starts = every_word_start(text)
    for start, length in queries:
        start = min(start, max(0, len(text) - 1))
        end = min(len(text), start + length) or start + 1
        first = max(0, bisect_right(starts, start) - 1)
        last = max(first, bisect_right(starts, max(start, end - 1)) - 1)
        assert scan.word_span(start, end) == (first, last)


def test_near_counts_words_far_into_a_long_field(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        alert: rules
        entities:
          - {id: haftar, kind: person, names: [Haftar]}
          - {id: tripoli, kind: place, names: [Tripoli]}
        rules:
          - {name: near, expr: haftar NEAR/3 tripoli}
          - {name: talks, expr: '"talks" AND haftar'}
        """
    )
    matcher = Matcher([watchlist])
    filler = "word " * 2000
    near = matcher.match({"content": f"<p>{filler}talks with Haftar in Tripoli</p>"})
    far = matcher.match({"content": f"<p>Haftar {filler}talks {filler} Tripoli</p>"})
    assert [alert.rule for alert in near.alerts] == ["near"]
    assert matcher.rules_holding({"content": f"{filler} Haftar near Tripoli talks"}) == {
        "test": ("near", "talks")
    }
    assert [alert.rule for alert in far.alerts] == ["talks"]
