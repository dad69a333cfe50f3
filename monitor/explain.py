"""``monitor explain``: read one article (a file, standard input, or the database by id or URL),
and say how the watchlists match it and which sinks it would alert, as text or JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.alerts.policy import SinkPolicy
from monitor.config import SinkConfig
from monitor.db.articles import StoredArticle
from monitor.db.deliveries import IN_DIGEST, StoredContext
from monitor.db.store import Store
from monitor.durations import format_duration
from monitor.errors import MonitorError
from monitor.match.explain import Explanation, WatchlistDecision
from monitor.match.result import FIELDS
from monitor.matchio import BadArticle, article_json
from monitor.parse import canonical_url
from monitor.pipeline import first_run_holds, too_old
from monitor.plural import plural
from monitor.redact import redact_article_url, redact_url, terminal_text
from monitor.text import html_to_text, left_out_text

__all__ = [
    "ArticleInput",
    "ExplainError",
    "SinkDecision",
    "explanation_json",
    "read_article",
    "render_explanation",
    "sink_decisions",
    "stored_article",
]


class ExplainError(MonitorError):
    """An article that cannot be read or found; the message names it."""


@dataclass(frozen=True)
class ArticleInput:
    """The article to explain: its HTML fields and where it came from (``origin`` is
    ``file``, ``stdin`` or ``database``)."""

    fields: dict[str, str]
    origin: str
    label: str
    article_id: int | None = None
    url: str | None = None
    # A stored article: what was queued for it, (watchlist, sink) -> (id, status).
    queued: Mapping[tuple[str, str], tuple[str, str]] | None = None
    # A stored article: what decided whether it alerted (why nothing was queued).
    context: StoredContext | None = None


def read_article(name: str, text: str | None = None) -> ArticleInput:
    """The article in file ``name`` (``-``: standard input, whose ``text`` is given): a JSON
    object with ``title``, ``summary`` and/or ``content`` (other keys ignored) when it starts
    with ``{``; else the whole text is the article's content (HTML or plain text)."""
    origin = "stdin" if name == "-" else "file"
    label = "standard input" if name == "-" else name
    if text is None:
        try:
            text = Path(name).read_bytes().decode("utf-8-sig")
        except OSError as error:
            raise ExplainError(f"cannot read {name}: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise ExplainError(f"{name}: not UTF-8 (byte {error.start + 1})") from None
    if not text.lstrip().startswith("{"):
        return ArticleInput({"content": text}, origin, label)
    try:
        _, fields = article_json(text)
    except BadArticle as error:
        raise ExplainError(f"{label}: {error}") from None
    if not fields:
        # A misspelled key ("titel") made an empty article that "would not alert".
        keys = ", ".join(repr(key) for key in _object_keys(text)) or "none"
        raise ExplainError(
            f"{label}: no 'title', 'summary' or 'content' field (its keys: {keys}); write "
            "the article's text under those keys"
        )
    return ArticleInput(fields, origin, label)


def _object_keys(text: str) -> list[str]:
    import json

    try:
        item = json.loads(text)
    except ValueError:
        return []
    return [str(key) for key in item] if isinstance(item, dict) else []


def stored_article(
    store: Store, *, article_id: int | None = None, url: str | None = None
) -> ArticleInput:
    """A stored article by id, or the newest stored under ``url`` (as given or canonical)."""
    found: StoredArticle | None
    if article_id is not None:
        found = store.article(article_id)
        if found is None:
            raise ExplainError(f"no stored article has id {article_id}")
        label = f"id {article_id}"
    else:
        assert url is not None
        candidates = store.articles_at_url(sorted({url.strip(), canonical_url(url)}))
        if not candidates:
            raise ExplainError(f"no stored article has the URL {redact_url(url.strip())}")
        found = candidates[0]
        label = f"id {found.id}"
    fields = {"title": found.title, "summary": found.summary, "content": found.content}
    queued = store.alerts_of_article(found.id)
    context = store.stored_context(found.id)
    return ArticleInput(fields, "database", label, found.id, found.canonical_url, queued, context)


@dataclass(frozen=True)
class SinkDecision:
    """Whether one configured sink would get the watchlist's alert, and why."""

    sink: str
    sends: bool
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"sink": self.sink, "sends": self.sends, "reason": self.reason}


def sink_decisions(
    decision: WatchlistDecision, sinks: Sequence[SinkConfig], routes: Mapping[str, Sequence[str]]
) -> list[SinkDecision]:
    """Every configured sink for one watchlist: routed to it (``sink_routes``) and enabled,
    and the watchlist alerts."""
    routed = routes.get(decision.watchlist, ())
    decisions = []
    for sink in sinks:
        if not sink.enabled:
            decisions.append(SinkDecision(sink.name, False, "the sink is disabled"))
        elif sink.name not in routed:
            decisions.append(
                SinkDecision(sink.name, False, "not one of the sinks this watchlist alerts")
            )
        elif decision.alerts:
            decisions.append(_filtered(decision, sink))
        else:
            decisions.append(SinkDecision(sink.name, False, "the watchlist does not alert"))
    return decisions


def _filtered(decision: WatchlistDecision, sink: SinkConfig) -> SinkDecision:
    """An alerting watchlist's verdict for one routed sink, through the sink's filters (its
    story policy needs the stored stories, so it is only named)."""
    policy = SinkPolicy.of(sink)
    if policy.watchlists is not None and decision.watchlist not in policy.watchlists:
        return SinkDecision(sink.name, False, "the sink's watchlists filter leaves it out")
    named = frozenset(decision.alert.entities if decision.alert is not None else ())
    if policy.entities is not None and not named & policy.entities:
        wanted = ", ".join(sorted(policy.entities))
        return SinkDecision(
            sink.name, False, f"names none of the sink's entities filter ({wanted})"
        )
    conditions = []
    if policy.min_sources > 1:
        conditions.append(f"its story has {policy.min_sources} or more sources (min_sources)")
    if policy.stories == "first" and not policy.digest:
        conditions.append("the sink was not told of its story yet (stories: first)")
    elif policy.stories == "updates" and not policy.digest:
        conditions.append(
            "the sink was not told of its story yet, or as a follow-up (stories: updates)"
        )
    if conditions:
        return SinkDecision(sink.name, True, "would send the alert if " + " and ".join(conditions))
    return SinkDecision(sink.name, True, "would send the alert")


def held_reason(
    context: StoredContext,
    article_id: int,
    watchlist: str,
    sink: SinkConfig,
    alert_max_age: timedelta | None,
) -> str:
    """Why nothing was queued for a stored article's match to ``sink``, in the order the
    service decides (`monitor.pipeline.held_back`, then the sink's story policy); what the
    stored rows cannot tell is named as what remains."""
    if watchlist not in context.matched:
        return "the watchlist did not match it when it was stored (it changed since)"
    dated, stored = context.published_at, context.fetched_at
    if dated is not None and alert_max_age is not None and too_old(dated, stored, alert_max_age):
        return (
            f"dated {format_duration(stored - dated)} before it was stored, older than "
            f"alert_max_age ({format_duration(alert_max_age)})"
        )
    first_poll = stored == context.first_polled_at  # the first poll's time is its articles'
    if first_poll and first_run_holds(context.first_run, context.first_run_window, dated, stored):
        return f"stored by its source's first poll (first_run: {context.first_run})"
    told = context.told.get((watchlist, sink.name))
    if told is not None and told.article_id != article_id and told.created_at <= context.fetched_at:
        if told.kind == "digest":
            return "its story was already in a digest of this sink"
        sent = f" (alert {told.delivery_id[:8]})" if told.delivery_id else ""
        return f"this sink had already been told of its story{sent}"
    policy = SinkPolicy.of(sink)
    if context.story_sources is not None and context.story_sources < policy.min_sources:
        return (
            f"its story has {plural(context.story_sources, 'source')}, fewer than "
            f"min_sources ({policy.min_sources})"
        )
    return (
        "not told by the stored rows: the sink or its route came later, or alert_max_per_poll "
        "or alert_max_per_hour held it back with the older entries of its poll"
    )


def explanation_json(
    article: ArticleInput,
    explanation: Explanation,
    sinks: Sequence[SinkConfig] | None,
    routes: Mapping[str, Sequence[str]],
    alert_max_age: timedelta | None = None,
) -> dict[str, Any]:
    """The ``monitor explain --json`` document (docs/matching.md, "Explaining a match");
    ``sinks`` None: not known (watchlists given with ``--watchlist``)."""
    document: dict[str, Any] = {
        "article": {
            "origin": article.origin,
            "label": article.label,
            "id": article.article_id,
            "url": redact_article_url(article.url) if article.url else None,
            "title": html_to_text(article.fields.get("title") or ""),
        },
        **explanation.to_json(),
    }
    # What is on the page but not the article's text: a name there does not count.
    left_out = {field: left_out_text(article.fields.get(field) or "") for field in FIELDS}
    document["left_out"] = {field: text for field, text in left_out.items() if text}
    for decision, shown in zip(explanation.decisions, document["watchlists"], strict=True):
        shown["sinks"] = (
            None
            if sinks is None
            else [item.to_json() for item in sink_decisions(decision, sinks, routes)]
        )
        if article.queued is None:
            continue  # not a stored article: nothing was queued for it
        by_name = {sink.name: sink for sink in sinks or ()}
        for item in shown["sinks"] or ():
            found = article.queued.get((decision.watchlist, item["sink"]))
            item["queued"] = None if found is None else {"id": found[0], "status": found[1]}
            if found is None and item["sends"] and article.context is not None:
                assert article.article_id is not None
                item["held"] = held_reason(
                    article.context,
                    article.article_id,
                    decision.watchlist,
                    by_name[item["sink"]],
                    alert_max_age,
                )
    return document


def render_explanation(document: Mapping[str, Any]) -> str:
    """The text form of an ``explanation_json`` document; what the article (or a feed) wrote is
    shown by `terminal_text`, each on its line."""
    article = document["article"]
    url = f" ({terminal_text(article['url'])})" if article["url"] else ""
    lines = [f"article: {terminal_text(article['label'])}{url}"]
    if article["title"]:
        lines.append(f"title: {terminal_text(article['title'])}")
    if document["truncated_fields"]:
        lines.append(
            f"only the start of {', '.join(document['truncated_fields'])} was matched "
            "(size limits, docs/matching.md)"
        )
    if document["left_out"]:
        lines.append("")
        lines.append("left out as not the article's text (a name there does not count):")
        for field, text in document["left_out"].items():
            for line in text.splitlines():
                lines.append(f"  {field}: {terminal_text(line)}")
    candidates = document["candidates"]
    lines.append("")
    lines.append(f"names found: {len(candidates)}")
    for c in candidates:
        state = "KEPT   " if c["kept"] else "DROPPED"
        lines.append(
            f"  {state} {c['watchlist']}/{c['entity']} {c['field']} {c['start']}-{c['end']} "
            f"{c['text']!r}: {c['reason']}"
        )
    lines.append("")
    lines.append(f"rules: {len(document['rules'])}")
    for rule in document["rules"]:
        value = "true" if rule["holds"] else "false"
        fired = ", fired" if rule["fired"] else ""
        lines.append(f"  {rule['watchlist']}/{rule['rule']}: {value}{fired}   {rule['expr']}")
        for term in rule["terms"]:
            shown = term["term"] if term["kind"] == "entity" else f'"{term["term"]}"'
            where = ", ".join(term["found_in"]) if term["found_in"] else "not found"
            negated = "NOT " if term["negated"] else ""
            lines.append(f"      {negated}{shown}: {where}")
    lines.append("")
    lines.append("decision:")
    for watchlist in document["watchlists"]:
        verdict = "WOULD ALERT" if watchlist["alerts"] else "would not alert"
        lines.append(f"  {watchlist['watchlist']}: {verdict}: {watchlist['reason']}")
        if watchlist["sinks"] is None:
            lines.append("    sinks: not known (watchlists given with --watchlist)")
        elif not watchlist["sinks"]:
            lines.append("    sinks: none configured")
        for sink in watchlist["sinks"] or ():
            sends = "SENDS" if sink["sends"] else "no"
            if sink["sends"] and "queued" in sink and sink["queued"] is None:
                sends = "HELD"  # a stored article: it would, but nothing was queued
            lines.append(f"    sink {sink['sink']}: {sends}: {sink['reason']}{_queued(sink)}")
        alert = watchlist["alert"]
        for excerpt in alert["excerpts"] if alert else ():
            lines.append(f"    excerpt ({excerpt['field']}): {_marked(excerpt)}")
    return terminal_text("\n".join(lines), one_line=False)


def _queued(sink: Mapping[str, Any]) -> str:
    """For a stored article: what was queued for it when it was stored."""
    if "queued" not in sink:
        return ""  # an article from a file: nothing was stored
    queued = sink["queued"]
    if queued is None:
        held = f" (held back: {sink['held']})" if sink.get("held") else ""
        return f"; when stored: no alert was queued{held}"
    if queued["status"] == IN_DIGEST:
        return "; when stored: went into a digest"
    return f"; when stored: alert {queued['id'][:8]} queued, now {queued['status']}"


def _marked(excerpt: Mapping[str, Any]) -> str:
    """An excerpt's text with its highlights in [brackets]."""
    text: str = excerpt["text"]
    out, at = [], 0
    for start, end in excerpt["highlights"]:
        out.append(terminal_text(text[at:start]) + "[" + terminal_text(text[start:end]) + "]")
        at = end
    return "".join(out) + terminal_text(text[at:])
