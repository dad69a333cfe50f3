"""Read feed sources from an OPML file (the list format feed readers import and export).

Only local config files are read here; DOCTYPE and entity declarations are refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from monitor.errors import ConfigError
from monitor.redact import redact_url

__all__ = ["OpmlSource", "read_opml"]

_FEED_TYPES = frozenset({"rss", "atom"})
_FEED_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class OpmlSource:
    """One feed listed in an OPML file: its display name and its feed URL."""

    name: str
    url: str


def read_opml(path: Path) -> list[OpmlSource]:
    """Return the feeds of the OPML file at ``path``, in document order, nested outlines included.

    An outline is a feed when it has an ``xmlUrl`` and its ``type`` is ``rss``, ``atom`` or
    missing, or when its ``type`` is ``rss`` or ``atom`` and it has a ``url`` instead
    (attribute names in any case: ``xmlurl`` too); its name is its ``title``, else its
    ``text``, else the URL. A URL listed twice is returned once. An outline typed as a feed
    with no URL is a problem, not skipped. Raises ConfigError naming the file (and the line,
    for malformed XML).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the OPML file: {exc.strerror or exc}") from exc

    upper_raw = raw.upper()
    if b"<!DOCTYPE" in upper_raw or b"<!ENTITY" in upper_raw:
        raise ConfigError(
            f"{path}: DOCTYPE and ENTITY declarations are not allowed in an OPML file; "
            "remove them (OPML needs neither)"
        )

    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise ConfigError(
            f"{path}, line {line}, column {column + 1}: not well-formed XML: {_xml_problem(exc)}"
        ) from exc

    if _local_name(root.tag) != "opml":
        raise ConfigError(
            f"{path}: not an OPML file: the root element is <{_local_name(root.tag)}>, "
            "expected <opml>"
        )
    body = next((child for child in root if _local_name(child.tag) == "body"), None)
    if body is None:
        raise ConfigError(f"{path}: the OPML file has no <body> element")

    sources: list[OpmlSource] = []
    seen_urls: set[str] = set()
    problems: list[str] = []
    for outline in body.iter():
        if _local_name(outline.tag) != "outline":
            continue
        attributes = {key.lower(): value for key, value in outline.attrib.items()}
        feed_type = (attributes.get("type") or "").strip().lower()
        url = (attributes.get("xmlurl") or "").strip()
        attribute = "xmlUrl"
        if not url and feed_type in _FEED_TYPES:
            # Some exporters put a feed's URL in `url` (OPML's attribute for links).
            url = (attributes.get("url") or "").strip()
            attribute = "url"
            if not url:
                label = (attributes.get("title") or attributes.get("text") or "").strip()
                problems.append(
                    f"{path}: outline {label!r} has type={feed_type!r} but no xmlUrl; "
                    "add the feed's URL as xmlUrl"
                )
                continue
        if not url:
            continue  # a folder, or a plain link that is not a feed
        # Without a title the source is named by its URL: shown, so redacted.
        name = (attributes.get("title") or attributes.get("text") or "").strip() or redact_url(url)
        if feed_type and feed_type not in _FEED_TYPES:
            problems.append(
                f"{path}: outline {name!r} has type={feed_type!r}; a feed needs type "
                "'rss' or 'atom' (or no type)"
            )
            continue
        if not _is_http_url(url):
            problems.append(
                f"{path}: outline {name!r} has {attribute}={redact_url(url)!r}; a feed URL "
                "must be an absolute http:// or https:// URL with a valid host and port"
            )
            continue
        if url in seen_urls:
            continue
        seen_urls.add(url)
        sources.append(OpmlSource(name=name, url=url))

    if problems:
        raise ConfigError(problems)
    return sources


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
        return parts.scheme.lower() in _FEED_SCHEMES and bool(parts.hostname)
    except ValueError:
        return False


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml_problem(exc: ElementTree.ParseError) -> str:
    # The message ends with ": line L, column C", which the caller already says.
    return str(exc).rsplit(": line ", 1)[0]
