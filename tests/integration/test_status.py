"""`Store.status` on SQLite and PostgreSQL (several instances, sources of every state, the
outbox, activity windows, the last failures), and the health gauges a running service shows
on /metrics: the same numbers as `monitor status`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Connection, update

from monitor.db.schema import articles, deliveries, matches, sources
from monitor.db.sources import SourceSpec
from monitor.db.status import SOURCE_STATES
from monitor.db.store import Store
from monitor.status import STATUS_DEGRADED, instance_state, render_status, verdict
from tests.cli.test_check_command import monitor
from tests.integration.helpers import LIBYA_WATCHLIST, REPO, SECRET, rss
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _spec(name: str) -> SourceSpec:
    return SourceSpec(
        name=name,
        url=f"https://example.org/{name.lower()}.xml",
        interval=timedelta(minutes=10),
        enabled=True,
        first_run="store_only",
        first_run_window=timedelta(days=1),
    )


def _prepare(conn: Connection) -> None:
    """Sources in every state, and an article with deliveries in every state. Written with
    SQL: the queries are what is tested here (the CLI test makes them by real polls)."""
    conn.execute(update(sources).where(sources.c.name == "Flaky").values(consecutive_failures=3))
    conn.execute(
        update(sources)
        .where(sources.c.name == "Recovering")
        .values(consecutive_failures=1, last_polled_at=NOW - timedelta(minutes=1))
    )
    conn.execute(update(sources).where(sources.c.name == "Gone").values(gone_at=NOW))
    conn.execute(update(sources).where(sources.c.name == "Off").values(enabled=False))
    conn.execute(
        update(sources).where(sources.c.name == "Wire").values(moved_to="https://example.org/n")
    )
    source_id = conn.execute(sources.select().where(sources.c.name == "Wire")).one().id
    for index, fetched in enumerate((NOW - timedelta(minutes=5), NOW - timedelta(hours=5))):
        conn.execute(
            articles.insert().values(
                id=index + 1,
                source_id=source_id,
                entry_key=f"k{index}",
                fetched_at=fetched,
                content_hash="0" * 64,
            )
        )
    rows = [
        ("p-old", "ops", "pending", NOW - timedelta(minutes=20), None, "http_5xx"),
        ("p-new", "pager", "pending", NOW - timedelta(minutes=1), None, None),
        ("d-1", "pager", "dead", NOW - timedelta(hours=3), None, "timeout"),
        ("ok-1", "chat", "delivered", NOW - timedelta(hours=2), NOW - timedelta(minutes=2), None),
        ("ok-2", "chat2", "delivered", NOW - timedelta(days=2), NOW - timedelta(hours=2), None),
    ]
    for match_id, (delivery_id, sink, state, created, delivered, reason) in enumerate(rows, 1):
        conn.execute(
            matches.insert().values(
                id=match_id,
                article_id=1,
                watchlist=f"w{match_id}",
                entities=[],
                detail={},
                created_at=created,
            )
        )
        conn.execute(
            deliveries.insert().values(
                id=delivery_id,
                match_id=match_id,
                sink=sink,
                status=state,
                attempts=1,
                next_attempt_at=NOW + timedelta(hours=1),
                created_at=created,
                delivered_at=delivered,
                last_error_reason=reason,
                last_error=f"{reason} at https://u:pw@hooks.example.org/x" if reason else None,
            )
        )


@pytest.mark.postgres
def test_status_reads_sources_instances_and_the_outbox(database_url: str) -> None:
    store = Store(database_url)
    try:
        store.prepare()
        names = ("Wire", "Flaky", "Recovering", "Gone", "Off")
        store.sync_sources([_spec(name) for name in names], NOW - timedelta(days=1))
        store.database.run_sync(_prepare)
        for owner, started in (("a", NOW), ("b", NOW - timedelta(seconds=60)), ("c", NOW)):
            store.register_instance(
                owner=owner, hostname="h", pid=1, version="v", config_path=None, now=started
            )
        store.register_instance(
            owner="dead", hostname="h", pid=2, version="v", config_path=None,
            now=NOW - timedelta(minutes=5),
        )  # fmt: skip
        # On this host: one whose process is gone (kill -9 a moment ago), one alive.
        exited = subprocess.Popen([sys.executable, "-c", "pass"])
        exited.wait()
        here = socket.gethostname()
        for owner, pid in (("killed here", exited.pid), ("alive here", os.getpid())):
            store.register_instance(
                owner=owner, hostname=here, pid=pid, version="v", config_path=None, now=NOW
            )
        store.instance_stopped("c", NOW)
        status = store.status(NOW, unhealthy_after=3)
        rows = store.list_sources()
    finally:
        store.close()

    states = {row.owner: instance_state(row, NOW) for row in status.instances}
    assert states == {
        "a": "running",
        "b": "running",
        "c": "stopped",
        "dead": "dead",
        "killed here": "dead",  # without waiting 90 s for its heartbeat to age
        "alive here": "running",
    }
    assert status.health.sources == {
        state: sum(r.health(3) == state for r in rows) for state in SOURCE_STATES
    }
    assert status.health.sources == {"healthy": 2, "unhealthy": 1, "gone": 1, "disabled": 1}
    # Healthy, but its last poll failed ("Recovering"): counted apart, as an outside probe
    # took 41 healthy sources for 41 working ones while 10 had just failed.
    assert status.health.failing == 1
    assert "sources: 2 healthy (1 failed their last poll), 1 unhealthy" in render_status(
        status, 3, []
    )
    assert [p.name for p in status.unhealthy] == ["Flaky"]
    assert [p.name for p in status.gone] == ["Gone"]
    assert [p.name for p in status.moved] == ["Wire"] and status.moved_total == 1

    health = status.health
    assert (health.pending, health.dead) == (2, 1)
    assert health.oldest_pending_at == NOW - timedelta(minutes=20)
    assert health.oldest_pending_age(NOW) == timedelta(minutes=20)
    assert set(health.sinks) == {"ops", "pager"}
    assert health.sinks["pager"].pending == 1 and health.sinks["pager"].dead == 1
    assert health.sinks["pager"].oldest_pending_at == NOW - timedelta(minutes=1)

    hour, day = status.activity["last_hour"], status.activity["last_day"]
    assert (hour.articles_stored, hour.alerts_queued, hour.delivered) == (1, 2, 1)
    assert (day.articles_stored, day.alerts_queued, day.delivered) == (2, 4, 2)

    assert [f.name for f in status.source_failures] == ["Recovering", "Flaky"]
    assert {f.id for f in status.delivery_failures} == {"p-old", "d-1"}

    judged = verdict(status)
    assert judged.exit_code == STATUS_DEGRADED
    # Added a day ago and never polled: the three enabled sources that are not gone are late.
    assert (health.late, health.poll_lag(NOW)) == (3, timedelta(days=1))
    assert judged.problems == (
        "unhealthy_sources",
        "failing_sources",  # two of the three polled (the unhealthy one and "Recovering")
        "gone_sources",
        "dead_letters",
        "outbox_stale",
        "late_sources",
    )


@pytest.mark.postgres
def test_a_source_is_late_when_due_for_over_a_minute_and_not_being_polled(
    database_url: str,
) -> None:
    planned = {
        "Late": NOW - timedelta(minutes=2),
        "Polling": NOW - timedelta(minutes=5),  # leased: an instance is polling it
        "Lease-expired": NOW - timedelta(minutes=3),  # its instance died mid-poll
        "Just-due": NOW - timedelta(seconds=30),
        "Backing-off": NOW + timedelta(minutes=8),
        "Gone": NOW - timedelta(hours=1),
        "Off": NOW - timedelta(hours=1),
    }
    store = Store(database_url)
    try:
        store.prepare()
        store.sync_sources([_spec(name) for name in planned], NOW - timedelta(days=1))

        def plan(conn: Connection) -> None:
            for name, at in planned.items():
                conn.execute(update(sources).where(sources.c.name == name).values(next_poll_at=at))
            leases = {
                "Polling": NOW + timedelta(minutes=1),
                "Lease-expired": NOW - timedelta(seconds=1),
            }
            for name, until in leases.items():
                conn.execute(
                    update(sources)
                    .where(sources.c.name == name)
                    .values(lease_owner="i-1", lease_expires_at=until)
                )
            conn.execute(update(sources).where(sources.c.name == "Gone").values(gone_at=NOW))
            conn.execute(update(sources).where(sources.c.name == "Off").values(enabled=False))

        store.database.run_sync(plan)
        health = store.status(NOW, unhealthy_after=3).health
    finally:
        store.close()

    assert health.late == 2  # Late and Lease-expired
    assert health.poll_lag(NOW) == timedelta(minutes=3)


def test_a_source_held_in_a_queue_longer_than_any_poll_is_late(database_url: str) -> None:
    # One slow feed ties up the only fetch worker; the sources claimed behind it wait in
    # the instance's queue, leased. A lease taken longer ago than a minute plus the fetch's
    # total timeout is no poll in flight: those sources are late.
    lease, longest = timedelta(minutes=5), timedelta(seconds=60)
    claimed = {"Queued": NOW - timedelta(minutes=4), "In-flight": NOW - timedelta(seconds=40)}
    store = Store(database_url)
    try:
        store.prepare()
        store.sync_sources([_spec(name) for name in claimed], NOW - timedelta(days=1))

        def plan(conn: Connection) -> None:
            for name, at in claimed.items():
                conn.execute(
                    update(sources)
                    .where(sources.c.name == name)
                    .values(next_poll_at=at, lease_owner="i-1", lease_expires_at=at + lease)
                )

        store.database.run_sync(plan)
        unaware = store.status(NOW, unhealthy_after=3).health
        health = store.status(NOW, unhealthy_after=3, lease=lease, longest_poll=longest).health
    finally:
        store.close()

    assert unaware.late == 0  # leases alone: every leased source looks in a poll
    assert health.late == 1 and health.poll_lag(NOW) == timedelta(minutes=4)


def _gauges(text: str) -> dict[str, float]:
    """The health gauges in a /metrics page: name (with labels) -> value."""
    found = re.findall(
        r"^(monitor_(?:sources|outbox_backlog|outbox_oldest_age_seconds|dead_letters"
        r"|sources_late|poll_lag_seconds)"
        r"(?:\{[^}]*\})?) (\S+)$",
        text,
        re.MULTILINE,
    )
    return {name: float(value) for name, value in found}


def test_a_running_service_shows_the_health_gauges_status_counts(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver(default=500) as receiver:
        feeds.route("/f.xml", Reply(body=rss([("a-1", "Haftar in Tripoli", "<p>Talks.</p>")])))
        feeds.route("/down.xml", Reply(status=500))
        config = {
            "database_url": f"sqlite:///{tmp_path}/m.db",
            "poll": {"interval": "10m", "allow_private_networks": True, "unhealthy_after": 1},
            "first_run": "alert_all",
            "sources": [
                {"name": "Wire", "url": feeds.url("/f.xml")},
                {"name": "Down", "url": feeds.url("/down.xml")},
            ],
            "watchlists": [str(LIBYA_WATCHLIST)],
            "sinks": [
                {"name": "ops", "url": receiver.url, "secret": SECRET, "retry_schedule": ["0s"]}
            ],
            "http": {"host": "127.0.0.1", "port": 0},
        }
        path = tmp_path / "monitor.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        # A failing source (unhealthy after 1 failure) and a dead delivery; the service then
        # finds nothing due, so the numbers stay put while it runs.
        for _ in range(2):  # one try per delivery per run: the second run's is its last
            once = monitor("once", "--config", str(path), cwd=tmp_path)
            assert once.returncode == 4, once.stdout + once.stderr
        assert "1 dead" in once.stdout, once.stdout
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(path)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        log: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                log.append(line)
                if "monitor running as" in line:
                    ready.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert ready.wait(60), "".join(log)
            (port,) = re.findall(r"health and metrics on http://127\.0\.0\.1:(\d+)/", "".join(log))
            page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            status = monitor("status", "--json", "--config", str(path), cwd=tmp_path)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=100)
            reader.join(timeout=10)
            assert process.stderr is not None
            process.stderr.close()
    assert process.returncode == 0, "".join(log)
    assert status.returncode == 1, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["service"]["running"] == 1
    gauges = _gauges(page)
    assert gauges == {
        'monitor_sources{state="healthy"}': 1.0,
        'monitor_sources{state="unhealthy"}': 1.0,
        'monitor_sources{state="gone"}': 0.0,
        'monitor_sources{state="disabled"}': 0.0,
        "monitor_outbox_backlog": 0.0,
        "monitor_outbox_oldest_age_seconds": 0.0,
        "monitor_dead_letters": 1.0,
        "monitor_sources_late": 0.0,
        "monitor_poll_lag_seconds": 0.0,
    }, page
    for state in SOURCE_STATES:
        assert gauges[f'monitor_sources{{state="{state}"}}'] == report["sources"][state]
    assert gauges["monitor_outbox_backlog"] == report["outbox"]["pending"]
    assert gauges["monitor_dead_letters"] == report["outbox"]["dead"]
    assert gauges["monitor_sources_late"] == report["sources"]["late"]
