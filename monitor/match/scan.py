"""One Aho-Corasick automaton for every name, acronym and phrase of every watchlist, and the
scan of one field: normalise, find keys in C, keep whole words (Arabic and Hebrew prefixes,
Korean particles allowed; no word boundary in scripts written without spaces),
map offsets back to the field's plain text."""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from itertools import islice
from typing import TypeGuard

import ahocorasick

from monitor.match.limits import MAX_FIELD_CHARS, MAX_FIELD_HITS, MAX_FIELD_HTML_CHARS
from monitor.match.names import (
    ARABIC_ARTICLE,
    ARABIC_PREFIXES,
    ARABIC_PREFIXES_BEFORE_ARTICLE,
    HEBREW_ARTICLE,
    HEBREW_PREFIX_LETTERS,
    HEBREW_PREFIXES_BEFORE_ARTICLE,
    LONGEST_ARABIC_PREFIX,
    LONGEST_HEBREW_PREFIX,
    LONGEST_SYRIAC_PREFIX,
    SYRIAC_PREFIX_LETTERS,
    acronym_form,
    is_arabic_letter,
    is_hebrew_letter,
    is_syriac_letter,
    is_unspaced_letter,
    line_break_variants,
    may_follow_name,
    name_variants,
    phrase_key,
    tag_form,
)
from monitor.match.rules import WORD_START, WordSpan, rule_phrases
from monitor.match.watchlist import Watchlist
from monitor.text import (
    NormalizedText,
    decode_leftover_entities,
    html_to_text,
    is_word_char,
    normalize_text,
)

__all__ = ["FieldScan", "Hit", "NameTarget", "PatternIndex", "PhraseTarget", "Rejection"]

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class NameTarget:
    """A key that is a name or acronym of an entity.

    ``case_form`` is set for acronyms: the surface must equal it with case kept.
    ``article_contracted``: the key is an ال-name without its article, valid only after لل
    (or a ה-name without its article, valid only after ב ל כ).
    ``conditional``: a conditional acronym, kept only with its entity's article words;
    ``conditional_name``: a conditional name, likewise.
    ``ambiguous``: one of the entity's ``ambiguous_names`` (dropped with its article words).
    ``bare_surname``: a name that is one of the entity's ``namesakes.surnames`` alone
    (another person's in an article that names a namesake).
    ``negative``: a ``not_names`` entry: it takes part in overlaps (consumes its span) and
    is never a mention.
    ``proper``: a name of a ``proper_noun`` entity: not a mention when written with a
    lower-case initial in a field that has upper-case letters.
    ``one_case``: an acronym that, in a field written in one case, counts whatever its case
    (``one_case_acronyms``); ``uncased`` marks such a hit (kept only with the entity's words).
    ``cased``: a ``not_names`` entry (a namesake's full name among them) declared with a
    capital initial: it consumes its span only where written so, or in a field without
    capitals (the verb in '"...," said Haftar' is not the given name of "Said Haftar").
    ``in_tag``: a name of several words written as one, as hashtags and handles write it
    ("#PortSudan", "@LibyanNationalArmy"): found only inside a hashtag or handle.
    """

    watchlist: int
    entity: str
    case_form: str | None = None
    article_contracted: bool = False
    conditional: bool = False
    conditional_name: bool = False
    ambiguous: bool = False
    bare_surname: bool = False
    negative: bool = False
    proper: bool = False
    cased: bool = False
    one_case: bool = False
    uncased: bool = False
    in_tag: bool = False


@dataclass(frozen=True, slots=True)
class PhraseTarget:
    """A key that is a context word/phrase or a quoted word of a rule (``key`` identifies it).
    ``cased``: a namesake's full name declared with a capital initial, found only where
    written so or in a field without capitals (as `NameTarget.cased`). ``word_start``: a
    rule's quoted word ending in ``*`` ("удар*"): found at the start of a longer word too,
    the hit spanning the whole word ("ударом")."""

    key: str
    article_contracted: bool = False
    cased: bool = False
    word_start: bool = False


Target = NameTarget | PhraseTarget
_Adder = Callable[[str, Target], None]


@dataclass(frozen=True, slots=True)
class Hit:
    """A whole-word occurrence: ``norm_*`` index the normalised text, ``start``/``end`` the
    plain text."""

    target: Target
    norm_start: int
    norm_end: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """A name the automaton found that is no mention (recorded only when asked): ``reason``
    is ``inside_word`` (part of a longer word), ``arabic_prefix`` (joined to letters that are
    no Arabic prefix), ``acronym_case`` (an acronym written in another case), ``arabizi``
    (an acronym not in capitals in a field of Arabizi, where its letters are a word),
    ``lower_case`` (a proper noun written in lower case in a field that has capitals) or
    ``in_link`` (inside a web or e-mail address written in the text)."""

    target: NameTarget
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class FieldScan:
    """One field after scanning: its plain and normalised text and every hit in it;
    ``truncated`` when only the start of the field was matched (``monitor.match.limits``)."""

    field: str
    plain: str
    normalized: NormalizedText
    names: tuple[Hit, ...]
    phrases: tuple[Hit, ...]
    phrases_by_key: Mapping[str, tuple[Hit, ...]]
    truncated: bool = False
    rejected: tuple[Rejection, ...] = ()

    @cached_property
    def _words(self) -> _WordStarts:
        return _WordStarts(self.normalized.text)

    def word_span(self, norm_start: int, norm_end: int) -> WordSpan:
        """First and last word index covered by a normalised span."""
        first = max(0, self._words.count_until(norm_start) - 1)
        last = max(first, self._words.count_until(max(norm_start, norm_end - 1)) - 1)
        return first, last

    @cached_property
    def _phrase_order(self) -> dict[str, _PhraseOrder]:
        return {}

    def phrases_overlapping(self, key: str, hit: Hit) -> bool:
        """Whether an occurrence of the phrase ``key`` overlaps ``hit``."""
        hits = self.phrases_by_key.get(key, ())
        if len(hits) <= _FEW_HITS:
            return any(_overlaps(other, hit) for other in hits)
        return self._phrases(key).overlapping(hit)

    def phrases_beside(self, key: str, hit: Hit) -> Sequence[Hit]:
        """Occurrences of the phrase ``key`` that do not overlap ``hit``: all of them when
        there are few, else the last one that ends before it and the first that starts after."""
        hits = self.phrases_by_key.get(key, ())
        if len(hits) <= _FEW_HITS:
            return [other for other in hits if not _overlaps(other, hit)]
        return self._phrases(key).beside(hit)

    def _phrases(self, key: str) -> _PhraseOrder:
        if key not in self._phrase_order:
            self._phrase_order[key] = _PhraseOrder(self.phrases_by_key[key])
        return self._phrase_order[key]


# Up to this many occurrences of a phrase in a field, looking at each is quicker than sorting.
_FEW_HITS = 16


def _overlaps(first: Hit, second: Hit) -> bool:
    return first.norm_start < second.norm_end and second.norm_start < first.norm_end


class _PhraseOrder:
    """The occurrences of one phrase sorted by end and by start, so that the ones near a
    mention are found by bisection (a field can hold thousands of both)."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.by_end = sorted(hits, key=lambda h: h.norm_end)
        self.ends = [h.norm_end for h in self.by_end]
        self.by_start = sorted(hits, key=lambda h: h.norm_start)
        self.starts = [h.norm_start for h in self.by_start]
        self.longest = max((h.norm_end - h.norm_start for h in hits), default=0)

    def overlapping(self, hit: Hit) -> bool:
        # Those that end after the hit starts and, being at most `longest` long, may start
        # before it ends.
        index = bisect_right(self.ends, hit.norm_start)
        while index < len(self.ends) and self.ends[index] - self.longest < hit.norm_end:
            if self.by_end[index].norm_start < hit.norm_end:
                return True
            index += 1
        return False

    def beside(self, hit: Hit) -> list[Hit]:
        found: list[Hit] = []
        before = bisect_right(self.ends, hit.norm_start) - 1
        if before >= 0:
            found.append(self.by_end[before])
        after = bisect_left(self.starts, hit.norm_end)
        if after < len(self.starts):
            found.append(self.by_start[after])
        return found


class _WordStarts:
    """Where the words of a text start, found only as far as asked.

    Only boolean and proximity rules ask for word positions, and only about a few hits;
    finding words is a Unicode regex over the text, the costly part, so the text is read up
    to the last position asked about and no further.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] = []
        self._read_until = 0  # every word that starts before this is in _starts

    def count_until(self, position: int) -> int:
        """How many words start at or before ``position``."""
        if position >= self._read_until:
            # The last word found may have been cut at the old limit: read it again.
            resume = self._starts.pop() if self._starts else self._read_until
            self._read_until = position + 1
            words = _WORD.finditer(self._text, resume, self._read_until)
            self._starts.extend(map(re.Match.start, words))
        return bisect_right(self._starts, position)


class PatternIndex:
    """Compiles all keys of all watchlists into one automaton and scans fields with it."""

    def __init__(self, watchlists: Sequence[Watchlist]) -> None:
        # Each key's targets in the order added, without repeats (a short list each: a dict
        # per key left 3 MB of freed memory behind the build in each parsing worker).
        targets: dict[str, list[Target]] = {}
        # Equal targets are one object (a namesake's thousands of full names share a few).
        interned: dict[Target, Target] = {}

        def add(key: str, target: Target) -> None:
            found = targets.setdefault(key, [])
            target = interned.setdefault(target, target)
            if target not in found:
                found.append(target)

        for index, watchlist in enumerate(watchlists):
            abbreviations = {
                phrase_key(word): tuple(phrase_key(v) for v in variants)
                for word, variants in watchlist.abbreviations
            }
            optional = frozenset(phrase_key(word) for word in watchlist.optional_words)
            expand = bool(abbreviations or optional)

            def add_name(key: str, target: NameTarget) -> None:
                add(key, target)
                if (contracted := _contracted(key)) is not None:
                    add(contracted, replace(target, article_contracted=True))

            for entity in watchlist.entities:
                proper = entity.proper_noun
                plain_target = NameTarget(index, entity.id, proper=proper)
                surname_target = replace(plain_target, bare_surname=True)
                surnames = (
                    {phrase_key(surname) for surname in entity.namesakes.surnames}
                    if entity.namesakes is not None and entity.namesakes.unless_in_article
                    else set()
                )
                for name in entity.names:
                    key = phrase_key(name)
                    name_target = surname_target if key in surnames else plain_target
                    add(key, name_target)
                    for broken in line_break_variants(key):
                        add(broken, name_target)
                    if (tag := tag_form(key)) is not None:
                        add(tag, replace(name_target, in_tag=True))
                    if (contracted := _contracted(key)) is not None:
                        add(contracted, replace(name_target, article_contracted=True))
                    if expand:
                        for variant in name_variants(key, abbreviations, optional):
                            add_name(variant, name_target)
                if entity.conditional_names is not None:
                    for name in entity.conditional_names.names:
                        target = NameTarget(index, entity.id, proper=proper, conditional_name=True)
                        add_name(phrase_key(name), target)
                if entity.ambiguous_names is not None:
                    for name in entity.ambiguous_names.names:
                        target = NameTarget(index, entity.id, proper=proper, ambiguous=True)
                        add_name(phrase_key(name), target)
                        for variant in name_variants(phrase_key(name), abbreviations, optional):
                            add_name(variant, target)
                if (forms := entity.derived_forms) is not None:
                    # A namesake's surname with a case ending ("Daniel Hafter ... Hafterniñ")
                    # is a bare surname too, for the namesakes rule.
                    of_surnames = tuple(
                        stem for stem in forms.stems if phrase_key(stem) in surnames
                    )
                    surname_words = set(forms.words(of_surnames)) if of_surnames else set()
                    derived_target = NameTarget(index, entity.id)
                    for word in forms.words():
                        add_name(
                            phrase_key(word),
                            replace(derived_target, bare_surname=True)
                            if word in surname_words
                            else derived_target,
                        )
                full_names = set(entity.namesakes.full_names if entity.namesakes else ())
                for name in entity.not_names:
                    key = phrase_key(name)
                    negative = NameTarget(index, entity.id, negative=True, cased=_capital(name))
                    add_name(key, negative)
                    for broken in line_break_variants(key):
                        add(broken, negative)
                    if name in full_names:
                        continue  # no hashtag of a namesake: thousands of keys, none of use
                    if (tag := tag_form(key)) is not None:
                        add(tag, replace(negative, in_tag=True))
                one_case = bool(entity.one_case_acronyms)
                for acronym in entity.acronyms:
                    target = NameTarget(index, entity.id, acronym_form(acronym), one_case=one_case)
                    add(phrase_key(acronym), target)
                if entity.conditional_acronyms is not None:
                    for acronym in entity.conditional_acronyms.acronyms:
                        target = NameTarget(
                            index,
                            entity.id,
                            acronym_form(acronym),
                            conditional=True,
                            one_case=one_case,
                        )
                        add(phrase_key(acronym), target)
                for phrase in entity.context_phrases():
                    cased = phrase in full_names and _capital(phrase)
                    self._add_phrase(phrase_key(phrase), add, cased=cased)
            for rule in watchlist.rules:
                for phrase in rule_phrases(rule.tree):
                    if phrase.endswith(WORD_START):
                        stem = phrase_key(phrase[: -len(WORD_START)])
                        add(stem, PhraseTarget(stem + WORD_START, word_start=True))
                    else:
                        self._add_phrase(phrase_key(phrase), add)
        # Each key's length and targets, by the automaton's value for it: the key itself is
        # the text at a hit (`scan`), so it is not kept twice (20,000 keys of the Libya
        # watchlist, about 1 MB in each process), the values are plain C integers, the
        # lengths a C array, and equal tuples of targets one object (13,500 keys, 7,800
        # tuples: about 2 MB less in each parsing worker, with the interned targets).
        self._lengths = array("I")
        self._targets: list[tuple[Target, ...]] = []
        shared: dict[tuple[Target, ...], tuple[Target, ...]] = {}
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for value, (key, found) in enumerate(targets.items()):
            these = tuple(found)
            self._lengths.append(len(key))
            self._targets.append(shared.setdefault(these, these))
            self._automaton.add_word(key, value)
        if self._targets:
            self._automaton.make_automaton()

    @staticmethod
    def _add_phrase(key: str, add: _Adder, *, cased: bool = False) -> None:
        add(key, PhraseTarget(key, cased=cased))
        if (contracted := _contracted(key)) is not None:
            add(contracted, PhraseTarget(key, article_contracted=True, cased=cased))

    def scan(self, field_name: str, fragment: str, *, record_rejected: bool = False) -> FieldScan:
        """Scan one HTML field (only its start if it is longer than the limits);
        ``record_rejected`` keeps the names found that are no mentions (``FieldScan.rejected``)."""
        truncated = len(fragment) > MAX_FIELD_HTML_CHARS
        if truncated:
            fragment = _cut_html(fragment, MAX_FIELD_HTML_CHARS)
        plain = decode_leftover_entities(html_to_text(fragment))
        if len(plain) > MAX_FIELD_CHARS:
            truncated = True
            plain = _cut_text(plain, MAX_FIELD_CHARS)
        normalized = normalize_text(plain)
        if "-\n" in plain:
            normalized = _hyphen_breaks_as_spaces(plain, normalized)
        if "\n" in plain:
            normalized = _wrapped_lines_as_spaces(plain, normalized)
        text = normalized.text
        names: list[Hit] = []
        phrases: list[Hit] = []
        rejected: list[Rejection] | None = [] if record_rejected else None
        if self._targets and text:
            found = self._automaton.iter(text)
            for last, value in islice(found, MAX_FIELD_HITS):
                targets = self._targets[value]
                begin = last + 1 - self._lengths[value]
                self._accept(
                    plain,
                    normalized,
                    text[begin : last + 1],
                    begin,
                    last + 1,
                    targets,
                    names,
                    phrases,
                    rejected,
                )
            if next(found, None) is not None:
                truncated = True  # each occurrence costs Python work: the rest is not read
        if (names or phrases) and _MAY_HOLD_LINKS.search(plain):
            links = [found.span() for found in _LINK.finditer(plain)]
            if links:
                names = _outside(links, names, rejected, "in_link")
                phrases = _outside(links, phrases, None, "in_link")
        by_key: dict[str, list[Hit]] = {}
        for hit in phrases:
            if isinstance(hit.target, PhraseTarget):
                by_key.setdefault(hit.target.key, []).append(hit)
        return FieldScan(
            field_name,
            plain,
            normalized,
            tuple(names),
            tuple(phrases),
            {key: tuple(hits) for key, hits in by_key.items()},
            truncated,
            tuple(rejected or ()),
        )

    @staticmethod
    def _accept(
        plain: str,
        normalized: NormalizedText,
        key: str,
        begin: int,
        stop: int,
        targets: Iterable[Target],
        names: list[Hit],
        phrases: list[Hit],
        rejected: list[Rejection] | None,
    ) -> None:
        text = normalized.text
        if stop < len(text) and _joined(key[-1], text[stop]) and not may_follow_name(text[stop]):
            if not _tag_word_ends(plain, normalized.source_span(begin, stop)[1]):
                starts = [t for t in targets if isinstance(t, PhraseTarget) and t.word_start]
                if not starts:
                    if rejected is not None:  # the key ends inside a longer word
                        _reject(rejected, normalized, begin, stop, targets, "inside_word")
                    return
                # A rule's "word*": the hit is the whole word it starts.
                targets = starts
                while stop < len(text) and _joined(text[stop - 1], text[stop]):
                    stop += 1
        prefix: str | None = None
        if begin > 0 and _joined(text[begin - 1], key[0]):
            if _tag_word_ends(plain, normalized.source_span(begin, stop)[0]):
                prefix = ""  # a word of a hashtag or handle starts here: no prefix
            else:
                prefix = _attached_prefix(text, begin, key[0])
                if prefix is None:
                    prefix = _cased_prefix(plain, normalized.source_span(begin, stop)[0])
            if prefix is None:
                if rejected is not None:  # the key starts inside a longer word
                    _reject(rejected, normalized, begin, stop, targets, "inside_word")
                return
        start, end = normalized.source_span(begin, stop)
        for target in targets:
            if isinstance(target, NameTarget) and target.in_tag and not _in_tag(plain, start):
                continue  # "portsudan" outside a hashtag or handle is no name
            if target.article_contracted:
                if prefix not in (
                    ARABIC_PREFIXES_BEFORE_ARTICLE
                    if is_arabic_letter(key[0])
                    else HEBREW_PREFIXES_BEFORE_ARTICLE
                ):
                    continue  # the article-less key of a name that needs لل (or ל, ב) before it
            elif prefix is not None and is_arabic_letter(key[0]) and prefix not in ARABIC_PREFIXES:
                if rejected is not None and isinstance(target, NameTarget) and not target.negative:
                    rejected.append(Rejection(target, start, end, "arabic_prefix"))
                continue
            if target.cased and _lower_initial(plain[start]) and not _all_lower(plain):
                continue  # "said Haftar" is no "Said Haftar"
            if isinstance(target, PhraseTarget):
                phrases.append(Hit(target, begin, stop, start, end))
                continue
            if target.case_form is not None and not plain[start:end].isupper() and _arabizi(plain):
                # "Lna l7e9", "5edma lna": Arabic's لنا (to us) written in Latin letters
                if rejected is not None:
                    rejected.append(Rejection(target, start, end, "arabizi"))
                continue
            if target.case_form is not None and acronym_form(plain[start:end]) != target.case_form:
                if target.one_case and _one_case(plain):
                    # No case in the field to tell an acronym from a word: context decides.
                    uncased = replace(target, case_form=None, uncased=True)
                    names.append(Hit(uncased, begin, stop, start, end))
                elif rejected is not None:
                    rejected.append(Rejection(target, start, end, "acronym_case"))
                continue
            if (
                target.proper
                and _lower_initial(plain[start])
                and plain[start:end].lower() == plain[start:end]  # "eTripoli" is cased (Zulu)
                and not _all_lower(plain)
            ):
                if rejected is not None:
                    rejected.append(Rejection(target, start, end, "lower_case"))
                continue
            names.append(Hit(target, begin, stop, start, end))


# A web address or an e-mail address written out in the text: "Read more: https://...",
# "www.example.org/tags/haftar", "haftar@example.net", "example.org/tags/haftar", or a path
# of two parts or more ("/uploads/2020/06/haftar-visit.jpg"). A name in one is no mention,
# as in a link's href.
_MAY_HOLD_LINKS = re.compile(r"://|www\.|@|\w\.\w+/|/[\w.%-]+/", re.IGNORECASE)
_LINK = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"'«»]+"  # a URL or www.
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an e-mail address
    r"|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/[^\s<>\"'«»]*"  # host.tld/path
    r"|(?<![\w/])/(?:[\w.%-]+/)+[\w.%-]+",  # a path: "[Image: /uploads/2020/haftar.jpg]"
    re.IGNORECASE,
)


def _outside(
    links: Sequence[tuple[int, int]],
    hits: list[Hit],
    rejected: list[Rejection] | None,
    reason: str,
) -> list[Hit]:
    """The hits not inside one of ``links`` (spans of the plain text); the others are
    recorded as rejected when ``rejected`` is given."""
    kept: list[Hit] = []
    for hit in hits:
        inside = any(start <= hit.start and hit.end <= end for start, end in links)
        if not inside:
            kept.append(hit)
        elif rejected is not None and _reported(hit.target):
            rejected.append(Rejection(hit.target, hit.start, hit.end, reason))
    return kept


def _reported(target: Target) -> TypeGuard[NameTarget]:
    """Whether a rejected find of ``target`` is worth showing: a name the user wrote (not a
    not_names entry, not the article-less form of an Arabic or Hebrew name)."""
    return isinstance(target, NameTarget) and not (target.article_contracted or target.negative)


def _capital(name: str) -> bool:
    """Whether ``name`` is declared with a capital initial (a cased script's upper case)."""
    return name[:1].isupper()


def _lower_initial(char: str) -> bool:
    """A name's first letter is lower case, in a script that writes names with a capital:
    not Georgian, whose Mkhedruli letters are lower case for Unicode since its Mtavruli
    capitals came (2018) but which running text writes without capitals (heldout60: every
    "ტრიპოლი" was dropped as a common word beside a "GNA")."""
    return char.islower() and not "\u10d0" <= char <= "\u10ff"


@lru_cache(maxsize=8)
def _all_lower(plain: str) -> bool:
    """No upper-case letter in the field (and some lower-case one): a lower-case headline.
    Asked about a proper noun or a cased not_names entry written in lower case: once per
    field (cached; a field of many "said Haftar" would read the field once per hit)."""
    return plain == plain.lower() != plain.upper()


# A word of Arabic written in Latin letters and digits ("Arabizi", "Franco"): a digit for a
# sound Latin has no letter for (2 hamza, 3 ayn, 5 kha, 6 ta, 7 ha, 9 qaf) inside a word
# of lower-case letters: "l7e9", "n3erfo", "5edma", "s7ab", "ysa2lou". Not an ordinal, a
# time or a unit ("3rd", "5pm", "2km"), a short code ("b2b", "p2p", "g7") or a model
# ("a320neo").
_ARABIZI_WORD = re.compile(
    r"(?<!\w)(?=[a-z]*[235679])(?![a-z0-9]*[0-9]{2})(?![0-9]+(?:st|nd|rd|th|am|pm|[kmcg]m|[km]g|ml|kw|mw|gb|mb|"
    r"tb|hz|px|bn|mn|yo|s)(?!\w))(?=(?:[0-9]*[a-z]){3})[a-z0-9]*[a-z][a-z0-9]*(?!\w)"
)


@lru_cache(maxsize=8)
def _arabizi(plain: str) -> bool:
    """The field holds a word of Arabic written in Latin letters and digits. Asked about an
    acronym found in another case than its upper case: once per field (cached)."""
    return _ARABIZI_WORD.search(plain) is not None


@lru_cache(maxsize=8)
def _one_case(plain: str) -> bool:
    """The field is written in one case (all lower or all upper). Asked about an acronym
    found in another case: once per field (cached)."""
    lower, upper = plain.lower(), plain.upper()
    return lower != upper and plain in (lower, upper)


def _reject(
    rejected: list[Rejection],
    normalized: NormalizedText,
    begin: int,
    stop: int,
    targets: Iterable[Target],
    reason: str,
) -> None:
    start, end = normalized.source_span(begin, stop)
    for target in targets:
        if _reported(target):
            rejected.append(Rejection(target, start, end, reason))


def _cut_html(fragment: str, limit: int) -> str:
    """The first ``limit`` characters of HTML, cut before a tag if one starts near the end."""
    tag = fragment.rfind("<", limit - 1000, limit)
    return fragment[: tag if tag > 0 else limit]


def _cut_text(text: str, limit: int) -> str:
    """The first ``limit`` characters, cut before a word if one is cut nearby (so that the
    start of a longer word does not match as a name)."""
    for cut in range(limit, limit - 100, -1):
        if not (is_word_char(text[cut - 1]) and is_word_char(text[cut])):
            return text[:cut]
    return text[:limit]


def _contracted(key: str) -> str | None:
    """The key without its article, when a prefix swallows it: ل + ال is written لل
    (للجيش), Hebrew ב ל כ + ה is written without the ה (לצבא). None: no such article."""
    if key.startswith(ARABIC_ARTICLE) and len(key) > 3 and is_arabic_letter(key[2]):
        return key[2:]
    if key.startswith(HEBREW_ARTICLE) and len(key) > 2 and is_hebrew_letter(key[1]):
        return key[1:]
    return None


# A hashtag or handle, and how long one may be (#TripoliUnderFire, @GNAMedia).
_TAG_START = "#@"
_TAG_LENGTH = 60


def _tag_word_ends(plain: str, at: int) -> bool:
    """Whether a word of a hashtag or handle written in capitals ends before ``at`` of
    ``plain`` and another starts there: "#Tripoli|UnderFire", "#Free|Tripoli",
    "@GNA|Media", "#LNA|2025". A tag in one case ("#haftarout") has no words to tell."""
    if not 0 < at < len(plain):
        return False
    before, after = plain[at - 1], plain[at]
    camel = (before.islower() or before.isdigit()) and after.isupper()
    acronym_then_word = (
        before.isupper() and after.isupper() and at + 1 < len(plain) and plain[at + 1].islower()
    )
    digits = before.isalpha() != after.isalpha() and (before.isdigit() or after.isdigit())
    if not (camel or acronym_then_word or digits):
        return False
    return _in_tag(plain, at)


def _hyphen_breaks_as_spaces(plain: str, normalized: NormalizedText) -> NormalizedText:
    """A line break after a hyphen ("Haf-<br>tar", a word hyphenated across a line) as a
    space in the matching copy, so that the word's line-break keys find it. Other line
    breaks stay: list items, paragraphs and cells are not to make one name of their words
    ("the port" / "Sudan talks")."""
    text = list(normalized.text)
    for found in _HYPHEN_BREAK.finditer(plain):
        index = bisect_left(normalized.starts, found.end() - 1)  # the break's place in text
        if index < len(text) and text[index] == "\n":
            text[index] = " "
    return replace(normalized, text="".join(text))


_HYPHEN_BREAK = re.compile(r"-\n")


def _wrapped_lines_as_spaces(plain: str, normalized: NormalizedText) -> NormalizedText:
    """A line break inside a sentence of running text ("the Government of National<br>
    Accord", a transcript wrapped by hand) as a space in the matching copy, so that a name
    of several words is found across it: a break between two letters after a line of
    `_RUNNING_WORDS` words or more. List items, headings and cells are short lines and keep
    their breaks ("the port" / "Sudan talks" is no name); the rules still read the lines
    as written (a blind set of parliamentary records, heldout51)."""
    text: list[str] | None = None
    for found in _WRAPPED_BREAK.finditer(plain):
        at = found.start()
        line = plain[plain.rfind("\n", 0, at) + 1 : at]
        if len(line.split()) < _RUNNING_WORDS:
            continue
        index = bisect_left(normalized.starts, at)  # the break's place in text
        if text is None:
            text = list(normalized.text)
        if index < len(text) and text[index] == "\n":
            text[index] = " "
    return normalized if text is None else replace(normalized, text="".join(text))


_WRAPPED_BREAK = re.compile(r"(?<=[^\W\d_])\n(?=[^\W\d_])")
_RUNNING_WORDS = 7


def _in_tag(plain: str, at: int) -> bool:
    """Whether ``at`` of ``plain`` is inside a hashtag or handle ("#Port|Sudan", "#|PortSudan",
    "#Port_|SudanNow"): after a ``#`` or ``@`` that starts a word ("item#PortSudan" and
    "me@PortSudan" are no tags)."""
    start = at - 1
    while start >= 0 and at - start <= _TAG_LENGTH and _tag_char(plain[start]):
        start -= 1
    return (
        start >= 0
        and plain[start] in _TAG_START
        and (start == 0 or not is_word_char(plain[start - 1]))
    )


def _tag_char(char: str) -> bool:
    """A character a hashtag or handle is made of: letters, digits, marks and "_"."""
    return char == "_" or is_word_char(char)


def _joined(before: str, after: str) -> bool:
    """Whether two neighbouring characters are inside one word. Letters of scripts written
    without spaces (Chinese, Japanese, Thai) never are: a name written in them is found in
    a run of them, and a Latin acronym next to them ("支持GNA的") stands alone; nor are an
    Arabic or Hebrew letter and a Latin one."""
    return (
        is_word_char(before)
        and is_word_char(after)
        and not (is_unspaced_letter(before) or is_unspaced_letter(after))
        and not (_right_to_left(before) and after.isascii())
        and not (before.isascii() and _right_to_left(after))
    )


def _right_to_left(char: str) -> bool:
    """An Arabic or Hebrew letter: a Latin acronym joined to one ("الـLNA", the article and
    a tatweel before it) is a word of its own."""
    return is_arabic_letter(char) or is_hebrew_letter(char)


def _attached_prefix(text: str, begin: int, first: str) -> str | None:
    """The letters joined before a key that starts with ``first`` at ``begin``, when its
    language joins short words to names that way (Arabic: checked per name, against
    `ARABIC_PREFIXES`; Hebrew: ו ה ב כ ל מ ש; Syriac: ܘ ܕ ܒ ܠ); None: the key is inside a
    longer word."""
    if is_arabic_letter(first):
        return _letters_before(text, begin, LONGEST_ARABIC_PREFIX)
    if is_hebrew_letter(first):
        letters = _letters_before(text, begin, LONGEST_HEBREW_PREFIX)
        return letters if letters and set(letters) <= HEBREW_PREFIX_LETTERS else None
    if is_syriac_letter(first):
        letters = _letters_before(text, begin, LONGEST_SYRIAC_PREFIX)
        return letters if letters and set(letters) <= SYRIAC_PREFIX_LETTERS else None
    return None


# Prefixes written joined to a capitalised name, which the capital shows to start: the
# locative, possessive, noun-class and conjunction prefixes of the Bantu languages (Zulu
# and Xhosa "eTripoli", "saseTripoli", "kaHaftar", "uHaftar", "noKhaled"; Shona
# "kuTripoli", "muTripoli", "aHaftar", "eLNA", "yeGNA": heldout61, heldout65), and Irish
# eclipsis, each before the capitals it eclipses ("i dTripilí": heldout64).
BANTU_PREFIXES = frozenset(
    "a e i o u ba be bo cha dza ese ase sase nase kuse ka ki ku kwa kwi la le li lo lwa ma "
    "mu na ne ni no nga nge ngi ngo ngu pa re sa se si va wa we ya ye yi za ze zi".split()
)
IRISH_ECLIPSIS = {"d": "T", "n": "DG", "g": "C", "m": "B", "b": "P", "bh": "F", "t": "S"}
_LONGEST_CASED_PREFIX = max(len(prefix) for prefix in BANTU_PREFIXES)
# A Bantu prefix in capitals at the start of a sentence (Xhosa "UHaftar", "USaddam Haftar").
_CAPITAL_PREFIXES = frozenset("AEIOU")


def _cased_prefix(plain: str, at: int) -> str | None:
    """The letters joined before a name that starts with a capital at ``at`` of ``plain``,
    when they are a prefix of the name's language rather than the start of a longer word
    ("kuTripoli", "dTripilí", "UHaftar"; not "xHaftar", "IGNA"); None otherwise."""
    if not (at < len(plain) and "A" <= plain[at] <= "Z"):
        return None
    letters = _letters_before(plain, at, _LONGEST_CASED_PREFIX)
    if not letters:
        return None
    if letters in BANTU_PREFIXES or plain[at] in IRISH_ECLIPSIS.get(letters, ""):
        return letters
    next_char = plain[at + 1] if at + 1 < len(plain) else ""
    return letters if letters in _CAPITAL_PREFIXES and next_char.islower() else None


def _letters_before(text: str, begin: int, longest: int) -> str | None:
    """The attached letters before ``begin`` back to a word boundary, if short enough."""
    start = begin
    while start > 0 and begin - start < longest and is_word_char(text[start - 1]):
        start -= 1
    if start > 0 and is_word_char(text[start - 1]):
        return None
    return text[start:begin]
