"""What an alert says: the Standard Webhooks JSON body, its exact bytes, and its Slack and Discord
renderings (pure; feed text is untrusted, so each rendering escapes it for its own markup; URLs
are redacted, so no credential in a feed URL reaches a receiver).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from monitor.redact import MASK as _MASK
from monitor.redact import redact_article_url, redact_text, redact_url

__all__ = [
    "DISCORD_LIMITS",
    "EVENT_TYPE",
    "SLACK_LIMITS",
    "ArticleRef",
    "StoryRef",
    "MessageFormat",
    "build_payload",
    "discord_message",
    "encode_body",
    "escape_discord",
    "escape_slack",
    "slack_text",
    "render_message",
    "slack_message",
]

EVENT_TYPE = "watchlist.match"
MessageFormat = Literal["standard", "slack", "discord"]

_MATCH_KEYS = ("watchlist", "entity", "field", "start", "end", "text")
_ELLIPSIS = "…"


@dataclass(frozen=True)
class ArticleRef:
    """The article an alert is about, as the receiver sees it."""

    id: int | str
    title: str
    url: str | None
    published: datetime | None
    source_name: str
    source_url: str


@dataclass(frozen=True)
class StoryRef:
    """The story an alert's article belongs to (docs/stories.md), as it stands when sent:
    how many articles and which sources carry it, and when it was first seen."""

    id: int
    articles: int
    sources: tuple[str, ...]
    first_seen: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "articles": self.articles,
            "sources": [redact_text(name) for name in self.sources],
            "first_seen": _iso(self.first_seen),
        }


def _iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``; a naive datetime is taken as UTC (SQLite returns those)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _offset(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer offset, got {value!r}")
    return value


def _match_entry(match: Mapping[str, object]) -> dict[str, object]:
    missing = [key for key in _MATCH_KEYS if key not in match]
    if missing:
        raise ValueError(f"match is missing {', '.join(missing)}: {dict(match)!r}")
    entry = {key: match[key] for key in _MATCH_KEYS}
    entry["start"] = _offset(entry["start"], "match start")
    entry["end"] = _offset(entry["end"], "match end")
    return entry


def _highlights(value: object) -> list[list[int]]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ValueError(f"excerpt highlights must be a list of [start, end], got {value!r}")
    spans: list[list[int]] = []
    for span in value:
        if not isinstance(span, Sequence) or isinstance(span, str | bytes) or len(span) != 2:
            raise ValueError(f"excerpt highlight must be [start, end], got {span!r}")
        spans.append([_offset(span[0], "highlight start"), _offset(span[1], "highlight end")])
    return spans


def _excerpt_entry(excerpt: Mapping[str, object]) -> dict[str, object]:
    missing = [key for key in ("field", "text", "highlights") if key not in excerpt]
    if missing:
        raise ValueError(f"excerpt is missing {', '.join(missing)}: {dict(excerpt)!r}")
    return {
        "field": excerpt["field"],
        "text": excerpt["text"],
        "highlights": _highlights(excerpt["highlights"]),
    }


def build_payload(
    *,
    watchlist: str,
    entities: Sequence[str],
    article: ArticleRef,
    matches: Sequence[Mapping[str, object]],
    excerpts: Sequence[Mapping[str, object]],
    rule: str | None,
    timestamp: datetime,
    rule_expr: str | None = None,
    truncated: bool = False,
    story: StoryRef | None = None,
    update_of: str | None = None,
    changes: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The webhook body (README, "The alert") as JSON-ready plain data.

    ``matches`` and ``excerpts`` are in the ``monitor match`` shape; only the documented keys are
    kept, in a stable order, so the receiver's contract does not drift with internal fields.
    Datetimes are written in UTC (``...Z``); the article and source URLs are redacted
    (``monitor.redact``). Raises ``ValueError`` on a malformed match/excerpt.
    """
    return {
        "type": EVENT_TYPE,
        "timestamp": _iso(timestamp),
        "data": {
            "watchlist": watchlist,
            "entities": list(entities),
            "article": {
                "id": article.id,
                "title": article.title,
                "url": (
                    redact_article_url(article.url, article.source_url)
                    if article.url
                    else article.url
                ),
                "published": _iso(article.published) if article.published else None,
                "source": {
                    "name": redact_text(article.source_name),  # it may be a URL
                    "url": redact_url(article.source_url),
                },
            },
            "matches": [_match_entry(match) for match in matches],
            "excerpts": [_excerpt_entry(excerpt) for excerpt in excerpts],
            "rule": rule,
            "rule_expr": rule_expr,
            "truncated": truncated,
            "story": story.to_json() if story is not None else None,
            "update_of": update_of,
            "changes": dict(changes) if changes is not None else None,
        },
    }


def encode_body(payload: Mapping[str, object]) -> bytes:
    """The exact bytes to send and sign: compact JSON, non-ASCII kept, UTF-8.

    A lone surrogate (not encodable in UTF-8) becomes ``?`` rather than making the alert
    undeliverable forever.
    """
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8", errors="replace")


# --- reading a payload back (it may come from the database as JSON) -------------------------


@dataclass(frozen=True)
class _Excerpt:
    field: str
    text: str
    highlights: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Alert:
    watchlist: str
    entities: tuple[str, ...]
    title: str
    url: str | None
    published: str | None
    source_name: str
    source_url: str | None
    excerpts: tuple[_Excerpt, ...]
    rule: str | None
    timestamp: str | None
    other_sources: int = 0
    update: bool = False


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"payload {what} must be an object, got {type(value).__name__}")
    return value


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _optional_text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _optional_url(value: object, redact: Callable[[str], str] = redact_url) -> str | None:
    text = _optional_text(value)
    return redact(text) if text else None


def _read_alert(payload: Mapping[str, object]) -> _Alert:
    data = _mapping(payload.get("data"), "data")
    article = _mapping(data.get("article"), "data.article")
    source = _mapping(article.get("source") or {}, "data.article.source")
    entities = data.get("entities") or []
    if not isinstance(entities, Sequence) or isinstance(entities, str):
        raise ValueError("payload data.entities must be a list")
    excerpts: list[_Excerpt] = []
    raw_excerpts = data.get("excerpts") or []
    if not isinstance(raw_excerpts, Sequence):
        raise ValueError("payload data.excerpts must be a list")
    for raw in raw_excerpts:
        excerpt = _mapping(raw, "excerpt")
        spans = _highlights(excerpt.get("highlights") or [])
        excerpts.append(
            _Excerpt(
                field=_text(excerpt.get("field")),
                text=_text(excerpt.get("text")),
                highlights=tuple((start, end) for start, end in spans),
            )
        )
    return _Alert(
        watchlist=_text(data.get("watchlist")),
        entities=tuple(_text(entity) for entity in entities),
        title=_text(article.get("title")),
        url=_optional_url(article.get("url"), redact_article_url),
        published=_optional_text(article.get("published")),
        source_name=_text(source.get("name")),
        source_url=_optional_url(source.get("url")),
        excerpts=tuple(excerpts),
        rule=_optional_text(data.get("rule")),
        timestamp=_optional_text(payload.get("timestamp")),
        other_sources=_other_sources(data.get("story"), _text(source.get("name"))),
        update=bool(data.get("update_of")),
    )


def _other_sources(story: object, source_name: str) -> int:
    """How many sources other than the article's own carry its story."""
    if not isinstance(story, Mapping):
        return 0
    names = story.get("sources")
    if not isinstance(names, Sequence) or isinstance(names, str):
        return 0
    return len({str(name) for name in names} - {source_name})


def _also_reported(alert: _Alert) -> str | None:
    count = alert.other_sources
    if count <= 0:
        return None
    return f"Also reported by {count} other source{'s' if count != 1 else ''}"


# --- shared rendering helpers ----------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL_UNSAFE = re.compile(r'[ "<>\\^`{|}]')


def _one_line(text: str) -> str:
    """Control characters (line breaks included) become spaces, one for one, so offsets hold."""
    return _CONTROL.sub(" ", text)


def _label(text: str, default: str) -> str:
    """``text`` on one line without outer spaces, or ``default`` when nothing is left."""
    return _one_line(text).strip() or default


def _web_url(url: str | None, max_length: int = 2048) -> str | None:
    """``url`` if it is a plain http(s) URL a chat client may link to, else None."""
    if not url or len(url) > max_length or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    # Characters that would end a chat link (|, <, >, spaces, quotes) are percent-encoded.
    return _URL_UNSAFE.sub(lambda found: f"%{ord(found.group()):02X}", url)


def _merged_spans(spans: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Highlights clipped to the text, sorted, with overlapping or touching ones merged."""
    clipped = sorted(
        (max(0, start), min(length, end))
        for start, end in spans
        if min(length, end) > max(0, start)
    )
    merged: list[tuple[int, int]] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _render_highlighted(
    text: str,
    spans: Sequence[tuple[int, int]],
    escape: Callable[[str], str],
    bold: str,
) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in _merged_spans(spans, len(text)):
        pieces.append(escape(text[position:start]))
        highlighted = text[start:end]
        core = highlighted.strip()
        if core:
            # Chat markup only bolds when the markers hug non-space characters.
            lead = highlighted[: len(highlighted) - len(highlighted.lstrip())]
            trail = highlighted[len(highlighted.rstrip()) :]
            pieces.append(f"{escape(lead)}{bold}{escape(core)}{bold}{escape(trail)}")
        else:
            pieces.append(escape(highlighted))
        position = end
    pieces.append(escape(text[position:]))
    return "".join(pieces)


def _fit(render: Callable[[str], str], text: str, limit: int) -> str:
    """``render(text)``, or of the longest prefix of ``text`` (plus …) whose rendering fits."""
    rendered = render(text)
    if len(rendered) <= limit:
        return rendered
    low, high = 0, len(text)
    best, kept = "", 0
    while low <= high:
        middle = (low + high) // 2
        candidate = render(text[:middle].rstrip() + _ELLIPSIS)
        if len(candidate) <= limit:
            best, kept = candidate, middle
            low = middle + 1
        else:
            high = middle - 1
    at_word = _word_cut(text, kept)
    return best if at_word == kept else render(text[:at_word].rstrip() + _ELLIPSIS)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: _word_cut(text, max(0, limit - 1))].rstrip() + _ELLIPSIS


def _word_cut(text: str, end: int) -> int:
    """``end``, or the last space before it when ``end`` falls inside a word (not further
    back than 30 characters: a run without spaces is cut where it must be)."""
    if 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        space = text.rfind(" ", max(0, end - 30), end)
        if space > 0:
            return space
    return end


def _excerpt_lines(
    alert: _Alert,
    limit: int,
    render_line: Callable[[_Excerpt, int], str],
    more: Callable[[int], str],
) -> str:
    """Excerpt lines joined by newlines within ``limit``; a note counts the ones left out."""
    lines: list[str] = []
    used = 0
    shown = [excerpt for excerpt in alert.excerpts if excerpt.text.strip()]
    for index, excerpt in enumerate(shown):
        remaining = len(shown) - index - 1
        reserve = len(more(remaining)) + 1 if remaining else 0
        budget = limit - used - (1 if lines else 0) - reserve
        line = render_line(excerpt, budget) if budget > 0 else ""
        if not line:
            left_out = len(shown) - index
            note = more(left_out)
            if used + len(note) + (1 if lines else 0) <= limit:
                lines.append(note)
            break
        lines.append(line)
        used += len(line) + (1 if len(lines) > 1 else 0)
    return "\n".join(lines)


# --- Slack -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SlackLimits:
    header_text: int = 150
    section_text: int = 3000
    context_text: int = 3000
    fallback_text: int = 3000


SLACK_LIMITS = _SlackLimits()


def escape_slack(text: str) -> str:
    """Slack mrkdwn escaping: only ``&``, ``<`` and ``>`` are control characters there (for
    link targets; text to show goes through `slack_text`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack has no escape for its formatting marks: in text from a feed they are shown as
# look-alikes that format nothing (an article's "*GNA*" or "```" bolded, struck through or
# opened a code block around the evidence: an outside probe).
_SLACK_MARKS = str.maketrans({"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"})


# The colon that opens an emoji code (":warning:", ":+1:", ":100:"); a time such as 10:30:00
# stays as written.
_SLACK_EMOJI_CODE = re.compile(r":(?=(?:[a-z0-9+'\-]*[a-z+][a-z0-9+'\-]*|[0-9]{3,}):)")


def slack_text(text: str) -> str:
    """``text`` (from a feed or the config) for a Slack mrkdwn field: `escape_slack`, the
    formatting marks ``* _ ~ ` `` as look-alikes (∗ ＿ ∼ ˋ) that format nothing, and the colon
    that opens an emoji code (":warning:") as the look-alike ∶, so no feed draws emoji."""
    return _SLACK_EMOJI_CODE.sub("\u2236", escape_slack(text).translate(_SLACK_MARKS))


_SLACK_MAX_LINK = 1000  # escaped URL length; a longer one is shown without a link


def _source_link(url: str | None) -> str | None:
    """The feed URL a chat message links its source's name to, or None: a URL with a part
    masked (a token in its query, userinfo) leads nowhere, so the name is shown unlinked."""
    if url is None or _MASK in url:
        return None
    return url


def _slack_link_target(url: str | None) -> str | None:
    """The escaped target for ``<target|text>``, or None when ``url`` should not be linked."""
    web_url = _web_url(url)
    if web_url is None:
        return None
    target = escape_slack(web_url)
    return target if len(target) <= _SLACK_MAX_LINK else None


def _slack_excerpt(excerpt: _Excerpt, budget: int) -> str:
    label = f"_{slack_text(_one_line(excerpt.field))}_: " if excerpt.field else ""

    def render(text: str) -> str:
        return "> " + label + _render_highlighted(text, excerpt.highlights, slack_text, "*")

    if len(render("")) + 1 > budget:
        return ""
    return _fit(render, _one_line(excerpt.text), budget)


def slack_message(payload: Mapping[str, object]) -> dict[str, object]:
    """A Slack incoming-webhook message (``text`` fallback plus Block Kit blocks)."""
    alert = _read_alert(payload)
    limits = SLACK_LIMITS
    entities = ", ".join(alert.entities)
    prefix = "Update: " if alert.update else ""
    header = _truncate(_one_line(f"{prefix}{alert.watchlist}: {entities}"), limits.header_text)
    title = _label(alert.title, "(untitled)")
    article_target = _slack_link_target(alert.url)
    if article_target:
        link = f"<{article_target}|"
        title_text = _fit(lambda text: f"*{link}{slack_text(text)}>*", title, limits.section_text)
    else:
        title_text = _fit(lambda text: f"*{slack_text(text)}*", title, limits.section_text)
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": title_text}},
    ]
    excerpts = _excerpt_lines(
        alert,
        limits.section_text,
        _slack_excerpt,
        lambda count: f"_…and {count} more excerpt{'s' if count != 1 else ''}_",
    )
    if excerpts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": excerpts}})
    # Each part is bounded (link 1000, name 500, date 100, rule 1000), so the whole fits 3000.
    context_parts: list[str] = []
    source_name = _fit(slack_text, _label(alert.source_name, "source"), 500)
    source_target = _slack_link_target(_source_link(alert.source_url))
    if source_target:
        context_parts.append(f"Source: <{source_target}|{source_name}>")
    else:
        context_parts.append(f"Source: {source_name}")
    if alert.published:
        context_parts.append(f"Published: {_fit(slack_text, _one_line(alert.published), 100)}")
    if alert.rule:
        rule = _fit(lambda text: f"`{slack_text(text)}`", _one_line(alert.rule), 1000)
        context_parts.append(f"Rule: {rule}")
    also = _also_reported(alert)
    if also:
        context_parts.append(also)
    context = " · ".join(context_parts)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    fallback = _fit(
        slack_text,
        # The notification text too says it is a follow-up (it read like a first alert).
        _one_line(f"{prefix}{alert.watchlist}: {entities}: {alert.title}"),
        limits.fallback_text,
    )
    return {"text": fallback, "blocks": blocks}


# --- Discord ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DiscordLimits:
    content: int = 2000
    title: int = 256
    description: int = 4096
    field_name: int = 256
    field_value: int = 1024
    embed_total: int = 6000


DISCORD_LIMITS = _DiscordLimits()

_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>\[\]()<#@:-])")


def escape_discord(text: str) -> str:
    """Backslash-escape Discord markdown characters (and ``@``/``<`` so nothing pings)."""
    return _DISCORD_SPECIAL.sub(r"\\\1", text)


def _discord_excerpt(excerpt: _Excerpt, budget: int) -> str:
    label = f"*{escape_discord(_one_line(excerpt.field))}*: " if excerpt.field else ""

    def render(text: str) -> str:
        return "> " + label + _render_highlighted(text, excerpt.highlights, escape_discord, "**")

    if len(render("")) + 1 > budget:
        return ""
    return _fit(render, _one_line(excerpt.text), budget)


def discord_message(payload: Mapping[str, object]) -> dict[str, object]:
    """A Discord webhook message: one embed, no mentions allowed, within Discord's limits."""
    alert = _read_alert(payload)
    limits = DISCORD_LIMITS
    entities = ", ".join(alert.entities)
    fields: list[dict[str, object]] = [
        {
            "name": "Watchlist",
            "value": _fit(escape_discord, _label(alert.watchlist, "-"), 256),
            "inline": True,
        },
        {
            "name": "Entities",
            "value": _fit(escape_discord, _label(entities, "-"), 512),
            "inline": True,
        },
    ]
    source_name = _label(alert.source_name, "source")
    source_url = _web_url(_source_link(alert.source_url))
    if source_url:
        link = source_url.replace("(", "%28").replace(")", "%29")
        source_value = _fit(lambda text: f"[{escape_discord(text)}]({link})", source_name, 1024)
        if not source_value:
            source_value = _fit(escape_discord, source_name, 256)
    else:
        source_value = _fit(escape_discord, source_name, 256)
    fields.append({"name": "Source", "value": source_value, "inline": True})
    also = _also_reported(alert)
    if also:
        fields.append({"name": "Story", "value": also, "inline": True})
    if alert.rule:
        fields.append(
            {
                "name": "Rule",
                "value": _fit(
                    lambda text: f"`{text.replace('`', 'ˋ')}`", _one_line(alert.rule), 512
                ),
                "inline": False,
            }
        )
    title = _fit(escape_discord, _label(alert.title, "(untitled)"), limits.title)
    used = len(title) + sum(len(str(f["name"])) + len(str(f["value"])) for f in fields)
    description_limit = min(limits.description, limits.embed_total - used)
    description = _excerpt_lines(
        alert,
        description_limit,
        _discord_excerpt,
        lambda count: f"*…and {count} more excerpt{'s' if count != 1 else ''}*",
    )
    embed: dict[str, object] = {"title": title, "fields": fields}
    article_url = _web_url(alert.url)
    if article_url:
        embed["url"] = article_url
    if description:
        embed["description"] = description
    when = alert.published or alert.timestamp
    if when:
        embed["timestamp"] = when
    content = _fit(
        lambda text: f"**{escape_discord(text)}**",
        _one_line(f"{'Update: ' if alert.update else ''}{alert.watchlist}: {entities}"),
        limits.content,
    )
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}


def render_message(
    message_format: MessageFormat, payload: Mapping[str, object]
) -> Mapping[str, object]:
    """The JSON document to send for a sink of ``message_format``."""
    if message_format == "standard":
        return payload
    if payload.get("type") == "watchlist.digest":
        from monitor.alerts.digest import discord_digest, slack_digest

        return slack_digest(payload) if message_format == "slack" else discord_digest(payload)
    if message_format == "slack":
        return slack_message(payload)
    if message_format == "discord":
        return discord_message(payload)
    raise ValueError(f"unknown sink format {message_format!r}")
