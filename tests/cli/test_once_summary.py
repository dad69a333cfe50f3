"""`monitor once` tells the truth, for cron: its exit code (0 all good, 3 a source failed or
is held back after failing, 4 an alert is not delivered) and a summary that counts every
enabled source and every alert. Run as a user runs it: a subprocess started in another
folder than its config, loopback feeds and receivers."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.cli.test_check_command import monitor
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

HAFTAR = ("a-1", "Haftar's forces near Tripoli", "<p>Fighting south of Tripoli.</p>")
QUIET = ("q-1", "Weather in Oslo", "<p>Rain.</p>")
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ"


def _once(config: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    result = monitor("once", "--config", str(config), *args, cwd=elsewhere)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.splitlines()


def test_all_good_exits_0_with_singular_counts(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        result = _once(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _lines(result) == [
        "ok Wire: 1 entry, 1 new, 1 match, 1 alert queued",
        "sources: 1 enabled: 1 polled ok, 0 not modified, 0 failed, 0 skipped; 0 disabled",
        "alerts: 1 delivered, 0 retrying, 0 dead",
    ]
    assert "loaded 1 source (1 enabled), 1 watchlist and 1 enabled sink" in result.stderr


def test_plural_counts(tmp_path: Path) -> None:
    second = ("a-2", "Haftar again", "<p>Tripoli.</p>")
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR, second, QUIET])))
        feeds.route("/e.xml", Reply(body=rss([])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml")), ("Empty", feeds.url("/e.xml"))],
            sink_url=None,
            first_run="alert_all",
        )
        result = _once(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "ok Wire: 3 entries, 3 new, 2 matches, 0 alerts queued; "
        "not alerted: 2 in watchlists no enabled sink takes"
    ) in _lines(result)
    assert "ok Empty: 0 entries, 0 new, 0 matches, 0 alerts queued" in _lines(result)
    assert (
        "sources: 2 enabled: 2 polled ok, 0 not modified, 0 failed, 0 skipped; 0 disabled"
        in _lines(result)
    )
    assert "loaded 2 sources (2 enabled), 1 watchlist and 0 enabled sinks" in result.stderr


def test_matches_that_alert_nobody_say_why(tmp_path: Path) -> None:
    """ "2 matches, 0 alerts queued" alone leaves an operator guessing: a first poll that
    stores without alerting, an entry older than alert_max_age and a watchlist no sink takes
    are each named, with how many articles they held back."""
    second = ("a-2", "Haftar again", "<p>Tripoli.</p>")
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR, second, QUIET])))
        first = tmp_path / "first"
        first.mkdir()
        config = write_config(
            first,
            database_url=f"sqlite:///{first}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
        )
        result = _once(config, first, "--json")
        old = tmp_path / "old"
        old.mkdir()
        aged = write_config(
            old,
            database_url=f"sqlite:///{old}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            extra={"alert_max_age": "1d"},
        )
        aged_result = _once(aged, old)
        capped = tmp_path / "capped"
        capped.mkdir()
        flood = write_config(
            capped,
            database_url=f"sqlite:///{capped}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
            first_run="alert_all",
            extra={"alert_max_per_poll": 1},
        )
        capped_result = _once(flood, capped)
    assert result.returncode == 0, result.stdout + result.stderr
    (poll,) = json.loads(result.stdout)["polls"]
    assert (poll["matches"], poll["deliveries"]) == (2, 0)
    assert (poll["held_first_run"], poll["held_too_old"], poll["unrouted"]) == (2, 0, 0)
    assert aged_result.returncode == 0, aged_result.stdout + aged_result.stderr
    assert (
        "ok Wire: 3 entries, 3 new, 2 matches, 0 alerts queued; "
        "not alerted: 2 older than alert_max_age"
    ) in _lines(aged_result)
    assert receiver.requests == []
    assert capped_result.returncode == 0, capped_result.stdout + capped_result.stderr
    assert (
        "ok Wire: 3 entries, 3 new, 2 matches, 0 alerts queued; "
        "not alerted: 1 over alert_max_per_poll (the oldest), "
        "1 in watchlists no enabled sink takes"
    ) in _lines(capped_result)
    assert "alert_max_per_poll: 1" in capped_result.stderr


def test_every_source_failing_exits_3_and_a_held_back_source_is_named(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/gone.xml", Reply(status=404))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Gone", feeds.url("/gone.xml"))],
            sink_url=None,
        )
        first = _once(config, tmp_path)
        second = _once(config, tmp_path)
        third = _once(config, tmp_path, "--json")
    assert first.returncode == 3, first.stdout + first.stderr
    error, sources, alerts = _lines(first)
    assert error.startswith("error Gone: ") and "404" in error
    assert sources == (
        "sources: 1 enabled: 0 polled ok, 0 not modified, 1 failed, 0 skipped; 0 disabled"
    )
    assert alerts == "alerts: 0 delivered, 0 retrying, 0 dead"

    # Held back by its back-off: still failing, still exit 3, and the summary says until when.
    assert second.returncode == 3, second.stdout + second.stderr
    skipped, sources, alerts = _lines(second)
    assert re.fullmatch(
        f"skipped Gone: in error back-off until {TIME}, after 1 failure \\(http_4xx\\)", skipped
    ), skipped
    assert sources == (
        "sources: 1 enabled: 0 polled ok, 0 not modified, 0 failed, 1 skipped; 0 disabled"
    )
    assert re.search(
        f"^no source was polled: 1 enabled source is held back, the first until {TIME}; "
        "`monitor sources` shows why$",
        second.stderr,
        re.MULTILINE,
    ), second.stderr

    assert third.returncode == 3
    report = json.loads(third.stdout)
    assert report["exit_code"] == 3
    assert report["sources"] == {
        "enabled": 1,
        "ok": 0,
        "not_modified": 0,
        "failed": 0,
        "skipped": 1,
        "skipped_error_backoff": 1,
        "skipped_retry_after": 0,
        "skipped_busy": 0,
        "skipped_stopped": 0,
        "skipped_lease_expired": 0,
        "disabled": 0,
    }
    (held,) = report["skipped"]
    assert held["source"] == "Gone" and held["why"] == "error_backoff" and held["until"]
    assert held["consecutive_failures"] == 1 and held["last_error_reason"] == "http_4xx"


def test_feeds_whose_lease_ran_out_waiting_for_a_slow_host_are_named_so_and_warned_once(
    tmp_path: Path,
) -> None:
    # Six feeds of one publisher that never answers in time, one place for the host, a 2 s
    # lease: the five that waited behind the first are let go when their lease runs out.
    # `once` said they were "held or polled by another instance" (there was none), and the
    # log had a warning per feed (36 a minute with 200 such feeds): one per host and minute
    # now, the rest at debug.
    with FeedServer() as feeds:
        for n in range(6):
            feeds.route(f"/f{n}.xml", Reply(body=rss([HAFTAR]), delay=3.0))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[(f"F{n}", feeds.url(f"/f{n}.xml")) for n in range(6)],
            sink_url=None,
            extra={
                "poll": {
                    "interval": "10m",
                    "allow_private_networks": True,
                    "per_host": 1,
                    "lease": "2s",
                    "workers": 0,
                },
                "fetch": {"total_timeout": "1s"},
            },
        )
        text = monitor("--log-level", "debug", "once", "--config", str(config), cwd=tmp_path)
        report = json.loads(_once(config, tmp_path, "--json").stdout)
    skipped = [line for line in _lines(text) if line.startswith("skipped ")]
    assert len(skipped) == 5, text.stdout
    for line in skipped:
        assert line.endswith(
            ": not polled: its lease (poll.lease) ran out while it waited for a place of its "
            "host (poll.per_host: that publisher answers slowly); the next run polls it"
        ), line
    expired = [line for line in text.stderr.splitlines() if "its lease ran out while" in line]
    assert [line.split()[2] for line in expired] == ["WARNING"] + ["DEBUG"] * 4, expired
    assert "(4 other sources of this host since the last such line" not in expired[0]
    # The next run: the feed that failed waits out its back-off, the next one in line is
    # polled (and fails), the four behind it wait too long again.
    assert report["sources"]["skipped_lease_expired"] == 4, report["sources"]
    assert report["sources"]["skipped_error_backoff"] == 1, report["sources"]
    assert (
        sorted(held["why"] for held in report["skipped"])
        == ["error_backoff"] + ["lease_expired"] * 4
    )


def test_a_server_retry_after_is_named_as_such(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/busy.xml", Reply(status=429, headers={"Retry-After": "7200"}))
        feeds.route("/f.xml", Reply(body=rss([QUIET])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Busy", feeds.url("/busy.xml")), ("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        first = _once(config, tmp_path)
        second = _once(config, tmp_path)
    assert first.returncode == 3, first.stdout + first.stderr
    assert second.returncode == 3, second.stdout + second.stderr
    lines = _lines(second)
    assert "ok Wire: 1 entry, 0 new, 0 matches, 0 alerts queued" in lines
    (skipped,) = [line for line in lines if line.startswith("skipped ")]
    assert re.fullmatch(
        f"skipped Busy: its server's Retry-After holds it until {TIME}, "
        "after 1 failure \\(rate_limited\\)",
        skipped,
    ), skipped
    assert (
        "sources: 2 enabled: 1 polled ok, 0 not modified, 0 failed, 1 skipped; 0 disabled" in lines
    )
    assert "no source was polled" not in second.stderr


def test_an_alert_waiting_for_a_retry_exits_4_and_says_when(tmp_path: Path) -> None:
    with FeedServer() as feeds, WebhookReceiver(default=503) as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["1h"],
            first_run="alert_all",
        )
        first = _once(config, tmp_path)
        # Nothing is due in the second run: the alert still waits, and cron hears it.
        second = _once(config, tmp_path)
        report = json.loads(_once(config, tmp_path, "--json").stdout)
    assert first.returncode == 4, first.stdout + first.stderr
    assert re.fullmatch(
        f"alerts: 0 delivered, 1 retrying \\(next attempt {TIME}\\), 0 dead", _lines(first)[-1]
    ), first.stdout
    retry = [line for line in first.stderr.splitlines() if "failed (http_5xx, attempt 1)" in line]
    assert retry, first.stderr
    assert "Haftar's forces near Tripoli" in retry[0], retry[0]
    assert re.search(f"; next try at {TIME}$", retry[0]), retry[0]
    assert second.returncode == 4, second.stdout + second.stderr
    assert re.fullmatch(
        f"alerts: 0 delivered, 1 retrying \\(next attempt {TIME}\\), 0 dead", _lines(second)[-1]
    ), second.stdout
    assert report["exit_code"] == 4
    assert report["alerts"]["retrying"] == 1 and report["alerts"]["next_attempt_at"]
    assert report["alerts"]["delivered"] == report["alerts"]["dead"] == 0


def test_a_retry_that_fell_due_during_the_pass_is_not_given_a_time_already_past(
    tmp_path: Path,
) -> None:
    # An outside soak test (probe83): `once` ended with "56 retrying (next attempt
    # 14:29:33Z)" at 14:30:03, a time already past; each alert is tried once a run, so the
    # retry that fell due meanwhile is the next run's, and the summary says so.
    with FeedServer() as feeds, WebhookReceiver(default=503) as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["0s", "1h"],
            first_run="alert_all",
        )
        result = _once(config, tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert re.fullmatch(
        f"alerts: 0 delivered, 1 retrying \\(due since {TIME}: the next run or the service "
        "sends them\\), 0 dead",
        _lines(result)[-1],
    ), result.stdout
    assert "next attempt" not in result.stdout


def test_an_alert_kept_for_a_disabled_sink_is_said_so_and_sent_once_it_is_back(
    tmp_path: Path,
) -> None:
    # An outside probe: with the sink disabled, `once` said "1 retrying (next attempt T)"
    # though no retry happens; enabled again, the alert still waited out the 10-minute
    # look-again of the sink it had been kept for.
    import yaml

    with FeedServer() as feeds, WebhookReceiver(script=[503]) as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["0s", "0s"],
            first_run="alert_all",
        )
        failed = _once(config, tmp_path)
        settings = yaml.safe_load(config.read_text(encoding="utf-8"))
        settings["sinks"][0]["enabled"] = False
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        held = _once(config, tmp_path)
        report = json.loads(_once(config, tmp_path, "--json").stdout)
        settings["sinks"][0]["enabled"] = True
        config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        back = _once(config, tmp_path)
    assert failed.returncode == 4, failed.stdout + failed.stderr
    assert held.returncode == 4, held.stdout + held.stderr  # not delivered
    assert _lines(held)[-1] == (
        "alerts: 0 delivered, 0 retrying, 1 kept for a sink that is not configured or is "
        "disabled (sent when it is back; `monitor alerts`), 0 dead"
    ), held.stdout
    assert report["alerts"]["held_for_missing_sink"] == 1 and report["alerts"]["retrying"] == 0
    assert report["alerts"]["next_attempt_at"] is None
    assert back.returncode == 0, back.stdout + back.stderr
    assert _lines(back)[-1] == "alerts: 1 delivered, 0 retrying, 0 dead", back.stdout


def test_an_alert_dead_in_this_run_exits_4_and_later_runs_only_mention_it(
    tmp_path: Path,
) -> None:
    with FeedServer() as feeds, WebhookReceiver(default=500) as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["0s"],
            first_run="alert_all",
        )
        tried = _once(config, tmp_path)  # one try per run: its retry is the next run's
        first = _once(config, tmp_path)
        second = _once(config, tmp_path)
    assert tried.returncode == 4, tried.stdout + tried.stderr
    assert _lines(tried)[-1].startswith("alerts: 0 delivered, 1 retrying (due since ")
    assert first.returncode == 4, first.stdout + first.stderr
    assert _lines(first)[-1] == "alerts: 0 delivered, 0 retrying, 1 dead"
    assert "no tries left, it is dead (`monitor alerts retry " in first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert _lines(second)[-1] == (
        "alerts: 0 delivered, 0 retrying, 0 dead; 1 dead from earlier runs "
        "(`monitor alerts --status dead`, `monitor alerts retry`)"
    )


def test_disabled_sources_are_counted_apart(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([QUIET])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[],
            sink_url=None,
            extra={
                "sources": [
                    {"name": "Wire", "url": feeds.url("/f.xml")},
                    {"name": "Paused", "url": feeds.url("/p.xml"), "enabled": False},
                ]
            },
        )
        result = _once(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _lines(result)[-2] == (
        "sources: 1 enabled: 1 polled ok, 0 not modified, 0 failed, 0 skipped; 1 disabled"
    )
    assert "loaded 2 sources (1 enabled), 1 watchlist and 0 enabled sinks" in result.stderr


def test_a_gone_feed_is_skipped_until_its_entry_changes_and_exits_3(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(status=410))
        feeds.route("/ok.xml", Reply(body=rss([QUIET])))
        sources = [("Gone Wire", feeds.url("/f.xml")), ("Quiet", feeds.url("/ok.xml"))]
        database_url = f"sqlite:///{tmp_path}/m.db"
        config = write_config(tmp_path, database_url=database_url, sources=sources, sink_url=None)
        first = _once(config, tmp_path)
        assert first.returncode == 3, first.stdout + first.stderr
        assert any(
            line.startswith("error Gone Wire") and "410" in line for line in _lines(first)
        ), first.stdout
        assert "is gone (410): it is no longer polled" in first.stderr
        second = _once(config, tmp_path)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "skipped Gone Wire: gone (410): not polled until its config entry changes" in _lines(
            second
        )
        assert len(feeds.requests_for("/f.xml")) == 1
        # The operator changes its entry (here: its name): it is polled again.
        feeds.route("/f.xml", Reply(body=rss([QUIET])))
        sources[0] = ("Back Wire", feeds.url("/f.xml"))
        config = write_config(tmp_path, database_url=database_url, sources=sources, sink_url=None)
        third = _once(config, tmp_path)
        assert third.returncode == 0, third.stdout + third.stderr
        assert len(feeds.requests_for("/f.xml")) == 2


def test_a_fixed_feed_is_polled_again_after_sources_retry(tmp_path: Path) -> None:
    # An operator fixes a feed that failed: without `sources retry` it waits out its
    # back-off (hours, up to poll.max_interval); with it, the next `once` polls it.
    with FeedServer() as feeds:
        feeds.route("/wire.xml", Reply(status=404))
        feeds.route("/ok.xml", Reply(body=rss([QUIET])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/wire.xml")), ("Calm", feeds.url("/ok.xml"))],
            sink_url=None,
        )
        assert _once(config, tmp_path).returncode == 3
        feeds.route("/wire.xml", Reply(body=rss([HAFTAR])))
        held = _once(config, tmp_path)
        assert held.returncode == 3 and "skipped Wire: in error back-off" in held.stdout
        assert "`monitor sources retry NAME` ends its wait" in held.stderr
        elsewhere = tmp_path / "elsewhere"
        unknown = monitor("sources", "retry", "Nope", "--config", str(config), cwd=elsewhere)
        assert unknown.returncode == 1 and "'Nope': no source of that name" in unknown.stderr
        calm = monitor("sources", "retry", "Calm", "--config", str(config), cwd=elsewhere)
        assert calm.returncode == 1, calm.stdout + calm.stderr
        assert "none of these sources waits after a failure" in calm.stdout
        retry = monitor("sources", "retry", "--config", str(config), cwd=elsewhere)
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert retry.stdout.startswith("1 source due now: Wire;"), retry.stdout
        again = _once(config, tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "ok Wire: 1 entry, 1 new, 1 match" in again.stdout
        nothing = monitor("sources", "retry", "--config", str(config), cwd=elsewhere)
        assert nothing.returncode == 0 and "no source waits after a failure" in nothing.stdout


def test_once_json_that_cannot_start_still_prints_a_document(tmp_path: Path) -> None:
    # A fresh-clone walkthrough: stdout was empty, so a script reading it had nothing to parse.
    missing = tmp_path / "missing.yaml"
    result = monitor("once", "--json", "--config", str(missing), cwd=tmp_path)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["exit_code"] == 2
    (error,) = document["errors"]
    assert error.startswith(f"{missing}: config file not found")
    assert error in result.stderr  # and as before on standard error


def test_once_json_on_a_database_another_instance_holds_still_prints_a_document(
    tmp_path: Path,
) -> None:
    # An outside probe (probe85): with `monitor run` on the database, `once --json` exited 2
    # with nothing on stdout, where a config error prints the document.
    from monitor.db.store import Store

    database_url = f"sqlite:///{tmp_path}/m.db"
    config = write_config(tmp_path, database_url=database_url, sources=[], sink_url=None)
    store = Store(database_url)
    store.prepare()
    try:
        with store.instance_lock():  # what `monitor run` holds
            result = monitor("once", "--json", "--config", str(config), cwd=tmp_path)
    finally:
        store.close()
    assert result.returncode == 2, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["exit_code"] == 2
    (error,) = document["errors"]
    assert "is using" in error, error
    assert error in result.stderr


def test_a_copy_of_a_story_already_told_says_why_it_did_not_alert(tmp_path: Path) -> None:
    copy = ("c-1", HAFTAR[1], HAFTAR[2])  # another outlet's copy of the same wire story
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR])))
        feeds.route("/g.xml", Reply(body=rss([copy], links=["https://other.example/c-1"])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml")), ("Copy", feeds.url("/g.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="first",
        )
        result = _once(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    polls = sorted(line.split(": ", 1)[1] for line in _lines(result) if line.startswith("ok "))
    assert polls == [
        "1 entry, 1 new, 1 match, 0 alerts queued; not alerted: 1 of a story its sinks were "
        "told of already (their `stories` policy; `monitor stories`)",
        "1 entry, 1 new, 1 match, 1 alert queued",
    ], result.stdout


def test_the_sources_are_listed_by_name_whatever_order_their_polls_end(tmp_path: Path) -> None:
    names = ["Zawiya Desk", "wire", "Tripoli Post", "Misrata Now", "benghazi 24", "Agency"]
    with FeedServer() as feeds:
        for n, _ in enumerate(names):
            feeds.route(f"/{n}.xml", Reply(body=rss([])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[(name, feeds.url(f"/{n}.xml")) for n, name in enumerate(names)],
            sink_url=None,
        )
        result = _once(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = [line.split(":")[0][3:] for line in _lines(result) if line.startswith("ok ")]
    assert shown == sorted(names, key=str.casefold)


def test_a_well_formed_feed_read_with_a_note_is_not_called_malformed(tmp_path: Path) -> None:
    # probe67: a feed of 3,000 entries (only the newest 1,000 are read) was listed as "feed
    # is malformed but readable"; so was one with a date no reader knows.
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><guid>d-1</guid><title>Weather in Oslo</title>"
        b"<pubDate>sometime in October</pubDate></item></channel></rss>"
    )
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=body))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        assert _once(config, tmp_path).returncode == 0
    listed = monitor("sources", "--config", str(config), "--json", cwd=tmp_path)
    (source,) = json.loads(listed.stdout)
    assert source["last_error_reason"] == "bozo"
    assert source["last_error"] == (
        "1 entry with a date that is not read as one (e.g. 'sometime in October'): stored as "
        "undated"
    )


def test_entries_taken_for_edits_are_counted(tmp_path: Path) -> None:
    # An outside probe (87 #6) lost new items that the triage took for edits of stored
    # articles, and `monitor once` said only "0 new": the edits are counted, so an operator
    # can see what was not stored and why.
    edited = ("a-1", "Haftar's forces near Tripoli", "<p>Fighting south of Tripoli, updated.</p>")
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([HAFTAR, QUIET])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/f.xml"))],
            sink_url=None,
        )
        first = _once(config, tmp_path)
        feeds.route("/f.xml", Reply(body=rss([edited, QUIET])))
        second = _once(config, tmp_path)
        third = _once(config, tmp_path)
    assert first.returncode == second.returncode == third.returncode == 0, second.stderr
    assert (
        "ok Wire: 2 entries, 0 new, 1 edit of stored articles (not stored, not alerted), "
        "0 matches, 0 alerts queued"
    ) in _lines(second)
    assert "ok Wire: 2 entries, 0 new, 0 matches, 0 alerts queued" in _lines(third)
