"""``monitor replay``: run the current watchlists over stored articles, show what would have
alerted (with counts per entity), optionally queue those alerts, or diff against an old
watchlist file."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from monitor.alerts import ArticleRef
from monitor.alerts.record import Alert
from monitor.db.articles import StoredArticle, alert_title
from monitor.errors import ConfigError
from monitor.match import Matcher
from monitor.match.watchlist_file import load_watchlist
from monitor.pipeline import too_old
from monitor.plural import plural
from monitor.redact import redact_url
from monitor.runtime import Runtime


def _alerts(matcher: Matcher, stored: list[StoredArticle], watchlist: str | None) -> list[Alert]:
    alerts = []
    for article in stored:
        fields = {"title": article.title, "summary": article.summary, "content": article.content}
        for hit in matcher.match(fields).alerts:
            if watchlist is not None and hit.watchlist != watchlist:
                continue
            ref = ArticleRef(
                id=article.id,
                title=alert_title(article.title, article.summary or article.content),
                url=article.canonical_url,
                published=article.published_at,
                source_name=article.source_name,
                source_url=article.source_url,
            )
            alerts.append(Alert(match=hit, article=ref, created_at=article.fetched_at))
    return alerts


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert as a replay report lists it: the article, then the match as stored."""
    return {
        "article_id": alert.article.id,
        "title": alert.article.title,
        "url": redact_url(alert.article.url) if alert.article.url else None,
        "source": alert.article.source_name,
        "fetched_at": alert.created_at.isoformat(),
        **alert.match.to_json(),
    }


def _refuse_a_renamed_sink(runtime: Runtime) -> None:
    """What a sink was told is known by its name: a sink renamed in the config (the same
    receiver) would be sent again every story of the replay, under new webhook-ids (an
    outside probe). Refused while configured sinks were never sent anything and the
    database holds alerts for sinks the config does not name."""
    known = runtime.store.delivery_sinks()
    configured = [sink.name for sink in runtime.settings.sinks if sink.enabled]
    named = {sink.name for sink in runtime.settings.sinks}
    gone = [name for name in known if name not in named]
    fresh = [name for name in configured if name not in known]
    if gone and fresh:
        raise ConfigError(
            f"replay --deliver: {_quoted(fresh)} {'was' if len(fresh) == 1 else 'were'} never "
            f"sent anything, while the database holds alerts for {_quoted(gone)}, which "
            "the config no longer names: a sink is known by its name, so if one was "
            "renamed, replay would send its receiver again every story it was told, under "
            "new webhook-ids; give it its old name back, or, if it is a new receiver, pass "
            "--new-sinks"
        )


def _quoted(names: list[str]) -> str:
    return ", ".join(f"sink {name!r}" for name in names)


def replay_articles(
    runtime: Runtime,
    *,
    since: datetime | None,
    watchlist: str | None = None,
    against: Path | None = None,
    deliver: bool = False,
    new_sinks: bool = False,
) -> dict[str, Any]:
    """The replay report (JSON-ready). ``deliver`` queues alerts through the outbox; it is
    refused while a sink was never sent anything and the database holds alerts of a sink the
    config no longer names (a renamed sink), unless ``new_sinks`` says they are new."""
    if deliver and not new_sinks:
        _refuse_a_renamed_sink(runtime)
    names = {w.name for w in runtime.watchlists}
    if watchlist is not None and watchlist not in names:
        raise ConfigError(
            f"--watchlist {watchlist!r}: no such watchlist; known: {', '.join(sorted(names))}"
        )
    stored = runtime.store.articles_since(since)
    typed = _alerts(runtime.matcher, stored, watchlist)
    alerts = [alert_json(alert) for alert in typed]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in alerts:
        for mention in alert["matches"]:
            counts[alert["watchlist"]][mention["entity"]] += 1
    report: dict[str, Any] = {
        "since": since.isoformat() if since else None,
        "articles": len(stored),
        "alerts": alerts,
        "mentions_per_entity": {w: dict(c.most_common()) for w, c in sorted(counts.items())},
        "articles_per_entity": _articles_per_entity(alerts),
    }
    if against is not None:
        old = load_watchlist(against)
        target = watchlist or old.name
        current = [w for w in runtime.watchlists if w.name == target]
        if not current and watchlist is None and len(runtime.watchlists) == 1:
            # One watchlist configured: the old file is an older copy of it, whatever the
            # copy's file name ("libya.old.yaml" is named "libya.old").
            current = list(runtime.watchlists)
            target = current[0].name
        if not current:
            known = ", ".join(repr(name) for name in sorted(names)) or "none"
            raise ConfigError(
                f"--against {against}: it is watchlist {old.name!r} (its `name:`, else its "
                f"file name), and the configured watchlists have none of that name (they "
                f"are: {known}); say which one it is an older copy of with --watchlist NAME"
            )
        # Compared as the configured one: its alerts carry that watchlist's name.
        old = dataclasses.replace(old, name=target)
        old_alerts = [
            alert_json(alert)
            for alert in _alerts(
                Matcher([old], excerpt_chars=runtime.settings.match.excerpt_chars), stored, target
            )
        ]
        new_ids = {a["article_id"] for a in alerts if a["watchlist"] == target}
        old_ids = {a["article_id"] for a in old_alerts}
        report["against"] = str(against)
        report["newly_alerting"] = [a for a in alerts if a["article_id"] in new_ids - old_ids]
        report["no_longer_alerting"] = [
            a for a in old_alerts if a["article_id"] in old_ids - new_ids
        ]
        # Alerting before and after, for other entities or by another rule: which sinks
        # get it (`entities:` filters) and a story's follow-ups may change.
        before = {a["article_id"]: a for a in old_alerts}
        report["changed"] = [
            {**a, "entities_before": earlier["entities"], "rule_before": earlier["rule"]}
            for a in alerts
            if a["watchlist"] == target
            and (earlier := before.get(a["article_id"])) is not None
            and (earlier["entities"], earlier["rule"]) != (a["entities"], a["rule"])
        ]
    if deliver:
        # What the service holds back as not news holds here too (`alert_max_age`).
        now = runtime.clock()
        max_age = runtime.settings.alert_max_age
        fresh = [a for a in typed if not too_old(a.article.published, now, max_age)]
        items = [
            (int(a.article.id), a.match, runtime.routes.get(a.match.watchlist, ())) for a in fresh
        ]
        report["queued"] = runtime.store.queue_alerts(items, now, runtime.policies)
        report["held_too_old"] = len({a.article.id for a in typed} - {a.article.id for a in fresh})
    return report


def _articles_per_entity(alerts: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in alerts:
        for entity in alert["entities"]:
            per[alert["watchlist"]][entity] += 1
    return {w: dict(c.most_common()) for w, c in sorted(per.items())}


def render_replay(console: Console, report: dict[str, Any]) -> None:
    """The human form of a replay report."""
    from rich.markup import escape

    from monitor.render import print_alert

    shown = report.get("alerts", [])
    if "against" in report:
        console.print(f"[bold]Compared with {escape(str(report['against']))}[/bold]")
        for label, key in (
            ("newly alerting", "newly_alerting"),
            ("no longer alerting", "no_longer_alerting"),
        ):
            console.print(f"\n[bold]{label}: {len(report[key])}[/bold]")
            for alert in report[key]:
                print_alert(console, alert)
        changed = report.get("changed", [])
        console.print(
            f"\n[bold]alerting for other entities or by another rule: {len(changed)}[/bold]"
        )
        for alert in changed:
            print_alert(console, alert)
            rule = f" (rule {alert['rule_before']})" if alert["rule_before"] else " (no rule)"
            console.print(escape(f"  before: {', '.join(alert['entities_before'])}{rule}"))
    else:
        for alert in shown:
            print_alert(console, alert)
    console.print(f"\n{report['articles']} stored articles scanned, {len(shown)} would alert")
    for watchlist, entities in report["articles_per_entity"].items():
        listed = ", ".join(f"{entity} {count}" for entity, count in entities.items())
        console.print(escape(f"  {watchlist}: {listed} (articles per entity)"))
    if "queued" in report:
        held = report.get("held_too_old", 0)
        console.print(
            f"{plural(report['queued'], 'delivery', 'deliveries')} queued"
            + (f"; {plural(held, 'article')} older than alert_max_age not sent" if held else "")
        )
