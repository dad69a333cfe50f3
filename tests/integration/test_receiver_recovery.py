"""A receiver that was down and answers again gets the alerts that failed meanwhile at once,
not after a retry interval behind the alerts queued later; a refusal (4xx) keeps its
schedule."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.runtime import Runtime
from monitor.service import run_once
from monitor.settings import load_settings
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

FIRST = ("h1", "Haftar's forces advance on Tripoli", "<p>The LNA said on Monday.</p>")
SECOND = ("h2", "GNA forces regroup south of Tripoli", "<p>Officials in Tripoli said.</p>")


@pytest.mark.postgres
@pytest.mark.parametrize(("down", "waits"), [(500, False), (503, False), (400, True)])
def test_alerts_that_failed_while_the_receiver_was_down_go_when_it_answers(
    tmp_path: Path, database_url: str, down: int, waits: bool
) -> None:
    with FeedServer() as feeds, WebhookReceiver(script=[down]) as receiver:
        feeds.route("/f.xml", Reply(body=rss([FIRST])))
        config = write_config(
            tmp_path,
            database_url=database_url,
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["1h", "1h"],
            first_run="alert_all",
            stories="all",
        )
        runtime = Runtime.build(load_settings(config), need_sinks=True)
        runtime.db.prepare()
        try:
            _, sent = asyncio.run(run_once(runtime))  # the receiver is down: a retry in 1 h
            assert [o.status for o in sent] == ["retry"]
            feeds.route("/f.xml", Reply(body=rss([SECOND, FIRST])))
            _, sent = asyncio.run(run_once(runtime))  # it answers again
            titles = [r.json["data"]["article"]["title"] for r in receiver.requests]
            if waits:  # refused, not down: it keeps its schedule
                assert titles == [FIRST[1], SECOND[1]]
                assert [o.status for o in sent] == ["delivered"]
            else:
                assert titles == [FIRST[1], SECOND[1], FIRST[1]]
                assert [o.status for o in sent] == ["delivered", "delivered"]
                ids = [r.headers["webhook-id"] for r in receiver.requests]
                assert ids[0] == ids[2]  # the same alert, tried again
        finally:
            runtime.db.close()
