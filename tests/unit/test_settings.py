"""Settings: YAML + MONITOR_* environment, ${VAR} expansion, durations, clear errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

import monitor.settings as settings_module
from monitor.config import parse_size
from monitor.durations import parse_duration
from monitor.errors import ConfigError
from monitor.settings import config_path, line_of, load_settings, read_yaml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("6h", 21600),
        ("7d", 604800),
        ("1h30m", 5400),
        (45, 45),
        ("250ms", 0.25),
        ("2w", 1209600),
        ("30", 30),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "10x", "m", "-5s", True, "5 minutes"])
def test_bad_durations_say_what_is_accepted(bad: object) -> None:
    with pytest.raises(ValueError, match="90s, 10m"):
        parse_duration(bad)


@pytest.mark.parametrize("ambiguous", ["6M", "10M", "1h10M", "3 M"])
def test_a_capital_m_is_refused_not_read_as_minutes(ambiguous: str) -> None:
    # "retention: 6M" meant six months to its writer and was six minutes.
    with pytest.raises(ValueError, match="M is ambiguous"):
        parse_duration(ambiguous)
    assert parse_duration("90S").total_seconds() == 90  # other units in capitals are clear
    assert parse_duration("10MS").total_seconds() == 0.01


@pytest.mark.parametrize("short", ["90", "59m", "30s"])
def test_a_retention_under_an_hour_is_refused(tmp_path: Path, short: str) -> None:
    with pytest.raises(ConfigError, match="deletes articles as soon as they are stored"):
        load_settings(write(tmp_path, f"retention: {short}\n"))
    assert load_settings(write(tmp_path, "retention: 1h\n")).settings.retention is not None


def test_sizes() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("512KiB") == 524288
    assert parse_size(1024) == 1024
    with pytest.raises(ValueError):
        parse_size("lots")


def test_defaults_and_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "poll:\n  interval: 5m\n")
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:///other.db")
    monkeypatch.setenv("MONITOR_POLL__MAX_INTERVAL", "2h")
    loaded = load_settings(path)
    settings = loaded.settings
    assert settings.database_url == f"sqlite:///{path.resolve().parent}/other.db"
    assert settings.poll.interval == timedelta(minutes=5)  # from the file
    assert settings.poll.max_interval == timedelta(hours=2)  # from the environment
    assert settings.first_run == "store_only"


@pytest.mark.parametrize("spelling", ["null", "NULL", "~"])
def test_retention_is_switched_off_from_the_environment_as_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    path = write(tmp_path, "retention: 30d\nalert_max_age: 3d\n")
    monkeypatch.setenv("MONITOR_RETENTION", spelling)
    monkeypatch.setenv("MONITOR_ALERT_MAX_AGE", spelling)
    settings = load_settings(path).settings
    assert settings.retention is None and settings.alert_max_age is None
    assert load_settings(write(tmp_path, "retention: null\n")).settings.retention is None


def test_environment_wins_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "database_url: sqlite:///file.db\n")
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:///env.db")
    assert load_settings(path).settings.database_url == f"sqlite:///{tmp_path.resolve()}/env.db"


def test_variables_expand_and_unset_ones_fail_only_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK", "https://hooks.example.org/a")
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    path = write(
        tmp_path,
        "sinks:\n  - name: ops\n    url: ${HOOK}\n    secret: ${HOOK_SECRET}\n"
        "database_url: ${DB:-sqlite:///default.db}\n",
    )
    loaded = load_settings(path)
    assert loaded.settings.sinks[0].url == "https://hooks.example.org/a"
    assert loaded.settings.database_url == f"sqlite:///{tmp_path.resolve()}/default.db"
    with pytest.raises(ConfigError, match=r"sinks\[0\]\.secret: environment variable HOOK_SECRET"):
        loaded.require_sinks()


def test_sinks_from_the_environment_need_neither_the_files_variables_nor_blame_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An outside probe: MONITOR_SINKS replaced the sinks, yet the file's ${HOOK_SECRET} was
    # still required; and a bad secret inside MONITOR_SINKS was reported against the file.
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    path = write(
        tmp_path,
        "sinks:\n  - name: ops\n    url: https://hooks.example.org/a\n    secret: ${HOOK_SECRET}\n",
    )
    secret = "whsec_" + "A" * 32
    monkeypatch.setenv(
        "MONITOR_SINKS",
        f'[{{"name": "env", "url": "https://h.example.org/b", "secret": "{secret}"}}]',
    )
    loaded = load_settings(path)
    loaded.require_sinks()  # no error: the file's sink, and its variable, are not used
    assert [sink.name for sink in loaded.settings.sinks] == ["env"]
    monkeypatch.setenv(
        "MONITOR_SINKS", '[{"name": "env", "url": "https://h.example.org/b", "secret": "whsec_!!"}]'
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path).require_sinks()
    assert str(raised.value).startswith(
        f"environment variable MONITOR_SINKS (overriding {path.resolve()}): sinks[0].secret:"
    )


def test_every_problem_is_reported_with_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "poll:\n  interval: soon\nfirst_run: sometimes\nsources:\n  - name: X\n    url: ftp://x\n"
        "  - opml: a.opml\n    colour: red\ntypo_key: 1\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    problems = raised.value.problems
    text = "\n".join(problems)
    assert f"{path}:2: poll.interval (how often a source is polled): 'soon' is not a dur" in text
    assert f"{path}:3: first_run (what a new source's existing entries do): 'sometimes'" in text
    # The choices once: no near miss, no second list (an outside probe, probe69).
    (first_run,) = [p for p in problems if ":3: first_run" in p]
    assert first_run.endswith(
        "'sometimes' is not one of 'store_only', 'alert_recent' or 'alert_all'"
    )
    assert f"{path}:6: sources[0].url (the feed's URL): url must be an http" in text
    assert f"{path}:8: sources[1].colour: unknown key 'colour'; allowed here: " in text
    assert f"{path}:9: typo_key: unknown key" in text
    assert len(problems) == 5


def test_a_key_that_looks_like_a_union_tag_is_named(tmp_path: Path) -> None:
    # "include", "path", "opml" are also the tags pydantic puts in a location; an unknown key
    # of that name was shown as '' with no line (an outside check of this project's own).
    path = write(
        tmp_path,
        "include: more.yaml\nwatchlists:\n  - file: wl.yaml\n    path: x\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    text = "\n".join(raised.value.problems)
    assert f"{path}:1: include: unknown key 'include' at the top level; an include is an" in text
    assert "- include: sources.d/*.yaml" in text
    assert f"{path}:4: watchlists[0].path: unknown key 'path'; allowed here: file, sinks" in text
    assert "''" not in text


def test_a_source_entry_of_two_kinds_is_named_as_such(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sources:\n"
        "  - include: more/*.yaml\n    url: https://example.org/a\n"
        "  - opml: feeds.opml\n    url: https://example.org/b\n"
        "  - include: more/*.yaml\n    interval: 5m\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    problems = raised.value.problems
    assert problems == [
        f"{path}:2: sources[0]: has both include: and url:; an entry is one feed (url:), one "
        "OPML file (opml:) or one include (include:): make them two entries",
        f"{path}:4: sources[1]: has both opml: and url:; an entry is one feed (url:), one "
        "OPML file (opml:) or one include (include:): make them two entries",
        f"{path}:6: sources[2]: an include: entry has no other keys (interval: is not one); "
        "the included files' entries carry their own settings",
    ]
    assert not any("did you mean 'url'" in p for p in problems)


def test_a_top_level_key_in_another_case_is_refused_not_merged(tmp_path: Path) -> None:
    # pydantic-settings reads top-level keys in any case: "Sources: []" below "sources:" had
    # replaced the list, and the config checked OK with no sources.
    path = write(
        tmp_path,
        "sources:\n  - {name: A, url: 'https://example.org/a'}\nSources: []\nPOLL:\n"
        "  concurrency: 2\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert raised.value.problems == [
        f"{path}:3: Sources: unknown key 'Sources'; keys are written in lower case: sources",
        f"{path}:4: POLL: unknown key 'POLL'; keys are written in lower case: poll",
    ]


def test_config_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    assert config_path(None) == Path("config/monitor.yaml")
    monkeypatch.setenv("MONITOR_CONFIG", "/etc/monitor.yaml")
    assert config_path(None) == Path("/etc/monitor.yaml")
    assert config_path("x.yaml") == Path("x.yaml")


# --- reading the file ---------------------------------------------------------------------


def test_the_file_is_read_with_libyaml_when_the_wheel_has_it() -> None:
    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert issubclass(settings_module._FAST_LOADER, expected)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("poll:\n  interval: 10m\n tick: 5s\n", 3, "expected <block end>"),
        ("sources:\n  - name: a\n    url: [unclosed\n", 4, "expected ',' or ']'"),
        ("database_url: 'open\n", 2, "found unexpected end of stream"),
        # ... and where the quote left open is (a fresh-clone walkthrough: only the end
        # of the file was named)
        (
            "a: 1\nb:\n  - 'open\nc: 2\n",
            5,
            "(while scanning a quoted scalar that starts at line 3, column 5)",
        ),
        ("a: 1\n---\nb: 2\n", 2, "but found another document"),
    ],
)
def test_invalid_yaml_names_the_line_and_the_problem(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path, text)

    for read in (load_settings, read_yaml):
        with pytest.raises(ConfigError) as raised:
            read(path)
        (message,) = raised.value.problems
        assert message.startswith(f"{path}:{line}: not valid YAML: ")
        assert problem in message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_is_the_defaults(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)

    assert load_settings(path).settings.sources == []
    assert read_yaml(path)[0] == {}


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")

    for read in (load_settings, read_yaml):
        with pytest.raises(ConfigError, match="must be a mapping of keys"):
            read(path)


def test_read_yaml_gives_the_data_and_the_lines_of_one_parse(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "database_url: sqlite:///x.db\nsources:\n  - name: A\n    url: https://a.example/\n"
        "  - name: B\n    url: https://b.example/\nwatchlists:\n  - file: w.yaml\n",
    )

    data, node = read_yaml(path)

    assert data["sources"][1] == {"name": "B", "url": "https://b.example/"}
    assert line_of(node, ("sources", 1)) == 5
    assert line_of(node, ("sources", 1, "url")) == 6
    assert line_of(node, ("watchlists", 0)) == 8


def test_a_thousand_sources_load_quickly_with_their_lines(tmp_path: Path) -> None:
    entries = "".join(
        f"  - name: Source {i}\n    url: https://news{i}.example.org/rss.xml\n" for i in range(1000)
    )
    path = write(tmp_path, f"sources:\n{entries}  - name: Bad\n    url: gopher://x\n")

    with pytest.raises(ConfigError) as raised:
        load_settings(path)

    assert raised.value.problems == [
        f"{path}:2003: sources[1000].url (the feed's URL): url must be an http:// or "
        "https:// URL, got 'gopher://x'"
    ]


@pytest.mark.parametrize("value", ["!!timestamp soon", "!!int ten", "!!float x"])
def test_a_tagged_value_that_cannot_be_read_is_a_config_error(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"retention: {value}\n")

    for read in (load_settings, read_yaml):
        with pytest.raises(ConfigError, match="a tagged value cannot be read"):
            read(path)


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_bytes(b"database_url: caf\xe9\n")

    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_settings(path)


@pytest.mark.parametrize(
    "text",
    [
        # A sink or source written as a mapping where a list belongs.
        "sinks:\n  name: ops\n  url: https://u:PASSWORD1@hooks.example.org/x?token=TOKEN1\n"
        "  secret: ${HOOK_SECRET}\n",
        "sources:\n  name: Wire\n  url: https://u:PASSWORD1@example.org/rss?api_key=TOKEN1\n",
        # A URL written where a mapping belongs.
        "sinks:\n  - https://u:PASSWORD1@hooks.example.org/x?token=TOKEN1\n",
        "sources:\n  - https://u:PASSWORD1@example.org/rss?api_key=TOKEN1\n",
        # A whole list where a value belongs.
        "poll:\n  interval: [https://u:PASSWORD1@example.org/x, ${HOOK_SECRET}]\n",
    ],
)
def test_a_value_of_the_wrong_shape_is_described_without_its_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # An error showed the value it refused as it was: a sink mapping with its secret (the
    # expanded ${VAR}), a URL with its password and token, in check's output and the log.
    monkeypatch.setenv("HOOK_SECRET", "whsec_TOPSECRETVALUE0123456789abcdef")
    with pytest.raises(ConfigError) as raised:
        load_settings(write(tmp_path, text))
    shown = "\n".join(raised.value.problems)
    for secret in ("PASSWORD1", "TOKEN1", "TOPSECRETVALUE"):
        assert secret not in shown, shown
    assert "got " in shown  # still says what it found


def test_a_url_ending_in_a_line_end_is_used_without_it_and_one_with_a_space_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `|` block or a variable read from a file ends in a newline: check passed it, and
    # then every fetch or send failed ("Invalid non-printable ASCII character in URL").
    monkeypatch.setenv("HOOK", "https://hooks.example.org/news\n")
    loaded = load_settings(
        write(
            tmp_path,
            "sources:\n  - name: Wire\n    url: |\n      https://example.org/rss\n"
            "sinks:\n  - name: ops\n    url: ${HOOK}\n    secret: whsec_c2VjcmV0c2VjcmV0c2VjcmV0\n",
        )
    )
    assert loaded.settings.sources[0].url == "https://example.org/rss"  # type: ignore[union-attr]
    assert loaded.settings.sinks[0].url == "https://hooks.example.org/news"
    with pytest.raises(ConfigError, match=r"sources\[0\]\.url.*a space or a control character"):
        load_settings(
            write(tmp_path, "sources:\n  - name: Wire\n    url: 'https://example.org/a b.rss'\n")
        )
    # Words with spaces are no URL at all: said so, not "write a space as %20".
    with pytest.raises(ConfigError, match=r"must be an http:// or https:// URL, got 'not a url'"):
        load_settings(write(tmp_path, "sources:\n  - name: Wire\n    url: 'not a url'\n"))


def test_a_doubled_dollar_is_a_literal_variable_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """``$${VAR}`` is the text ``${VAR}`` (what the sources commands write for feed text);
    ``${VAR}`` beside it is still expanded, and an unset one is still reported."""
    monkeypatch.setenv("TOKEN", "t0k")
    monkeypatch.delenv("MISSING", raising=False)
    data = {
        "a": "$${TOKEN} and ${TOKEN}",
        "b": ["x$${MISSING:-d}", "$$${TOKEN}"],
        "c": "${MISSING}",
    }
    expanded, unset = settings_module.expand_variables(data)
    assert expanded == {
        "a": "${TOKEN} and t0k",
        "b": ["x${MISSING:-d}", "$${TOKEN}"],
        "c": "${MISSING}",
    }
    assert unset == [("c", "MISSING")]


@pytest.mark.parametrize("depth", [100, 900, 5000])
def test_deeply_nested_yaml_is_a_config_error_not_a_crash(tmp_path: Path, depth: int) -> None:
    # A recursive walk of the data (variables, validation), or the pure-Python parser asked
    # for a better message, hit Python's recursion limit: a traceback, and a SIGHUP with
    # such a file "failed unexpectedly". The config, an included sources file and a
    # watchlist each say what is wrong in one line.
    from monitor.match.watchlist_file import load_watchlist
    from monitor.sourcefiles import read_included

    nested = "[" * depth + "]" * depth
    config = tmp_path / "monitor.yaml"
    config.write_text(f"database_url: sqlite:///m.db\nx: {nested}\n", encoding="utf-8")
    included = tmp_path / "more.yaml"
    included.write_text(f"- name: a\n  url: {nested}\n", encoding="utf-8")
    watchlist = tmp_path / "deep.yaml"
    watchlist.write_text(f"entities: {nested}\n", encoding="utf-8")
    for read, path in (
        (load_settings, config),
        (read_included, included),
        (load_watchlist, watchlist),
    ):
        with pytest.raises(ConfigError) as caught:
            read(path)
        message = str(caught.value)
        assert str(path) in message and ("nested" in message or "nesting" in message), message
        assert "\\n" not in message and len(message) < 300, message


def test_top_level_x_keys_hold_anchors_and_are_otherwise_ignored(tmp_path: Path) -> None:
    # As in Compose files: a place for anchors that several sections share.
    text = (
        "x-retry: &retry [5s, 1m]\n"
        "x-notes: {owner: newsroom}\n"
        "sinks:\n"
        "  - {name: a, url: 'https://hooks.example.org/a', signing: none, "
        "retry_schedule: *retry}\n"
    )
    settings = load_settings(write(tmp_path, text)).settings
    assert [s.total_seconds() for s in settings.sinks[0].retry_schedule] == [5, 60]
    with pytest.raises(ConfigError, match="unknown key 'y-retry'"):
        load_settings(write(tmp_path, "y-retry: 1\n"))


def test_names_that_match_nearly_every_article_are_warned_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An outside probe: "the" as a name alerted on 98 of 139 articles, and check said OK.
    from monitor.validate import validate_config

    for name in ("MONITOR_SOURCES", "MONITOR_WATCHLISTS", "MONITOR_SINKS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "wl.yaml").write_text(
        "entities:\n"
        "  - id: army\n    names: [Sudanese Armed Forces, the, Al, و, SAF army]\n"
        "  - id: rsf\n    names: [Rapid Support Forces]\n    acronyms: [RSF, rsf, R]\n"
        "  - id: putin\n    names: [Putin]\n"
        "    derived_forms: {stems: [Putin, Pu], suffixes: {en: [s]}}\n",
        encoding="utf-8",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "sources: [{name: A, url: 'http://127.0.0.1:9/f.xml'}]\nwatchlists: [wl.yaml]\n",
        encoding="utf-8",
    )
    warnings = validate_config(load_settings(config), need_sinks=False).warnings
    flagged = [w.split(": ", 2)[1] for w in warnings if "entities[" in w]
    assert flagged == [
        "entities[0].names[1]",  # "the": a common word
        "entities[0].names[2]",  # two letters
        "entities[0].names[3]",  # Arabic "and"
        "entities[1].acronyms[1]",  # no capital: found only in lower-case text
        "entities[1].acronyms[2]",  # one letter
        "entities[2].derived_forms.stems[1]",  # Pu + s: "Pus"
    ]
    assert any("names[1]: 'the' is a common word" in warning for warning in warnings)


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:5432/", "postgresql://postgres@127.0.0.1:5432"],
)
def test_a_postgresql_url_that_names_no_database_is_refused(tmp_path: Path, url: str) -> None:
    # libpq then takes the user's name: an outside probe's instances made their tables in the
    # server's `postgres` database.
    path = write(tmp_path, f"database_url: '{url}'\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{path}:1: database_url")
    assert "names no database: write postgresql+psycopg://USER@HOST/NAME" in problem
    for named in ("postgresql://u@h/monitor", "postgresql:///?host=/run/pg&dbname=monitor"):
        assert load_settings(write(tmp_path, f"database_url: '{named}'\n")).settings.database_url
