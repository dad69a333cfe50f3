"""Watchlist self-tests: every ``examples`` text of an entity or rule must (not) match."""

from __future__ import annotations

import html

from monitor.match.matcher import Matcher
from monitor.match.watchlist import Example, Watchlist

__all__ = ["check_examples"]


def check_examples(watchlist: Watchlist) -> list[str]:
    """One message per failing example, naming the file, the example's field path
    (``entities[2].examples.no_match[0]``), the entity or rule and the text."""
    matcher = Matcher([watchlist])
    failures: list[str] = []
    name = f"(watchlist {watchlist.name!r})"
    for index, entity in enumerate(watchlist.entities):
        if not entity.names and not entity.acronyms:
            continue  # refused for that already: its examples would only repeat it (probe72)
        at = entity.position if entity.position >= 0 else index
        for field, example, expected in _cases(entity.examples.match, entity.examples.no_match):
            result = matcher.match(_as_html(example))
            found = [m for m in result.mentions if m.entity == entity.id]
            if bool(found) != expected:
                if expected:
                    problem = "should mention it but does not"
                else:
                    texts = ", ".join(repr(m.text) for m in found)
                    problem = f"should not mention it but does ({texts})"
                failures.append(
                    f"{watchlist.source}: entities[{at}].examples.{field}: {name} entity "
                    f"{entity.id!r}: example {example.describe()} {problem}"
                )
    for index, rule in enumerate(watchlist.rules):
        at = rule.position if rule.position >= 0 else index
        for field, example, expected in _cases(rule.examples.match, rule.examples.no_match):
            fired = rule.name in matcher.rules_holding(_as_html(example))[watchlist.name]
            if fired != expected:
                problem = "should fire but does not" if expected else "should not fire but does"
                failures.append(
                    f"{watchlist.source}: rules[{at}].examples.{field}: {name} rule "
                    f"{rule.name!r}: example {example.describe()} {problem}"
                )
    return failures


def _cases(
    match: tuple[Example, ...], no_match: tuple[Example, ...]
) -> list[tuple[str, Example, bool]]:
    """(field path under ``examples``, example, whether it should match)."""
    return [(f"match[{i}]", example, True) for i, example in enumerate(match)] + [
        (f"no_match[{i}]", example, False) for i, example in enumerate(no_match)
    ]


def _as_html(example: Example) -> dict[str, str]:
    # Examples are written as plain text; the matcher reads HTML fragments.
    return {field: html.escape(text, quote=False) for field, text in example.fields}
