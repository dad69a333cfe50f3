"""load_watchlist: the format, defaults, and errors that name file, field and fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.match import Proximity, Watchlist
from monitor.match.watchlist_file import load_watchlist

WriteWatchlist = Callable[..., Watchlist]


def problems_of(write_watchlist: WriteWatchlist, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        write_watchlist(text)
    return caught.value.problems


def test_full_entity_loads(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        description: test list
        excerpt_chars: 120
        entities:
          - id: tripoli
            kind: place
            names: [Tripoli, طرابلس]
            acronyms: []
            exclude_phrases: ["Tripoli, Lebanon"]
            exclude_if_near: {words: [Lebanon], within: 10}
            exclude_if_in_article: [Hezbollah]
            require_near: {words: [Libya], within: 50}
            require_in_article: [Libya]
            examples:
              match: [Tripoli, {title: Tripoli, content: "Libya"}]
              no_match: ["Tripoli, Lebanon"]
        """
    )
    assert watchlist.name == "test"
    assert watchlist.excerpt_chars == 120
    assert watchlist.alert == "any"
    (entity,) = watchlist.entities
    assert entity.names == ("Tripoli", "طرابلس")
    assert entity.exclude_if_near == Proximity(("Lebanon",), 10)
    assert entity.examples.match[1].as_fields() == {"title": "Tripoli", "content": "Libya"}
    assert watchlist.source.endswith("test.yaml")


def test_name_key_overrides_file_stem(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist("name: north-africa\nentities: [{id: a, names: [Alpha]}]")
    assert watchlist.name == "north-africa"


def test_unknown_keys_are_errors_with_allowed_keys(write_watchlist: WriteWatchlist) -> None:
    problems = problems_of(
        write_watchlist,
        """
        entites: []
        entities:
          - id: haftar
            name: [Haftar]
            exclude_if_near: {words: [x], within: 3, distance: 4}
        """,
    )
    assert any(
        p.endswith("test.yaml:2: entites: unknown key 'entites': did you mean 'entities'?")
        for p in problems
    )
    assert any(
        p.endswith("entities[0].name: unknown key 'name': did you mean 'names'?") for p in problems
    )
    assert any(
        "entities[0].exclude_if_near.distance: unknown key" in p and "within" in p for p in problems
    )


@pytest.mark.parametrize(
    ("text", "field", "fix"),
    [
        ("entities: [{names: [A]}]", "entities[0].id", "add `id:`"),
        ("entities: [{id: a, names: Haftar}]", "entities[0].names", "must be a list"),
        ("entities: [{id: a, names: [yes]}]", "entities[0].names[0]", "quoted string"),
        ("entities: [{id: a, names: [A], kind: persn}]", "entities[0].kind", "'person'"),
        ("alert: sometimes\nentities: [{id: a, names: [A]}]", "alert", "'rules'"),
        ("excerpt_chars: 5\nentities: [{id: a, names: [A]}]", "excerpt_chars", "40"),
        ("entities: []", "entities", "at least 1"),
        (
            "entities: [{id: a, names: [A], require_near: {words: [b], within: '3'}}]",
            "entities[0].require_near.within",
            "whole number",
        ),
        ("entities: [{id: A-1, names: [A]}]", "entities[0].id", "lower-case"),
        ("entities: [{id: a}]", "entities[0].names", "no names or acronyms"),
        ("entities: [{id: a, names: ['--']}]", "entities[0].names[0]", "no letters or digits"),
        (
            "entities: [{id: a, names: [A]}, {id: a, names: [B]}]",
            "entities[1].id",
            "ids must be unique",
        ),
        (
            "entities: [{id: a, names: [Haftar]}, {id: b, names: [HAFTAR]}]",
            "entities[1].names[0]",
            "keep it in one entity",
        ),
        # One entity's name is another's acronym: the name, found in any case, took every
        # one (an outside probe: RSF the militia and RSF the press-freedom group).
        (
            "entities: [{id: a, names: [RSF]}, {id: b, names: [Reporters], acronyms: [RSF]}]",
            "entities[1].acronyms[0]",
            "keep it in one entity",
        ),
        (
            "entities: [{id: b, acronyms: [RSF]}, {id: a, names: [Rsf]}]",
            "entities[1].names[0]",
            "names[0] of 'a' would take every 'rsf'",
        ),
        (
            "entities: [{id: a, conditional_acronyms: {acronyms: [RSF], if_in_article: [S]}}]",
            "entities[0].names",
            "conditional names and acronyms only add",
        ),
        (
            "entities: [{id: a, names: [Zelensky], derived_forms: "
            "{stems: ['Zelensk y'], suffixes: {uk: [ого]}}}]",
            "entities[0].derived_forms.stems[0]",
            "more than one word",
        ),
        ("alert: rules\nentities: [{id: a, names: [A]}]", "alert", "at least one rule"),
        (
            "entities: [{id: a, names: [A]}]\nrules: [{name: r, expr: a}, {name: r, expr: a}]",
            "rules[1].name",
            "its own name",
        ),
        ("entities: [{id: a, names: [A]}]\nrules: [{name: r}]", "rules[0].expr", "add `expr:`"),
        (
            "entities: [{id: a, names: [A], examples: {match: [x], nomatch: [y]}}]",
            "entities[0].examples.nomatch",
            "no_match",
        ),
        ("- just a list", "(top level)", "must be a mapping"),
        # an abbreviation of a word no name has abbreviates nothing (an outside probe)
        (
            "abbreviations: {Nonexistentword: [Nxw]}\nentities: [{id: a, names: [Alpha]}]",
            "abbreviations.Nonexistentword",
            "a word of no name of this watchlist",
        ),
        # the keys the mapping takes (an outside probe wrote a list of words)
        (
            "entities: [{id: a, names: [A], keep_if_near: [b, c]}]",
            "entities[0].keep_if_near",
            "must be a mapping (key: value lines) (words: ..., within: ...",
        ),
    ],
)
def test_each_problem_names_file_field_and_fix(
    write_watchlist: WriteWatchlist, text: str, field: str, fix: str
) -> None:
    problems = problems_of(write_watchlist, text)
    assert any(
        re.search(rf"test\.yaml(:\d+)?: {re.escape(field)}", p) and fix in p for p in problems
    ), problems


def test_all_problems_are_reported_at_once(write_watchlist: WriteWatchlist) -> None:
    problems = problems_of(
        write_watchlist,
        """
        entities:
          - {id: Bad, names: [A]}
          - {id: b}
        rules:
          - {name: r, expr: "c AND"}
        """,
    )
    assert len(problems) == 3


def test_abbreviation_problems_are_reported_with_the_others(
    write_watchlist: WriteWatchlist,
) -> None:
    # An outside probe: a variant that is not text hid the key of two words until it was
    # fixed, and a second run showed that one.
    problems = problems_of(
        write_watchlist,
        "abbreviations: {Support Forces: [SF], Forces: [Fces, 12]}\n"
        "entities: [{id: rsf, names: [Rapid Support Forces]}]\n",
    )
    assert len(problems) == 2, problems
    assert any("abbreviations.Forces[1]: must be text" in p for p in problems)
    assert any("abbreviations.Support Forces: the key must be one word" in p for p in problems)


def test_yaml_syntax_error_names_the_line(write_watchlist: WriteWatchlist) -> None:
    problems = problems_of(write_watchlist, "entities:\n  - id: a\n    names: [A\n")
    assert len(problems) == 1
    assert "test.yaml: line" in problems[0] and "invalid YAML" in problems[0]


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read watchlist file"):
        load_watchlist(tmp_path / "nope.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="empty.yaml: the watchlist is empty"):
        load_watchlist(empty)


def test_a_key_written_twice_is_an_error(write_watchlist: WriteWatchlist) -> None:
    problems = problems_of(
        write_watchlist,
        """
        entities:
          - id: haftar
            names: [Haftar]
            names: [Hifter]
        """,
    )
    assert len(problems) == 1
    assert "test.yaml: line 5, column 5" in problems[0]
    assert "key 'names' appears twice (first on line 4)" in problems[0]


def test_yaml_tags_that_build_objects_are_refused(write_watchlist: WriteWatchlist) -> None:
    problems = problems_of(write_watchlist, "entities: !!python/object:os.system {}")
    assert "invalid YAML" in problems[0]


def test_top_level_x_keys_hold_anchors_and_other_unknown_keys_name_their_line(
    write_watchlist: WriteWatchlist,
) -> None:
    watchlist = write_watchlist(
        """
        x-sudan-words: &sudan [Sudan, Sudanese]
        entities:
          - id: rsf
            names: [Rapid Support Forces]
            conditional_acronyms: {acronyms: [RSF], if_in_article: *sudan}
        """
    )
    assert watchlist.entities[0].conditional_acronyms is not None
    assert watchlist.entities[0].conditional_acronyms.if_in_article == ("Sudan", "Sudanese")
    problems = problems_of(write_watchlist, "entities: [{id: a, names: [A]}]\ny-words: [b]\n")
    assert [p.split("test.yaml", 1)[1] for p in problems] == [
        ":2: y-words: unknown key 'y-words': remove it or fix the spelling (allowed here: name, "
        "description, alert, excerpt_chars, entities, rules, abbreviations, optional_words)"
    ]


def test_a_name_listed_twice_in_one_entity_is_an_error(write_watchlist: WriteWatchlist) -> None:
    problems = problems_of(write_watchlist, "entities: [{id: a, names: [Trípoli, tripoli]}]")
    assert problems == [
        problems[0].split("test.yaml")[0]
        + "test.yaml:1: entities[0].names[1]: 'tripoli' is the same name as entities[0].names[0] "
        "(matching ignores case, accents, hyphens and Arabic letter variants): remove one"
    ]


def test_an_entitys_problems_all_come_at_once_though_one_key_is_invalid(
    write_watchlist: WriteWatchlist,
) -> None:
    # An upper-case id beside a misspelled key, no names beside a bad kind: before, the
    # second problem of each entity showed only once the first was fixed.
    problems = problems_of(
        write_watchlist,
        """
        alert: sometimes
        entities:
          - id: Haftar
            names: [Haftar]
            exclude_if_neer: {words: [x], within: 3}
          - id: b
            kind: persn
            names: []
        """,
    )
    text = "\n".join(problems)
    assert "alert: 'sometimes' is not allowed" in text
    assert "entities[0].exclude_if_neer: unknown key" in text
    assert "entities[1].kind: 'persn' is not allowed" in text
    assert "entities[0].id: 'Haftar' is not a valid id" in text
    assert "entities[1].names: entity 'b' has no names or acronyms" in text
    assert len(problems) == 5


def test_a_name_shared_with_an_entity_that_has_another_problem_comes_at_once(
    write_watchlist: WriteWatchlist,
) -> None:
    # Before, the shared name showed only once the bad kind was fixed (an outside probe).
    problems = problems_of(
        write_watchlist,
        """
        entities:
          - id: rsf
            names: [Rapid Support Forces]
          - id: saf
            kind: army
            names: [Sudanese Armed Forces, Rapid Support Forces, '']
        """,
    )
    assert [p.split("test.yaml", 1)[1] for p in problems] == [
        ":6: entities[1].kind: 'army' is not allowed: use 'person', 'organization', 'place', "
        "'group', 'event', 'topic' or 'other'",
        ":7: entities[1].names[2]: '' has no letters or digits: remove it",
        ":7: entities[1].names[1]: 'rapid support forces' is also listed for entity 'rsf' "
        "(entities[0].names[0]): keep it in one entity",
    ]


def test_an_entity_without_its_invalid_key_is_not_blamed_for_that_key_twice(
    write_watchlist: WriteWatchlist,
) -> None:
    # `names: 5` is one problem (not a list), not also "has no names".
    problems = problems_of(
        write_watchlist,
        """
        entities:
          - id: a
            names: 5
        """,
    )
    assert len(problems) == 1 and "entities[0].names" in problems[0]


def test_an_abbreviation_of_a_word_inside_a_hyphenated_name_is_a_word_of_a_name(
    write_watchlist: WriteWatchlist,
) -> None:
    # Names are split into words as their keys are ("al-Sarraj" is "al sarraj"): a key
    # written as one of those words abbreviates it, and is no error.
    watchlist = write_watchlist(
        """
        abbreviations: {Sarraj: [Srj]}
        entities:
          - {id: sarraj, names: [Fayez al-Sarraj]}
        """
    )
    assert watchlist.entities[0].id == "sarraj"
