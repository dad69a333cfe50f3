"""`Matcher.explain` records the decisions of `Matcher.match` itself: its result is match's
for any article, and every name found is listed with what kept or dropped it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.match import Matcher, Watchlist
from monitor.match.limits import MAX_MENTIONS_PER_ENTITY
from monitor.match.watchlist_file import parse_watchlist
from tests.integration.helpers import REPO


def articles() -> list[dict[str, str]]:
    lines = (REPO / "seeds" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    fields = ("title", "summary", "content")
    return [{k: v for k, v in json.loads(line).items() if k in fields} for line in lines]


@pytest.mark.parametrize("fields", articles(), ids=lambda f: f.get("title", "")[:30])
def test_explain_and_match_agree(libya_matcher: Matcher, fields: dict[str, str]) -> None:
    explanation = libya_matcher.explain(fields)
    assert explanation.result == libya_matcher.match(fields)
    kept = sorted((c.field, c.start, c.end, c.entity) for c in explanation.candidates if c.kept)
    assert kept == sorted((m.field, m.start, m.end, m.entity) for m in explanation.result.mentions)
    alerting = {d.watchlist for d in explanation.decisions if d.alerts}
    assert alerting == {a.watchlist for a in explanation.result.alerts}


def test_each_context_rule_is_named(libya_matcher: Matcher) -> None:
    explanation = libya_matcher.explain(
        {
            "title": "Lna chief speaks",  # a conditional acronym in an article not about Libya
            "content": "The LNA module of the receiver.",
        }
    )
    decided = [(c.text, c.kept, c.decided_by) for c in explanation.candidates]
    assert decided == [
        ("Lna", False, "conditional_acronyms"),
        ("LNA", False, "exclude_phrases"),
    ]
    elsewhere = libya_matcher.explain({"content": "The fair in Tripoli, Ohio."})
    assert [(c.text, c.kept, c.decided_by, c.reason) for c in elsewhere.candidates] == [
        (
            "Tripoli",
            False,
            "exclude_if_followed_by",
            "dropped by exclude_if_followed_by of tripoli: 'Ohio' (content 21-25) is 1 "
            "word(s) after it (within 2)",
        )
    ]
    (libya,) = explanation.decisions
    assert (libya.alerts, libya.reason) == (False, "no mention survived and no rule holds")


def test_exclude_if_near_names_the_word_and_its_distance(libya_matcher: Matcher) -> None:
    explanation = libya_matcher.explain({"content": "Clashes in Tripoli, said Lebanese media."})
    (tripoli,) = explanation.candidates
    assert tripoli.decided_by == "exclude_if_in_article"  # the article names Lebanon's people
    explanation = libya_matcher.explain(
        {"content": "Libya: clashes in Tripoli, a Lebanese reporter wrote."}
    )
    (tripoli,) = explanation.candidates
    assert tripoli.decided_by == "exclude_if_near"
    assert tripoli.reason == (
        "dropped by exclude_if_near of tripoli: 'Lebanese' (content 29-37) is 2 word(s) away "
        "(within 10)"
    )


def test_an_exclusion_lifted_by_the_article_is_named(libya_matcher: Matcher) -> None:
    explanation = libya_matcher.explain(
        {
            "title": "Lebanese hostage freed in Tripoli",
            "summary": "He was seized in Souq al-Juma, Libya's interior ministry said.",
        }
    )
    (tripoli,) = explanation.candidates
    assert (tripoli.kept, tripoli.decided_by) == (True, "unless_in_article")
    assert tripoli.reason == (
        "kept: 'Lebanese' (title 0-8) would drop it, but the article has 'Souq al-Juma' (the "
        "exclusion's unless_in_article: the article says which sense it means)"
    )


def test_an_article_wide_exclusion_lifted_by_the_article_is_named(
    libya_matcher: Matcher,
) -> None:
    # `explain` said "no context rule of the entity drops it" where exclude_if_in_article
    # would have, but for a word of its unless_in_article (an outside probe, probe69).
    explanation = libya_matcher.explain(
        {"content": "Haftar met officials in Benghazi, said the synagogue's cantor."}
    )
    (haftar,) = [c for c in explanation.candidates if c.entity == "haftar"]
    assert (haftar.kept, haftar.decided_by) == (True, "unless_in_article")
    assert haftar.reason.startswith("kept: the article has ")
    assert "(exclude_if_in_article of haftar), but also 'Benghazi'" in haftar.reason


def test_a_digests_other_briefs_are_named(libya_matcher: Matcher) -> None:
    briefs = [
        "18:21 Mali : un convoi attaqué près de Gao.",
        "17:46 Liban : le Parlement échoue à élire un président.",
        "17:17 À TRIPOLI, des tirs près de la place des Martyrs.",
        "16:24 Grèce : les pompiers maîtrisent l'incendie.",
        "16:02 Chypre : accord sur le câble sous-marin.",
    ]
    digest = "<p>" + "</p><p>".join(briefs) + "</p>"
    explanation = libya_matcher.explain({"title": "En direct", "content": digest})
    (tripoli,) = [c for c in explanation.candidates if c.entity == "tripoli"]
    assert (tripoli.kept, tripoli.decided_by) == (True, "other_briefs")
    assert "but only in other briefs of this digest" in tripoli.reason
    readings = [
        "Torah: the portion is Pinchas, and the haftarot of consolation begin.",
        "Community: a lecture on the Jews of Libya after 1967.",
        "Youth: a visit to the Jewish museum.",
        "Candles: 7:58 pm.",
        "Kiddush: sponsored by the Levi family.",
    ]
    explanation = libya_matcher.explain(
        {"title": "This week", "content": "<p>" + "</p><p>".join(readings) + "</p>"}
    )
    (haftar,) = [
        c
        for c in explanation.candidates
        if c.entity == "haftar" and c.kept is False and c.decided_by == "exclude_if_in_article"
    ]
    assert "'Libya') stand only in other briefs of this digest" in haftar.reason


def test_a_kept_conditional_name_names_the_word_that_met_its_condition(
    libya_matcher: Matcher,
) -> None:
    # An outside probe's watchlist met a condition by accident; explain said only "no
    # context rule of the entity drops it" and never which article word let the name count.
    explanation = libya_matcher.explain({"title": "Libia, l'Lna avanza verso Sirte"})
    (lna,) = [c for c in explanation.candidates if c.text == "Lna"]
    assert lna.kept
    assert lna.reason.startswith("kept: the article has 'Libia', 'Sirte' (conditional_acronyms")
    assert lna.reason.endswith("of lna); no context rule of the entity drops it")


def test_names_that_are_no_mentions(libya_matcher: Matcher) -> None:
    explanation = libya_matcher.explain({"content": "Tripolitania and the ulna; lna too."})
    decided = [(c.text, c.decided_by, c.reason) for c in explanation.candidates]
    assert decided == [
        (
            "Tripoli",
            "inside_word",
            "not a mention: 'Tripoli' is part of the longer word 'Tripolitania'",
        ),
        (
            "Tripolit",  # a derived form of tripoli (Hungarian's accusative)
            "inside_word",
            "not a mention: 'Tripolit' is part of the longer word 'Tripolitania'",
        ),
        (
            "Tripolita",  # a derived form of tripoli (Quechua's accusative)
            "inside_word",
            "not a mention: 'Tripolita' is part of the longer word 'Tripolitania'",
        ),
        (
            "Tripolitan",  # a derived form of tripoli (the city's people)
            "inside_word",
            "not a mention: 'Tripolitan' is part of the longer word 'Tripolitania'",
        ),
        ("lna", "inside_word", "not a mention: 'lna' is part of the longer word 'ulna'"),
        (
            "lna",
            "acronym_case",
            "not a mention: the acronym 'LNA' is case-sensitive and the text has 'lna'",
        ),
    ]


def test_the_mention_cap_is_named(tmp_path: Path) -> None:
    watchlist: Watchlist = parse_watchlist(
        {"entities": [{"id": "haftar", "names": ["Haftar"]}]}, tmp_path / "w.yaml"
    )
    matcher = Matcher([watchlist])
    count = MAX_MENTIONS_PER_ENTITY + 3
    explanation = matcher.explain({"content": " ".join(["Haftar"] * count)})
    capped = [c for c in explanation.candidates if c.decided_by == "cap"]
    assert len(explanation.candidates) == count and all(c.kept for c in capped)
    unlisted = [c for c in capped if "only the first" in c.reason]
    assert len(unlisted) == 3
    assert unlisted[0].reason.endswith(
        f"the first {MAX_MENTIONS_PER_ENTITY} mentions of an entity in a field are (cap reached)"
    )
    # A short article: its alert lists what twice its text (at least 8,000 bytes) holds.
    cut = [c for c in capped if "left out of the alert" in c.reason]
    assert cut and "twice the article's text (8,000 to 256,000 bytes)" in cut[0].reason
    assert len(capped) == len(unlisted) + len(cut)
    assert explanation.result.truncated
