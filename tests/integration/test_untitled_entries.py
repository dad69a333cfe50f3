"""An entry without a title (feeds of short items often give only a description) alerts
with its description's first sentence as its title, live and in replay, and is listed so
by `monitor alerts` and `monitor stories` (they showed an empty title). Real feed server,
webhook receiver, SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

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


def test_an_untitled_entry_alerts_with_its_first_sentence(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/wire.xml", Reply(body=FEED))
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
