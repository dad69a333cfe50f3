"""Story clustering (issue 10): near-identical articles from any source within a time
window are one story. Pure: signatures, the same-story decision and pairwise scores here;
the in-memory candidate index (numpy) in `monitor.stories.index`. docs/stories.md
describes the method and its measurement."""

from monitor.stories.decision import band_keys, same_story, similarity
from monitor.stories.evaluate import PairScores, pairwise_scores
from monitor.stories.signature import (
    DEFAULT_CONFIG,
    Signature,
    StoryConfig,
    feed_signatures,
    lead_text,
    signature,
    story_tokens,
    with_entities,
)

__all__ = [
    "DEFAULT_CONFIG",
    "PairScores",
    "Signature",
    "StoryConfig",
    "band_keys",
    "feed_signatures",
    "lead_text",
    "pairwise_scores",
    "same_story",
    "signature",
    "similarity",
    "story_tokens",
    "with_entities",
]
