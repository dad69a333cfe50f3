"""``monitor replay``: run the current watchlists over stored articles, show what would have
alerted (with counts per entity), optionally queue those alerts, or diff against an old
watchlist file."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Connection, and_, select

from monitor.db import articles as article_queries
from monitor.db.articles import MatchRecord, StoredArticle
from monitor.db.schema import deliveries
from monitor.errors import ConfigError
from monitor.match import Matcher, load_watchlist
from monitor.runtime import Runtime
from monitor.text import html_to_text


def _fields(article: StoredArticle) -> dict[str, str]:
    return {"title": article.title, "summary": article.summary, "content": article.content}


def _alerts(
    matcher: Matcher, stored: list[StoredArticle], watchlist: str | None
) -> list[dict[str, Any]]:
    alerts = []
    for article in stored:
        for hit in matcher.match(_fields(article)).alerts:
            if watchlist is not None and hit.watchlist != watchlist:
                continue
            alerts.append(
                {
                    "article_id": article.id,
                    "title": html_to_text(article.title),
                    "url": article.canonical_url,
                    "source": article.source_name,
                    "fetched_at": article.fetched_at.isoformat(),
                    **hit.to_json(),
                    "watchlist": hit.watchlist,
                    "entities": list(hit.entities),
                }
            )
    return alerts


def _queue(conn: Connection, runtime: Runtime, alerts: list[dict[str, Any]], now: datetime) -> int:
    queued = 0
    for alert in alerts:
        match_id = article_queries.find_match(conn, alert["article_id"], alert["watchlist"])
        if match_id is None:
            detail: dict[str, Any] = {
                k: alert[k] for k in ("matches", "excerpts", "rule") if k in alert
            }
            match_id = article_queries.insert_match(
                conn,
                alert["article_id"],
                MatchRecord(alert["watchlist"], tuple(alert["entities"]), detail),
                now,
            )
        for sink in runtime.routes.get(alert["watchlist"], ()):
            exists = conn.execute(
                select(deliveries.c.id).where(
                    and_(deliveries.c.match_id == match_id, deliveries.c.sink == sink)
                )
            ).first()
            if exists is None:
                article_queries.insert_delivery(conn, match_id, sink, now)
                queued += 1
    return queued


def replay_articles(
    runtime: Runtime,
    *,
    since: datetime | None,
    watchlist: str | None = None,
    against: Path | None = None,
    deliver: bool = False,
) -> dict[str, Any]:
    """The replay report (JSON-ready). ``deliver`` queues alerts through the outbox."""
    names = {w.name for w in runtime.watchlists}
    if watchlist is not None and watchlist not in names:
        raise ConfigError(
            f"--watchlist {watchlist!r}: no such watchlist; known: {', '.join(sorted(names))}"
        )
    stored = runtime.db.run_sync(lambda c: article_queries.articles_since(c, since))
    alerts = _alerts(runtime.matcher, stored, watchlist)
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
        if not current:
            raise ConfigError(
                f"--against {against}: the configured watchlists have none named {target!r}"
            )
        old_alerts = _alerts(
            Matcher([old], excerpt_chars=runtime.settings.match.excerpt_chars), stored, target
        )
        new_ids = {a["article_id"] for a in alerts if a["watchlist"] == target}
        old_ids = {a["article_id"] for a in old_alerts}
        report["against"] = str(against)
        report["newly_alerting"] = [a for a in alerts if a["article_id"] in new_ids - old_ids]
        report["no_longer_alerting"] = [
            a for a in old_alerts if a["article_id"] in old_ids - new_ids
        ]
    if deliver:
        now = runtime.clock()
        report["queued"] = runtime.db.run_sync(lambda c: _queue(c, runtime, alerts, now))
    return report


def _articles_per_entity(alerts: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in alerts:
        for entity in alert["entities"]:
            per[alert["watchlist"]][entity] += 1
    return {w: dict(c.most_common()) for w, c in sorted(per.items())}


def render_replay(console: Console, report: dict[str, Any]) -> None:
    """The human form of a replay report."""
    from monitor.render import print_alert

    shown = report.get("alerts", [])
    if "against" in report:
        console.print(f"[bold]Compared with {report['against']}[/bold]")
        for label, key in (
            ("newly alerting", "newly_alerting"),
            ("no longer alerting", "no_longer_alerting"),
        ):
            console.print(f"\n[bold]{label}: {len(report[key])}[/bold]")
            for alert in report[key]:
                print_alert(console, alert)
    else:
        for alert in shown:
            print_alert(console, alert)
    console.print(f"\n{report['articles']} stored articles scanned, {len(shown)} would alert")
    for watchlist, entities in report["articles_per_entity"].items():
        listed = ", ".join(f"{entity} {count}" for entity, count in entities.items())
        console.print(f"  {watchlist}: {listed} (articles per entity)")
    if "queued" in report:
        console.print(f"{report['queued']} deliveries queued")
