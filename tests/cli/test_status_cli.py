"""`monitor status` tells an operator (and a monitoring check, by its exit code) whether a
service runs on the database, how the sources are, what happened lately, how the outbox is,
and the last errors; it never shows a secret and never creates a database. Subprocesses
started in another folder than their config, a real SQLite database prepared through
`monitor once` against loopback feeds and receivers."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.db.status import SOURCE_STATES
from monitor.db.store import Store
from tests.cli.test_check_command import monitor
from tests.integration.helpers import LIBYA_WATCHLIST, SECRET, rss
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

HAFTAR = [
    ("a-1", "Haftar's forces near Tripoli", "<p>Fighting south of Tripoli.</p>"),
    ("a-2", "Haftar meets envoys", "<p>Talks in Benghazi.</p>"),
]
QUIET = [("q-1", "Weather in Oslo", "<p>Rain.</p>")]
FEED_PASSWORD = "feedpw99"
FEED_TOKEN = "feedtok42"
HOOK_PASSWORD = "hookpw55"
HOOK_TOKEN = "hooktok77"
MOVED_TOKEN = "movedtok31"
SECRETS = (FEED_PASSWORD, FEED_TOKEN, HOOK_PASSWORD, HOOK_TOKEN, MOVED_TOKEN, SECRET)
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ"


def _beat(prepared: Prepared) -> None:
    """The running instance's heartbeat, now, as its service would (it runs every 30 s)."""
    store = Store(f"sqlite:///{prepared.database}")
    try:
        asyncio.run(store.instance_beat("alive", datetime.now(UTC)))
    finally:
        store.close()


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    result = monitor(*args, cwd=elsewhere, env={"COLUMNS": "4000"})
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def _config(folder: Path, sources: list[dict[str, str]], sinks: list[dict[str, object]]) -> Path:
    config = {
        "database_url": f"sqlite:///{folder}/m.db",
        "poll": {"interval": "10m", "allow_private_networks": True, "unhealthy_after": 2},
        "fetch": {"total_timeout": "10s"},
        "first_run": "alert_all",
        "sources": sources,
        "watchlists": [str(LIBYA_WATCHLIST)],
        "sinks": sinks,
    }
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Prepared:
    folder: Path
    config: Path
    database: Path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """A database with one source of each state, pending and dead deliveries, a running
    instance and a dead one.

    Made by the real code paths where they are quick: `monitor once` polls a working feed
    (with a password and a token in its URL), a feed answering 500 and two more feeds, and
    delivers to a sink answering 500 with a one-hour retry (pending) and one without retries
    left (dead); a second `once` without the fourth source disables it (sync from config);
    the instances register through `Store.register_instance`. Set with SQL, because no quick
    code path makes them: the failing source's back-off (made due, so the second `once`
    fails it again, past `unhealthy_after: 2`), 410 Gone (`gone_at`) and a permanent
    redirect (`moved_to`) on two sources, a pending delivery queued 20 minutes ago (a stale
    outbox), and the dead instance's clock (registered 10 minutes ago, never beat since).
    """
    folder = tmp_path_factory.mktemp("status")
    database = folder / "m.db"
    with (
        FeedServer() as feeds,
        WebhookReceiver(default=500) as ops,
        WebhookReceiver(default=500) as pager,
    ):
        feeds.route("/wire.xml", Reply(body=rss(HAFTAR)))
        feeds.route("/flaky.xml", Reply(status=500, body=b"upstream broke"))
        feeds.route("/gone.xml", Reply(body=rss(QUIET)))
        feeds.route("/old.xml", Reply(body=rss(QUIET)))
        wire = f"http://user:{FEED_PASSWORD}@127.0.0.1:{feeds.port}/wire.xml?token={FEED_TOKEN}"
        sources = [
            {"name": "Wire", "url": wire},
            {"name": "Flaky", "url": feeds.url("/flaky.xml")},
            {"name": "Gone", "url": feeds.url("/gone.xml")},
            {"name": "Old", "url": feeds.url("/old.xml")},
        ]
        sinks: list[dict[str, object]] = [
            {
                "name": "ops",
                "url": f"http://hook:{HOOK_PASSWORD}@127.0.0.1:{ops.port}/hook?token={HOOK_TOKEN}",
                "secret": SECRET,
                "retry_schedule": ["1h"],
                "timeout": "5s",
            },
            {
                "name": "pager",
                "url": pager.url,
                "secret": SECRET,
                "retry_schedule": ["0s"],
                "timeout": "5s",
            },
        ]
        config = _config(folder, sources, sinks)
        first = _run(folder, "once", "--config", str(config))
        assert first.returncode == 4, first.stdout + first.stderr
        with sqlite3.connect(database) as con:
            con.execute(
                "UPDATE sources SET next_poll_at = '2000-01-01 00:00:00.000000' "
                "WHERE name = 'Flaky'"
            )
        con.close()
        config = _config(folder, sources[:3], sinks)  # Old is no longer configured
        second = _run(folder, "once", "--config", str(config))
        assert second.returncode == 4, second.stdout + second.stderr
    now = datetime.now(UTC)
    old = (now - timedelta(minutes=20)).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(database) as con:
        con.execute("UPDATE sources SET gone_at = ? WHERE name = 'Gone'", (old,))
        con.execute(
            "UPDATE sources SET moved_to = ? WHERE name = 'Wire'",
            (f"http://127.0.0.1:8080/new.xml?token={MOVED_TOKEN}",),
        )
        (oldest,) = con.execute(
            "SELECT id FROM deliveries WHERE status = 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        con.execute("UPDATE deliveries SET created_at = ? WHERE id = ?", (old, oldest))
    con.close()
    store = Store(f"sqlite:///{database}")
    try:
        store.register_instance(
            owner="alive",
            hostname="news-1",
            pid=4242,
            version="0.1.0",
            config_path=str(config),
            now=now,
        )
        store.register_instance(
            owner="killed",
            hostname="news-2",
            pid=777,
            version="0.0.9",
            config_path=str(config),
            now=now - timedelta(minutes=10),
        )
    finally:
        store.close()
    return Prepared(folder, config, database)


def test_status_json_counts_everything_and_exits_1_when_degraded(prepared: Prepared) -> None:
    _beat(prepared)
    result = _run(prepared.folder, "status", "--json", "--config", str(prepared.config))
    assert result.returncode == 1, result.stdout + result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr, secret
    report = json.loads(result.stdout)
    assert report["state"] == "degraded" and report["exit_code"] == 1
    assert report["problems"] == [
        "unhealthy_sources",
        "gone_sources",
        "dead_letters",
        "outbox_stale",
    ]

    service = report["service"]
    assert service["running"] == 1
    states = {i["owner"]: i["state"] for i in service["instances"]}
    assert states == {"alive": "running", "killed": "dead"}
    alive = next(i for i in service["instances"] if i["owner"] == "alive")
    assert alive["pid"] == 4242 and alive["hostname"] == "news-1"
    assert alive["version"] == "0.1.0" and alive["config_generation"] == 1
    assert alive["reloaded_at"] is None and alive["stopped_at"] is None

    sources = report["sources"]
    assert {k: sources[k] for k in ("total", *SOURCE_STATES, "moved", "unhealthy_after")} == {
        "total": 4,
        "healthy": 1,
        "unhealthy": 1,
        "gone": 1,
        "disabled": 1,
        "moved": 1,
        "unhealthy_after": 2,
    }
    (flaky,) = sources["unhealthy_sources"]
    assert flaky["name"] == "Flaky" and flaky["consecutive_failures"] == 2
    assert flaky["last_error_reason"] == "http_5xx" and flaky["last_status"] == 500
    assert flaky["last_success_at"] is None and flaky["last_polled_at"]
    (gone,) = sources["gone_sources"]
    assert gone["name"] == "Gone" and gone["gone_at"]
    (moved,) = sources["moved_sources"]
    assert moved["name"] == "Wire"
    assert moved["url"].startswith("http://REDACTED@127.0.0.1:")
    assert moved["url"].endswith("/wire.xml?token=REDACTED")
    assert moved["moved_to"].endswith("/new.xml?token=REDACTED")

    # Wire's two entries (two alerts each, one per sink), and one entry each from Gone and Old.
    for window in ("last_hour", "last_day"):
        assert report["activity"][window] == {
            "articles_stored": 4,
            "alerts_queued": 4,
            "delivered": 0,
        }

    outbox = report["outbox"]
    assert outbox["pending"] == 2 and outbox["dead"] == 2
    assert outbox["oldest_pending_age_seconds"] >= 20 * 60
    assert outbox["stale_after_seconds"] == 15 * 60
    assert outbox["sinks"]["ops"]["pending"] == 2 and outbox["sinks"]["ops"]["dead"] == 0
    assert outbox["sinks"]["pager"] == {"pending": 0, "oldest_pending_at": None, "dead": 2}

    errors = report["last_errors"]
    assert [(e["source"], e["reason"], e["status"]) for e in errors["sources"]] == [
        ("Flaky", "http_5xx", 500)
    ]
    assert len(errors["deliveries"]) == 4
    assert {(e["sink"], e["status"], e["reason"]) for e in errors["deliveries"]} == {
        ("ops", "pending", "http_5xx"),
        ("pager", "dead", "http_5xx"),
    }


def test_status_counts_sources_as_sources_health_does(prepared: Prepared) -> None:
    # The SQL that counts states for `status` and /metrics agrees with `SourceRow.health`.
    store = Store(f"sqlite:///{prepared.database}")
    try:
        rows = store.list_sources()
        counted = store.status(datetime.now(UTC), unhealthy_after=2, details=False)
    finally:
        store.close()
    by_health = {state: sum(r.health(2) == state for r in rows) for state in SOURCE_STATES}
    assert counted.health.sources == by_health


def test_status_text_for_a_running_degraded_service(prepared: Prepared) -> None:
    _beat(prepared)
    result = _run(prepared.folder, "status", "--config", str(prepared.config))
    assert result.returncode == 1, result.stdout + result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr, secret
    lines = result.stdout.splitlines()
    assert lines[0] == "service: 1 instance running"
    assert re.fullmatch(
        f"  running: 4242@news-1, version 0.1.0, since {TIME} \\(up [^)]+\\), config generation 1",
        lines[1],
    ), lines[1]
    assert re.fullmatch(
        f"  dead: 777@news-2, version 0.0.9, started {TIME}, last heartbeat {TIME} "
        "\\(1\\d min ago\\) and no stop recorded: killed, or its host is down",
        lines[2],
    ), lines[2]
    assert lines[3] == (
        "sources: 1 healthy, 1 unhealthy (2+ failures in a row), 1 gone, 1 disabled; 1 moved"
    )
    assert re.fullmatch(
        r"  unhealthy Flaky \(http://127\.0\.0\.1:\d+/flaky\.xml\): 2 failures in a row, "
        f"http_5xx: .*500.* \\(last try {TIME}, never polled ok\\)",
        lines[4],
    ), lines[4]
    assert lines[5].startswith("  gone Gone (") and "410 Gone" in lines[5]
    assert re.fullmatch(
        r"  moved Wire \(http://REDACTED@127\.0\.0\.1:\d+/wire\.xml\?token=REDACTED\): "
        r"permanently redirected to http://127\.0\.0\.1:8080/new\.xml\?token=REDACTED; "
        "update its URL in the config",
        lines[6],
    ), lines[6]
    assert lines[7] == "last hour: 4 articles stored, 4 alerts queued, 0 delivered"
    assert lines[8] == "last day: 4 articles stored, 4 alerts queued, 0 delivered"
    assert re.fullmatch(
        f"outbox: 2 pending, the oldest queued 2\\d min ago \\({TIME}\\); 2 dead "
        r"\(`monitor alerts --status dead`, `monitor alerts retry`\)",
        lines[9],
    ), lines[9]
    assert re.fullmatch(r"  ops: 2 pending \(oldest 2\d min\), 0 dead", lines[10]), lines[10]
    assert lines[11] == "  pager: 0 pending, 2 dead"
    assert lines[12] == "last errors:"
    assert re.fullmatch(f"  {TIME} source Flaky: http_5xx: .*", lines[13]), lines[13]
    failures = [line for line in lines if line.startswith("  delivery ")]
    assert len(failures) == 4
    assert lines[-1] == (
        "status: degraded: unhealthy sources, gone sources, dead letters, "
        "a delivery pending for over 15 min"
    )


def test_the_reading_commands_answer_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    # An outside probe (probe71): with a writer holding SQLite's write lock (a long
    # transaction, a backup tool), `status` and `alerts` waited 30 s and failed with
    # "database is locked": their schema check began a writing transaction.
    config = _config(tmp_path, [{"name": "Wire", "url": "https://example.org/rss.xml"}], [])
    assert _run(tmp_path, "db", "upgrade", "--config", str(config)).returncode == 0
    writer = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        for command in ("status", "alerts", "sources"):
            result = _run(tmp_path, command, "--config", str(config))
            assert "locked" not in result.stderr, (command, result.stderr)
            assert result.returncode in (0, 3), (command, result.stdout + result.stderr)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_status_on_a_fresh_database_says_no_service_ever_ran(tmp_path: Path) -> None:
    config = _config(tmp_path, [{"name": "Wire", "url": "https://example.org/rss.xml"}], [])
    created = _run(tmp_path, "db", "upgrade", "--config", str(config))
    assert created.returncode == 0, created.stderr
    text = _run(tmp_path, "status", "--config", str(config))
    assert text.returncode == 3, text.stdout + text.stderr
    assert text.stdout.splitlines()[:2] == [
        "service: no `monitor run` has registered on this database",
        "sources: none stored yet (`monitor run` or `monitor once` stores the configured ones)",
    ]
    assert text.stdout.splitlines()[-1] == (
        "status: not running: no `monitor run` has registered on this database"
    )
    report = json.loads(_run(tmp_path, "status", "--json", "--config", str(config)).stdout)
    assert report["state"] == "not_running" and report["exit_code"] == 3
    assert report["problems"] == [] and report["service"]["instances"] == []
    assert report["sources"]["total"] == 0 and report["outbox"]["pending"] == 0


def test_status_without_a_database_exits_2_and_creates_none(tmp_path: Path) -> None:
    config = _config(tmp_path, [{"name": "Wire", "url": "https://example.org/rss.xml"}], [])
    result = _run(tmp_path, "status", "--config", str(config))
    assert result.returncode == 2, result.stdout + result.stderr
    database = tmp_path / "m.db"
    assert result.stderr.splitlines() == [
        f"error: no database at {database}: this command needs an existing one; check "
        "database_url (a relative path is relative to the config file), or run `monitor once` "
        "or `monitor db upgrade` to create it"
    ]
    assert result.stdout == ""
    assert not database.exists()


def test_a_service_killed_a_moment_ago_is_dead_when_its_sqlite_lock_is_free(
    tmp_path: Path,
) -> None:
    # kill -9 leaves a fresh heartbeat; on SQLite the free instance lock proves no service
    # runs, so `status` agrees with `monitor reload` at once rather than after 90 s.
    import socket

    config = _config(tmp_path, [{"name": "Wire", "url": "https://example.org/rss.xml"}], [])
    assert _run(tmp_path, "db", "upgrade", "--config", str(config)).returncode == 0
    store = Store(f"sqlite:///{tmp_path}/m.db")
    try:
        store.register_instance(
            owner="here:1",
            hostname=socket.gethostname(),
            pid=1,
            version="0.1.0",
            config_path=str(config),
            now=datetime.now(UTC),
        )
        free = json.loads(_run(tmp_path, "status", "--json", "--config", str(config)).stdout)
        assert free["state"] == "not_running"
        assert [i["state"] for i in free["service"]["instances"]] == ["dead"]
        with store.instance_lock():  # a live service holds it
            held = _run(tmp_path, "status", "--json", "--config", str(config))
        assert json.loads(held.stdout)["state"] == "ok", held.stdout
    finally:
        store.close()
