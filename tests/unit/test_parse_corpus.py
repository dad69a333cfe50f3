"""A blind corpus of messy real-world feeds (tests/data/feeds16: 59 feeds, 16 classes,
written by someone who had not seen this code): what `parse_feed` stores from each, against
what the writer expected. Five differences are choices of this project (see the README)."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.errors import MonitorError
from monitor.parse import FeedEntry, parse_feed
from monitor.text import html_to_text

CORPUS = Path(__file__).resolve().parents[1] / "data" / "feeds16"
CONTENT_TYPES = {
    ".xml": "application/rss+xml",
    ".html": "text/html; charset=utf-8",
    ".json": "application/feed+json",
}
CHOSEN = {
    "feeds/02-rss092-no-title.xml": "link",  # an enclosure-only item links to its audio
    "feeds/30-unescaped-ampersand.xml": "link",  # ref=rss, a tracking parameter, dropped
    "feeds/31-truncated.xml": "refused",  # cut short: polled again
    "feeds/55-userland-default-ns.xml": "link",  # the fragment #a12 dropped
    "feeds/59-html-junk-atom.xml": "text",  # markup escaped twice is read as markup
}


def plain(value: str | None) -> str:
    return " ".join((value or "").split())


def text_of(entry: FeedEntry) -> str:
    return plain(" ".join(html_to_text(f) for f in (entry.title, entry.summary, entry.content)))


def differences(case: dict) -> set[str]:
    """What of the expectation does not hold: "refused", "count", "missing", "title",
    "link", "text", "date"."""
    path = CORPUS / case["file"]
    try:
        feed = parse_feed(path.read_bytes(), case["feed_url"], CONTENT_TYPES[path.suffix])
    except MonitorError:
        return {"refused"}
    found: set[str] = set()
    entries = feed.entries
    if {len({e.key for e in entries}), len(entries)} != {case["distinct_articles"]}:
        found.add("count")
    for want in case["entries"]:
        titles = want.get("title_any_of", [want["title"]])
        links = want.get("link_any_of", [want["link"]])
        phrases = [plain(p) for p in want.get("text_contains", [])]
        entry = next((e for e in entries if all(p in text_of(e) for p in phrases)), None)
        if entry is None or not phrases:
            entry = next(
                (e for e in entries if plain(html_to_text(e.title)) in titles or e.url in links),
                entry,
            )
        if entry is None:
            found.add("missing")
            continue
        text = text_of(entry)
        if want["title"] is not None and plain(html_to_text(entry.title)) not in titles:
            found.add("title")
        if entry.url not in links:
            found.add("link")
        if any(p not in text for p in phrases) or any(
            p in text for p in want.get("text_excludes", [])
        ):
            found.add("text")
        if want.get("published"):
            when = entry.published or entry.updated
            if when is None or when.strftime("%Y-%m-%dT%H:%M:%SZ") != want["published"]:
                found.add("date")
    return found


def test_the_blind_corpus_is_read_as_its_writer_expected() -> None:
    cases = [
        json.loads(line)
        for line in (CORPUS / "expect.jsonl").read_text("utf-8").split("\n")
        if line
    ]
    assert len(cases) == 59
    got = {case["file"]: differences(case) for case in cases}
    wrong = {name: sorted(found) for name, found in got.items() if found}
    assert wrong == {name: [what] for name, what in CHOSEN.items()}
