"""`--log-format json`: a whole `monitor run` (stopped by SIGTERM) and a `monitor once`, at
`--log-level debug`, against loopback feeds and a loopback receiver whose URLs carry a password
and a token: every line of standard error is a JSON object, the lines about sources and
deliveries carry their keys, and no credential, no sink secret, appears anywhere."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.helpers import LIBYA_WATCHLIST, REPO, rss
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

FEED_PASSWORD = "fe3dpassw0rd"
FEED_TOKEN = "feedt0ken4242"
SINK_PASSWORD = "s1nkpassw0rd"
SINK_TOKEN = "s1nkt0ken4242"
SINK_KEY = b"json-logs-signing-key-24"
SINK_SECRET = "whsec_" + base64.b64encode(SINK_KEY).decode()
SECRETS = (
    FEED_PASSWORD,
    FEED_TOKEN,
    SINK_PASSWORD,
    SINK_TOKEN,
    SINK_SECRET,
    SINK_SECRET.removeprefix("whsec_"),  # the secret's base64 body
    base64.b64encode(f"user:{FEED_PASSWORD}".encode()).decode(),  # as Basic auth
    base64.b64encode(f"hookuser:{SINK_PASSWORD}".encode()).decode(),
)
WIRE = rss(
    [
        ("a1", "Haftar's forces near Tripoli", "<p>Field Marshal Khalifa Haftar spoke.</p>"),
        ("a2", "Tripoli talks resume", "<p>The Government of National Accord met.</p>"),
    ]
)
FEED_HEADERS = {"Content-Type": "application/rss+xml"}
RUN_WAIT = 40.0


@dataclass
class World:
    feeds: FeedServer
    hooks: WebhookReceiver
    config: Path
    folder: Path

    def feed_url(self, path: str) -> str:
        return f"http://user:{FEED_PASSWORD}@127.0.0.1:{self.feeds.port}{path}?token={FEED_TOKEN}"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    # The receiver fails the first two sends: each alert is retried, then delivered.
    with FeedServer() as feeds, WebhookReceiver(script=[500, 500]) as hooks:
        feeds.route("/wire.xml", Reply(body=WIRE, headers=FEED_HEADERS))
        feeds.route("/broken.xml", Reply(status=500, body=b"oops"))
        feeds.route("/page.html", Reply(body=b"<!doctype html><html>login</html>"))
        world = World(feeds, hooks, tmp_path / "monitor.yaml", tmp_path)
        config = {
            "database_url": f"sqlite:///{tmp_path}/m.db",
            "poll": {"allow_private_networks": True, "workers": 1, "tick": "1s"},
            "fetch": {"total_timeout": "10s"},
            "first_run": "alert_all",
            "sources": [
                {"name": "Wire", "url": world.feed_url("/wire.xml")},
                {"name": "Broken", "url": world.feed_url("/broken.xml")},
                {"name": "Page", "url": world.feed_url("/page.html")},
            ],
            "watchlists": [str(LIBYA_WATCHLIST)],
            "sinks": [
                {
                    "name": "ops",
                    "url": f"http://hookuser:{SINK_PASSWORD}@127.0.0.1:{hooks.port}/hook"
                    f"?token={SINK_TOKEN}",
                    "secret": SINK_SECRET,
                    "retry_schedule": ["1s", "1s", "1h"],
                    "timeout": "5s",
                }
            ],
            "delivery": {"tick": "1s"},
        }
        world.config.write_text(yaml.safe_dump(config), encoding="utf-8")
        yield world


def _env(**more: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return {**base, "PYTHONPATH": str(REPO), "COLUMNS": "4000", **more}


def _lines(stderr: str) -> list[dict[str, object]]:
    """Every line of standard error as a JSON object with the four keys it always has."""
    lines = []
    for number, line in enumerate(stderr.splitlines(), 1):
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"line {number} of standard error is not JSON: {line!r}\n{stderr}")
        assert isinstance(document, dict), line
        assert {"time", "level", "logger", "event"} <= set(document), line
        lines.append(document)
    return lines


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _find(lines: list[dict[str, object]], **wanted: object) -> list[dict[str, object]]:
    return [
        line
        for line in lines
        if all(
            str(line.get(key, "")).startswith(value.removesuffix("*"))
            if isinstance(value, str) and value.endswith("*")
            else line.get(key) == value
            for key, value in wanted.items()
        )
    ]


def _delivered(hooks: WebhookReceiver) -> int:
    return sum(request.reply_status == 200 for request in hooks.requests)


def _check_sources(lines: list[dict[str, object]], world: World) -> None:
    shown = {
        name: world.feed_url(path)
        .replace(f"user:{FEED_PASSWORD}", "REDACTED")
        .replace(FEED_TOKEN, "REDACTED")
        for name, path in (("Wire", "/wire.xml"), ("Broken", "/broken.xml"), ("Page", "/page.html"))
    }
    for name, reason in (("Broken", "http_5xx"), ("Page", "parse_error")):
        (failed, *_) = _find(lines, event="poll failed for*", source=name) or [None]
        assert failed is not None, f"no failed poll of {name}"
        assert failed["level"] == "WARNING" and failed["logger"] == "monitor.pipeline"
        assert failed["reason"] == reason and failed["status"] == "error", failed
        assert failed["url"] == shown[name], failed
        assert isinstance(failed["source_id"], int) and isinstance(failed["duration_ms"], float)
    (polled, *_) = _find(lines, event="polled*", source="Wire", status="ok") or [None]
    assert polled is not None, "no poll of Wire"
    assert polled["url"] == shown["Wire"] and isinstance(polled["source_id"], int), polled
    assert isinstance(polled["duration_ms"], float)
    # Every line about a source carries its id.
    for line in lines:
        if "source" in line:
            assert isinstance(line.get("source_id"), int), line


def _check_deliveries(lines: list[dict[str, object]], delivered: int) -> None:
    retried = _find(lines, logger="monitor.delivery", status="retry")
    assert retried, "no failed delivery line"
    for line in retried:
        assert line["level"] == "WARNING" and line["reason"] == "http_5xx", line
        assert line["sink"] == "ops" and line["attempt"] == 1, line
    done = _find(lines, logger="monitor.delivery", status="delivered")
    assert len(done) == delivered, done
    for line in retried + done:
        assert isinstance(line["delivery_id"], str) and len(line["delivery_id"]) >= 32, line
        assert isinstance(line["article_id"], int), line
        assert line["watchlist"] == "libya" and isinstance(line["duration_ms"], float), line
        assert str(line["url"]).startswith("https://example.org/news/"), line
    assert {line["delivery_id"] for line in retried} <= {line["delivery_id"] for line in done}


@pytest.mark.slow
def test_a_whole_run_logs_json_lines_with_their_keys_and_no_secret(world: World) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--log-format", "json", "--log-level", "debug"]
        + ["run", "--config", str(world.config)],
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + RUN_WAIT
    while time.monotonic() < deadline and process.poll() is None and _delivered(world.hooks) < 2:
        time.sleep(0.2)
    delivered = _delivered(world.hooks)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = process.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    assert delivered == 2, f"{delivered} alerts delivered in {RUN_WAIT:.0f} s\n{stderr}"
    assert process.returncode == 0, stderr
    assert _leaks(stdout + stderr) == [], stdout + stderr

    lines = _lines(stderr)
    assert _find(lines, level="DEBUG"), "--log-level debug logged no debug line"
    _check_sources(lines, world)
    _check_deliveries(lines, delivered)
    (loaded,) = _find(lines, event="loaded*")
    assert loaded["source_count"] == 3 and loaded["sink_count"] == 1, loaded
    (running,) = _find(lines, event="monitor running as*")
    (signalled,) = _find(lines, event="received SIGTERM*")
    (stopped,) = _find(lines, event="monitor stopped")
    assert signalled["signal"] == "SIGTERM"
    assert running["instance"] == signalled["instance"] == stopped["instance"]

    # The credentials were in use: the feed was asked with them, the alerts signed.
    (asked, *_) = world.feeds.requests_for("/wire.xml")
    assert f"token={FEED_TOKEN}" in asked.path
    assert all(f"token={SINK_TOKEN}" in r.path for r in world.hooks.requests)
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in world.hooks.requests)


@pytest.mark.slow
def test_once_logs_json_lines_with_their_keys_and_no_secret(world: World) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--log-format", "json", "--log-level", "debug"]
        + ["once", "--config", str(world.config)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Two feeds fail (3); both alerts wait for a retry after the receiver's 500s (4 wins).
    assert result.returncode == 4, result.stdout + result.stderr
    assert _leaks(result.stdout + result.stderr) == [], result.stdout + result.stderr
    assert "sources: 3 enabled: 1 polled ok" in result.stdout  # the summary stays text
    lines = _lines(result.stderr)
    _check_sources(lines, world)
    retried = _find(lines, logger="monitor.delivery", status="retry")
    assert len(retried) == 2 and all(line["sink"] == "ops" for line in retried), retried
    # A second run: the failed feeds wait out their back-off, and the hints after the
    # summary ("no source was polled" is not this case; "a feed fixed since it failed")
    # are log lines too (an outside probe found them as plain text among the JSON).
    again = subprocess.run(
        [sys.executable, "-m", "monitor", "--log-format", "json"]
        + ["once", "--config", str(world.config)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "skipped" in again.stdout, again.stdout + again.stderr
    hints = _find(_lines(again.stderr), logger="monitor.cli", event="a feed fixed since*")
    assert len(hints) == 1, again.stderr
