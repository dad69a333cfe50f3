"""Acronyms an article spells out: "London Nautical Association (LNA)", "LNA (low-noise
amplifier)", "GNA = ground network adapter", a glossary's term and its meaning on the next
line. A watched acronym the article spells out as something else names that other thing
there (`defined_otherwise`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import NamedTuple

__all__ = ["DEFINED_OTHERWISE", "Expansion", "defined_otherwise", "definitions", "name_words"]

# The verdict's rule when an acronym is dropped for it (`monitor explain` names it).
DEFINED_OTHERWISE = "defined_otherwise"

# Words an expansion may hold that its acronym skips ("Government of National Accord").
_MINOR = frozenset(
    "of and the for on in at to a an & de du des la le les d l di del della dei degli y e "
    "pour par sur avec en au aux et per con da dal dalla su ed para por el los las "
    "und der die das für von "
    "и в на по для с со о об з із зі та і й у "  # Russian, Ukrainian
    "i w na z ze do dla od o".split()  # Polish
)
# Capital letters of the scripts acronyms are written in: Latin, Greek, Cyrillic ("ВСУ").
_CAPITAL = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0391-\u03a9\u0400-\u042f\u0490"
_ACRONYM = rf"[{_CAPITAL}](?:\.?[{_CAPITAL}0-9]){{1,7}}\.?"
# "(ACR)": the expansion is the tail of the words before it whose initials spell it.
_IN_BRACKETS = re.compile(rf"\([ \t]*({_ACRONYM})[ \t]*\)")
# "ACR (words)" and "ACR = words", "ACR: words" (a glossary line).
_AFTER = re.compile(
    rf"\b({_ACRONYM})[ \t]*(?:\(([^()\n]{{3,80}})\)|[=:–—][ \t]*([^\n.;,()]{{3,80}}))"
)
# "words, the ACR," / "words, or ACR," / "words (the ACR)": an appositive names the words
# before it, as brackets do ("a literacy and numeracy assessment, the LNA, before ...").
_APPOSITIVE = re.compile(
    rf"(?:,[ \t]+(?:the|or|or the|i\.e\.|le|la|les|l'|il|lo|gli|i|el|los)[ \t]+|"
    rf"\([ \t]*(?:the|or|i\.e\.|le|la|il|el)[ \t]+)({_ACRONYM})(?=[ \t]*[,;:.)—–])"
)
# "ACR, the words," (the appositive after it): "la LNA, la Lega nautica amatoriale,".
_APPOSITIVE_AFTER = re.compile(rf"\b({_ACRONYM}),[ \t]+([^\n.;,()]{{3,80}})")
# A name in capitals ("Local Nature Areas") whose initials spell an acronym the article
# writes: the acronym is that name there ("the LNA Bill" of a Scottish committee's agenda).
# Each word capitalised, minor words between them, nothing capitalised around it.
_WRITTEN = re.compile(r"\b[A-Z]{3,6}\b")
_BETWEEN = (
    r"(?:-|[ \t]+(?:(?:of|and|the|for|on|in|de|des|du|la|le|di|del|della|y|e|et|und|für)[ \t]+)"
    r"{0,2})"  # or a hyphen: "the Anti-Nazi League ... the ANL" (heldout82)
)
_CAPITALISED_BEFORE = re.compile(r"[A-Z][\w'’]*[ \t]+$")
_CAPITALISED_AFTER = re.compile(r"^[ \t]+[A-Z]")
# A term on a line of its own and its meaning on the next (an HTML <dt>/<dd> glossary).
_TERM_LINE = re.compile(rf"(?m)^[ \t]*({_ACRONYM})[ \t]*\n+[ \t]*([^\n]{{3,80}})")
# How far before "(ACR)" its expansion may start.
_LOOK_BACK = 160
_WORD = re.compile(r"[^\W\d_][\w'’]*")


class Expansion(NamedTuple):
    """Words an article gives an acronym: spelled out beside it (``(ACR)``, ``ACR = ...``,
    ``words, the ACR,``), or only a name in capitals with its initials elsewhere in the
    article (``spelled=False``: a weaker sign, see `defined_otherwise`)."""

    text: str
    spelled: bool = True


def _letters(acronym: str) -> str:
    return acronym.replace(".", "").upper()


def _initials(words: list[str]) -> str:
    return "".join(word[0] for word in words).upper()


# An elided article or preposition before a word ("l'Alliance", "dell'Unione"): the word's
# initial is the letter after it.
_ELISION = re.compile(r"(?i)^(?:[cdjlmnst]|qu|dell|all|nell|sull|dall|un)['’](?=[^\W\d_])")


def _split(text: str) -> list[str]:
    """The words of ``text``, hyphenated ones apart ("low-noise" is two), each without an
    elided article before it ("l'Alliance nationale des libraires" spells ANL)."""
    return [_ELISION.sub("", word) for word in _WORD.findall(text.replace("-", " "))]


def _spelled(acronym: str, words: list[str], *, from_end: bool) -> list[str] | None:
    """The shortest tail (``from_end``) or head of ``words`` that spells ``acronym``, minor
    words skipped or counted, never at its outer edge; or None."""
    for size in range(1, len(words) + 1):
        part = words[-size:] if from_end else words[:size]
        edge = part[0] if from_end else part[-1]
        major = [w for w in part if w.casefold() not in _MINOR]
        if edge.casefold() in _MINOR:
            continue
        if _initials(major) == acronym or _initials(part) == acronym:
            return part
        if len(major) > len(acronym):
            return None
    return None


def definitions(texts: Iterable[str]) -> dict[str, tuple[Expansion, ...]]:
    """Acronym (letters, upper case, no dots) -> the expansions ``texts`` give it."""
    found: dict[str, list[Expansion]] = {}
    for text in texts:
        for acronym, name in _named_in_capitals(text):
            found.setdefault(acronym, []).append(Expansion(name, spelled=False))
        if not any(mark in text for mark in "(=:–—\n,"):
            continue
        for match in [*_IN_BRACKETS.finditer(text), *_APPOSITIVE.finditer(text)]:
            acronym = _letters(match.group(1))
            before = text[max(0, match.start() - _LOOK_BACK) : match.start()]
            words = _split(before.rsplit("\n", 1)[-1])[-10:]
            spelled = (
                _spelled(acronym, words[-8:], from_end=True)
                or _spelled_before_place(acronym, words)
                or _spelled_with_compound(acronym, words[-8:])
                or _airport(acronym, words)
            )
            if spelled:
                found.setdefault(acronym, []).append(Expansion(" ".join(spelled)))
        after = [(m.group(1), m.group(2) or m.group(3) or "") for m in _AFTER.finditer(text)]
        after += [(m.group(1), m.group(2)) for m in _APPOSITIVE_AFTER.finditer(text)]
        if "\n" in text:
            after += [(m.group(1), m.group(2)) for m in _TERM_LINE.finditer(text)]
        for written, meaning in after:
            acronym = _letters(written)
            words = _split(meaning)
            spelled = _spelled(acronym, words, from_end=False)
            if spelled:
                found.setdefault(acronym, []).append(Expansion(" ".join(spelled)))
    return {acronym: tuple(dict.fromkeys(expansions)) for acronym, expansions in found.items()}


def _spelled_before_place(acronym: str, words: list[str]) -> list[str] | None:
    """An expansion whose acronym leaves out the place that ends it: "Association nationale
    des Libyens de Tunisie (ANL)" (heldout77): one or two words after a minor one."""
    for cut in (2, 3):
        if len(words) > cut and words[-cut].casefold() in _MINOR:
            spelled = _spelled(acronym, words[:-cut][-8:], from_end=True)
            if spelled:
                return spelled
    return None


def _spelled_with_compound(acronym: str, words: list[str]) -> list[str] | None:
    """An expansion whose last word is a compound that gives the acronym two letters or more:
    "Lawson Army Airfield (LAAF)" (heldout82): the first at its start, the others later in it,
    in order; the words before it spell the rest by their initials."""
    if not words or len(acronym) < 3:
        return None
    last = words[-1]
    for tail in range(2, len(acronym)):
        head, inner = acronym[:-tail], acronym[-tail:]
        if last[0].upper() != inner[0] or not _in_order(inner[1:], last[1:].upper()):
            continue
        spelled = _spelled(head, words[:-1][-7:], from_end=True)
        if spelled:
            return [*spelled, last]
    return None


def _in_order(letters: str, word: str) -> bool:
    at = 0
    for letter in letters:
        at = word.find(letter, at) + 1
        if not at:
            return False
    return True


# The words an airport's name ends with: "(XYZ)" after it is its code, not an acronym of the
# words ("Palm Beach County Park Airport (LNA)": heldout82; "Grodno Airport (GNA)").
_AIRPORT_WORDS = frozenset(
    "airport airfield aerodrome aéroport aeroporto aeropuerto flughafen havalimanı".split()
)


def _airport(acronym: str, words: list[str]) -> list[str] | None:
    if len(acronym) == 3 and words and words[-1].casefold() in _AIRPORT_WORDS:
        return words[-4:]
    return None


def _named_in_capitals(text: str) -> list[tuple[str, str]]:
    """(acronym, name) for each acronym of three to six Latin capitals written in ``text``
    and each name there in capitalised words whose initials spell it, nothing capitalised
    around it ("Local Nature Areas ... the LNA Bill"; not "Libyan Navy Attacks Smugglers",
    a headline in capitals)."""
    named = []
    for acronym in sorted(set(_WRITTEN.findall(text)))[:20]:
        words = _BETWEEN.join(rf"{letter}[^\W\d_]+" for letter in acronym)
        for match in re.finditer(rf"\b{words}\b", text):
            before = text[max(0, match.start() - 40) : match.start()]
            if _CAPITALISED_BEFORE.search(before) or _CAPITALISED_AFTER.match(
                text[match.end() : match.end() + 3]
            ):
                continue
            named.append((acronym, match.group(0)))
    return named


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The case-folded words of an entity's names (an expansion made of them is its own)."""
    words: set[str] = set()
    for name in names:
        words.update(_fold(word) for word in _split(name))
    return frozenset(words - _MINOR)


def _fold(word: str) -> str:
    """``word`` in lower case, without a possessive ending or the accents of its Latin
    letters: the Slovak "Líbyjská" shares its stem with the Czech "Libyjská", the Latvian
    "Nacionālā" with "Nacional" (heldout59: a name spelled out in a language the watchlist
    lacks is its own when a related language's words have it)."""
    folded = word.casefold()
    for ending in ("'s", "’s"):
        folded = folded.removesuffix(ending)
    if folded.isascii():
        return folded
    letters: list[str] = []
    for char in unicodedata.normalize("NFD", folded):
        if unicodedata.combining(char) and letters and letters[-1] < "\u0250":
            continue  # an accent on a Latin letter
        letters.append(char)
    return unicodedata.normalize("NFC", "".join(letters))


def defined_otherwise(
    acronym: str, found: Mapping[str, tuple[Expansion, ...]], own_words: frozenset[str]
) -> str | None:
    """An expansion ``found`` gives ``acronym`` that is not the entity's own, when no
    expansion is its own; else None. An expansion is the entity's own when each of its words
    is a word of the entity's names (or shares its stem): "Libya's National Army (LNA)" is;
    "Singapore Armed Forces (SAF)" is not the Sudanese Armed Forces (an outside probe's
    watchlist), nor Chad's "Armée nationale de libération (ANL)" the Armée nationale
    libyenne (a blind set, heldout30): one word says whose. A name in capitals that is not
    spelled out beside the acronym (``spelled=False``) counts only when it shares no word
    with the entity's names: "Local Nature Areas" makes "the LNA Bill" theirs, while a
    "Libyan News Agency" that reports on "the LNA" says nothing of it."""
    expansions = found.get(_letters(acronym))
    if not expansions:
        return None
    other = None
    for text, spelled in expansions:
        words = [_fold(w) for w in _split(text) if w.casefold() not in _MINOR]
        own = [_shares_stem(word, own_words) for word in words]
        if words and all(own):
            return None  # the article spells it out as the entity: every mention is it
        if spelled or not any(own):
            other = other or text
    return other


def _shares_stem(word: str, own_words: frozenset[str]) -> bool:
    """``word`` is one of ``own_words``, or they share a stem: its first five letters, or
    all four of a word of four and at most two more ("Libya's" and "Libyan", the Swedish
    "armé" and "armée"; not "Nazi" and the Italian "nazionale": heldout82)."""
    if word in own_words:
        return True
    stem = word[:5]
    if len(stem) == 4:
        return any(own.startswith(stem) and len(own) <= 6 for own in own_words)
    return len(stem) == 5 and any(own.startswith(stem) for own in own_words)
