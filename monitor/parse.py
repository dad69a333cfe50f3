"""Turn a fetched feed body (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) into frozen entries, with feedparser.

Pure: no I/O. Text fields come back as HTML fragments (see docs/interfaces.md).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser

from monitor.errors import ParseError

__all__ = ["FeedEntry", "ParsedFeed", "canonical_url", "parse_feed"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PLAIN_TYPE = "text/plain"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_BOZO_REASON_MAX_CHARS = 200

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
    }
)
_TRACKING_PREFIXES = ("utm_", "at_medium", "at_campaign", "at_custom", "at_link", "at_format")

_WHITESPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_HTML_PAGE = re.compile(rb"<!doctype\s+html|<html[\s>]", re.I)


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed. ``title``, ``summary`` and ``content`` are HTML fragments.

    ``key`` identifies the entry within its feed across polls: the guid/id, else the
    canonical link, else ``sha256:`` of the title and summary.
    """

    key: str
    url: str | None
    title: str
    summary: str
    content: str
    published: datetime | None
    updated: datetime | None
    content_hash: str


@dataclass(frozen=True)
class ParsedFeed:
    """A feed as read: its title (HTML fragment), home link and entries in document order.

    ``bozo`` is true when the document was malformed but still readable; ``bozo_reason``
    then says why in a few words.
    """

    title: str
    link: str | None
    entries: tuple[FeedEntry, ...]
    bozo: bool
    bozo_reason: str | None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse ``body`` fetched from ``url`` (sent with ``content_type``) into a ParsedFeed.

    Raises ParseError naming ``url`` when the body is not a feed at all (empty, an HTML
    page, garbage) or is so malformed that nothing could be read from it. Entries whose key
    repeats an earlier entry of the same document are dropped (the first one wins).
    """
    if not body.strip():
        raise ParseError(url, "empty body: not an RSS or Atom feed")

    response_headers = {"content-location": url}
    if content_type:
        response_headers["content-type"] = content_type
    # Always hand feedparser a stream: given a str or bytes it may treat the value as a
    # URL to fetch or a path to open.
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        resolve_relative_uris=True,
        sanitize_html=True,
    )

    version = str(_get(result, "version") or "")
    raw_entries: list[Mapping[str, Any]] = list(_get(result, "entries") or [])
    feed_info: Mapping[str, Any] = _get(result, "feed") or {}
    bozo_reason = _bozo_reason(result)

    if not version and not raw_entries:
        raise ParseError(url, _unreadable_message(body, bozo_reason))
    feed_title = _text_field(feed_info, "title")
    if bozo_reason is not None and not raw_entries and not feed_title:
        raise ParseError(url, f"malformed feed with nothing readable in it ({bozo_reason})")

    entries: list[FeedEntry] = []
    seen_keys: set[str] = set()
    for raw_entry in raw_entries:
        entry = _build_entry(raw_entry, url)
        if entry is None or entry.key in seen_keys:
            continue
        seen_keys.add(entry.key)
        entries.append(entry)

    return ParsedFeed(
        title=feed_title,
        link=_http_url(_get(feed_info, "link"), url),
        entries=tuple(entries),
        bozo=bozo_reason is not None,
        bozo_reason=bozo_reason,
    )


def canonical_url(url: str) -> str:
    """Normalise an absolute URL so the same article found by different links compares equal.

    Lower-cases scheme and host, drops the default port, the fragment, tracking query
    parameters (``utm_*``, ``fbclid``, ...) and an empty query; keeps the order of the
    remaining query parameters. A URL that cannot be split is returned stripped.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc = _canonical_netloc(parts.netloc, scheme)
    path = parts.path
    if scheme in _DEFAULT_PORTS and netloc and not path:
        path = "/"
    query = "&".join(
        piece for piece in parts.query.split("&") if piece and not _is_tracking_param(piece)
    )
    return urlunsplit((scheme, netloc, path, query, ""))


def _canonical_netloc(netloc: str, scheme: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        host, bracket, port = hostport.partition("]")
        host += bracket
        port = port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".") if not host.startswith("[") else host.lower()
    if port and port.isdigit() and int(port) == _DEFAULT_PORTS.get(scheme):
        port = ""
    rebuilt = f"{host}:{port}" if port else host
    return f"{userinfo}{at}{rebuilt}"


def _is_tracking_param(piece: str) -> bool:
    name = piece.partition("=")[0].lower()
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    # dict.get skips FeedParserDict's key aliases, one of which warns (updated -> published).
    if isinstance(mapping, dict):
        return dict.get(mapping, key)
    return mapping.get(key)


def _bozo_reason(result: Mapping[str, Any]) -> str | None:
    if not _get(result, "bozo"):
        return None
    exception = _get(result, "bozo_exception")
    # A missing or non-XML Content-Type says how the server labelled the body, not that the
    # document is malformed: feedparser only keeps this exception when the XML parsed cleanly.
    if isinstance(exception, feedparser.NonXMLContentType):
        return None
    if exception is None:
        return "malformed feed"
    message = str(exception).strip() or "malformed feed"
    reason = f"{type(exception).__name__}: {message}"
    if len(reason) > _BOZO_REASON_MAX_CHARS:
        return reason[: _BOZO_REASON_MAX_CHARS - 3] + "..."
    return reason


def _unreadable_message(body: bytes, bozo_reason: str | None) -> str:
    if _HTML_PAGE.search(body[:4096]):
        return "an HTML page, not an RSS or Atom feed"
    detail = f" ({bozo_reason})" if bozo_reason else ""
    return f"not an RSS or Atom feed{detail}"


def _build_entry(raw: Mapping[str, Any], feed_url: str) -> FeedEntry | None:
    title = _text_field(raw, "title")
    # feedparser copies the first content into `summary` when an entry has no summary of
    # its own; only a `summary_detail` shows the feed really had one.
    summary = _text_field(raw, "summary") if _get(raw, "summary_detail") is not None else ""
    content = _content(raw, summary)
    url = _http_url(_get(raw, "link"), feed_url)
    if not (title or summary or content or url):
        return None

    guid = str(_get(raw, "id") or "").strip()
    if guid:
        key = guid
    elif url is not None:
        key = url
    else:
        basis = [title, summary] if (title or summary) else [content]
        key = "sha256:" + _digest(basis)

    return FeedEntry(
        key=key,
        url=url,
        title=title,
        summary=summary,
        content=content,
        published=_utc_datetime(_get(raw, "published_parsed")),
        updated=_utc_datetime(_get(raw, "updated_parsed")),
        content_hash=_digest([title, summary, content]),
    )


def _text_field(container: Mapping[str, Any], name: str) -> str:
    value = _get(container, name)
    if not value:
        return ""
    detail = _get(container, f"{name}_detail") or {}
    return _as_fragment(str(value), _get(detail, "type"))


def _as_fragment(value: str, media_type: object) -> str:
    """feedparser sanitises HTML values but returns plain text as is: escape that.

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
            html_parts.append(value)
        elif media_type.startswith("text/"):
            plain_parts.append(html.escape(value, quote=False))
        # Other media types (base64 images, application/*) are not text to match on.

    seen = {_visible_text(summary)} if summary else set()
    kept: list[str] = []
    for fragment in html_parts + plain_parts:
        text = _visible_text(fragment)
        if not text or text in seen:
            continue
        seen.add(text)
        kept.append(fragment)
    return "\n".join(kept)


def _visible_text(fragment: str) -> str:
    """A rough text of a fragment, only to tell duplicate fields apart."""
    return _normalise(html.unescape(_TAG.sub(" ", fragment)))


def _normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _digest(fields: list[str]) -> str:
    joined = "\x1f".join(_normalise(field) for field in fields)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _http_url(link: object, feed_url: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        absolute = urljoin(feed_url, link.strip())
        if urlsplit(absolute).scheme.lower() not in _DEFAULT_PORTS:
            return None
        canonical = canonical_url(absolute)
        return canonical if urlsplit(canonical).hostname else None
    except ValueError:
        return None


def _utc_datetime(parsed: object) -> datetime | None:
    """feedparser's ``*_parsed`` values are struct_time in UTC (or None)."""
    if not isinstance(parsed, time.struct_time | tuple) or len(parsed) < 6:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
