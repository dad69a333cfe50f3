"""What the matcher returns: mentions, excerpts, per-watchlist alerts, and their JSON shapes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FIELDS", "Excerpt", "MatchResult", "Mention", "WatchlistMatch"]

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
    fired, with the mentions that satisfy it in ``mentions``).
    """

    watchlist: str
    entities: tuple[str, ...]
    mentions: tuple[Mention, ...]
    excerpts: tuple[Excerpt, ...]
    rule: str | None
    rule_expr: str | None = None

    def to_json(self) -> JsonObject:
        """The match part of the webhook payload: matches and excerpts as in ``monitor match``."""
        return {
            "watchlist": self.watchlist,
            "entities": list(self.entities),
            "rule": self.rule,
            "rule_expr": self.rule_expr,
            "matches": _mentions_json(self.mentions),
            "excerpts": _excerpts_json(self.excerpts),
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Everything found in one article: every mention, excerpts, and the alerts that fire."""

    mentions: tuple[Mention, ...]
    excerpts: tuple[Excerpt, ...]
    alerts: tuple[WatchlistMatch, ...]

    def to_json(self, id: object) -> JsonObject:
        """The ``monitor match`` output line for the input line with this ``id``."""
        return {
            "id": id,
            "matches": _mentions_json(self.mentions),
            "excerpts": _excerpts_json(self.excerpts),
        }


def _mentions_json(mentions: Sequence[Mention]) -> list[JsonObject]:
    return [mention.to_json() for mention in mentions]


def _excerpts_json(excerpts: Sequence[Excerpt]) -> list[JsonObject]:
    return [excerpt.to_json() for excerpt in excerpts]
