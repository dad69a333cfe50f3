"""An entry longer than the matcher reads (`monitor.match.limits`) is stored, but a watched
name past the cut is never looked for: the poll says so in a warning that names the entry,
so an operator is not left to believe the whole text was read. Entries within the limits,
and a long entry seen again, say nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from monitor.match.limits import MAX_FIELD_CHARS
from tests.integration.helpers import rss, write_config
from tests.support.cli import run_monitor
from tests.support.feed_server import FeedServer, Reply

FILLER = "The council met again and adjourned without a vote. "


def _long_text(name_at_end: str) -> str:
    """Plain text past ``MAX_FIELD_CHARS`` with ``name_at_end`` only after the cut."""
    repeats = MAX_FIELD_CHARS // len(FILLER) + 50
    return "<p>" + FILLER * repeats + f"</p><p>{name_at_end} spoke in Benghazi.</p>"


def _once(
    tmp_path: Path, entries: list[tuple[str, str, str]], runs: int = 1
) -> list[subprocess.CompletedProcess[str]]:
    """``monitor once`` ``runs`` times over one feed of ``entries`` on a loopback server."""
    with FeedServer() as feeds:
        feeds.route("/feed.xml", Reply(body=rss(entries)))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Records", feeds.url("/feed.xml"))],
            sink_url=None,
        )
        args = ["once", "--config", str(config)]
        return [run_monitor(args, cwd=tmp_path, timeout=120) for _ in range(runs)]


def test_an_entry_longer_than_the_matcher_reads_is_named_in_a_warning(tmp_path: Path) -> None:
    entries = [
        ("long-1", "Council record of the week", _long_text("Khalifa Haftar")),
        ("short-1", "Haftar visits Cairo", "<p>Khalifa Haftar met officials in Cairo.</p>"),
    ]
    first, again = _once(tmp_path, entries, runs=2)

    assert first.returncode == 0, first.stderr
    warnings = [line for line in first.stderr.splitlines() if "too long to match whole" in line]
    assert len(warnings) == 1, first.stderr
    (warning,) = warnings
    assert "WARNING" in warning
    assert "1 new entry too long" in warning
    assert "'Council record of the week'" in warning
    assert "Haftar visits Cairo" not in warning
    assert f"{MAX_FIELD_CHARS:,}" in warning
    # The short entry matched; the long one is stored (without the name past the cut).
    assert "2 new, " in first.stderr and "1 match" in first.stderr

    assert again.returncode == 0, again.stderr
    assert "too long to match whole" not in again.stderr


def test_entries_within_the_limits_give_no_warning(tmp_path: Path) -> None:
    text = "<p>" + FILLER * (MAX_FIELD_CHARS // len(FILLER) - 10) + "Haftar spoke.</p>"
    (result,) = _once(tmp_path, [("long-but-whole", "Council record", text)])

    assert result.returncode == 0, result.stderr
    assert "too long to match whole" not in result.stderr
    assert "1 match" in result.stderr
