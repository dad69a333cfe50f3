"""Never the same news twice: not after retention deleted the article while its entry is still
in the feed, and not when a feed gives the same story a new guid on every request. Real feed
server, webhook receiver and database (SQLite and PostgreSQL); only the clock is controlled."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import Connection, delete, event, func, select, update

from monitor.db.articles import ArticleRecord
from monitor.db.schema import articles, seen_stories
from monitor.db.seen import SeenEntry
from monitor.db.sources import PollRecord, SourceSpec
from monitor.db.store import Pruned, Store
from monitor.parse import parse_feed
from monitor.runtime import Runtime, utc_now
from monitor.service import Service, run_once
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, RecordedRequest, Reply
from tests.support.webhook_receiver import WebhookReceiver

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

ADVANCE = (
    "advance-1",
    "Forces advance near the capital",
    "<p>Field Marshal Khalifa Haftar ordered his troops to move on Tripoli.</p>",
)
TALKS = ("talks-1", "Talks in Geneva", "<p>Envoys of Haftar met in Geneva.</p>")
QUIET = ("calm-1", "Markets open higher in Tokyo", "<p>Shares rose in early trading.</p>")
# A text of more than 25 words: its story whatever its link.
LONG_TEXT = (
    "<p>Forces loyal to Khalifa Haftar advanced on the southern outskirts of Tripoli on "
    "Monday, residents said, as the United Nations called for an immediate truce.</p>"
)


class Clock:
    """The runtime's clock, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def build(
    tmp_path: Path, database_url: str, feed_url: str, sink_url: str, clock: Clock | None = None
) -> Runtime:
    config = write_config(
        tmp_path,
        database_url=database_url,
        sources=[("Wire", feed_url)],
        sink_url=sink_url,
        first_run="alert_all",
        stories="all",  # one alert per stored article: what "never twice" is about
        extra={
            "poll": {"interval": "10m", "allow_private_networks": True, "workers": 0},
            "retention": "90d",
        },
    )
    runtime = Runtime.build(load_settings(config), need_sinks=True, clock=clock or utc_now)
    runtime.db.prepare()
    return runtime


def count(runtime: Runtime, table: object) -> int:
    query = select(func.count()).select_from(table)
    return int(runtime.db.run_sync(lambda c: c.execute(query).scalar_one()))


def poll_once(runtime: Runtime) -> int:
    """One `monitor once` pass over the single source: the number of new articles."""
    (poll,), _ = asyncio.run(run_once(runtime))
    assert poll.status == "ok", poll
    return poll.new_articles


def three_polls(
    tmp_path: Path, database_url: str, *replies: Reply | Callable[[RecordedRequest], Reply]
) -> tuple[list[int], int, int]:
    """Three `monitor once` passes over one feed answering ``replies``: the new articles of
    each pass, the alerts the receiver got, the articles stored."""
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/feed.xml", *replies)
        runtime = build(tmp_path, database_url, feeds.url("/feed.xml"), receiver.url)
        try:
            polls = [poll_once(runtime) for _ in range(3)]
            return polls, len(receiver.requests), count(runtime, articles)
        finally:
            runtime.db.close()


def channel(items: str) -> Reply:
    """An RSS document of these ``<item>``s, as a feed server's reply."""
    body = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>W</title>"
        f"<link>https://example.org/</link><description>d</description>{items}</channel></rss>"
    )
    return Reply(body=body.encode(), headers={"Content-Type": "application/rss+xml"})


def churning(
    *documents: Sequence[tuple[str, str, str, str]],
) -> Callable[[RecordedRequest], Reply]:
    """A reply script for a feed that gives every entry a new guid on every request. Each
    document is a list of (guid, title, description, link); request n serves document n (the
    last one again afterwards), each guid prefixed with n."""
    served = itertools.count()

    def reply(_request: RecordedRequest) -> Reply:
        n = next(served)
        document = documents[min(n, len(documents) - 1)]
        body = rss(
            [(f"{n}-{guid}", title, text) for guid, title, text, _ in document],
            links=[link for *_, link in document],
        )
        return Reply(body=body, headers={"Content-Type": "application/rss+xml"})

    return reply


@pytest.mark.postgres
def test_retention_keeps_a_dead_letter_for_the_operator(tmp_path: Path, database_url: str) -> None:
    # An outside probe: retention deleted the article of a dead delivery, and the delivery
    # with it: `monitor alerts retry ID` then knew no such delivery, the alert lost.
    from monitor.db.schema import deliveries

    clock = Clock(T0)
    with FeedServer() as feeds, WebhookReceiver(default=500) as receiver:
        feeds.route("/wire.xml", Reply(body=rss([ADVANCE])))
        runtime = build(tmp_path, database_url, feeds.url("/wire.xml"), receiver.url, clock)
        service = Service(runtime)
        try:
            assert poll_once(runtime) == 1
            for minute in range(1, 5):  # one try per run: the fourth failure leaves it dead
                clock.now = T0 + timedelta(minutes=minute)
                asyncio.run(run_once(runtime))
            status = select(deliveries.c.id, deliveries.c.status)
            ((delivery_id, state),) = runtime.db.run_sync(lambda c: c.execute(status).all())
            assert state == "dead"
            clock.now = T0 + timedelta(days=200)
            assert asyncio.run(service.prune()).articles == 0
            assert count(runtime, articles) == 1
            assert runtime.store.requeue(now=clock.now, delivery_id=delivery_id) == 1
        finally:
            runtime.db.close()


def test_a_retention_pass_the_stop_interrupts_finishes_and_says_what_it_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An outside probe stopped `monitor run` while its first retention pass deleted 200,000
    # articles: the deletion went on in its database thread and committed, but nothing said
    # so, and APScheduler logged the job's cancellation as an ERROR with a traceback.
    import sqlite3
    import threading

    clock = Clock(T0)
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=rss([ADVANCE])))
        runtime = build(
            tmp_path, f"sqlite:///{tmp_path}/m.db", feeds.url("/wire.xml"), receiver.url, clock
        )
        try:
            assert poll_once(runtime) == 1
            clock.now = T0 + timedelta(days=200)
            service = Service(runtime)
            holder = sqlite3.connect(
                tmp_path / "m.db", isolation_level=None, check_same_thread=False
            )
            holder.execute("BEGIN IMMEDIATE")  # the prune waits for this write lock

            async def stop_during_prune() -> None:
                job = asyncio.create_task(service._job(service.prune, "prune")())
                await asyncio.sleep(0.5)
                service.stopping.set()
                job.cancel()
                threading.Timer(0.5, lambda: holder.execute("ROLLBACK")).start()
                await job  # ends without an error, once the deletion is done

            with caplog.at_level(logging.DEBUG, logger="monitor"):
                asyncio.run(stop_during_prune())
            holder.close()
            assert count(runtime, articles) == 0
            said = [
                r.getMessage() for r in caplog.records if "retention: deleted" in r.getMessage()
            ]
            assert len(said) == 1 and said[0].startswith("retention: deleted 1 articles"), said
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        finally:
            runtime.db.close()


@pytest.mark.postgres
@pytest.mark.parametrize("gap", ["304s", "stopped"])
def test_a_feed_unread_for_longer_than_the_retention_does_not_alert_its_entries_again(
    tmp_path: Path, database_url: str, gap: str
) -> None:
    # An outside probe: entries still in their feed were forgotten after the retention when
    # nothing read the feed meanwhile (it answered 304 for months, or the service was
    # stopped, or the clock jumped), then alerted again, under new webhook-ids, at its next
    # read. What a feed showed last is kept until a read shows it gone.
    clock = Clock(T0)
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        headers = {"Content-Type": "application/rss+xml", "ETag": '"v1"'}
        feeds.route(
            "/wire.xml", Reply(body=rss([ADVANCE, QUIET]), headers=headers, conditional=True)
        )
        runtime = build(tmp_path, database_url, feeds.url("/wire.xml"), receiver.url, clock)
        service = Service(runtime)
        try:
            assert poll_once(runtime) == 2
            receiver.wait_for(1)
            for day in range(30, 240, 30):
                clock.now = T0 + timedelta(days=day)
                if gap == "304s":
                    (poll,), _ = asyncio.run(run_once(runtime))
                    assert poll.status == "not_modified", poll
                asyncio.run(service.prune())
            assert count(runtime, articles) == 0  # the articles are gone, the keys are not
            clock.now = T0 + timedelta(days=240)
            changed = {**headers, "ETag": '"v2"'}
            feeds.route("/wire.xml", Reply(body=rss([TALKS, ADVANCE, QUIET]), headers=changed))
            assert poll_once(runtime) == 1
            requests = receiver.wait_for(2)
            assert [r.json["data"]["article"]["title"] for r in requests][1:] == ["Talks in Geneva"]
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_retention_never_makes_an_entry_still_in_its_feed_alert_again(
    tmp_path: Path, database_url: str
) -> None:
    clock = Clock(T0)
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=rss([ADVANCE, QUIET])))
        runtime = build(tmp_path, database_url, feeds.url("/wire.xml"), receiver.url, clock)
        service = Service(runtime)
        try:
            # Polled every 30 days with retention (90 days) run after each poll: the articles
            # fetched on day 0 are deleted on day 120, while their entries are still served.
            for day in range(0, 210, 30):
                clock.now = T0 + timedelta(days=day)
                assert poll_once(runtime) == (2 if day == 0 else 0), f"day {day}"
                asyncio.run(service.prune())
            assert count(runtime, articles) == 0
            assert len(receiver.requests) == 1

            # A genuinely new entry still alerts, under a new webhook-id.
            feeds.route("/wire.xml", Reply(body=rss([TALKS, ADVANCE, QUIET])))
            clock.now = T0 + timedelta(days=210)
            assert poll_once(runtime) == 1
            requests = receiver.wait_for(2)
            assert len({r.headers["webhook-id"] for r in requests}) == 2
            assert requests[1].json["data"]["article"]["title"] == "Talks in Geneva"

            # Entries gone from the feed (last seen on day 210) are forgotten once unseen for
            # the retention (90 days).
            from monitor.db.schema import seen_keys

            feeds.route("/wire.xml", Reply(body=rss([TALKS])))
            for day in range(240, 360, 30):
                clock.now = T0 + timedelta(days=day)
                assert poll_once(runtime) == 0
                asyncio.run(service.prune())
                keys = runtime.db.run_sync(
                    lambda c: c.execute(select(seen_keys.c.entry_key)).scalars().all()
                )
                remembered = ["advance-1", "calm-1", "talks-1"] if day <= 300 else ["talks-1"]
                assert sorted(keys) == remembered, f"day {day}"
            assert len(receiver.requests) == 2
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_a_feed_that_changes_every_guid_alerts_each_story_once(
    tmp_path: Path, database_url: str
) -> None:
    advance_link = "https://example.org/news/advance"
    talks_link = "https://example.org/news/talks"
    document = [
        (*ADVANCE, advance_link),
        (*TALKS, talks_link),
        ("again", *ADVANCE[1:], advance_link),  # the same story twice in one document
    ]
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/churn.xml", churning(document))
        runtime = build(tmp_path, database_url, feeds.url("/churn.xml"), receiver.url)
        try:
            assert [poll_once(runtime) for _ in range(4)] == [2, 0, 0, 0]
            assert len(feeds.requests_for("/churn.xml")) == 4
            assert count(runtime, articles) == 2
            urls = sorted(r.json["data"]["article"]["url"] for r in receiver.requests)
            assert urls == [advance_link, talks_link]
            # The keys it remembers stay bounded: the stored articles' and the latest poll's
            # (an outside probe: such a feed added a row per entry and poll, 540 MB a day).
            from monitor.db.schema import seen_keys

            assert count(runtime, seen_keys) <= 2 + len(document)
            assert [poll_once(runtime) for _ in range(3)] == [0, 0, 0]
            assert count(runtime, seen_keys) <= 2 + len(document)
            assert len(receiver.requests) == 2
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_an_edited_entry_given_a_new_guid_later_is_not_news_again(
    tmp_path: Path, database_url: str
) -> None:
    # Poll 1: guid u1, first headline (alerts). Poll 2: u1, headline edited (not new). Poll 3:
    # the edited text under a new guid u2: the source has shown that story (poll 2), so it is
    # an alias, not a second alert.
    link = "https://example.org/news/upd"
    first = ("u1", "Haftar first headline", "<p>Tripoli update test</p>")
    edited = ("u1", "Haftar edited headline", "<p>Tripoli update test</p>")
    moved = ("u2", *edited[1:])
    replies = (Reply(body=rss([entry], links=[link])) for entry in (first, edited, moved))
    polls, alerts, _ = three_polls(tmp_path, database_url, *replies)
    assert (polls, alerts) == ([1, 0, 0], 1)


@pytest.mark.postgres
def test_entries_alike_but_for_their_link_or_text_are_distinct_stories(
    tmp_path: Path, database_url: str
) -> None:
    title, text = "Haftar moves on Tripoli", "<p>Haftar's forces advanced on Tripoli.</p>"
    north = ("north", title, text, "https://example.org/news/north")
    south = ("south", title, text, "https://example.org/news/south")
    digest = "https://example.org/briefing"
    monday = ("mon", "Libya briefing", "<p>Monday: Haftar met envoys.</p>", digest)
    tuesday = ("tue", "Libya briefing", "<p>Tuesday: Haftar flew to Cairo.</p>", digest)
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route(
            "/churn.xml",
            churning([north, south, monday], [north, south, monday], [tuesday, north, south]),
        )
        runtime = build(tmp_path, database_url, feeds.url("/churn.xml"), receiver.url)
        try:
            assert [poll_once(runtime) for _ in range(3)] == [3, 0, 1]
            summaries = sorted(
                (r.json["data"]["article"]["url"], r.json["data"]["article"]["title"])
                for r in receiver.requests
            )
            assert summaries == [
                (digest, "Libya briefing"),
                (digest, "Libya briefing"),
                ("https://example.org/news/north", title),
                ("https://example.org/news/south", title),
            ]
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_a_long_text_under_a_link_that_changes_on_every_request_alerts_once(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: a feed without guids whose server writes a new link on every
    # request (a cache-buster or session in the path) stored and alerted its one entry at
    # every poll. A text of 25 words or more is its story whatever its link; a second
    # entry with the same text under another link in one document is that story too.
    served = itertools.count()

    def reply(_request: RecordedRequest) -> Reply:
        n = next(served)
        items = "".join(
            f"<item><title>Haftar advances on Tripoli</title><link>https://example.org/s{n}/"
            f"{section}/haftar</link><description>{escape(LONG_TEXT)}</description></item>"
            for section in ("world", "africa")
        )
        return channel(items)

    assert three_polls(tmp_path, database_url, reply) == ([1, 0, 0], 1, 1)


@pytest.mark.postgres
def test_a_short_text_under_a_cache_buster_that_changes_on_every_request_alerts_once(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: a server writing a new cache-buster into the link, and the guid that
    # is the link, on every request: its short entries (title and teaser, under 25 words)
    # were stored and alerted at every poll, `first_run: store_only` or not. Their time of
    # publication tells them apart instead; two short entries of one text published at
    # different times are still two.
    served = itertools.count()

    def reply(_request: RecordedRequest) -> Reply:
        n = next(served)
        items = "".join(
            f"<item><title>Haftar in Sirte</title><link>https://example.org/art/19?_cb={n}x{i}"
            f"</link><guid>https://example.org/art/19?_cb={n}x{i}</guid><description>Short."
            f"</description><pubDate>{day}, 0{i + 1} Dec 2026 08:00:00 GMT</pubDate></item>"
            for i, day in enumerate(("Tue", "Wed"))
        )
        return channel(items)

    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/cb.xml", reply)
        runtime = build(tmp_path, database_url, feeds.url("/cb.xml"), receiver.url)
        try:
            assert [poll_once(runtime) for _ in range(3)] == [2, 0, 0]
            assert len(receiver.requests) == 2
            assert count(runtime, articles) == 2
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_a_live_headline_retimed_under_a_new_guid_at_every_request_alerts_once(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: "LIVE: Haftar's forces advance (updated 9:07 GMT)", the time new at
    # every request, under a new random guid, at one link and one pubDate: every poll was a
    # new article, a new story and an alert to every sink. It is the stored article edited:
    # an alias, unless the edit names a watched entity that article did not.
    served = itertools.count()
    extra = [""]

    def reply(_request: RecordedRequest) -> Reply:
        n = next(served)
        item = (
            f"<item><title>LIVE: Haftar's forces advance on Ghadames (updated {8 + n}:07 GMT)"
            f"{extra[0]}</title><guid isPermaLink='false'>{n}-{n * 7919}</guid>"
            "<link>https://www.libyawire.test/news/haftar-forces-ghadames</link>"
            "<description>Clashes overnight.</description>"
            "<pubDate>Tue, 01 Dec 2026 08:00:00 GMT</pubDate></item>"
        )
        return channel(item)

    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/live.xml", reply)
        runtime = build(tmp_path, database_url, feeds.url("/live.xml"), receiver.url)
        try:
            assert [poll_once(runtime) for _ in range(3)] == [1, 0, 0]
            assert len(receiver.requests) == 1
            extra[0] = "; Tripoli sends reinforcements"  # an edit naming someone new
            assert [poll_once(runtime) for _ in range(2)] == [1, 0]
            assert len(receiver.requests) == 2
            assert count(runtime, articles) == 2
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_a_long_text_with_a_new_tracking_pixel_and_link_at_every_request_alerts_once(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: a feed without guids whose links carry a new cache-buster, and whose
    # text carries a 1x1 pixel with a new address, at every request: a long text is its
    # story whatever its link, but the pixel made it a new text, and a `stories: all` sink
    # was sent it at every poll. The text without markup is the same.
    served = itertools.count()

    def reply(_request: RecordedRequest) -> Reply:
        n = next(served)
        pixel = f'<img src="https://ads.example-cdn.test/px.gif?r={n * 7919}" width="1"/>'
        item = (
            f"<item><title>Haftar advances on Tripoli</title><link>https://example.org/a?_={n}"
            f"</link><description>{escape(LONG_TEXT + pixel)}</description></item>"
        )
        return channel(item)

    assert three_polls(tmp_path, database_url, reply) == ([1, 0, 0], 1, 1)


@pytest.mark.postgres
def test_stories_recorded_with_their_link_before_are_still_known(
    tmp_path: Path, database_url: str
) -> None:
    # A database written before the link stopped counting for long texts holds the
    # fingerprint of link and text: a story it knows under a new guid is still an alias.
    story = ("a", "Haftar advances on Tripoli", LONG_TEXT, "https://example.org/news/a")
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/churn.xml", churning([story]))
        runtime = build(tmp_path, database_url, feeds.url("/churn.xml"), receiver.url)
        try:
            assert poll_once(runtime) == 1
            (entry,) = parse_feed(rss([("x", story[1], LONG_TEXT)], links=[story[3]]), "x").entries
            assert entry.fingerprint != entry.link_fingerprint

            # As such a database holds it: one row for the story, of link and text (today's
            # also remember its text without markup, and its link and time).
            def as_before(c: Connection) -> None:
                first = select(func.min(seen_stories.c.fingerprint)).scalar_subquery()
                c.execute(delete(seen_stories).where(seen_stories.c.fingerprint != first))
                c.execute(update(seen_stories).values(fingerprint=entry.link_fingerprint))

            runtime.db.run_sync(as_before)
            assert [poll_once(runtime) for _ in range(2)] == [0, 0]
            assert len(receiver.requests) == 1
        finally:
            runtime.db.close()


@pytest.mark.postgres
def test_one_statement_tells_known_keys_and_stories_stored_pruned_or_aliased(
    database_url: str,
) -> None:
    store = Store(database_url)
    store.prepare()
    try:
        spec = SourceSpec(
            "Wire", "https://example.org/rss", timedelta(minutes=10), True, "alert_all", DAY
        )
        store.sync_sources([spec], T0)
        (source,) = store.list_sources()
        article = ArticleRecord("k0", None, "Title", "", "", None, "h0", "f0")
        later = T0 + timedelta(days=20)

        def poll(at: datetime, *sightings: SeenEntry) -> PollRecord:
            return PollRecord(
                source.id, at, at + timedelta(minutes=10), True, 200, sightings=sightings
            )

        asyncio.run(store.store_feed(source.id, [article], poll(T0), T0))
        # 20 days later the feed still shows k0, and the same story under a new key, k1.
        asyncio.run(store.record_polls([poll(later, SeenEntry("k0", "f0"), SeenEntry("k1", "f0"))]))
        assert asyncio.run(store.prune(T0 + timedelta(days=10))) == Pruned(articles=1)

        statements: list[str] = []

        def count_statement(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if "seen_" in statement:
                statements.append(statement)

        event.listen(store.database.engine, "before_cursor_execute", count_statement)
        keys = [f"k{n}" for n in range(400)]
        stories = [f"f{n}" for n in range(400)]
        known = asyncio.run(store.known_keys(source.id, keys, stories))
        assert len(statements) == 1
        assert known.last_seen == {"k0": later, "k1": later}
        assert known.fingerprints == {"f0"}

        # Past the retention but still what the feed showed last (it answered 304 since, or
        # the service was stopped): kept, or the next read would find them all new.
        assert asyncio.run(store.prune(later + timedelta(seconds=1))) == Pruned(0, 0, 0)
        # Read again without them: unseen for longer than the retention, forgotten.
        last = later + timedelta(days=20)
        asyncio.run(store.record_polls([poll(last, SeenEntry("k2", "f2"))]))
        assert asyncio.run(store.prune(later + timedelta(seconds=1))) == Pruned(0, 2, 1)
        known = asyncio.run(store.known_keys(source.id, keys, stories))
        assert known.last_seen == {"k2": last} and known.fingerprints == {"f2"}
    finally:
        store.close()


def test_a_source_moved_to_the_feed_its_html_page_names_keeps_its_history(
    tmp_path: Path,
) -> None:
    # An outside probe: the feed began answering an HTML page; `once` said "the page names
    # its feed: URL (use that URL)"; the operator did, and the new URL was a new source:
    # `first_run: store_only` stored the feed again and the entry published meanwhile never
    # alerted. A config that names that URL is the same source, as after a 301.
    page = (
        b"<html><head><link rel='alternate' type='application/rss+xml' href='/new.xml'>"
        b"</head><body>We moved</body></html>"
    )
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route(
            "/old.xml",
            Reply(body=rss([QUIET])),
            Reply(body=page, headers={"Content-Type": "text/html"}),
        )
        feeds.route("/new.xml", Reply(body=rss([QUIET, ADVANCE])))

        def run(url: str) -> tuple[str, int]:
            config = write_config(
                tmp_path,
                database_url=f"sqlite:///{tmp_path}/m.db",
                sources=[("Wire", url)],
                sink_url=receiver.url,
                extra={"poll": {"allow_private_networks": True, "workers": 0}},
            )
            runtime = Runtime.build(load_settings(config), need_sinks=True)
            runtime.db.prepare()
            try:
                (poll,), _ = asyncio.run(run_once(runtime))
                return poll.error or "", count(runtime, articles)
            finally:
                runtime.db.close()

        assert run(feeds.url("/old.xml")) == ("", 1)  # first poll: stored, not alerted
        error, stored = run(feeds.url("/old.xml"))
        assert f"the page names its feed: {feeds.url('/new.xml')} (use that URL" in error
        # The operator writes that URL: the source's history stays, the new entry alerts.
        assert run(feeds.url("/new.xml")) == ("", 2)
        (alert,) = receiver.wait_for(1)
        assert alert.json["data"]["article"]["title"] == ADVANCE[1]


@pytest.mark.postgres
def test_an_article_stored_without_its_sightings_is_seen_not_a_failed_poll(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe (probe82): a version from before `seen_keys` kept running while the
    # database was upgraded, and stored articles with no sighting. Each later poll took
    # their entries for new ones, and the unique key of `articles` failed the whole feed,
    # on every poll, for good: new entries beside them were never stored nor alerted.
    from monitor.db.schema import seen_keys

    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=rss([ADVANCE, QUIET])))
        runtime = build(tmp_path, database_url, feeds.url("/wire.xml"), receiver.url)
        try:
            assert poll_once(runtime) == 2
            runtime.db.run_sync(lambda c: c.execute(delete(seen_keys)))
            runtime.db.run_sync(lambda c: c.execute(delete(seen_stories)))
            feeds.route("/wire.xml", Reply(body=rss([ADVANCE, QUIET, TALKS])))
            assert poll_once(runtime) == 1  # the new entry; the stored ones are seen
            assert count(runtime, articles) == 3
            assert count(runtime, seen_keys) >= 3  # and remembered from now on
            assert poll_once(runtime) == 0
        finally:
            runtime.db.close()
        titles = [r.json["data"]["article"]["title"] for r in receiver.requests]
        assert sorted(titles) == sorted([ADVANCE[1], TALKS[1]])  # each alerted once
