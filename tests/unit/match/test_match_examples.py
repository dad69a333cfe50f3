"""check_examples: the shipped watchlist passes; failures name file, entity/rule, example."""

from __future__ import annotations

from collections.abc import Callable

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
        "test.yaml (watchlist 'test'): entity 'tripoli': example 'Tripoli, Lebanon' "
        "should mention it but does not"
    )
    assert failures[1].endswith(
        "entity 'tripoli': example 'Tripoli again' should not mention it but does ('Tripoli')"
    )
    assert failures[2].endswith("rule 'in-title': example 'Tripoli' should fire but does not")


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
