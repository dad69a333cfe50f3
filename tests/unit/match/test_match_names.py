"""Names and acronyms: whole words, case, possessives, hyphens, HTML, Arabic, offsets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.match import Matcher, MatchResult, Watchlist
from monitor.text import html_to_text

WriteWatchlist = Callable[..., Watchlist]


def entities(result: MatchResult) -> list[str]:
    return [mention.entity for mention in result.mentions]


def surfaces(result: MatchResult) -> list[str]:
    return [mention.text for mention in result.mentions]


def assert_offsets_slice_plain_text(fields: dict[str, str], result: MatchResult) -> None:
    for mention in result.mentions:
        plain = html_to_text(fields[mention.field])
        assert plain[mention.start : mention.end] == mention.text


@pytest.mark.parametrize("field", ["title", "summary", "content"])
def test_names_match_case_insensitively_in_every_field(libya_matcher: Matcher, field: str) -> None:
    fields = {field: "HAFTAR and haftar and Haftar went to TRIPOLI"}
    result = libya_matcher.match(fields)
    assert entities(result) == ["haftar", "haftar", "haftar", "tripoli"]
    assert {mention.field for mention in result.mentions} == {field}
    assert_offsets_slice_plain_text(fields, result)


@pytest.mark.parametrize(
    "text",
    [
        "The lna said nothing.",
        "A signature was missing.",
        "Tripolitania is a region.",
        "Signal from Gnat and Lnarch.",
        "The GNAs and LNAs.",
        "xHaftar and Haftarx",
    ],
)
def test_no_mention_inside_words_or_in_wrong_case(libya_matcher: Matcher, text: str) -> None:
    assert libya_matcher.match({"content": text}).mentions == ()


def test_acronyms_are_case_sensitive(libya_matcher: Matcher) -> None:
    result = libya_matcher.match({"content": "LNA, not lna or lNA; GNA, not gna or gNA."})
    assert surfaces(result) == ["LNA", "GNA"]
    # Italian wires write "Lna"/"Gna": listed as conditional acronyms, counted only in an
    # article about Libya; elsewhere the exact case rule holds.
    assert surfaces(libya_matcher.match({"content": "Lna signature, Gna line."})) == []
    italian = libya_matcher.match({"content": "In Libia l'Lna e il Gna; LnA no."})
    assert surfaces(italian) == ["Lna", "Gna"]


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("Haftar's forces", "Haftar"),
        ("Haftar’s forces", "Haftar"),
        ("Haftar&#8217;s forces", "Haftar"),
        ("pro-Haftar militias", "Haftar"),
        ("pro–Haftar militias", "Haftar"),
        ("anti-GNA protest", "GNA"),
        ("the LNA's spokesman", "LNA"),
        ("(Haftar)", "Haftar"),
        ("Haftar,LNA", "Haftar"),
        ("«Haftar»", "Haftar"),
    ],
)
def test_possessives_hyphens_and_punctuation(
    libya_matcher: Matcher, text: str, surface: str
) -> None:
    fields = {"content": text}
    result = libya_matcher.match(fields)
    assert result.mentions[0].text == surface
    assert_offsets_slice_plain_text(fields, result)


def test_names_at_start_and_end_of_field(libya_matcher: Matcher) -> None:
    result = libya_matcher.match({"title": "Haftar", "content": "Tripoli"})
    assert [(m.field, m.start, m.end) for m in result.mentions] == [
        ("title", 0, 6),
        ("content", 0, 7),
    ]


def test_offsets_are_into_plain_text_after_entities_and_tags(libya_matcher: Matcher) -> None:
    fields = {"content": "<p>&quot;Caf&eacute;&quot; <b>near</b> <i>Tripoli</i></p>"}
    result = libya_matcher.match(fields)
    (mention,) = result.mentions
    assert (mention.start, mention.end, mention.text) == (12, 19, "Tripoli")
    assert_offsets_slice_plain_text(fields, result)


def test_never_in_urls_attributes_tags_or_scripts(libya_matcher: Matcher) -> None:
    fields = {
        "content": (
            '<a href="https://example.org/haftar/tripoli" title="LNA GNA">read</a>'
            "<img alt='Haftar' src='tripoli.png'><script>Haftar()</script><!-- Tripoli -->"
            "<haftar>text</haftar>"
        )
    }
    assert libya_matcher.match(fields).mentions == ()


def test_titles_and_variants_match(libya_matcher: Matcher) -> None:
    text = (
        "Field Marshal Khalifa Haftar; Gen. Haftar; Hafter; Hifter; Haftir; "
        "Khalifa Belqasim Haftar; خليفة حفتر; حفتر."
    )
    result = libya_matcher.match({"content": text})
    assert set(entities(result)) == {"haftar"}
    assert surfaces(result) == [
        "Field Marshal Khalifa Haftar",
        "Gen. Haftar",
        "Hafter",
        "Hifter",
        "Haftir",
        "Khalifa Belqasim Haftar",
        "خليفة حفتر",
        "حفتر",
    ]


def test_longest_leftmost_name_wins(write_watchlist: Callable[..., Watchlist]) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
          - id: airport
            names: [Tripoli International Airport]
        """
    )
    result = Matcher([watchlist]).match({"content": "Tripoli International Airport, Tripoli"})
    assert [(m.entity, m.text) for m in result.mentions] == [
        ("airport", "Tripoli International Airport"),
        ("tripoli", "Tripoli"),
    ]


def test_a_sons_full_name_is_his_span_not_the_fathers(libya_matcher: Matcher) -> None:
    text = "Saddam Haftar and Khalifa Haftar met. Iraq's Saddam Hussein did not."
    result = libya_matcher.match({"content": text})
    assert [(m.entity, m.text) for m in result.mentions] == [
        ("saddam_haftar", "Saddam Haftar"),
        ("haftar", "Khalifa Haftar"),
    ]


@pytest.mark.parametrize(
    ("text", "surface", "entity"),
    [
        ("وطرابلس", "طرابلس", "tripoli"),
        ("بطرابلس", "طرابلس", "tripoli"),
        ("لحفتر", "حفتر", "haftar"),
        ("فبنغازي", "بنغازي", "benghazi"),
        ("والجيش الوطني الليبي", "الجيش الوطني الليبي", "lna"),
        ("للجيش الوطني الليبي", "جيش الوطني الليبي", "lna"),
        ("وللجيش الوطني الليبي", "جيش الوطني الليبي", "lna"),
        ("حَفْتَر", "حَفْتَر", "haftar"),
        ("حفـــتر", "حفـــتر", "haftar"),
        ("حكومة الوفاق الوطنى", "حكومة الوفاق الوطنى", "gna"),
        ("حكومه الوفاق", "حكومه الوفاق", "gna"),
    ],
)
def test_arabic_prefixes_and_spelling_variants(
    libya_matcher: Matcher, text: str, surface: str, entity: str
) -> None:
    fields = {"content": f"قال مصدر إن {text} اليوم"}
    result = libya_matcher.match(fields)
    assert [(m.entity, m.text) for m in result.mentions] == [(entity, surface)]
    assert_offsets_slice_plain_text(fields, result)


# (حفتري, "Haftarist", is a derived form of the name: tests/unit/match/test_match_scripts.py;
# طرابلسي is the surname Trabelsi.)
@pytest.mark.parametrize("text", ["طرابلسي", "الطرابلسي", "مطرابلس", "والبطرابلس", "ططرابلس"])
def test_arabic_words_that_only_contain_a_name(libya_matcher: Matcher, text: str) -> None:
    assert libya_matcher.match({"content": text}).mentions == ()


def test_latin_diacritics_and_typography(libya_matcher: Matcher) -> None:
    fields = {"content": "Trípoli, TRIPOLI, Haf\u00adtar, Misrāta, Khalifa\u00a0Haftar"}
    result = libya_matcher.match(fields)
    assert entities(result) == ["tripoli", "tripoli", "haftar", "misrata", "haftar"]
    assert surfaces(result) == [
        "Trípoli",
        "TRIPOLI",
        "Haftar",  # the soft hyphen is no part of the plain text: the name reads as written
        "Misrāta",
        "Khalifa\u00a0Haftar",
    ]


def test_one_automaton_serves_several_watchlists(write_watchlist: WriteWatchlist) -> None:
    first = write_watchlist(
        """
        entities:
          - id: haftar
            names: [Haftar]
        """,
        stem="first",
    )
    second = write_watchlist(
        """
        entities:
          - id: khalifa
            names: [Khalifa Haftar]
        """,
        stem="second",
    )
    result = Matcher([first, second]).match({"content": "Khalifa Haftar spoke."})
    assert [(m.watchlist, m.entity, m.text) for m in result.mentions] == [
        ("second", "khalifa", "Khalifa Haftar"),
        ("first", "haftar", "Haftar"),
    ]
    assert [alert.watchlist for alert in result.alerts] == ["first", "second"]


def test_unknown_fields_are_refused(libya_matcher: Matcher) -> None:
    with pytest.raises(ValueError, match="unknown article fields"):
        libya_matcher.match({"body": "Haftar"})


def test_missing_and_empty_fields(libya_matcher: Matcher) -> None:
    assert libya_matcher.match({}).mentions == ()
    assert libya_matcher.match({"title": "", "content": ""}).alerts == ()


def test_duplicate_watchlist_names_are_refused(write_watchlist: WriteWatchlist) -> None:
    from monitor.errors import ConfigError

    first = write_watchlist("entities: [{id: a, names: [Alpha]}]", stem="same")
    with pytest.raises(ConfigError, match="already used"):
        Matcher([first, first])
