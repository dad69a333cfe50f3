"""Every ``monitor ...`` command the documentation shows runs as shown.

The commands are read from README.md, docs/*.md and bench/README.md: every line of the
fenced ``bash``/``sh``/``shell``/``console`` blocks (and of untagged blocks) and every inline
code span that starts with ``monitor <word>``. Each one runs as a subprocess against a fresh
config whose feeds are the sample feeds in ``seeds/feeds`` served on 127.0.0.1 and whose sink
is a loopback webhook receiver, from a working directory other than the config's (the config
is found through ``$MONITOR_CONFIG``, the sink through ``$MONITOR_WEBHOOK_URL`` and
``$MONITOR_WEBHOOK_SECRET``, as in the README). A command must exit with the status the docs
imply (0 unless ``SPECIAL`` says otherwise) and print no traceback.

A command is run exactly as written unless ``SPECIAL`` says how to run it and why (a
placeholder such as ``FILE`` or ``ID``, standard input), or its subcommand is in
``LONG_RUNNING`` (``monitor run``: started, stopped with SIGTERM after its first alert, exit 0).
The test fails for a documented command it does not know how to run: one with a placeholder
and no ``SPECIAL`` row, or one naming a subcommand ``monitor`` does not have. Every
subcommand of ``monitor --help`` must be named in README.md.

Also checked against what the service really does: the README's alert example (its shape and
its times, ``Z``), the README's ``verify`` function (on a real alert), the ``+00:00`` times of
the commands' ``--json`` output, and the SQLite lock file named in docs/operations.md.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
import yaml

from monitor.cli import app
from tests.support.cli import run_monitor
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Plan:
    """How to run one documented command when it cannot run exactly as written."""

    reason: str
    argv: tuple[str, ...] | None = None  # arguments after `monitor`; {name}s from World.values
    stdin: str = ""
    exit_code: int = 0
    words: tuple[str, ...] = ()  # each must appear in stdout or stderr


QUIET_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>
<item><guid>q1</guid><title>Weather in Oslo</title></item>
<item><guid>q2</guid><title>Rain in Bergen</title></item></channel></rss>"""
ONE_ARTICLE = json.dumps({"id": "a1", "title": "Haftar's forces near Tripoli"}) + "\n"

# Documented command -> how it is run here, and why not as written.
SPECIAL: dict[str, Plan] = {
    "monitor alerts retry ID": Plan(
        "ID stands for a delivery id: the id of a delivery the set-up queued",
        argv=("alerts", "retry", "{delivery_id}"),
        words=("re-queued",),
    ),
    "monitor alerts retry --sink NAME": Plan(
        "NAME stands for a sink's name: the set-up's sink",
        argv=("alerts", "retry", "--sink", "ops"),
        words=("re-queued",),
    ),
    "monitor alerts drop ID": Plan(
        "ID stands for a delivery id: the id of a delivery the set-up queued",
        argv=("alerts", "drop", "{delivery_id}"),
        words=("dropped",),
    ),
    "monitor alerts drop --sink NAME": Plan(
        "NAME stands for a sink's name: the set-up's sink",
        argv=("alerts", "drop", "--sink", "ops"),
        words=("dropped",),
    ),
    "monitor match --jsonl FILE|-": Plan(
        "FILE|- stands for a file or standard input: the seeds' articles.jsonl",
        argv=("match", "--jsonl", "{articles}"),
        words=('"matches"',),
    ),
    "monitor match --jsonl": Plan(
        "the option is shown without its value: `-` (standard input), given one article",
        argv=("match", "--jsonl", "-"),
        stdin=ONE_ARTICLE,
        words=('"matches"',),
    ),
    "monitor match": Plan(
        "reads standard input (the default `--jsonl -`): given one article",
        stdin=ONE_ARTICLE,
        words=('"matches"',),
    ),
    "monitor explain": Plan(
        "the command's name alone: without an article it says what to give (exit 2)",
        exit_code=2,
        words=("give one article",),
    ),
    "monitor explain FILE|-|--id N|--url URL": Plan(
        "the forms of the argument: a stored article by id",
        argv=("explain", "--id", "{article_id}"),
        words=("decision",),
    ),
    "monitor explain --id 42": Plan(
        "42 stands for a stored article's id: the first the set-up stored",
        argv=("explain", "--id", "{article_id}"),
        words=("decision",),
    ),
    "monitor explain --id 42 --json": Plan(
        "42 stands for a stored article's id: the first the set-up stored",
        argv=("explain", "--id", "{article_id}", "--json"),
        words=('"watchlists"',),
    ),
    "monitor explain --url https://example.org/world/libya-advance": Plan(
        "the URL stands for a stored article's link: the first the set-up stored",
        argv=("explain", "--url", "{article_url}"),
        words=("decision",),
    ),
    "monitor explain article.json -w config/watchlists/libya.yaml": Plan(
        "the watchlist path is relative to the repository: given as an absolute path",
        argv=("explain", "article.json", "-w", "{watchlist}"),
        words=("haftar",),
    ),
    "monitor reload": Plan(
        "runs as written, but no service runs here (the set-up ran `monitor once`, whose "
        "lock is released): it says so, exit 3; tests/integration/test_reload.py reloads a "
        "running one",
        exit_code=3,
        words=("no service is running on",),
    ),
    "monitor status": Plan(
        "the set-up used `monitor once`, no `monitor run` runs on its database: exit 3",
        exit_code=3,
        words=("status: not running",),
    ),
    "monitor status --json": Plan(
        "the set-up used `monitor once`, no `monitor run` runs on its database: exit 3",
        exit_code=3,
        words=('"state": "not_running"',),
    ),
    "monitor sources add https://example.org/world/rss.xml": Plan(
        "the URL stands for a feed: a loopback feed the config does not list yet",
        argv=("sources", "add", "{new_feed_a}"),
        words=("feed OK", "2 entries"),
    ),
    "monitor sources add https://example.org/africa/rss.xml --name Africa --interval 5m "
    "--no-check": Plan(
        "the URL stands for a feed: a loopback feed the config does not list yet",
        argv=(
            "sources",
            "add",
            "{new_feed_b}",
            "--name",
            "Africa",
            "--interval",
            "5m",
            "--no-check",
        ),
        words=("added 'Africa'",),
    ),
    "monitor sources add URL": Plan(
        "URL stands for a feed: a loopback feed the config does not list yet",
        argv=("sources", "add", "{new_feed_c}"),
        words=("added",),
    ),
    "monitor sources remove NAME|URL": Plan(
        "NAME|URL stands for a configured source: the set-up's spare one, by URL",
        argv=("sources", "remove", "{spare_feed}"),
        words=("removed",),
    ),
    "monitor sources retry NAME": Plan(
        "NAME stands for a source: the set-up's spare one, by URL, which has not failed "
        "(or is not in the database yet): nothing to retry, exit 1",
        argv=("sources", "retry", "{spare_feed}"),
        exit_code=1,
    ),
    "monitor sources retry [NAME|URL ...]": Plan(
        "the names are optional: without them, every source waiting after a failure",
        argv=("sources", "retry"),
    ),
    "monitor sources import FILE.opml": Plan(
        "FILE.opml stands for an OPML file: the one the set-up wrote (feeds.opml)",
        argv=("sources", "import", "{opml}"),
        words=("feeds.opml",),
    ),
    "monitor demo": Plan(
        "runs as written; it starts its own feeds and receiver",
        words=("alerts delivered",),
    ),
}

# Documented commands this version cannot run, and why; each is skipped only while
# `monitor` lacks its subcommand (once it is there, it runs like any other).
NOT_RUNNABLE: dict[str, str] = {}

# Subcommands that run until SIGTERM/SIGINT: started on a fresh database (MONITOR_DATABASE_URL),
# stopped with SIGTERM once the receiver got their first alert (at most RUN_WAIT seconds), and
# expected to exit 0, as docs/operations.md says.
LONG_RUNNING = {"run": "the service runs until SIGTERM: stopped after its first alert"}
RUN_WAIT = 20.0

PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*(\.[a-z]+)?|.*[|<>].*|.*\.\.\..*")


@dataclass(frozen=True)
class Documented:
    """A command as the docs show it, and where."""

    command: str
    places: tuple[str, ...]


def _segments(line: str) -> list[list[str]]:
    """The simple commands of one shell line (split at `&&`, `||`, `;`, `|`), comments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: not a command line
        return []
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token and all(ch in "&|;()" for ch in token):
            segments.append([])
        else:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def _as_command(tokens: list[str]) -> str | None:
    """``monitor ...`` for a segment that runs monitor (``monitor`` or ``.venv/bin/monitor``)."""
    if len(tokens) < 2 or not (tokens[0] == "monitor" or tokens[0].endswith("/monitor")):
        return None
    return " ".join(["monitor", *tokens[1:]])


def _block_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, command line) of every shell-like fenced block."""
    fence: str | None = None
    console = False
    pending = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped[3:].strip().lower()
                console = fence == "console"
            continue
        if stripped.startswith("```"):
            fence = None
            continue
        if fence not in SHELL_BLOCKS:
            continue
        if console:
            if not stripped.startswith("$ "):
                continue  # output, not a command
            stripped = stripped[2:]
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield number, pending + stripped
        pending = ""


def documented_commands() -> list[Documented]:
    """Every distinct ``monitor`` command in the docs, with the places that show it."""
    found: dict[str, list[str]] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(REPO))
        for number, line in _block_lines(text):
            for segment in _segments(line):
                command = _as_command(segment)
                if command:
                    found.setdefault(command, []).append(f"{name}:{number}")
        for number, line in enumerate(text.splitlines(), 1):
            for span in re.findall(r"`(monitor [a-z-][^`]*)`", line):
                command = " ".join(span.replace("\\|", "|").split())
                found.setdefault(command, []).append(f"{name}:{number}")
    return [Documented(command, tuple(places)) for command, places in sorted(found.items())]


def _command_tree() -> dict[str, list[str]]:
    """Each subcommand of ``monitor`` and the subcommands of each group."""
    # Typer's click objects (typer vendors click in recent versions): a group has `commands`.
    commands: dict[str, object] = getattr(typer.main.get_command(app), "commands", {})
    return {name: sorted(getattr(command, "commands", {})) for name, command in commands.items()}


@dataclass
class World:
    """The loopback feeds and receiver, the config and the environment of every command."""

    folder: Path
    cwd: Path
    env: dict[str, str]
    receiver: WebhookReceiver
    values: dict[str, str] = field(default_factory=dict)

    def run(self, argv: list[str], stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        return run_monitor(argv, cwd=self.cwd, env={**self.env, **env}, input=stdin, timeout=60)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("docs")
    (folder / "config" / "watchlists").mkdir(parents=True)
    (folder / "cwd").mkdir()
    shutil.copy(REPO / "config/watchlists/libya.yaml", folder / "config/watchlists/libya.yaml")
    feeds = sorted((REPO / "seeds" / "feeds").glob("*.xml"))
    with FeedServer() as server, WebhookReceiver() as receiver:
        for feed in feeds:
            server.route(f"/{feed.name}", Reply(body=feed.read_bytes()))
        # Feeds without a match for the sources commands: two configured (Wire, Spare), the
        # others new (added and imported by the documented commands).
        extra = ("wire", "spare", "new-a", "new-b", "new-c", "imported-1", "imported-2")
        for name in extra:
            server.route(f"/{name}.xml", Reply(body=QUIET_FEED))
        config = {
            # Relative to the config file, whatever the working directory (docs/config.md).
            "database_url": "sqlite:///monitor.db",
            "poll": {"interval": "10m", "allow_private_networks": True, "tick": "1s", "workers": 0},
            "first_run": "alert_all",
            "sources": [{"name": f.name, "url": server.url(f"/{f.name}")} for f in feeds]
            + [
                {"name": "Wire", "url": server.url("/wire.xml")},
                {"name": "Spare", "url": server.url("/spare.xml")},
            ],
            "watchlists": ["watchlists/libya.yaml"],  # relative to the config file
            "sinks": [
                {
                    "name": "ops",
                    "url": "${MONITOR_WEBHOOK_URL}",
                    "secret": "${MONITOR_WEBHOOK_SECRET}",
                    "retry_schedule": ["1s", "1h"],
                }
            ],
            "delivery": {"tick": "1s"},
        }
        path = folder / "config" / "monitor.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env.update(
            PYTHONPATH=str(REPO),
            MONITOR_CONFIG=str(path),
            MONITOR_WEBHOOK_URL=receiver.url,
            MONITOR_WEBHOOK_SECRET=SECRET,
        )
        world = World(folder, folder / "cwd", env, receiver)
        # Stored articles and deliveries for the commands that read them.
        once = world.run(["once"])
        assert once.returncode == 0, once.stdout + once.stderr
        assert receiver.requests, "the set-up sent no alert: " + once.stdout
        delivery_id = receiver.requests[0].headers["webhook-id"]  # the delivery's id
        # Dead, as after its last retry: what `monitor alerts retry ID` is for.
        with sqlite3.connect(folder / "config" / "monitor.db") as database:
            database.execute("UPDATE deliveries SET status = 'dead' WHERE id = ?", (delivery_id,))
            article_id, article_url = database.execute(
                "SELECT id, canonical_url FROM articles WHERE canonical_url IS NOT NULL "
                "ORDER BY id LIMIT 1"
            ).fetchone()
        database.close()
        # The article files `monitor explain` is shown reading, in the working directory.
        (world.cwd / "article.json").write_text(ONE_ARTICLE, encoding="utf-8")
        (world.cwd / "article.html").write_text(
            "<p>Haftar's forces advanced on Tripoli.</p>", encoding="utf-8"
        )
        # The OPML file `monitor sources import feeds.opml` reads, in the working directory.
        outlines = "".join(
            f'<outline text="Imported {n}" xmlUrl="{server.url(f"/imported-{n}.xml")}"/>'
            for n in (1, 2)
        )
        opml = world.cwd / "feeds.opml"
        opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
        world.values = {
            "delivery_id": delivery_id,
            "article_id": str(article_id),
            "article_url": article_url,
            "watchlist": str(folder / "config" / "watchlists" / "libya.yaml"),
            "articles": str(REPO / "seeds" / "articles.jsonl"),
            "opml": str(opml),
            "spare_feed": server.url("/spare.xml"),
            **{f"new_feed_{x}": server.url(f"/new-{x}.xml") for x in "abc"},
        }
        yield world


def _placeholders(command: str) -> list[str]:
    return [token for token in command.split()[1:] if PLACEHOLDER.fullmatch(token)]


TOP_LEVEL_VALUES = {"--log-level", "--log-format"}  # options of `monitor` that take a value


def _subcommand(words: list[str]) -> list[str]:
    """The subcommand path (``["alerts", "retry"]``) of the arguments after ``monitor``;
    empty for ``monitor --help``."""
    tree = _command_tree()
    names: list[str] = []
    skip = False
    for word in words:
        if skip or word.startswith("-"):
            skip = word in TOP_LEVEL_VALUES
            continue
        names.append(word)
    if not names or names[0] not in tree:
        return names[:1]
    if names[1:2] and names[1] in tree[names[0]]:
        return names[:2]
    return names[:1]


COMMANDS = documented_commands()


def test_the_docs_show_the_main_commands() -> None:
    # A broken extractor must not make the test below pass on nothing.
    shown = {doc.command for doc in COMMANDS}
    assert {"monitor demo", "monitor run", "monitor check", "monitor once"} <= shown, shown
    assert len(shown) >= 10, shown


def test_every_subcommand_of_monitor_help_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    help_text = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ).stdout
    missing = []
    for name, children in _command_tree().items():
        assert name in help_text, f"`{name}` is not in `monitor --help`:\n{help_text}"
        for words in [[name], *([name, child] for child in children)]:
            if f"monitor {' '.join(words)}" not in readme:
                missing.append(f"monitor {' '.join(words)}")
    assert not missing, f"README.md does not mention: {', '.join(missing)}"


def cannot_run(command: str) -> str | None:
    """Why this test does not know how to run a documented command, or None."""
    path = _subcommand(command.split()[1:])
    if path and path[0] not in _command_tree():
        return "`monitor` has no such subcommand"
    if command not in SPECIAL and _placeholders(command):
        return (
            f"it has placeholders {_placeholders(command)}: add a row to SPECIAL in "
            "tests/docs/test_documented_commands.py saying how to run it"
        )
    return None


def test_a_command_the_test_cannot_run_makes_it_fail() -> None:
    assert cannot_run("monitor sources --json") is None
    assert cannot_run("monitor alerts retry ID") is None  # a SPECIAL row
    assert cannot_run("monitor --help") is None
    assert cannot_run("monitor --log-level debug once") is None
    assert cannot_run("monitor --log-format json --log-level debug run") is None
    assert cannot_run("monitor frobnicate --now")
    assert cannot_run("monitor alerts retry OTHER_ID")
    assert cannot_run("monitor replay --against OLD.yaml")
    assert _segments(".venv/bin/pip install -e '.[dev]' && .venv/bin/monitor demo  # go") == [
        [".venv/bin/pip", "install", "-e", ".[dev]"],
        [".venv/bin/monitor", "demo"],
    ]


@pytest.mark.parametrize("doc", COMMANDS, ids=[doc.command for doc in COMMANDS])
def test_documented_command_runs_as_documented(world: World, doc: Documented) -> None:
    where = ", ".join(doc.places)
    if doc.command in NOT_RUNNABLE and _subcommand(doc.command.split()[1:])[0] not in (
        _command_tree()
    ):
        pytest.skip(f"{doc.command!r} ({where}): {NOT_RUNNABLE[doc.command]}")
    problem = cannot_run(doc.command)
    if problem:
        pytest.fail(f"{doc.command!r} ({where}): {problem}")
    plan = SPECIAL.get(doc.command)
    written = doc.command.split()[1:]
    path = _subcommand(written)
    if path and path[0] in LONG_RUNNING:
        _run_until_first_alert(world, written, where)
        return
    plan = plan or Plan("runs as written")
    argv = [arg.format(**world.values) for arg in plan.argv] if plan.argv else written
    result = world.run(argv, plan.stdin)
    shown = f"$ monitor {' '.join(argv)}  ({where})\n{result.stdout}\n{result.stderr}"
    assert result.returncode == plan.exit_code, shown
    assert TRACEBACK not in result.stdout + result.stderr, shown
    for word in plan.words:
        assert word in result.stdout + result.stderr, shown


def _run_until_first_alert(world: World, argv: list[str], where: str) -> None:
    before = len(world.receiver.requests)
    fresh = f"sqlite:///{world.folder / f'run-{before}.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", *argv],
        cwd=world.cwd,
        env={**world.env, "MONITOR_DATABASE_URL": fresh},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + RUN_WAIT
    while (
        time.monotonic() < deadline
        and process.poll() is None
        and len(world.receiver.requests) == before
    ):
        time.sleep(0.1)
    alerted = len(world.receiver.requests) > before
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = process.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    shown = f"$ monitor {' '.join(argv)}  ({where})\n{stdout}\n{stderr}"
    assert alerted, f"no alert within {RUN_WAIT:.0f} s\n" + shown
    assert process.returncode == 0, shown
    assert TRACEBACK not in stdout + stderr, shown


def _readme_block(language: str, containing: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if containing in b]
    return str(block)


def _keys(value: object) -> object:
    """The shape of a JSON value: its keys, nested (lists by their first item)."""
    if isinstance(value, dict):
        return {key: _keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return None


ZULU = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00")


def test_the_readme_alert_has_the_shape_and_times_of_a_real_one(world: World) -> None:
    shown = json.loads(_readme_block("json", '"watchlist.match"'))
    real = next(
        r.json
        for r in world.receiver.requests
        if isinstance(r.json, dict) and r.json["data"]["article"]["published"]
    )
    assert isinstance(real, dict)
    assert _keys(shown) == _keys(real)
    for payload in (shown, real):
        assert ZULU.fullmatch(payload["timestamp"]), payload["timestamp"]
        assert ZULU.fullmatch(payload["data"]["article"]["published"]), payload["data"]


def test_the_readme_verify_function_accepts_a_real_alert(world: World) -> None:
    namespace: dict[str, object] = {}
    exec(_readme_block("python", "def verify"), namespace)
    verify = namespace["verify"]
    assert callable(verify)
    request = world.receiver.requests[0]
    assert verify(SECRET, dict(request.headers), request.body) is True
    assert verify(SECRET, dict(request.headers), request.body + b" ") is False


def test_cli_json_times_are_written_as_the_readme_says(world: World) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "writes UTC times with `+00:00`" in " ".join(readme.split())
    listed = world.run(["sources", "--json"])
    assert listed.returncode == 0, listed.stderr
    # The first polled one: the documented sources commands add sources not polled yet.
    first = next(row for row in json.loads(listed.stdout) if row["last_polled_at"])
    assert OFFSET.fullmatch(first["last_polled_at"]), first


def test_the_sqlite_lock_is_the_file_operations_md_names(world: World) -> None:
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "`news.db` -> `news.db.monitor-lock`" in operations
    database = world.folder / "config" / "monitor.db"
    assert database.exists()
    assert database.with_name("monitor.db.monitor-lock").exists()
