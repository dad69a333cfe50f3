"""The band keys of a story signature are made where it is, in the parsing worker, and the
storing transaction takes them as they are (for the default config) instead of hashing."""

from __future__ import annotations

from monitor.analysis import analyse
from monitor.db.stories import _band_keys
from monitor.match.matcher import Matcher
from monitor.stories import DEFAULT_CONFIG, StoryConfig, band_keys, signature

BODY = (
    b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>W</title>"
    b"<item><guid>1</guid><title>Haftar's forces advance on the southern edge of Tripoli"
    b"</title><description>Forces loyal to Khalifa Haftar advanced on the southern outskirts"
    b" of Tripoli on Monday, residents said.</description></item>"
    b"<item><guid>2</guid><title>Hi</title></item></channel></rss>"
)


def test_the_worker_makes_the_band_keys_the_store_would() -> None:
    analysed = analyse(Matcher([]), BODY, "https://example.org/rss", None)
    long, short = analysed.stories
    assert long.bands is not None and list(long.bands) == band_keys(long)
    assert len(long.bands) == DEFAULT_CONFIG.bands + 1  # and the headline's own key
    assert _band_keys(long, DEFAULT_CONFIG) == list(long.bands)
    assert _band_keys(short, DEFAULT_CONFIG) == []  # too few shingles to index


def test_another_config_hashes_its_own_keys() -> None:
    sig = signature("Haftar's forces advance on Tripoli", "Residents said so on Monday.", "")
    other = StoryConfig(rows=4)
    stale = type(sig)(sig.data, sig.size, bands=(1, 2, 3))
    assert _band_keys(stale, other) == band_keys(stale, other)
