"""Entity context rules: drop a mention that is meant in another sense (Tripoli in Lebanon,
GNA as the Ghana News Agency) or keep it only with the context the analyst requires."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from monitor.match.names import phrase_key
from monitor.match.rules import word_distance
from monitor.match.scan import FieldScan, Hit, NameTarget
from monitor.match.watchlist import Entity, Proximity

__all__ = ["EntityContext"]


@dataclass(frozen=True, slots=True)
class _CompiledProximity:
    keys: frozenset[str]
    within: int

    @classmethod
    def of(cls, proximity: Proximity | None) -> _CompiledProximity | None:
        if proximity is None:
            return None
        return cls(frozenset(phrase_key(word) for word in proximity.words), proximity.within)

    def near(self, mention: Hit, scan: FieldScan) -> bool:
        # Of the occurrences that do not overlap the mention, the nearest on either side are
        # the nearest in words.
        span = scan.word_span(mention.norm_start, mention.norm_end)
        for key in self.keys:
            for hit in scan.phrases_beside(key, mention):
                if word_distance(span, scan.word_span(hit.norm_start, hit.norm_end)) <= self.within:
                    return True
        return False


@dataclass(frozen=True, slots=True)
class EntityContext:
    """The context rules of one entity, with phrases as scan keys."""

    exclude_phrases: frozenset[str]
    keep_if_near: _CompiledProximity | None
    exclude_if_near: _CompiledProximity | None
    exclude_if_in_article: frozenset[str]
    unless_in_article: frozenset[str]
    require_near: _CompiledProximity | None
    require_in_article: frozenset[str]
    conditional_in_article: frozenset[str]

    @classmethod
    def of(cls, entity: Entity) -> EntityContext:
        def keys(phrases: tuple[str, ...]) -> frozenset[str]:
            return frozenset(phrase_key(phrase) for phrase in phrases)

        return cls(
            exclude_phrases=keys(entity.exclude_phrases),
            keep_if_near=_CompiledProximity.of(entity.keep_if_near),
            exclude_if_near=_CompiledProximity.of(entity.exclude_if_near),
            exclude_if_in_article=keys(entity.exclude_if_in_article),
            unless_in_article=keys(entity.unless_in_article),
            require_near=_CompiledProximity.of(entity.require_near),
            require_in_article=keys(entity.require_in_article),
            conditional_in_article=keys(
                entity.conditional_acronyms.if_in_article if entity.conditional_acronyms else ()
            ),
        )

    def keeps(self, mention: Hit, scan: FieldScan, article_phrases: AbstractSet[str]) -> bool:
        """Whether a mention survives; ``article_phrases`` are the phrase keys found anywhere
        in the article. ``keep_if_near`` wins over every exclusion ("Tripoli, Libya")."""
        target = mention.target
        if (
            isinstance(target, NameTarget)
            and target.conditional
            and not self.conditional_in_article & article_phrases
        ):
            return False
        if self.keep_if_near is not None and self.keep_if_near.near(mention, scan):
            return True
        if any(scan.phrases_overlapping(key, mention) for key in self.exclude_phrases):
            return False
        if self.exclude_if_in_article & article_phrases and not (
            self.unless_in_article & article_phrases
        ):
            return False
        if self.require_in_article and not self.require_in_article & article_phrases:
            return False
        if self.exclude_if_near is not None and self.exclude_if_near.near(mention, scan):
            return False
        return self.require_near is None or self.require_near.near(mention, scan)
