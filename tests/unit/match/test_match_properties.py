"""Property tests: inserted names are found with exact offsets whatever surrounds them;
a name inside a longer word never is; offsets and excerpts always slice the text."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.match import Matcher, Mention
from monitor.match.excerpts import ELLIPSIS, build_excerpts
from monitor.match.names import ARABIC_PREFIXES
from monitor.match.watchlist_file import load_watchlist
from monitor.text import html_to_text

LATIN_NAMES = {"Khalifa Haftar": "haftar", "Tripoli": "tripoli", "Misrata": "misrata"}
ARABIC_NAMES = {"طرابلس": "tripoli", "خليفة حفتر": "haftar", "مصراتة": "misrata"}
ACRONYMS = {"LNA": "lna", "GNA": "gna"}
WATCHLIST = """
entities:
  - id: haftar
    names: [Khalifa Haftar, خليفة حفتر]
  - id: tripoli
    names: [Tripoli, طرابلس]
  - id: misrata
    names: [Misrata, مصراتة]
  - id: lna
    acronyms: [LNA]
  - id: gna
    acronyms: [GNA]
"""
FILLER = st.lists(
    st.sampled_from(["alpha", "beta", "said", "on", "Monday", "2024", "قال", "اليوم", "في"]),
    max_size=4,
).map(" ".join)
LEFT = st.sampled_from(["", " ", "(", "«", '"', "'", ", ", "\n", "pro-", "anti–", "—", ":"])
RIGHT = st.sampled_from(["", " ", "'s", "’s", ".", ",", ")", "»", '"', "-based", "?", "؟", "،"])
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def matcher(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    path: Path = tmp_path_factory.mktemp("watchlists") / "props.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    return Matcher([load_watchlist(path)])


@st.composite
def latin_surface(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(LATIN_NAMES)))
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    surface = "".join(c.swapcase() if flip else c for c, flip in zip(name, flips, strict=True))
    if draw(st.booleans()):
        cut = draw(st.integers(1, len(name.split()[-1]) - 1))
        surface = surface[: len(surface) - cut] + "\u00ad" + surface[len(surface) - cut :]
    return surface, LATIN_NAMES[name]


@st.composite
def arabic_surface(draw: st.DrawFn) -> tuple[str, str, str]:
    """(written word with prefix, surface of the name, entity)."""
    name = draw(st.sampled_from(sorted(ARABIC_NAMES)))
    prefix = draw(st.sampled_from(["", *sorted(ARABIC_PREFIXES)]))
    surface = name
    if draw(st.booleans()):
        surface = name[0] + "\u064e" + name[1:]  # a fatha after the first letter
    return prefix + surface, surface, ARABIC_NAMES[name]


WRAPS = st.sampled_from(["{}", "<b>{}</b>", "<p>{}</p>", "<a href='https://x.example/'>{}</a>"])


def assert_found(matcher: Matcher, fragment: str, surface: str, entity: str) -> None:
    result = matcher.match({"content": fragment})
    plain = html_to_text(fragment)
    assert all(plain[m.start : m.end] == m.text for m in result.mentions)
    # A soft hyphen is no part of the plain text: the mention reads without it.
    shown = surface.replace("\u00ad", "")
    assert (entity, shown) in [(m.entity, m.text) for m in result.mentions], (fragment, result)


@SETTINGS
@given(latin_surface(), FILLER, FILLER, LEFT, RIGHT, WRAPS)
def test_latin_names_are_found_with_exact_offsets(
    matcher: Matcher,
    named: tuple[str, str],
    before: str,
    after: str,
    left: str,
    right: str,
    wrap: str,
) -> None:
    surface, entity = named
    word = wrap.format(html.escape(surface))
    fragment = html.escape(before + (" " if before else "") + left) + word
    fragment += html.escape(right + (" " if after else "") + after)
    assert_found(matcher, fragment, surface, entity)


@SETTINGS
@given(st.sampled_from(sorted(ACRONYMS)), FILLER, FILLER, LEFT, RIGHT, WRAPS)
def test_acronyms_are_found_in_their_case(
    matcher: Matcher, acronym: str, before: str, after: str, left: str, right: str, wrap: str
) -> None:
    fragment = (
        html.escape(before + " " + left) + wrap.format(acronym) + html.escape(right + " " + after)
    )
    assert_found(matcher, fragment, acronym, ACRONYMS[acronym])
    lowered = fragment.replace(acronym, acronym.lower())
    assert all(m.entity != ACRONYMS[acronym] for m in matcher.match({"content": lowered}).mentions)


@SETTINGS
@given(arabic_surface(), FILLER, FILLER, LEFT, RIGHT, WRAPS)
def test_arabic_names_are_found_after_prefixes(
    matcher: Matcher,
    named: tuple[str, str, str],
    before: str,
    after: str,
    left: str,
    right: str,
    wrap: str,
) -> None:
    written, surface, entity = named
    fragment = (
        html.escape(before + " " + left) + wrap.format(written) + html.escape(right + " " + after)
    )
    assert_found(matcher, fragment, surface, entity)


LATIN_LETTERS = st.text(alphabet="qxzjwQXZ", min_size=0, max_size=3)
ARABIC_LETTERS = st.text(alphabet="ثخذضظغ", min_size=1, max_size=3)


@SETTINGS
@given(
    st.sampled_from(sorted(LATIN_NAMES) + sorted(ACRONYMS)), LATIN_LETTERS, LATIN_LETTERS, FILLER
)
def test_latin_name_inside_a_longer_word_is_never_found(
    matcher: Matcher, name: str, head: str, tail: str, filler: str
) -> None:
    if not head and not tail:
        tail = "x"
    entity = LATIN_NAMES.get(name) or ACRONYMS[name]
    result = matcher.match({"content": f"{filler} {head}{name}{tail} {filler}"})
    assert all(m.entity != entity for m in result.mentions)


@SETTINGS
@given(st.sampled_from(sorted(ARABIC_NAMES)), ARABIC_LETTERS, ARABIC_LETTERS, st.booleans())
def test_arabic_name_inside_a_longer_word_is_never_found(
    matcher: Matcher, name: str, head: str, tail: str, both: bool
) -> None:
    # Letters that are not a prefix, or letters glued after the name.
    word = f"{head}{name}{tail}" if both else f"{name}{tail}"
    result = matcher.match({"content": f"قال {word} اليوم"})
    assert all(m.entity != ARABIC_NAMES[name] for m in result.mentions)


NOISY_TEXT = st.lists(
    st.sampled_from(
        list("TripoliHaftarLNAGNA طرابلسحفترو ال.,;'’-–<>&/\"\n\u00ad\u200b\u0640\u064eÉé")
        + ["Tripoli", "Haftar", "LNA", "طرابلس", "<p>", "</p>", "<br>", "&amp;", "&#8217;"]
    ),
    max_size=60,
).map("".join)


@SETTINGS
@given(NOISY_TEXT, NOISY_TEXT)
def test_offsets_always_slice_the_plain_text(matcher: Matcher, title: str, content: str) -> None:
    fields = {"title": title, "content": content}
    result = matcher.match(fields)
    for mention in result.mentions:
        plain = html_to_text(fields[mention.field])
        assert plain[mention.start : mention.end] == mention.text
        assert mention.text.strip() == mention.text and mention.text
    for excerpt in result.excerpts:
        for start, end in excerpt.highlights:
            assert 0 <= start < end <= len(excerpt.text)


WORDS = st.lists(
    st.sampled_from(["Haftar", "said", "Mr.", "the", "U.N.", "force.", "Tripoli", "moved!", "x"]),
    min_size=1,
    max_size=120,
)


@SETTINGS
@given(WORDS, st.integers(40, 200))
def test_excerpts_cover_every_mention_within_the_limit(words: list[str], limit: int) -> None:
    text = " ".join(words)
    mentions, position = [], 0
    for word in words:
        if word in ("Haftar", "Tripoli"):
            mentions.append(
                Mention("w", word.lower(), "content", position, position + len(word), word)
            )
        position += len(word) + 1
    excerpts = build_excerpts({"content": text}, mentions, limit)
    shown = [e.text[s:t] for e in excerpts for s, t in e.highlights]
    # Every mention is shown, once per excerpt; a sentence the field repeats word for word
    # ("Haftar force. Mr. force. Haftar force.") is one excerpt: its second copy would
    # show nothing new, so it covers both of its places.
    assert set(shown) == {m.text for m in mentions}
    texts = [e.text for e in excerpts]
    assert len(texts) == len(set(texts))
    assert len(shown) <= len(mentions)
    for excerpt in excerpts:
        assert len(excerpt.text) <= limit
        assert excerpt.text.strip(ELLIPSIS) in text


BOUNDARY_CHARS = st.characters(
    categories=["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs"]
)


@SETTINGS
@given(st.sampled_from(sorted(LATIN_NAMES)), BOUNDARY_CHARS, BOUNDARY_CHARS)
def test_any_punctuation_or_symbol_is_a_boundary(
    matcher: Matcher, name: str, left: str, right: str
) -> None:
    fragment = html.escape(f"{left}{name}{right}")
    assert_found(matcher, fragment, name, LATIN_NAMES[name])
