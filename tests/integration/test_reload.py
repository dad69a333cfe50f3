"""Reloading the config of a running `monitor run` (SIGHUP, `monitor reload`): a new source
and a new watchlist take effect without a restart, a pending delivery is still delivered
once, a broken config is refused with every problem logged, and `monitor reload` says what
happened in its exit code."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select

from monitor.db.schema import deliveries, instances
from tests.integration.helpers import REPO, rss, write_config
from tests.integration.test_service_signals import counts, running, stop
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

HAFTAR = [("one-1", "Haftar visits Benghazi", "<p>Khalifa Haftar met officers.</p>")]
ZORBLAX = [("two-1", "Zorblax Quintana speaks", "<p>Zorblax Quintana spoke in Lisbon.</p>")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def metric(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(rf"^{name} (\S+)$", text, flags=re.MULTILINE)
    return float(found.group(1)) if found else None


def wait_until(condition: Callable[[], object], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.1)


def generation(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(select(instances.c.config_generation)).scalars().all()
    engine.dispose()
    assert len(value) == 1, value
    return int(value[0])


def instance_pids(database_url: str) -> list[int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        pids = list(conn.execute(select(instances.c.pid)).scalars())
    engine.dispose()
    return pids


def delivery_rows(database_url: str) -> dict[str, tuple[str, str, str | None]]:
    """Every delivery: id -> (sink, status, last error)."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(deliveries.c.id, deliveries.c.sink, deliveries.c.status, deliveries.c.last_error)
        ).all()
    engine.dispose()
    return {row.id: (row.sink, row.status, row.last_error) for row in rows}


def pending(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        ids = conn.execute(select(deliveries.c.id).where(deliveries.c.status == "pending"))
        found = list(ids.scalars())
    engine.dispose()
    return found


def base_config(tmp_path: Path, database_url: str, feeds: FeedServer, sink: str) -> Path:
    return write_config(
        tmp_path,
        database_url=database_url,
        sources=[("One", feeds.url("/one.xml"))],
        sink_url=sink,
        retry_schedule=("3s", "1s"),
        first_run="alert_all",
        extra={
            "poll": {
                "interval": "1s",
                "min_interval": "1s",
                # The feeds never change: adaptive schedules would poll them at max_interval.
                "max_interval": "2s",
                "allow_private_networks": True,
                "tick": "1s",
                "workers": 1,
            },
            "http": {"host": "127.0.0.1", "port": free_port()},
        },
    )


def edit(config: Path, change: Callable[[dict[str, object]], object]) -> None:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    change(data)
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def add_source_and_watchlist(config: Path, feeds: FeedServer) -> None:
    watchlist = config.parent / "extra.yaml"
    watchlist.write_text(
        "name: extra\nentities:\n  - id: zorblax\n    kind: person\n"
        "    names: [Zorblax Quintana]\n",
        encoding="utf-8",
    )

    def change(data: dict[str, object]) -> None:
        sources = data["sources"]
        watchlists = data["watchlists"]
        assert isinstance(sources, list) and isinstance(watchlists, list)
        sources.append({"name": "Two", "url": feeds.url("/two.xml")})
        watchlists.append(str(watchlist))

    edit(config, change)


def http_port(config: Path) -> int:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    return int(data["http"]["port"])


def monitor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    env.pop("MONITOR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_sighup_adds_a_source_and_a_watchlist_and_keeps_a_pending_delivery(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    with FeedServer() as feeds, WebhookReceiver(script=[500]) as receiver:
        feeds.route("/one.xml", Reply(body=rss(HAFTAR)))
        feeds.route("/two.xml", Reply(body=rss(ZORBLAX)))
        config = base_config(tmp_path, database_url, feeds, receiver.url)
        port = http_port(config)
        with running(config) as process:
            # The first alert is refused (500): it waits for its retry, 3 s later.
            first = receiver.wait_for(1, timeout=30)[0]
            wait_until(lambda: pending(database_url) == [first.headers["webhook-id"]])
            assert metric(port, "monitor_config_generation") == 1
            assert not feeds.requests_for("/two.xml")
            assert instance_pids(database_url) == [process.pid]

            add_source_and_watchlist(config, feeds)
            process.send_signal(signal.SIGHUP)

            # The new source is polled and its article alerts on the new watchlist; the
            # pending alert is delivered too, by the same process.
            try:
                wait_until(lambda: counts(database_url) == (2, 2, 2), within=30)
            except AssertionError:
                raise AssertionError(f"{counts(database_url)}\n{stop(process)}") from None
            assert process.poll() is None
            assert instance_pids(database_url) == [process.pid]  # not restarted
            assert metric(port, "monitor_config_generation") == 2
            assert generation(database_url) == 2
            assert (metric(port, "monitor_config_reload_timestamp_seconds") or 0) > 0
            assert metric(port, "monitor_config_reload_failures_total") == 0
            stderr = stop(process)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
        assert "config reloaded" in stderr, stderr

    requests = receiver.requests
    taken = [r for r in requests if r.reply_status == 200]
    ids = [r.headers["webhook-id"] for r in taken]
    assert len(ids) == len(set(ids)) == 2, requests  # each alert delivered exactly once
    assert first.headers["webhook-id"] in ids
    watchlists = sorted(r.json["data"]["watchlist"] for r in taken)  # type: ignore[index]
    assert watchlists == ["extra", "libya"]


@pytest.mark.slow
def test_a_removed_sink_keeps_its_pending_deliveries_and_a_new_sink_gets_alerts(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    with (
        FeedServer() as feeds,
        WebhookReceiver(script=[500]) as old_sink,
        WebhookReceiver() as new_sink,
    ):
        feeds.route("/one.xml", Reply(body=rss(HAFTAR)))
        feeds.route("/two.xml", Reply(body=rss(ZORBLAX)))
        config = base_config(tmp_path, database_url, feeds, old_sink.url)
        with running(config) as process:
            first = old_sink.wait_for(1, timeout=30)[0].headers["webhook-id"]
            wait_until(lambda: pending(database_url) == [first])

            def swap_sink(data: dict[str, object]) -> None:
                sinks = data["sinks"]
                assert isinstance(sinks, list)
                sinks[0] = {**sinks[0], "name": "other", "url": new_sink.url}

            edit(config, swap_sink)
            add_source_and_watchlist(config, feeds)
            process.send_signal(signal.SIGHUP)

            # The new sink gets the new article's alert; the old sink's alert, due again 3 s
            # after its 500, is kept pending (postponed), not sent, dead or lost.
            new_sink.wait_for(1, timeout=30)
            wait_until(lambda: "not configured" in (delivery_rows(database_url)[first][2] or ""))
            stderr = stop(process)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
    rows = delivery_rows(database_url)
    assert rows[first][:2] == ("ops", "pending")
    # What the operator can do about it (an outside probe renamed a sink and was not told).
    assert "a renamed sink is a new one" in (rows[first][2] or "")
    assert "`monitor alerts drop ID`" in (rows[first][2] or "")
    assert len(old_sink.requests) == 1
    assert [r.json["data"]["watchlist"] for r in new_sink.requests] == ["extra"]  # type: ignore[index]
    assert sorted((sink, status) for sink, status, _ in rows.values()) == [
        ("ops", "pending"),
        ("other", "delivered"),
    ]


def check_errors(config: Path) -> list[str]:
    """The problems `monitor check` finds in ``config``, as it words them."""
    checked = monitor("check", "--config", str(config))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    return [
        line.removeprefix("error: ")
        for line in checked.stderr.splitlines()
        if line.startswith("error: ")
    ]


@pytest.mark.slow
def test_a_broken_config_is_refused_and_logged_and_a_fixed_one_reloads(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/one.xml", Reply(body=rss(HAFTAR)))
        feeds.route("/two.xml", Reply(body=rss(ZORBLAX)))
        config = base_config(tmp_path, database_url, feeds, receiver.url)
        good = config.read_text(encoding="utf-8")
        port = http_port(config)
        with running(config) as process:
            receiver.wait_for(1, timeout=30)

            def break_it(data: dict[str, object]) -> None:
                data["bogus_key"] = 1
                sinks = data["sinks"]
                assert isinstance(sinks, list)
                sinks[0]["url"] = "ftp://example.org/hook"

            edit(config, break_it)
            problems = check_errors(config)
            assert len(problems) >= 2, problems
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: metric(port, "monitor_config_reload_failures_total") == 1)
            assert process.poll() is None
            assert metric(port, "monitor_config_generation") == 1
            assert generation(database_url) == 1

            # The old config is still in force: the feed is still polled and alerts.
            polled = len(feeds.requests_for("/one.xml"))
            feeds.wait_for_requests(polled + 1, path="/one.xml", within=10)

            # Fixed (and a source added): reloads.
            config.write_text(good, encoding="utf-8")
            add_source_and_watchlist(config, feeds)
            process.send_signal(signal.SIGHUP)
            wait_until(lambda: metric(port, "monitor_config_generation") == 2)
            feeds.wait_for_requests(1, path="/two.xml", within=10)
            assert metric(port, "monitor_config_reload_failures_total") == 1
            stderr = stop(process)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr
    log_lines = stderr.splitlines()
    for problem in problems:  # each problem on its own log line, as `check` words it
        assert any(line.endswith(f": {problem}") for line in log_lines), (problem, stderr)
    assert "reload refused" in stderr


@pytest.mark.slow
def test_monitor_reload_signals_the_service_and_reports_the_generation(
    tmp_path: Path, database_url: str
) -> None:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/one.xml", Reply(body=rss(HAFTAR)))
        feeds.route("/two.xml", Reply(body=rss(ZORBLAX)))
        config = base_config(tmp_path, database_url, feeds, receiver.url)

        # No service yet (SQLite: no database at all yet; PostgreSQL: an empty schema).
        nothing = monitor("reload", "--config", str(config))
        assert nothing.returncode == 3, nothing.stdout + nothing.stderr
        assert "no service is running on" in nothing.stderr

        with running(config) as process:
            receiver.wait_for(1, timeout=30)
            add_source_and_watchlist(config, feeds)
            reloaded = monitor(
                "reload", "--config", str(config), env={"MONITOR_WEBHOOK_SECRET": "whsec_x"}
            )
            assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
            assert reloaded.stdout.strip() == "reloaded: generation 2"
            # A variable set here is not what the service reads (an outside probe changed a
            # secret in the environment and was told only "reloaded").
            assert "note: a reload rereads the files, not the environment: " in reloaded.stderr
            assert "MONITOR_WEBHOOK_SECRET keep the values the service" in reloaded.stderr
            feeds.wait_for_requests(1, path="/two.xml", within=10)

            # A broken config: its problems, exit 2, and the service is not signalled.
            edit(config, lambda data: data.update(bogus_key=1))
            refused = monitor("reload", "--config", str(config))
            assert refused.returncode == 2, refused.stdout + refused.stderr
            assert "bogus_key" in refused.stderr
            assert "not signalled" in refused.stderr
            assert process.poll() is None

            # A config whose settings load but that validation refuses (a missing watchlist
            # file), sent anyway (--no-check): the service refuses it and `reload` says why
            # at once, from the refusal the service recorded, not after waiting out --wait.
            edit(config, lambda data: data.pop("bogus_key"))
            edit(config, lambda data: data["watchlists"].append("missing-list.yaml"))  # type: ignore[attr-defined]
            started = time.monotonic()
            sent = monitor("reload", "--no-check", "--wait", "30", "--config", str(config))
            assert time.monotonic() - started < 20
            assert sent.returncode == 1, sent.stdout + sent.stderr
            assert "the service refused the new config (generation still 2)" in sent.stderr
            assert "reload refused: 1 problem in" in sent.stderr
            assert "missing-list.yaml" in sent.stderr
            # The summary before the problem, and so saying "below" (it said "above").
            assert "(each below)" in sent.stderr and "(each above)" not in sent.stderr
            assert sent.stderr.index("(each below)") < sent.stderr.index("missing-list.yaml")
            assert process.poll() is None
            stderr = stop(process)
        assert process.returncode == 0, stderr
        assert stderr.count("received SIGHUP") == 2, stderr
        assert generation(database_url) == 2

        # Stopped: no service any more.
        edit(config, lambda data: data["watchlists"].remove("missing-list.yaml"))  # type: ignore[attr-defined]
        after = monitor("reload", "--config", str(config))
        assert after.returncode == 3, after.stdout + after.stderr
        assert "no service is running on" in after.stderr


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.05, 0.3, 0.8])
def test_a_sighup_while_the_service_starts_never_kills_it(tmp_path: Path, after: float) -> None:
    # systemd's ExecReload or `docker compose kill -s HUP` may come right after a start,
    # before the service installed its handler: the signal must not terminate it.
    database_url = f"sqlite:///{tmp_path}/monitor.db"
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/one.xml", Reply(body=rss(HAFTAR)))
        config = base_config(tmp_path, database_url, feeds, receiver.url)
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        try:
            # From the first thing `monitor` does (SIGHUP ignored until its handler is in):
            # before that the interpreter is still starting, which under load can take
            # longer than `after`, and a signal then kills any program.
            _wait_until_sighup_is_ignored(process.pid)
            time.sleep(after)
            process.send_signal(signal.SIGHUP)
            receiver.wait_for(1, timeout=30)  # it runs: the feed was polled and alerted
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr


def _wait_until_sighup_is_ignored(pid: int, timeout: float = 20.0) -> None:
    """Wait until /proc says the process ignores SIGHUP (SigIgn's bit for signal 1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        ignored = int(status.split("SigIgn:")[1].split()[0], 16)
        if ignored & (1 << (signal.SIGHUP - 1)):
            return
        time.sleep(0.002)
    raise AssertionError(f"process {pid} did not start ignoring SIGHUP within {timeout} s")
