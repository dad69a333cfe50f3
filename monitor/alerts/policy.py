"""Which stored match a sink hears of (pure): the sink's filters and its story policy, given
what the sink was already told about the story (docs/stories.md, "Alert policy")."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from monitor.config import SinkConfig

__all__ = ["Decision", "Sent", "SinkPolicy", "decide"]

StoriesMode = Literal["first", "updates", "all"]
Kind = Literal["first", "update", "all"]


@dataclass(frozen=True)
class SinkPolicy:
    """What a sink wants to hear: its story policy and its filters (``None``: no filter)."""

    stories: StoriesMode = "first"
    update_sources: int = 3
    watchlists: frozenset[str] | None = None
    entities: frozenset[str] | None = None
    min_sources: int = 1
    digest: bool = False

    @classmethod
    def of(cls, sink: SinkConfig) -> SinkPolicy:
        return cls(
            stories=sink.stories,
            update_sources=sink.update_sources,
            watchlists=frozenset(sink.watchlists) if sink.watchlists is not None else None,
            entities=frozenset(sink.entities) if sink.entities is not None else None,
            min_sources=sink.min_sources,
            digest=sink.mode == "digest",
        )


ALL = SinkPolicy(stories="all")
"""Today's behaviour without stories: every match of every article is an alert."""


@dataclass(frozen=True)
class Sent:
    """An alert the sink was already given about a story for a watchlist: its delivery id,
    the watched entities and the story's sources it told of."""

    delivery_id: str
    kind: Kind
    entities: frozenset[str]
    sources: frozenset[str]


@dataclass(frozen=True)
class Decision:
    """Send an alert of ``kind``; a follow-up (``update``) names the first alert it follows
    (``update_of``) and what changed since the sink last heard of the story."""

    kind: Kind
    update_of: str | None = None
    new_entities: tuple[str, ...] = ()
    new_sources: tuple[str, ...] = ()
    entities: frozenset[str] = field(default_factory=frozenset)
    sources: frozenset[str] = field(default_factory=frozenset)

    def changes(self) -> dict[str, list[str]] | None:
        """The payload's ``changes`` object of a follow-up, else None."""
        if self.kind != "update":
            return None
        return {"entities": list(self.new_entities), "sources": list(self.new_sources)}


def decide(
    policy: SinkPolicy,
    *,
    watchlist: str,
    entities: Collection[str],
    story_sources: Collection[str],
    history: Sequence[Sent],
) -> Decision | None:
    """Whether a sink hears of a match of ``watchlist`` naming ``entities`` on an article
    whose story now has ``story_sources`` (this article's source included), given the alerts
    ``history`` the sink had about the story and watchlist (oldest first). None: not sent."""
    if policy.watchlists is not None and watchlist not in policy.watchlists:
        return None
    named = frozenset(entities)
    if policy.entities is not None:
        named = named & policy.entities
        if not named:
            return None
    sources = frozenset(story_sources)
    if len(sources) < policy.min_sources:
        return None
    if policy.stories == "all":
        return Decision("all", entities=named, sources=sources)
    if not history:
        return Decision("first", entities=named, sources=sources)
    if policy.stories == "first":
        return None
    told_entities = frozenset().union(*(sent.entities for sent in history))
    told_sources = frozenset().union(*(sent.sources for sent in history))
    new_entities = tuple(sorted(named - told_entities))
    new_sources = tuple(sorted(sources - told_sources))
    if not new_entities and len(new_sources) < policy.update_sources:
        return None
    return Decision(
        "update",
        update_of=history[0].delivery_id,
        new_entities=new_entities,
        new_sources=new_sources,
        entities=named | told_entities,
        sources=sources | told_sources,
    )
