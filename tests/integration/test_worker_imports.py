"""A parsing worker loads only what parsing and matching need: the watchlists reach it as
plain frozen values, so it never imports the file format's pydantic and PyYAML (about 13 MB
in each worker), and the story signatures' MinHash is computed without numpy (about
13 MB); nor does it need asyncio."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from monitor.analysis import Analyser
from monitor.match.watchlist_file import load_watchlist
from tests.integration.helpers import LIBYA_WATCHLIST, rss, write_config
from tests.support.feed_server import FeedServer, Reply


def _shared_objects(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text(encoding="utf-8")
    return {line.split()[-1].rsplit("/", 1)[-1] for line in maps.splitlines() if ".so" in line}


def test_a_parsing_worker_loads_neither_pydantic_nor_yaml_nor_numpy() -> None:
    analyser = Analyser([load_watchlist(LIBYA_WATCHLIST)], excerpt_chars=300, workers=1)
    feed = rss([("g1", "Haftar's forces near Tripoli", "<p>The LNA said on Monday.</p>")])
    try:
        result = asyncio.run(analyser.analyse(feed, "http://127.0.0.1/feed.xml", None))
        (worker,) = analyser.worker_pids()
        loaded = _shared_objects(worker)
    finally:
        analyser.close()
    assert [m.watchlist for m in result.matches[0]] == ["libya"]
    assert any("ahocorasick" in name for name in loaded)
    assert result.stories and result.stories[0].size > 0  # signatures were made
    unwanted = ("_pydantic_core", "_yaml", "_multiarray_umath", "libopenblas", "_asyncio")
    assert not [name for name in loaded if name.startswith(unwanted)]


def test_the_service_stores_matches_without_compiling_the_watchlists(tmp_path: Path) -> None:
    """`monitor once` (the service process) hands matching to its workers: it loads neither
    the matcher (Aho-Corasick, the rule engine) nor numpy, and still stores the matches."""
    feed = rss([("g1", "Haftar's forces near Tripoli", "<p>The LNA said on Monday.</p>")])
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=feed))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("F", feeds.url("/f.xml"))],
            sink_url=None,
        )
        code = (
            "import sys\n"
            "from monitor.cli import main\n"
            f"sys.argv = ['monitor', 'once', '--config', {str(config)!r}]\n"
            "try:\n"
            "    main()\n"
            "except SystemExit as done:\n"
            "    print(done.code)\n"
            "print(sorted(m for m in ('monitor.match.matcher', 'ahocorasick', 'numpy')"
            " if m in sys.modules))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        "ok F: 1 entry, 1 new, 1 match, 0 alerts queued; not alerted: 1 on a first poll (first_run)"
        in lines
    ), done.stdout
    assert lines[-2:] == ["0", "[]"], done.stdout
    # The service's log line says why too (an outside probe read "1 match, 0 alerts queued"
    # in `monitor run`'s log, with no reason).
    polled = [line for line in done.stderr.splitlines() if "polled " in line]
    assert polled and "; not alerted: 1 on a first poll (first_run)" in polled[0], done.stderr
