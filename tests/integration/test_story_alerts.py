"""Alert policy per sink (docs/stories.md, "Alert policy"): one alert per story under
`stories: first`, a follow-up under `updates` when the story gains a watched entity, every
article under `all`; filters by watchlist, entity and number of sources; two instances on
PostgreSQL share the stories. Real loopback feeds and webhook receivers."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.runtime import Runtime
from monitor.service import run_once, run_once_report
from monitor.settings import load_settings
from tests.cli.test_check_command import monitor
from tests.integration.helpers import SECRET, rss, write_config
from tests.integration.test_stories_store import NAMES, OTHER, WIRE
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver


def build(path: Path) -> Runtime:
    runtime = Runtime.build(load_settings(path), need_sinks=True)
    runtime.db.prepare()
    return runtime


def sink(url: str, name: str = "ops", **policy: object) -> dict[str, object]:
    return {"name": name, "url": url, "secret": SECRET, "retry_schedule": ["0s"], **policy}


def config_with(
    tmp_path: Path, database_url: str, sources: list[tuple[str, str]], sinks: list[dict]
) -> Path:
    return write_config(
        tmp_path,
        database_url=database_url,
        sources=sources,
        sink_url=None,
        first_run="alert_all",
        extra={"sinks": sinks},
    )


def alerts_of(receiver: WebhookReceiver) -> list[dict]:
    return [r.json["data"] for r in receiver.requests]


@pytest.mark.postgres
def test_one_story_from_five_sources_is_one_alert_and_another_event_is_another(
    tmp_path: Path, database_url: str
) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        for index, entry in enumerate(WIRE[:5]):
            entries = [entry, OTHER] if index == 0 else [entry]
            feeds.route(f"/{index}.xml", Reply(body=rss(entries)))
        sources = [(NAMES[i], feeds.url(f"/{i}.xml")) for i in range(5)]
        config = config_with(tmp_path, database_url, sources, [sink(receiver.url)])
        runtime = build(config)
        try:
            polls, sent = asyncio.run(run_once(runtime))
            assert sum(p.new_articles for p in polls) == 6
            assert [d.status for d in sent] == ["delivered", "delivered"]
            data = alerts_of(receiver)
            titles = {d["article"]["title"] for d in data}
            assert OTHER[1] in titles  # the other Haftar event of the day: its own alert
            (wire,) = [d for d in data if d["article"]["title"] != OTHER[1]]
            assert wire["story"]["articles"] == 5
            assert wire["story"]["sources"] == sorted(NAMES[:5])
            assert wire["story"]["first_seen"].endswith("Z")
            assert wire["update_of"] is None and wire["changes"] is None
            (other,) = [d for d in data if d["article"]["title"] == OTHER[1]]
            assert other["story"]["articles"] == 1 and other["story"]["id"] != wire["story"]["id"]

            # A sixth outlet carries the wire story later: recorded, not sent.
            feeds.route("/5.xml", Reply(body=rss([WIRE[5]])))
            sources.append((NAMES[5], feeds.url("/5.xml")))
            config = config_with(tmp_path, database_url, sources, [sink(receiver.url)])
            runtime.db.close()
            runtime = build(config)
            runtime.store.sync_sources(runtime.specs(), runtime.clock())
            polls, sent = asyncio.run(run_once(runtime))
            assert sum(p.new_articles for p in polls) == 1 and sent == []
            (story,) = [s for s in runtime.store.recent_stories(None)[0] if len(s.articles) == 6]
            assert story.sources == sorted(NAMES)
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_updates_sends_a_follow_up_when_the_story_gains_a_watched_entity(
    tmp_path: Path, database_url: str
) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        for index, entry in enumerate(WIRE[:3]):
            feeds.route(f"/{index}.xml", Reply(body=rss([entry])))
        sources = [(NAMES[i], feeds.url(f"/{i}.xml")) for i in range(4)]
        feeds.route("/3.xml", Reply(body=rss([])))
        policy = {"stories": "updates", "update_sources": 10}
        config = config_with(tmp_path, database_url, sources, [sink(receiver.url, **policy)])
        runtime = build(config)
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert len(sent) == 1
            first = receiver.requests[0]
            first_id = first.headers["webhook-id"]
            entities = set(first.json["data"]["entities"])
            assert "haftar" in entities and "lna" not in entities

            # The fourth outlet's copy names the LNA: same story, a new watched entity.
            guid, title, body = WIRE[3]
            feeds.route("/3.xml", Reply(body=rss([(guid, f"{title}, LNA says", body)])))
            _, sent = asyncio.run(run_once(runtime))
            assert len(sent) == 1
            follow = receiver.requests[1].json["data"]
            assert follow["update_of"] == first_id
            assert follow["changes"]["entities"] == ["lna"]
            assert follow["changes"]["sources"] == [NAMES[3]]
            assert follow["story"]["id"] == first.json["data"]["story"]["id"]
            assert follow["story"]["articles"] == 4

            # Another copy with nothing new: nothing sent (1 new source < update_sources).
            feeds.route("/3.xml", Reply(body=rss([(guid, f"{title}, LNA says", body), WIRE[4]])))
            _, sent = asyncio.run(run_once(runtime))
            assert sent == []
        finally:
            runtime.db.close()


def test_all_sends_every_article_and_filters_pick_what_a_sink_hears(tmp_path: Path) -> None:
    with (
        FeedServer() as feeds,
        WebhookReceiver() as every,
        WebhookReceiver() as lna_only,
        WebhookReceiver() as confirmed,
        WebhookReceiver() as other_list,
    ):
        for index, entry in enumerate(WIRE[:3]):
            entries = [entry, OTHER] if index == 0 else [entry]
            feeds.route(f"/{index}.xml", Reply(body=rss(entries)))
        sources = [(NAMES[i], feeds.url(f"/{i}.xml")) for i in range(3)]
        sinks = [
            sink(every.url, "every", stories="all"),
            sink(lna_only.url, "lna", entities=["lna"]),
            sink(confirmed.url, "confirmed", min_sources=3),
            sink(other_list.url, "other", watchlists=["libya"], entities=["tobruk"]),
        ]
        config = config_with(tmp_path, f"sqlite:///{tmp_path}/m.db", sources, sinks)
        runtime = build(config)
        try:
            asyncio.run(run_once(runtime))
            assert len(every.requests) == 4  # 3 copies + the other event
            assert lna_only.requests == []  # nobody named the LNA
            # Only the wire story reached 3 sources; the Sabha clash has one.
            (only,) = alerts_of(confirmed)
            assert only["story"]["articles"] == 3 and len(only["story"]["sources"]) == 3
            assert other_list.requests == []
        finally:
            runtime.db.close()
    listed = monitor("stories", "--json", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    by_title = {s["title"]: s for s in json.loads(listed.stdout)["stories"]}
    wire = by_title[WIRE[0][1]] if WIRE[0][1] in by_title else by_title[WIRE[1][1]]
    assert "libya/haftar" in wire["entities"]
    sent = sorted((a["sink"], a["kind"], a["status"]) for a in wire["alerts"])
    assert sent == [
        ("confirmed", "first", "delivered"),
        *[("every", "all", "delivered")] * 3,
    ]
    table = monitor("stories", "--config", str(config), cwd=tmp_path)
    assert table.returncode == 0 and "2 stories" in table.stdout


@pytest.mark.postgres
def test_two_instances_receiving_one_story_send_one_alert(
    tmp_path: Path, postgres_url: str
) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        for index, entry in enumerate(WIRE[:4]):
            feeds.route(f"/{index}.xml", Reply(body=rss([entry])))
        # Two instances with one config share the work through leases; the four outlets
        # carry one story, stored by whichever instance polled them.
        sources = [(NAMES[i], feeds.url(f"/{i}.xml")) for i in range(4)]
        config = config_with(tmp_path, postgres_url, sources, [sink(receiver.url)])
        runtimes = [build(config), build(config)]
        try:

            async def both() -> None:
                await asyncio.gather(*(run_once(r) for r in runtimes))

            asyncio.run(both())
            assert len(receiver.requests) == 1
            (story,) = runtimes[1].store.recent_stories(None)[0]
            assert story.sources == sorted(NAMES[:4])
        finally:
            for runtime in runtimes:
                runtime.db.close()


def test_unknown_watchlist_or_entity_in_a_sink_filter_is_a_config_error(tmp_path: Path) -> None:
    sinks = [
        sink("https://hooks.example/a", "a", watchlists=["libia"]),
        sink("https://hooks.example/b", "b", entities=["hafter"]),
        sink("https://hooks.example/c", "c", mode="digest"),
    ]
    config = config_with(tmp_path, f"sqlite:///{tmp_path}/m.db", [], sinks)
    result = monitor("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "sinks[2]" in result.stderr and "every:" in result.stderr
    config = config_with(tmp_path, f"sqlite:///{tmp_path}/m.db", [], sinks[:2])
    result = monitor("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    # Each names its line (an outside probe: these two named the file only).
    assert re.search(
        r"monitor\.yaml:\d+: sinks\[0\]\.watchlists: unknown watchlist 'libia'; did you mean "
        r"'libya'\?",
        result.stderr,
    )
    assert re.search(
        r"monitor\.yaml:\d+: sinks\[1\]\.entities: no watchlist defines entity 'hafter'; did you "
        r"mean 'haftar'\?",
        result.stderr,
    )


def test_a_follow_up_never_reaches_the_receiver_before_its_original(tmp_path: Path) -> None:
    moment = [datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    with FeedServer() as feeds, WebhookReceiver(script=[500]) as receiver:
        feeds.route("/0.xml", Reply(body=rss([WIRE[0]])))
        feeds.route("/1.xml", Reply(body=rss([])))
        sources = [(NAMES[0], feeds.url("/0.xml")), (NAMES[1], feeds.url("/1.xml"))]
        policy = {"stories": "updates", "retry_schedule": ["1h", "1h"]}
        config = config_with(
            tmp_path, f"sqlite:///{tmp_path}/m.db", sources, [sink(receiver.url, **policy)]
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: moment[0])
        runtime.db.prepare()
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["retry"]  # the receiver failed once
            guid, title, body = WIRE[3]
            feeds.route("/1.xml", Reply(body=rss([(guid, f"{title}, LNA says", body)])))
            moment[0] += timedelta(minutes=5)
            _, sent = asyncio.run(run_once(runtime))
            assert sent == []  # the follow-up waits for the first alert's retry
            moment[0] += timedelta(hours=2)
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["delivered", "delivered"]
            first, follow = (r.json["data"] for r in receiver.requests[1:])
            assert first["update_of"] is None
            assert follow["update_of"] == receiver.requests[1].headers["webhook-id"]
            # The original, sent after the second source joined, named it: the follow-up
            # tells only the new entity, not that source again (two outside probes).
            assert first["story"]["sources"] == sorted(NAMES[:2])
            assert follow["changes"] == {"entities": ["lna"], "sources": []}
        finally:
            runtime.db.close()


def test_a_follow_up_whose_news_its_late_original_already_carried_is_not_sent(
    tmp_path: Path,
) -> None:
    moment = [datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    with FeedServer() as feeds, WebhookReceiver(script=[500]) as receiver:
        feeds.route("/0.xml", Reply(body=rss([WIRE[0]])))
        feeds.route("/1.xml", Reply(body=rss([])))
        sources = [(NAMES[0], feeds.url("/0.xml")), (NAMES[1], feeds.url("/1.xml"))]
        policy = {"stories": "updates", "update_sources": 1, "retry_schedule": ["1h", "1h"]}
        config = config_with(
            tmp_path, f"sqlite:///{tmp_path}/m.db", sources, [sink(receiver.url, **policy)]
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: moment[0])
        runtime.db.prepare()
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["retry"]  # the receiver failed once
            feeds.route("/1.xml", Reply(body=rss([WIRE[3]])))  # one more source, nothing else
            moment[0] += timedelta(minutes=5)
            _, sent = asyncio.run(run_once(runtime))
            assert sent == []  # a follow-up for the new source waits for its original
            (follow, original) = runtime.store.list_deliveries()
            assert follow.waits_for == original.id
            moment[0] += timedelta(hours=2)
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["delivered"]
            (first,) = (r.json["data"] for r in receiver.requests[1:])
            assert first["story"]["sources"] == sorted(NAMES[:2]) and first["update_of"] is None
            (follow, original) = runtime.store.list_deliveries()
            assert (original.status, follow.status) == ("delivered", "dropped")
            assert follow.last_error_reason == "superseded"
            assert follow.last_error is not None and "already named" in follow.last_error
            # Nothing is left to send, and nothing waits.
            moment[0] += timedelta(hours=2)
            _, sent = asyncio.run(run_once(runtime))
            assert sent == [] and len(receiver.requests) == 2
        finally:
            runtime.db.close()


@pytest.mark.parametrize("operator", ["retry", "drop"])
def test_a_follow_up_waits_while_its_original_is_dead_until_the_operator_acts(
    tmp_path: Path, operator: str
) -> None:
    # A dead original may still be sent (`monitor alerts retry`): its follow-up is held,
    # shown as waiting for it, and goes after it; or once the operator drops it.
    moment = [datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    with FeedServer() as feeds, WebhookReceiver(script=[500, 500]) as receiver:
        feeds.route("/0.xml", Reply(body=rss([WIRE[0]])))
        feeds.route("/1.xml", Reply(body=rss([])))
        sources = [(NAMES[0], feeds.url("/0.xml")), (NAMES[1], feeds.url("/1.xml"))]
        policy = {"stories": "updates", "retry_schedule": ["1m"]}
        config = config_with(
            tmp_path, f"sqlite:///{tmp_path}/m.db", sources, [sink(receiver.url, **policy)]
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: moment[0])
        runtime.db.prepare()
        store = runtime.store
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["retry"]
            guid, title, body = WIRE[3]
            feeds.route("/1.xml", Reply(body=rss([(guid, f"{title}, LNA says", body)])))
            moment[0] += timedelta(minutes=2)
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["dead"]  # the original; the follow-up waits
            moment[0] += timedelta(hours=1)
            report = asyncio.run(run_once_report(runtime))
            assert report.deliveries == [] and len(receiver.requests) == 2
            # Not "1 retrying" (an outside probe): it waits for its original, not a try.
            assert (report.pending, report.waiting, report.next_attempt_at) == (1, 1, None)
            (follow, original) = store.list_deliveries()  # newest first
            assert (original.status, follow.status) == ("dead", "pending")
            assert follow.waits_for == original.id and original.waits_for is None
            shown = monitor("alerts", "--config", str(config), env={"COLUMNS": "200"})
            assert f"after {original.id[:8]}" in shown.stdout, shown.stdout
            listed = json.loads(monitor("alerts", "--json", "--config", str(config)).stdout)
            assert [d["waits_for"] for d in listed["deliveries"]] == [original.id, None]
            if operator == "retry":
                assert store.requeue(now=moment[0], delivery_id=original.id) == 1
            else:
                assert store.drop_deliveries(now=moment[0], delivery_id=original.id) == 1
            _, sent = asyncio.run(run_once(runtime))
            assert [d.status for d in sent] == ["delivered"] * (2 if operator == "retry" else 1)
            last = receiver.requests[-1]
            assert last.json["data"]["update_of"] == original.id
            if operator == "retry":
                assert receiver.requests[-2].headers["webhook-id"] == original.id
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_replay_deliver_sends_no_story_a_sink_has_heard_of(
    tmp_path: Path, database_url: str
) -> None:
    # Replay after the fact routes as the storing transaction did: a story alerted once is
    # not sent again under a new id, and a digest sink gets no live alert.
    from monitor.db.schema import deliveries, digest_items
    from monitor.replay import replay_articles

    with FeedServer() as feeds, WebhookReceiver() as receiver:
        for index in range(3):
            feeds.route(f"/{index}.xml", Reply(body=rss([WIRE[index]])))
        sources = [(NAMES[i], feeds.url(f"/{i}.xml")) for i in range(3)]
        digest = {**sink(receiver.url, "brief"), "mode": "digest", "every": "1d"}
        config = config_with(tmp_path, database_url, sources, [sink(receiver.url), digest])
        runtime = build(config)
        try:
            polls, sent = asyncio.run(run_once(runtime))
            assert sum(p.new_articles for p in polls) == 3
            assert [d.sink for d in sent] == ["ops"]  # one story, one alert

            def counts(conn) -> tuple[int, int]:  # type: ignore[no-untyped-def]
                return (
                    len(conn.execute(deliveries.select()).all()),
                    len(conn.execute(digest_items.select()).all()),
                )

            before = runtime.db.run_sync(counts)
            report = replay_articles(runtime, since=None, deliver=True)
            assert len(report["alerts"]) == 3  # all three articles match
            assert report["queued"] == 0
            assert runtime.db.run_sync(counts) == before
            _, resent = asyncio.run(run_once(runtime))
            assert resent == [] and len(receiver.requests) == 1
        finally:
            runtime.db.close()


def test_the_alerts_of_one_poll_arrive_oldest_first(tmp_path: Path) -> None:
    # A feed lists its newest item first; the webhook ids are random. The receiver hears
    # of the eight new items in the order they were published.
    from email.utils import format_datetime

    items = "".join(
        f"<item><guid>g{n}</guid><title>Haftar note {n}</title>"
        f"<description>Item {n} about Haftar, number {n} of eight.</description>"
        f"<pubDate>{format_datetime(datetime(2026, 11, 20, 8, n, tzinfo=UTC))}</pubDate></item>"
        for n in reversed(range(8))
    )
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>W</title>"
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/w.xml", Reply(body=body))
        config = config_with(
            tmp_path,
            "sqlite:///" + str(tmp_path / "m.db"),
            [("W", feeds.url("/w.xml"))],
            [sink(receiver.url, stories="all")],
        )
        runtime = build(config)
        try:
            _, sent = asyncio.run(run_once(runtime))
            assert len(sent) == 8
            titles = [d["article"]["title"] for d in alerts_of(receiver)]
            assert titles == [f"Haftar note {n}" for n in range(8)]
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_copies_of_a_story_in_one_poll_are_routed_as_if_they_came_one_by_one(
    tmp_path: Path, database_url: str
) -> None:
    # The matches of one poll are routed together (one read of what each sink was told, one
    # insert per table): a later copy must still see the alert an earlier one queued.
    guid, title, body = WIRE[3]
    with FeedServer() as feeds, WebhookReceiver() as first, WebhookReceiver() as updates:
        feeds.route(
            "/0.xml",
            # Not three copies of one lead: a feed's shared lead is stock text.
            Reply(body=rss([WIRE[0], WIRE[2], OTHER, (guid, f"{title}, LNA says", body)])),
        )
        sinks = [
            sink(first.url, name="first"),
            sink(updates.url, name="updates", stories="updates", update_sources=10),
        ]
        config = config_with(tmp_path, database_url, [(NAMES[0], feeds.url("/0.xml"))], sinks)
        runtime = build(config)
        try:
            polls, sent = asyncio.run(run_once(runtime))
            assert sum(p.new_articles for p in polls) == 4
            # `first`: one alert for the wire story (three copies), one for the other event.
            titles = sorted(d["article"]["title"] for d in alerts_of(first))
            assert titles == sorted([WIRE[0][1], OTHER[1]])
            # `updates`: the same two, then a follow-up of the wire story's alert when its
            # third copy names the LNA; the second copy, with nothing new, sends nothing.
            data = alerts_of(updates)
            assert [d["article"]["title"] for d in data] == [
                WIRE[0][1],
                OTHER[1],
                f"{title}, LNA says",
            ]
            original = updates.requests[0].headers["webhook-id"]
            assert data[2]["update_of"] == original
            assert data[2]["changes"]["entities"] == ["lna"]
            assert data[0]["update_of"] is None and data[1]["update_of"] is None
            assert len(sent) == 5
        finally:
            runtime.db.close()


def test_explain_names_why_a_stored_article_alerted_no_sink(tmp_path: Path) -> None:
    # Three stored matches that queued nothing for one sink, each for its own reason, and
    # explain says which (it listed every possible reason for each).
    old = ("old-1", "Haftar's forces shell Tripoli suburbs", "<p>The LNA said on Monday.</p>")
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/0.xml", Reply(body=rss([WIRE[0]])))
        feeds.route("/1.xml", Reply(body=rss([])))
        feeds.route("/2.xml", Reply(body=rss([])))
        sources = [(NAMES[i], feeds.url(f"/{i}.xml")) for i in range(3)]
        sinks = [sink(receiver.url), sink(receiver.url, name="pair", min_sources=2)]
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=sources,
            sink_url=None,
            first_run="alert_all",
            extra={"sinks": sinks, "alert_max_age": "60d"},
        )
        runtime = build(config)
        try:
            asyncio.run(run_once(runtime))  # the wire: one alert to ops, none to pair
            # The second outlet's copy, and an entry dated months before it was fetched.
            feeds.route("/1.xml", Reply(body=rss([WIRE[1]])))
            feeds.route("/2.xml", Reply(body=rss([old]).replace(b"Nov 2026", b"Jan 2026")))
            asyncio.run(run_once(runtime))
            ids = {a.title: a.id for a in runtime.store.articles_since(None)}
        finally:
            runtime.db.close()

    def held(title: str) -> dict[str, str]:
        result = monitor("explain", "--id", str(ids[title]), "--config", str(config), "--json")
        assert result.returncode == 0, result.stderr
        (libya,) = json.loads(result.stdout)["watchlists"]
        return {s["sink"]: s.get("held") for s in libya["sinks"]}

    first_copy = held(WIRE[0][1])
    assert first_copy["pair"] == "its story has 1 source, fewer than min_sources (2)"
    second_copy = held(WIRE[1][1])
    assert second_copy["ops"].startswith("this sink had already been told of its story (alert ")
    assert held(old[1])["ops"].startswith("dated ") and held(old[1])["ops"].endswith(
        "before it was stored, older than alert_max_age (60d)"
    )


@pytest.mark.postgres
def test_one_article_under_two_link_variants_is_one_alert_for_a_stories_all_sink(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe (probe80 #3): an outlet's two feeds link one article as
    # "https://www.example.org/news/wire-1/" and "http://example.org/news/wire-1": the
    # `stories: all` sink got it twice. A page's desktop, mobile and AMP hosts, its scheme
    # and a trailing slash are one link there; another path is another article.
    guid, title, body = WIRE[0]
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route(
            "/world.xml",
            Reply(body=rss([WIRE[0]], links=["https://www.example.org/news/wire-1/"])),
        )
        feeds.route(
            "/mobile.xml",
            Reply(body=rss([WIRE[0]], links=["http://m.example.org/news/wire-1?utm_source=m"])),
        )
        feeds.route(
            "/other.xml",
            Reply(body=rss([WIRE[0]], links=["https://example.org/news/wire-1-live"])),
        )
        sources = [
            (NAMES[0], feeds.url("/world.xml")),
            (f"{NAMES[0]} Mobile", feeds.url("/mobile.xml")),
            (f"{NAMES[0]} Live", feeds.url("/other.xml")),
        ]
        config = config_with(tmp_path, database_url, sources, [sink(receiver.url, stories="all")])
        runtime = build(config)
        try:
            polls, _ = asyncio.run(run_once(runtime))
            assert sum(p.new_articles for p in polls) == 3
            urls = sorted(r.json["data"]["article"]["url"] for r in receiver.requests)
            assert len(urls) == 2, urls
            urls.remove("https://example.org/news/wire-1-live")
            # Whichever feed was polled first: one of the two variants, not both.
            assert urls[0] in (
                "https://www.example.org/news/wire-1/",
                "http://m.example.org/news/wire-1",
            ), urls
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_one_article_in_two_feeds_is_one_alert_for_a_stories_all_sink(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: an outlet's world and Africa feeds carry one article (same guid,
    # same link); each feed stored its copy and a `stories: all` sink got both. Another
    # outlet's copy of the story, at its own link, is its own alert there.
    guid, title, body = WIRE[0]
    other = ("other-1", title, body)
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/world.xml", Reply(body=rss([WIRE[0]])))
        feeds.route("/africa.xml", Reply(body=rss([WIRE[0], WIRE[1]])))
        feeds.route("/rival.xml", Reply(body=rss([other])))
        sources = [
            (NAMES[0], feeds.url("/world.xml")),
            (f"{NAMES[0]} Africa", feeds.url("/africa.xml")),
            (NAMES[2], feeds.url("/rival.xml")),
        ]
        config = config_with(tmp_path, database_url, sources, [sink(receiver.url, stories="all")])
        runtime = build(config)
        try:
            polls, sent = asyncio.run(run_once(runtime))
            assert sum(p.new_articles for p in polls) == 4
            urls = sorted(r.json["data"]["article"]["url"] for r in receiver.requests)
            assert urls == sorted(
                [
                    "https://example.org/news/wire-1",
                    f"https://example.org/news/{WIRE[1][0]}",
                    "https://example.org/news/other-1",
                ]
            ), urls
        finally:
            runtime.db.close()
