"""The alert record: one watchlist's match on one article. The pipeline stores it, replay queues
it, the outbox reads it back and sends it; the payload is built from it by one function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.alerts.payload import ArticleRef, StoryRef, build_payload
from monitor.match import Excerpt, Mention, WatchlistMatch

__all__ = ["Alert", "match_from_json"]


@dataclass(frozen=True)
class Alert:
    """What one alert is about: the watchlist match, the article, and when it was recorded."""

    match: WatchlistMatch
    article: ArticleRef
    created_at: datetime
    story: StoryRef | None = None
    update_of: str | None = None
    """A follow-up (`stories: updates`): the webhook-id of the story's first alert."""
    changes: Mapping[str, object] | None = None

    def payload(self) -> dict[str, object]:
        """The webhook body; the same for a live alert, a replayed one and every retry."""
        match = self.match
        return build_payload(
            watchlist=match.watchlist,
            entities=list(match.entities),
            article=self.article,
            matches=[mention.to_json() for mention in match.mentions],
            excerpts=[excerpt.to_json() for excerpt in match.excerpts],
            rule=match.rule,
            rule_expr=match.rule_expr,
            truncated=match.truncated,
            timestamp=self.created_at,
            story=self.story,
            update_of=self.update_of,
            changes=self.changes,
        )


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return value


def _list(value: object, what: str) -> Sequence[object]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ValueError(f"{what} must be a list, got {type(value).__name__}")
    return value


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be an object, got {type(value).__name__}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def match_from_json(detail: Mapping[str, object]) -> WatchlistMatch:
    """The typed match back from ``WatchlistMatch.to_json()`` (as stored in the database).

    Raises ValueError naming the part that is malformed.
    """
    mentions = []
    for raw in _list(detail.get("matches"), "matches"):
        m = _mapping(raw, "match")
        mentions.append(
            Mention(
                watchlist=str(m.get("watchlist", detail.get("watchlist", ""))),
                entity=str(m.get("entity", "")),
                field=str(m.get("field", "")),
                start=_int(m.get("start"), "match start"),
                end=_int(m.get("end"), "match end"),
                text=str(m.get("text", "")),
            )
        )
    excerpts = []
    for raw in _list(detail.get("excerpts"), "excerpts"):
        e = _mapping(raw, "excerpt")
        spans = []
        for span in _list(e.get("highlights"), "excerpt highlights"):
            pair = _list(span, "excerpt highlight")
            if len(pair) != 2:
                raise ValueError(f"excerpt highlight must be [start, end], got {span!r}")
            spans.append((_int(pair[0], "highlight start"), _int(pair[1], "highlight end")))
        excerpts.append(
            Excerpt(
                field=str(e.get("field", "")), text=str(e.get("text", "")), highlights=tuple(spans)
            )
        )
    return WatchlistMatch(
        watchlist=str(detail.get("watchlist", "")),
        entities=tuple(str(x) for x in _list(detail.get("entities"), "entities")),
        mentions=tuple(mentions),
        excerpts=tuple(excerpts),
        rule=_optional_str(detail.get("rule")),
        rule_expr=_optional_str(detail.get("rule_expr")),
        truncated=detail.get("truncated") is True,
    )
