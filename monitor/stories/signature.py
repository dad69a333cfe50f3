"""Story signatures: the normalised word shingles of an article's title and lead, as a
MinHash (pure, no I/O).

The signature is what the story index stores for each article and what the similarity
decision compares. It is small and fixed-size so that it can live in a database column:
``num_perm`` 32-bit MinHash values (``to_bytes``), the number of distinct shingles, and the
numbers the title and lead contain.
"""

from __future__ import annotations

import hashlib
import random
import re
import struct
import sys
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import lru_cache

from monitor.text import html_to_text, normalize_text, sentence_spans

__all__ = [
    "DEFAULT_CONFIG",
    "Signature",
    "StoryConfig",
    "headline_key",
    "lead_text",
    "signature",
    "story_tokens",
    "feed_signatures",
    "with_entities",
]

# A dateline at the start of a lead: "TRIPOLI, March 2 (Maghreb Wire) - ", "بنغازي، 7 مارس
# (وكالة المتوسط) - ": up to 80 characters ending in an outlet in brackets and a dash.
_DATELINE = re.compile(
    r"^(?:[^()\n]{0,80}(?:\([^()\n]{1,40}\)[^()\n]{0,40})?\([^()\n]{1,40}\)"
    r"|[A-Z][A-Z.' ]{2,30}(?:,[^()\n,]{1,30})?)\s*(?:--|[-\u2013\u2014:])\s+"
)
# A wire's revision note before its dateline: "(Adds government statement) ", "(Refiles to
# add dropped word) ", "(Corrects day of attack) ".
_REVISION_NOTE = re.compile(
    r"^\((?:adds|updates|refiles|corrects|recasts|rewrites|changes|fixes|removes|releads|"
    r"repeats|moves|actualis\u00e9|actualise|corrige|rectifie|ajoute|compl\u00e8te|aggiorna|"
    r"corregge)\b[^()\n]{0,150}\)\s*",
    re.IGNORECASE,
)
# Revision and priority marks before a title, one or more: "CORRECTED-UPDATE 2-",
# "REFILE-", "UPDATED:", "تحديث 1-", ...
_TITLE_MARK = re.compile(
    r"^(?:\s*(?:corrected|correction|update[ds]?\s*\d*|refile|urgent|breaking|rectificatif|"
    r"mise \u00e0 jour|correzione|aggiornamento|\u062a\u0635\u062d\u064a\u062d|"
    r"\u0639\u0627\u062c\u0644|\u062a\u062d\u062f\u064a\u062b\s*\d*)\s*[-\u2013\u2014:]\s*)+",
    re.IGNORECASE,
)
# An outlet's name after a headline, as aggregators write it: "... talks in Jeddah - Nile
# Post", "... | Libya Herald": up to four words without figures after a dash or a bar.
_OUTLET = re.compile(r"\s+[-\u2013\u2014|]\s+[^\W\d][^-\u2013\u2014|\d]{0,40}$")
_WORD = re.compile(r"\w+")
STOCK_WORDS = 25
"""A lead shorter than this that two entries of one feed share is stock text (feed_signatures)."""


@dataclass(frozen=True, slots=True)
class StoryConfig:
    """How signatures are made and when two articles are the same story.

    The defaults come from the measurement in docs/stories.md (bench/stories.py --sweep).
    """

    num_perm: int = 128
    """MinHash values per signature (4 bytes each)."""
    shingle: int = 2
    """Words per shingle."""
    lead_words: int = 50
    """Words of the lead (summary, else content) after the dateline that count."""
    rows: int = 3
    """MinHash values per LSH band; there are ``num_perm // rows`` bands, and an article is
    a candidate of another when one band is identical. With 128 values, 42 bands of 3 find
    a pair at Jaccard 0.4 with probability 0.94, at 0.5 with 0.996, at 0.05 with 0.005."""
    same_story: float = 0.40
    """Estimated Jaccard similarity of the shingles at or above which two articles are
    the same story (when the names guard lets them)."""
    contained: float = 0.75
    """Estimated share of the smaller article's shingles found in the other at or above
    which two articles are the same story (a shortened lead, a headline with a lead cut
    short) provided their Jaccard similarity reaches ``contained_floor``."""
    contained_floor: float = 0.25
    names_guard: bool = True
    """Two articles whose first lead sentences each name someone or somewhere (a
    capitalised word) absent from the other's title and lead are different stories, however
    similar their wording: two capsizings off two towns, two ambushes in two regions."""
    window: timedelta = field(default=timedelta(hours=48))
    """Articles published further apart than this are never the same story."""
    min_shingles: int = 3
    """An article with fewer distinct shingles (a two-word title over an empty or stock
    description: "Item 42" / "news") starts its own story and is not indexed: such tiny
    sets share their one stock shingle with every other and would make every article of the
    feed a candidate of every other."""
    max_candidates: int = 20
    """Candidates checked per lookup: those sharing the most bands (the most similar)."""
    redundant: float = 0.8
    """An article this similar (estimated Jaccard) to the one it joined, and published
    within half the window of it, adds nothing to the candidate index and is not indexed:
    a big story (a wire copy carried by hundreds of outlets) stays a handful of index
    entries, so lookups stay cheap. (A later copy is indexed: it keeps the story findable
    after the first one leaves the window.)"""
    per_key: int = 8
    """A band key is indexed for at most this many articles published within half the
    window of each other (so carriers are renewed before the first leave the window).
    Stock wording and a story carried everywhere share their keys with hundreds of
    articles: their first few name the story, the rest would only make every lookup and
    every insert slower."""

    def __post_init__(self) -> None:
        if self.rows <= 0 or self.num_perm < self.rows:
            raise ValueError("num_perm must be at least rows, rows at least 1")
        if self.shingle < 1 or self.lead_words < 1:
            raise ValueError("shingle and lead_words must be at least 1")

    @property
    def bands(self) -> int:
        return self.num_perm // self.rows


DEFAULT_CONFIG = StoryConfig()


@dataclass(frozen=True, slots=True, eq=False)
class Signature:
    """An article's story signature.

    ``data`` holds the MinHash values as little-endian uint32 (datasketch's affine32 scheme
    with seed 1: the same text gives the same values in every process and version of this
    code that keeps that scheme): bytes, which a column stores as they are and `jaccard`
    compares in one integer operation; ``size`` the number
    of distinct shingles; ``names`` the capitalised words of the title and lead
    (case-folded; a word that opens a sentence does not count) and ``lead_names`` those of
    the lead's first sentence (the who and where of a wire lead).
    """

    data: bytes
    size: int
    names: frozenset[str] = frozenset()
    lead_names: frozenset[str] = frozenset()
    # The headline's own band key (`headline_key`), None for a short one, and how many of
    # ``size``'s shingles are the headline's: an article with no more (``headline_only``)
    # is its headline alone, as a news aggregator's entry is.
    headline: int | None = None
    title_size: int = 0
    # The LSH band keys (`monitor.stories.decision.band_keys`, default config), made where
    # the signature was (a parsing worker) so the storing transaction need not hash them.
    bands: tuple[int, ...] | None = None

    @property
    def headline_only(self) -> bool:
        return self.size <= self.title_size

    @property
    def values(self) -> list[int]:
        """The MinHash values."""
        values = array("I", self.data)
        if sys.byteorder == "big":
            values.byteswap()
        return values.tolist()

    def to_bytes(self) -> bytes:
        """The MinHash values as little-endian uint32: ``4 * num_perm`` bytes."""
        return self.data

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        size: int,
        names: frozenset[str] = frozenset(),
        lead_names: frozenset[str] = frozenset(),
    ) -> Signature:
        """The signature stored as ``to_bytes`` with its size and names."""
        return cls(bytes(data), size, frozenset(names), frozenset(lead_names))

    def names_conflict(self, other: Signature) -> bool:
        """Whether each article's headline and first lead sentence name something (a
        capitalised word, a number) the other never names, or both have a dateline and
        their places or their days differ (`DATELINE_MARKS`)."""
        mine = {n for n in self.lead_names if n[0] in DATELINE_MARKS}
        theirs = {n for n in other.lead_names if n[0] in DATELINE_MARKS}
        for mark in DATELINE_MARKS:
            ours = {n for n in mine if n[0] == mark}
            their = {n for n in theirs if n[0] == mark}
            if ours and their and not ours & their:
                return True
        # One side's dateline is no name the other lacks.
        return bool((self.lead_names - mine) - other.names) and bool(
            (other.lead_names - theirs) - self.names
        )

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        if self.size == 0 or other.size == 0:
            return 0.0
        words = len(self.data) // 4
        low, top = _word_masks(words)
        # The words in which the two differ, all at once: a 32-bit word of x is non-zero
        # when its top bit is set or, adding 0x7FFFFFFF to its low 31 bits, they carry into
        # it (no carry leaves the word). 1.5 us for 128 words; numpy took 1.1, a loop 7.
        x = int.from_bytes(self.data, "little") ^ int.from_bytes(other.data, "little")
        differ = ((((x & low) + low) | x) & top).bit_count()
        return (words - differ) / words

    def containment(self, other: Signature, jaccard: float | None = None) -> float:
        """Estimated share of the smaller set found in the larger one, from the Jaccard
        estimate and the two sizes: |A∩B| = J (|A| + |B|) / (1 + J)."""
        j = self.jaccard(other) if jaccard is None else jaccard
        smaller = min(self.size, other.size)
        if smaller == 0:
            return 0.0
        common = j * (self.size + other.size) / (1.0 + j)
        return min(1.0, common / smaller)


@lru_cache(maxsize=4)
def _word_masks(words: int) -> tuple[int, int]:
    """The low 31 bits and the top bit of each of ``words`` 32-bit words, as integers."""
    return (
        int.from_bytes(b"\xff\xff\xff\x7f" * words, "little"),
        int.from_bytes(b"\x00\x00\x00\x80" * words, "little"),
    )


def lead_text(title: str, summary: str, content: str) -> tuple[str, str]:
    """The title and the lead as plain text: the summary, else the content, from HTML (a
    summary that only repeats the title is no lead: many feeds write one)."""
    title_text, lead, _ = _lead_parts(title, summary, content)
    return title_text, lead


def _lead_parts(title: str, summary: str, content: str) -> tuple[str, str, frozenset[str]]:
    """`lead_text`, and what its dateline named (`_dateline`)."""
    plain_title = html_to_text(title)
    title_text = _without_outlet(_TITLE_MARK.sub("", plain_title))
    lead = html_to_text(summary)
    if not lead or _repeats(lead, plain_title, title_text):
        lead = html_to_text(content)
    marks, lead = _dateline(lead)
    return title_text, lead, marks


PLACE = "@"
"""Marks a word of a dateline's place among a signature's names ("@tripoli"): no name
word starts so. Copies of one story carry the dateline or not, so a place counts only
against another dateline's place."""
DAY = "^"
"""Marks the day of the month of a dateline ("^6" for "TRIPOLI, Dec. 6 (Xinhua) -- "),
counted like its place: one template on two days is two events."""
DATELINE_MARKS = (PLACE, DAY)
ENTITY = "#"
"""Marks a watched entity among a signature's names ("#libya/tripoli"): `with_entities`."""


def with_entities(sig: Signature, title: str, mentions: Iterable[tuple[str, str]]) -> Signature:
    """``sig`` with the watched entities its article names among its names, when its
    headline is written in a script without capitals (Arabic, Persian, Hebrew, ...), where
    the names guard sees numbers only: two events told from one template, one in طرابلس and
    one in مصراتة, are then told apart by the places their headlines name. ``mentions``:
    (field, entity) of the article's matches; the headline's entities join ``lead_names``,
    every field's join ``names`` (what the other article must never name to object)."""
    if not any(c.isalpha() and not c.isupper() and not c.islower() for c in title):
        return sig
    found = {(field, f"{ENTITY}{entity}") for field, entity in mentions}
    if not found:
        return sig
    return replace(
        sig,
        names=sig.names | {name for _, name in found},
        lead_names=sig.lead_names | {name for field, name in found if field == "title"},
    )


# The place of a dateline: the words before its first comma, bracket or dash.
_PLACE_END = re.compile(r"[,،(\-–—:]")


def _dateline(lead: str) -> tuple[frozenset[str], str]:
    """(what a dateline at the start of ``lead`` names: its place and day, marked
    (`DATELINE_MARKS`); the lead without the dateline and a wire's revision note). The
    dateline is not shingled (copies of one story carry it or not), but its place and day
    are names: two events written from one template may differ only there ("TRIPOLI
    (Reuters) - Gunmen attacked ..." / "MISRATA (Reuters) - ...", or "Dec 4" / "Dec 6").
    No marks when the words before the first comma or bracket are not capitalised (not a
    dateline but a phrase the pattern took: "The envoy (UNSMIL): ...")."""
    lead = _REVISION_NOTE.sub("", lead, count=1)
    found = _DATELINE.match(lead)
    if found is None:
        return frozenset(), lead
    head = found.group()
    place = _PLACE_END.split(head, maxsplit=1)[0].strip()
    words = place.split()
    if not 0 < len(words) <= 4 or any(not w[0].isalpha() or w[0].islower() for w in words):
        return frozenset(), lead[found.end() :]
    marks = {PLACE + w for w in _WORD.findall(normalize_text(place).text)}
    outside = _BRACKETED.sub(" ", head[len(place) :])  # not the outlet's "(AFP 2)"
    marks.update(DAY + day.lstrip("0") for day in _DAY_NUMBER.findall(outside)[:1])
    return frozenset(marks), lead[found.end() :]


_BRACKETED = re.compile(r"\([^()]*\)")
_DAY_NUMBER = re.compile(r"(?<![0-9])([0-3]?[0-9])(?![0-9])")


def _repeats(summary: str, title: str, title_text: str) -> bool:
    """Whether a summary is the title (as written, or ``title_text``: without marks and
    outlet) again, alone or with a few words after it (the outlet's name, as news
    aggregators write it)."""
    words = _WORD.findall(_TITLE_MARK.sub("", summary).casefold())
    for heading in (title, title_text):
        heading_words = _WORD.findall(_TITLE_MARK.sub("", heading).casefold())
        if not heading_words:  # no title: nothing to repeat
            continue
        if words[: len(heading_words)] == heading_words and len(words) - len(heading_words) <= 4:
            return True
    return False


def _without_outlet(title: str) -> str:
    """``title`` without an outlet's name after it (`_OUTLET`) when that leaves four words
    or more: copies of one story differ by it, and it is not a name of the story."""
    found = _OUTLET.search(title)
    if found is None or len(found.group().split()) > 5:  # the dash and four words
        return title
    rest = title[: found.start()]
    return rest if len(rest.split()) >= 4 else title


def story_tokens(
    title: str, summary: str, content: str, config: StoryConfig = DEFAULT_CONFIG
) -> tuple[list[str], list[str]]:
    """Normalised words of the title and of the first ``lead_words`` words of the lead."""
    return _tokens(*lead_text(title, summary, content), config)


def _tokens(title: str, lead: str, config: StoryConfig) -> tuple[list[str], list[str]]:
    title_words = _WORD.findall(normalize_text(title).text)
    lead_words = _WORD.findall(normalize_text(lead).text)[: config.lead_words]
    return title_words, lead_words


def _names(text: str) -> tuple[set[str], set[str]]:
    """(names of ``text``, those of its first sentence), case-folded: the capitalised words
    that do not open a sentence, and the numbers (two events written from one template
    differ in a place or a figure)."""
    plain = normalize_text(text, casefold=False).text
    every: set[str] = set()
    first: set[str] = set()
    for number, (start, end) in enumerate(sentence_spans(plain)):
        words = _WORD.findall(plain[start:end])
        found = {w.casefold() for w in words[1:] if w[0].isupper()}
        found |= {w for w in words if w.isdigit()}
        every |= found
        if number == 0:
            first = found
    return every, first


def _shingles(words: list[str], size: int) -> set[str]:
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class _Lanes:
    """The affine permutations of ``num_perm`` MinHash values, packed one per 64-bit lane
    of Python integers, so that one multiplication hashes a shingle for all of them."""

    num_perm: int
    a: int  # each lane: a (odd, 32 bits)
    b: int  # each lane: b (32 bits)
    low: int  # each lane: 0xFFFFFFFF
    guard: int  # each lane: bit 32

    def unpack(self, packed: int) -> list[int]:
        """The value in the low 32 bits of each lane."""
        return list(
            struct.unpack(f"<{self.num_perm}Q", packed.to_bytes(8 * self.num_perm, "little"))
        )


@lru_cache(maxsize=8)
def _lanes(num_perm: int) -> _Lanes:
    a, b = _permutations(num_perm)

    def pack(values: Sequence[int]) -> int:
        return int.from_bytes(struct.pack(f"<{num_perm}Q", *values), "little")

    return _Lanes(
        num_perm, pack(a), pack(b), pack([_MASK32] * num_perm), pack([1 << 32] * num_perm)
    )


def _permutations(num_perm: int) -> tuple[list[int], list[int]]:
    """The affine permutations (a odd, b) of datasketch 2's ``affine32`` scheme, seed 1:
    numpy's ``RandomState(1).randint(0, 2**31)`` (times 2, plus 1) and ``randint(0, 2**32)``,
    drawn here from the same Mersenne Twister stream, so that a parsing worker never imports
    numpy. tests/unit/stories/test_minhash.py checks both."""
    draws = mt19937_draws(seed=1, count=2 * num_perm)
    # randint over a power-of-two range keeps the low bits of one draw (numpy's masked
    # method); over the full 32 bits it is the draw itself.
    return [(draw & 0x7FFFFFFF) * 2 + 1 for draw in draws[:num_perm]], draws[num_perm:]


def mt19937_draws(seed: int, count: int) -> list[int]:
    """The first ``count`` 32-bit outputs of MT19937 seeded as numpy's legacy
    ``RandomState(seed)`` seeds it (``init_genrand``). Python's ``random`` is the same
    generator; only its seeding differs, so the state is set directly."""
    state = [seed & 0xFFFFFFFF]
    for index in range(1, 624):
        previous = state[-1]
        state.append((1812433253 * (previous ^ (previous >> 30)) + index) & 0xFFFFFFFF)
    generator = random.Random()
    generator.setstate((3, (*state, 624), None))  # 624: the next draw regenerates the state
    return [generator.getrandbits(32) for _ in range(count)]


def minhash_values(items: list[bytes], num_perm: int) -> list[int]:
    """The MinHash of ``items`` exactly as ``datasketch.MinHash(num_perm, seed=1,
    scheme="affine32").update_batch(items)`` computes it (SHA-1's first 4 bytes, the
    MurmurHash3 fmix32 pre-mix, ``a*h + b`` mod 2^32, the minimum per permutation).

    Written out without numpy: importing datasketch costs a process half a second (it
    imports scipy), and numpy 15 MB in each parsing worker. All permutations are computed
    at once on 64-bit lanes of one Python integer: ``a*h`` fits a lane, the low 32 bits
    plus ``b`` too; the running minimum is kept lane by lane with a guard bit (bit 32 of
    ``(x | 2^32) - y`` is set where x >= y). About 2.7 us a shingle, 3.5 times numpy's time;
    tests/unit/stories/test_minhash.py checks that the values are bit for bit datasketch's."""
    lanes = _lanes(num_perm)
    a, b, low, guard = lanes.a, lanes.b, lanes.low, lanes.guard
    sha1 = hashlib.sha1
    least = low | guard  # every lane 0xFFFFFFFF (datasketch's empty MinHash), guard bit set
    for item in items:
        h = int.from_bytes(sha1(item).digest()[:4], "little")
        h ^= h >> 16
        h = (h * 0x85EBCA6B) & _MASK32
        h ^= h >> 13
        h = (h * 0xC2B2AE35) & _MASK32
        h ^= h >> 16
        value = ((a * h) & low) + b & low
        # Bit 32 of each lane of least - value: set where least >= value (no lane borrows:
        # its guard bit is set); each such lane becomes 0xFFFFFFFF and takes the value.
        chosen = (least - value) & guard
        least ^= (least ^ value) & (chosen - (chosen >> 32))
    return lanes.unpack(least & low)


def feed_signatures(
    entries: Sequence[tuple[str, str, str]], config: StoryConfig = DEFAULT_CONFIG
) -> list[Signature]:
    """The story signatures of a feed's entries (title, summary, content).

    A lead that several entries of one feed share is either the feed's stock text ("Click
    here to read more", a channel description, a cookie notice) or the wire's lead carried
    by copies of one story (an aggregator's wire version, its ``UPDATE 1-``, other outlets'
    copies). Where the content says something else than the shared lead, the entry is
    signed by its title and the content's lead (the article behind a stock summary, or a
    copy's own text). Else the shared lead stays only where it is no stock text for that
    entry (`stock_lead`); a stock lead leaves the title alone (docs/stories.md, "Method")."""
    texts = [_lead_parts(*entry) for entry in entries]
    keys = [_lead_key(lead, config) for _, lead, _ in texts]
    counts = Counter(key for key in keys if key)
    # Two entries with one title and one lead are one item listed twice (two sections, two
    # outlets' copies on an aggregator), not a stock lead: signed by both, they are one
    # story, where a title of three words or fewer alone made two.
    pairs = Counter(
        (key, title.casefold())
        for (title, _, _), key in zip(texts, keys, strict=True)
        if key and title.strip()
    )
    twice = {key for (key, _), count in pairs.items() if count == 2 == counts[key]}
    signatures = []
    for (title, lead, marks), key, (_, _, content) in zip(texts, keys, entries, strict=True):
        if key and counts[key] >= 2 and key not in twice:
            body_marks, body = _dateline(html_to_text(content))
            body_key = _lead_key(body, config)
            if body_key and body_key != key:
                lead, marks = body, body_marks
            elif stock_lead(key, title, counts[key], len(entries)):
                lead, marks = "", frozenset()
        signatures.append(_signature(title, lead, marks, config=config))
    return signatures


def stock_lead(key: str, title: str, sharing: int, entries: int) -> bool:
    """Whether a lead (its first ``lead_words`` words, case-folded) that ``sharing`` of a
    feed's ``entries`` entries carry is stock text for the entry titled ``title``, rather
    than the lead of copies of one story: it is when it is short (under `STOCK_WORDS`
    words), when more than half of the feed (three entries or more) carries it, or when
    the title does not tell of it (`_tells`): boilerplate is about no entry's news, where
    the wire's lead is about the very event each copy's headline names."""
    if sharing < 2:
        return False
    if len(key.split()) < STOCK_WORDS or (sharing >= 3 and 2 * sharing > entries):
        return True
    return not _tells(title, key)


def _content_words(text: str) -> set[str]:
    """Words of four letters or more, cut to their first five (``migrants`` and ``migrant``
    are one), and figures: what a headline and its lead share."""
    return {w[:5] for w in _WORD.findall(normalize_text(text).text) if len(w) >= 4 or w.isdigit()}


def _tells(title: str, lead: str) -> bool:
    """Whether a headline speaks of what a lead says: two or more of its words (four
    letters or more, or figures) are in the lead, a third of them at least."""
    words = _content_words(title)
    shared = len(words & _content_words(lead))
    return shared >= 2 and 3 * shared >= len(words)


def _lead_key(lead: str, config: StoryConfig) -> str:
    return " ".join(lead.split()[: config.lead_words]).casefold()


def signature(
    title: str, summary: str, content: str, config: StoryConfig = DEFAULT_CONFIG
) -> Signature:
    """The story signature of an article from its title, summary and content (HTML)."""
    return _signature(*_lead_parts(title, summary, content), config=config)


def _signature(
    title_text: str, lead: str, marks: frozenset[str] = frozenset(), *, config: StoryConfig
) -> Signature:
    title_words, lead_words = _tokens(title_text, lead, config)
    # Title and lead shingled apart: no shingle spans the seam, so a rewritten headline
    # changes only the title's shingles.
    title_shingles = _shingles(title_words, config.shingle)
    shingles = title_shingles | _shingles(lead_words, config.shingle)
    values = minhash_values([s.encode() for s in sorted(shingles)], config.num_perm)
    data = struct.pack(f"<{config.num_perm}I", *values)
    # Figures written one way for the names guard only (the shingles stay as written).
    title_names, title_first = _names(_plain_numbers(title_text))
    lead_names, first_names = _names(_plain_numbers(" ".join(lead.split()[: config.lead_words])))
    # The headline's names count with the lead's first sentence: the who, where and how
    # many of the event; so does what the dateline names.
    first_names = first_names | title_first | marks
    lead_names |= marks
    return Signature(
        data,
        len(shingles),
        frozenset(title_names | lead_names),
        frozenset(first_names),
        headline_key(title_words),
        len(title_shingles),
    )


# A figure written with thousands separators ("1,200", "1 200", "1.200", "1\u202f200"):
# one to three digits, then groups of three.
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:[,.\u00a0\u202f\u2009 ]\d{3})+(?![\d])")
_SEPARATORS = re.compile(r"[,.\u00a0\u202f\u2009 ]")
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")  # a decimal digit of another script ("٣")


def _plain_numbers(text: str) -> str:
    """``text`` with its figures written one way: digits of any script as ASCII ("٣" is
    "3") and without thousands separators ("1,200", "1 200" are "1200"), so that copies
    of one story that write a toll differently are not two stories (the names guard
    reads figures)."""
    if not text.isascii():
        text = _OTHER_DIGIT.sub(lambda found: str(unicodedata.decimal(found.group())), text)
    if any(c in text for c in ",. \u00a0\u202f\u2009"):
        text = _GROUPED.sub(lambda found: _SEPARATORS.sub("", found.group()), text)
    return text


HEADLINE_WORDS = 6
"""A headline of this many words or more, word for word the same (after `lead_text`'s
clean-up: revision marks, the outlet's name), is a candidate's (`headline_key`), and where
one of the two is its headline alone (a news aggregator's entry) it names their story
(`monitor.stories.decision.headline_decides`). Shorter ones ("Clashes in Tripoli") are too
common."""


def headline_key(title_words: Sequence[str]) -> int | None:
    """A signed 64-bit key of a headline's normalised words (BLAKE2b, personalised apart
    from the band keys), or None under `HEADLINE_WORDS` words."""
    if len(title_words) < HEADLINE_WORDS:
        return None
    digest = hashlib.blake2b(
        " ".join(title_words).encode(), digest_size=8, person=b"headline"
    ).digest()
    return int.from_bytes(digest, "little", signed=True)
