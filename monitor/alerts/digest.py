"""Digests (pure): when a digest sink's periods end, and what one digest says: the stories
that matched in its period, grouped by watchlist and entity, with the best excerpt each
(docs/stories.md, "Digests"); its Slack and Discord renderings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from monitor.alerts.payload import (
    ArticleRef,
    StoryRef,
    _iso,
    _one_line,
    _slack_link_target,
    _truncate,
    _web_url,
    escape_discord,
    slack_text,
)
from monitor.match import Excerpt
from monitor.plural import plural
from monitor.redact import redact_article_url, redact_text, redact_url

__all__ = ["DIGEST_TYPE", "Digest", "DigestStory", "period_end", "previous_period_end"]

DIGEST_TYPE = "watchlist.digest"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def period_end(now: datetime, *, every: timedelta | None, at: str | None) -> datetime:
    """The end of the latest digest period at or before ``now``: a multiple of ``every``
    since 1970-01-01 UTC (``1h``: each full hour), or today's (else yesterday's) ``at`` time
    of day, UTC."""
    if every is not None:
        periods = (now - _EPOCH) // every
        return _EPOCH + periods * every
    if at is None:
        raise ValueError("a digest period needs every or at")
    hour, minute = (int(part) for part in at.split(":"))
    today = datetime.combine(now.astimezone(UTC).date(), time(hour, minute), tzinfo=UTC)
    return today if today <= now else today - timedelta(days=1)


def previous_period_end(end: datetime, *, every: timedelta | None) -> datetime:
    """The period end before ``end`` (the start of the period that ends at ``end``)."""
    return end - every if every is not None else end - timedelta(days=1)


@dataclass(frozen=True)
class DigestStory:
    """One story in a digest: its article (the first the sink heard of), watchlist,
    entities, best excerpt, and the story as it stands."""

    watchlist: str
    entities: tuple[str, ...]
    article: ArticleRef
    excerpt: Excerpt | None
    story: StoryRef | None

    def to_json(self) -> dict[str, object]:
        article = self.article
        return {
            "watchlist": self.watchlist,
            "entities": list(self.entities),
            "article": {
                "id": article.id,
                "title": article.title,
                "url": (
                    redact_article_url(article.url, article.source_url) if article.url else None
                ),
                "published": _iso(article.published) if article.published else None,
                "source": {
                    "name": redact_text(article.source_name),
                    "url": redact_url(article.source_url),
                },
            },
            "excerpt": self.excerpt.to_json() if self.excerpt is not None else None,
            "story": self.story.to_json() if self.story is not None else None,
        }


@dataclass(frozen=True)
class Digest:
    """A digest: the stories a digest sink heard of between ``start`` and ``end``."""

    id: str
    sink: str
    start: datetime
    end: datetime
    stories: tuple[DigestStory, ...]
    created_at: datetime

    def payload(self) -> dict[str, object]:
        """The webhook body: ``watchlists`` -> ``entities`` -> ``stories``; a story is listed
        once, under its first entity (its ``entities`` name them all)."""
        grouped: dict[str, dict[str, list[dict[str, object]]]] = {}
        for item in self.stories:
            entity = item.entities[0] if item.entities else ""
            grouped.setdefault(item.watchlist, {}).setdefault(entity, []).append(item.to_json())
        return {
            "type": DIGEST_TYPE,
            "timestamp": _iso(self.created_at),
            "data": {
                "period": {"start": _iso(self.start), "end": _iso(self.end)},
                "count": len(self.stories),
                "watchlists": [
                    {
                        "watchlist": watchlist,
                        "entities": [
                            {"entity": entity, "stories": stories}
                            for entity, stories in entities.items()
                        ],
                    }
                    for watchlist, entities in grouped.items()
                ],
            },
        }

    def describe(self) -> str:
        told = plural(len(self.stories), "story", "stories")
        return f"digest of {told} for {self.sink} up to {_iso(self.end)}"


def best_excerpt(excerpts: Sequence[Excerpt]) -> Excerpt | None:
    """The excerpt a digest shows: the first (the match orders excerpts by evidence and by
    the number of entities they show)."""
    return excerpts[0] if excerpts else None


# --- renderings ------------------------------------------------------------------------------


def _lines(payload: Mapping[str, object]) -> tuple[str, list[tuple[str, str, str | None, str]]]:
    """(period text, [(group label, title, url, details)]) read back from a digest body."""
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise ValueError("digest payload has no data object")
    period = data.get("period") if isinstance(data.get("period"), Mapping) else {}
    assert isinstance(period, Mapping)
    rows: list[tuple[str, str, str | None, str]] = []
    for group in data.get("watchlists") or []:
        for entity in group.get("entities") or []:
            label = f"{group.get('watchlist', '')} / {entity.get('entity', '')}"
            for story in entity.get("stories") or []:
                article = story.get("article") or {}
                source = (article.get("source") or {}).get("name") or "source"
                sources = (story.get("story") or {}).get("sources") or []
                others = len({str(s) for s in sources} - {str(source)})
                details = str(source) + (
                    f", also reported by {others} other source{'s' if others != 1 else ''}"
                    if others
                    else ""
                )
                url = article.get("url")
                rows.append((label, str(article.get("title") or "(untitled)"), url, details))
    return f"{period.get('start', '')} to {period.get('end', '')}", rows


# Chat limits: a Slack section holds 3,000 characters and a message 50 blocks (and about
# 40,000 characters); a Discord embed's description 4,096 (6,000 for the whole embed).
_SLACK_SECTION_CHARS = 2900
_SLACK_SECTIONS = 45
_SLACK_TOTAL_CHARS = 36_000
_DISCORD_DESCRIPTION_CHARS = 4000
_TITLE_CHARS = 300  # a story's title in a chat digest line (the link stays whole)


def _packed(
    lines: Sequence[str], *, chunk: int, chunks: int, total: int, more: Callable[[int], str]
) -> list[str]:
    """Whole lines in at most ``chunks`` texts of at most ``chunk`` characters (``total`` in
    all); when some do not fit, the last text ends with ``more(left out)``: a digest line
    is never cut (a cut inside its link broke the message) and never left out unsaid."""
    texts: list[str] = []
    current: list[str] = []
    size = used = 0
    for position, line in enumerate(lines):
        left = len(lines) - position
        # Room for this line, and for the "more" line should a later one not fit.
        reserve = 0 if left == 1 else len(more(left - 1)) + 1
        fits_chunk = size + len(line) + 1 + reserve <= chunk
        if not fits_chunk and current and len(texts) + 1 < chunks:
            texts.append("\n".join(current))
            current, size = [], 0
            fits_chunk = len(line) + 1 + reserve <= chunk
        if not fits_chunk or used + len(line) + 1 + reserve > total:
            current.append(more(left))
            break
        current.append(line)
        size += len(line) + 1
        used += len(line) + 1
    if current:
        texts.append("\n".join(current))
    return texts


def _more(left: int) -> str:
    return f"… and {plural(left, 'more story', 'more stories')} (`monitor stories` lists them)"


def slack_digest(payload: Mapping[str, object]) -> dict[str, object]:
    period, rows = _lines(payload)
    header = _truncate(_one_line(f"Digest: {plural(len(rows), 'story', 'stories')}"), 150)
    lines = []
    for label, title, url, details in rows:
        title_text = slack_text(_truncate(_one_line(title), _TITLE_CHARS))
        target = _slack_link_target(url)
        link = f"<{target}|{title_text}>" if target else title_text
        line = f"• *{slack_text(_one_line(label))}*: {link} ({slack_text(details)})"
        lines.append(_truncate(line, _SLACK_SECTION_CHARS // 2))
    sections = _packed(
        lines,
        chunk=_SLACK_SECTION_CHARS,
        chunks=_SLACK_SECTIONS,
        total=_SLACK_TOTAL_CHARS,
        more=lambda left: slack_text(_more(left)),
    )
    return {
        "text": _truncate(f"Digest: {len(rows)} stories, {period}", 3000),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
            *(
                {"type": "section", "text": {"type": "mrkdwn", "text": text}}
                for text in sections or ["-"]
            ),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_text(period)}]},
        ],
    }


def discord_digest(payload: Mapping[str, object]) -> dict[str, object]:
    period, rows = _lines(payload)
    lines = []
    for label, title, url, details in rows:
        title_text = escape_discord(_truncate(_one_line(title), _TITLE_CHARS))
        target = _web_url(url)
        link = (
            f"[{title_text}]({target.replace('(', '%28').replace(')', '%29')})"
            if target
            else title_text
        )
        line = f"• **{escape_discord(_one_line(label))}**: {link} ({escape_discord(details)})"
        lines.append(_truncate(line, _DISCORD_DESCRIPTION_CHARS // 2))
    (description,) = _packed(
        lines,
        chunk=_DISCORD_DESCRIPTION_CHARS,
        chunks=1,
        total=_DISCORD_DESCRIPTION_CHARS,
        more=lambda left: escape_discord(_more(left)),
    ) or ["-"]
    return {
        "content": _truncate(f"**Digest: {len(rows)} stories**", 2000),
        "embeds": [{"title": _truncate(escape_discord(period), 256), "description": description}],
        "allowed_mentions": {"parse": []},
    }
