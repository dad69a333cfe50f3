"""Boolean watchlist rules: parse ``haftar AND (tripoli OR "Misrata") NOT title:"Ghana"``-style
expressions (AND, OR, NOT, NEAR/n, parentheses, field scope) and evaluate them on an article."""

from __future__ import annotations

import difflib
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from monitor.match.result import FIELDS

__all__ = [
    "And",
    "Evidence",
    "Near",
    "Not",
    "Or",
    "RuleNode",
    "RuleSyntaxError",
    "Scope",
    "Support",
    "Term",
    "evaluate_rule",
    "parse_rule",
    "rule_phrases",
    "rule_support",
    "rule_terms",
    "word_distance",
]

# (first word index, last word index) of an occurrence inside one field.
WordSpan = tuple[int, int]


def word_distance(left: WordSpan, right: WordSpan) -> int:
    """Words from the end of one occurrence to the start of the other: 0 if they overlap,
    1 if adjacent ("Tripoli, Lebanon")."""
    if left[0] > right[1]:
        return left[0] - right[1]
    if right[0] > left[1]:
        return right[0] - left[1]
    return 0


# A quoted word of a rule ending in this also matches the longer words it starts
# ("удар*": удара, ударом; "negotiat*": negotiations).
WORD_START = "*"


@dataclass(frozen=True, slots=True)
class Term:
    """An entity id (its surviving mentions) or a quoted word/phrase (``key`` is normalised)."""

    kind: Literal["entity", "phrase"]
    value: str
    key: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: RuleNode


@dataclass(frozen=True, slots=True)
class And:
    left: RuleNode
    right: RuleNode


@dataclass(frozen=True, slots=True)
class Or:
    left: RuleNode
    right: RuleNode


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides occur in the same field at most ``within`` words apart."""

    left: RuleNode
    right: RuleNode
    within: int


@dataclass(frozen=True, slots=True)
class Scope:
    """The operand must hold within one field (``title:haftar``)."""

    field: str
    operand: RuleNode


RuleNode = Term | Not | And | Or | Near | Scope


class RuleSyntaxError(ValueError):
    """A rule expression cannot be read; ``position`` is the 0-based character index."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(f"{message} at character {position + 1}")


_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<open>\()
      | (?P<close>\))
      | (?P<quoted>["\u201c\u201d][^"\u201c\u201d]*["\u201c\u201d])
      | (?P<near>NEAR/(?P<within>\d+))
      | (?P<field>[A-Za-z]+):
      | (?P<word>[^\s()"\u201c\u201d:]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(expression):
        found = _TOKEN.match(expression, position)
        if found is None:
            char = expression[position]
            if char in '"\u201c\u201d':
                raise RuleSyntaxError('unclosed quote: end the phrase with "', position)
            raise RuleSyntaxError(f"unexpected {char!r}", position)
        kind = found.lastgroup or ""
        if kind == "within":
            kind = "near"
        if kind != "space":
            text = found.group()
            if kind == "word" and text in ("AND", "OR", "NOT"):
                kind = text
            elif kind == "word" and text.startswith("NEAR"):
                raise RuleSyntaxError("NEAR needs a distance in words, e.g. NEAR/10", position)
            tokens.append(_Token(kind, text, position))
        position = found.end()
    return tokens


class _Parser:
    def __init__(
        self,
        expression: str,
        entity_ids: frozenset[str],
        phrase_key: Callable[[str], str],
    ) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.index = 0
        self.entity_ids = entity_ids
        self.phrase_key = phrase_key

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def end_position(self) -> int:
        return len(self.expression)

    def unknown_hint(self, word: str) -> str:
        known = ", ".join(sorted(self.entity_ids))
        close = difflib.get_close_matches(word, sorted(self.entity_ids), n=1)
        if word.upper() in ("AND", "OR", "NOT"):
            return "operators are written in capitals (AND, OR, NOT)"
        if close:
            return f'did you mean {close[0]!r}? (or quote a word: "{word}")'
        return f'use an entity id ({known}) or quote a word: "{word}"'

    def parse(self) -> RuleNode:
        if not self.tokens:
            raise RuleSyntaxError('empty rule: write entity ids or "words"', 0)
        # Every unknown name at once (the parse stops at the first): a user fixing one at a
        # time ran `monitor check` once per name.
        unknown = [t for t in self.tokens if t.kind == "word" and t.text not in self.entity_ids]
        if len(unknown) > 1:
            each = "; ".join(f"{t.text!r}: {self.unknown_hint(t.text)}" for t in unknown)
            raise RuleSyntaxError(f"unknown entities {each}", unknown[0].position)
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            if token.kind == "close":
                raise RuleSyntaxError("unmatched ')'", token.position)
            if token.text.upper() in ("AND", "OR", "NOT"):
                raise RuleSyntaxError(
                    f"{token.text!r}: operators are written in capitals ({token.text.upper()})",
                    token.position,
                )
            raise RuleSyntaxError(
                f"expected AND, OR or NEAR/n before {token.text!r}", token.position
            )
        return node

    def parse_or(self) -> RuleNode:
        node = self.parse_and()
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> RuleNode:
        node = self.parse_not()
        while (token := self.peek()) is not None and token.kind == "AND":
            self.take()
            node = And(node, self.parse_not())
        return node

    def parse_not(self) -> RuleNode:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            return Not(self.parse_not())
        return self.parse_near()

    def parse_near(self) -> RuleNode:
        node = self.parse_primary()
        while (token := self.peek()) is not None and token.kind == "near":
            self.take()
            within = int(token.text.split("/", 1)[1])
            if within < 1:
                raise RuleSyntaxError("NEAR/n needs n of at least 1", token.position)
            right = self.parse_primary()
            for side in (node, right):
                if not _yields_spans(side):
                    raise RuleSyntaxError(
                        'NEAR joins entity ids or "words" (or OR-groups of them), '
                        "not AND/NOT expressions",
                        token.position,
                    )
            node = Near(node, right, within)
        return node

    def parse_primary(self) -> RuleNode:
        token = self.peek()
        if token is None:
            raise RuleSyntaxError(
                "expression ends too early: an entity id, \"words\" or '(' is missing",
                self.end_position(),
            )
        self.take()
        if token.kind == "open":
            node = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != "close":
                raise RuleSyntaxError("missing ')' for the '(' here", token.position)
            self.take()
            return node
        if token.kind == "field":
            field = token.text[:-1]
            if field not in FIELDS:
                raise RuleSyntaxError(
                    f"unknown field {field!r}: use one of {', '.join(FIELDS)}", token.position
                )
            return Scope(field, self.parse_primary())
        if token.kind == "quoted":
            phrase = token.text[1:-1].strip()
            stem = phrase.removesuffix(WORD_START)
            key = self.phrase_key(stem)
            if not key.strip():
                raise RuleSyntaxError("empty quoted phrase", token.position)
            if WORD_START in stem or (
                stem != phrase
                and (stem != stem.rstrip() or sum(char.isalnum() for char in key.split()[-1]) < 3)
            ):
                raise RuleSyntaxError(
                    f'"{phrase}": * may only end a phrase, after a word of three letters or '
                    'more ("negotiat*")',
                    token.position,
                )
            if stem != phrase:
                key += WORD_START
            return Term("phrase", phrase, key)
        if token.kind == "word":
            if token.text not in self.entity_ids:
                raise RuleSyntaxError(
                    f"unknown entity {token.text!r}: {self.unknown_hint(token.text)}",
                    token.position,
                )
            return Term("entity", token.text, token.text)
        if token.kind == "close":
            raise RuleSyntaxError("unexpected ')'", token.position)
        raise RuleSyntaxError(
            f'{token.text!r} needs an entity id or "words" before it', token.position
        )


def _yields_spans(node: RuleNode) -> bool:
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Or):
        return _yields_spans(node.left) and _yields_spans(node.right)
    if isinstance(node, Scope):
        return _yields_spans(node.operand)
    return False


def parse_rule(
    expression: str, entity_ids: Iterable[str], phrase_key: Callable[[str], str]
) -> RuleNode:
    """Parse a rule; ``phrase_key`` normalises quoted words the way the scanner does."""
    return _Parser(expression, frozenset(entity_ids), phrase_key).parse()


def rule_terms(node: RuleNode) -> list[Term]:
    """Every entity and phrase term of a rule."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not | Scope):
        return rule_terms(node.operand)
    return rule_terms(node.left) + rule_terms(node.right)


def rule_phrases(node: RuleNode) -> list[str]:
    """The quoted words/phrases a rule uses (the scanner must look for them)."""
    if isinstance(node, Term):
        return [node.value] if node.kind == "phrase" else []
    if isinstance(node, Not | Scope):
        return rule_phrases(node.operand)
    return rule_phrases(node.left) + rule_phrases(node.right)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where entities (surviving mentions) and phrases occur, per field, in word positions."""

    # Collections, not sequences: a rule iterates them or asks whether they are empty, so
    # the matcher can compute word positions only when a NEAR reads them.
    entities: Mapping[tuple[str, str], Collection[WordSpan]]  # (field, entity id) -> spans
    phrases: Mapping[tuple[str, str], Collection[WordSpan]]  # (field, phrase key) -> spans

    def spans(self, term: Term, field: str) -> Collection[WordSpan]:
        table = self.entities if term.kind == "entity" else self.phrases
        return table.get((field, term.key), ())


def evaluate_rule(node: RuleNode, evidence: Evidence) -> bool:
    """Whether the rule holds for an article."""
    return _holds(node, evidence, FIELDS)


def _holds(node: RuleNode, evidence: Evidence, fields: Sequence[str]) -> bool:
    if isinstance(node, Term):
        return any(evidence.spans(node, field) for field in fields)
    if isinstance(node, Not):
        return not _holds(node.operand, evidence, fields)
    if isinstance(node, And):
        return _holds(node.left, evidence, fields) and _holds(node.right, evidence, fields)
    if isinstance(node, Or):
        return _holds(node.left, evidence, fields) or _holds(node.right, evidence, fields)
    if isinstance(node, Scope):
        return _holds(node.operand, evidence, [f for f in fields if f == node.field])
    return bool(_near_spans(node, evidence, fields, limit=1))


@dataclass(frozen=True, slots=True)
class Support:
    """Occurrences that make a rule hold: those of ``term`` in ``field``, every one, or only
    those inside ``window`` (first and last word of a pair that a NEAR joined)."""

    term: Term
    field: str
    window: WordSpan | None = None


# NEAR pairs whose words are shown as the evidence of a rule (the excerpts keep 20 at most).
MAX_SUPPORT_WINDOWS = 20


def rule_support(node: RuleNode, evidence: Evidence) -> list[Support]:
    """Where a rule that holds is satisfied: the terms (and, under NEAR, the pairs) that make
    it hold. Terms under NOT support nothing; of an OR, only the sides that hold do."""
    return _support(node, evidence, FIELDS)


def _support(node: RuleNode, evidence: Evidence, fields: Sequence[str]) -> list[Support]:
    if isinstance(node, Term):
        return [Support(node, field) for field in fields if evidence.spans(node, field)]
    if isinstance(node, Not):
        return []
    if isinstance(node, And):
        return _support(node.left, evidence, fields) + _support(node.right, evidence, fields)
    if isinstance(node, Or):
        # A term supports nothing where it does not hold: only other sides need evaluating.
        return [
            support
            for side in _alternatives(node)
            if isinstance(side, Term) or _holds(side, evidence, fields)
            for support in _support(side, evidence, fields)
        ]
    if isinstance(node, Scope):
        return _support(node.operand, evidence, [f for f in fields if f == node.field])
    terms = rule_terms(node)
    return [
        Support(term, field, (first, last))
        for field, first, last in _near_spans(node, evidence, fields, limit=MAX_SUPPORT_WINDOWS)
        for term in terms
    ]


def _alternatives(node: Or) -> list[RuleNode]:
    """The sides of a chain of ORs (``a OR b OR c`` is ``Or(Or(a, b), c)``)."""
    sides: list[RuleNode] = []
    for side in (node.left, node.right):
        sides.extend(_alternatives(side) if isinstance(side, Or) else [side])
    return sides


def _near_spans(
    node: Near, evidence: Evidence, fields: Sequence[str], *, limit: int
) -> list[tuple[str, int, int]]:
    """Joined spans of left/right pairs in one field at most ``within`` words apart (the
    first ``limit`` found)."""
    lefts = _spans(node.left, evidence, fields)
    rights = sorted(_spans(node.right, evidence, fields) if lefts else [])
    if not rights:
        return []
    longest = max(last - first for _, first, last in rights)
    found: list[tuple[str, int, int]] = []
    for field, first, last in lefts:
        # Only rights that start within reach can be near: find them by bisection.
        low = bisect_left(rights, (field, first - node.within - longest, -1))
        high = bisect_right(rights, (field, last + node.within, sys.maxsize))
        for _, right_first, right_last in rights[low:high]:
            if word_distance((first, last), (right_first, right_last)) <= node.within:
                found.append((field, min(first, right_first), max(last, right_last)))
                if len(found) >= limit:
                    return found
    return found


def _spans(node: RuleNode, evidence: Evidence, fields: Sequence[str]) -> list[tuple[str, int, int]]:
    if isinstance(node, Term):
        return [
            (field, first, last) for field in fields for first, last in evidence.spans(node, field)
        ]
    if isinstance(node, Or):
        return _spans(node.left, evidence, fields) + _spans(node.right, evidence, fields)
    if isinstance(node, Scope):
        return _spans(node.operand, evidence, [f for f in fields if f == node.field])
    if isinstance(node, Near):
        return _near_spans(node, evidence, fields, limit=sys.maxsize)
    raise TypeError(f"{type(node).__name__} has no word positions")  # parse_rule prevents it
