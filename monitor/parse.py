"""Turn a fetched feed body (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) into frozen entries, with feedparser.

Pure: no I/O. Text fields come back as unsanitised HTML fragments (see docs/interfaces.md).
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from monitor.codepages import SAMPLE_BYTES, latin_code_page
from monitor.dates import entry_date
from monitor.errors import ParseError
from monitor.plural import plural
from monitor.redact import (
    MIN_ENTRY_CREDENTIAL_CHARS,
    NAMED_FEED,
    NAMED_FEED_END,
    mask_credentials_of,
    suggested_url,
    without_credentials,
)
from monitor.schedule import feed_hint
from monitor.text import cut_at_word

__all__ = ["FeedEntry", "ParsedFeed", "canonical_url", "parse_feed", "story_fingerprint"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PLAIN_TYPE = "text/plain"
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+=*")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_BOZO_REASON_MAX_CHARS = 200
# A feed lists its latest entries (20 to a few hundred); more is an archive, or a hostile
# document packing 250,000 small items into 10 MB (1.7 GB and two minutes to read them
# all): only the newest this many are read.
MAX_ENTRIES = 1000
# Longer than any real one: a title past this is cut at a word (it is stored and sent; a
# feed's 9 MB title took 18 MB of database), a link past this is not a link (servers refuse
# a request line much over 8 KB) and the entry is kept without one (a 5 MB link went out in
# every alert).
MAX_TITLE_CHARS = 2000
MAX_LINK_CHARS = 8192

# Query parameters that only say where a click came from; dropping them makes the same
# article reached through different campaigns one URL. Compared case-insensitively.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ocid",
        "cmpid",
        "cmp",
        "xtor",
        "__twitter_impression",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "li_fat_id",
        "s_cid",
        "smid",
        "ito",
        "ref_src",
        "rss_source",
        "ref",
        "ncid",
        "icid",
        "yptr",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "soc_src",
        "soc_trk",
    }
)
# Session ids that servers put in every link they write, different on every request: kept,
# they make each poll's links new ones, and the same articles new articles. Only names that
# are never anything else; ``sid`` is left alone (a story's id in some news CMSs).
_SESSION_PARAMS = frozenset({"jsessionid", "phpsessid", "sessionid", "session_id", "oscsid"})
# The same as a path parameter (``/news/17;jsessionid=0A1B``), which Java servers write.
_SESSION_PATH_PARAM = re.compile(r";(?:jsessionid|phpsessid|sessionid)=[^/;]*", re.I)
_TRACKING_PREFIXES = ("utm_", "at_medium", "at_campaign", "at_custom", "at_link", "at_format")

# A tag holds no "<": "<a <a <a ..." is not one tag per "<", each scanned to the end of the
# text for its ">" (quadratic: 120 KB of it took a second, 1 MB minutes).
_TAG = re.compile(r"<[^<>]*>")
_HTML_PAGE = re.compile(rb"<!doctype\s+html|<html[\s>]", re.I)

# What no database text column takes: NUL (PostgreSQL refuses it) and lone surrogates (not
# encodable in UTF-8). Each becomes U+FFFD, as an HTML parser makes of them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_REPLACEMENT = "\ufffd"
# Numeric character references that may name one of those, or no character at all (past
# U+10FFFF): values below 0x1000 (hex) or 10000 (decimal) can only be bad when zero, so only
# longer ones and zeros are looked at. feedparser's fallback parser crashes on them.
_SUSPECT_CHARREF = re.compile(rb"&#(?:[xX]0*([0-9a-fA-F]{4,}|0)|0*([0-9]{5,}|0));")
_REPLACEMENT_CHARREF = b"&#xFFFD;"
# A bare "&" (not the start of a character or entity reference), as sloppy feeds write
# "Q&A", "AT&T", "R&D": not well-formed XML, and feedparser's fallback parser reads "&A" as
# the reference "&A;" ("Q&A;"). Written "&amp;" before parsing, outside CDATA sections.
_BARE_AMPERSAND = re.compile(rb"&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z_][-.A-Za-z0-9_]*;)")
_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed. ``title``, ``summary`` and ``content`` are HTML fragments.

    ``key`` identifies the entry within its feed across polls: the guid/id, else the
    canonical link, else ``sha256:`` of the title and summary. ``content_hash`` is the
    SHA-256 of the title, summary and content as parsed (each NFC, whitespace runs made one
    space): it changes with the text, never with the dates.
    """

    key: str
    url: str | None
    title: str
    summary: str
    content: str
    published: datetime | None
    updated: datetime | None
    content_hash: str
    # Words of its title, summary and content together (markup aside).
    words: int = 0
    # SHA-256 of the same text without its markup (`content_hash` counts an image's
    # address: a tracking pixel's or a CDN's, new at every request, made a new text).
    text_hash: str = ""

    @property
    def fingerprint(self) -> str:
        """The story this entry tells, whatever its key: see `story_fingerprint`. Its link
        counts only for a short text (under `TEXT_WORDS` words): one of that length is this
        entry's alone, whatever link a server writes (a cache-buster or session in the path
        of a feed without guids made every poll store and alert it again: an outside
        probe), where "Photos of the day" under two links are two entries."""
        url = None if self.words >= TEXT_WORDS else self.url
        return story_fingerprint(url, self.content_hash)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Every fingerprint that names this entry's story: `fingerprint`, and one of its
        text without markup (an invisible tracking pixel or a CDN's image address, new at
        every request, made every poll a new story: an outside probe) -- for a short text,
        together with its time of publication, as its link is not counted then. A server
        that writes a new cache-buster into the link (and the guid that is the link) on
        every request made every poll store and alert a short entry again (an outside
        probe); one that gives an entry a new guid and a new date keeps its link. Either
        way one of the two is the same; two short entries of one text are still two when
        both their links and their times differ."""
        text = self.text_hash or self.content_hash
        if self.words >= TEXT_WORDS:
            return (self.fingerprint, story_fingerprint("text:", text))
        if self.published is None:
            return (self.fingerprint,)
        at = self.published.astimezone(UTC).isoformat()
        return (self.fingerprint, story_fingerprint(f"published:{at}", text))

    @property
    def edit_fingerprint(self) -> str | None:
        """Its link and its time of publication, without its text: an entry under a new
        guid with the link and the time of a stored one is that article edited (a live
        headline's "updated 10:14 GMT", a reader count in its first line), compared with
        it as an edit is (an outside probe: such a feed alerted every sink at every
        poll). None without a link or a time."""
        if self.url is None or self.published is None:
            return None
        at = self.published.astimezone(UTC).isoformat()
        return story_fingerprint(self.url, f"edited:{at}")

    @property
    def remembered(self) -> tuple[str, ...]:
        """The fingerprints the entry is remembered by: its story's (`fingerprints`) and its
        link and time (`edit_fingerprint`)."""
        edit = self.edit_fingerprint
        return self.fingerprints if edit is None else (*self.fingerprints, edit)

    @property
    def link_fingerprint(self) -> str:
        """`story_fingerprint` of the link and the text, whatever the length: the story as
        recorded before the link stopped counting for long texts (2026-12-06)."""
        return story_fingerprint(self.url, self.content_hash)


TEXT_WORDS = 25
"""An entry's title, summary and content together with at least this many words are its
story whatever its link (`FeedEntry.fingerprint`)."""


@dataclass(frozen=True)
class ParsedFeed:
    """A feed as read: its title (HTML fragment), home link and entries in document order.

    ``bozo`` is true when the document was malformed but still readable; ``bozo_reason``
    then says why in a few words. ``note`` says what of a well-formed feed was not read as
    written (entries past `MAX_ENTRIES`, dates no reader knows), or is None.
    """

    title: str
    link: str | None
    entries: tuple[FeedEntry, ...]
    bozo: bool
    bozo_reason: str | None
    note: str | None = None
    # The feed's own hint of how often it changes (RSS ttl, sy:updatePeriod/Frequency).
    update_hint: timedelta | None = None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse ``body`` fetched from ``url`` (sent with ``content_type``) into a ParsedFeed.

    Raises ParseError naming ``url`` when the body is not a feed at all (empty, an HTML
    page, garbage) or is so malformed that nothing could be read from it. An entry that
    repeats an earlier one of the same document (same key, link and text) is dropped; a key
    that different entries share is not used as their key (`_unshared_keys`).
    """
    if not body.strip():
        raise ParseError(url, "empty body: not an RSS or Atom feed")

    # Links are resolved against the feed URL without its credentials (userinfo, secret query
    # parameters): an entry's key or link never inherits them.
    base = without_credentials(url)
    mask = mask_credentials_of(url, min_chars=MIN_ENTRY_CREDENTIAL_CHARS)
    response_headers = {"content-location": base}
    if content_type:
        response_headers["content-type"] = content_type
    # A byte order mark says the encoding of a JSON Feed too (one in UTF-16 was refused as
    # naming no jsonfeed.org version: probe67).
    body = _utf8_if_bom(body, response_headers)
    if _is_json_feed(body):
        return _parsed_entries(_json_feed(body, url, content_type), body, base, mask, url, None)
    body, wide_declared = _utf8_declared_wide(body, response_headers)
    body, stray, stray_code_page = _utf8_with_stray_bytes(body, response_headers)
    if b"&#" in body:
        body = _SUSPECT_CHARREF.sub(_charref_replacement, body)
    escaped = False
    if b"&" in body:
        repaired = _escape_bare_ampersands(body)
        escaped, body = repaired is not body, repaired
    result = _feedparser(body, url, response_headers)
    bozo_reason = _bozo_reason(result)
    if escaped:
        note = "not well-formed: a bare '&' (read as '&amp;')"
        bozo_reason = f"{note}; {bozo_reason}" if bozo_reason else note
    if wide_declared:
        note = f"declared {wide_declared}, but the bytes are UTF-8: read as UTF-8"
        bozo_reason = f"{note}; {bozo_reason}" if bozo_reason else note
    if stray:
        note = (
            f"UTF-8 with {stray} stray {'byte' if stray == 1 else 'bytes'} of another "
            f"encoding (read as {stray_code_page})"
        )
        bozo_reason = f"{note}; {bozo_reason}" if bozo_reason else note
    detected = _detected_encoding(result, body)
    if detected is not None:
        note = f"the bytes are {detected}: read as {detected}"
        # feedparser's reason, when it has one, says what was declared and what it fell
        # back to; a wrong label that decoded without error leaves it none.
        used = str(_get(result, "encoding") or "")
        bozo_reason = f"{bozo_reason}; {note}" if bozo_reason else f"declared {used}, but {note}"
        response_headers["content-type"] = f"application/xml; charset={detected}"
        result = _feedparser(body, url, response_headers)
    return _parsed_entries(result, body, base, mask, url, bozo_reason)


def _parsed_entries(
    result: Mapping[str, Any],
    body: bytes,
    base: str,
    mask: Callable[[str], str],
    url: str,
    bozo_reason: str | None,
) -> ParsedFeed:
    """The feed of a parse result (feedparser's, or `_json_feed`'s in its shape)."""
    version = str(_get(result, "version") or "")
    raw_entries: list[Mapping[str, Any]] = list(_get(result, "entries") or [])
    feed_info: Mapping[str, Any] = _get(result, "feed") or {}
    notes: list[str] = []  # not malformed, but not read as written
    if len(raw_entries) > MAX_ENTRIES:
        notes.append(f"{len(raw_entries)} entries: only the newest {MAX_ENTRIES} are read")
        raw_entries = _newest(raw_entries, MAX_ENTRIES)
    if version.startswith("json") and version not in _JSON_FEED_VERSIONS:
        # A version this one does not know (there is no "2"): read as 1.1 is, and said.
        notes.append(
            f"a JSON Feed of version {version.removeprefix('json')!r}, which is not 1 or "
            "1.1: read as 1.1"
        )

    if not version and not raw_entries:
        raise ParseError(url, _unreadable_message(body, bozo_reason, url))
    feed_title = _text_field(feed_info, "title")
    if bozo_reason is not None and not raw_entries and not feed_title:
        raise ParseError(url, f"malformed feed with nothing readable in it ({bozo_reason})")
    if _cut_short(result):
        # Its first part parses; taken for the whole feed, the entries cut off would come
        # back as new ones at the next poll (old news alerted after a store_only first run).
        raise ParseError(
            url,
            f"the feed ends before its XML does: it was cut short ({bozo_reason}); "
            "it is polled again later",
        )

    written = _written_in(body)
    built = [_build_entry(raw_entry, base, mask, written) for raw_entry in raw_entries]
    unread = _unread_dates(raw_entries, built)
    if unread:
        example = _storable(unread[0])[:80]
        notes.append(
            f"{plural(len(unread), 'entry', 'entries')} with a date that is not read as one "
            f"(e.g. {example!r}): stored as undated"
        )
    entries: list[FeedEntry] = []
    seen_keys: set[str] = set()
    for entry in _unshared_keys([entry for entry in built if entry is not None]):
        if entry.key in seen_keys:
            continue
        seen_keys.add(entry.key)
        entries.append(entry)

    return ParsedFeed(
        title=feed_title,
        link=_http_url(_get(feed_info, "link"), base),
        entries=tuple(entries),
        bozo=bozo_reason is not None,
        bozo_reason=bozo_reason,
        note="; ".join(notes) or None,
        update_hint=feed_hint(
            _get(feed_info, "ttl"),
            _get(feed_info, "sy_updateperiod"),
            _get(feed_info, "sy_updatefrequency"),
        ),
    )


def _is_json_feed(body: bytes) -> bool:
    """A JSON Feed (https://jsonfeed.org, versions 1 and 1.1): a JSON object naming it."""
    return body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" and (
        b"jsonfeed.org/version" in body[:4096]
    )


def _json_feed(body: bytes, url: str, content_type: str | None = None) -> dict[str, Any]:
    """A JSON Feed in the shape of feedparser's result, for the same entry building: each
    item's ``id``, ``url`` (its own page; ``external_url`` only without one), ``title``,
    ``summary``, ``content_html`` and ``content_text`` (plain text, escaped as such),
    ``date_published`` and ``date_modified``. ParseError when it is no JSON object with a
    list of items. JSON Feeds are UTF-8; one that is not is read in the charset its server
    declared, if any (a JSON Feed in windows-1256 so declared was refused without a word of
    the charset: probe67)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        declared = _CHARSET.search(content_type or "")
        try:
            text = body.decode(declared.group(1) if declared else "utf-8")
        except (LookupError, UnicodeDecodeError):
            said = f" (its server declared {declared.group(1)})" if declared else ""
            raise ParseError(url, f"a JSON Feed that is not UTF-8{said}: {error}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ParseError(url, f"a JSON Feed that is not valid JSON ({error})") from None
    except RecursionError:
        # Arrays or objects nested deeper than Python's parser goes (probe66 F6: an
        # internal error with a traceback, at a publisher's will).
        raise ParseError(url, "a JSON Feed nested too deeply to read") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ParseError(url, "a JSON Feed without a list of items")
    entries: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        # A URL is a string: a number ("url": 12345) is no link, not a path of the feed's host.
        link = _json_string(item.get("url")) or _json_string(item.get("external_url"))
        summary = _json_text(item.get("summary"))
        content = [
            {"value": value, "type": kind}
            for value, kind in (
                (_json_text(item.get("content_html")), "text/html"),
                (_json_text(item.get("content_text")), _PLAIN_TYPE),
            )
            if value
        ]
        entries.append(
            {
                "id": _json_text(item.get("id")),
                "link": link or None,
                "title": _json_text(item.get("title")),
                "title_detail": {"type": _PLAIN_TYPE},
                "summary": summary,
                "summary_detail": {"type": _PLAIN_TYPE} if summary else None,
                "content": content,
                "published": _json_text(item.get("date_published")) or None,
                "updated": _json_text(item.get("date_modified")) or None,
            }
        )
    feed = {"title": _json_text(data.get("title")), "link": _json_text(data.get("home_page_url"))}
    version = str(data.get("version", "")).rsplit("/", 1)[-1]
    return {"version": f"json{version}", "entries": entries, "feed": feed, "bozo": False}


_JSON_FEED_VERSIONS = frozenset({"json1", "json1.1"})


def _json_string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_text(value: object) -> str:
    """A JSON value as text: a string, or a number (an id written as one); else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _unread_dates(raw_entries: list[Mapping[str, Any]], built: list[FeedEntry | None]) -> list[str]:
    """The date texts of entries left undated although their feed wrote a date (a form or
    a language no reader knows, a placeholder, an impossible day): said in the feed's
    ``bozo_reason``, so that `monitor sources` shows why its entries have no date."""
    unread = []
    for raw, entry in zip(raw_entries, built, strict=True):
        if entry is None or entry.published is not None or entry.updated is not None:
            continue
        text = _get(raw, "published") or _get(raw, "updated")
        if isinstance(text, str) and text.strip():
            unread.append(text.strip())
    return unread


def story_fingerprint(url: str | None, content_hash: str) -> str:
    """SHA-256 of an entry's canonical link ("" when it has none) and its ``content_hash``.

    Two entries of one feed with the same fingerprint are the same story under two keys: the
    same link and the same title, summary and content, only the guid (or dates) differ.
    Entries with the same title but another link, or the same link but another text (a
    daily briefing at a fixed URL), are different stories.
    """
    return hashlib.sha256(f"{url or ''}\x1f{content_hash}".encode()).hexdigest()


# What a URL may not hold as it is (WHATWG's percent-encode sets): spaces, controls, quotes,
# angle brackets and the like, which a feed writes raw in a link (`/news/a b.html`).
_UNSAFE_IN_URL = re.compile(r'[\x00-\x20"<>\\^`{|}\x7f]')


def sendable_link(url: str) -> str:
    """``url`` with what a URL may not hold as it is percent-encoded (a space as ``%20``), so
    that an alert's link is one token a receiver, a chat app or a browser reads whole; other
    characters (letters of any script, ``%`` escapes already there) are kept."""
    if not _UNSAFE_IN_URL.search(url):
        return url
    return _UNSAFE_IN_URL.sub(lambda found: f"%{ord(found.group()):02X}", url)


def canonical_url(url: str) -> str:
    """Normalise an absolute URL so the same article found by different links compares equal.

    Lower-cases scheme and host, drops userinfo (``user:password@``: credentials are never
    stored with an article), the default port, the fragment (unless it is a route of a web
    app: ``#/news/1``, ``#!/news/2``, where it names the page), tracking query parameters
    (``utm_*``, ``fbclid``, ...), session ids (``;jsessionid=...``, ``PHPSESSID``) and an
    empty query; keeps the order of the remaining query parameters. A URL that cannot be
    split is returned stripped.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return _canonical(parts)[0]


def _canonical(parts: SplitResult) -> tuple[str, str]:
    """The canonical form of a split URL and its host (without brackets; "" when none)."""
    scheme = parts.scheme.lower()
    netloc, host = canonical_netloc(parts.netloc, scheme)
    path = parts.path
    if ";" in path:
        path = _SESSION_PATH_PARAM.sub("", path)
    if scheme in _DEFAULT_PORTS and netloc and not path:
        path = "/"
    query = parts.query
    if query:
        query = "&".join(
            piece for piece in query.split("&") if piece and not _is_tracking_param(piece)
        )
    fragment = parts.fragment if parts.fragment.startswith(_ROUTES) else ""
    return urlunsplit((scheme, netloc, path, query, fragment)), host


# A fragment that names the page of a web app rather than a place in one ("#/news/1",
# "#!/news/2"): dropped, every article of such a site linked to its home page.
_ROUTES = ("/", "!/")


def canonical_netloc(netloc: str, scheme: str) -> tuple[str, str]:
    """``host:port`` with the host in lower case, without userinfo, a trailing dot or the
    scheme's default port; and the bare host."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, bracket, port = hostport.partition("]")
        host = host.lower() + bracket
        port = port.removeprefix(":")
        bare_host = host.strip("[]")
    else:
        host, _, port = hostport.partition(":")
        host = bare_host = host.lower().rstrip(".")
    if port and port.isdigit() and int(port) == _DEFAULT_PORTS.get(scheme):
        port = ""
    rebuilt = f"{host}:{port}" if port else host
    return rebuilt, bare_host


def _is_tracking_param(piece: str) -> bool:
    name = piece.partition("=")[0].lower()
    return (
        name in _TRACKING_PARAMS
        or name in _SESSION_PARAMS
        or name.startswith(_TRACKING_PREFIXES)
        or name.startswith("aspsessionid")
    )


# Byte order marks, UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# An XML declaration in UTF-16 without a mark: its first two characters, "<?", tell the
# byte order (XML 1.0, appendix F); feedparser refused the big-endian one.
_UTF16_DECLARATIONS = ((b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le"))
_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?\sencoding\s*=\s*)(["'])[^"']*\2""")


def _utf8_if_bom(body: bytes, response_headers: dict[str, str]) -> bytes:
    """A UTF-16 or UTF-32 body with a byte order mark, or a UTF-16 one that starts with its
    XML declaration, as UTF-8: the mark (or "<?") says the encoding whatever the labels say
    (XML 1.0, appendix F; RFC 7303), and feedparser refused some such bodies under right
    labels. The labels are made to say UTF-8. Else ``body``."""
    marks = [(bom, encoding, len(bom)) for bom, encoding in _BOMS]
    marks += [(start, encoding, 0) for start, encoding in _UTF16_DECLARATIONS]
    for bom, encoding, skipped in marks:
        if body.startswith(bom):
            try:
                text = body[skipped:].decode(encoding)
            except UnicodeDecodeError:
                return body
            utf8 = _XML_ENCODING.sub(rb"\1\2utf-8\2", text.encode("utf-8"), count=1)
            response_headers["content-type"] = "application/xml; charset=utf-8"
            return utf8
    return body


def _utf8_declared_wide(body: bytes, response_headers: dict[str, str]) -> tuple[bytes, str]:
    """A body whose XML declaration says UTF-16 or UTF-32 but whose bytes are UTF-8 (no byte
    order mark, no NUL byte: what .NET writes through a StringWriter), with a declaration
    that says UTF-8, and the name it declared; else ``body`` and "". Read as declared, the
    whole feed was refused as "not an RSS or Atom feed" (an outside probe, probe67); browsers
    and libxml2 read it as UTF-8."""
    declared = _XML_DECLARED.match(body[:512])
    if declared is None or b"\x00" in body[:512]:
        return body, ""
    name = declared.group(1).decode("ascii", "replace").strip()
    try:
        if not codecs.lookup(name).name.startswith(("utf-16", "utf-32")):
            return body, ""  # most feeds: no decoding here
        body.decode("utf-8")
    except (LookupError, UnicodeDecodeError):
        return body, ""
    response_headers["content-type"] = "application/xml; charset=utf-8"
    return _XML_ENCODING.sub(rb"\1\2utf-8\2", body, count=1), name


_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_STRAY = re.compile("[\udc80-\udcff]")


def _utf8_with_stray_bytes(body: bytes, response_headers: dict[str, str]) -> tuple[bytes, int, str]:
    """A UTF-8 body (so labelled, or not labelled) with a few bytes that are not UTF-8 (a
    paragraph pasted from a Windows editor: a curly quote as 0x92), as UTF-8 with those
    bytes read in the Windows code page of the script its UTF-8 text is mostly in
    (`_stray_script`); how many there were, and the code pages read. Left as it is, such a body was
    decoded whole in a single-byte code page, and every Arabic or Cyrillic entry of it was
    garbled (its names never matched). Only where the UTF-8 characters outnumber the stray
    bytes: a body in a code page throughout is left to the detector (`_detected_encoding`).
    """
    if body.isascii():
        return body, 0, ""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return body, 0, ""
    labels = []
    if label := _CHARSET.search(response_headers.get("content-type", "")):
        labels.append(label.group(1))
    if declared := _XML_DECLARED.match(body[:512]):
        labels.append(declared.group(1).decode("ascii", "replace"))
    if not all(_is_utf8_name(name) for name in labels):
        return body, 0, ""  # labelled another encoding: the label decides
    text = body.decode("utf-8", "surrogateescape")
    stray = len(_STRAY.findall(text))
    if len(text) - _ascii_count(text) - stray <= stray:
        return body, 0, ""
    script = _stray_script(text)
    used: set[str] = set()  # the code pages the stray bytes were read in

    def decoded(found: re.Match[str]) -> str:
        # A word of the text's own script in its code page (two letters or more), else
        # windows-1252: a curly quote, or an accented letter in a Latin word ("armée").
        raw = bytes(ord(char) - 0xDC00 for char in found.group())
        if script is not None and len(raw) >= 2:
            code_page, (low, high) = script
            word = raw.decode(code_page, "replace")
            if all(low <= char <= high for char in word if char.isalpha()):
                used.add(code_page)
                return word
        used.add("windows-1252")
        return raw.decode("windows-1252", "replace")

    repaired = _STRAY_RUN.sub(decoded, text).encode("utf-8")
    response_headers["content-type"] = "application/xml; charset=utf-8"
    return repaired, stray, " and ".join(sorted(used))


_STRAY_RUN = re.compile("[\udc80-\udcff]+")
# The Windows code page of each script whose letters it writes above ASCII.
_SCRIPT_CODE_PAGES = (
    ("windows-1256", ("\u0600", "\u06ff")),  # Arabic
    ("windows-1251", ("\u0400", "\u04ff")),  # Cyrillic
    ("windows-1253", ("\u0370", "\u03ff")),  # Greek
    ("windows-1255", ("\u0590", "\u05ff")),  # Hebrew
)


def _stray_script(text: str) -> tuple[str, tuple[str, str]] | None:
    """The script most letters above ASCII of a UTF-8 ``text`` are in, with its code page,
    if it has one of its own (Arabic, Cyrillic, Greek, Hebrew): the words its stray bytes
    write are likely in that code page (an Arabic feed with one item pasted in
    windows-1256, read as windows-1252, was garbled: an outside probe, probe67)."""
    letters = [char for char in text if not char.isascii() and char.isalpha()]
    for code_page, (low, high) in _SCRIPT_CODE_PAGES:
        if sum(1 for char in letters if low <= char <= high) * 2 > len(letters):
            return code_page, (low, high)
    return None


def _ascii_count(text: str) -> int:
    return len(text.encode("ascii", "ignore"))


def _is_utf8_name(name: str) -> bool:
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return True  # an unknown label says nothing: the body is read as UTF-8 anyway


def _charref_replacement(found: re.Match[bytes]) -> bytes:
    hex_digits, decimal_digits = found.groups()
    value = int(hex_digits, 16) if hex_digits is not None else int(decimal_digits)
    if value == 0 or 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        return _REPLACEMENT_CHARREF
    return found.group(0)


def _newest(raw_entries: list[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    """The ``count`` newest entries (by published, else updated date; undated ones after
    the dated, in document order), in document order."""

    def newest_first(index: int) -> tuple[bool, tuple[int, ...], int]:
        raw = raw_entries[index]
        when = _get(raw, "published_parsed") or _get(raw, "updated_parsed")
        dated = isinstance(when, tuple | time.struct_time) and len(when) >= 6
        stamp = tuple(-int(part) for part in when[:6]) if dated else ()
        return (not dated, stamp, index)

    kept = sorted(range(len(raw_entries)), key=newest_first)[:count]
    return [raw_entries[index] for index in sorted(kept)]


def _escape_bare_ampersands(body: bytes) -> bytes:
    """``body`` with each bare "&" outside CDATA written "&amp;" (`_BARE_AMPERSAND`); a body
    in UTF-16 or UTF-32 (NUL bytes between its characters) is left as it is."""
    if b"\x00" in body[:4] or body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return body
    if not _BARE_AMPERSAND.search(body):
        return body
    parts = _CDATA.split(body)
    return b"".join(
        part if part.startswith(b"<![CDATA[") else _BARE_AMPERSAND.sub(b"&amp;", part)
        for part in parts
    )


def _storable(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD: valid in every database."""
    if text.isascii():  # a flag on the string: no scan
        return text.replace("\x00", _REPLACEMENT) if "\x00" in text else text
    return _UNSTORABLE.sub(_REPLACEMENT, text)


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    # dict.get skips FeedParserDict's key aliases, one of which warns (updated -> published).
    if isinstance(mapping, dict):
        return dict.get(mapping, key)
    return mapping.get(key)


def _feedparser(body: bytes, url: str, response_headers: dict[str, str]) -> Any:
    import feedparser  # here: the service process only needs it when parsing in-process

    try:
        # Always hand feedparser a stream: given a str or bytes it may treat the value as a
        # URL to fetch or a path to open. Neither sanitising nor resolving links inside the
        # HTML: the stored fragments are only ever shown as text (html_to_text), and the two
        # passes cost a third of the parse. Entry and feed links are resolved below.
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=response_headers,
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except (ValueError, OverflowError) as error:
        # A character reference feedparser's fallback parser cannot decode, in an encoding
        # the clean-up above does not read (UTF-16, UTF-32).
        detail = _storable(f"{type(error).__name__}: {error}")
        raise ParseError(url, f"not a readable feed ({detail})") from None


# feedparser's last resorts when neither the HTTP charset, the XML declaration nor a BOM
# decodes the body: single-byte tables that decode any bytes, and so garble Arabic or
# Cyrillic sent as windows-1256 or -1251 under a wrong or missing label.
_LAST_RESORT_ENCODINGS = frozenset({"windows-1252", "iso-8859-2"})


def _detected_encoding(result: Mapping[str, Any], body: bytes) -> str | None:
    """The encoding ``body`` is really in, when feedparser read it in another: UTF-8 bytes
    under a label of another encoding (windows-1256 and -1251 decode any bytes, so the label
    is taken and the text garbled); or feedparser fell back to a last resort and a detector
    (charset-normalizer) finds another; or Turkish under a Western European label. Else
    None."""
    used = str(_get(result, "encoding") or "").lower()
    if used and not _is_utf(used) and _is_utf8(body):
        return "utf-8"
    import feedparser  # loaded already: this runs after a parse

    fell_back = isinstance(_get(result, "bozo_exception"), feedparser.CharacterEncodingOverride)
    if not (used in _LAST_RESORT_ENCODINGS and fell_back):
        if not _western(used) or body.isascii():
            return None
        # A Western HTTP charset (often a server's default for every text/xml) over an XML
        # declaration that names another single-byte encoding the bytes decode in: the
        # declaration, which the document's writer chose, is taken.
        declared = _declared_single_byte(body)
        if declared is not None and codecs.lookup(declared).name != codecs.lookup(used).name:
            return declared
        # A Western European label (ISO-8859-1 or -15, windows-1252) decodes every byte: the
        # label most often sent over text in another code page. Another script reads as
        # words of accented letters only ("Ñóä àðåñòîâàë"), which Western languages hardly
        # write: the detector is asked which script it is.
        if not _garbled_other_script(body):
            # Turkish ("baðlý") and Central European ("S±d", "Wroc³aw") read as Western
            # European: the language of the words tells, against a wide margin. The bytes
            # looked for first: the full comparison costs 50 ms for 64 KB.
            if not (_TURKISH_BYTES.search(body) or _symbol_between_letters(body)):
                return None
            return latin_code_page(body, "windows-1252", declared=True)
    import charset_normalizer  # here: only garbled feeds need it (it costs 10 ms to load)

    if _garbled_other_script(body) and (script := _script_of_high_bytes(body)) is not None:
        return None if script == codecs.lookup(used or "ascii").name else script
    best = charset_normalizer.from_bytes(body).best()
    if best is None or not _other_script(str(best)):
        # Latin letters: the detector cannot tell the Windows Latin code pages apart
        # (Spanish read as Polish: Espańa); the language of the words can.
        return latin_code_page(body, used)
    found: str = codecs.lookup(best.encoding).name
    return None if found == codecs.lookup(used).name else found


# The bytes where ISO-8859-9 (windows-1254) writes ğ Ğ İ Ş ı ş and the Western code pages
# ð Ð Ý Þ ý þ: a body with none of them reads the same either way (a cheap first look: the
# full comparison costs 50 ms for 64 KB).
_TURKISH_BYTES = re.compile(rb"[\xd0\xdd\xde\xf0\xfd\xfe]")


# Each byte as its class in a Western European reading: "a" a letter (A-Z, a-z, À-ÿ), "s"
# a symbol ¡-¿ (but · and ´, which Catalan and typists put between letters), "H" ... below.
_SYMBOL_BYTES = frozenset([*range(0xA1, 0xB4), 0xB5, 0xB6, *range(0xB8, 0xC0)])
_LETTERS_AND_SYMBOLS = bytes(
    b"a"[0]
    if chr(byte).isascii() and chr(byte).isalpha() or byte >= 0xC0
    else b"s"[0]
    if byte in _SYMBOL_BYTES
    else b" "[0]
    for byte in range(256)
)
# "H" a letter À-ÿ, " " anything else.
_HIGH_LETTERS = bytes(b"H"[0] if byte >= 0xC0 else b" "[0] for byte in range(256))


def _symbol_between_letters(body: bytes) -> bool:
    """Whether ``body`` read as Western European has a symbol between two letters: Central
    European letters read so ("S±d", "Wroc³aw", "¿ycie"; counted in C)."""
    return b"asa" in body[:SAMPLE_BYTES].translate(_LETTERS_AND_SYMBOLS)


def _garbled_other_script(body: bytes) -> bool:
    """Whether ``body`` read as windows-1252 has three runs of three letters À-ÿ: Cyrillic,
    Greek, Arabic or Hebrew bytes read as Western European ("Ñóä àðåñòîâàë"), where Western
    languages hardly write three such letters in a row (counted in C: microseconds a feed)."""
    return body[:SAMPLE_BYTES].translate(_HIGH_LETTERS).count(b"HHH") >= 3


def _declared_single_byte(body: bytes) -> str | None:
    """The encoding the XML declaration of ``body`` names, when it is a single-byte one that
    is not Western European and the body decodes in it; else None."""
    found = _XML_DECLARED.match(body)
    if found is None:
        return None
    name = found.group(1).decode("ascii", errors="replace").strip()
    try:
        codec = codecs.lookup(name)
        body.decode(codec.name)
    except (LookupError, UnicodeDecodeError):
        return None
    if _western(name) or _is_utf(name) or codec.name == "ascii":
        return None
    return name


def _western(encoding: str) -> bool:
    """Whether ``encoding`` is a Western European single-byte one (ISO-8859-1 or -15,
    windows-1252): the label Turkish and Central European feeds are most often sent under."""
    try:
        return codecs.lookup(encoding).name in ("iso8859-1", "iso8859-15", "cp1252")
    except LookupError:
        return False


# A run of bytes outside ASCII, with the spaces between such runs: the words of a body that
# are not written in ASCII.
_HIGH_RUNS = re.compile(rb"[\x80-\xff]+(?:[ \t]+[\x80-\xff]+)*")


def _script_of_high_bytes(body: bytes) -> str | None:
    """The code page of another script (Arabic, Cyrillic, Greek, Hebrew) that the bytes
    outside ASCII of ``body`` are in, taken alone; else None. A feed of English items with
    one Arabic item in windows-1256 (a Libyan outlet's feed): given the whole body, the
    detector reads the English majority and picks a Western code page, and the Arabic item
    was stored garbled, its names never matched (an outside probe, probe67)."""
    import charset_normalizer

    excerpt = b"\n".join(_HIGH_RUNS.findall(body[: 4 * SAMPLE_BYTES]))
    best = charset_normalizer.from_bytes(excerpt).best()
    if best is None or not _other_script(str(best)):
        return None
    return codecs.lookup(best.encoding).name


def _other_script(text: str) -> bool:
    """Whether most non-ASCII letters of ``text`` are not Latin (Arabic, Cyrillic, Greek)."""
    letters = [c for c in text if not c.isascii() and c.isalpha()]
    latin = sum(1 for c in letters if c < "\u0370" or "\u1e00" <= c <= "\u1eff")
    return len(letters) > 2 * latin


def _is_utf(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


def _is_utf8(body: bytes) -> bool:
    """Valid UTF-8 with some non-ASCII character: text in a single-byte code page (Arabic,
    Cyrillic, accented Latin) almost never is, since UTF-8 needs its bytes in strict pairs
    and triples."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# What expat says when the input ends inside the document: between tags, inside a tag or a
# comment, inside a CDATA section, inside a character's bytes.
_CUT_SHORT_MESSAGES = frozenset(
    {"no element found", "unclosed token", "unclosed CDATA section", "partial character"}
)


def _cut_short(result: Mapping[str, Any]) -> bool:
    """Whether the XML parser met the end of the body before the end of the document (a
    response cut short that its HTTP framing did not show, e.g. a connection closed early
    on a body delimited by the close)."""
    exception = _get(result, "bozo_exception")
    get_message = getattr(exception, "getMessage", None)
    return callable(get_message) and str(get_message()) in _CUT_SHORT_MESSAGES


def _bozo_reason(result: Mapping[str, Any]) -> str | None:
    if not _get(result, "bozo"):
        return None
    exception = _get(result, "bozo_exception")
    # A missing or non-XML Content-Type says how the server labelled the body, not that the
    # document is malformed: feedparser only keeps this exception when the XML parsed cleanly.
    import feedparser  # loaded already: this runs after a parse

    if isinstance(exception, feedparser.NonXMLContentType):
        return None
    if exception is None:
        return "malformed feed"
    message = str(exception).strip() or "malformed feed"
    reason = _storable(f"{type(exception).__name__}: {message}")
    if len(reason) > _BOZO_REASON_MAX_CHARS:
        return reason[: _BOZO_REASON_MAX_CHARS - 3] + "..."
    return reason


def _unreadable_message(body: bytes, bozo_reason: str | None, url: str) -> str:
    if _HTML_PAGE.search(body[:4096]):
        found = _announced_feed(body, url)
        if found is not None and _same_address(found, url):
            # A site's maintenance or login page names the feed the source already polls
            # (every WordPress page does): no URL to change (probe67).
            return (
                "an HTML page, not an RSS or Atom feed; the page names this URL as its feed: "
                "the site served a page in its place (maintenance, a login, an error page)"
            )
        # Shown as config text: `${` is written `$${` (`monitor.redact.suggested_url`).
        hint = (
            f"; {NAMED_FEED}{suggested_url(found)}{NAMED_FEED_END}: the source keeps its history)"
            if found
            else ""
        )
        return f"an HTML page, not an RSS or Atom feed{hint}"
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "JSON, not an RSS or Atom feed nor a JSON Feed (it names no jsonfeed.org version)"
    if body.startswith(b"\x1f\x8b"):
        return (
            "gzip-compressed data, not an RSS or Atom feed: the server sent it without a "
            "Content-Encoding: gzip header, or compressed it twice (it should send the feed "
            "compressed once, and say so)"
        )
    detail = f" ({bozo_reason})" if bozo_reason else ""
    return f"not an RSS or Atom feed{detail}"


# A page's announcement of its feed (feed autodiscovery): <link rel="alternate"
# type="application/rss+xml" href="...">, its attributes in any order, within its <head>.
_LINK_TAG = re.compile(rb"<link\b[^>]{0,2000}>", re.I)
_ATTRIBUTE = re.compile(rb"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_FEED_TYPES = (b"application/rss+xml", b"application/atom+xml")
_HEAD_END = re.compile(rb"</head\s*>", re.I)


def _same_address(found: str, url: str) -> bool:
    """Whether two URLs are one address: credentials, a fragment, the case of the scheme and
    host, and a trailing slash aside."""

    def key(address: str) -> tuple[str, str, str, str]:
        parts = urlsplit(without_credentials(address))
        return (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query)

    return key(found) == key(url)


def _announced_feed(body: bytes, url: str) -> str | None:
    """The feed URL an HTML page names in its head (the first RSS or Atom one), absolute;
    None when it names none, or one that is no http(s) URL."""
    end = _HEAD_END.search(body, 0, 65_536)
    head = body[: end.start() if end else 65_536]
    for tag in _LINK_TAG.finditer(head):
        attrs = {name.lower(): (a or b or c) for name, a, b, c in _ATTRIBUTE.findall(tag.group())}
        rel = attrs.get(b"rel", b"").lower().split()
        if b"alternate" not in rel or attrs.get(b"type", b"").strip().lower() not in _FEED_TYPES:
            continue
        href = html.unescape(attrs.get(b"href", b"").decode("utf-8", "replace")).strip()
        if not href or len(href) > 2000 or any(c.isspace() or c < " " for c in href):
            continue
        found = urljoin(url, href)
        if urlsplit(found).scheme in ("http", "https"):
            return found
    return None


def _written_in(body: bytes) -> Callable[[str], bool]:
    """Whether a text is written in ``body`` as it is or XML-escaped; always True for a
    body in an encoding that does not write ASCII as ASCII (UTF-16, UTF-32)."""
    if b"\x00" in body[:64]:
        return lambda _text: True

    def written(text: str) -> bool:
        raw = text.encode("utf-8", "replace")
        return raw in body or raw.replace(b"&", b"&amp;") in body

    return written


def _guid_link(raw: Mapping[str, Any], written: Callable[[str], bool]) -> object:
    """The entry's link. An RSS item without a link of its own gets its guid as link from
    feedparser, resolved against the feed URL: a guid that is not a URL ("12345",
    "post-7") would become a page of the feed's host that does not exist. Such a link is
    kept only when the document has it as a URL, absolute or a path."""
    link = _get(raw, "link")
    # An enclosure (a podcast's audio) is in ``links`` too: only a link of the entry's own
    # page (no rel, or alternate) shows the feed wrote one (probe67: "12345" became a link).
    own = [
        item
        for item in _get(raw, "links") or ()
        if isinstance(item, Mapping) and item.get("rel", "alternate") == "alternate"
    ]
    if not isinstance(link, str) or not _get(raw, "guidislink") or own:
        return link
    parts = urlsplit(link.strip())
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if written(link.strip()) or (path.startswith("/") and path != "/" and written(path)):
        return link
    return None


def _media_link(raw: Mapping[str, Any]) -> object:
    """The first enclosure or Media RSS content of an entry (a podcast's audio, a video):
    the only link of an item that has no page of its own."""
    for item in _get(raw, "links") or ():
        if isinstance(item, Mapping) and item.get("rel") == "enclosure" and item.get("href"):
            return item["href"]
    for item in _get(raw, "media_content") or ():
        if isinstance(item, Mapping) and item.get("url"):
            return item["url"]
    return None


def _build_entry(
    raw: Mapping[str, Any],
    feed_url: str,
    mask: Callable[[str], str],
    written: Callable[[str], bool],
) -> FeedEntry | None:
    """One entry; ``mask`` hides the feed URL's own credentials where the entry repeats
    them (a guid or a link that is the feed URL itself, a private feed's token);
    ``written``: whether a text is in the document (`_guid_link`)."""
    title = cut_at_word(_text_field(raw, "title"), MAX_TITLE_CHARS)
    # feedparser copies the first content into `summary` when an entry has no summary of
    # its own; only a `summary_detail` shows the feed really had one.
    summary = _text_field(raw, "summary") if _get(raw, "summary_detail") is not None else ""
    content = _content(raw, summary)
    url = _http_url(_guid_link(raw, written), feed_url)
    if url is not None:
        url = mask(url)
    if not (title or summary or content or url):
        return None

    # Each field normalised once, for both the key and the content hash.
    plain_title, plain_summary, plain_content = (
        _normalise(title),
        _normalise(summary),
        _normalise(content),
    )
    guid = mask(_storable(str(_get(raw, "id") or "").strip()))
    if guid:
        key = guid
    elif url is not None:
        key = url
    else:
        key = _text_key(plain_title, plain_summary, plain_content)
    if url is None:  # the key stays what it was before enclosures were links
        enclosure = _http_url(_media_link(raw), feed_url)
        url = None if enclosure is None else mask(enclosure)

    bare = [_MARKUP.sub(" ", text) for text in (title, summary, content)]
    return FeedEntry(
        key=key,
        url=None if url is None else sendable_link(url),
        title=title,
        summary=summary,
        content=content,
        published=entry_date(_get(raw, "published"), _get(raw, "published_parsed")),
        updated=entry_date(_get(raw, "updated"), _get(raw, "updated_parsed")),
        content_hash=_digest(plain_title, plain_summary, plain_content),
        words=sum(len(text.split()) for text in bare),
        text_hash=_digest(*(_normalise(html.unescape(text)) for text in bare)),
    )


_MARKUP = re.compile(r"<[^<>]*>")  # not across another "<": linear on "<a <a <a ..."


def _text_key(plain_title: str, plain_summary: str, plain_content: str) -> str:
    """The key of an entry by its text: its title and summary, else its content."""
    if plain_title or plain_summary:
        return "sha256:" + _digest(plain_title, plain_summary)
    return "sha256:" + _digest(plain_content)


def _unshared_keys(entries: list[FeedEntry]) -> list[FeedEntry]:
    """``entries`` with a key that several different entries of the document share replaced.

    Some feeds give every item the same guid (the site's URL, a constant) or, without guids,
    the same link: taken as an identity, it makes every later article a repeat of the first
    one, and nothing after it is ever stored. Such entries are keyed by their link when the
    document has it once, else by their title and summary. Entries that share a key and are
    the same (same link and text) stay one entry: the first.
    """
    by_key: dict[str, set[tuple[str | None, str]]] = {}
    for entry in entries:
        by_key.setdefault(entry.key, set()).add((entry.url, entry.content_hash))
    shared = {key for key, versions in by_key.items() if len(versions) > 1}
    if not shared:
        return entries
    links = Counter(entry.url for entry in entries)
    result = []
    for entry in entries:
        if entry.key in shared:
            if entry.url is not None and links[entry.url] == 1:
                key = entry.url
            else:
                texts = (_normalise(entry.title), _normalise(entry.summary))
                key = _text_key(*texts, _normalise(entry.content))
            entry = replace(entry, key=key)
        result.append(entry)
    return result


def _text_field(container: Mapping[str, Any], name: str) -> str:
    value = _get(container, name)
    if not value:
        return ""
    detail = _get(container, f"{name}_detail") or {}
    return _as_fragment(_storable(str(value)), _get(detail, "type"))


def _as_fragment(value: str, media_type: object) -> str:
    """HTML values are kept as they are (unsanitised); plain text is escaped.

    Quotes stay as they are: a fragment is text content, never an attribute value.
    """
    if isinstance(media_type, str) and media_type.lower() in _HTML_TYPES:
        return value
    return html.escape(value, quote=False)


def _content(raw: Mapping[str, Any], summary: str) -> str:
    contents: Iterable[Mapping[str, Any]] = _get(raw, "content") or ()
    html_parts: list[str] = []
    plain_parts: list[str] = []
    for item in contents:
        value = str(_get(item, "value") or "")
        media_type = str(_get(item, "type") or _PLAIN_TYPE).lower()
        if not value.strip():
            continue  # out-of-line content (src=...) or an empty element
        if media_type in _HTML_TYPES:
            html_parts.append(_storable(value))
        elif media_type.startswith("text/") or _decoded_text(value):
            plain_parts.append(html.escape(_storable(value), quote=False))
        # Other media types (images, binary application/*) are not text to match on.
    if not html_parts and not plain_parts:
        return ""

    seen = {_visible_text(summary)} if summary else set()
    kept: list[str] = []
    for fragment in html_parts + plain_parts:
        text = _visible_text(fragment)
        if not text or text in seen:
            continue
        seen.add(text)
        kept.append(fragment)
    return "\n".join(kept)


def _decoded_text(value: str) -> bool:
    """Whether content of a media type that is not text is text after all: feedparser
    decodes base64 content (Atom 1.0 binary types, Atom 0.3 ``mode="base64"``) when the bytes
    are UTF-8 text, and leaves the base64 as it was otherwise (an image)."""
    if _CONTROL.search(value):
        return False
    # Base64 left as it was: lines (as encoders wrap it) of base64 characters only.
    lines = [line.strip() for line in value.splitlines() if line.strip()]
    encoded = all(_BASE64.fullmatch(line) for line in lines)
    return not (encoded and sum(map(len, lines)) >= 16)


def _visible_text(fragment: str) -> str:
    """A rough text of a fragment, only to tell duplicate fields apart."""
    if "<" in fragment:
        fragment = _TAG.sub(" ", fragment)
    if "&" in fragment:
        fragment = html.unescape(fragment)
    return _normalise(fragment)


def _normalise(text: str) -> str:
    # split() and join: each whitespace run (str.isspace, as the regex \s) becomes one space.
    return " ".join(unicodedata.normalize("NFC", text).split())


def _digest(*normalised: str) -> str:
    return hashlib.sha256("\x1f".join(normalised).encode("utf-8")).hexdigest()


def _http_url(link: object, feed_url: str) -> str | None:
    """An absolute, canonical http(s) link, resolved against ``feed_url`` when relative."""
    if not isinstance(link, str):
        return None
    link = _storable(link.strip())
    if not link or len(link) > MAX_LINK_CHARS:
        return None
    try:
        # feedparser already resolves links against xml:base and the feed URL; join only
        # what is still not an absolute http(s) URL.
        parts = urlsplit(link)
        if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
            parts = urlsplit(urljoin(feed_url, link))
            if parts.scheme.lower() not in _DEFAULT_PORTS:
                return None
        canonical, host = _canonical(parts)
    except ValueError:
        return None
    return canonical if host else None
