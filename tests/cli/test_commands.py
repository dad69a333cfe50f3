"""The other commands as a user runs them: demo, once, sources, alerts, db upgrade."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import yaml

from monitor.alerts import verify
from tests.cli.test_check_command import monitor
from tests.integration.helpers import SECRET, rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

HAFTAR = ("a-1", "Haftar's forces near Tripoli", "<p>Fighting south of Tripoli.</p>")


def test_demo_runs_offline_and_prints_alerts(tmp_path: Path) -> None:
    result = monitor("demo", cwd=tmp_path)  # seeds are found beside the package
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alerts delivered" in result.stdout
    assert "**Haftar**" in result.stdout  # highlighted excerpts (marked when not a terminal)
    assert "with a valid signature" in result.stdout


def test_demo_names_a_seeds_folder_without_xml_feeds(tmp_path: Path) -> None:
    # A fresh-clone walkthrough: feeds named *.rss were skipped, "0 feeds polled", exit 1.
    (tmp_path / "seeds" / "feeds").mkdir(parents=True)
    (tmp_path / "seeds" / "feeds" / "wire.rss").write_text("<rss/>", encoding="utf-8")
    result = monitor("demo", "--seeds", str(tmp_path / "seeds"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'seeds' / 'feeds'}: no *.xml feed in it (it holds wire.rss: "
        "name the feeds *.xml)"
    )


def test_once_sources_and_alerts(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver(script=[503]) as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
        feeds.route("/gone.xml", Reply(status=404))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml")), ("Gone", feeds.url("/gone.xml"))],
            sink_url=receiver.url,
            retry_schedule=["1h"],
            first_run="alert_all",
        )
        once = monitor("once", "--config", str(config))
        # An alert waits for its retry (4 wins over 3, a source that failed).
        assert once.returncode == 4, once.stderr
        assert "1 new" in once.stdout and "Gone" in once.stdout

        listed = monitor("sources", "--json", "--config", str(config))
        rows = {r["name"]: r for r in json.loads(listed.stdout)}
        assert rows["Wire"]["last_status"] == 200 and rows["Wire"]["consecutive_failures"] == 0
        assert rows["Gone"]["last_error_reason"] == "http_4xx"
        assert rows["Gone"]["consecutive_failures"] == 1

        alerts = json.loads(monitor("alerts", "--json", "--config", str(config)).stdout)
        (pending,) = alerts["deliveries"]
        assert pending["status"] == "pending" and pending["attempts"] == 1
        assert pending["last_error_reason"] == "http_5xx"
        table = monitor("alerts", "--config", str(config))
        assert "pending" in table.stdout

        # A dead delivery can be re-queued.
        con = sqlite3.connect(tmp_path / "m.db")
        con.execute("UPDATE deliveries SET status='dead'")
        con.commit()
        con.close()
        retried = monitor("alerts", "retry", "--config", str(config))
        assert "1 delivery re-queued" in retried.stdout
        again = monitor("once", "--config", str(config))
        assert "1 delivered" in again.stdout, again.stdout
        assert again.returncode == 3, again.stderr  # Gone waits out its back-off
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert ids == {pending["id"]}
        assert all(verify(SECRET, r.headers, r.body) for r in receiver.requests)


def test_once_says_why_nothing_was_polled(tmp_path: Path) -> None:
    # Every source failed and waits out its back-off: a second `once` polls nothing, and
    # says so (it used to print nothing at all but the alert count).
    with FeedServer() as feeds:
        feeds.route("/gone.xml", Reply(status=404))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Gone", feeds.url("/gone.xml"))],
            sink_url=None,
        )
        first = monitor("once", "--config", str(config))
        assert first.returncode == 3 and "Gone" in first.stdout, first.stderr
        second = monitor("once", "--config", str(config))
    assert second.returncode == 3, second.stderr
    assert "no source was polled: 1 enabled source is held back" in second.stderr
    assert "monitor sources" in second.stderr


def test_unusable_urls_in_an_opml_file_are_refused_by_check_and_once_alike(
    tmp_path: Path,
) -> None:
    # Written in the config file, such URLs are refused by the settings
    # (tests/cli/test_config_verdicts.py); an OPML file's outlines get the same verdict. (The
    # fetch still records bad_url for one that reaches it: tests/integration/test_fetch.py.)
    (tmp_path / "list.opml").write_text(
        '<opml version="2.0"><body>'
        '<outline text="Broken IPv6" xmlUrl="http://u:pw@[::1/feed.xml"/>'
        '<outline text="Bad port" xmlUrl="http://127.0.0.1:99999/feed.xml"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path, database_url=f"sqlite:///{tmp_path}/m.db", sources=[], sink_url=None
    )
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["sources"] = [{"opml": "list.opml"}]
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    line = config.read_text(encoding="utf-8").splitlines().index("- opml: list.opml") + 1
    expected = [
        f"error: {config}:{line}: sources[0].opml: {tmp_path / 'list.opml'}: outline '{name}' has "
        f"xmlUrl='{url}'; a feed URL must be an absolute http:// or https:// URL with a valid "
        "host and port"
        for name, url in (
            ("Broken IPv6", "http://REDACTED@[::1/feed.xml"),
            ("Bad port", "http://127.0.0.1:99999/feed.xml"),
        )
    ]
    for command, code in (("check", 1), ("once", 2)):
        result = monitor(command, "--config", str(config))
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr and "pw@" not in result.stderr
        assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == (
            expected
        )
    assert not (tmp_path / "m.db").exists()


def test_old_schema_is_refused_until_db_upgrade(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, database_url=f"sqlite:///{tmp_path}/m.db", sources=[], sink_url=None
    )
    created = monitor("db", "upgrade", "--config", str(config))
    assert created.returncode == 0
    # Said as a creation, naming the file: an operator upgrading expected one there (probe70).
    assert created.stdout.startswith(
        f"database created at revision 0007 ({tmp_path / 'm.db'}: there was no database file); "
        "if you meant to upgrade an existing database, database_url"
    )
    same = monitor("db", "upgrade", "--config", str(config))
    assert "already at revision 0007" in same.stdout
    con = sqlite3.connect(tmp_path / "m.db")
    con.execute("UPDATE alembic_version SET version_num='0000'")
    con.commit()
    con.close()
    refused = monitor("once", "--config", str(config))
    assert refused.returncode != 0
    assert "monitor db upgrade" in refused.stderr
    unknown = monitor("db", "upgrade", "--config", str(config))
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert "revision 0000" in unknown.stderr


def test_db_upgrade_refuses_while_a_version_from_before_the_lock_rename_runs(
    tmp_path: Path,
) -> None:
    # An outside probe (probe82): a service of a version from before 2026-12-03 locks
    # `<name>.lock`; `db upgrade` went ahead under it, and the articles it stored afterwards
    # (without their sightings) failed every later poll of their feeds.
    import fcntl

    database = tmp_path / "monitor.db"
    config = write_config(tmp_path, database_url=f"sqlite:///{database}", sources=[], sink_url=None)
    assert monitor("db", "upgrade", "--config", str(config)).returncode == 0
    with open(tmp_path / "monitor.lock", "w") as old_lock:
        fcntl.flock(old_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as those versions held it
        refused = monitor("db", "upgrade", "--config", str(config))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "a version from before 2026-12-03" in refused.stderr
    assert "stop every instance before upgrading" in refused.stderr
    # Let go of (the old service stopped), the upgrade goes on.
    assert monitor("db", "upgrade", "--config", str(config)).returncode == 0


def test_db_upgrade_refuses_while_an_instance_runs_on_the_database(
    tmp_path: Path, database_url: str
) -> None:
    # An old service left running through an upgrade fails on the tables the migration
    # replaced (`no such table: story_bands`), and `db upgrade` said nothing.
    from datetime import UTC, datetime

    from monitor.db.store import Store

    config = write_config(tmp_path, database_url=database_url, sources=[], sink_url=None)
    env = {"MONITOR_DATABASE_URL": database_url}
    assert monitor("db", "upgrade", "--config", str(config), env=env).returncode == 0
    store = Store(database_url)
    try:
        if database_url.startswith("sqlite"):
            running = store.instance_lock()  # what `monitor run` and `monitor once` hold
            running.__enter__()
        else:
            store.register_instance(
                owner="old-service", hostname="db-host", pid=4242, version="0.0.9",
                config_path=None, now=datetime.now(UTC),
            )  # fmt: skip
        refused = monitor("db", "upgrade", "--config", str(config), env=env)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "stop every instance before upgrading" in refused.stderr
        if database_url.startswith("sqlite"):
            assert f"a monitor instance (pid {os.getpid()}) is using" in refused.stderr
            running.__exit__(None, None, None)
            # A killed one's row, its lock gone with it: the lock is the truth on SQLite (it
            # counted as running for 90 s: probe70).
            store.register_instance(
                owner="killed", hostname="db-host", pid=4243, version="0.0.9",
                config_path=None, now=datetime.now(UTC),
            )  # fmt: skip
        else:
            assert "1 monitor instance running on" in refused.stderr
            assert "4242@db-host" in refused.stderr
            # A `monitor run` holding the instances' lock is named too (an outside probe's
            # refusal named none, where these docs say it names them).
            with store.instance_lock():
                refused = monitor("db", "upgrade", "--config", str(config), env=env)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert "(running: 4242@db-host): stop every instance" in refused.stderr
            store.instance_stopped("old-service", datetime.now(UTC))
            # A `monitor once` registers no row: the lock it holds says it runs (probe70).
            with store.instance_lock():
                refused = monitor("db", "upgrade", "--config", str(config), env=env)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert "a monitor instance (`monitor run` or `monitor once`) or another" in (
                refused.stderr
            )
            assert "stop every instance before upgrading" in refused.stderr
            # And none starts while an upgrade holds it.
            from monitor.db.engine import pg_instance_lock

            with pg_instance_lock(store.database.engine, exclusive=True) as taken:
                assert taken
                once = monitor("once", "--config", str(config), env=env)
            assert once.returncode == 2, once.stdout + once.stderr
            assert "is being upgraded (`monitor db upgrade` is running)" in once.stderr
        allowed = monitor("db", "upgrade", "--config", str(config), env=env)
        assert allowed.returncode == 0, allowed.stderr
        assert "already at revision" in allowed.stdout
    finally:
        store.close()
