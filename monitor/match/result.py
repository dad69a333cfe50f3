"""What the matcher returns: mentions, excerpts, per-watchlist alerts, and their JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

__all__ = ["FIELDS", "Excerpt", "MatchResult", "Mention", "WatchlistMatch", "fit_detail"]

# The article fields the matcher reads, in the order results list them.
FIELDS: tuple[str, ...] = ("title", "summary", "content")

JsonObject = dict[str, object]


@dataclass(frozen=True, slots=True)
class Mention:
    """One mention of a watchlist entity: ``text == plain_text_of(field)[start:end]``."""

    watchlist: str
    entity: str
    field: str
    start: int
    end: int
    text: str

    def to_json(self) -> JsonObject:
        return {
            "watchlist": self.watchlist,
            "entity": self.entity,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Excerpt:
    """Sentence(s) of a field around mentions; ``highlights`` are offsets into ``text``."""

    field: str
    text: str
    highlights: tuple[tuple[int, int], ...]

    def to_json(self) -> JsonObject:
        return {
            "field": self.field,
            "text": self.text,
            "highlights": [[start, end] for start, end in self.highlights],
        }


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    """A watchlist that fires for an article (what one alert is about).

    ``rule`` names the boolean rule that fired, or is None when the watchlist fired on
    any entity mention and no rule matched; ``rule_expr`` is that rule's expression (why it
    fired, with the mentions that satisfy it in ``mentions``). ``truncated``: a limit of
    ``monitor.match.limits`` left text unmatched or mentions or excerpts out.
    """

    watchlist: str
    entities: tuple[str, ...]
    mentions: tuple[Mention, ...]
    excerpts: tuple[Excerpt, ...]
    rule: str | None
    rule_expr: str | None = None
    truncated: bool = False

    def to_json(self) -> JsonObject:
        """The match part of the webhook payload: matches and excerpts as in ``monitor match``."""
        return {
            "watchlist": self.watchlist,
            "entities": list(self.entities),
            "rule": self.rule,
            "rule_expr": self.rule_expr,
            "matches": _mentions_json(self.mentions),
            "excerpts": _excerpts_json(self.excerpts),
            "truncated": self.truncated,
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Everything found in one article: every mention, excerpts, and the alerts that fire
    (``truncated``: a limit of ``monitor.match.limits`` left text, mentions or excerpts out)."""

    mentions: tuple[Mention, ...]
    excerpts: tuple[Excerpt, ...]
    alerts: tuple[WatchlistMatch, ...]
    truncated: bool = False
    # Only the start of a field was read (its text, its HTML or its name occurrences past
    # ``monitor.match.limits``): a name further on was not looked for.
    text_cut: bool = False

    def to_json(self, id: object) -> JsonObject:
        """The ``monitor match`` output line for the input line with this ``id``: every
        mention, the excerpts, and which watchlists would alert, by which rule."""
        return {
            "id": id,
            "matches": _mentions_json(self.mentions),
            "excerpts": _excerpts_json(self.excerpts),
            "alerts": [
                {"watchlist": a.watchlist, "entities": list(a.entities), "rule": a.rule}
                for a in self.alerts
            ],
            "truncated": self.truncated,
        }


_Item = TypeVar("_Item", Mention, Excerpt)


def fit_detail(match: WatchlistMatch, max_bytes: int) -> WatchlistMatch:
    """The match with its last excerpts, then its last mentions, left out until
    ``json.dumps(match.to_json())`` is at most ``max_bytes`` long; that is also an upper bound
    of its compact UTF-8 form."""
    if _rough_size(match) <= max_bytes:
        return match
    room = max_bytes - len(json.dumps(replace(match, mentions=(), excerpts=()).to_json()))
    excerpts, room = _first_fitting(match.excerpts, room)
    mentions, _ = _first_fitting(match.mentions, room)
    # The rough size only says the exact one may be over: "truncated" only when something was
    # left out (an outside probe: 8 mentions in 120 characters said true, nothing cut).
    cut = len(excerpts) < len(match.excerpts) or len(mentions) < len(match.mentions)
    return replace(match, mentions=mentions, excerpts=excerpts, truncated=match.truncated or cut)


def _first_fitting(items: Sequence[_Item], room: int) -> tuple[tuple[_Item, ...], int]:
    kept: list[_Item] = []
    for item in items:
        size = len(json.dumps(item.to_json())) + len(", ")
        if size > room:
            break
        room -= size
        kept.append(item)
    return tuple(kept), room


def _rough_size(match: WatchlistMatch) -> int:
    """More than ``len(json.dumps(match.to_json()))`` can be, without writing it: a character
    takes at most 12 (an escaped surrogate pair), the rest of an item less than 200."""
    chars = len(match.watchlist) + len(match.rule or "") + len(match.rule_expr or "")
    chars += sum(map(len, match.entities))
    for mention in match.mentions:
        chars += len(mention.text) + len(mention.watchlist) + len(mention.entity)
        chars += len(mention.field)
    highlights = 0
    for excerpt in match.excerpts:
        chars += len(excerpt.text) + len(excerpt.field)
        highlights += len(excerpt.highlights)
    items = 1 + len(match.entities) + len(match.mentions) + len(match.excerpts) + highlights
    return 12 * chars + 200 * items


def _mentions_json(mentions: Sequence[Mention]) -> list[JsonObject]:
    return [mention.to_json() for mention in mentions]


def _excerpts_json(excerpts: Sequence[Excerpt]) -> list[JsonObject]:
    return [excerpt.to_json() for excerpt in excerpts]
