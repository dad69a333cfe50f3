"""`monitor explain` on the seeds: a mention a context rule drops (named), a rule that holds,
the alert decision per watchlist and sink, as text and as JSON; and the errors a user can
cause, each one line and exit 1. Run as a subprocess from a folder other than the config's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.test_check_command import monitor
from tests.integration.helpers import LIBYA_WATCHLIST, REPO, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import WebhookReceiver

SEED_FEEDS = sorted((REPO / "seeds" / "feeds").glob("*.xml"))
LEBANON_URL = "https://example.com/briefs/2026/11/11/lebanon-tripoli-gunfire"
OFFENSIVE_URL = "https://example.org/libya/2026/11/12/haftar-forces-push-toward-tripoli"


def _unless_in_article() -> str:
    """How explain names tripoli's unless_in_article: its first six words and the count."""
    document = yaml.safe_load(LIBYA_WATCHLIST.read_text(encoding="utf-8"))
    (tripoli,) = [e for e in document["entities"] if e["id"] == "tripoli"]
    words = tripoli["unless_in_article"]
    shown = ", ".join(repr(word) for word in words[:6])
    return f"and none of unless_in_article ({shown} and {len(words) - 6} more)"


UNLESS_IN_ARTICLE = _unless_in_article()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(config, another folder): a database filled from the seed feeds by `monitor once`,
    with one sink (nothing is sent: a new source's entries are stored without alerts)."""
    folder = tmp_path_factory.mktemp("seeded")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        for feed in SEED_FEEDS:
            feeds.route(f"/{feed.name}", Reply(body=feed.read_bytes()))
        config = write_config(
            folder,
            database_url=f"sqlite:///{folder}/m.db",
            sources=[(feed.stem, feeds.url(f"/{feed.name}")) for feed in SEED_FEEDS],
            sink_url=receiver.url,
        )
        polled = monitor("once", "--config", str(config), cwd=elsewhere)
        assert polled.returncode == 0, polled.stderr
        assert receiver.requests == []
    yield config, elsewhere


def explain_json(*args: str, cwd: Path, stdin: str | None = None) -> dict[str, Any]:
    result = monitor("explain", *args, "--json", cwd=cwd, stdin=stdin)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def one_error(result: Any, code: int = 1) -> str:
    """The single `error:` line of a failed command (no traceback)."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    line: str = lines[0]
    return line


def test_a_context_rule_drops_tripoli_in_lebanon(seeded: tuple[Path, Path]) -> None:
    config, elsewhere = seeded
    document = explain_json("--url", LEBANON_URL, "--config", str(config), cwd=elsewhere)
    assert document["article"]["origin"] == "database"
    assert document["article"]["url"] == LEBANON_URL
    assert document["article"]["title"] == (
        "Gunfire in Lebanon's Tripoli as army deploys in old souks"
    )
    assert document["candidates"] == [
        {
            "watchlist": "libya",
            "entity": "tripoli",
            "field": field,
            "start": start,
            "end": start + 7,
            "text": "Tripoli",
            "kept": False,
            "decided_by": "exclude_if_in_article",
            "reason": "dropped by exclude_if_in_article of tripoli: the article has 'Lebanon', "
            f"'Lebanese' {UNLESS_IN_ARTICLE}",
        }
        for field, start in (("title", 21), ("summary", 67))
    ]
    assert [(r["rule"], r["holds"], r["fired"]) for r in document["rules"]] == [
        ("offensive-on-tripoli", False, False),
        ("headline-actor", False, False),
        ("ceasefire", False, False),
    ]
    (libya,) = document["watchlists"]
    assert libya["alerts"] is False
    assert libya["reason"] == "no mention survived and no rule holds"
    assert libya["alert"] is None
    assert libya["sinks"] == [
        {"sink": "ops", "sends": False, "reason": "the watchlist does not alert", "queued": None}
    ]


def test_a_rule_that_holds_and_the_alert_it_makes(seeded: tuple[Path, Path]) -> None:
    config, elsewhere = seeded
    # The link as the feed has it (tracking parameters and all) finds the stored article.
    by_url = explain_json(
        "--url", OFFENSIVE_URL + "?utm_source=rss", "--config", str(config), cwd=elsewhere
    )
    article_id = by_url["article"]["id"]
    document = explain_json("--id", str(article_id), "--config", str(config), cwd=elsewhere)
    assert document == by_url
    rules = {r["rule"]: r for r in document["rules"]}
    offensive = rules["offensive-on-tripoli"]
    assert (offensive["holds"], offensive["fired"]) == (True, True)
    assert offensive["expr"] == "(haftar OR lna OR saddam_haftar) NEAR/15 tripoli"
    assert [(t["term"], t["found_in"]) for t in offensive["terms"]] == [
        ("haftar", ["title", "summary", "content"]),
        ("lna", ["summary", "content"]),
        ("saddam_haftar", []),
        ("tripoli", ["title", "summary", "content"]),
    ]
    assert (rules["headline-actor"]["holds"], rules["headline-actor"]["fired"]) == (True, False)
    assert rules["ceasefire"]["holds"] is False
    # "Haftar" inside "Khalifa Haftar" is overlapped by the longer name.
    overlapped = [c for c in document["candidates"] if c["decided_by"] == "overlap"]
    assert overlapped[0] == {
        "watchlist": "libya",
        "entity": "haftar",
        "field": "summary",
        "start": 41,
        "end": 47,
        "text": "Haftar",
        "kept": False,
        "decided_by": "overlap",
        "reason": "overlapped by a longer name of entity haftar: 'Khalifa Haftar' (summary 33-47)",
    }
    (libya,) = document["watchlists"]
    assert libya["alerts"] is True
    assert libya["alert_mode"] == "any"
    assert (
        libya["reason"]
        == "rule 'offensive-on-tripoli' holds (11 mention(s) of haftar, lna, tripoli)"
    )
    # Stored by the source's first poll (store_only): it would alert now, but nothing was
    # queued for it then, and explain says so (it said only "would send").
    assert libya["sinks"] == [
        {
            "sink": "ops",
            "sends": True,
            "reason": "would send the alert if the sink was not told of its story yet "
            "(stories: first)",
            "queued": None,
            "held": "stored by its source's first poll (first_run: store_only)",
        }
    ]
    assert libya["alert"]["rule"] == "offensive-on-tripoli"
    assert libya["alert"]["rule_expr"] == offensive["expr"]
    assert libya["alert"]["entities"] == ["haftar", "lna", "tripoli"]


def test_the_text_form_says_the_same(seeded: tuple[Path, Path]) -> None:
    config, elsewhere = seeded
    result = monitor("explain", "--url", LEBANON_URL, "--config", str(config), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        "  DROPPED libya/tripoli title 21-28 'Tripoli': dropped by exclude_if_in_article of "
        f"tripoli: the article has 'Lebanon', 'Lebanese' {UNLESS_IN_ARTICLE}"
    ) in lines
    assert (
        "  libya/ceasefire: false   "
        + (
            '("ceasefire" OR "cease-fire" OR "truce" OR "cessez-le-feu" OR "وقف إطلاق النار") '
            "AND (haftar OR lna OR gna OR gnu OR tripoli)"
        )
        in lines
    )
    assert "  libya: would not alert: no mention survived and no rule holds" in lines
    assert (
        "    sink ops: no: the watchlist does not alert; when stored: no alert was queued" in lines
    )

    result = monitor("explain", "--url", OFFENSIVE_URL, "--config", str(config), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        "  libya/offensive-on-tripoli: true, fired   "
        + ("(haftar OR lna OR saddam_haftar) NEAR/15 tripoli")
        in lines
    )
    assert "      saddam_haftar: not found" in lines
    assert (
        "  libya: WOULD ALERT: rule 'offensive-on-tripoli' holds "
        "(11 mention(s) of haftar, lna, tripoli)"
    ) in lines
    assert (
        # HELD, not SENDS: nothing was queued (a fresh-clone walkthrough read "SENDS" as
        # "it was sent").
        "    sink ops: HELD: would send the alert if the sink was not told of its story yet "
        "(stories: first); when stored: no alert was queued (held back: stored by its source's "
        "first poll (first_run: store_only))"
    ) in lines
    assert (
        "    excerpt (title): [Haftar]'s forces push toward [Tripoli]'s southern suburbs" in lines
    )


def test_a_file_or_standard_input_with_watchlist_files(tmp_path: Path) -> None:
    article = {
        "id": "en-06",
        "title": "Army deploys in Tripoli, Lebanon, after night of clashes",
        "summary": "The GNA accepted a truce in Tripoli, Libya.",
    }
    path = tmp_path / "article.json"
    path.write_text(json.dumps(article), encoding="utf-8")
    args = ("--watchlist", str(LIBYA_WATCHLIST))
    document = explain_json(str(path), *args, cwd=tmp_path)
    assert document["article"] == {
        "origin": "file",
        "label": str(path),
        "id": None,
        "url": None,
        "title": article["title"],
    }
    decided = [(c["field"], c["text"], c["kept"], c["decided_by"]) for c in document["candidates"]]
    assert decided == [
        ("title", "Tripoli", False, "exclude_phrases"),
        # Lebanon would drop it (exclude_if_in_article), but the article names Libya too.
        ("summary", "GNA", True, "unless_in_article"),
        ("summary", "Tripoli", True, "keep_if_near"),
    ]
    assert document["candidates"][0]["reason"] == (
        "dropped by exclude_phrases of tripoli: 'Tripoli, Lebanon' (title 16-32) overlaps it"
    )
    assert document["candidates"][2]["reason"] == (
        "kept by keep_if_near of tripoli: 'Libya' (summary 37-42) is 1 word(s) away "
        "(within 2), so no exclusion applies"
    )
    ceasefire = next(r for r in document["rules"] if r["rule"] == "ceasefire")
    assert (ceasefire["holds"], ceasefire["fired"]) == (True, True)
    held = [t["term"] for t in ceasefire["terms"] if t["found_in"]]
    assert held == ["truce", "gna", "tripoli"]
    (libya,) = document["watchlists"]
    assert libya["sinks"] is None  # watchlist files given: no config, no sinks
    # The rule's word is highlighted in the alert's excerpt.
    (excerpt,) = libya["alert"]["excerpts"]
    assert excerpt["text"] == article["summary"]
    shown = [excerpt["text"][start:end] for start, end in excerpt["highlights"]]
    assert shown == ["GNA", "truce", "Tripoli"]

    piped = explain_json("-", *args, cwd=tmp_path, stdin=path.read_text(encoding="utf-8"))
    assert piped["article"]["origin"] == "stdin"
    assert piped["candidates"] == document["candidates"]

    # Anything that is not a JSON object is the article's content (HTML or plain text).
    text = tmp_path / "article.txt"
    text.write_text("<p>Haftar spoke in Cairo.</p>", encoding="utf-8")
    plain = explain_json(str(text), *args, cwd=tmp_path)
    assert [(c["field"], c["text"]) for c in plain["candidates"]] == [("content", "Haftar")]
    assert plain["watchlists"][0]["alerts"] is True


def test_errors_are_one_line_and_exit_1(seeded: tuple[Path, Path], tmp_path: Path) -> None:
    config, elsewhere = seeded
    missing = monitor("explain", "nope.json", "--config", str(config), cwd=tmp_path)
    assert one_error(missing) == "error: cannot read nope.json: No such file or directory"

    broken = tmp_path / "broken.json"
    broken.write_text('{"title": "Haftar"', encoding="utf-8")
    result = monitor("explain", str(broken), "--config", str(config), cwd=tmp_path)
    assert one_error(result) == (
        f"error: {broken}: not valid JSON (Expecting ',' delimiter at column 19)"
    )

    # A fresh-clone walkthrough: a misspelled key made an empty article, "would not alert".
    misspelled = tmp_path / "misspelled.json"
    misspelled.write_text('{"titel": "Haftar in Tripoli"}', encoding="utf-8")
    result = monitor("explain", str(misspelled), "--config", str(config), cwd=tmp_path)
    assert one_error(result) == (
        f"error: {misspelled}: no 'title', 'summary' or 'content' field (its keys: 'titel'); "
        "write the article's text under those keys"
    )

    unknown = monitor("explain", "--id", "999999", "--config", str(config), cwd=elsewhere)
    assert one_error(unknown) == "error: no stored article has id 999999"

    url = "https://example.org/never/stored"
    absent = monitor("explain", "--url", url, "--config", str(config), cwd=elsewhere)
    assert one_error(absent) == f"error: no stored article has the URL {url}"

    database = tmp_path / "none.db"
    lonely = write_config(tmp_path, database_url=f"sqlite:///{database}", sources=[], sink_url=None)
    nodb = monitor("explain", "--id", "1", "--config", str(lonely), cwd=elsewhere)
    assert one_error(nodb, code=2) == (
        f"error: no database at {database}: this command needs an existing one; check "
        "database_url (a relative path is relative to the config file), or run `monitor once` "
        "or `monitor db upgrade` to create it"
    )
    assert not database.exists()  # read-only: never creates one

    neither = monitor("explain", "--config", str(config), cwd=elsewhere)
    assert neither.returncode == 2
    assert neither.stderr.strip() == (
        "error: give one article: a FILE (or - for standard input), --id N or --url URL"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"title": "Haftar \\ud800"}', "field 'title' holds an unpaired surrogate (\\ud800)"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON (nested too deeply)"),
        ('{"title": NaN}', "not valid JSON"),
    ],
)
def test_an_article_file_is_read_as_monitor_match_reads_a_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    # One reader for both (monitor.matchio.article_json): what `match` refuses on a line,
    # `explain` refuses in a file, with one line and no traceback.
    article = tmp_path / "a.json"
    article.write_text(text, encoding="utf-8")
    result = monitor("explain", str(article), "-w", str(LIBYA_WATCHLIST), "--json", cwd=tmp_path)
    assert one_error(result).startswith(f"error: {article}: {problem}")


def test_a_stored_article_that_alerted_shows_its_alert_and_its_state(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    offensive = next(feed for feed in SEED_FEEDS if OFFENSIVE_URL.encode() in feed.read_bytes())
    with FeedServer() as feeds, WebhookReceiver() as receiver:
        feeds.route("/feed.xml", Reply(body=offensive.read_bytes()))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[("Wire", feeds.url("/feed.xml"))],
            sink_url=receiver.url,
            first_run="alert_all",
            stories="all",
        )
        polled = monitor("once", "--config", str(config), cwd=elsewhere)
        assert polled.returncode == 0, polled.stderr
    document = explain_json("--url", OFFENSIVE_URL, "--config", str(config), cwd=elsewhere)
    (libya,) = document["watchlists"]
    (ops,) = libya["sinks"]
    assert ops["sends"] is True
    assert ops["queued"]["status"] == "delivered"
    sent = {request.headers["webhook-id"] for request in receiver.requests}
    assert ops["queued"]["id"] in sent
    text = monitor("explain", "--url", OFFENSIVE_URL, "--config", str(config), cwd=elsewhere)
    assert (
        f"    sink ops: SENDS: would send the alert; when stored: alert "
        f"{ops['queued']['id'][:8]} queued, now delivered"
    ) in text.stdout.splitlines()


def test_what_is_not_the_article_is_shown_as_left_out(tmp_path: Path) -> None:
    # "Why did this not alert? Haftar is on the page": the name is in a related-stories
    # box, which is not the article's text; explain says so.
    article = {
        "title": "Central bank report",
        "content": '<p>The central bank published its report.</p><div class="related">'
        '<h3>Related stories</h3><ul><li><a href="/a">Haftar meets Putin</a></li></ul></div>'
        "<p>Read more: <a>Clashes in Tripoli</a></p>",
    }
    path = tmp_path / "article.json"
    path.write_text(json.dumps(article), encoding="utf-8")
    args = ("--watchlist", str(LIBYA_WATCHLIST))
    document = explain_json(str(path), *args, cwd=tmp_path)
    assert document["candidates"] == []
    assert document["left_out"] == {
        "content": "Related stories\nHaftar meets Putin\nRead more: Clashes in Tripoli"
    }
    text = monitor("explain", str(path), *args, cwd=tmp_path)
    assert "left out as not the article's text (a name there does not count):" in text.stdout
    assert "  content: Haftar meets Putin" in text.stdout
    # An article with nothing left out has no such key.
    path.write_text(json.dumps({"title": "Haftar in Cairo"}), encoding="utf-8")
    assert explain_json(str(path), *args, cwd=tmp_path)["left_out"] == {}
