"""Which Windows Latin code page (1252, 1250 or 1254) undeclared feed bytes are in, told by
the letters each reading gives and the language of the words: a byte-statistics detector
cannot tell these apart (pure)."""

from __future__ import annotations

import codecs
import re

__all__ = ["LATIN_CODE_PAGES", "SAMPLE_BYTES", "latin_code_page"]

LATIN_CODE_PAGES = ("windows-1252", "windows-1250", "iso-8859-2", "windows-1254")
"""Western European, Central European (Windows and ISO), Turkish: the same letters at most
bytes, so each decodes the others' text into plausible-looking words (España read as 1250:
Espańa; Śląsk in ISO-8859-2 read as 1250: Œl±sk)."""

# The non-ASCII letters of the languages written in each code page, weighted roughly by how
# often they occur in those languages. A reading is plausible when its letters are frequent
# ones of its own languages: Turkish read as 1252 gives ý þ ð for ı ş ğ, Polish gives ¹ ³ ¿.
_LETTERS = {
    "windows-1252": {  # French, Spanish, Portuguese, Italian, German, Dutch, Nordic, Icelandic
        **dict.fromkeys("éüíóäãá", 5.0),
        **dict.fromkeys("àèñöúçß", 3.0),
        **dict.fromkeys("þð", 3.0),  # Icelandic: read as 1250, ţ đ
        **dict.fromkeys("êâôîõòìùûëïœæøå", 1.0),
    },
    "windows-1250": {  # Polish, Czech, Slovak, Hungarian, Romanian, Croatian, Slovenian
        **dict.fromkeys("łęąśżőáéó", 5.0),
        **dict.fromkeys("řěčšžýíöăîţćü", 3.0),
        **dict.fromkeys("ńźůťďňűşđâúäôľ", 1.0),
    },
    "iso-8859-2": {},  # the letters of windows-1250, below
    "windows-1254": {  # Turkish
        **dict.fromkeys("ı", 15.0),  # ş alone is Romanian ţ read as 1254
        **dict.fromkeys("şğüç", 6.0),
        **dict.fromkeys("ö", 4.0),
        "İ": 5.0,  # looked up as written: its lower case is two characters
        **dict.fromkeys("âîû", 0.5),
    },
}
_OTHER_LETTER = -2.0  # a letter none of the code page's languages uses much
_SYMBOL_IN_WORD = -5.0  # Wroc³aw, Rz¹d: a symbol between two letters

# Frequent short ASCII words of the languages of each code page, none frequent in a language
# of another ("de", "la", "a", "i", "ve", "van" are left out) nor part of markup or URLs.
_WORDS = {
    "windows-1252": frozenset(
        "the and of with from that this was were have has les des est pour dans qui "
        "avec sont une el los las del por para con una como fue il della delle degli "
        "che per sono nel alla os um uma foi der die das und von mit ist nicht "
        "auf den dem sich het een voor zijn og det ikke til med har fra och att inte "
        "eller".split()
    ),
    "windows-1250": frozenset(
        "w nie jest oraz przez dla jak tym jego jako ale jsou byl bylo jeho "
        "sa pre ako aj hogy nem egy az volt cu pe din pentru sau fost "
        "za ili kao koji koja nije bio".split()
    ),
    "windows-1254": frozenset(
        "bir bu ile olarak olan gibi daha sonra kadar ama veya yeni ilk buna ancak".split()
    ),
}
_LETTERS["iso-8859-2"] = _LETTERS["windows-1250"]
_WORDS["iso-8859-2"] = _WORDS["windows-1250"]
_WORD_WEIGHT = 5.0
_MARGIN = 5.0  # how much more plausible another reading must be than the one in use
SAMPLE_BYTES = 65_536  # bytes of a body read to tell its code page
DECLARED_MARGIN = 4 * _MARGIN  # the same, against the encoding the feed declares

_WORD = re.compile(r"[A-Za-z]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def latin_code_page(body: bytes, used: str, *, declared: bool = False) -> str | None:
    """The Windows Latin code page whose reading of ``body`` is clearly the most plausible,
    when it is not ``used`` (an encoding name); None to keep ``used``. ``declared``: the
    feed named ``used`` itself, so another reading must be `DECLARED_MARGIN` more plausible
    (a Turkish feed's 1254 reading scores 80 to 160 more than its 1252 one; an Icelandic
    one's, whose ð þ ý turn into ğ ş ı, 35 to 60 less)."""
    sample = body[:SAMPLE_BYTES]
    scores: dict[str, float] = {}
    for page in LATIN_CODE_PAGES:
        try:
            text = sample.decode(page)
        except UnicodeDecodeError:
            continue
        scores[page] = _plausibility(text, page)
    if not scores:
        return None
    used_name = codecs.lookup(used).name
    best = max(scores, key=lambda page: scores[page])
    if codecs.lookup(best).name == used_name:
        return None
    current = next((s for p, s in scores.items() if codecs.lookup(p).name == used_name), None)
    if current is not None and scores[best] < current + (DECLARED_MARGIN if declared else _MARGIN):
        return None
    return best


def _plausibility(text: str, page: str) -> float:
    letters = _LETTERS[page]
    score = 0.0
    for found in _NON_ASCII.finditer(text):
        char = found.group()
        if char.isalpha():
            weight = letters.get(char.lower(), letters.get(char))
            score += _OTHER_LETTER if weight is None else weight
        elif _between_letters(text, found.start()):
            score += _SYMBOL_IN_WORD
    words = _WORDS[page]
    score += _WORD_WEIGHT * sum(1 for word in _WORD.findall(text) if word.lower() in words)
    return score


def _between_letters(text: str, at: int) -> bool:
    return 0 < at < len(text) - 1 and text[at - 1].isalpha() and text[at + 1].isalpha()
