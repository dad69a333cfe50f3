"""The frozen ``Watchlist`` value the matcher compiles, and its parts (pure, no pydantic:
a parsing worker unpickles these). Reading and validating the YAML file: watchlist_file."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from monitor.match.rules import RuleNode

__all__ = [
    "ENTITY_KINDS",
    "AmbiguousNames",
    "ConditionalAcronyms",
    "ConditionalNames",
    "DerivedForms",
    "Entity",
    "Example",
    "Examples",
    "Namesakes",
    "Proximity",
    "Rule",
    "Watchlist",
]

ENTITY_KINDS = ("person", "organization", "place", "group", "event", "topic", "other")
MIN_EXCERPT_CHARS = 40


@dataclass(frozen=True, slots=True)
class Proximity:
    """Words (any of them) within ``within`` words of a mention, in the same field. An
    exclusion's ``unless_in_article``: phrases that, anywhere in the article, say which sense
    it means, so that the words drop no mention there ("the Libyan capital")."""

    words: tuple[str, ...]
    within: int
    unless_in_article: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Example:
    """A test article for ``check_examples``: field name -> text (plain, not HTML)."""

    fields: tuple[tuple[str, str], ...]

    def as_fields(self) -> dict[str, str]:
        return dict(self.fields)

    def describe(self) -> str:
        if len(self.fields) == 1 and self.fields[0][0] == "content":
            return repr(self.fields[0][1])
        return ", ".join(f"{field}={text!r}" for field, text in self.fields)


@dataclass(frozen=True, slots=True)
class Examples:
    """Texts that must (``match``) and must not (``no_match``) produce a hit."""

    match: tuple[Example, ...] = ()
    no_match: tuple[Example, ...] = ()


@dataclass(frozen=True, slots=True)
class ConditionalAcronyms:
    """Acronyms counted only in an article that also has one of ``if_in_article`` (the
    Italian wire style "Lna" in an article about Libya, not in any text)."""

    acronyms: tuple[str, ...]
    if_in_article: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Namesakes:
    """Other people who share a surname of the entity: ``full_names`` (each given name with
    each surname) are theirs. In an article that names one of them and has none of
    ``unless_in_article``, the bare ``surnames`` are theirs too ("Ms Haftar" in a story on
    the ceramicist Lina Haftar); with no ``unless_in_article`` a bare surname always counts."""

    full_names: tuple[str, ...]
    surnames: tuple[str, ...]
    unless_in_article: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConditionalNames:
    """Names counted only in an article that also has one of ``if_in_article`` (the Greek
    "Τρίπολη" is the Libyan capital only in an article about Libya)."""

    names: tuple[str, ...]
    if_in_article: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AmbiguousNames:
    """Names that also name something else: dropped in an article that has one of
    ``exclude_if_in_article``, unless it also has one of ``unless_in_article`` (the French
    "gouvernement d'union nationale" is the GNA, but the GNU in an article on Dbeibah)."""

    names: tuple[str, ...]
    exclude_if_in_article: tuple[str, ...]
    unless_in_article: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DerivedForms:
    """Words built on a name: each stem followed by each suffix (listed per language), one
    word ("Haftarist", "haftariste", "хафтаровцы"). A suffix is only joined to a stem that
    ends in a letter of its script."""

    stems: tuple[str, ...]
    suffixes: tuple[tuple[str, tuple[str, ...]], ...]  # (language, suffixes)
    prefixes: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (language, prefixes)

    def words(self, stems: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Every derived word (of ``stems`` only, when given): stem + suffix, and prefix +
        stem (+ suffix), each part joined only to a part of its script."""
        found: dict[str, None] = {}
        stems = self.stems if stems is None else stems
        for stem in stems:
            for _, suffixes in self.suffixes:
                for suffix in suffixes:
                    if same_script(stem[-1:], suffix[:1]):
                        found[stem + suffix] = None
        for prefix in (p for _, prefixes in self.prefixes for p in prefixes):
            for word in [*stems, *found]:
                if same_script(prefix[-1:], word[:1]):
                    found[prefix + word.lower()] = None
        return tuple(found)


def _script(char: str) -> str:
    """A coarse script name of a letter (the first word of its Unicode name)."""
    try:
        return unicodedata.name(char).split(" ", 1)[0]
    except ValueError:
        return ""


def same_script(first: str, second: str) -> bool:
    return bool(first) and bool(second) and _script(first) == _script(second)


@dataclass(frozen=True, slots=True)
class Entity:
    """A named actor or place and the context rules that drop a mention in another sense."""

    id: str
    kind: str
    names: tuple[str, ...]
    acronyms: tuple[str, ...] = ()
    conditional_acronyms: ConditionalAcronyms | None = None
    exclude_phrases: tuple[str, ...] = ()
    keep_if_near: Proximity | None = None
    exclude_if_near: Proximity | None = None
    exclude_if_in_article: tuple[str, ...] = ()
    unless_in_article: tuple[str, ...] = ()
    require_near: Proximity | None = None
    require_in_article: tuple[str, ...] = ()
    examples: Examples = Examples()
    not_names: tuple[str, ...] = ()
    namesakes: Namesakes | None = None
    derived_forms: DerivedForms | None = None
    conditional_names: ConditionalNames | None = None
    ambiguous_names: AmbiguousNames | None = None
    exclude_if_followed_by: Proximity | None = None
    exclude_if_preceded_by: Proximity | None = None
    proper_noun: bool = False
    one_case_acronyms: tuple[str, ...] = ()
    # Its index under `entities:` in the file, for messages (a watchlist of the valid
    # entities of a file with problems lacks some); -1: not read from a file.
    position: int = field(default=-1, compare=False)

    def context_phrases(self) -> tuple[str, ...]:
        """Every phrase the context rules look for."""
        phrases = [
            *self.exclude_phrases,
            *self.exclude_if_in_article,
            *self.unless_in_article,
            *self.require_in_article,
        ]
        if self.conditional_acronyms is not None:
            phrases.extend(self.conditional_acronyms.if_in_article)
        if self.conditional_names is not None:
            phrases.extend(self.conditional_names.if_in_article)
        if self.ambiguous_names is not None:
            phrases.extend(self.ambiguous_names.exclude_if_in_article)
            phrases.extend(self.ambiguous_names.unless_in_article)
        if self.namesakes is not None and self.namesakes.unless_in_article:
            phrases.extend(self.namesakes.full_names)
            phrases.extend(self.namesakes.unless_in_article)
        phrases.extend(self.one_case_acronyms)
        for proximity in (
            self.keep_if_near,
            self.exclude_if_near,
            self.require_near,
            self.exclude_if_followed_by,
            self.exclude_if_preceded_by,
        ):
            if proximity is not None:
                phrases.extend(proximity.words)
                phrases.extend(proximity.unless_in_article)
        return tuple(phrases)


@dataclass(frozen=True, slots=True)
class Rule:
    """A named boolean rule over entity ids and quoted words."""

    name: str
    expr: str
    tree: RuleNode
    examples: Examples = Examples()
    position: int = field(default=-1, compare=False)  # its index under `rules:` in the file


@dataclass(frozen=True, slots=True)
class Watchlist:
    """A validated watchlist. ``source`` is the file it came from (for messages)."""

    name: str
    entities: tuple[Entity, ...]
    rules: tuple[Rule, ...] = ()
    alert: Literal["any", "rules"] = "any"
    excerpt_chars: int | None = None
    description: str = ""
    source: str = "<watchlist>"
    # Headline abbreviations: a word of a name (key, as written in names) may also be
    # written as any of its variants; an optional word may be left out.
    abbreviations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    optional_words: tuple[str, ...] = ()
