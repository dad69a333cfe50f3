"""Plain text for matching: HTML fragments to visible text, normalisation with an offset map
back to that text, word-character tests and sentence boundaries (pure, no I/O)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

__all__ = [
    "NormalizedText",
    "html_to_text",
    "is_word_char",
    "normalize_text",
    "sentence_spans",
]

# Elements whose content is never shown to a reader.
_INVISIBLE_TAGS = frozenset({"script", "style", "template", "noscript"})
# Elements that start a new block: their text must not run into the neighbouring text.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
# A private marker for a block break while pieces are collected; input NULs are replaced first.
_BREAK = "\x00"
_WHITESPACE_RUN = re.compile(r"[ \t\r\n\f\v\x00]+")


class _VisibleTextParser(HTMLParser):
    """Collects visible text; block elements become break markers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._invisible_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._invisible_depth += 1
        elif tag in _BLOCK_TAGS:
            self.pieces.append(_BREAK)
            if tag == "pre":
                self._pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.pieces.append(_BREAK)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS:
            self._invisible_depth = max(0, self._invisible_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.pieces.append(_BREAK)
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._invisible_depth:
            return
        data = data.replace(_BREAK, "\ufffd")
        if self._pre_depth:
            # Inside <pre> a line break is a real break, not layout.
            data = data.replace("\n", _BREAK)
        self.pieces.append(data)


def _collapse_whitespace(match: re.Match[str]) -> str:
    run = match.group()
    # A block edge or a blank line (paragraphs in escaped plain text) is a line break;
    # any other run of layout whitespace is one space, as a browser shows it.
    if _BREAK in run or run.count("\n") >= 2:
        return "\n"
    return " "


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment.

    Script, style and comments are dropped, entities decoded, block elements (p, div, br,
    li, h1-h6, ...) become line breaks, other whitespace runs become one space. Tags and
    attribute values (URLs) never appear in the result.
    """
    if not fragment:
        return ""
    parser = _VisibleTextParser()
    parser.feed(fragment)
    parser.close()
    joined = "".join(parser.pieces)
    return _WHITESPACE_RUN.sub(_collapse_whitespace, joined).strip(" \n")


# --- normalisation ---------------------------------------------------------------------

_DROPPED = frozenset(
    {
        "\u00ad",  # soft hyphen
        "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width characters
        "\u0640",  # Arabic tatweel (kashida)
    }
)  # fmt: skip
_REPLACED = {
    # typographic apostrophes and quotes
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    # hyphens and dashes are word separators: "al-Sarraj" is "al Sarraj"
    "-": " ", "\u2010": " ", "\u2011": " ", "\u2012": " ", "\u2013": " ", "\u2014": " ",
    "\u2015": " ", "\u2212": " ", "\ufe63": " ", "\uff0d": " ",
    # Arabic letter variants
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",  # alef forms
    "\u0649": "\u064a",  # alef maqsura -> yeh
    "\u0629": "\u0647",  # taa marbuta -> heh
    "\u06cc": "\u064a",  # Farsi yeh -> yeh
    "\u06a9": "\u0643",  # keheh -> kaf
    "\u0624": "\u0648",  # waw with hamza -> waw
    "\u0626": "\u064a",  # yeh with hamza -> yeh
    "\t": " ", "\r": " ", "\f": " ", "\v": " ",
}  # fmt: skip

# ASCII is the common case and maps one character to one: a C-level translate does it.
_ASCII_FOLD = {ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_ASCII_FOLD.update({ord("-"): ord(" "), 9: 32, 13: 32, 12: 32, 11: 32})
_ASCII_KEEP_CASE = {ord("-"): ord(" "), 9: 32, 13: 32, 12: 32, 11: 32}
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")


def _fold_char(char: str, casefold: bool) -> str:
    """What one character becomes: NFKC, case fold, marks stripped, variants unified."""
    if char in _DROPPED:
        return ""
    if char in _REPLACED:
        return _REPLACED[char]
    category = unicodedata.category(char)
    if category == "Zs" or category in ("Zl", "Zp"):
        return " " if category == "Zs" else "\n"
    if category == "Cf":
        return ""
    if category in ("Mn", "Me"):
        return ""  # combining marks: Latin accents written apart, Arabic harakat
    text = unicodedata.normalize("NFKC", char)
    if casefold:
        text = text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me"))
    if not kept:
        return ""
    # Re-compose what NFKD split but did not strip (Hangul, ...), then unify variants.
    kept = unicodedata.normalize("NFC", kept)
    folded = "".join(_REPLACED.get(c, c) for c in kept if c not in _DROPPED)
    if category[0] not in "LNM" and any(is_word_char(c) for c in folded):
        # A symbol stays a word boundary even if NFKC spells it with letters (℃, ™, ㎞).
        return " "
    return folded


@lru_cache(maxsize=65536)
def _fold_folded(char: str) -> str:
    return _fold_char(char, True)


@lru_cache(maxsize=65536)
def _fold_keep_case(char: str) -> str:
    return _fold_char(char, False)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A normalised copy of a text; ``starts[i]``/``ends[i]`` give the source span of char i."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the source text that normalised chars ``start:end`` came from."""
        return self.starts[start], self.ends[end - 1]


def normalize_text(text: str, *, casefold: bool = True) -> NormalizedText:
    """Normalise for matching and keep the way back to ``text``.

    NFKC, case folding (unless ``casefold`` is false), Latin diacritics stripped, typographic
    quotes unified, hyphens/dashes as spaces, soft hyphens/zero-width chars/tatweel removed,
    NBSP as space, Arabic alef/yeh/taa marbuta variants unified, harakat removed. A removed
    combining mark is counted into the span of the character before it.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    ascii_table = _ASCII_FOLD if casefold else _ASCII_KEEP_CASE
    fold = _fold_folded if casefold else _fold_keep_case
    for run in _ASCII_RUNS.finditer(text):
        begin, stop = run.span()
        chunk = run.group()
        if chunk[0] < "\x80":
            out.append(chunk.translate(ascii_table))
            starts.extend(range(begin, stop))
            ends.extend(range(begin + 1, stop + 1))
            continue
        folded_chars = list(map(fold, chunk))
        if "" not in folded_chars:
            joined = "".join(folded_chars)
            if len(joined) == len(chunk):  # every char became exactly one char
                out.append(joined)
                starts.extend(range(begin, stop))
                ends.extend(range(begin + 1, stop + 1))
                continue
        for offset, char in enumerate(chunk):
            index = begin + offset
            folded = folded_chars[offset]
            if folded:
                out.append(folded)
                starts.extend([index] * len(folded))
                ends.extend([index + 1] * len(folded))
            elif ends and unicodedata.category(char)[0] == "M" and ends[-1] == index:
                ends[-1] = index + 1
    return NormalizedText("".join(out), tuple(starts), tuple(ends))


def is_word_char(char: str) -> bool:
    """True for letters, digits and marks of any script: what a whole word is made of."""
    return unicodedata.category(char)[0] in "LNM"


# --- sentences -------------------------------------------------------------------------

# Candidate sentence ends: terminal punctuation, closing quotes/brackets, then whitespace;
# or a line break (block edges from html_to_text).
_SENTENCE_END = re.compile(r"[.!?\u2026\u061f\u3002]+[\"'\u2019\u201d\u00bb)\]]*[ \t]+|\n+")
_ABBREVIATIONS = frozenset(
    {
        "adm", "brig", "capt", "cmdr", "col", "cpl", "dr", "e.g", "etc", "fr", "gen", "gov",
        "hon", "i.e", "jr", "lt", "maj", "messrs", "mme", "mlle", "mr", "mrs", "ms", "mt",
        "pres", "prof", "rep", "rev", "sen", "sgt", "sr", "st", "vs", "jan", "feb", "mar", "apr",
        "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "dept", "est", "inc",
        "ltd", "corp", "cf", "mgr", "sheikh",
    }
)  # fmt: skip
# Abbreviations only before a number ("No. 5", "art. 3", "p. 12"): "said no. Then" ends.
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "art", "p", "pp", "vol", "op", "fig", "ch"})
_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]?")  # U.N., U.S., A.


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at ``dot`` ends an abbreviation ("Gen.", "Mr.", "U.N.")."""
    word_start = dot
    while (
        word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "(\"'"
    ):
        word_start -= 1
    token = text[word_start:dot]
    if not token:
        return False
    if token.lower() in _ABBREVIATIONS:
        return True
    if token.lower() in _NUMBER_ABBREVIATIONS:
        following = text[dot + 1 :].lstrip()
        return following[:1].isdigit()
    return _INITIALS.fullmatch(token + ".") is not None or (
        len(token) == 1 and token.isalpha() and token.isupper()
    )


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, whitespace trimmed, in order.

    A sentence ends at a line break, or at . ! ? … ؟ followed by space unless the period
    ends a known abbreviation or initials, or the next word starts in lower case.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for found in _SENTENCE_END.finditer(text):
        if found.group()[0] != "\n":
            next_char = text[found.end()] if found.end() < len(text) else ""
            if next_char and next_char.islower():
                continue
            punct_end = found.start()
            while punct_end < found.end() and text[punct_end] in ".!?\u2026\u061f\u3002":
                punct_end += 1
            if text[punct_end - 1] == "." and punct_end - found.start() == 1:
                if _is_abbreviation(text, found.start()):
                    continue
        _append_trimmed(
            text, start, found.start() if found.group()[0] == "\n" else found.end(), spans
        )
        start = found.end()
    _append_trimmed(text, start, len(text), spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))
