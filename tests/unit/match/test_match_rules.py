"""Boolean rules: parsing (with positions in errors) and evaluation; alert: rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.errors import ConfigError
from monitor.match import Matcher, Watchlist
from monitor.match.names import phrase_key
from monitor.match.rules import (
    And,
    Near,
    Not,
    Or,
    RuleNode,
    RuleSyntaxError,
    Scope,
    Term,
    parse_rule,
)

WriteWatchlist = Callable[..., Watchlist]
IDS = ("haftar", "lna", "tripoli")


def parse(expression: str) -> RuleNode:
    return parse_rule(expression, IDS, phrase_key)


def test_precedence_not_near_and_or() -> None:
    tree = parse('haftar OR lna AND NOT "Cairo" NEAR/3 tripoli')
    assert tree == Or(
        Term("entity", "haftar", "haftar"),
        And(
            Term("entity", "lna", "lna"),
            Not(Near(Term("phrase", "Cairo", "cairo"), Term("entity", "tripoli", "tripoli"), 3)),
        ),
    )


def test_parentheses_and_field_scope() -> None:
    tree = parse('title:(haftar OR lna) AND content:"Tripoli"')
    assert tree == And(
        Scope("title", Or(Term("entity", "haftar", "haftar"), Term("entity", "lna", "lna"))),
        Scope("content", Term("phrase", "Tripoli", "tripoli")),
    )


@pytest.mark.parametrize(
    ("expression", "message", "position"),
    [
        ("haftar AND", "ends too early", 10),
        ("(haftar OR lna", "missing ')'", 0),
        ("haftar)", "unmatched ')'", 6),
        ("haftar lna", "expected AND, OR or NEAR/n", 7),
        ("haftar and lna", "operators are written in capitals (AND)", 7),
        ("NOT and", "unknown entity 'and'", 4),
        ("hafter", "unknown entity 'hafter'", 0),
        # Every unknown name at once, each with its hint (it stopped at the first).
        (
            "(hafter OR lnaa) NEAR/15 tripoli",
            "unknown entities 'hafter': did you mean 'haftar'? (or quote a word: \"hafter\"); "
            "'lnaa': did you mean 'lna'?",
            1,
        ),
        ('haftar AND "Cairo', "unclosed quote", 11),
        ("haftar NEAR lna", "NEAR needs a distance", 7),
        ("body:haftar", "unknown field 'body'", 0),
        ("(haftar AND lna) NEAR/5 tripoli", "NEAR joins", 17),
        ("", "empty rule", 0),
        ('""', "empty quoted phrase", 0),
        ('haftar AND "ne*"', "after a word of three letters or more", 11),
        ('haftar AND "neg*otiation"', "* may only end a phrase", 11),
        ('haftar AND "negot**"', "* may only end a phrase", 11),
        ('haftar AND "peace *"', "* may only end a phrase", 11),  # after a space: no word
    ],
)
def test_syntax_errors_name_the_position(expression: str, message: str, position: int) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse(expression)
    assert message in caught.value.message
    assert caught.value.position == position


RULES_WATCHLIST = """
alert: rules
entities:
  - id: haftar
    names: [Haftar]
  - id: tripoli
    names: [Tripoli]
  - id: lna
    acronyms: [LNA]
rules:
  - name: near
    expr: haftar NEAR/3 tripoli
  - name: headline
    expr: title:lna
  - name: words
    expr: '"ceasefire" AND NOT "Gaza" AND (lna OR haftar)'
"""


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"content": "Haftar attacked Tripoli."}, "near"),
        ({"content": "Tripoli attacked by Haftar's men."}, "near"),
        ({"content": "Tripoli was attacked by Haftar's men."}, None),
        ({"content": "Haftar flew from Cairo to Rome and then on to Tripoli."}, None),
        ({"title": "Haftar", "content": "Tripoli"}, None),
        ({"title": "LNA advances"}, "headline"),
        ({"content": "LNA advances"}, None),
        ({"content": "The LNA accepted a ceasefire."}, "words"),
        ({"content": "The LNA accepted a ceasefire in Gaza."}, None),
        ({"content": "A ceasefire was agreed."}, None),
    ],
)
def test_alert_rules_fire_only_on_rules(
    write_watchlist: WriteWatchlist, fields: dict[str, str], rule: str | None
) -> None:
    matcher = Matcher([write_watchlist(RULES_WATCHLIST)])
    result = matcher.match(fields)
    assert [alert.rule for alert in result.alerts] == ([] if rule is None else [rule])


def test_mentions_are_reported_even_when_no_rule_fires(write_watchlist: WriteWatchlist) -> None:
    result = Matcher([write_watchlist(RULES_WATCHLIST)]).match({"content": "Haftar"})
    assert [m.entity for m in result.mentions] == ["haftar"]
    assert result.alerts == ()


def test_alert_any_names_the_rule_when_one_holds(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(RULES_WATCHLIST.replace("alert: rules", "alert: any"))
    matcher = Matcher([watchlist])
    assert [a.rule for a in matcher.match({"content": "Haftar"}).alerts] == [None]
    assert [a.rule for a in matcher.match({"content": "Haftar in Tripoli"}).alerts] == ["near"]
    assert matcher.rules_holding({"title": "LNA", "content": "Haftar in Tripoli"}) == {
        "test": ("near", "headline")
    }


def test_excluded_mentions_do_not_count_for_rules(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        alert: rules
        entities:
          - id: tripoli
            names: [Tripoli]
            exclude_if_near: {words: [Lebanon], within: 2}
        rules:
          - name: any-tripoli
            expr: tripoli
        """
    )
    assert Matcher([watchlist]).match({"content": "Tripoli, Lebanon"}).alerts == ()


def test_rule_errors_name_file_rule_and_position(write_watchlist: WriteWatchlist) -> None:
    with pytest.raises(ConfigError) as caught:
        write_watchlist(
            """
            entities:
              - id: haftar
                names: [Haftar]
            rules:
              - name: broken
                expr: haftar AND (tripoli
            """
        )
    (problem,) = caught.value.problems
    assert "test.yaml:7: rules[0].expr: rule 'broken'" in problem
    assert "unknown entity 'tripoli'" in problem
    assert "at character 13" in problem


def test_a_rule_error_never_suggests_an_id_that_is_refused(write_watchlist: WriteWatchlist) -> None:
    # An outside probe: "'El-Fasher' is not a valid id", then "did you mean 'El-Fasher'?".
    with pytest.raises(ConfigError) as caught:
        write_watchlist(
            """
            entities:
              - {id: rsf, names: [Rapid Support Forces]}
              - {id: El-Fasher, names: [El Fasher]}
            rules:
              - name: siege
                expr: rsf NEAR/10 el_fasher
            """
        )
    refused, rule = caught.value.problems
    assert "entities[1].id: 'El-Fasher' is not a valid id" in refused
    assert "unknown entity 'el_fasher': use an entity id (rsf)" in rule
    assert "El-Fasher" not in rule


@pytest.mark.parametrize("expr", ["NOT haftar", 'NOT "ceasefire"', "haftar OR NOT tripoli"])
def test_a_rule_that_holds_for_an_article_naming_nothing_is_refused(
    write_watchlist: WriteWatchlist, expr: str
) -> None:
    # An outside probe: "NOT rsf" passed `monitor check` and alerted on every article.
    with pytest.raises(ConfigError) as caught:
        write_watchlist(
            f"""
            entities:
              - {{id: haftar, names: [Haftar]}}
              - {{id: tripoli, names: [Tripoli]}}
            rules:
              - name: flood
                expr: '{expr}'
            """
        )
    (problem,) = caught.value.problems
    assert "test.yaml:7: rules[0].expr: rule 'flood' holds for an article that names" in problem
    assert "every article would alert" in problem


@pytest.mark.parametrize(
    ("content", "holds"),
    [
        ("Haftar Tripoli LNA", True),
        ("Haftar met envoys in Tripoli and the LNA", True),
        ("Haftar x x x x Tripoli x x x x LNA", False),
        ("LNA x Haftar x Tripoli", True),
    ],
)
def test_chained_near_joins_spans(
    write_watchlist: WriteWatchlist, content: str, holds: bool
) -> None:
    watchlist = write_watchlist(
        """
        alert: rules
        entities:
          - {id: haftar, names: [Haftar]}
          - {id: tripoli, names: [Tripoli]}
          - {id: lna, acronyms: [LNA]}
        rules:
          - name: three
            expr: haftar NEAR/4 tripoli NEAR/4 content:lna
        """
    )
    assert bool(Matcher([watchlist]).match({"content": content}).alerts) is holds


def test_a_quoted_word_ending_in_a_star_matches_the_words_it_starts(
    write_watchlist: WriteWatchlist,
) -> None:
    # An outside probe: a rule's "удар" missed "удара", "ostrzał" missed "ostrzale" (rule
    # words take no case endings); "удар*" is every word that starts so.
    watchlist = write_watchlist(
        """
        alert: rules
        entities:
          - id: znpp
            names: [Запорожская АЭС, Zaporoska Elektrownia Jądrowa]
        rules:
          - name: attack
            expr: 'znpp NEAR/8 ("удар*" OR "ostrzał*" OR "drone strike*")'
        """
    )
    matcher = Matcher([watchlist])

    def rule(text: str) -> str | None:
        alerts = matcher.match({"content": text}).alerts
        return alerts[0].rule if alerts else None

    assert rule("Запорожская АЭС обесточена после удара.") == "attack"
    assert rule("Запорожская АЭС и удар.") == "attack"
    assert rule("Zaporoska Elektrownia Jądrowa straciła zasilanie po ostrzale.") == "attack"
    assert rule("Drone strikes hit near the Запорожская АЭС.") == "attack"
    # It starts the word: not inside one, nor a phrase's last word cut short.
    assert rule("Запорожская АЭС: контрудар.") is None
    assert rule("Запорожская АЭС: drone striped.") is None
    # The whole word is the rule's evidence in the excerpt.
    (alert,) = matcher.match({"content": "Запорожская АЭС обесточена после ударов."}).alerts
    (excerpt,) = alert.excerpts
    assert [excerpt.text[a:b] for a, b in excerpt.highlights] == ["Запорожская АЭС", "ударов"]
