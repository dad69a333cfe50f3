"""One feed author cannot exhaust memory or flood a receiver: a 5 MB article made of one
watched name, run through `monitor once` (fetch, parse in a worker, match, store, send),
stays under 300 MB in every process and sends one capped alert that says it was cut."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.helpers import REPO, rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

MEMORY_CAP_MB = 300
PAYLOAD_CAP_BYTES = 1_000_000


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _peak_kb(pid: int) -> int:
    """The process's own peak resident size (VmHWM), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return 0


@pytest.mark.slow
def test_a_5_mb_article_of_one_name_stays_under_the_memory_cap_and_sends_a_flagged_alert(
    tmp_path: Path,
) -> None:
    body = "<p>" + "Haftar " * (5 * 1024 * 1024 // 7) + "</p>"
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/huge.xml", Reply(body=rss([("huge", "Haftar, again", body)])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Huge", feeds.url("/huge.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "once", "--config", str(config)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        peaks: dict[int, int] = {}
        deadline = time.monotonic() + 180
        while process.poll() is None and time.monotonic() < deadline:
            for pid in _tree(process.pid):
                peaks[pid] = max(peaks.get(pid, 0), _peak_kb(pid))
            time.sleep(0.01)
        if process.poll() is None:
            process.kill()
        stdout, stderr = process.communicate()
        assert process.returncode == 0, stderr.decode()[-2000:]

        worst_mb = max(peaks.values()) / 1024
        assert worst_mb < MEMORY_CAP_MB, f"a process peaked at {worst_mb:.0f} MB: {peaks}"
        (alert,) = receiver.requests
        assert len(alert.body) < PAYLOAD_CAP_BYTES, len(alert.body)
        assert alert.json is not None and alert.json["data"]["truncated"] is True
        assert alert.json["data"]["entities"], alert.json["data"]
        assert b"ok Huge: 1 entry, 1 new" in stdout, stdout.decode()
