"""`check` and `once` give one verdict on every config: broken configs and environments are
refused by both with the same messages (file or variable, field, fix), never a traceback; a
relative SQLite path means the config file's folder; the read-only commands never create a
database. Every command runs as a subprocess from a folder other than the config's."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.support.cli import run_monitor
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

REPO = Path(__file__).resolve().parents[2]
LIBYA = REPO / "config" / "watchlists" / "libya.yaml"
SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><guid>a</guid><title>Weather in Oslo</title><description>Rain.</description></item>
</channel></rss>"""


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    result = run_monitor(
        args, cwd=cwd, env={**base, "PYTHONPATH": str(REPO), **(env or {})}, timeout=120
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def errors_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@dataclass
class Case:
    """A config (as data, or raw bytes), environment, and a piece of its expected error."""

    name: str
    expected: str
    change: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    files: dict[str, str] = field(default_factory=dict)


def base_config(feed_url: str, sink_url: str) -> dict[str, object]:
    return {
        "database_url": "sqlite:///data/m.db",
        "poll": {"allow_private_networks": True},
        "sources": [{"name": "Wire", "url": feed_url}],
        "watchlists": [str(LIBYA)],
        "sinks": [{"name": "ops", "url": sink_url, "secret": SECRET}],
    }


def sink(**changes: object) -> dict[str, object]:
    return {"name": "ops", "url": "http://127.0.0.1:9/h", "secret": SECRET, **changes}


BROKEN_WATCHLIST = "entities:\n  - id: haftar\n    nmaes: [Haftar]\n"
CASES = [
    Case("poll interval 0s", "poll.interval (how often a source is polled): must be longer than 0s",
         {"poll": {"interval": "0s", "allow_private_networks": True}}),
    Case("total timeout 0s", "fetch.total_timeout (the longest a whole request may take): must be",
         {"fetch": {"total_timeout": "0s"}}),
    Case("retention 0s", "retention (how long articles are kept): must be longer than 0s",
         {"retention": "0s"}),
    Case("sink timeout 0s", "sinks[0].timeout (the longest one delivery attempt may take): must",
         {"sinks": [sink(timeout="0s")]}),
    Case("empty retry schedule", "sinks[0].retry_schedule (the waits between delivery attempts): "
         "must not be empty", {"sinks": [sink(retry_schedule=[])]}),
    Case("unsigned sink", "sinks[0]: has no secret, so its alerts could not be signed; set secret: "
         "whsec_<base64> (shared with the receiver), or write signing: none to send them unsigned",
         {"sinks": [{"name": "ops", "url": "http://127.0.0.1:9/h"}]}),
    Case("secret and signing none", "sinks[0]: has a secret and signing: none",
         {"sinks": [sink(signing="none")]}),
    Case("two sinks one name", "sinks[1].name: 'ops' is already the name of sinks[0]",
         {"sinks": [sink(), sink()]}),
    Case("watchlist twice", f"watchlists[1]: {LIBYA} is already listed as watchlists[0]",
         {"watchlists": [str(LIBYA), str(LIBYA)]}),
    Case("one URL, two intervals", "lists the URL http://127.0.0.1:9/f.xml of sources[0] ('A') "
         "with other settings (interval 10m there, 5m here)",
         {"sources": [{"name": "A", "url": "http://127.0.0.1:9/f.xml"},
                      {"name": "B", "url": "http://127.0.0.1:9/f.xml", "interval": "5m"}]}),
    Case("misspelled key", "poll.intervall: unknown key 'intervall'; did you mean 'interval'?",
         {"poll": {"intervall": "5m"}}),
    Case("unknown routed sink", "watchlists[0].sinks: unknown sink 'opps'; did you mean 'ops'?",
         {"watchlists": [{"file": str(LIBYA), "sinks": ["opps"]}]}),
    Case("missing watchlist", "watchlist file", {"watchlists": ["nowhere.yaml"]}),
    Case("one watchlist written two ways", "watchlists[1]: {tmp}/wl.yaml is already listed as "
         "watchlists[0]", {"watchlists": ["wl.yaml", "data/../wl.yaml"]},
         files={"wl.yaml": "entities:\n  - id: a\n    names: [Haftar]\n"}),
    Case("a folder as a watchlist", "watchlists[0]: {tmp}/data is a folder: name each watchlist "
         "file", {"watchlists": ["data"]}),
    Case("broken watchlist", "entities[0].nmaes: unknown key 'nmaes': did you mean 'names'?",
         {"watchlists": ["broken.yaml"]}, files={"broken.yaml": BROKEN_WATCHLIST}),
    Case("rule naming a misspelled entity", "unknown entity 'hafter': did you mean 'haftar'?",
         {"watchlists": ["rule.yaml"]},
         files={"rule.yaml": "entities:\n  - id: haftar\n    names: [Haftar]\nrules:\n"
                "  - name: r\n    expr: hafter\n"}),
    Case("not UTF-8", "not UTF-8 text", raw=b"poll:\n  interval: \xff\xfe\n"),
    Case("not YAML", "not valid YAML", raw=b"poll:\n  interval: [5m\n"),
    Case("a list, not a mapping", "must be a mapping of keys", raw=b"- a\n- b\n"),
    Case("watchlists variable not JSON", "environment variable MONITOR_WATCHLISTS: not JSON",
         env={"MONITOR_WATCHLISTS": "watchlists/libya.yaml"}),
    Case("sources variable not JSON", "environment variable MONITOR_SOURCES: not JSON",
         env={"MONITOR_SOURCES": "notjson"}),
    Case("interval variable 0s", "environment variable MONITOR_POLL__INTERVAL (overriding ",
         env={"MONITOR_POLL__INTERVAL": "0s"}),
    Case("concurrency variable not a number", "environment variable MONITOR_POLL__CONCURRENCY",
         env={"MONITOR_POLL__CONCURRENCY": "eight"}),
    Case("first_run variable bogus", "environment variable MONITOR_FIRST_RUN",
         env={"MONITOR_FIRST_RUN": "bogus"}),
    Case("sink URL not http", "sinks[0].url (where alerts are POSTed): url must be an http",
         {"sinks": [sink(url="ftp://127.0.0.1/h")]}),
    Case("secret not base64", "sinks[0].secret: webhook secret starts with 'whsec_' but the rest "
         "is not base64", {"sinks": [sink(secret="whsec_!!!")]}),
    Case("unset variable in sink", "sinks[0].url: environment variable NO_SUCH_HOOK_URL is not set",
         {"sinks": [sink(url="${NO_SUCH_HOOK_URL}")]}),
    Case("min above max interval", "min_interval must not be larger than max_interval",
         {"poll": {"min_interval": "2h", "max_interval": "1h"}}),
    Case("source URL gopher", "sources[0].url (the feed's URL): url must be an http",
         {"sources": [{"name": "G", "url": "gopher://x"}]}),
    Case("first_run misspelled", "'store-only' is not one of 'store_only', 'alert_recent' or "
         "'alert_all'; did you mean 'store_only'?", {"first_run": "store-only"}),
    Case("SQLite URL without a file", "names no database file", {"database_url": "sqlite://"}),
    Case("missing OPML file", "sources[0].opml:", {"sources": [{"opml": "none.opml"}]}),
    Case("format misspelled", "did you mean 'slack'?", {"sinks": [sink(format="slak")]}),
    Case("concurrency 0", "poll.concurrency (feeds fetched at once): must be at least 1, got 0",
         {"poll": {"concurrency": 0}}),
    Case("a key written twice", "key 'database_url' appears twice (first on line 1): merge the "
         "two", raw=b"database_url: sqlite:///x.db\ndatabase_url: sqlite:///y.db\n"),
    Case("a database it does not run on", "database_url (where articles and alerts are stored): "
         "only sqlite:///FILE and postgresql+psycopg://", {"database_url": "mysql://u@h/db"}),
    Case("that database from the environment", "environment variable MONITOR_DATABASE_URL "
         "(overriding", env={"MONITOR_DATABASE_URL": "mysql://u@h/db"}),
    Case("a list item from the environment", "environment variable MONITOR_SINKS__0__URL "
         "(overriding", env={"MONITOR_SINKS__0__URL": "ftp://127.0.0.1/h"}),
    Case("an alias bomb", "its aliases (*name) expand to more than 1,000,000 values",
         raw=b"a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + b"".join(
             f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n".encode() for n in range(1, 9)
         )),
    Case("port not a number", "sources[0].url (the feed's URL): url is not a valid URL (Port "
         "could not be cast to integer value as 'abc')",
         {"sources": [{"name": "P", "url": "http://127.0.0.1:abc/f.xml"}]}),
    Case("unclosed IPv6 host", "url is not a valid URL (Invalid IPv6 URL)",
         {"sinks": [sink(url="http://[::1/h")]}),
    Case("secret only spaces", "sinks[0].secret: webhook secret is empty or only spaces",
         {"sinks": [sink(secret="   ")]}),
    Case("source name empty", "sources[0].name (the source's name in alerts): must not be empty",
         {"sources": [{"name": "", "url": "http://127.0.0.1:9/f.xml"}]}),
]  # fmt: skip


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[str, str]]:
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/f.xml", Reply(body=FEED))
        yield feeds.url("/f.xml"), receiver.url


def write_case(folder: Path, case: Case, feed_url: str, sink_url: str) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "elsewhere").mkdir(exist_ok=True)
    for name, text in case.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    config = folder / "monitor.yaml"
    if case.raw is not None:
        config.write_bytes(case.raw)
    else:
        data = {**base_config(feed_url, sink_url), **case.change}
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def test_check_and_once_refuse_every_broken_config_alike(
    tmp_path: Path, services: tuple[str, str]
) -> None:
    assert len(CASES) >= 30

    def verdicts(index: int) -> tuple[Case, list[str], list[str], int, int]:
        case = CASES[index]
        folder = tmp_path / f"case{index}"
        config = write_case(folder, case, *services)
        elsewhere = folder / "elsewhere"
        checked = run("check", "--config", str(config), cwd=elsewhere, env=case.env)
        once = run("once", "--config", str(config), cwd=elsewhere, env=case.env)
        return case, errors_of(checked), errors_of(once), checked.returncode, once.returncode

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(verdicts, range(len(CASES))))
    for case, check_errors, once_errors, check_code, once_code in results:
        assert check_code == 1, (case.name, check_errors)
        assert once_code == 2, (case.name, once_errors)
        # {tmp}: the case's folder (where its config file is).
        expected = case.expected.replace("{tmp}", str(tmp_path / f"case{CASES.index(case)}"))
        assert any(expected in line for line in check_errors), (case.name, check_errors)
        # Whatever `once` refuses, `check` reported first, in the same words.
        assert once_errors and set(once_errors) <= set(check_errors), (
            case.name,
            once_errors,
            check_errors,
        )
        assert not (tmp_path / f"case{CASES.index(case)}" / "data" / "m.db").exists(), case.name


def test_a_valid_config_passes_both_and_the_database_is_beside_the_config(
    tmp_path: Path, services: tuple[str, str]
) -> None:
    config = write_case(tmp_path, Case("valid", ""), *services)
    elsewhere = tmp_path / "elsewhere"
    checked = run("check", "--config", str(config), cwd=elsewhere)
    assert checked.returncode == 0, checked.stderr
    assert "config OK" in checked.stdout
    once = run("once", "--config", str(config), cwd=elsewhere)
    assert once.returncode == 0, once.stdout + once.stderr
    # `sqlite:///data/m.db` is relative to the config file, not to the working directory.
    assert (tmp_path / "data" / "m.db").is_file()
    assert not (elsewhere / "data").exists()
    listed = run("sources", "--config", str(config), cwd=tmp_path.parent)
    assert listed.returncode == 0 and "Wire" in listed.stdout


def test_nothing_to_poll_is_a_warning_in_check_and_a_log_line_of_once(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text("database_url: sqlite:///m.db\nsources: []\n", encoding="utf-8")
    expected = [
        f"{config}: sources: no sources, so nothing is polled; add sources (or an opml: file)",
        f"{config}: watchlists: no watchlists, so articles are stored but nothing matches; add "
        "a watchlist file",
    ]
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 0, checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: {text}" for text in expected]
    once = run("once", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert once.returncode == 0, once.stderr
    for text in expected:
        assert f"WARNING monitor: {text}" in once.stderr


def test_an_unsigned_sink_on_purpose_is_accepted_and_named(
    tmp_path: Path, services: tuple[str, str]
) -> None:
    feed_url, sink_url = services
    change = {"sinks": [{"name": "ops", "url": sink_url, "signing": "none"}]}
    config = write_case(tmp_path, Case("unsigned", "", change), feed_url, sink_url)
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 0, checked.stderr
    assert (
        f"warning: {config}: sinks[0] (ops): signing: none: its alerts are sent unsigned; the "
        "receiver cannot tell them from forged ones"
    ) in checked.stderr.splitlines()


def test_a_secret_wrapped_by_base64_is_accepted(tmp_path: Path, services: tuple[str, str]) -> None:
    feed_url, sink_url = services
    wrapped = "whsec_" + base64.encodebytes(b"s" * 64).decode().strip()  # a line break inside
    assert "\n" in wrapped
    change = {"sinks": [{"name": "ops", "url": sink_url, "secret": wrapped}]}
    config = write_case(tmp_path, Case("wrapped", "", change), feed_url, sink_url)
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("command", [["sources"], ["alerts"], ["replay"], ["alerts", "retry"]])
def test_read_only_commands_never_create_a_database(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "elsewhere").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database_url: sqlite:///rel.db\nwatchlists: [{LIBYA}]\nsources: []\n", encoding="utf-8"
    )
    result = run(*command, "--config", str(config), cwd=tmp_path / "elsewhere")
    assert result.returncode == 2
    assert errors_of(result) == [
        f"error: no database at {tmp_path / 'rel.db'}: this command needs an existing one; "
        "check database_url (a relative path is relative to the config file), or run `monitor "
        "once` or `monitor db upgrade` to create it"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "monitor.yaml"]
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_every_problem_of_a_watchlist_in_one_run(tmp_path: Path) -> None:
    watchlist = tmp_path / "wl.yaml"
    watchlist.write_text(
        """\
entities:
  - id: haftar
    names: [Haftar]
    exampels: {match: ["Haftar spoke"]}
  - id: tripoli
    kind: plcae
    names: [Tripoli]
  - id: Bad-Id
    names: [Benghazi]
  - id: misrata
    names: [Misrata]
    examples:
      match: ["Fighting near Sirte"]
rules:
  - name: clash
    expr: hafter AND misrata
""",
        encoding="utf-8",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(f"database_url: sqlite:///m.db\nwatchlists: [{watchlist}]\n", "utf-8")
    (tmp_path / "elsewhere").mkdir()
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 1
    assert errors_of(checked) == [
        f"error: {watchlist}:4: entities[0].exampels: unknown key 'exampels': did you mean "
        "'examples'?",
        f"error: {watchlist}:6: entities[1].kind: 'plcae' is not allowed: use 'person', "
        "'organization', 'place', 'group', 'event', 'topic' or 'other'; did you mean 'place'?",
        f"error: {watchlist}:8: entities[2].id: 'Bad-Id' is not a valid id: use lower-case "
        "letters, digits and _ starting with a letter (e.g. haftar, tripoli_lebanon)",
        f"error: {watchlist}:16: rules[0].expr: rule 'clash': unknown entity 'hafter': did you "
        "mean 'haftar'? (or quote a word: \"hafter\") at character 1 of 'hafter AND misrata'",
        f"error: {watchlist}:13: entities[3].examples.match[0]: (watchlist 'wl') entity "
        "'misrata': example 'Fighting near Sirte' should mention it but does not",
    ]
    assert checked.stderr.splitlines()[-1] == "5 problems found"


def test_a_mistyped_url_never_shows_its_password(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "sources:\n  - name: A\n    url: https//user:hunter2@example.org/feed\n", "utf-8"
    )
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert "hunter2" not in checked.stdout + checked.stderr
    assert errors_of(checked) == [
        f"error: {config}:3: sources[0].url (the feed's URL): url must be an http:// or "
        "https:// URL, got 'https//REDACTED@example.org/feed'"
    ]


def test_replay_since_takes_a_date_and_names_what_it_takes(
    tmp_path: Path, services: tuple[str, str]
) -> None:
    config = write_case(tmp_path, Case("valid", ""), *services)
    elsewhere = tmp_path / "elsewhere"
    assert run("once", "--config", str(config), cwd=elsewhere).returncode == 0
    for since in ("2026-01-01", "2026-01-01T06:00", "2026-01-01T06:00+02:00", "7d"):
        replayed = run("replay", "--since", since, "--json", "--config", str(config), cwd=elsewhere)
        assert replayed.returncode == 0, (since, replayed.stderr)
    # Longer than any article can be old: all of them, not a traceback (an outside probe).
    for command in ("replay", "stories"):
        ever = run(
            command, "--since", "99999999d", "--json", "--config", str(config), cwd=elsewhere
        )
        assert ever.returncode == 0 and "Traceback" not in ever.stderr, ever.stderr
        json.loads(ever.stdout)
    huge = run("alerts", "--limit", "99999999999999999999", "--config", str(config), cwd=elsewhere)
    assert huge.returncode == 2 and "Traceback" not in huge.stderr, huge.stderr
    bogus = run("replay", "--since", "last week", "--config", str(config), cwd=elsewhere)
    assert bogus.returncode == 2
    assert errors_of(bogus) == [
        "error: --since: 'last week' is neither a duration (24h, 7d) nor a date or time "
        "(2026-12-01, 2026-12-01T06:00, 2026-12-01T06:00+02:00)"
    ]


def test_sources_shows_the_last_error_without_repeating_the_url(tmp_path: Path) -> None:
    down = "http://127.0.0.1:9/feed.xml"  # the discard port: nothing listens
    config = write_case(tmp_path, Case("down", "", {"sources": [{"name": "Down", "url": down}]}),
                        "unused", "http://127.0.0.1:9/h")  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    run("once", "--config", str(config), cwd=elsewhere)
    listed = run("sources", "--config", str(config), cwd=elsewhere, env={"COLUMNS": "400"})
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "Down" in line)
    assert "connect_error: " in row and down not in row, row


def test_a_password_in_the_database_url_query_is_never_shown(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text("sources: []\n", "utf-8")
    url = "postgresql+psycopg:///db?password=PGPASS_6&host=127.0.0.1&port=1"  # nothing listens
    for command in (["sources"], ["once"], ["db", "upgrade"]):
        result = run(*command, "--config", str(config), cwd=tmp_path / "elsewhere",
                     env={"MONITOR_DATABASE_URL": url})  # fmt: skip
        assert result.returncode == 2, (command, result.stderr)
        assert "PGPASS_6" not in result.stdout + result.stderr, command
        assert "password=REDACTED" in result.stderr, (command, result.stderr)


def test_check_says_which_notes_come_from_a_watchlist_with_problems(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "wl.yaml").write_text(
        "entities:\n  - id: a\n    names: [Alpha]\n  - id: b\n    nmaes: [Beta]\n"
        # no names: refused once, not again by each of its examples (probe72)
        "  - id: c\n    names: []\n    examples: {match: [Gamma here, Gamma there]}\n",
        "utf-8",
    )
    (tmp_path / "list.opml").write_text("<opml><body><outline", "utf-8")  # not readable
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database_url: sqlite:///m.db\nwatchlists: [wl.yaml]\nsources:\n  - opml: list.opml\n",
        "utf-8",
    )
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        f"checked: watchlist 'wl' ({tmp_path / 'wl.yaml'}) has problems (see the errors); "
        "the examples of the 2 entities that load: all hold",
        "checked: sources: not all could be read (see the errors)",
    ]
    assert "has no names or acronyms" in checked.stderr
    assert "should mention it" not in checked.stderr


def test_an_interval_outside_the_bounds_and_a_name_used_twice_are_warnings(
    tmp_path: Path, services: tuple[str, str]
) -> None:
    feed_url, sink_url = services
    change = {
        "sources": [
            {"name": "Wire", "url": feed_url, "interval": "10s"},
            {"name": "Wire", "url": feed_url + "?page=2"},
        ]
    }
    config = write_case(tmp_path, Case("bounds", "", change), feed_url, sink_url)
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 0, checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if line.startswith("warning:")]
    line = next(
        number
        for number, text in enumerate(config.read_text(encoding="utf-8").splitlines(), 1)
        if "interval: 10s" in text
    )
    assert warnings == [
        f"warning: {config}:{line}: sources[0].interval: 10s is outside poll.min_interval, so "
        "1m is "
        "used; change one of them",
        f"warning: {config}: two sources are named 'Wire' ({feed_url} and {feed_url}?page=2); "
        "alerts and `monitor sources` cannot tell them apart: give each its own name",
    ]


def test_a_settings_problem_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
poll:
  intervall: 5m
sources:
  - opml: missing.opml
watchlists: [{LIBYA}]
sinks:
  - name: ops
    url: http://127.0.0.1:9/a
    secret: {SECRET}
  - name: ops
    url: http://127.0.0.1:9/b
    secret: {SECRET}
  - name: pager
    url: http://127.0.0.1:9/c
    secret: ${{NO_SUCH_SECRET}}
""",
        "utf-8",
    )
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    errors = errors_of(checked)
    assert len(errors) == 4, checked.stderr
    assert errors[0].startswith(f"error: {config}:2: poll.intervall: unknown key")
    assert errors[1] == (
        f"error: {config}:10: sinks[1].name: 'ops' is already the name of sinks[0]; give each "
        "sink its own name (alerts are routed and recorded by sink name)"
    )
    assert errors[2] == (
        f"error: {config}: sinks[2].secret: environment variable NO_SUCH_SECRET is not set (or "
        "is empty); set it (export NO_SUCH_SECRET=...) or write the value in the file"
    )
    assert errors[3].startswith(f"error: {config}:4: sources[0].opml: ")
    assert "missing.opml" in errors[3]


def test_a_mistyped_variable_is_named_not_ignored_silently(
    tmp_path: Path, services: tuple[str, str]
) -> None:
    config = write_case(tmp_path, Case("valid", ""), *services)
    env = {
        "MONITOR_DATABSE_URL": "sqlite:///other.db",
        "MONITOR_POLLL__INTERVAL": "5m",
        "MONITOR_WEBHOOK_URL": "http://127.0.0.1:9/h",  # a user's own variable: not named
    }
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere", env=env)
    assert checked.returncode == 0, checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: environment variable MONITOR_DATABSE_URL names no setting, so it is ignored; "
        "did you mean MONITOR_DATABASE_URL?",
        "warning: environment variable MONITOR_POLLL__INTERVAL names no setting, so it is "
        "ignored; did you mean MONITOR_POLL__INTERVAL?",
    ]


def test_the_delivery_log_line_names_the_article(tmp_path: Path) -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><guid>h1</guid><link>http://127.0.0.1/news/h1?token=SECRET1</link>
<title>Haftar visits Tripoli</title><description>Talks.</description></item>
</channel></rss>"""
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/h.xml", Reply(body=feed))
        change = {"first_run": "alert_all", "sources": [{"name": "W", "url": feeds.url("/h.xml")}]}
        config = write_case(tmp_path, Case("log", "", change), feeds.url("/h.xml"), receiver.url)
        once = run("once", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert once.returncode == 0, once.stderr
    (line,) = [line for line in once.stderr.splitlines() if " delivered " in line]
    assert (
        "INFO monitor.delivery: delivered 'Haftar visits Tripoli' (http://127.0.0.1/news/h1" in line
    )
    assert "token=REDACTED; libya; delivery " in line and line.endswith(" to ops"), line
    assert "SECRET1" not in once.stderr


@pytest.mark.parametrize(
    ("secret", "said"),
    [
        # `openssl rand -hex 32`: signed with its text, while the README's verify (and the
        # standardwebhooks libraries) decode base64 after whsec_: every alert rejected.
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "does not start"),
        # A space before whsec_: the whole text is the key (after whsec_ spaces are dropped).
        (" " + SECRET, "line end"),
    ],
)
def test_a_secret_receivers_will_not_verify_is_a_warning_that_shows_no_secret(
    tmp_path: Path, services: tuple[str, str], secret: str, said: str
) -> None:
    feed_url, sink_url = services
    change = {"sinks": [{"name": "ops", "url": sink_url, "secret": secret}]}
    config = write_case(tmp_path, Case("loose", "", change), feed_url, sink_url)
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 0, checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "sinks[0].secret ('ops')" in warnings[0], warnings
    assert said in warnings[0]
    assert secret.strip()[6:20] not in checked.stdout + checked.stderr


def test_a_whsec_secret_without_its_padding_is_a_warning_that_shows_no_secret(
    tmp_path: Path, services: tuple[str, str]
) -> None:
    # It signs (the padding is put back, as the reference library does), but a receiver
    # decoding it with Python's base64.b64decode rejects every alert.
    feed_url, sink_url = services
    unpadded = "whsec_" + base64.b64encode(b"key-of-25-bytes-for-sinks").decode().rstrip("=")
    change = {"sinks": [{"name": "ops", "url": sink_url, "secret": unpadded}]}
    config = write_case(tmp_path, Case("padding", "", change), feed_url, sink_url)
    checked = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert checked.returncode == 0, checked.stderr
    warnings = [line for line in checked.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "sinks[0].secret ('ops')" in warnings[0], warnings
    assert "base64.b64decode" in warnings[0]
    assert unpadded[6:20] not in checked.stdout + checked.stderr
    padded = {"sinks": [{"name": "ops", "url": sink_url, "secret": SECRET}]}
    config = write_case(tmp_path, Case("padded", "", padded), feed_url, sink_url)
    quiet = run("check", "--config", str(config), cwd=tmp_path / "elsewhere")
    assert "warning:" not in quiet.stderr, quiet.stderr
