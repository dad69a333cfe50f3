"""sentence_spans: where sentences end, and where they do not."""

from __future__ import annotations

from monitor.text import sentence_spans


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def test_simple_sentences() -> None:
    assert sentences("Haftar spoke. The LNA advanced! Was Tripoli calm? Yes.") == [
        "Haftar spoke.",
        "The LNA advanced!",
        "Was Tripoli calm?",
        "Yes.",
    ]


def test_abbreviations_do_not_end_a_sentence() -> None:
    text = "Gen. Haftar met Mr. Smith and Dr. Jones at the U.N. office. Then he left."
    assert sentences(text) == [
        "Gen. Haftar met Mr. Smith and Dr. Jones at the U.N. office.",
        "Then he left.",
    ]


def test_number_abbreviations_only_before_numbers() -> None:
    assert sentences("See No. 5 below. He said no. Then left.") == [
        "See No. 5 below.",
        "He said no.",
        "Then left.",
    ]


def test_lower_case_continuation_is_not_a_new_sentence() -> None:
    assert sentences("Forces e.g. militias moved. Next.") == [
        "Forces e.g. militias moved.",
        "Next.",
    ]


def test_line_breaks_end_sentences() -> None:
    assert sentences("Headline without stop\nBody text.") == ["Headline without stop", "Body text."]


def test_closing_quotes_stay_with_the_sentence() -> None:
    assert sentences('He said "we will win." Then silence.') == [
        'He said "we will win."',
        "Then silence.",
    ]


def test_arabic_question_mark() -> None:
    assert sentences("هل وصل حفتر؟ نعم وصل.") == ["هل وصل حفتر؟", "نعم وصل."]


def test_spans_are_offsets_into_the_text() -> None:
    text = "  One.   Two.  "
    assert [text[s:e] for s, e in sentence_spans(text)] == ["One.", "Two."]
    assert sentence_spans("") == []


def test_etc_ends_a_sentence_before_a_capital_and_not_before_lower_case() -> None:
    # "etc." closes a list; a capital after it starts the next sentence (it was glued on).
    assert sentences("They brought fuel, food, etc. Haftar said more would come.") == [
        "They brought fuel, food, etc.",
        "Haftar said more would come.",
    ]
    assert sentences("Fuel, food, etc. were sent to Tripoli.") == [
        "Fuel, food, etc. were sent to Tripoli."
    ]


def test_french_quotes_and_ranks_as_feeds_write_them() -> None:
    # An outside probe: with a plain space before "!" and "»" (feeds drop the no-break
    # spaces), the quote was cut off its sentence ("» a lancé Assimi Goïta."); French ranks
    # ended a sentence ("Goïta conserve la direction").
    assert sentences("« Nous ne reculerons pas ! » a lancé Assimi Goïta. Puis il partit.") == [
        "« Nous ne reculerons pas ! » a lancé Assimi Goïta.",
        "Puis il partit.",
    ]
    assert sentences("« Jamais ! » La réponse a surpris.") == [
        "« Jamais ! »",
        "La réponse a surpris.",
    ]
    ranks = "Le gén. Goïta et le lt-col. Maïga ont vu le cdt. Diarra et le Pr. Keïta. Fin."
    assert sentences(ranks) == [ranks.removesuffix(" Fin."), "Fin."]
    assert sentences("He told me. Then she left.") == ["He told me.", "Then she left."]
