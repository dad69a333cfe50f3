"""An entry without a title (feeds of short items often give only a description, a
microblog only content) alerts with the first sentence of its description (or content) as
its title, live and in replay, and is listed so by `monitor alerts` and `monitor stories`
(they showed an empty title). Real feed server, webhook receiver, SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.cli.test_check_command import monitor
from tests.integration.helpers import write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

FEED = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
    b"<link>https://example.org/</link>"
    b"<item><guid isPermaLink='false'>n-1</guid><link>https://example.org/n-1</link>"
    b"<description>&lt;p&gt;Haftar's forces entered Sirte on Monday. Residents fled "
    b"south.&lt;/p&gt;</description></item>"
    b"</channel></rss>"
)


# Only content: an RSS item with content:encoded, a microblog's JSON Feed item; they
# alerted with an empty title (an outside probe, probe67).
CONTENT_ONLY = (
    b"<?xml version='1.0'?><rss version='2.0' "
    b"xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel><title>Wire</title>"
    b"<link>https://example.org/</link>"
    b"<item><guid isPermaLink='false'>n-1</guid><link>https://example.org/n-1</link>"
    b"<content:encoded>&lt;p&gt;Haftar's forces entered Sirte on Monday. Residents fled "
    b"south.&lt;/p&gt;</content:encoded></item>"
    b"</channel></rss>"
)
JSON_CONTENT_ONLY = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "Wire", "items": [{"id": "n-1",'
    b' "url": "https://example.org/n-1", "content_text": "Haftar\'s forces entered Sirte on '
    b'Monday. Residents fled south."}]}'
)


@pytest.mark.parametrize(
    "body", [FEED, CONTENT_ONLY, JSON_CONTENT_ONLY], ids=["summary", "content", "json"]
)
def test_an_untitled_entry_alerts_with_its_first_sentence(tmp_path: Path, body: bytes) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=body))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/monitor.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()
        try:
            asyncio.run(run_once(runtime))
        finally:
            runtime.db.close()
        (alert,) = receiver.wait_for(1, timeout=10)
        title = "Haftar's forces entered Sirte on Monday."
        assert alert.json["data"]["article"]["title"] == title
        replayed = monitor("replay", "--json", "--config", str(config), cwd=tmp_path)
        assert replayed.returncode == 0, replayed.stderr
        assert title in replayed.stdout
        for command in ("alerts", "stories"):
            listed = monitor(command, "--json", "--config", str(config), cwd=tmp_path)
            assert listed.returncode == 0, listed.stderr
            assert title in listed.stdout, listed.stdout
