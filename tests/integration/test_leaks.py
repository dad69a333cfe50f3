"""Credentials in feed and sink URLs never leave: not in a webhook body, a log line, the output of
any command, or a stored article URL. Only the request to the feed itself carries them."""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cli import test_check_command
from tests.integration.helpers import LIBYA_WATCHLIST, SECRET
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import Reply as HookReply
from tests.support.webhook_receiver import WebhookReceiver

FEED_PASSWORD = "s3cretpw"
FEED_TOKEN = "t0ken123"
LINK_PASSWORD = "l1nkpw77"  # in an entry's own absolute link
SINK_SECRETS = ("hookpw55", "hooktok77", "slacktok3n", "disc0rdtok", "pagertok99")
# The pager's signing secret, whose key is text: a receiver may repeat any of the three.
PAGER_KEY = "pagerkey-signs-77"
PAGER_BASE64 = base64.b64encode(PAGER_KEY.encode()).decode()
PAGER_SECRET = "whsec_" + PAGER_BASE64
SECRETS = (
    *(FEED_PASSWORD, FEED_TOKEN, LINK_PASSWORD, *SINK_SECRETS),
    *(PAGER_KEY, PAGER_BASE64.rstrip("=")),
)

FEED_HEADERS = {"Content-Type": "application/rss+xml"}


def _item(title: str, link: str, guid: str | None) -> str:
    guid_element = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    return (
        f"<item>{guid_element}<title>{title}</title><link>{link}</link>"
        "<description>Field Marshal Khalifa Haftar spoke in Tripoli.</description>"
        "<pubDate>Fri, 20 Nov 2026 08:00:00 GMT</pubDate></item>"
    )


# Every kind of entry link: absolute, relative (resolved against the feed URL), absolute with
# its own userinfo, a bare fragment (the feed URL itself), and a relative one without a guid
# (the link becomes the stored entry key).
FEED = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
    "<title>Wire</title><link>/</link><description>test</description>"
    + _item("Haftar's forces near Tripoli", "https://example.org/news/abs-1", "abs-1")
    + _item("Haftar meets envoys", "/news/rel-1", "rel-1")
    + _item("Tripoli talks resume", f"http://bob:{LINK_PASSWORD}@example.org/news/cred-1", "cred-1")
    + _item("Haftar in Benghazi", "#latest", "frag-1")
    + _item("Tripoli airport reopens", "news/noguid-1", None)
    + "</channel></rss>"
).encode()
EMPTY_FEED = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>Empty</title>"
    b"<link>https://example.org/</link><description>none</description></channel></rss>"
)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.route("/feed.xml", Reply(body=FEED, headers=FEED_HEADERS))
        server.route("/gone.xml", Reply(status=404))
        server.route("/moved.xml", Reply.redirect("/gone.xml?api_key=" + FEED_TOKEN))
        server.route("/page.html", Reply(body=b"<!doctype html><html>login</html>"))
        server.route("/empty.xml", Reply(body=EMPTY_FEED, headers=FEED_HEADERS))
        # A private feed whose entries repeat its own URL, credentials and all: as a guid,
        # as a link without a guid, and a sibling page with the same userinfo and token.
        own = _feed_url(server, "/self.xml").replace("&", "&amp;")
        sibling = own.replace("/self.xml", "/news/sibling")
        server.route(
            "/self.xml",
            Reply(
                body=(
                    "<?xml version='1.0'?><rss version='2.0'><channel><title>Self</title>"
                    + _item("Haftar visits Sirte", own, own)
                    + _item("Tripoli port reopens", own.replace("?", "?p=2&amp;"), None)
                    + _item("Haftar in Tobruk", sibling, sibling)
                    + "</channel></rss>"
                ).encode(),
                headers=FEED_HEADERS,
            ),
        )
        yield server


def _feed_url(feeds: FeedServer, path: str, query: str = "token") -> str:
    return f"http://user:{FEED_PASSWORD}@127.0.0.1:{feeds.port}{path}?{query}={FEED_TOKEN}"


def _write_config(folder: Path, feeds: FeedServer, hooks: WebhookReceiver, pager: str) -> Path:
    down = f"http://user:{FEED_PASSWORD}@127.0.0.1:{_closed_port()}/feed.xml?token={FEED_TOKEN}"
    opml = folder / "more.opml"  # an outline without a title is named by its URL
    opml.write_text(
        "<?xml version='1.0'?><opml version='2.0'><body><outline type='rss' "
        f"xmlUrl='{_feed_url(feeds, '/empty.xml').replace('&', '&amp;')}'/></body></opml>",
        encoding="utf-8",
    )
    hook = f"127.0.0.1:{hooks.port}"
    config = {
        "database_url": f"sqlite:///{folder}/m.db",
        "poll": {"allow_private_networks": True, "workers": 1, "tick": "1s"},
        "fetch": {"total_timeout": "10s"},
        "first_run": "alert_all",
        "sources": [
            {"name": "Wire", "url": _feed_url(feeds, "/feed.xml")},
            {"name": "Gone", "url": _feed_url(feeds, "/gone.xml")},
            {"name": "Moved", "url": _feed_url(feeds, "/moved.xml", query="Token")},
            {"name": "Page", "url": _feed_url(feeds, "/page.html", query="ACCESS_TOKEN")},
            {"name": "Down", "url": down},
            {"name": "Self", "url": _feed_url(feeds, "/self.xml")},
            {"opml": str(opml)},
        ],
        "watchlists": [str(LIBYA_WATCHLIST)],
        "sinks": [
            {
                "name": "ops",
                "url": f"http://hookuser:hookpw55@{hook}/hook?token=hooktok77&team=news",
                "secret": SECRET,
            },
            {
                "name": "slack",
                "url": f"http://{hook}/services/T000/B000/slacktok3n",
                "format": "slack",
            },
            {
                "name": "discord",
                "url": f"http://{hook}/api/webhooks/123/disc0rdtok",
                "format": "discord",
            },
            {"name": "pager", "url": pager, "retry_schedule": ["1h"], "secret": PAGER_SECRET},
        ],
        "delivery": {"tick": "1s"},
    }
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def monitor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Wide enough that no table cell is wrapped or cut: a secret split over two lines, or cut
    # off, would not be found below.
    return test_check_command.monitor(*args, env={"COLUMNS": "4000", **(env or {})})


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _stored_text(database: Path) -> Iterator[tuple[str, str, str]]:
    """(table, column, value) for every text value in the database except ``sources.url``,
    the one place the full feed URL is kept (it is needed to fetch)."""
    con = sqlite3.connect(database)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = con.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the schema
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str) and (table, column) != ("sources", "url"):
                        yield table, column, value
    finally:
        con.close()


@pytest.mark.slow
def test_credentials_in_feed_and_sink_urls_are_never_shown_or_sent(
    tmp_path: Path, feeds: FeedServer
) -> None:
    pager_reply = HookReply(
        500,
        body=(
            f"invalid token pagertok99 for /p?sig=pagertok99; signature mismatch for secret "
            f"{PAGER_SECRET} (key {PAGER_KEY!r}, base64 {PAGER_BASE64.rstrip('=')})"
        ).encode(),
    )
    with WebhookReceiver() as hooks, WebhookReceiver(default=pager_reply) as pager:
        config = _write_config(tmp_path, feeds, hooks, f"{pager.base_url}/p?sig=pagertok99")
        args = ("--config", str(config))
        refuse_private = {"MONITOR_POLL__ALLOW_PRIVATE_NETWORKS": "false"}
        runs: dict[str, subprocess.CompletedProcess[str]] = {}
        runs["once"] = monitor("--log-level", "debug", "once", *args)
        runs["sources"] = monitor("--log-level", "debug", "sources", *args)
        runs["sources --json"] = monitor("sources", "--json", *args)
        runs["alerts"] = monitor("--log-level", "debug", "alerts", *args)
        runs["alerts --json"] = monitor("alerts", "--json", *args)
        runs["replay"] = monitor("--log-level", "debug", "replay", *args)
        runs["replay --json"] = monitor("replay", "--json", *args)
        runs["stories"] = monitor("--log-level", "debug", "stories", *args)
        runs["stories --json"] = monitor("stories", "--json", *args)
        runs["status"] = monitor("--log-level", "debug", "status", *args)
        runs["status --json"] = monitor("status", "--json", *args)
        runs["check"] = monitor("--log-level", "debug", "check", *args)
        runs["check (private refused)"] = monitor("check", *args, env=refuse_private)
        # Start-up warnings name every refused source and sink; every poll then fails.
        runs["once (private refused)"] = monitor(
            "--log-level", "debug", "once", *args, env=refuse_private
        )
        # A fresh database: the same polls and alerts again, reported as JSON.
        fresh = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"}
        runs["once --json"] = monitor("--log-level", "debug", "once", "--json", *args, env=fresh)
        hook_requests = hooks.requests
        pager_requests = pager.requests

    for name, run in runs.items():
        # `once` says 3 (a feed failed) or 4 (an alert not delivered): failures are set up;
        # `status` says 3: no `monitor run` runs on the database.
        assert run.returncode in (0, 1, 3, 4), f"{name}: {run.stdout}\n{run.stderr}"
        for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            assert _leaks(text) == [], f"`monitor {name}` {stream} shows a secret:\n{text}"

    # The runs did show what the guarantee is about (or the assertions above prove nothing).
    once = runs["once"].stdout + runs["once"].stderr
    for source in ("Wire", "Gone", "Moved", "Page", "Down", "Self"):
        assert source in once, once
    assert "poll failed for http://REDACTED@127.0.0.1" in once  # WARNING lines, URLs redacted
    assert "polled http://REDACTED@127.0.0.1" in once  # INFO
    assert "http://REDACTED@127.0.0.1" in runs["once (private refused)"].stderr  # start-up
    assert "/services/T000/B000/REDACTED" in runs["check (private refused)"].stderr
    listed = {row["name"]: row for row in json.loads(runs["sources --json"].stdout)}
    assert listed["Wire"]["url"] == _feed_url(feeds, "/feed.xml").replace(
        f"user:{FEED_PASSWORD}", "REDACTED"
    ).replace(FEED_TOKEN, "REDACTED")
    assert {row["last_error_reason"] for row in listed.values()} >= {
        "http_4xx",
        "parse_error",
        "connect_error",
    }
    dead_or_pending = json.loads(runs["alerts --json"].stdout)["deliveries"]
    assert any(d["sink"] == "pager" and d["last_error"] for d in dead_or_pending)
    status = json.loads(runs["status --json"].stdout)
    assert any(e["sink"] == "pager" and e["error"] for e in status["last_errors"]["deliveries"])
    assert status["last_errors"]["sources"], status
    polls = json.loads(runs["once --json"].stdout)["polls"]
    assert any(p["url"].startswith("http://REDACTED@") for p in polls)

    # Webhook bodies: the standard body, Slack's and Discord's renderings, the failing sink's.
    assert len(hook_requests) >= 3 * 5 and len(pager_requests) >= 5
    for request in hook_requests + pager_requests:
        body = request.body.decode()
        assert _leaks(body) == [], f"a webhook body to {request.path} carries a secret:\n{body}"
    standard = [r.json for r in hook_requests if r.path.startswith("/hook")]
    articles = {p["data"]["article"]["title"]: p["data"]["article"] for p in standard}  # type: ignore[index]
    base = f"http://127.0.0.1:{feeds.port}"
    assert articles["Haftar meets envoys"]["url"] == f"{base}/news/rel-1"
    assert articles["Tripoli talks resume"]["url"] == "http://example.org/news/cred-1"
    assert articles["Tripoli airport reopens"]["url"] == f"{base}/news/noguid-1"
    assert articles["Haftar in Benghazi"]["url"] == f"{base}/feed.xml"
    source_url = articles["Haftar meets envoys"]["source"]["url"]
    assert source_url == f"http://REDACTED@127.0.0.1:{feeds.port}/feed.xml?token=REDACTED"

    # Nothing stored for display (article URLs, keys, errors) keeps a secret.
    for database in (tmp_path / "m.db", tmp_path / "fresh.db"):
        for table, column, value in _stored_text(database):
            assert _leaks(value) == [], f"{database.name}: {table}.{column} = {value!r}"

    # The feed itself was asked with its credentials: only that request carries them.
    (asked, *_) = feeds.requests_for("/feed.xml")
    assert f"token={FEED_TOKEN}" in asked.path
    expected = base64.b64encode(f"user:{FEED_PASSWORD}".encode()).decode()
    assert asked.headers["authorization"] == f"Basic {expected}"
