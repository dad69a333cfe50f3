"""`monitor once` stopped by SIGTERM (a cron's or `timeout`'s) or SIGINT, as `run` is: the
polls and sends in hand finish, nothing more starts, it exits 128 + the signal's number, and
the next run does the rest, every alert sent once. Real subprocesses, loopback servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from monitor.poller import FETCH_GRACE_SECONDS
from tests.integration.helpers import REPO, rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import Reply as Answer
from tests.support.webhook_receiver import WebhookReceiver

ITEM = "<p>Forces loyal to Khalifa Haftar advanced on Tripoli on {day}.</p>"


def _start(config: Path, *more: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "once", "--config", str(config), *more],
        cwd=config.parent,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _finish(command: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = command.communicate(timeout=60)
    assert "Traceback" not in out + err, err
    assert "leaked semaphore" not in err, err
    return command.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_while_polling_lets_the_poll_in_hand_finish(
    tmp_path: Path, sig: signal.Signals
) -> None:
    with FeedServer() as feeds:
        names = [f"slow{n}" for n in range(4)]
        for name in names:
            body = rss([(f"{name}-1", "Weather", "<p>Rain in Benghazi.</p>")])
            feeds.route(f"/{name}.xml", Reply(body=body, delay=1.5))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[(name, feeds.url(f"/{name}.xml")) for name in names],
            sink_url=None,
            extra={"poll": {"concurrency": 1, "allow_private_networks": True}},
        )
        command = _start(config)
        _until(lambda: len(feeds.requests) >= 1)
        command.send_signal(sig)
        code, out, err = _finish(command)
        assert code == 128 + sig
        assert f"received {sig.name}" in err
        assert out.count("ok slow") == 1  # the poll in hand finished and was recorded
        assert out.count("not polled: the run was stopped") == 3
        assert len(feeds.requests) == 1  # nothing started after the signal
        # The next run polls every source (`once` polls them all), the three left included.
        again = _start(config)
        code, out, _ = _finish(again)
        assert code == 0, out
        assert "4 enabled: 4 polled ok" in out


def test_a_feed_still_being_fetched_after_the_grace_is_abandoned_and_polled_next_time(
    tmp_path: Path,
) -> None:
    # An outside probe (probe88): a feed that drips its bytes, or answers nothing, held the
    # stop until the fetch's deadline (57 s and 17 s). A fetch still running
    # FETCH_GRACE_SECONDS after the signal is abandoned (nothing of it was stored), the
    # quick feed in hand is not, and the next run polls the slow one.
    with FeedServer() as feeds:
        body = rss([("d-1", "Haftar's forces near Tripoli", "<p>Fighting.</p>")])
        feeds.route("/drip.xml", Reply(body=body, drip_interval=0.5, drip_bytes=16))
        feeds.route("/mute.xml", Reply(body=body, delay=120))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Drip", feeds.url("/drip.xml")), ("Mute", feeds.url("/mute.xml"))],
            sink_url=None,
        )
        command = _start(config)
        _until(lambda: len(feeds.requests) >= 2)
        signalled = time.monotonic()
        command.send_signal(signal.SIGTERM)
        code, out, err = _finish(command)
        took = time.monotonic() - signalled
        assert code == 143
        assert took < FETCH_GRACE_SECONDS + 8, took  # not the fetch's deadline
        assert "2 feeds still being fetched 5 s after the stop were abandoned" in err, err
        assert out.count("not polled: the run was stopped") == 2, out
        assert "held back" not in err  # stopped, not held back (probe88 M6)
        feeds.route("/drip.xml", Reply(body=body))
        feeds.route("/mute.xml", Reply(body=body))
        again = _start(config)
        code, out, _ = _finish(again)
        assert code == 0, out
        assert "2 enabled: 2 polled ok" in out


def test_sigterm_while_sending_lets_the_send_in_hand_finish_and_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    entries = [(f"h{n}", f"Haftar advances, day {n}", ITEM.format(day=n)) for n in range(4)]
    with (
        FeedServer() as feeds,
        WebhookReceiver(default=Answer(status=200, delay=1.5)) as receiver,
    ):
        feeds.route("/wire.xml", Reply(body=rss(entries)))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
            extra={"delivery": {"concurrency": 1}},
        )
        command = _start(config)
        _until(lambda: len(receiver.requests) >= 1)
        command.send_signal(signal.SIGTERM)
        code, out, err = _finish(command)
        assert code == 143
        sent_first = len(receiver.requests)
        assert 1 <= sent_first < 4
        assert f"alerts: {sent_first} delivered" in out  # the send in hand was recorded
        assert f"{4 - sent_first} not delivered yet (the run was stopped" in out
        again = _start(config)
        code, out, _ = _finish(again)
        assert code == 0, out
        ids = Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert len(ids) == 4 and set(ids.values()) == {1}, ids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_stops_at_once_with_that_signals_code(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # The first signal lets the send in hand finish (a receiver that hangs: up to the grace);
    # a second one stops now, with 128 + its own number (143 for SIGTERM, not SIGINT's
    # 130), says what was abandoned, and the next run sends the alert with the same id.
    entries = [("h0", "Haftar advances", ITEM.format(day=0))]
    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[Answer(status=200, delay=60)]) as receiver,
    ):
        feeds.route("/wire.xml", Reply(body=rss(entries)))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/wire.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        command = _start(config)
        _until(lambda: len(receiver.requests) >= 1)
        command.send_signal(sig)
        time.sleep(0.5)
        command.send_signal(sig)
        code, _, err = _finish(command)
        assert code == 128 + sig, err
        assert f"stopped at once by a second {sig.name}" in err
        again = _start(config)
        code, out, _ = _finish(again)
        assert code == 0, out
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        assert len(receiver.requests) == 2 and len(ids) == 1


def _mapped(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("library", ["pydantic_core", "_ssl"])
def test_ctrl_c_while_the_command_starts_exits_130_without_a_traceback(
    tmp_path: Path, library: str
) -> None:
    # An outside probe (probe88): Ctrl-C in the first half second, while the command's
    # modules were imported, printed a traceback and killed it by the signal. The signal is
    # sent once the imports have reached a library (pydantic's core: the settings; ssl:
    # the HTTP client), as early as the command's own code runs.
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/m.db",
        sources=[("F", "http://127.0.0.1:9/f.xml")],
        sink_url=None,
    )
    command = _start(config)
    _until(lambda: _mapped(command.pid, library) or command.poll() is not None, timeout=10)
    command.send_signal(signal.SIGINT)
    code, _, _ = _finish(command)
    assert code == 130


def test_a_database_file_deleted_while_once_runs_is_an_error_naming_it(tmp_path: Path) -> None:
    # An outside probe (probe89): the file deleted under `monitor once` went on taking its
    # writes; the run exited 0 (or 4), and the next one began a new database without a word,
    # the alerts this run left for a retry lost with the old file.
    with FeedServer() as feeds:
        body = rss([("d-1", "Haftar's forces near Tripoli", ITEM.format(day="Monday"))])
        feeds.route("/slow.xml", Reply(body=body, delay=1.5))
        database = tmp_path / "m.db"
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{database}",
            sources=[("Slow", feeds.url("/slow.xml"))],
            sink_url=None,
            extra={"poll": {"allow_private_networks": True}},
        )
        command = _start(config)
        _until(lambda: feeds.requests_for("/slow.xml"))
        database.unlink()
        code, out, err = _finish(command)
    assert code == 2, (out, err)
    assert f"the database file {database} was deleted while it was in use" in err
    assert not database.exists()  # nothing made a new one behind the operator's back


def test_a_new_database_is_said_so_and_an_emptied_file_warned_of(tmp_path: Path) -> None:
    # An outside probe (probe89): `monitor.db` emptied between two runs (a failed restore, a
    # cold start on a full disk) became a new database without a word; with `first_run:
    # store_only` the news since the last run never alerted.
    database = tmp_path / "m.db"
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{database}",
        sources=[("F", "http://127.0.0.1:9/f.xml")],
        sink_url=None,
        extra={"poll": {"allow_private_networks": True}},
    )
    _, _, err = _finish(_start(config))
    assert "database created at revision" in err and str(database) in err
    _, _, err = _finish(_start(config))
    assert "database created" not in err  # the usual start says nothing
    database.write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    _, _, err = _finish(_start(config))
    assert f"the database file {database} was empty (0 bytes)" in err
    assert "restore it" in err


def test_once_json_prints_a_document_when_the_database_fails_in_the_middle(
    tmp_path: Path,
) -> None:
    # An outside probe (probe89): a database that failed between `once`'s steps left
    # `--json`'s standard output empty, and stderr held raw tracebacks.
    import json
    import sqlite3

    with FeedServer() as feeds:
        body = rss([("m-1", "Haftar's forces near Tripoli", ITEM.format(day="Tuesday"))])
        feeds.route("/slow.xml", Reply(body=body, delay=1.5))
        database = tmp_path / "m.db"
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{database}",
            sources=[("Slow", feeds.url("/slow.xml"))],
            sink_url="http://127.0.0.1:9/hook",
            first_run="alert_all",
            extra={"poll": {"allow_private_networks": True}},
        )
        command = _start(config, "--json")
        _until(lambda: feeds.requests_for("/slow.xml"))
        with sqlite3.connect(database) as connection:
            connection.execute("DROP TABLE deliveries")  # gone while the feed answers
        connection.close()
        code, out, err = _finish(command)
    assert code == 2, err
    document = json.loads(out)
    assert document["exit_code"] == 2
    assert f"the database {database} failed in the middle of the command" in document["errors"][0]
