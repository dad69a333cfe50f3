"""An entry edited under the same guid: a live page or an "UPDATE 1-" that first names a
watched actor is heard (stored as a revision, an article of its own, and alerted as the sink's
story policy says); an edit that names no one new, or text that changes on every request,
stores nothing. Real feed server, webhook receiver, SQLite and PostgreSQL; the clock is
controlled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


GUID = ["live-1"]  # the test sets it: a short one, and one too long for a revision's key


def feed(title: str, text: str) -> bytes:
    """One item, always the same guid and link, dated an hour before NOW."""
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
        f"<link>https://example.org/</link><item><guid isPermaLink='false'>{GUID[0]}</guid>"
        f"<title>{escape(title)}</title><link>https://example.org/live-1</link>"
        f"<description>{escape(text)}</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=1))}</pubDate></item>"
        "</channel></rss>"
    ).encode()


class Run:
    """`monitor once` passes against one feed, ten minutes apart."""

    def __init__(
        self,
        tmp_path: Path,
        database_url: str,
        feeds: FeedServer,
        sink: str,
        stories: str = "updates",
    ) -> None:
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/live.xml"))],
            sink_url=sink,
            first_run="alert_all",
            stories=stories,
        )
        self.now = NOW
        self.runtime = Runtime.build(load_settings(config), need_sinks=True, clock=self.clock)
        self.runtime.db.prepare()

    def clock(self) -> datetime:
        return self.now

    def once(self) -> int:
        """Poll; the number of new articles."""
        (poll,), _ = asyncio.run(run_once(self.runtime))
        self.now += timedelta(minutes=11)
        assert poll.status == "ok", poll
        return poll.new_articles


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("guid", "stories"),
    [("live-1", "updates"), ("live-" + "x" * 500, "updates"), ("live-1", "all")],
    ids=["short", "500-chars", "stories-all"],
)
def test_an_edit_that_first_names_a_watched_actor_alerts(
    tmp_path: Path, database_url: str, guid: str, stories: str
) -> None:
    # A `stories: all` sink hears each revision that names someone new too, as a full alert
    # (it heard none: an outside probe, probe65 D1), and still nothing for edits that do not.
    # Under either policy the second alert follows the first (`update_of`, `changes`): under
    # `all` it had no `update_of`, so a receiver could not tell an edit from news (probe78 #7).
    GUID[0] = guid
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        route = feeds.route
        run = Run(tmp_path, database_url, feeds, receiver.url, stories)
        try:
            route(
                "/live.xml", Reply(body=feed("Explosion reported at a fuel depot", "Details soon."))
            )
            assert run.once() == 1
            assert receiver.requests == []  # names no one watched

            # The update names Haftar: a revision, stored and alerted.
            update = "UPDATE 1-Haftar forces blamed for fuel depot explosion"
            route("/live.xml", Reply(body=feed(update, "Officials blamed Haftar's forces.")))
            assert run.once() == 1
            (alert,) = receiver.requests
            assert alert.json["data"]["article"]["title"] == update
            assert alert.json["data"]["entities"] == ["haftar"]

            # Edited again, still only Haftar (and text that changes on every request):
            # nothing new to tell, nothing stored.
            for n in range(3):
                text = f"Officials blamed Haftar's forces. Updated {n} minutes ago."
                route("/live.xml", Reply(body=feed(update, text)))
                assert run.once() == 0
            assert len(receiver.requests) == 1

            # Tripoli is named too: another revision; the sink (`stories: updates`) gets a
            # follow-up naming what is new.
            text = "Officials in Tripoli blamed Haftar's forces."
            route("/live.xml", Reply(body=feed(update, text)))
            assert run.once() == 1
            assert len(receiver.requests) == 2
            follow_up = receiver.requests[1].json["data"]
            assert "tripoli" in follow_up["entities"]
            assert follow_up["update_of"] == receiver.requests[0].headers["webhook-id"]
            assert follow_up["changes"] == {"entities": ["tripoli"], "sources": []}
            # And the same text on the next poll is known.
            assert run.once() == 0
        finally:
            run.runtime.db.close()


def items(*entries: tuple[str, str, str]) -> bytes:
    """RSS with (guid, title, link path) items, dated an hour before NOW."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{escape(title)}</title>"
        f"<link>https://example.org/{path}</link><description>{escape(title)}.</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=1))}</pubDate></item>"
        for guid, title, path in entries
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
        f"<link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


@pytest.mark.postgres
def test_a_guid_reused_for_another_article_is_a_new_article(
    tmp_path: Path, database_url: str
) -> None:
    # A feed whose guids are the items' positions: "1" is always the newest item.
    a = ("Haftar visits Cairo", "a")
    b = ("Talks resume in Geneva", "b")
    c = ("Haftar forces enter Sirte", "c")
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        run = Run(tmp_path, database_url, feeds, receiver.url)
        try:
            feeds.route("/live.xml", Reply(body=items(("1", *a), ("2", *b))))
            assert run.once() == 2
            feeds.route("/live.xml", Reply(body=items(("1", *c), ("2", *a), ("3", *b))))
            assert run.once() == 1  # c, under a guid a had: another link, another title
            assert run.once() == 0
            titles = [r.json["data"]["article"]["title"] for r in receiver.requests]
            assert titles == [a[0], c[0]]
            # The same article with a new slug (same title), or a new title at the same link,
            # naming no one new: an edit, not another article.
            edited = [("1", c[0], "c-new-slug"), ("2", "Haftar visits Cairo again", "a")]
            feeds.route("/live.xml", Reply(body=items(*edited, ("3", *b))))
            assert run.once() == 0
        finally:
            run.runtime.db.close()


@pytest.mark.postgres
def test_a_new_article_under_a_guid_that_only_ever_named_known_stories_is_stored(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: a feed whose guids are positions, growing by one item a poll, shows
    # each older story under a new position: those keys are aliases, with no stored
    # article. When two items came out between two polls, the one that landed on such a
    # key was compared with nothing, and never stored or alerted.
    stories = [(f"Haftar item {n}", f"item-{n}") for n in range(6)]

    def positions(newest: int) -> bytes:
        return items(*((str(i + 1), *stories[n]) for i, n in enumerate(range(newest, -1, -1))))

    with FeedServer() as feeds, WebhookReceiver() as receiver:
        run = Run(tmp_path, database_url, feeds, receiver.url)
        try:
            for newest in (0, 1, 2, 3):  # one new item a poll: "1" is it, the rest aliases
                feeds.route("/live.xml", Reply(body=positions(newest)))
                assert run.once() == 1
            feeds.route("/live.xml", Reply(body=positions(5)))  # two at once: "1" and "2"
            assert run.once() == 2
            assert run.once() == 0
            titles = sorted(r.json["data"]["article"]["title"] for r in receiver.wait_for(6))
            assert titles == sorted(title for title, _ in stories)
            # The same key's article edited (its link and time kept): no news.
            edited = [
                (str(i + 1), f"{stories[n][0]} (updated)", stories[n][1])
                for i, n in enumerate(range(5, -1, -1))
            ]
            feeds.route("/live.xml", Reply(body=items(*edited)))
            assert run.once() == 0
        finally:
            run.runtime.db.close()


def dated(*entries: tuple[str, str, str | None, int]) -> bytes:
    """RSS with (guid, title, link path or None, hours before NOW) items."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{escape(title)}</title>"
        + (f"<link>https://example.org/{path}</link>" if path else "")
        + f"<description>{escape(title)}, {hours} hours ago.</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=hours))}</pubDate></item>"
        for guid, title, path, hours in entries
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
        f"<link>https://example.org/</link>{body}</channel></rss>"
    ).encode()


@pytest.mark.postgres
@pytest.mark.parametrize("shape", ["no-links", "one-title"])
def test_new_items_under_positions_without_links_or_with_one_title_are_stored(
    tmp_path: Path, database_url: str, shape: str
) -> None:
    # An outside probe: guids that are positions ("1" the newest) lost the new items of a
    # feed without links (compared by link and title, a missing link was "the same link"),
    # and of a feed whose items all bear one title ("Libya daily briefing: Haftar"). A
    # later time of publication, with another link or (without links) another title, is
    # another article; the same item edited keeps its time.
    def item(n: int) -> tuple[str, str | None]:
        title = "Libya daily briefing: Haftar" if shape == "one-title" else f"Haftar item {n}"
        return title, (None if shape == "no-links" else f"briefing-{n}")

    def positions(newest: int) -> bytes:
        return dated(
            *((str(i + 1), *item(n), 100 - n) for i, n in enumerate(range(newest, -1, -1)))
        )

    with FeedServer() as feeds, WebhookReceiver() as receiver:
        run = Run(tmp_path, database_url, feeds, receiver.url, stories="all")
        try:
            feeds.route("/live.xml", Reply(body=positions(1)))
            assert run.once() == 2
            feeds.route("/live.xml", Reply(body=positions(4)))  # three new at once
            assert run.once() == 3
            assert run.once() == 0
            assert len(receiver.wait_for(5)) == 5
        finally:
            run.runtime.db.close()


def _watchlist(path: Path, *entities: tuple[str, str]) -> None:
    path.write_text(
        "entities:\n"
        + "".join(f"  - id: {entity}\n    names: [{name}]\n" for entity, name in entities),
        encoding="utf-8",
    )


@pytest.mark.postgres
def test_a_cosmetic_edit_after_the_watchlist_grew_is_no_news(
    tmp_path: Path, database_url: str
) -> None:
    # An outside probe: an entry stored before "Kufra Solar Consortium" was watched alerted
    # as news when its title got an "UPDATED" prefix: its unchanged text now matched, and
    # its stored version had matched nothing. A name the stored text already had is not
    # named by the edit; a name it did not have still is.
    GUID[0] = "live-1"
    watchlist = tmp_path / "watch.yaml"
    _watchlist(watchlist, ("haftar", "Haftar"))
    text = "Farmers met the Kufra Solar Consortium in Kufra on Monday to discuss fuel."
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("Wire", feeds.url("/live.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="updates",
            extra={"watchlists": [str(watchlist)]},
        )
        now = [NOW]

        def once() -> int:
            runtime = Runtime.build(load_settings(config), need_sinks=True, clock=lambda: now[0])
            runtime.db.prepare()
            try:
                (poll,), _ = asyncio.run(run_once(runtime))
            finally:
                runtime.db.close()
            now[0] += timedelta(minutes=11)
            assert poll.status == "ok", poll
            return poll.new_articles

        feeds.route("/live.xml", Reply(body=feed("Farmers and the Kufra Solar Consortium", text)))
        assert once() == 1 and receiver.requests == []  # stored; it matches nothing yet
        _watchlist(watchlist, ("haftar", "Haftar"), ("kufra", "Kufra Solar Consortium"))
        title = "UPDATED Farmers and the Kufra Solar Consortium"
        feeds.route("/live.xml", Reply(body=feed(title, text)))
        assert once() == 0 and receiver.requests == []
        feeds.route("/live.xml", Reply(body=feed(title, text + " Haftar sent an envoy.")))
        assert once() == 1
        (alert,) = receiver.wait_for(1)
        assert alert.json["data"]["article"]["title"] == title
