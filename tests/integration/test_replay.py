"""`monitor replay` over a database filled from the seeds gives the same matches and excerpts
as `monitor match` on the same articles; `--deliver` queues each alert once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select

from monitor.db.schema import articles, deliveries
from monitor.replay import replay_articles
from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.cli.test_check_command import monitor
from tests.integration.helpers import LIBYA_WATCHLIST, REPO, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

SEED_FEEDS = sorted((REPO / "seeds" / "feeds").glob("*.xml"))


def fill_from_seeds(tmp_path: Path, feeds: FeedServer) -> Path:
    for feed in SEED_FEEDS:
        feeds.route(f"/{feed.name}", Reply(body=feed.read_bytes()))
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/m.db",
        sources=[(feed.stem, feeds.url(f"/{feed.name}")) for feed in SEED_FEEDS],
        sink_url=None,
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True)
    runtime.db.prepare()
    try:
        polls, _ = asyncio.run(run_once(runtime))
        assert all(p.status == "ok" for p in polls), polls
    finally:
        runtime.db.close()
    return config


def test_replay_prints_the_same_matches_as_match(tmp_path: Path) -> None:
    assert len(SEED_FEEDS) >= 5
    with FeedServer() as feeds:
        config = fill_from_seeds(tmp_path, feeds)
    replayed = monitor("replay", "--since", "3650d", "--json", "--config", str(config))
    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["articles"] > 20

    runtime = Runtime.build(load_settings(config), need_sinks=False)
    rows = runtime.db.run_sync(lambda c: c.execute(select(articles)).all())
    runtime.db.close()
    lines = "\n".join(
        json.dumps(
            {"id": r.id, "title": r.title, "summary": r.summary, "content": r.content},
            ensure_ascii=False,
        )
        for r in rows
    )
    matched = monitor("match", "--jsonl", "-", "--watchlist", str(LIBYA_WATCHLIST), stdin=lines)
    assert matched.returncode == 0, matched.stderr
    by_id = {o["id"]: o for o in map(json.loads, matched.stdout.splitlines())}

    alerting = {a["article_id"]: a for a in report["alerts"]}
    assert alerting, "the seeds must make some alerts"
    for article_id, result in by_id.items():
        if article_id in alerting:
            assert alerting[article_id]["matches"] == result["matches"]
            assert alerting[article_id]["excerpts"] == result["excerpts"]
        else:
            # The Libya watchlist alerts on any mention: no alert means no mention.
            assert result["matches"] == [], result
    # Counts per entity add up to what the alerts hold.
    counted = report["articles_per_entity"]["libya"]
    for entity, count in counted.items():
        assert count == sum(entity in a["entities"] for a in report["alerts"])


def test_replay_deliver_queues_each_alert_once(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        config = fill_from_seeds(tmp_path, feeds)
        text = config.read_text(encoding="utf-8").replace(
            "sinks: []",
            "sinks:\n- name: ops\n  url: https://hooks.example.org/x\n"
            "  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        config.write_text(text, encoding="utf-8")
        # first_run store_only: the backlog was stored without alerts.
        first = monitor(
            "replay", "--since", "3650d", "--json", "--deliver", "--config", str(config)
        )
        assert first.returncode == 0, first.stderr
        queued = json.loads(first.stdout)["queued"]
        assert queued == len(json.loads(first.stdout)["alerts"]) > 0
        again = monitor(
            "replay", "--since", "3650d", "--json", "--deliver", "--config", str(config)
        )
        assert json.loads(again.stdout)["queued"] == 0
    runtime = Runtime.build(load_settings(config), need_sinks=False)
    total = runtime.db.run_sync(lambda c: len(c.execute(select(deliveries.c.id)).all()))
    runtime.db.close()
    assert total == queued


def alerts_for_a_sink_then_renamed(tmp_path: Path) -> tuple[Path, int]:
    """A database filled from the seeds whose alerts `replay --deliver` queued for the sink
    `ops`, then the config with that sink renamed `ops2` (the same receiver): the config,
    and how many alerts were queued."""
    with FeedServer() as feeds:
        config = fill_from_seeds(tmp_path, feeds)
    sink = "  url: https://hooks.example.org/x\n  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    original = config.read_text(encoding="utf-8")
    config.write_text(original.replace("sinks: []", f"sinks:\n- name: ops\n{sink}"), "utf-8")
    first = monitor("replay", "--since", "3650d", "--json", "--deliver", "--config", str(config))
    queued = json.loads(first.stdout)["queued"]
    assert first.returncode == 0 and queued > 0, first.stderr
    config.write_text(original.replace("sinks: []", f"sinks:\n- name: ops2\n{sink}"), "utf-8")
    return config, queued


def test_replay_deliver_refuses_while_a_sink_may_have_been_renamed(tmp_path: Path) -> None:
    # An outside probe renamed the sink `ops` to `ops2` (the same receiver) and ran `replay
    # --deliver`: every story `ops` was told went out again under new webhook-ids.
    config, _ = alerts_for_a_sink_then_renamed(tmp_path)
    refused = monitor("replay", "--since", "3650d", "--deliver", "--config", str(config))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "sink 'ops2' was never sent anything" in refused.stderr
    assert "sink 'ops', which the config no longer names" in refused.stderr
    assert "--new-sinks" in refused.stderr
    # `status` says whose alerts wait for a sink the config no longer names.
    status = monitor("status", "--config", str(config))
    assert "  ops: " in status.stdout and "(not in the config: they wait" in status.stdout
    # Without --deliver it only shows; with --new-sinks the operator says it is a new one.
    shown = monitor("replay", "--since", "3650d", "--json", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    new = monitor(
        "replay", "--since", "3650d", "--json", "--deliver", "--new-sinks", "--config", str(config)
    )
    assert new.returncode == 0 and json.loads(new.stdout)["queued"] > 0, new.stderr


def test_alerts_waiting_for_a_sink_no_longer_named_are_shown_and_dropped_by_sink(
    tmp_path: Path,
) -> None:
    # An outside probe renamed a sink: status said to drop the old name's alerts, but only
    # one at a time (by id), and check and reload said nothing of them.
    config, queued = alerts_for_a_sink_then_renamed(tmp_path)
    assert queued > 1
    told = f"{queued} alerts ({queued} pending) of sink 'ops', which this config does not name"
    checked = monitor("check", "--config", str(config))
    assert told in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    assert "give them up with `monitor alerts drop --sink ops`" in checked.stdout + checked.stderr
    reloaded = monitor("reload", "--config", str(config))
    assert reloaded.returncode == 3, reloaded.stdout + reloaded.stderr  # no service runs
    assert told in reloaded.stderr, reloaded.stderr
    status = monitor("status", "--config", str(config))
    assert "`monitor alerts drop --sink NAME`" in status.stdout, status.stdout

    unknown = monitor("alerts", "drop", "--sink", "opz", "--config", str(config))
    assert unknown.returncode == 1, unknown.stdout + unknown.stderr
    assert "no alert was ever queued for a sink of that name (sinks with alerts: 'ops')" in (
        unknown.stderr
    )
    both = monitor("alerts", "drop", "--sink", "ops", "--all-dead", "--config", str(config))
    assert both.returncode == 2 and "not more than one" in both.stderr, both.stderr
    dropped = monitor("alerts", "drop", "--sink", "ops", "--config", str(config))
    assert dropped.returncode == 0, dropped.stderr
    assert f"{queued} deliveries of sink 'ops' dropped" in dropped.stdout
    after = monitor("check", "--config", str(config))
    assert "which this config does not name" not in after.stdout + after.stderr
    listed = monitor("alerts", "--json", "--config", str(config))
    assert {d["status"] for d in json.loads(listed.stdout)["deliveries"]} == {"dropped"}


def test_replay_against_an_old_watchlist_shows_the_difference(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        config = fill_from_seeds(tmp_path, feeds)
    old = tmp_path / "old-libya.yaml"
    old.write_text(
        "name: libya\nentities:\n  - id: haftar\n    kind: person\n    names: [Haftar]\n",
        encoding="utf-8",
    )
    result = monitor(
        "replay", "--since", "3650d", "--json", "--against", str(old), "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    newly = report["newly_alerting"]
    assert newly, "the current watchlist alerts on articles the old one missed"
    # Every article the old list (just "Haftar") alerted on, the current one alerts on too.
    assert report["no_longer_alerting"] == []
    old_ids = {a["article_id"] for a in report["alerts"]} - {a["article_id"] for a in newly}
    assert old_ids, "some articles alert under both"
    # Of those, the ones that name more than Haftar now alert for other entities too (which
    # decides the sinks they go to): listed, with what they alerted for before (an outside
    # probe: the diff was silent about them).
    changed = report["changed"]
    assert changed and {a["article_id"] for a in changed} <= old_ids
    for alert in changed:
        assert alert["entities_before"] == ["haftar"] and alert["entities"] != ["haftar"]
    unchanged = old_ids - {a["article_id"] for a in changed}
    assert all(
        a["entities"] == ["haftar"] for a in report["alerts"] if a["article_id"] in unchanged
    )
    human = monitor("replay", "--since", "3650d", "--against", str(old), "--config", str(config))
    assert human.returncode == 0 and "newly alerting" in human.stdout
    assert f"alerting for other entities or by another rule: {len(changed)}" in human.stdout
    assert "before: haftar" in human.stdout


def test_replay_against_an_old_copy_of_the_one_watchlist_whatever_its_file_name(
    tmp_path: Path,
) -> None:
    # The README's `--against OLD.yaml`: an old copy without `name:` is named after its file
    # ("OLD"); with one watchlist configured it is an older copy of that one. Refused before
    # ("none named 'OLD'"), and the difference was then computed against no alert at all.
    with FeedServer() as feeds:
        config = fill_from_seeds(tmp_path, feeds)
    old = tmp_path / "OLD.yaml"
    old.write_text("entities:\n  - id: haftar\n    kind: person\n    names: [Haftar]\n")
    result = monitor(
        "replay", "--since", "3650d", "--json", "--against", str(old), "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["newly_alerting"] and report["no_longer_alerting"] == []
    assert {a["article_id"] for a in report["alerts"]} - {
        a["article_id"] for a in report["newly_alerting"]
    }, "articles that mention Haftar alert under both"
    unknown = monitor(
        "replay", "--against", str(old), "--watchlist", "nosuch", "--config", str(config)
    )
    assert unknown.returncode == 2 and "no such watchlist" in unknown.stderr


def test_a_replayed_alert_is_the_live_alert(tmp_path: Path) -> None:
    """Replay and the live path build the payload from one typed record: the bodies are the
    same but for the article and story ids and the times of fetching."""

    def bodies(
        feeds: FeedServer, folder: Path, first_run: str, replay: bool
    ) -> dict[str, dict[str, object]]:
        folder.mkdir()
        with WebhookReceiver() as receiver:
            config = write_config(
                folder,
                database_url=f"sqlite:///{folder}/m.db",
                sources=[(feed.stem, feeds.url(f"/{feed.name}")) for feed in SEED_FEEDS],
                sink_url=receiver.url,
                first_run=first_run,
                stories="all",  # replay sends every article; so must the live path here
            )
            runtime = Runtime.build(load_settings(config), need_sinks=True)
            runtime.db.prepare()
            try:
                asyncio.run(run_once(runtime))
                if replay:
                    replay_articles(runtime, since=None, deliver=True)
                    asyncio.run(run_once(runtime))
            finally:
                runtime.store.close()
            received = [json.loads(r.body) for r in receiver.requests]
        by_url: dict[str, dict[str, object]] = {}
        for body in received:
            data = body["data"]
            by_url[data["article"]["url"]] = data
            del data["article"]["id"]
            del data["story"]["id"]  # database ids: the two databases number them apart
            if data["article"]["published"] is None:
                del data["story"]["first_seen"]  # undated: the time it was fetched
        return by_url

    with FeedServer() as feeds:
        for feed in SEED_FEEDS:
            feeds.route(f"/{feed.name}", Reply(body=feed.read_bytes()))
        live = bodies(feeds, tmp_path / "live", "alert_all", replay=False)
        replayed = bodies(feeds, tmp_path / "replayed", "store_only", replay=True)
    assert live and live == replayed
