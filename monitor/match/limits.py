"""Caps on what one article can make the matcher produce; ``truncated`` says one was reached."""

from __future__ import annotations

__all__ = [
    "MAX_DETAIL_BYTES",
    "MAX_EXCERPTS",
    "MAX_FIELD_CHARS",
    "MAX_FIELD_HITS",
    "MAX_FIELD_HTML_CHARS",
    "MAX_MENTIONS_PER_ENTITY",
    "MIN_DETAIL_BYTES",
]

# Characters of each field's plain text that are matched (the rest is ignored). Real articles
# have under 100,000 characters of text; this is twice that.
MAX_FIELD_CHARS = 200_000
# Characters of each field's HTML read to find that text (turning HTML into text takes up to
# about 30 times its size in memory): ten times the text, as markup rarely outweighs it.
MAX_FIELD_HTML_CHARS = 2_000_000
# Occurrences of names and phrases (also inside longer words) read per field; the rest of the
# field is left unread. Each costs up to 50 microseconds of Python; a real article of
# 100,000 characters has a few hundred.
MAX_FIELD_HITS = 10_000
# Mentions kept per entity and field, first ones first (rules still see every mention).
MAX_MENTIONS_PER_ENTITY = 100
# Excerpts per alert and per result, most entities first.
MAX_EXCERPTS = 20
# Size of ``WatchlistMatch.to_json()`` (the stored detail and the webhook's matches and
# excerpts) as ``json.dumps`` writes it, ASCII-escaped or not.
MAX_DETAIL_BYTES = 256_000
# ...and at most twice the article's plain text (characters), but never under this: a short
# article that repeats a name a hundred times gets its first mentions and excerpts, not 100
# per entity and field (an outside probe: 44 KB of detail for 3 KB of text, stored forever).
MIN_DETAIL_BYTES = 8_000
