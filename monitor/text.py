"""Plain text for matching: HTML fragments to visible text, normalisation with an offset map
back to that text, word-character tests and sentence boundaries (pure, no I/O)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

__all__ = [
    "NormalizedText",
    "decode_leftover_entities",
    "html_to_text",
    "is_word_char",
    "iter_sentence_spans",
    "normalize_text",
    "sentence_spans",
]

# Elements whose content is never shown to a reader (that of iframe, video and audio is a
# fallback for browsers without them).
_INVISIBLE_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "video", "audio"})
# Elements that start a new block: their text must not run into the neighbouring text.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
# Inline elements that set their text apart from the word before it: a footnote mark
# ("Haftar<sup>1</sup>" is not the word "Haftar1").
_SPACED_TAGS = frozenset({"sup"})
# A private marker for a block break while pieces are collected; input NULs are replaced first.
_BREAK = "\x00"
# What a browser collapses; a blank line (two line breaks in one run) separates paragraphs
# in escaped plain text.
_LAYOUT_WHITESPACE = " \t\r\n\f\v"
# Control characters a page never shows (C0 but the layout whitespace and the break
# marker, DEL, C1): a feed's "\x1a" or "&#26;" must not reach a receiver or a terminal. Nor
# the bidirectional embeddings, overrides and isolates, with which a text displays in
# another order than it reads ("\u202e" shows "ilopirT" for "Tripoli"); the marks (LRM,
# RLM, ALM) stay, Arabic and Hebrew text uses them.
# Also invisible characters that split a word without showing (a soft hyphen, a zero-width
# space, a byte-order mark, a word joiner): a name copied from an excerpt must be found.
_CONTROL = re.compile(
    "[\x01-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


# Elements without content: a start tag that marks one hidden hides nothing after it.
_VOID_TAGS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    }
)  # fmt: skip
# What is on the page but not the article's text: boxes a CMS adds around it (other
# articles' headlines, sharing buttons, newsletter sign-ups, ads), named so by a class or id
# with one of these words among its parts ("jp-relatedposts", "yarpp-related"). A tag list
# stays: the publisher says with it what the article is about.
_BOX_WORDS = frozenset(
    {
        "related", "relatedposts", "share", "sharing", "sharedaddy", "sharethis", "newsletter",
        "subscribe", "subscription", "signup", "readmore", "promo", "advert", "advertisement",
        "ads", "sponsored", "outbrain", "taboola",
    }
)  # fmt: skip
_STYLE_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# A block that labels what follows as other articles' headlines (in the languages of the
# shipped watchlist and their neighbours): "Related: ...", "Read more: ...", "Lire aussi :
# ...". With text after the label the block is dropped; a label alone (a heading "Related
# stories") also drops the list right after it.
_LABEL = (
    r"(?:related(?: (?:stories|articles|posts|news|coverage|content|links|reading|videos"
    r"|episodes))?"
    r"|read (?:more|also|next)|also read|see also|more on this(?: story| topic)?"
    r"|watch (?:next|more)|up next|most (?:read|popular|viewed|shared)"
    r"|trending(?: now| stories)?|شاهد (?:أيضا|أيضاً|أيضًا|ايضا)"
    r"|more (?:stories|news|episodes|videos)|you (?:may|might) also like"
    r"|recommended(?: for you)?|(?:à )?lire (?:aussi|également)|(?:[àa] )?voir aussi"
    r"|sur le même sujet|articles connexes"
    r"|leggi anche|guarda anche|potrebbe interessarti|articoli correlati"
    r"|ver también|lea también|lee también|te puede interesar|noticias relacionadas"
    r"|leia também|veja também|leia mais|saiba mais|notícias relacionadas"
    r"|lesen sie auch|mehr zum thema|weitere artikel|weiterlesen|mehr lesen"
    r"|lees (?:ook|meer)|meer over dit onderwerp|gerelateerde artikelen"
    r"|l[äæ]s (?:också|även|mer|også|mere)|les også|relaterat"
    r"|lue (?:myös|lisää)|aiheesta lisää|czytaj (?:także|też|również)|zobacz (?:też|także)"
    r"|διαβάστε (?:επίσης|ακόμα|ακόμη)|δείτε επίσης|σχετικά άρθρα|σχετικές ειδήσεις"
    r"|ayrıca (?:okuyun|bakınız)|ilginizi çekebilir|ilgili haber(?:ler)?"
    r"|читайте (?:также|також)|по теме|похожие новости"
    r"|[اإ]قر[أا] (?:أيضا|أيضاً|أيضًا|ايضا|ايضاً|المزيد)|(?:مواضيع|أخبار|اخبار) ذات صلة)"
)
# A label may follow a mark or an emoji ("📌 اقرأ أيضاً:", "» Read more:", "▶ Related:").
_LEAD = r"(?:[^\w\s]\s*){0,3}"
# A wire's pointer to other stories' slugs, with no mark after it: "(For related coverage,
# see LIBYA-SECURITY/HAFTAR)".
_SEE_LABEL = r"for (?:related|more|full|further) (?:coverage|stories|news),? (?:see|click)\b"
_LABELLED_BLOCK = re.compile(
    rf"{_LEAD}(?:{_LABEL}\s*[:：»›|\u2014\u2013-]|{_SEE_LABEL})", re.IGNORECASE
)
_LABEL_ONLY = re.compile(rf"{_LEAD}{_LABEL}\s*[:：»›]?\s*", re.IGNORECASE)
# The last item of a news aggregator's cluster of other outlets' headlines (Google News's
# item description: an <ol> of links, each with its outlet, then this link): the list is
# other articles, not this one's text.
_CLUSTER_END = re.compile(r"view full coverage on google news", re.IGNORECASE)
# WordPress's feed footer (Yoast SEO): it repeats the title and names the site.
_FEED_FOOTER = re.compile(r"the post .+ appeared first on .+", re.IGNORECASE | re.DOTALL)
# Whether a fragment has an element the parser would leave out (`_hides`), which the fast
# path of _visible_pieces cannot see (it reads no attribute), or the feed footer. Loose (a
# false alarm costs only time) and cheap: substring searches, then one regex that starts
# at a "<" and is bounded within the tag.
_PARSER_WORDS = ("hidden", "display", "visibility", "appeared first on", "full coverage on")
_BOX_ATTRIBUTE = re.compile(
    r"<[^<>]{0,300}?(?:class|id)\s{0,9}=[^<>]{0,300}?(?:relat|shar|newsletter|subscri|signup"
    r"|readmore|promo|advert|ads|sponsor|outbrain|taboola)"
)
_LABEL_AT = re.compile(rf"{_LEAD}(?:{_LABEL}|{_SEE_LABEL})", re.IGNORECASE)
# A line that begins with a list mark: after a label alone, an item of the list it names.
_BULLET_LINE = re.compile(r"[▶►▸•·‣◦▪■→»*\-\u2013\u2014]\s")


def _needs_parser(fragment: str) -> bool:
    lowered = fragment.lower()
    if any(word in lowered for word in _PARSER_WORDS):
        return True
    return ("class" in lowered or "id=" in lowered or "id =" in lowered) and (
        _BOX_ATTRIBUTE.search(lowered) is not None
    )


def _labels_a_block(parts: list[str]) -> bool:
    """Whether the first text of a block (after the start or a block tag) in ``parts`` (the
    fast path's pieces) begins with a label of `_LABEL`: the parser would check that block."""
    at_block_start = True
    for piece in parts:
        if piece == _BREAK:
            at_block_start = True
        elif at_block_start and piece.strip():
            if _LABEL_AT.match(piece.lstrip()):
                return True
            at_block_start = False
    return False


def _hides(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """Whether an element with these attributes is invisible or not the article's text."""
    if tag in _VOID_TAGS:
        return False
    for name, value in attrs:
        if name == "hidden":
            return True
        if value is None:
            continue
        if name == "aria-hidden" and value.strip().lower() == "true":
            return True
        if name == "style" and _STYLE_HIDDEN.search(value):
            return True
        if name in ("class", "id"):
            for word in value.lower().split():
                if _BOX_WORDS.intersection(re.split(r"[-_]", word)):
                    return True
    return False


class _VisibleTextParser(HTMLParser):
    """Collects visible text; block elements become break markers.

    With ``drop_boilerplate``, hidden elements (``hidden``, ``aria-hidden``, ``display:
    none``) and what is on the page but not the article (`_hides`, `_LABELLED_BLOCK`,
    `_FEED_FOOTER`) are left out; ``dropped`` then says whether anything was."""

    def __init__(self, drop_boilerplate: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.dropped = False
        self.left_out: list[str] = []  # the text left out, for `left_out_text`
        self._drop_boilerplate = drop_boilerplate
        self._invisible_depth = 0
        self._pre_depth = 0
        # The element being left out, and how many of its kind are open inside it.
        self._hidden_tag: str | None = None
        self._hidden_depth = 0
        self._segment_start = 0  # where the pieces of the current block begin
        self._drop_next_list = False  # after a label alone ("Related stories")
        self._lists: list[int] = []  # where each open <ul>/<ol>'s pieces begin
        self.cluster = False  # an aggregator's cluster of other headlines was left out

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden_tag is not None:
            if tag == self._hidden_tag:
                self._hidden_depth += 1
            return
        if self._drop_boilerplate and tag in ("ul", "ol"):
            # The block before the list is checked first: a label alone there ("Read also:"
            # in a <strong> right before the <ul>) drops this list.
            self._break()
        if self._drop_boilerplate and (
            _hides(tag, attrs) or (self._drop_next_list and tag in ("ul", "ol"))
        ):
            self._break()
            self._hidden_tag, self._hidden_depth = tag, 1
            self._drop_next_list = False
            self.dropped = True
            return
        if self._drop_boilerplate and tag in ("ul", "ol"):
            self._lists.append(len(self.pieces))
        if tag in _INVISIBLE_TAGS:
            self._invisible_depth += 1
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "pre":
                self._pre_depth += 1
        elif tag in _SPACED_TAGS and not self._invisible_depth:
            self.pieces.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden_tag is None and tag in _BLOCK_TAGS:
            self._break()
        elif self._hidden_tag is None and tag in _SPACED_TAGS and not self._invisible_depth:
            self.pieces.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_tag is not None:
            if tag == self._hidden_tag:
                self._hidden_depth -= 1
                if not self._hidden_depth:
                    self._hidden_tag = None
                    self._break()
            return
        if tag in _INVISIBLE_TAGS:
            self._invisible_depth = max(0, self._invisible_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag in ("ul", "ol") and self._lists:
                self._lists.pop()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
        elif tag in _SPACED_TAGS and not self._invisible_depth:
            self.pieces.append(" ")

    def handle_data(self, data: str) -> None:
        if self._hidden_tag is not None and not self._invisible_depth:
            self.left_out.append(data)
        if self._invisible_depth or self._hidden_tag is not None:
            return
        data = data.replace(_BREAK, "\ufffd")
        if self._pre_depth:
            # Inside <pre> a line break is a real break, not layout.
            data = data.replace("\n", _BREAK)
        self.pieces.append(data)

    def close(self) -> None:
        super().close()
        self._break()
        self.pieces.pop()  # the marker `_break` added: only its check of the last block counts

    def _break(self) -> None:
        """A block edge: the block just ended is checked, then the marker is added."""
        if self._drop_boilerplate:
            block = "".join(self.pieces[self._segment_start :]).strip()
            if block:
                if _LABEL_ONLY.fullmatch(block):
                    self._drop_next_list = True
                    del self.pieces[self._segment_start :]
                    self.left_out.append(block)
                    self.dropped = True
                elif self._drop_next_list and _BULLET_LINE.match(block):
                    # The list written as lines after the label alone ("Related videos<br>▶
                    # Tripoli's militias<br>▶ ..."): each marked line is another item.
                    del self.pieces[self._segment_start :]
                    self.left_out.append(block)
                    self.dropped = True
                elif self._lists and _CLUSTER_END.fullmatch(block):
                    start = min(self._lists[-1], self._segment_start)
                    self.left_out.append("".join(self.pieces[start:]))
                    del self.pieces[start:]
                    self._lists[-1] = len(self.pieces)
                    self.dropped = self.cluster = True
                elif _LABELLED_BLOCK.match(block) or _FEED_FOOTER.fullmatch(block):
                    self._drop_next_list = False
                    del self.pieces[self._segment_start :]
                    self.left_out.append(block)
                    self.dropped = True
                elif block.replace(_BREAK, ""):
                    self._drop_next_list = False
        self.pieces.append(_BREAK)
        self._segment_start = len(self.pieces)


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment, as the article's own words.

    Script, style and comments are dropped, entities decoded, block elements (p, div, br,
    li, h1-h6, ...) become line breaks, other whitespace runs become one space. Tags and
    attribute values (URLs) never appear in the result. Hidden elements and what a CMS puts
    around an article (related-stories boxes and "Related: ...", "Read more: ..." lines:
    other articles' headlines; sharing buttons, newsletter and ad boxes; WordPress's "The
    post ... appeared first on ..." footer) are left out, unless nothing else is left: then
    they are the text. A tag list stays (it says what the article is about).
    """
    text = _visible_text(fragment)
    if "<" in text and "&lt;" in fragment.lower() and _ESCAPED_MARKUP.search(text):
        # The publisher escaped its HTML twice: what shows as "<p>...</p>" was meant as markup
        # (and the text of a "<script>" in it is not the article's).
        text = _visible_text(text)
    return text


# Markup in decoded text: an end tag or a line break, as no prose writes them.
_ESCAPED_MARKUP = re.compile(
    r"</(?:p|div|span|a|b|i|em|strong|li|ul|ol|h[1-6]|script|style|table|td|tr|figure"
    r"|blockquote)[ \t\n]*>|<br[ \t\n]*/?>",
    re.IGNORECASE,
)


def _visible_text(fragment: str) -> str:
    if not fragment:
        return ""
    if "<![CDATA[" in fragment:
        # A CDATA section inside HTML (a feed that wrapped its HTML twice, or escaped a
        # section): a browser hides it as a comment, but it is the article's text.
        fragment = fragment.replace("<![CDATA[", "").replace("]]>", "")
    if "<" not in fragment and "&" not in fragment:
        # No tag and no entity: the parser would hand the text back unchanged (one block: a
        # label would leave nothing else, and then it is the text).
        joined = fragment.replace(_BREAK, "\ufffd")
    else:
        joined = "".join(_visible_pieces(fragment))
    if _CONTROL.search(joined):
        joined = _CONTROL.sub("", joined)
    return _collapse_whitespace(joined)


# An entity left in decoded text: the source escaped it twice ("&amp;#39;", "&amp;quot;").
_LEFTOVER_ENTITY = re.compile(
    r"&(?:#[0-9]{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};|(?:amp|nbsp|quot)\b)"
)


def stand_in_title(summary: str, limit: int = 120) -> str:
    """A title for an entry that has none (feeds of short items often give only a
    description): the first sentence of its summary (HTML), cut at a word to at most
    ``limit`` characters with "…"; "" when it is empty."""
    text = html_to_text(summary)
    if not text:
        return ""
    start, end = next(iter_sentence_spans(text), (0, len(text)))
    return cut_at_word(" ".join(text[start:end].split()), limit)


def cut_at_word(text: str, limit: int) -> str:
    """``text``, or its start cut at a word to at most ``limit`` characters with "…"."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:") + "\u2026"


def decode_leftover_entities(text: str) -> str:
    """Decode the character references still in a decoded text (a title escaped twice shows
    "&#39;" to a reader where the character was meant), at most twice more (three levels
    of escaping). Names that are no entity ("&copy2;" is not) stay as they are."""
    for _ in range(2):
        if "&" not in text or not _LEFTOVER_ENTITY.search(text):
            break
        text = _LEFTOVER_ENTITY.sub(lambda match: unescape(match.group()), text)
    return text


# A start or end tag in the plain form that feeds use: ASCII name, attributes separated by
# whitespace, values quoted or simple words. Group 1 is the "/" of an end tag, group 2 the
# name. For such tags HTMLParser's rules are simple (see _visible_pieces).
_SIMPLE_TAG = re.compile(
    r"""<(/)?([a-zA-Z][a-zA-Z0-9]*)
    (?(1)[ \t\n\r\f]*
      | (?:[ \t\n\r\f]+[a-zA-Z][-a-zA-Z0-9_:.]*
            (?:="[^"<>]*"|='[^'<>]*'|=[-a-zA-Z0-9_.:]+(?=[ \t\n\r\f>]))?
        )*
        [ \t\n\r\f]*/?
    )>""",
    re.VERBOSE,
)
# A start tag after which the parser keeps state: hidden content, raw text (script, style)
# or <pre> line breaks. Loosely matched: a false alarm only means the parser is used.
_STATEFUL_START = re.compile(
    r"<(?:script|style|template|noscript|iframe|video|audio|pre)[ \t\n\r\f/>]",
    re.IGNORECASE | re.ASCII,
)


def _visible_pieces(fragment: str) -> list[str]:
    """The visible text pieces and break markers of a fragment, as _VisibleTextParser
    collects them.

    HTMLParser spends most of its time on bookkeeping (line numbers, attribute values that
    are never read). When every "<" opens a simple tag and no tag starts hidden content or
    <pre>, what it would collect is plain: each text between tags with its entities decoded,
    a break for each block tag (start, end or self-closing), nothing for other tags. That is
    built from one regex split (`_fast_pieces`); anything else, and what the parser would
    leave out something of, goes through the parser. Both paths give the same pieces
    (tests/unit/text/test_text_html_paths.py).
    """
    pieces = _fast_pieces(fragment)
    return pieces if pieces is not None else _article_parse(fragment).pieces


def _article_parse(fragment: str) -> _VisibleTextParser:
    """The parser's reading of ``fragment`` without what is not the article's own words,
    unless nothing else is left (a summary that is a list of links): then all of it. An
    aggregator's cluster of other outlets' headlines stays out even then: it is never this
    article's text (its own headline is the title)."""
    parser = _parsed(fragment, drop_boilerplate=True)
    if parser.dropped and not parser.cluster and not any(map(_has_word_char, parser.pieces)):
        parser = _parsed(fragment, drop_boilerplate=False)
    return parser


# A "<" that no ">" closes before the next "<": HTMLParser looks for the end of such a tag
# to the end of the input, once for each ("<a " a hundred thousand times: minutes).
_UNCLOSED_TAG = re.compile(r"<(?=[^<>]*(?:<|\Z))")
# Under this size the parser's rescans cost little, and it reads such "<" its own way.
_RESCAN_LIMIT = 2000


def _fast_pieces(fragment: str) -> list[str] | None:
    """The pieces by the regex split, or None where the parser is needed (see
    `_visible_pieces`) or would leave something out."""
    if _STATEFUL_START.search(fragment) or _needs_parser(fragment):
        return None
    # Input NULs become U+FFFD as in handle_data (decoding entities never makes a NUL).
    parts = _SIMPLE_TAG.split(fragment.replace(_BREAK, "\ufffd"))
    # [text, "/" or None, name, text, ...]: three parts per tag, one "<" in each tag.
    if len(parts) // 3 != fragment.count("<"):
        return None
    parts[0::3] = map(unescape, parts[0::3])
    parts[1::3] = [""] * (len(parts) // 3)
    parts[2::3] = map(_tag_piece, parts[2::3])
    return None if _labels_a_block(parts) else parts


def _tag_piece(name: str) -> str:
    """What a tag adds to the text on the fast path: a break, a space or nothing."""
    name = name.lower()
    return _BREAK if name in _BLOCK_TAGS else " " if name in _SPACED_TAGS else ""


def left_out_text(fragment: str) -> str:
    """What `html_to_text` leaves out of ``fragment`` as not the article's own words (hidden
    elements, related-stories and sharing boxes and lines, the feed footer), one block a
    line; "" when nothing is (`monitor explain` shows it: a name there does not count)."""
    if "<" not in fragment and "&" not in fragment or _fast_pieces(fragment) is not None:
        return ""  # html_to_text reads it whole
    lines = (" ".join(piece.split()) for piece in _article_parse(fragment).left_out)
    return "\n".join(line for line in lines if line)


def _parsed(fragment: str, drop_boilerplate: bool) -> _VisibleTextParser:
    if len(fragment) > _RESCAN_LIMIT and "<" in fragment:
        # Such a "<" is text (as the parser ends up reading it at the end of the input).
        fragment = _UNCLOSED_TAG.sub("&lt;", fragment)
    parser = _VisibleTextParser(drop_boilerplate)
    parser.feed(fragment)
    parser.close()
    return parser


def _has_word_char(piece: str) -> bool:
    return any(is_word_char(char) for char in piece)


def _collapse_whitespace(text: str) -> str:
    """Each whitespace run as a browser shows it: a line break if it holds a block edge or a
    blank line, else one space; the text trimmed."""
    # Done with C-level string operations rather than a regex callback per run: most runs are
    # the single space between two words, which stays as it is.
    if text.count("\n") >= 2:
        text = _BLANK_LINE.sub(_BREAK, text)  # the run now holds a break marker
    if _BREAK in text:
        # A run that holds a break marker becomes exactly one marker.
        trimmed = (segment.strip(_LAYOUT_WHITESPACE) for segment in text.split(_BREAK))
        text = _BREAK.join(segment for segment in trimmed if segment)
    for char in "\t\r\n\f\v":
        text = text.replace(char, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text.replace(_BREAK, "\n").strip(" \n")


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
    # hyphens and dashes are word separators: "al-Sarraj" is "al Sarraj"; so is the
    # underscore, which joins the words of a hashtag ("#الجيش_الوطني_الليبي", "#Port_Sudan")
    "_": " ", "-": " ", "\u2010": " ", "\u2011": " ", "\u2012": " ", "\u2013": " ", "\u2014": " ",
    "\u2015": " ", "\u2212": " ", "\ufe63": " ", "\uff0d": " ",
    # the middle dot between the parts of a foreign name in Chinese and Japanese
    # ("萨达姆·哈夫塔尔", "サダム・ハフタル")
    "\u00b7": " ", "\u30fb": " ", "\uff65": " ",
    # Arabic letter variants
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",  # alef forms
    "\u0649": "\u064a",  # alef maqsura -> yeh
    "\u0629": "\u0647",  # taa marbuta -> heh
    "\u06cc": "\u064a",  # Farsi yeh -> yeh
    "\u06a9": "\u0643",  # keheh -> kaf
    "\u0624": "\u0648",  # waw with hamza -> waw
    "\u0626": "\u064a",  # yeh with hamza -> yeh
    # Latin letters with a stroke, which NFKD does not take apart (Maltese "Ħaftar")
    "\u0127": "h", "\u0126": "H", "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D",
    "\u00f8": "o", "\u00d8": "O", "\u0167": "t", "\u0166": "T",
    "\t": " ", "\r": " ", "\f": " ", "\v": " ",
}  # fmt: skip

_ASCII_FOLD = {ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_ASCII_FOLD.update({ord("-"): ord(" "), ord("_"): ord(" "), 9: 32, 13: 32, 12: 32, 11: 32})
_ASCII_KEEP_CASE = {ord("-"): ord(" "), ord("_"): ord(" "), 9: 32, 13: 32, 12: 32, 11: 32}


def _fold_char(char: str, casefold: bool) -> str:
    """What one character becomes: NFKC, case fold, marks stripped, variants unified."""
    if char in _DROPPED:
        return ""
    if char in _REPLACED:
        return _REPLACED[char].casefold() if casefold else _REPLACED[char]
    category = unicodedata.category(char)
    if category == "Zs" or category in ("Zl", "Zp"):
        return " " if category == "Zs" else "\n"
    if category == "Cf":
        return ""
    if category in ("Mn", "Me"):
        return ""  # combining marks: Latin accents written apart, Arabic harakat
    if category == "No" and unicodedata.decomposition(char).startswith(("<super>", "<sub>")):
        return " "  # a footnote's number after a word ("Haftar¹²"): not part of it
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


# Characters remembered by a fold table; past this, new characters are folded but not kept
# (a text made of every code point must not grow the table without bound).
_MAX_REMEMBERED_CHARS = 65536


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table filled on first use: code point -> what the char becomes.

    Translating a whole text in C is what makes normalisation fast; the table also knows
    which characters do not become exactly one character, so a caller can tell cheaply
    whether a text's offset map is the identity.
    """

    def __init__(self, casefold: bool, ascii_table: dict[int, int]) -> None:
        # ASCII as the ASCII table says (the same as _fold_char, without its cost).
        super().__init__({code: chr(ascii_table.get(code, code)) for code in range(128)})
        self._casefold = casefold
        self._irregular: set[str] = set()  # chars that become zero or several chars
        # A character class of the irregular chars and how many it covers, replaced as one
        # value so that threads sharing the table never see a pattern with a wrong count.
        self._irregular_pattern: tuple[re.Pattern[str] | None, int] = (None, 0)

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _fold_char(char, self._casefold)
        if len(folded) != 1:
            # Recorded before the table entry exists: whoever finds the entry also finds
            # the char here (another thread may translate with this table at the same time).
            self._irregular.add(char)
        if len(self) < _MAX_REMEMBERED_CHARS:
            self[code] = folded
        return folded

    def one_to_one(self, text: str) -> bool:
        """Whether every char of ``text`` (already translated with this table) became one."""
        pattern, covers = self._irregular_pattern
        if covers != len(self._irregular):
            # Recompiled at most once per call, only after new irregular chars were met.
            chars = sorted(self._irregular.copy())
            pattern = re.compile("[" + "".join(re.escape(char) for char in chars) + "]")
            self._irregular_pattern = (pattern, len(chars))
        return pattern is None or pattern.search(text) is None


_FOLD_TABLES = {True: _FoldTable(True, _ASCII_FOLD), False: _FoldTable(False, _ASCII_KEEP_CASE)}


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A normalised copy of a text; ``starts[i]``/``ends[i]`` give the source span of char i.

    When every char became exactly one char (the usual case) the map is the identity and is
    held as two ``range`` objects instead of two tuples with an entry per char.
    """

    text: str
    starts: Sequence[int]
    ends: Sequence[int]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the source text that normalised chars ``start:end`` came from."""
        return self.starts[start], self.ends[end - 1]


# Letters of Latin, Cyrillic and Greek that look alike, as their folded forms (upper case
# first: "Н" looks like "H" only in capitals). A word of one script with a few letters of
# another, by a typist's keyboard layout or on purpose ("Hаftаr" with Cyrillic а, "LNА",
# "Тrиполи" with a Latin T), is read in the script most of its letters are in.
_LOOKALIKES = (  # Latin, Cyrillic, Greek; "" where a script has none
    ("A", "А", "Α"), ("a", "а", "α"), ("B", "В", "Β"), ("b", "в", "β"), ("C", "С", "Ϲ"),
    ("c", "с", "ϲ"), ("E", "Е", "Ε"), ("e", "е", "ε"), ("h", "һ", ""), ("H", "Н", "Η"),
    ("h", "н", "η"), ("I", "І", "Ι"), ("i", "і", "ι"), ("J", "Ј", ""), ("j", "ј", ""),
    ("K", "К", "Κ"), ("k", "к", "κ"), ("M", "М", "Μ"), ("m", "м", "μ"), ("N", "", "Ν"),
    ("n", "", "ν"), ("O", "О", "Ο"), ("o", "о", "ο"), ("P", "Р", "Ρ"), ("p", "р", "ρ"),
    ("S", "Ѕ", ""), ("s", "ѕ", ""), ("T", "Т", "Τ"), ("t", "т", "τ"), ("X", "Х", "Χ"),
    ("x", "х", "χ"), ("Y", "У", "Υ"), ("y", "у", "υ"), ("Z", "", "Ζ"), ("z", "", "ζ"),
)  # fmt: skip
_SCRIPTS = ("latn", "cyrl", "grek")
_TO_SCRIPT: dict[str, dict[int, int]] = {
    script: {
        ord(row[other]): ord(row[column])
        for row in _LOOKALIKES
        if row[column]
        for other in range(3)
        if other != column and row[other]
    }
    for column, script in enumerate(_SCRIPTS)
}
_SCRIPT_RANGES = (("latn", "a", "z"), ("latn", "A", "Z"), ("cyrl", "\u0400", "\u04ff"),
                  ("grek", "\u0370", "\u03ff"))  # fmt: skip
# Where two scripts meet inside a word.
_SCRIPTS_MEET = re.compile(
    "[A-Za-z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][A-Za-z]"
    "|[\u0370-\u03ff][\u0400-\u04ff]|[\u0400-\u04ff][\u0370-\u03ff]"
)


def _script(char: str) -> str | None:
    for name, low, high in _SCRIPT_RANGES:
        if low <= char <= high:
            return name
    return None


def _one_script_words(text: str) -> str:
    """``text`` with each word that mixes Latin, Cyrillic and Greek letters written in the
    script most of its letters are in, as far as the other letters look alike (one
    character for one: the offset map stays as it is). A tie is left as written."""
    if text.isascii():
        return text
    meet = _SCRIPTS_MEET.search(text)
    if meet is None:
        return text
    chars = list(text)
    while meet is not None:
        # The word around where the scripts meet; the next search starts after it.
        start = meet.start()
        while start > 0 and chars[start - 1].isalpha():
            start -= 1
        end = meet.end()
        while end < len(chars) and chars[end].isalpha():
            end += 1
        counts: dict[str, int] = {}
        for char in chars[start:end]:
            if (script := _script(char)) is not None:
                counts[script] = counts.get(script, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: -item[1])
        if len(ranked) > 1 and ranked[0][1] > ranked[1][1]:
            table = _TO_SCRIPT[ranked[0][0]]
            chars[start:end] = "".join(chars[start:end]).translate(table)
        meet = _SCRIPTS_MEET.search(text, end)
    return "".join(chars)


def normalize_text(text: str, *, casefold: bool = True) -> NormalizedText:
    """Normalise for matching and keep the way back to ``text``.

    NFKC, case folding (unless ``casefold`` is false), Latin diacritics stripped, typographic
    quotes unified, hyphens/dashes, underscores and name middle dots (·・) as spaces, soft hyphens,
    zero-width chars and tatweel removed, NBSP as space, Arabic alef/yeh/taa marbuta variants
    unified, harakat removed. A removed combining mark is counted into the span of the
    character before it.
    """
    table = _FOLD_TABLES[casefold]
    folded = text.translate(table)
    if len(folded) == len(text) and table.one_to_one(text):
        folded = _one_script_words(folded)
        return NormalizedText(folded, range(len(text)), range(1, len(text) + 1))
    # Some char was dropped or expanded: build the map char by char.
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        folded_char = table[ord(char)]
        if folded_char:
            out.append(folded_char)
            starts.extend([index] * len(folded_char))
            ends.extend([index + 1] * len(folded_char))
        elif ends and unicodedata.category(char)[0] == "M" and ends[-1] == index:
            ends[-1] = index + 1
    return NormalizedText(_one_script_words("".join(out)), tuple(starts), tuple(ends))


def normalized(text: str, *, casefold: bool = True) -> str:
    """``normalize_text(text, casefold=casefold).text`` without the map back to ``text``: the
    same string, a third of the time (the watchlist's keys: 16,000 of them at every start)."""
    return _one_script_words(text.translate(_FOLD_TABLES[casefold]))


def is_word_char(char: str) -> bool:
    """True for letters, digits and marks of any script: what a whole word is made of."""
    return unicodedata.category(char)[0] in "LNM"


# --- sentences -------------------------------------------------------------------------

# Candidate sentence ends: terminal punctuation, closing quotes/brackets (after a space too,
# as French writes « ... ! »), then whitespace;
# or a line break (block edges from html_to_text).
# Chinese and Japanese end a sentence with 。！？ and no space after it; Hindi with ।
_TERMINAL_PUNCTUATION = ".!?\u2026\u061f\u0964\u3002\uff01\uff1f"
# A match starts only where a run of marks starts, and takes the run whole (possessive): a
# run of 100,000 dots with no space after it is one failed try, not one per dot, each over
# the rest of the run (quadratic: "..." repeated in 30 KB held a parse worker 12 s).
_SENTENCE_END = re.compile(
    r"(?<![.!?\u2026\u061f\u0964\u3002])[.!?\u2026\u061f\u0964\u3002]++"
    r"(?:[ \t\u00a0\u202f]?[\"'\u2019\u201d\u00bb)\]])*+[ \t]+"
    r"|(?<![\u3002\uff01\uff1f])[\u3002\uff01\uff1f]++[\u300d\u300f\u201d\u2019\uff09)]*+"
    r"|\n+"
)
_ABBREVIATIONS = frozenset(
    {
        "adm", "brig", "capt", "cmdr", "col", "cpl", "dr", "e.g", "fr", "gen", "gov",
        "hon", "i.e", "jr", "lt", "maj", "messrs", "mme", "mlle", "mr", "mrs", "ms", "mt",
        "pres", "prof", "rep", "rev", "sen", "sgt", "sr", "st", "vs", "jan", "feb", "mar", "apr",
        "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "dept", "est", "inc",
        "ltd", "corp", "cf", "mgr", "sheikh",
        # Italian and Spanish titles ("il sig. Serraj", "la Sra. Pérez")
        "sig", "sigg", "dott", "avv", "ing", "geom", "mons", "sra", "srta",
        # French ranks and titles ("le gén. Goïta", "le lt-col. Maïga", "le Pr. Keïta")
        "gén", "lt-col", "lcl", "cdt", "cmdt", "cne", "pr",
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
    return list(iter_sentence_spans(text))


def iter_sentence_spans(text: str, *, wrapped_lines: bool = False) -> Iterator[tuple[int, int]]:
    """``sentence_spans`` one at a time: a caller that needs only the first sentences (those
    up to its last mention) does not pay for the rest of the text.

    ``wrapped_lines``: a line break in the middle of a sentence (`is_wrapped_line`) does not
    end it, as when a feed breaks its lines with <br> ("Forces loyal to<br>the marshal
    advanced ...")."""
    start = 0
    for found in _SENTENCE_END.finditer(text):
        found_start, found_end = found.span()
        if text[found_start] == "\n":
            if wrapped_lines and is_wrapped_line(text, found_start, found_end):
                continue
            end = found_start
        else:
            if found_end < len(text) and text[found_end].islower():
                continue
            punct_end = found_start
            while punct_end < found_end and text[punct_end] in _TERMINAL_PUNCTUATION:
                punct_end += 1
            if punct_end - found_start == 1 and text[found_start] == ".":
                if _is_abbreviation(text, found_start):
                    continue
            end = found_end
        span = _trimmed(text, start, end)
        if span is not None:
            yield span
        start = found_end
    span = _trimmed(text, start, len(text))
    if span is not None:
        yield span


# What may end a line that a sentence goes on after: a word's last letter or digit, or a mark
# that never ends a sentence.
_WRAPPING_MARKS = frozenset(",;-\u2013\u2014(\u060c")


def is_wrapped_line(text: str, break_start: int, break_end: int) -> bool:
    """True when the line break ``text[break_start:break_end]`` is in the middle of a sentence:
    the line before ends with a comma (or another mark that never ends a sentence), or ends
    in a letter or digit and the next line starts in lower case ("Forces loyal to<br>the
    marshal"). A line that ends otherwise stays a line of its own: a heading, a caption, a
    list item or a table cell ("Haftar forces advance on the capital" / "Residents fled"),
    which html_to_text also ends with a line break."""
    before = break_start
    while before > 0 and text[before - 1] in " \t":
        before -= 1
    if before == 0 or break_end >= len(text):
        return False
    last = text[before - 1]
    if last in _WRAPPING_MARKS:
        return True
    return is_word_char(last) and text[break_end].islower()


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
