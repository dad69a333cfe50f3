"""normalize_text's two ways to build the offset map (identity ranges, or char by char) give
what folding each character on its own gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.text import _fold_char, _one_script_words, normalize_text

# Characters that become zero or several characters, mixed with ordinary text.
IRREGULAR = ["\u00ad", "\u200b", "\u0640", "\u064e", "\u0301", "ß", "ﬁ", "ﷲ", "Ǆ", "㎞", "İ"]
ORDINARY = ["Haftar", " ", "-", "\t", "طرابلس", "é", "É", "’", "\u00a0", "Ω", "LNA", "\n", "А", "р"]
TEXTS = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(IRREGULAR + ORDINARY), max_size=20).map("".join),
)


def folded_char_by_char(text: str, casefold: bool) -> tuple[str, list[int], list[int]]:
    """The reference: each char folded alone; a dropped combining mark joins the char before;
    then a word mixing Latin, Cyrillic and Greek written in one script (one char for one)."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():
            folded = char.lower() if casefold else char
            folded = " " if folded in "-_\t\r\f\v" else folded
        else:
            folded = _fold_char(char, casefold)
        out.append(folded)
        starts.extend([index] * len(folded))
        ends.extend([index + 1] * len(folded))
        if not folded and ends and unicodedata.category(char)[0] == "M" and ends[-1] == index:
            ends[-1] = index + 1
    return _one_script_words("".join(out)), starts, ends


@settings(max_examples=500)
@given(TEXTS, st.booleans())
def test_the_map_is_the_char_by_char_map(text: str, casefold: bool) -> None:
    normalized = normalize_text(text, casefold=casefold)
    expected_text, starts, ends = folded_char_by_char(text, casefold)
    assert normalized.text == expected_text
    assert list(normalized.starts) == starts
    assert list(normalized.ends) == ends


def test_one_to_one_texts_get_the_identity_map() -> None:
    normalized = normalize_text("Khalifa Haftar à Tripoli — طرابلس")
    assert normalized.starts == range(len(normalized.text))
    assert normalized.ends == range(1, len(normalized.text) + 1)


def test_a_dropped_char_gives_a_full_map_even_when_lengths_balance() -> None:
    # "ﬁ" becomes two chars and the soft hyphen none: same length, not the identity.
    source = "ﬁ\u00adx"
    normalized = normalize_text(source)
    assert normalized.text == "fix"
    assert [normalized.source_span(i, i + 1) for i in range(3)] == [(0, 1), (0, 1), (2, 3)]
