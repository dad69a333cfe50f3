"""An alert that names a rule carries its evidence: the sentences that satisfy the rule are
among the excerpts, ahead of the others, with the rule's words highlighted (none under NOT)."""

from __future__ import annotations

from pathlib import Path

from monitor.match import Excerpt, Matcher, WatchlistMatch
from monitor.match.watchlist_file import parse_watchlist

ENTITIES = [
    {"id": "haftar", "names": ["Haftar"]},
    {"id": "tripoli", "names": ["Tripoli"]},
]


def matcher(*rules: tuple[str, str], alert: str = "any", excerpt_chars: int = 300) -> Matcher:
    data = {
        "alert": alert,
        "excerpt_chars": excerpt_chars,
        "entities": ENTITIES,
        "rules": [{"name": name, "expr": expr} for name, expr in rules],
    }
    return Matcher([parse_watchlist(data, Path("test.yaml"))])


def only_alert(result_matcher: Matcher, **fields: str) -> WatchlistMatch:
    (alert,) = result_matcher.match(fields).alerts
    return alert


def shown(excerpt: Excerpt) -> list[str]:
    return [excerpt.text[start:end] for start, end in excerpt.highlights]


CEASEFIRE = ("ceasefire", '("ceasefire" OR "truce") AND haftar')


def test_rule_words_in_the_title_only() -> None:
    alert = only_alert(
        matcher(CEASEFIRE),
        title="Truce announced",
        content="Haftar spoke in Cairo. Talks went on.",
    )
    assert alert.rule == "ceasefire"
    # Both show a term of the rule; the one with an entity ranks first.
    assert [(e.field, e.text, shown(e)) for e in alert.excerpts] == [
        ("content", "Haftar spoke in Cairo.", ["Haftar"]),
        ("title", "Truce announced", ["Truce"]),
    ]
    # Matches stay the entity mentions: the rule's words are highlights, not mentions.
    assert [m.text for m in alert.mentions] == ["Haftar"]


def test_rule_words_in_the_summary_only() -> None:
    alert = only_alert(
        matcher(CEASEFIRE),
        title="Haftar in Cairo",
        summary="The talks ended. A ceasefire was signed on Monday.",
        content="Nothing else.",
    )
    assert [(e.field, e.text, shown(e)) for e in alert.excerpts] == [
        ("title", "Haftar in Cairo", ["Haftar"]),
        ("summary", "A ceasefire was signed on Monday.", ["ceasefire"]),
    ]


def test_rule_words_in_another_sentence_than_the_entity() -> None:
    content = (
        "<p>Haftar met envoys in Cairo on Monday.</p>"
        "<p>Unrelated paragraph about the weather.</p>"
        "<p>Later, both sides agreed to a truce.</p>"
    )
    alert = only_alert(matcher(CEASEFIRE), content=content)
    assert [(e.text, shown(e)) for e in alert.excerpts] == [
        ("Haftar met envoys in Cairo on Monday.", ["Haftar"]),
        ("Later, both sides agreed to a truce.", ["truce"]),
    ]


def test_the_rule_sentence_is_not_cut_by_the_excerpt_cap() -> None:
    # Twenty-five sentences with mentions, then the rule's word: the first sentence showing
    # each term of the rule comes first, within the cap of 20 excerpts per alert.
    mentions = "".join(f"<p>Haftar spoke, day {day}.</p>" for day in range(25))
    alert = only_alert(matcher(CEASEFIRE), content=mentions + "<p>A truce held.</p>")
    assert len(alert.excerpts) == 20
    assert [(e.text, shown(e)) for e in alert.excerpts[:3]] == [
        ("Haftar spoke, day 0.", ["Haftar"]),
        ("A truce held.", ["truce"]),
        ("Haftar spoke, day 1.", ["Haftar"]),
    ]
    assert alert.truncated


def test_words_under_not_are_not_evidence() -> None:
    rule = ("calm", 'haftar AND NOT ("Gaza" AND "truce")')
    alert = only_alert(
        matcher(rule), content="Haftar stayed in Benghazi. A truce was mentioned elsewhere."
    )
    assert alert.rule == "calm"
    assert [(e.text, shown(e)) for e in alert.excerpts] == [
        ("Haftar stayed in Benghazi.", ["Haftar"])
    ]


def test_near_shows_the_pair_that_is_near() -> None:
    rule = ("talks", '"talks" NEAR/3 tripoli')
    content = (
        "<p>The talks were long and the delegates tired.</p>"
        "<p>Tripoli was calm.</p>"
        "<p>New talks in Tripoli today.</p>"
    )
    alert = only_alert(matcher(rule), content=content)
    assert alert.rule == "talks"
    assert [(e.text, shown(e)) for e in alert.excerpts] == [
        ("New talks in Tripoli today.", ["talks", "Tripoli"]),
        ("Tripoli was calm.", ["Tripoli"]),
    ]


def test_of_several_rules_the_one_that_fired_is_shown() -> None:
    rules = [
        ("offensive", '"assault" AND tripoli'),
        ("ceasefire", '"truce" AND haftar'),
        ("fighting", '"clashes" AND haftar'),
    ]
    alert = only_alert(
        matcher(*rules, alert="rules"),
        content="Haftar arrived. A truce was agreed. Clashes resumed at dusk.",
    )
    # "ceasefire" and "fighting" hold; the first that holds fires and only its words show.
    assert alert.rule == "ceasefire"
    assert alert.rule_expr == '"truce" AND haftar'
    (excerpt,) = alert.excerpts
    assert excerpt.text == "Haftar arrived. A truce was agreed."
    assert shown(excerpt) == ["Haftar", "truce"]


def test_a_rule_on_words_only_alerts_with_its_sentence() -> None:
    rule = ("truce-only", '"truce"')
    alert = only_alert(
        matcher(rule, alert="rules"), title="Weather", content="Rain. A truce began."
    )
    assert alert.mentions == ()
    assert [(e.text, shown(e)) for e in alert.excerpts] == [("A truce began.", ["truce"])]


def test_evidence_stays_within_the_excerpt_length() -> None:
    words = " ".join(f"word{n}" for n in range(60))
    content = f"Haftar said {words} and then a truce {words}."
    alert = only_alert(matcher(CEASEFIRE, excerpt_chars=80), content=content)
    assert all(len(e.text) <= 80 for e in alert.excerpts)
    assert sorted(word for e in alert.excerpts for word in shown(e)) == ["Haftar", "truce"]


def test_monitor_match_shows_the_same_excerpts_as_the_alert() -> None:
    # `monitor match`, the webhook and replay agree: the result's excerpts for one
    # watchlist are its alert's.
    fields = {"title": "Truce announced", "content": "Haftar spoke in Cairo."}
    result = matcher(CEASEFIRE).match(fields)
    assert result.excerpts == result.alerts[0].excerpts
