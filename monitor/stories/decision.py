"""The same-story decision and the LSH band keys of a signature (pure, no numpy at import:
the service imports this at start-up)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TypeVar

from monitor.stories.signature import DEFAULT_CONFIG, Signature, StoryConfig

__all__ = [
    "accepted",
    "band_keys",
    "headline_decides",
    "headline_rules",
    "same_headline",
    "same_story",
    "similarity",
]


K = TypeVar("K")  # how a lookup names a stored article: its id, or its row


def band_keys(sig: Signature, config: StoryConfig = DEFAULT_CONFIG) -> list[int]:
    """One signed 64-bit key per band (BLAKE2b of the band number and the band's
    little-endian values): the same in every process, so they can be stored and queried,
    and different for equal values in two bands, so a key alone names its band."""
    data = sig.to_bytes()
    width = 4 * config.rows
    keys = [
        int.from_bytes(
            hashlib.blake2b(
                data[i * width : (i + 1) * width], digest_size=8, person=i.to_bytes(2, "little")
            ).digest(),
            "little",
            signed=True,
        )
        for i in range(config.bands)
    ]
    if sig.headline is not None:  # one more, after the bands: the headline's own key
        keys.append(sig.headline)
    return keys


def similarity(a: Signature, b: Signature) -> tuple[float, float]:
    """(estimated Jaccard similarity, estimated containment) of two signatures."""
    jaccard = a.jaccard(b)
    return jaccard, a.containment(b, jaccard)


def same_story(a: Signature, b: Signature, config: StoryConfig = DEFAULT_CONFIG) -> bool:
    """Whether two articles' title + lead are near-identical enough to be one story.

    Same story when the estimated Jaccard similarity of their shingles reaches
    ``same_story``, or when one is mostly contained in the other (``contained``: a
    shortened lead) and the Jaccard similarity still reaches ``contained_floor``, or when
    `headline_decides` (one long headline, one of them nothing but it); never when
    ``names_guard`` is on and their leads name different people or places
    (`Signature.names_conflict`).
    """
    jaccard, contained = similarity(a, b)
    if not accepted(jaccard, contained, headline_decides(a, b), config):
        return False
    return not (config.names_guard and a.names_conflict(b))


def same_headline(a: Signature, b: Signature) -> bool:
    """Whether two articles carry one long headline word for word (`HEADLINE_WORDS`)."""
    return a.headline is not None and a.headline == b.headline


def headline_decides(a: Signature, b: Signature) -> bool:
    """Whether one headline alone makes two articles one story: the same long headline,
    and one of them is nothing but its headline (a news aggregator's entry over the
    wire's article). Two articles with leads are judged by their leads: one recurring
    headline ("Libya security update: the latest from Tripoli") tops many events. (The
    lookups add one rule: once a story has an article with a lead under the headline, its
    headline-only members are no ground for another article with a lead to join it.)"""
    return same_headline(a, b) and (a.headline_only or b.headline_only)


def headline_rules(sig: Signature, carriers: Mapping[K, tuple[int, bool]]) -> tuple[set[K], set[K]]:
    """How the lookups apply `headline_decides` to the stored articles under the headline
    of ``sig`` (``carriers``: each one's story and whether it is nothing but the
    headline): those the headline alone makes one story with ``sig``, and those set aside.
    For an article with a lead, a headline-only carrier whose story has an article with a
    lead under this headline is set aside: those leads decide (else an aggregator's copy of
    one event chains a second event under the same headline into it)."""
    if sig.headline_only:
        return set(carriers), set()
    led = {story for story, alone in carriers.values() if not alone}
    alone = {key for key, (_, only) in carriers.items() if only}
    aside = {key for key in alone if carriers[key][0] in led}
    return alone - aside, aside


def accepted(jaccard: float, contained: float, headline: bool, config: StoryConfig) -> bool:
    """The similarity half of `same_story` (the names guard is the other): Jaccard at
    ``same_story``, a contained text above ``contained_floor``, or ``headline``
    (`headline_decides`)."""
    return (
        jaccard >= config.same_story
        or (jaccard >= config.contained_floor and contained >= config.contained)
        or headline
    )
