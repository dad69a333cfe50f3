"""check_examples: the shipped watchlist passes; failures name file, entity/rule, example."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.match import Watchlist, check_examples

WriteWatchlist = Callable[..., Watchlist]


def test_shipped_watchlist_examples_all_pass(libya: Watchlist) -> None:
    assert check_examples(libya) == []


def test_shipped_watchlist_has_examples_everywhere(libya: Watchlist) -> None:
    for entity in libya.entities:
        assert entity.examples.match, entity.id
        assert entity.examples.no_match, entity.id
        rules_used = sum(
            1
            for rule in (
                entity.exclude_phrases,
                entity.exclude_if_near,
                entity.exclude_if_in_article,
                entity.require_near,
                entity.require_in_article,
            )
            if rule
        )
        # At least one counter-example per disambiguation rule the entity uses.
        assert len(entity.examples.no_match) >= rules_used, entity.id
    for rule in libya.rules:
        assert rule.examples.match and rule.examples.no_match, rule.name


# Each class of the multilingual issue has must-match and must-not-match examples in the
# shipped list, which `monitor check` runs: (class, entity, a match text, a no_match text).
CLASS_EXAMPLES = [
    ("language", "tripoli", "Trablus'ta çatışmalar", "Lübnan'ın Trablus kentinde"),
    ("language", "lna", "Ливийской национальной армии", "La ENL de Colombia"),
    ("derived", "haftar", "Haftarist fighters", "Haftarson"),
    ("family", "haftar", "Saddam Haftar, son of Khalifa Haftar", "Saddam Haftar met officials"),
    ("namesake", "haftar", "Haftar's son Saddam", "Ahmed Haftar, a dentist"),
    ("namesake", "tripoli", "Al-Ittihad Tripoli", "Tripoli, Iowa"),
    ("lowercase", "lna", "haftar's lna pushes", "why every radio needs an lna"),
    ("lowercase", "tripoli", "clashes resume in tripoli", "Polish the brass with tripoli"),
    ("abbreviation", "gna", "Govt of Natl Accord", "Gobierno de Unidad Nacional"),
    ("entities", "haftar", "Haftar&#39;s forces", "Irina Haftarova"),
    ("entities", "tripoli", "Clashes broke out in Tripoli", "Tripoli&#44; Lebanon"),
]


@pytest.mark.parametrize(("klass", "entity", "match", "no_match"), CLASS_EXAMPLES)
def test_shipped_watchlist_has_examples_for_every_class(
    libya: Watchlist, klass: str, entity: str, match: str, no_match: str
) -> None:
    (found,) = [e for e in libya.entities if e.id == entity]
    matches = [text for example in found.examples.match for _, text in example.fields]
    misses = [text for example in found.examples.no_match for _, text in example.fields]
    assert any(match in text for text in matches), (klass, match)
    assert any(no_match in text for text in misses), (klass, no_match)


def test_failures_name_file_entity_rule_and_example(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            exclude_if_near: {words: [Lebanon], within: 3}
            examples:
              match: ["Tripoli, Libya", "Tripoli, Lebanon"]
              no_match: ["Tripoli, Lebanon", "Tripoli again"]
        rules:
          - name: in-title
            expr: "title:tripoli"
            examples:
              match: [{title: Tripoli}, "Tripoli"]
              no_match: [{title: Sirte}]
        """
    )
    failures = check_examples(watchlist)
    assert len(failures) == 3
    assert failures[0].endswith(
        "test.yaml: entities[0].examples.match[1]: (watchlist 'test') entity 'tripoli': "
        "example 'Tripoli, Lebanon' should mention it but does not"
    )
    assert failures[1].endswith(
        "entities[0].examples.no_match[1]: (watchlist 'test') entity 'tripoli': example "
        "'Tripoli again' should not mention it but does ('Tripoli')"
    )
    assert failures[2].endswith(
        "rules[0].examples.match[1]: (watchlist 'test') rule 'in-title': example 'Tripoli' "
        "should fire but does not"
    )


def test_examples_are_plain_text_not_html(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            acronyms: [LNA]
            examples:
              match: ["<LNA> & co"]
              no_match: ["<b>lna</b>"]
        """
    )
    assert check_examples(watchlist) == []
