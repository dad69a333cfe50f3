"""Entity context rules: drop a mention that is meant in another sense (Tripoli in Lebanon,
GNA as the Ghana News Agency) or keep it only with the context the analyst requires."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from monitor.match.names import is_unspaced_letter, phrase_key
from monitor.match.rules import word_distance
from monitor.match.scan import FieldScan, Hit, NameTarget
from monitor.match.watchlist import Entity, Proximity
from monitor.text import is_wrapped_line

__all__ = ["KEPT", "OTHER_BRIEFS", "EntityContext", "Verdict", "is_digest"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the context rules of an entity decided about one mention. ``rule`` names the rule
    that decided (a watchlist key such as ``exclude_if_near``; "" when none applied),
    ``phrases`` the context words it found (scan keys), ``cause`` the occurrence of one that
    was near enough (the proximity rules)."""

    kept: bool
    rule: str = ""
    phrases: tuple[str, ...] = ()
    cause: Hit | None = None


_NO_KEYS: frozenset[str] = frozenset()

# A mention that no context rule touched.
KEPT = Verdict(True)


@dataclass(frozen=True, slots=True)
class _CompiledProximity:
    keys: frozenset[str]
    within: int
    unless: frozenset[str] = _NO_KEYS  # an exclusion's unless_in_article

    @classmethod
    def of(cls, proximity: Proximity | None) -> _CompiledProximity | None:
        if proximity is None:
            return None
        return cls(
            frozenset(phrase_key(word) for word in proximity.words),
            proximity.within,
            frozenset(phrase_key(phrase) for phrase in proximity.unless_in_article),
        )

    def near(self, mention: Hit, scan: FieldScan, direction: int = 0) -> Hit | None:
        """An occurrence of one of the words at most ``within`` words from the mention;
        ``direction`` 1: only after it, -1: only before it, 0: either side."""
        # Of the occurrences that do not overlap the mention, the nearest on either side are
        # the nearest in words.
        span = scan.word_span(mention.norm_start, mention.norm_end)
        # Only the words the field has: a long list (Tripoli's exclusions name some 250) was
        # looked up for every mention (an article naming Tripoli 300 times took 0.2 s).
        found = scan.phrases_by_key
        keys = self.keys if len(self.keys) <= len(found) else self.keys & found.keys()
        for key in keys:
            for hit in scan.phrases_beside(key, mention):
                if direction > 0 and hit.norm_start < mention.norm_end:
                    continue
                if direction < 0 and hit.norm_end > mention.norm_start:
                    continue
                if word_distance(
                    span, scan.word_span(hit.norm_start, hit.norm_end)
                ) <= self.within and not _line_between(scan.plain, hit, mention):
                    return hit
        return None


_BREAKS = re.compile(r"\n+")
# Up to this many words a line is a heading, a dateline, a caption or a table cell.
SHORT_LINE = 6


def _line_between(plain: str, one: Hit, other: Hit) -> bool:
    """Whether a line break separates two occurrences that both stand in lines of running
    text: another paragraph, or another brief of a roundup, is another context ("Ghana:
    cocoa prices rose." above "Libya: the GNA said ..."). A short line (a heading, a
    dateline, a caption, a table cell: `SHORT_LINE` words or fewer) speaks for the lines
    around it ("<b>Lebanon</b>" over a brief about Tripoli)."""
    low, high = min(one.end, other.end), max(one.start, other.start)
    breaks = _BREAKS.finditer(plain, low, high)
    if all(is_wrapped_line(plain, m.start(), m.end()) for m in breaks):
        return False  # one sentence over lines ("Marova,<br>Kenya"), as excerpts read it
    return _words_on_line(plain, one) > SHORT_LINE and _words_on_line(plain, other) > SHORT_LINE


def _words_on_line(plain: str, hit: Hit) -> int:
    """The words of the line ``hit`` is on; in a script written without spaces (Chinese,
    Japanese, Thai), a word per two of its letters."""
    start = plain.rfind("\n", 0, hit.start) + 1
    end = plain.find("\n", hit.end)
    line = plain[start : end if end >= 0 else len(plain)]
    return len(line.split()) + sum(1 for char in line if is_unspaced_letter(char)) // 2


# The rule named when an exclusion's words stand only in other briefs of a digest.
OTHER_BRIEFS = "other_briefs"
# A line of a digest: it starts with a time, a year, a number or a bullet ("18:11",
# "1911 —", "3.", "•"), or with a label of a few words and a colon or a dash ("Liban :",
# "Frankfurter Allgemeine:", "The Sahel Hour:").
_BRIEF = re.compile(
    r"\s*(?:(?:\d{1,2}[:.h]\d{2}|\d{4}|\d{1,3}[.)]|[-–—•*·▪►])\s+"
    r"|[^\s:—–][^\n:—–]{0,40}?\s?[:—–]\s)"
)
# A field is a digest when it has this many lines or more, nearly all of them briefs.
DIGEST_LINES = 4
DIGEST_SHARE = 0.75
# Exclusion words in fewer than this share of a digest's lines are other briefs' context.
OTHER_BRIEFS_SHARE = 1 / 2


@functools.lru_cache(maxsize=64)  # asked for each mention of a field (Tripoli 300 times)
def is_digest(plain: str) -> bool:
    """Whether a field's text is a digest: `DIGEST_LINES` lines or more, nearly all of them
    briefs (the first may introduce them)."""
    lines = [line for line in plain.split("\n") if line.strip()]
    if len(lines) < DIGEST_LINES:
        return False
    briefs = sum(1 for line in lines[1:] if _BRIEF.match(line))
    return briefs >= DIGEST_SHARE * (len(lines) - 1)


def _in_other_briefs(
    keys: AbstractSet[str], mention: Hit, scan: FieldScan, scans: Sequence[FieldScan]
) -> bool:
    """Whether every occurrence of ``keys`` (an ``exclude_if_in_article`` list's words found
    in the article) stands in this field, a digest, on lines other than the mention's, and
    on few of them: a morning briefing or a press review of many countries, whose brief
    about Beirut says nothing of another brief's Tripoli (heldout80). Words in the title or
    the summary, on its first line (its subject: "amplifiers (LNA)" over a tender's lots) or
    on most of its lines (a Lebanese digest) still count."""
    if not keys <= scan.phrases_by_key.keys():
        return False  # in another field: the article's subject
    if any(key in other.phrases_by_key for other in scans if other is not scan for key in keys):
        return False
    if not is_digest(scan.plain):
        return False
    lines = [line for line in scan.plain.split("\n") if line.strip()]
    own = scan.plain.count("\n", 0, mention.start)
    lead = scan.plain.count("\n", 0, len(scan.plain) - len(scan.plain.lstrip()))
    others = set()
    for key in keys:
        for hit in scan.phrases_by_key[key]:
            line = scan.plain.count("\n", 0, hit.start)
            if line in (own, lead):
                return False  # the mention's own brief, or the lead that says what all are
            others.add(line)
    return len(others) < OTHER_BRIEFS_SHARE * len(lines)


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
    conditional_names_in_article: frozenset[str] = frozenset()
    ambiguous_in_article: frozenset[str] = frozenset()
    ambiguous_unless: frozenset[str] = frozenset()
    namesake_names: frozenset[str] = frozenset()
    namesake_unless: frozenset[str] = frozenset()
    one_case_in_article: frozenset[str] = frozenset()
    exclude_if_followed_by: _CompiledProximity | None = None
    exclude_if_preceded_by: _CompiledProximity | None = None

    @classmethod
    def of(cls, entity: Entity) -> EntityContext:
        def keys(phrases: tuple[str, ...]) -> frozenset[str]:
            if not phrases:
                return _NO_KEYS
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
            conditional_names_in_article=keys(
                entity.conditional_names.if_in_article if entity.conditional_names else ()
            ),
            ambiguous_in_article=keys(
                entity.ambiguous_names.exclude_if_in_article if entity.ambiguous_names else ()
            ),
            ambiguous_unless=keys(
                entity.ambiguous_names.unless_in_article if entity.ambiguous_names else ()
            ),
            namesake_names=keys(entity.namesakes.full_names if entity.namesakes else ()),
            namesake_unless=keys(entity.namesakes.unless_in_article if entity.namesakes else ()),
            one_case_in_article=keys(entity.one_case_acronyms),
            exclude_if_followed_by=_CompiledProximity.of(entity.exclude_if_followed_by),
            exclude_if_preceded_by=_CompiledProximity.of(entity.exclude_if_preceded_by),
        )

    def verdict(
        self,
        mention: Hit,
        scan: FieldScan,
        article_phrases: AbstractSet[str],
        scans: Sequence[FieldScan],
    ) -> Verdict:
        """Whether a mention survives, and which rule decided; ``article_phrases`` are the
        phrase keys found anywhere in the article, ``scans`` every field of it.
        ``keep_if_near`` wins over every exclusion ("Tripoli, Libya")."""
        target = mention.target
        if isinstance(target, NameTarget):
            if target.conditional and not self.conditional_in_article & article_phrases:
                return Verdict(False, "conditional_acronyms")
            if target.conditional_name and not self.conditional_names_in_article & article_phrases:
                return Verdict(False, "conditional_names")
            if target.uncased and not self.one_case_in_article & article_phrases:
                return Verdict(False, "one_case_acronyms")
            if target.ambiguous:
                found = self.ambiguous_in_article & article_phrases
                if found and not self.ambiguous_unless & article_phrases:
                    return Verdict(False, "ambiguous_names", tuple(sorted(found)))
            if target.bare_surname:
                found = self.namesake_names & article_phrases
                if found and not self.namesake_unless & article_phrases:
                    return Verdict(False, "namesakes", tuple(sorted(found)))
        if self.keep_if_near is not None:
            near = self.keep_if_near.near(mention, scan)
            if near is not None:
                return Verdict(True, "keep_if_near", cause=near)
        for key in self.exclude_phrases:
            if scan.phrases_overlapping(key, mention):
                return Verdict(False, "exclude_phrases", (key,))
        article_lifted: Verdict | None = None  # exclude_if_in_article, lifted by the article
        excluding = self.exclude_if_in_article & article_phrases
        if excluding:
            unless = self.unless_in_article & article_phrases
            if not unless:
                if _in_other_briefs(excluding, mention, scan, scans):
                    # Kept: `explain` says the words are another brief's.
                    article_lifted = Verdict(True, OTHER_BRIEFS, tuple(sorted(excluding)))
                else:
                    return Verdict(False, "exclude_if_in_article", tuple(sorted(excluding)))
            elif _in_other_briefs(unless, mention, scan, scans) and not _in_other_briefs(
                excluding, mention, scan, scans
            ):
                # The words that would lift it are another brief's ("Libya" in a digest's
                # brief beside "this week's haftarot": heldout80). `explain` says so.
                return Verdict(False, "exclude_if_in_article", tuple(sorted(excluding | unless)))
            else:
                # Kept: `explain` says which words would have dropped it and which lifted that.
                article_lifted = Verdict(
                    True, "unless_in_article", tuple(sorted(excluding | unless))
                )
        if self.require_in_article and not self.require_in_article & article_phrases:
            return Verdict(False, "require_in_article")
        lifted: Verdict | None = None  # an exclusion the article's unless_in_article lifted
        for rule, proximity, direction in (
            ("exclude_if_near", self.exclude_if_near, 0),
            ("exclude_if_followed_by", self.exclude_if_followed_by, 1),
            ("exclude_if_preceded_by", self.exclude_if_preceded_by, -1),
        ):
            if proximity is None:
                continue
            near = proximity.near(mention, scan, direction)
            if near is None:
                continue
            found = proximity.unless & article_phrases
            if not found:
                return Verdict(False, rule, cause=near)
            lifted = lifted or Verdict(True, "unless_in_article", tuple(sorted(found)), near)
        if self.require_near is not None and self.require_near.near(mention, scan) is None:
            return Verdict(False, "require_near")
        return lifted or article_lifted or KEPT
