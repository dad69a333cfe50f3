"""The listing commands (`alerts`, `sources`, `stories`) in a narrow terminal print one block
per row instead of a table whose columns are two letters wide, and show text from feeds
and configs as written, never as rich markup (a title with "[/x]" was a traceback, one
with "[link=...]" a hidden link). Subprocesses on a real database."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.cells import cell_len

from tests.cli.test_check_command import monitor
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

TITLE = "[/x] Haftar [b]at[/b] Tripoli [link=http://a.b]go[/link]"
SOURCE = "[red]Wire[/red] desk"


def _database(tmp_path: Path) -> Path:
    with FeedServer() as feeds, WebhookReceiver(default=503) as receiver:
        feeds.route("/f.xml", Reply(body=rss([("t-1", TITLE, "<p>Talks in Tripoli.</p>")])))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[(SOURCE, feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["1h"],
            first_run="alert_all",
        )
        once = monitor("once", "--config", str(config), cwd=tmp_path)
    assert once.returncode == 4, once.stdout + once.stderr  # the alert waits for a retry
    return config


def _show(config: Path, command: str, columns: int) -> subprocess.CompletedProcess[str]:
    shown = monitor(command, "--config", str(config), env={"COLUMNS": str(columns)})
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    return shown


def test_listings_show_feed_text_as_written_and_fit_a_narrow_terminal(tmp_path: Path) -> None:
    config = _database(tmp_path)
    for command, first, label in (
        ("alerts", None, "title: "),
        ("sources", SOURCE, "health: "),
        ("stories", "story ", "title: "),
    ):
        narrow = _show(config, command, 80).stdout
        wide = _show(config, command, 400).stdout
        for shown in (narrow, wide):  # as written, never read as markup
            assert (SOURCE if command == "sources" else TITLE) in shown, shown
        lines = narrow.splitlines()
        assert all(cell_len(line) <= 80 for line in lines), lines
        assert not any("┃" in line or "│" in line for line in lines), lines
        assert any(line.startswith("  ") and label in line for line in lines), lines
        if first is not None:
            assert lines[0].startswith(first), lines
        assert "┃" in wide, wide  # a table where there is room
