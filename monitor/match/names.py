"""How watchlist names, acronyms and phrases become scan keys, and which Arabic prefixes may
be attached before a name (و ب ل ف ك ال and their combinations)."""

from __future__ import annotations

import re
from itertools import product

from monitor.text import is_word_char, normalize_text

__all__ = [
    "ARABIC_ARTICLE",
    "LONGEST_ARABIC_PREFIX",
    "ARABIC_PREFIXES",
    "ARABIC_PREFIXES_BEFORE_ARTICLE",
    "acronym_form",
    "has_word_char",
    "is_arabic_letter",
    "name_variants",
    "phrase_key",
]

# At most this many spellings are made of one name by abbreviations and optional words.
MAX_NAME_VARIANTS = 64

_SPACES = re.compile(r"\s+")

ARABIC_ARTICLE = "\u0627\u0644"  # ال
_CONJUNCTIONS = ("", "\u0648", "\u0641")  # و ف
_PREPOSITIONS = ("", "\u0628", "\u0644", "\u0643")  # ب ل ك
# Any non-empty combination conjunction + preposition + article: و ب ل ف ك ال وال بال وبال ...
ARABIC_PREFIXES: frozenset[str] = frozenset(
    conj + prep + art
    for conj, prep, art in product(_CONJUNCTIONS, _PREPOSITIONS, ("", ARABIC_ARTICLE))
    if conj + prep + art and not (prep == "\u0644" and art)  # لال is written لل, below
)
# ل + ال is written لل: "للجيش" is "ل" + "الجيش". A name that starts with ال is therefore
# also looked for without its article, preceded by one of these.
ARABIC_PREFIXES_BEFORE_ARTICLE: frozenset[str] = frozenset(
    conj + "\u0644\u0644" for conj in _CONJUNCTIONS
)
LONGEST_ARABIC_PREFIX = max(len(prefix) for prefix in ARABIC_PREFIXES)


def phrase_key(text: str) -> str:
    """The normalised, case-folded form the scanner looks for (spaces collapsed)."""
    return _SPACES.sub(" ", normalize_text(text).text).strip()


def acronym_form(text: str) -> str:
    """The normalised form of an acronym with its case kept (acronyms are case-sensitive)."""
    return _SPACES.sub(" ", normalize_text(text, casefold=False).text).strip()


def has_word_char(text: str) -> bool:
    return any(is_word_char(char) for char in text)


def is_arabic_letter(char: str) -> bool:
    return (
        "\u0620" <= char <= "\u064a" or "\u066e" <= char <= "\u06d3" or "\u06fa" <= char <= "\u06ff"
    )


def name_variants(
    key: str, abbreviations: dict[str, tuple[str, ...]], optional: frozenset[str]
) -> list[str]:
    """The other spellings of a name key (``phrase_key`` form) that a watchlist's
    ``abbreviations`` (word key -> variant keys) and ``optional_words`` (keys; never the
    first or last word) allow, without the key itself."""
    words = key.split(" ")
    if len(words) < 2 or not any(w in abbreviations or w in optional for w in words):
        return []
    choices: list[tuple[str, ...]] = []
    for position, word in enumerate(words):
        options = (word, *abbreviations.get(word, ()))
        if word in optional and 0 < position < len(words) - 1:
            options += ("",)
        choices.append(options)
    found: dict[str, None] = {}
    for combination in product(*choices):
        variant = " ".join(word for word in combination if word)
        if variant != key:
            found[variant] = None
        if len(found) >= MAX_NAME_VARIANTS:
            break
    return list(found)
