"""normalize_text: folding rules and the offset map back to the plain text."""

from __future__ import annotations

import pytest

from monitor.text import is_word_char, normalize_text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("HAFTAR", "haftar"),
        ("Élysée Trípoli", "elysee tripoli"),
        ("Haftar’s", "haftar's"),
        ("pro–Haftar", "pro haftar"),
        ("al-Sarraj", "al sarraj"),
        ("Haf\u00adtar", "haftar"),
        ("Haf\u200btar", "haftar"),
        ("Khalifa\u00a0Haftar", "khalifa haftar"),
        ("Straße", "strasse"),
        ("ﬁeld", "field"),
        ("أحمد إسلام آمال ٱلله", "احمد اسلام امال الله"),
        ("مستشفى", "مستشفي"),
        ("حكومة", "حكومه"),
        ("حَفْتَر", "حفتر"),
        ("حفـــتر", "حفتر"),
        ("Haftar™ ℃", "haftar   "),
        ("①", "1"),
    ],
)
def test_folding(source: str, expected: str) -> None:
    assert normalize_text(source).text == expected


def test_case_can_be_kept() -> None:
    assert normalize_text("LNA Élysée", casefold=False).text == "LNA Elysee"


@pytest.mark.parametrize(
    "source",
    ["Straße Haftar", "Haf\u00adtar’s", "حَفْتَر وطرابلس", "e\u0301lan LNA", "ﬁeld ﷲ x", ""],
)
def test_offset_map_covers_the_source(source: str) -> None:
    normalized = normalize_text(source)
    assert len(normalized.starts) == len(normalized.ends) == len(normalized.text)
    for index in range(len(normalized.text)):
        start, end = normalized.source_span(index, index + 1)
        assert 0 <= start < end <= len(source)
    assert list(normalized.starts) == sorted(normalized.starts)


def test_span_maps_back_to_the_surface_form() -> None:
    source = "Le maréchal Haf\u00adtar’s"
    normalized = normalize_text(source)
    begin = normalized.text.index("haftar")
    start, end = normalized.source_span(begin, begin + len("haftar"))
    assert source[start:end] == "Haf\u00adtar"


def test_trailing_harakat_belong_to_the_word() -> None:
    source = "حفترُ قال"
    normalized = normalize_text(source)
    start, end = normalized.source_span(0, 4)
    assert source[start:end] == "حفترُ"


@pytest.mark.parametrize(
    ("char", "word"),
    [
        ("a", True),
        ("é", True),
        ("ح", True),
        ("٣", True),
        ("'", False),
        ("-", False),
        (" ", False),
        ("،", False),
    ],
)
def test_word_chars(char: str, word: bool) -> None:
    assert is_word_char(char) is word


# A word written in one script with letters of another that look alike (a keyboard layout
# left on, or on purpose): read in the script most of its letters are in, one char for one.
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hаftаr", "haftar"),  # two Cyrillic а
        ("Trірoli", "tripoli"),  # Cyrillic і р
        ("GΝA", "gna"),  # Greek capital Nu
        ("Ηaftar", "haftar"),  # Greek capital Eta
        ("Tриполи", "триполи"),  # a Latin T in a Cyrillic word
        ("Хафтaр", "хафтар"),  # a Latin a in a Cyrillic word
        ("Сoca Cola", "coca cola"),
    ],
)
def test_a_word_with_lookalike_letters_of_another_script_is_read_in_its_own(
    source: str, expected: str
) -> None:
    normalized = normalize_text(source)
    assert normalized.text == expected
    assert normalized.starts == range(len(source))  # one char for one: the map is the identity


@pytest.mark.parametrize(
    "source",
    [
        "μg",  # a tie: one letter of each
        "Москва Moscow",  # two words, each in one script
        "ТАSS",  # two and two
        "Ħamrun",  # not two scripts
    ],
)
def test_words_of_one_script_and_ties_stay_as_written(source: str) -> None:
    folded = normalize_text(source).text
    assert folded == source.casefold().replace("ħ", "h")


def test_latin_letters_with_a_stroke_lose_it_as_accented_ones_do() -> None:
    assert normalize_text("Ħaftar, Łódź, Đakovo, Øresund").text == "haftar, lodz, dakovo, oresund"
    assert normalize_text("Ħaftar", casefold=False).text == "Haftar"
