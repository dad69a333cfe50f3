"""Property tests for the text layer: any input is handled, offset maps stay consistent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.text import html_to_text, normalize_text, normalized, sentence_spans

ANY_TEXT = st.text(max_size=200)
HTMLISH = st.lists(
    st.sampled_from(["<p>", "</p>", "<br>", "<b>", "</b>", "&amp;", "&#x627;", "<!--", "-->",
                     "<script>", "</script>", "a", " ", "\n", "Haftar", "طرابلس", "<", ">", "&"]),
    max_size=40,
).map("".join)  # fmt: skip


@given(ANY_TEXT)
def test_offset_map_is_monotonic_and_in_bounds(text: str) -> None:
    normalized = normalize_text(text)
    assert len(normalized.starts) == len(normalized.ends) == len(normalized.text)
    previous_start = 0
    for start, end in zip(normalized.starts, normalized.ends, strict=True):
        assert previous_start <= start < end <= len(text)
        previous_start = start


@given(ANY_TEXT)
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize_text(text).text
    assert normalize_text(once).text == once


@given(ANY_TEXT, st.booleans())
def test_normalized_is_normalize_texts_text(text: str, casefold: bool) -> None:
    # The keys' shortcut (no offset map) gives the very string the scanner's text has.
    assert normalized(text, casefold=casefold) == normalize_text(text, casefold=casefold).text


@given(st.one_of(ANY_TEXT, HTMLISH))
def test_html_to_text_accepts_anything(fragment: str) -> None:
    plain = html_to_text(fragment)
    assert "\x00" not in plain
    assert plain == plain.strip(" \n")


@given(ANY_TEXT)
def test_sentences_are_ordered_trimmed_slices(text: str) -> None:
    previous_end = 0
    for start, end in sentence_spans(text):
        assert previous_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        previous_end = end
