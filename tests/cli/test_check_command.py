"""`monitor check`: every problem named with file, line/field and fix; non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.helpers import LIBYA_WATCHLIST, REPO, rss, write_config
from tests.support.cli import run_monitor
from tests.support.feed_server import FeedServer, Reply


def monitor(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return run_monitor(args, cwd=cwd or REPO, env=full_env, input=stdin, timeout=120)


def test_three_problems_three_messages(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database_url: sqlite:///{tmp_path}/m.db
poll:
  intervall: 5m
sources:
  - name: Wire
    url: https://example.org/rss.xml
watchlists:
  - {LIBYA_WATCHLIST}
  - file: watchlists/missing.yaml
  - file: {LIBYA_WATCHLIST}
    sinks: [pager]
sinks:
  - name: ops
    url: https://hooks.example.org/x
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
""",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 4, result.stderr
    wrong, missing, unknown, twice = errors
    assert f"{config}:3" in wrong and "poll.intervall" in wrong and "unknown key" in wrong
    assert "watchlists[1]" in missing and "missing.yaml" in missing and "not found" in missing
    assert "watchlists[2].sinks" in unknown and "'pager'" in unknown and "ops" in unknown
    assert twice.endswith(
        f"watchlists[2]: {LIBYA_WATCHLIST} is already listed as watchlists[0]; "
        "list each watchlist once (give one entry every sink it should alert)"
    )


def test_shipped_config_checks_with_secrets_set() -> None:
    env = {
        "MONITOR_WEBHOOK_URL": "https://hooks.example.org/news",
        "MONITOR_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
    result = monitor("check", env=env)
    assert result.returncode == 0, result.stderr
    assert "config OK" in result.stdout


def test_unset_secret_is_named_for_check_but_not_for_match(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_WEBHOOK")}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "check"],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "MONITOR_WEBHOOK_URL is not set" in result.stderr
    matched = subprocess.run(
        [sys.executable, "-m", "monitor", "match", "--jsonl", "-"],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        input='{"id": 1, "title": "Haftar visits Tripoli"}\n',
        timeout=120,
    )
    assert matched.returncode == 0, matched.stderr
    assert '"entity": "haftar"' in matched.stdout


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text("poll:\n  interval: 5m\n   bad: [\n", encoding="utf-8")
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    assert f"{config}:" in result.stderr and "YAML" in result.stderr


def test_missing_config_file_says_how_to_fix(tmp_path: Path) -> None:
    result = monitor("check", "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2  # could not start, as every command without its config
    assert "config file not found" in result.stderr and "--config" in result.stderr
    assert "problem found" not in result.stderr


def test_a_bad_secret_is_named_beside_a_source_that_does_not_load(tmp_path: Path) -> None:
    # An outside probe (probe85): a source's bad port stopped the settings from loading and
    # the bad secret came only in a second round, where `check` promises every problem at
    # once.
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database_url: sqlite:///{tmp_path}/m.db
watchlists: [{LIBYA_WATCHLIST}]
sources:
  - {{name: A, url: "https://example.org:99999/a.xml"}}
sinks:
  - name: ops
    url: https://hooks.example.org/x
    secret: whsec_!!!notbase64
""",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, result.stderr
    assert "sources[0]" in errors[0] and "99999" in errors[0], errors
    assert errors[1].startswith(f"error: {config}:8: sinks[0].secret: "), errors
    assert "whsec_ followed by base64" in errors[1], errors


def test_an_http_host_that_is_no_address_of_this_machine_is_named(tmp_path: Path) -> None:
    # An outside probe (probe85): `check` said "config OK" for http.host 192.0.2.10, and
    # `run` then refused to start, telling the operator to change the port.
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database_url: sqlite:///{tmp_path}/m.db
watchlists: [{LIBYA_WATCHLIST}]
http: {{host: 192.0.2.10, port: 18099}}
""",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    assert f"error: {config}:3: http.host: " in result.stderr, result.stderr
    assert "'192.0.2.10' is no address of this machine; set http.host" in result.stderr
    assert "http.port" not in result.stderr
    config.write_text(config.read_text().replace("192.0.2.10", "127.0.0.1"), encoding="utf-8")
    assert "http.host" not in monitor("check", "--config", str(config)).stderr


def test_a_key_of_another_kind_of_source_entry_is_not_offered_as_itself(tmp_path: Path) -> None:
    # An outside probe (probe85): "sources[0].name: unknown key 'name'; did you mean 'name'?"
    # for a name beside opml:.
    (tmp_path / "f.opml").write_text(
        '<opml version="2.0"><body><outline type="rss" text="A" '
        'xmlUrl="https://example.org/a.xml"/></body></opml>',
        encoding="utf-8",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database_url: sqlite:///{tmp_path}/m.db
watchlists: [{LIBYA_WATCHLIST}]
sources:
  - name: Libya feeds
    opml: f.opml
""",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    assert "did you mean 'name'" not in result.stderr, result.stderr
    assert "sources[0].name: unknown key 'name' in this kind of entry" in result.stderr


def test_an_include_and_an_opml_entry_of_the_config_name_their_lines(tmp_path: Path) -> None:
    # An outside probe (probe85): "monitor.yaml: sources[1].include: ..." where every other
    # problem of the file names its line.
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database_url: sqlite:///{tmp_path}/m.db
watchlists: [{LIBYA_WATCHLIST}]
sources:
  - {{name: A, url: "https://example.org/a.xml"}}
  - include: nothere.yaml
  - opml: missing.opml
""",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(": sources")[0] for e in errors] == [
        f"error: {config}:5",
        f"error: {config}:6",
    ], result.stderr


def test_bad_secret_is_named(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
watchlists: [{LIBYA_WATCHLIST}]
sinks:
  - name: ops
    url: https://hooks.example.org/x
    secret: whsec_not*base64!
""",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    assert "sinks[0].secret" in result.stderr and "base64" in result.stderr


def test_a_refused_feed_from_an_opml_file_names_that_file(tmp_path: Path) -> None:
    # A fresh-clone walkthrough: the error named monitor.yaml, where the URL is not written.
    (tmp_path / "feeds.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
        '<outline text="Local" xmlUrl="http://127.0.0.1:8000/feed.xml"/></body></opml>',
        encoding="utf-8",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"sources:\n  - opml: feeds.opml\nwatchlists: [{LIBYA_WATCHLIST}]\n", encoding="utf-8"
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode == 1
    assert f"error: {tmp_path / 'feeds.opml'}: source 'Local':" in result.stderr, result.stderr


def test_loopback_targets_are_named_unless_private_networks_allowed(tmp_path: Path) -> None:
    text = f"""\
database_url: sqlite:///{tmp_path}/m.db
sources:
  - name: Local
    url: http://127.0.0.1:8000/feed.xml
watchlists: [{LIBYA_WATCHLIST}]
sinks:
  - name: ops
    url: http://localhost:9000/hook
    signing: none
"""
    config = tmp_path / "monitor.yaml"
    config.write_text(text, encoding="utf-8")
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    assert "source 'Local'" in result.stderr and "loopback" in result.stderr
    assert "sinks[0] (ops)" in result.stderr and "allow_private_networks" in result.stderr
    # Each names the line of its URL, as the config's other problems do (probe74 #4).
    assert f"error: {config}:4: source 'Local'" in result.stderr, result.stderr
    assert f"error: {config}:8: sinks[0] (ops)" in result.stderr, result.stderr
    config.write_text(text + "poll:\n  allow_private_networks: true\n", encoding="utf-8")
    assert monitor("check", "--config", str(config)).returncode == 0
    # The file says true, the environment false: the message names the variable, not the
    # file's setting, which it told the operator to write (an outside probe, probe69).
    overridden = monitor(
        "check",
        "--config",
        str(config),
        env={"MONITOR_POLL__ALLOW_PRIVATE_NETWORKS": "false"},
    )
    assert overridden.returncode != 0
    assert "the environment variable MONITOR_POLL__ALLOW_PRIVATE_NETWORKS sets" in (
        overridden.stderr
    )
    assert "set poll.allow_private_networks: true" not in overridden.stderr


# Where cloud metadata services answer: no setting lets a request go there, so `check` must
# refuse them whatever allow_private_networks says, and never advise switching it on.
METADATA_TARGETS = [
    "http://169.254.169.254/latest",
    "http://0xa9fea9fe/x",  # 169.254.169.254 spelled as one hex number
    "http://[fe80::1]/x",
    "http://[fd00:ec2::254]/x",  # AWS over IPv6
    "http://100.100.100.200/x",  # Alibaba Cloud
]


def test_metadata_addresses_are_refused_even_with_private_networks_allowed(
    tmp_path: Path,
) -> None:
    sinks = "".join(
        f"  - name: s{n}\n    url: {url}\n    signing: none\n"
        for n, url in enumerate(METADATA_TARGETS)
    )
    text = f"""\
database_url: sqlite:///{tmp_path}/m.db
sources:
  - name: Meta
    url: http://169.254.169.254/feed.xml
  - name: Local
    url: http://127.0.0.1:9/feed.xml
watchlists: [{LIBYA_WATCHLIST}]
sinks:
{sinks}"""
    config = tmp_path / "monitor.yaml"
    for allow in (True, False):
        config.write_text(
            text + f"poll:\n  allow_private_networks: {str(allow).lower()}\n", encoding="utf-8"
        )
        result = monitor("check", "--config", str(config))
        assert result.returncode == 1, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        always = [line for line in errors if "even with allow_private_networks" in line]
        assert len(always) == 1 + len(METADATA_TARGETS), result.stderr
        assert "source 'Meta'" in always[0]
        for line in always:
            assert "set poll.allow_private_networks" not in line, line
        # The loopback source: refused only without allow_private_networks.
        assert len(errors) == len(always) + (0 if allow else 1), result.stderr

    # `once` says the same at start-up (a warning), and never connects there.
    config.write_text(text + "poll:\n  allow_private_networks: true\n", encoding="utf-8")
    once = monitor("once", "--config", str(config))
    lines = once.stderr.splitlines()
    warned = [line for line in lines if "WARNING monitor: " in line and "even with allow" in line]
    assert len(warned) == 1 + len(METADATA_TARGETS), once.stderr
    (failed,) = [line for line in lines if "poll failed for http://169.254.169.254" in line]
    assert "a link-local address, where cloud metadata services answer" in failed, failed
    assert "private networks are not allowed" not in failed, failed


# Spellings of loopback that the guard refuses after resolving them (getaddrinfo reads the
# numeric forms itself and `localhost` from /etc/hosts: no DNS query is sent).
LOOPBACK_SPELLINGS = ["127.1", "0x7f.1", "2130706433", "017700000001", "localhost"]
# A 64-character label is not a valid DNS name: the system resolver fails it without sending
# a query, as it fails any name while DNS is down.
UNRESOLVABLE = "x" * 64 + ".example"


def test_check_refuses_every_loopback_spelling_that_once_refuses(tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.route("/f.xml", Reply(body=rss([("a", "Haftar in Tripoli", "<p>x</p>")])))
        sources = [
            (f"Feed {host}", f"http://{host}:{feeds.port}/f.xml") for host in LOOPBACK_SPELLINGS
        ]
        sources.append(("Unknown", f"http://{UNRESOLVABLE}/f.xml"))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=sources,
            sink_url=None,
            extra={"poll": {"interval": "10m", "allow_private_networks": False}},
        )

        checked = monitor("check", "--config", str(config))
        assert checked.returncode == 1, checked.stdout + checked.stderr
        errors = [line for line in checked.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == len(LOOPBACK_SPELLINGS), checked.stderr
        for host, error in zip(LOOPBACK_SPELLINGS, errors, strict=True):
            assert f"source 'Feed {host}'" in error and "loopback" in error, error
            assert f"{host} resolves to 127.0.0.1" in error, error
            assert "allow_private_networks" in error
        (warning,) = [
            line
            for line in checked.stderr.splitlines()
            if line.startswith("warning:") and "could not resolve" in line
        ]
        assert "source 'Unknown'" in warning and "could not resolve" in warning, warning

        # `once` refuses the same sources, at the moment of connecting.
        once = monitor("once", "--json", "--config", str(config))
        assert once.returncode == 3, once.stderr  # every source failed
        reasons = {
            row["name"]: row["last_error_reason"]
            for row in json.loads(monitor("sources", "--json", "--config", str(config)).stdout)
        }
        assert reasons == {
            **{f"Feed {host}": "blocked_address" for host in LOOPBACK_SPELLINGS},
            "Unknown": "dns_error",
        }
        assert feeds.requests == []

        allowed = write_config(
            tmp_path, database_url=f"sqlite:///{tmp_path}/m.db", sources=sources, sink_url=None
        )
        assert monitor("check", "--config", str(allowed)).returncode == 0


def test_redact_query_params_names_the_secret_parameters(tmp_path: Path) -> None:
    # The refused-address problems show the URLs; `redact_query_params` says which query
    # parameters hide their value there (it replaces the default list).
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"""\
database_url: sqlite:///{tmp_path}/m.db
redact_query_params: [Session, ticket]
sources:
  - name: Intranet
    url: http://10.0.0.5/feed.xml?session=abc123&ticket=xyz789&token=plain1
watchlists: [{LIBYA_WATCHLIST}]
""",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode != 0
    assert "feed.xml?session=REDACTED&ticket=REDACTED&token=plain1 is a private" in result.stderr
    assert "abc123" not in result.stderr and "xyz789" not in result.stderr


def test_config_given_before_the_command_is_the_commands_config(tmp_path: Path) -> None:
    # `monitor --config X check` reads X (relative to the working folder); the command's
    # own --config, when also given, wins.
    good = tmp_path / "good.yaml"
    good.write_text(
        f"database_url: sqlite:///{tmp_path}/m.db\nsources: []\n"
        f"watchlists: [{LIBYA_WATCHLIST}]\nsinks: []\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("poll:\n  intervall: 5m\n", encoding="utf-8")
    before = monitor("--config", "good.yaml", "check", cwd=tmp_path)
    assert before.returncode == 0 and "config OK" in before.stdout, before.stderr
    short = monitor("-c", str(bad), "check", cwd=REPO)
    assert short.returncode == 1 and "poll.intervall" in short.stderr
    assert monitor("--config", str(bad), "check", "--config", str(good)).returncode == 0


def test_problems_found_after_loading_name_their_line(tmp_path: Path) -> None:
    # An unset ${VAR}, an unknown sink and a missing watchlist file were named by the file
    # alone (a fresh-clone walkthrough: config.md promises file:line).
    watchlist = REPO / "config" / "watchlists" / "libya.yaml"
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "database_url: sqlite:///m.db\n"
        "sources:\n"
        "  - name: Wire\n"
        "    url: http://127.0.0.1:9/x.xml\n"
        "poll:\n"
        "  allow_private_networks: true\n"
        "watchlists:\n"
        f"  - file: {watchlist}\n"
        "    sinks: [opps]\n"
        "  - missing.yaml\n"
        "sinks:\n"
        "  - name: ops\n"
        "    url: http://127.0.0.1:9/hook\n"
        "    secret: ${MONITOR_TEST_UNSET_SECRET}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_TEST_UNSET_SECRET"}
    result = monitor("check", "--config", str(config), cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{config}:14: sinks[0].secret: environment variable MONITOR_TEST_UNSET_SECRET" in (
        result.stderr
    )
    assert f"{config}:10: watchlists[1]: watchlist file " in result.stderr
    assert f"{config}:9: watchlists[0].sinks: unknown sink 'opps'" in result.stderr


def test_a_retention_shorter_than_the_story_window_is_warned_of(tmp_path: Path) -> None:
    # An outside probe: with retention 1h (the story window 48h), a copy arriving after its
    # story's only article was deleted started a new story and alerted again.
    config = tmp_path / "monitor.yaml"
    config.write_text("retention: 1d\nsources: []\nwatchlists: []\n", encoding="utf-8")
    result = monitor("check", "--config", str(config))
    assert "retention (1d) is shorter than stories.window (2d): a copy of a story" in (
        result.stderr + result.stdout
    ), result.stderr


def test_an_included_files_opml_problems_come_with_its_entries_problems(tmp_path: Path) -> None:
    # An outside probe (probe69): an included file whose entries were wrong hid the
    # problems of the OPML file it lists until those were fixed: not one verdict.
    (tmp_path / "inc").mkdir()
    (tmp_path / "bad.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline text="NoURL" type="rss"/></body></opml>',
        encoding="utf-8",
    )
    (tmp_path / "inc" / "extra.yaml").write_text(
        "- {name: Daily, url: 'ftp://127.0.0.1:9/daily.xml'}\n- opml: ../bad.opml\n",
        encoding="utf-8",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path}/m.db\n"
        "sources:\n  - include: inc/*.yaml\n"
        f"watchlists: [{LIBYA_WATCHLIST}]\n",
        encoding="utf-8",
    )
    result = monitor("check", "--config", str(config))
    assert result.returncode == 1
    assert f"{tmp_path / 'inc' / 'extra.yaml'}:1: sources[0].url" in result.stderr
    assert (
        f"{tmp_path / 'inc' / 'extra.yaml'}:2: sources[1].opml: {tmp_path / 'bad.opml'}: "
        "outline 'NoURL' has type='rss' but no xmlUrl"
    ) in result.stderr
    assert "2 problems found" in result.stderr
