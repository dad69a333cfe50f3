"""`monitor alerts retry ID` takes the short id `monitor alerts` shows (any unique prefix) and
refuses an unknown or ambiguous one in one line; bad option values are usage errors; and
`monitor --version` works. Subprocesses, started in another folder than their config."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from monitor import __version__
from tests.cli.test_check_command import monitor
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import Reply as Answer
from tests.support.webhook_receiver import WebhookReceiver

ENTRIES = [
    ("a-1", "Haftar's forces near Tripoli", "<p>Fighting south of Tripoli.</p>"),
    ("a-2", "Haftar meets envoys", "<p>Talks in Benghazi.</p>"),
]
FIRST = "aaaa1111-0000-4000-8000-000000000001"
SECOND = "aaaa2222-0000-4000-8000-000000000002"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    result = monitor(*args, cwd=elsewhere)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def _flat(text: str) -> str:
    """typer's usage error box as one line of words."""
    return " ".join(text.replace("│", " ").split())


def _two_dead_deliveries(tmp_path: Path) -> Path:
    """A database with two dead deliveries whose ids share the prefix ``aaaa``."""
    with FeedServer() as feeds, WebhookReceiver(default=503) as receiver:
        feeds.route("/f.xml", Reply(body=rss(ENTRIES)))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["1h"],
            first_run="alert_all",
        )
        once = _run(tmp_path, "once", "--config", str(config))
    assert once.returncode == 4, once.stdout + once.stderr
    with sqlite3.connect(tmp_path / "m.db") as con:
        ids = [row[0] for row in con.execute("SELECT id FROM deliveries ORDER BY created_at")]
        assert len(ids) == 2
        for old, new in zip(ids, (FIRST, SECOND), strict=True):
            # Dead as after the last retry (a schedule cannot be empty), ids made to share
            # a prefix.
            con.execute(
                "UPDATE deliveries SET id = ?, status = 'dead' WHERE id = ?",
                (new, old),
            )
    con.close()
    return config


def test_retry_takes_the_short_id_and_refuses_unknown_or_ambiguous_ones(tmp_path: Path) -> None:
    config = _two_dead_deliveries(tmp_path)
    args = ("--config", str(config))
    table = _run(tmp_path, "alerts", *args)
    assert FIRST[:8] in table.stdout and SECOND[:8] in table.stdout

    ambiguous = _run(tmp_path, "alerts", "retry", "aaaa", *args)
    assert ambiguous.returncode == 1
    assert ambiguous.stderr.splitlines() == [
        "error: the id 'aaaa' is ambiguous: it starts aaaa1111-000, aaaa2222-000; give more of it"
    ]
    unknown = _run(tmp_path, "alerts", "retry", "ffff0000", *args)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines() == [
        "error: no delivery has the id 'ffff0000'; `monitor alerts` lists them"
    ]
    wildcard = _run(tmp_path, "alerts", "retry", "%", *args)
    assert wildcard.returncode == 1 and "no delivery has the id '%'" in wildcard.stderr

    retried = _run(tmp_path, "alerts", "retry", FIRST[:8].upper(), *args)
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.splitlines() == ["1 delivery re-queued"]
    listed = json.loads(_run(tmp_path, "alerts", "--json", *args).stdout)
    states = {row["id"]: row["status"] for row in listed["deliveries"]}
    assert states == {FIRST: "pending", SECOND: "dead"}

    everything = _run(tmp_path, "alerts", "retry", *args)
    assert everything.stdout.splitlines() == ["1 delivery re-queued"]
    none_left = _run(tmp_path, "alerts", "retry", *args)
    assert none_left.stdout.splitlines() == ["0 deliveries re-queued"]

    with sqlite3.connect(tmp_path / "m.db") as con:
        con.execute("UPDATE deliveries SET status = 'delivered' WHERE id = ?", (SECOND,))
    con.close()
    delivered = _run(tmp_path, "alerts", "retry", SECOND, *args)
    assert delivered.returncode == 1
    assert delivered.stderr.splitlines() == [
        "error: delivery aaaa2222 was delivered already: nothing to re-queue"
    ]


def test_an_alert_held_by_its_receivers_retry_after_says_so(tmp_path: Path) -> None:
    # An outside probe saw alerts held by a receiver's Retry-After listed pending with a
    # later "next try" and no word why: the hold moves the untried ones, which have no
    # error of their own.
    with FeedServer() as feeds, WebhookReceiver(default=Answer(429, retry_after=600)) as hook:
        feeds.route("/f.xml", Reply(body=rss(ENTRIES)))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=hook.url,
            first_run="alert_all",
        )
        once = _run(tmp_path, "once", "--config", str(config))
        assert len(hook.requests) == 1, once.stdout + once.stderr  # the sink waits after one
    listed = json.loads(_run(tmp_path, "alerts", "--json", "--config", str(config)).stdout)
    rows = sorted(listed["deliveries"], key=lambda d: d["attempts"])
    assert [(d["status"], d["attempts"], d["held"]) for d in rows] == [
        ("pending", 0, True),
        ("pending", 1, False),
    ]
    assert rows[1]["last_error_reason"] == "rate_limited" and rows[0]["last_error"] is None
    table = _run(tmp_path, "alerts", "--config", str(config)).stdout
    assert "held: the sink's receiver asked to wait" in _flat(table), table


def test_status_filter_takes_only_the_known_states(tmp_path: Path) -> None:
    config = _two_dead_deliveries(tmp_path)
    bogus = _run(tmp_path, "alerts", "--status", "bogus", "--config", str(config))
    assert bogus.returncode == 2
    assert "'bogus' is not one of 'pending', 'delivered', 'dead'" in _flat(bogus.stderr)
    dead = _run(tmp_path, "alerts", "--status", "dead", "--json", "--config", str(config))
    assert dead.returncode == 0, dead.stderr
    assert len(json.loads(dead.stdout)["deliveries"]) == 2


def test_an_unknown_log_level_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "--log-level", "verbose", "check", "--config", "x.yaml")
    assert result.returncode == 2
    assert "'verbose' is not one of 'debug', 'info', 'warning', 'error'" in _flat(result.stderr)
    upper = _run(tmp_path, "--log-level", "DEBUG", "--help")
    assert upper.returncode == 0, upper.stderr


def test_version_is_printed(tmp_path: Path) -> None:
    result = _run(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"news-monitor {__version__}\n"


def test_drop_gives_up_on_a_delivery_for_good_and_retry_takes_it_back(tmp_path: Path) -> None:
    config = _two_dead_deliveries(tmp_path)
    args = ("--config", str(config))
    with sqlite3.connect(tmp_path / "m.db") as con:  # one waits for a sink that is gone
        con.execute("UPDATE deliveries SET status = 'pending' WHERE id = ?", (SECOND,))
    con.close()

    neither = _run(tmp_path, "alerts", "drop", *args)
    assert (
        neither.returncode == 2
        and "give one delivery id, --all-dead or --sink NAME" in neither.stderr
    )
    dropped = _run(tmp_path, "alerts", "drop", SECOND[:8], *args)
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.splitlines() == ["1 delivery dropped"]
    again = _run(tmp_path, "alerts", "drop", SECOND[:8], *args)
    assert again.returncode == 0 and again.stdout.splitlines() == [
        "delivery aaaa2222 was dropped already"
    ]
    dead = _run(tmp_path, "alerts", "drop", "--all-dead", *args)
    assert dead.stdout.splitlines() == ["1 delivery dropped"]
    listed = json.loads(_run(tmp_path, "alerts", "--json", *args).stdout)
    assert {row["id"]: row["status"] for row in listed["deliveries"]} == {
        FIRST: "dropped",
        SECOND: "dropped",
    }
    only = json.loads(_run(tmp_path, "alerts", "--status", "dropped", "--json", *args).stdout)
    assert len(only["deliveries"]) == 2
    # Nothing pending or dead is left: `once` has nothing to send and exits 0 for them.
    status = json.loads(_run(tmp_path, "status", "--json", *args).stdout)
    assert status["outbox"]["pending"] == 0 and status["outbox"]["dead"] == 0
    back = _run(tmp_path, "alerts", "retry", FIRST[:8], *args)
    assert back.stdout.splitlines() == ["1 delivery re-queued"]


def test_a_delivery_being_sent_is_not_dropped(tmp_path: Path) -> None:
    # An outside probe (probe73): `drop` said "1 delivery dropped" while a send of it was in
    # progress; the send's outcome overwrote the drop and it was retried twice and died.
    config = _two_dead_deliveries(tmp_path)
    args = ("--config", str(config))
    with sqlite3.connect(tmp_path / "m.db") as con:  # an instance holds it: sending now
        con.execute(
            "UPDATE deliveries SET status = 'pending', lease_owner = 'other', "
            "lease_expires_at = '2999-01-01 00:00:00.000000' WHERE id = ?",
            (SECOND,),
        )
    con.close()
    refused = _run(tmp_path, "alerts", "drop", SECOND[:8], *args)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "delivery aaaa2222 is being sent now; it cannot be taken back" in refused.stderr
    listed = json.loads(_run(tmp_path, "alerts", "--json", *args).stdout)
    assert {row["id"]: row["status"] for row in listed["deliveries"]}[SECOND] == "pending"
    # Its lease run out (a send longer than the lease), it is dropped; the send's failure,
    # recorded after, leaves it dropped.
    from datetime import UTC, datetime

    from monitor.db.deliveries import mark_failed
    from monitor.db.engine import open_engine

    with sqlite3.connect(tmp_path / "m.db") as con:
        con.execute("UPDATE deliveries SET lease_expires_at = '2000-01-01 00:00:00.000000'")
    con.close()
    assert _run(tmp_path, "alerts", "drop", SECOND[:8], *args).returncode == 0
    engine = open_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.begin() as connection:
        mark_failed(
            connection, SECOND, now=datetime.now(UTC), next_attempt_at=datetime.now(UTC),
            reason="timeout", error="timed out", status=None,
        )  # fmt: skip
    engine.dispose()
    listed = json.loads(_run(tmp_path, "alerts", "--json", *args).stdout)
    assert {row["id"]: row["status"] for row in listed["deliveries"]}[SECOND] == "dropped"


def test_drop_and_retry_take_the_config_given_before_them(tmp_path: Path) -> None:
    # `monitor alerts --config X drop|retry` acts on X's database, not on the config the
    # folder would give (here another deployment's, with its own database).
    config = _two_dead_deliveries(tmp_path)
    other = tmp_path / "elsewhere" / "config"
    other.mkdir(parents=True)
    write_config(other, database_url=f"sqlite:///{tmp_path}/other.db", sources=[], sink_url=None)
    dropped = _run(tmp_path, "alerts", "--config", str(config), "drop", "--all-dead")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.splitlines() == ["2 deliveries dropped"]
    back = _run(tmp_path, "alerts", "-c", str(config), "retry", FIRST[:8])
    assert back.stdout.splitlines() == ["1 delivery re-queued"], back.stderr
    with sqlite3.connect(tmp_path / "m.db") as con:
        states = dict(con.execute("SELECT id, status FROM deliveries"))
    con.close()
    assert states == {FIRST: "pending", SECOND: "dropped"}
    assert not (tmp_path / "other.db").exists()


def test_retry_sink_makes_its_dead_and_waiting_deliveries_due_now(tmp_path: Path) -> None:
    # After fixing a sink (cron users have no reload): its dead delivery and the one waiting
    # an hour for a retry are due now with their schedule started over; another sink's and
    # a delivered one are left alone; a delivery id with --sink is a usage error.
    config = _two_dead_deliveries(tmp_path)
    with sqlite3.connect(tmp_path / "m.db") as con:
        con.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 1, "
            "next_attempt_at = '2999-01-01 00:00:00.000000' WHERE id = ?",
            (SECOND,),
        )
        other = "bbbb3333-0000-4000-8000-000000000003"
        con.execute(
            "INSERT INTO deliveries (id, match_id, sink, status, attempts, next_attempt_at, "
            "created_at) SELECT ?, match_id, 'other', 'dead', 1, next_attempt_at, created_at "
            "FROM deliveries WHERE id = ?",
            (other, FIRST),
        )
    con.close()
    args = ("--config", str(config))

    both = _run(tmp_path, "alerts", "retry", "--sink", "ops", FIRST[:8], *args)
    assert both.returncode == 2, both.stdout + both.stderr
    retried = _run(tmp_path, "alerts", "retry", "--sink", "ops", *args)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert retried.stdout.strip() == "2 deliveries re-queued"

    with sqlite3.connect(tmp_path / "m.db") as con:
        rows = dict(
            (row[0], row[1:])
            for row in con.execute("SELECT id, status, attempts, next_attempt_at FROM deliveries")
        )
    con.close()
    assert rows[FIRST][:2] == rows[SECOND][:2] == ("pending", 0)
    assert rows[SECOND][2] < "2999"
    assert rows[other][0] == "dead"
    # A sink name the config does not have is a mistake, not "0 deliveries re-queued".
    typo = _run(tmp_path, "alerts", "retry", "--sink", "opz", *args)
    assert typo.returncode == 2 and "no sink of that name" in typo.stderr
    assert "its sinks: ops" in typo.stderr


def test_the_footer_says_what_a_filtered_or_cut_list_shows(tmp_path: Path) -> None:
    # The counts under the table are of every delivery; a filtered or cut list says what it
    # shows first, so "dead: 1, delivered: 1" under a list of pending ones misleads no one.
    config = _two_dead_deliveries(tmp_path)
    args = ("--config", str(config))
    with sqlite3.connect(tmp_path / "m.db") as con:
        con.execute("UPDATE deliveries SET status = 'delivered' WHERE id = ?", (SECOND,))
    con.close()

    def footer(*more: str) -> str:
        return _run(tmp_path, "alerts", *more, *args).stdout.strip().splitlines()[-1]

    assert footer() == "dead: 1, delivered: 1"
    assert footer("--status", "dead") == "shown 1 dead; all deliveries: dead: 1, delivered: 1"
    assert footer("--status", "pending") == (
        "shown 0 pending; all deliveries: dead: 1, delivered: 1"
    )
    assert footer("--limit", "1") == (
        "shown 1 (the newest 1: --limit); all deliveries: dead: 1, delivered: 1"
    )


def test_a_title_too_long_for_its_column_ends_in_an_ellipsis(tmp_path: Path) -> None:
    long = "Haftar's forces near Tripoli as talks on the Berlin process resume in Geneva today"
    with FeedServer() as feeds, WebhookReceiver(default=503) as receiver:
        feeds.route("/f.xml", Reply(body=rss([("l-1", long, "<p>Tripoli.</p>")])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["1h"],
            first_run="alert_all",
        )
        _run(tmp_path, "once", "--config", str(config))
    wide = monitor("alerts", "--config", str(config), env={"COLUMNS": "250"}, cwd=tmp_path)
    assert wide.returncode == 0, wide.stderr
    assert long[:59] + "\u2026" in wide.stdout, wide.stdout


def test_no_deliveries_is_one_line_without_an_empty_table(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([("q-1", "Weather in Oslo", "<p>Rain.</p>")])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        assert _run(tmp_path, "once", "--config", str(config)).returncode == 0
    shown = _run(tmp_path, "alerts", "--config", str(config))
    assert shown.returncode == 0 and shown.stdout == "no deliveries yet\n", shown.stdout
