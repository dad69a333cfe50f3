"""A replayed alert is the live alert: `monitor once` (loopback feed server, webhook receiver)
sends the live one, `monitor replay --deliver` then `monitor once` the replayed one, and the
two webhook bodies are the same bytes but for the alert's timestamp and the article id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_check_command import monitor
from tests.integration.helpers import LIBYA_WATCHLIST, SECRET, rss
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import ReceivedRequest, WebhookReceiver

ENTRIES = [
    # The ceasefire rule fires: its word is in another sentence than the entities.
    (
        "truce-1",
        "Talks resume in Geneva",
        "<p>Haftar and the GNA sent delegations.</p><p>Both sides agreed to a truce, "
        "a UN envoy said.</p>",
    ),
    # A mention alone (no rule), with non-ASCII text.
    ("misrata-2", "وصل الوفد إلى طرابلس", "<p>Clashes broke out in Tripoli on Monday.</p>"),
]


def write_config(folder: Path, feed_url: str, sinks: dict[str, str], first_run: str) -> Path:
    config = {
        "database_url": f"sqlite:///{folder}/m.db",
        "poll": {"interval": "10m", "allow_private_networks": True},
        "fetch": {"total_timeout": "10s"},
        "first_run": first_run,
        "sources": [{"name": "Loopback Wire", "url": feed_url}],
        "watchlists": [{"file": str(LIBYA_WATCHLIST), "sinks": sorted(sinks)}],
        "sinks": [
            {"name": name, "url": url, "secret": SECRET, "retry_schedule": ["0s"]}
            for name, url in sinks.items()
        ],
    }
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def run(*args: str, cwd: Path) -> str:
    result = monitor(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def without_ids(request: ReceivedRequest) -> tuple[dict[str, Any], bytes]:
    """The parsed body without its timestamp and article id, and the raw body with those
    two values replaced by placeholders (the rest of the bytes as sent)."""
    body: dict[str, Any] = json.loads(request.body)
    timestamp = body.pop("timestamp")
    article_id = body["data"]["article"].pop("id")
    raw = request.body
    for value, placeholder in (
        (f'"timestamp":{json.dumps(timestamp)},', b'"timestamp":"T",'),
        (f'"article":{{"id":{json.dumps(article_id)},', b'"article":{"id":0,'),
    ):
        assert raw.count(value.encode()) == 1, (value, raw)
        raw = raw.replace(value.encode(), placeholder)
    return body, raw


def by_url(requests: list[ReceivedRequest]) -> dict[str, tuple[dict[str, Any], bytes]]:
    found = {}
    for request in requests:
        body, raw = without_ids(request)
        found[body["data"]["article"]["url"]] = (body, raw)
    return found


def test_replay_deliver_sends_the_live_body(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with FeedServer() as feeds, WebhookReceiver() as live, WebhookReceiver() as replayed:
        feeds.route("/wire.xml", Reply(body=rss(ENTRIES)))
        feed_url = feeds.url("/wire.xml")

        # Live: a new source's entries alert (alert_all); `once` polls, queues and sends.
        live_folder = tmp_path / "live"
        live_folder.mkdir()
        config = write_config(live_folder, feed_url, {"live": live.url}, "alert_all")
        run("once", "--config", str(config), cwd=elsewhere)
        live_bodies = by_url(live.wait_for(len(ENTRIES)))

        # Replayed: another database stores the same entries without alerts, then
        # `replay --deliver` queues them and `once` sends them to another sink.
        replay_folder = tmp_path / "replayed"
        replay_folder.mkdir()
        config = write_config(replay_folder, feed_url, {"replayed": replayed.url}, "store_only")
        run("once", "--config", str(config), cwd=elsewhere)
        assert replayed.requests == []
        report = json.loads(
            run(
                "replay",
                "--since",
                "3650d",
                "--deliver",
                "--json",
                "--config",
                str(config),
                cwd=elsewhere,
            )
        )
        assert report["queued"] == len(ENTRIES)
        run("once", "--config", str(config), cwd=elsewhere)
        replayed_bodies = by_url(replayed.wait_for(len(ENTRIES)))

    assert live_bodies.keys() == replayed_bodies.keys() and len(live_bodies) == len(ENTRIES)
    for url, (live_body, live_raw) in live_bodies.items():
        replayed_body, replayed_raw = replayed_bodies[url]
        assert replayed_body == live_body
        assert replayed_raw == live_raw
    # The rule and why it fired travel on replay too (an earlier bug sent null).
    data = [body["data"] for body, _ in live_bodies.values()]
    fired = {d["article"]["title"]: (d["rule"], d["rule_expr"]) for d in data}
    assert fired == {
        "Talks resume in Geneva": (
            "ceasefire",
            '("ceasefire" OR "cease-fire" OR "truce" OR "cessez-le-feu" OR "وقف إطلاق النار") '
            "AND (haftar OR lna OR gna OR gnu OR tripoli)",
        ),
        "وصل الوفد إلى طرابلس": (None, None),
    }
    # The rule's word is highlighted in the alert's excerpts.
    ceasefire = next(d for d in data if d["rule"] == "ceasefire")
    shown = [
        excerpt["text"][start:end]
        for excerpt in ceasefire["excerpts"]
        for start, end in excerpt["highlights"]
    ]
    assert "truce" in shown
