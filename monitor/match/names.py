"""How watchlist names, acronyms and phrases become scan keys, and which Arabic prefixes may
be attached before a name (و ب ل ف ك ال and their combinations)."""

from __future__ import annotations

import re
import sys
from itertools import product

from monitor.text import is_word_char, normalized

__all__ = [
    "ARABIC_ARTICLE",
    "LONGEST_ARABIC_PREFIX",
    "ARABIC_PREFIXES",
    "ARABIC_PREFIXES_BEFORE_ARTICLE",
    "HEBREW_ARTICLE",
    "HEBREW_PREFIXES_BEFORE_ARTICLE",
    "HEBREW_PREFIX_LETTERS",
    "SYRIAC_PREFIX_LETTERS",
    "LONGEST_SYRIAC_PREFIX",
    "LONGEST_HEBREW_PREFIX",
    "acronym_form",
    "has_word_char",
    "is_arabic_letter",
    "is_hangul",
    "is_indic",
    "is_hebrew_letter",
    "is_unspaced_letter",
    "line_break_variants",
    "may_follow_name",
    "name_variants",
    "phrase_key",
    "tag_form",
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
# Hebrew joins "and", "the", "in", "as", "to", "from", "that" to the next word: ו ה ב כ ל מ ש,
# up to three of them ("ובטריפולי", "שבטריפולי", "מהטריפולי").
HEBREW_PREFIX_LETTERS = frozenset("\u05d5\u05d4\u05d1\u05db\u05dc\u05de\u05e9")
LONGEST_HEBREW_PREFIX = 3
HEBREW_ARTICLE = "\u05d4"  # ה
# Syriac joins "and", "of", "in", "to" to the next word: ܘ ܕ ܒ ܠ, up to three of them
# ("ܘܒܚܦܬܪ" and with Haftar, "ܕܛܪܝܦܘܠܝ" of Tripoli: heldout66).
SYRIAC_PREFIX_LETTERS = frozenset("\u0718\u0715\u0712\u0720")
LONGEST_SYRIAC_PREFIX = 3
# ב ל כ + ה is written without the ה: "לצבא" is "ל" + "הצבא". A name that starts with ה is
# therefore also looked for without it, preceded by one of these.
HEBREW_PREFIXES_BEFORE_ARTICLE: frozenset[str] = frozenset(
    conj + prep
    for conj in ("", "\u05d5", "\u05e9", "\u05d5\u05e9")
    for prep in "\u05d1\u05dc\u05db"
)


# A word is broken across a line only in the scripts that hyphenate: Latin, Greek, Cyrillic.
_HYPHENATED_WORD = re.compile(r"[a-z\u00df-\u024f\u0370-\u03ff\u0400-\u04ff]{5,}")


def line_break_variants(key: str) -> list[str]:
    """A one-word ``key`` broken across a line as hyphenation breaks it: "haftar" -> "haf  tar"
    ("Haf-" / "tar": the hyphen and the line break are each a space in the matching copy),
    at least two letters on either side, in a word of five letters or more. The word as a
    whole stays a key too, so a compound broken at its own hyphen ("Haftar-" / "backed")
    still names Haftar. Names of several words get none: they would be 16,000 more keys
    (10 MB in each process) for the Libya watchlist, against 266 for its one-word names."""
    if " " in key or not _HYPHENATED_WORD.fullmatch(key):
        return []
    return [f"{key[:cut]}  {key[cut:]}" for cut in range(2, len(key) - 1)]


# A name of several words in a script with capitals, as hashtags run its words together.
_CASED_WORD = r"[a-z0-9\u00df-\u024f\u0370-\u03ff\u0400-\u04ff]+"
_TAGGABLE = re.compile(rf"{_CASED_WORD}(?: {_CASED_WORD})+")


def tag_form(key: str) -> str | None:
    """A name of several words as a hashtag or handle writes it: "port sudan" -> "portsudan"
    ("#PortSudan"); None for a one-word name or one in a script without capitals (Arabic
    hashtags join words with "_", which matching reads as a space)."""
    return key.replace(" ", "") if _TAGGABLE.fullmatch(key) else None


def phrase_key(text: str) -> str:
    """The normalised, case-folded form the scanner looks for (spaces collapsed). Interned:
    the scanner's phrases and the context rules' sets hold the same keys (13,000 of the Libya
    watchlist, about 0.5 MB in each parsing worker once each is one string)."""
    return sys.intern(_SPACES.sub(" ", normalized(text)).strip())


def acronym_form(text: str) -> str:
    """The normalised form of an acronym with its case kept (acronyms are case-sensitive)."""
    return _SPACES.sub(" ", normalized(text, casefold=False)).strip()


def has_word_char(text: str) -> bool:
    return any(is_word_char(char) for char in text)


def is_arabic_letter(char: str) -> bool:
    return (
        "\u0620" <= char <= "\u064a" or "\u066e" <= char <= "\u06d3" or "\u06fa" <= char <= "\u06ff"
    )


def is_hebrew_letter(char: str) -> bool:
    return "\u05d0" <= char <= "\u05ea"


def is_syriac_letter(char: str) -> bool:
    return "\u0710" <= char <= "\u072f"


def is_unspaced_letter(char: str) -> bool:
    """A letter of a script written without spaces between words (Chinese, Japanese, Thai,
    Lao, Khmer, Myanmar): a name in it is a mention wherever it stands in a run of them."""
    code = ord(char)
    return (
        0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
        or 0x3040 <= code <= 0x30FF  # Hiragana, Katakana (with ー)
        or 0x31F0 <= code <= 0x31FF  # Katakana extensions
        or 0x3400 <= code <= 0x4DBF  # CJK ideographs, extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK ideographs
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x3134F  # CJK ideographs, extensions B to G
    )


def is_hangul(char: str) -> bool:
    """A Korean letter. Korean writes its particles joined to the word before them
    (트리폴리에서 "in Tripoli", LNA는): a name may be followed by Hangul."""
    code = ord(char)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def is_indic(char: str) -> bool:
    """A letter or sign of the scripts of India and Sri Lanka (Devanagari to Sinhala; Ol
    Chiki, Meetei Mayek, Syloti Nagri). Their languages join case endings and postpositions
    to the name (Tamil திரிபோலியில் "in Tripoli", Gujarati હફ્તારના "Haftar's", Santali
    ᱴᱨᱤᱯᱚᱞᱤᱨᱮ, Manipuri ꯇ꯭ꯔꯤꯄꯣꯂꯤꯗꯒꯤ): a name may be followed by them, as by Korean particles
    (heldout61, heldout76)."""
    code = ord(char)
    return (
        0x0900 <= code <= 0x0DFF
        or 0x1C50 <= code <= 0x1C7F  # Ol Chiki (Santali)
        or 0xABC0 <= code <= 0xABFF  # Meetei Mayek (Manipuri)
        or 0xA800 <= code <= 0xA82F  # Syloti Nagri (Sylheti)
    )


def is_tibetan(char: str) -> bool:
    """A letter or sign of the Tibetan script: a case particle of one letter joins the
    syllable before it (ཏྲི་པོ་ལིའི་ "of Tripoli": heldout66)."""
    return 0x0F00 <= ord(char) <= 0x0FFF


def is_thaana(char: str) -> bool:
    """A letter or sign of Thaana, Dhivehi's script: it joins case endings to the name as
    the scripts of India do (ޓްރިޕޮލީއަށް "to Tripoli", ހަފްތަރުގެ "Haftar's": heldout65)."""
    return 0x0780 <= ord(char) <= 0x07BF


# Gilaki writes its genitive as a caron joined to the word ("حفترˇ نیروأن", Haftar's forces).
GILAKI_GENITIVE = "\u02c7"


def may_follow_name(char: str) -> bool:
    """A character that may come right after a name in the same word: a Korean particle's,
    an Indic, a Dhivehi or a Tibetan ending's, Gilaki's genitive mark."""
    return (
        is_hangul(char)
        or is_indic(char)
        or is_thaana(char)
        or is_tibetan(char)
        or char == GILAKI_GENITIVE
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
