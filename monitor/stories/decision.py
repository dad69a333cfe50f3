"""The same-story decision and the LSH band keys of a signature (pure, no numpy at import:
the service imports this at start-up)."""

from __future__ import annotations

import hashlib

from monitor.stories.signature import DEFAULT_CONFIG, Signature, StoryConfig

__all__ = [
    "accepted",
    "band_keys",
    "headline_decides",
    "same_headline",
    "same_story",
    "similarity",
]


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


def accepted(jaccard: float, contained: float, headline: bool, config: StoryConfig) -> bool:
    """The similarity half of `same_story` (the names guard is the other): Jaccard at
    ``same_story``, a contained text above ``contained_floor``, or ``headline``
    (`headline_decides`)."""
    return (
        jaccard >= config.same_story
        or (jaccard >= config.contained_floor and contained >= config.contained)
        or headline
    )
