"""The same-story decision and the LSH band keys of a signature (pure, no numpy at import:
the service imports this at start-up)."""

from __future__ import annotations

import hashlib

from monitor.stories.signature import DEFAULT_CONFIG, Signature, StoryConfig

__all__ = ["band_keys", "same_story", "similarity"]


def band_keys(sig: Signature, config: StoryConfig = DEFAULT_CONFIG) -> list[int]:
    """One signed 64-bit key per band (BLAKE2b of the band number and the band's
    little-endian values): the same in every process, so they can be stored and queried,
    and different for equal values in two bands, so a key alone names its band."""
    data = sig.to_bytes()
    width = 4 * config.rows
    return [
        int.from_bytes(
            hashlib.blake2b(
                data[i * width : (i + 1) * width], digest_size=8, person=i.to_bytes(2, "little")
            ).digest(),
            "little",
            signed=True,
        )
        for i in range(config.bands)
    ]


def similarity(a: Signature, b: Signature) -> tuple[float, float]:
    """(estimated Jaccard similarity, estimated containment) of two signatures."""
    jaccard = a.jaccard(b)
    return jaccard, a.containment(b, jaccard)


def same_story(a: Signature, b: Signature, config: StoryConfig = DEFAULT_CONFIG) -> bool:
    """Whether two articles' title + lead are near-identical enough to be one story.

    Same story when the estimated Jaccard similarity of their shingles reaches
    ``same_story``, or when one is mostly contained in the other (``contained``: a
    shortened lead) and the Jaccard similarity still reaches ``contained_floor``; never when
    ``names_guard`` is on and their leads name different people or places
    (`Signature.names_conflict`).
    """
    jaccard, contained = similarity(a, b)
    if jaccard < config.same_story and not (
        jaccard >= config.contained_floor and contained >= config.contained
    ):
        return False
    return not (config.names_guard and a.names_conflict(b))
