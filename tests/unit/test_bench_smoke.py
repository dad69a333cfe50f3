"""The matching benchmark (bench/match.py) on tiny sizes, so it cannot rot: its watchlists
load, its text is deterministic, and every approach finds what the generator planted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.match import (
    BenchConfig,
    build_name_items,
    format_report,
    generate_corpus,
    main,
    measure_memory,
    run_benchmark,
    run_matcher,
    run_raw_scan,
    run_regex,
    write_watchlist,
)
from monitor.match.watchlist_file import load_watchlist

SEED = 3


def test_watchlist_files_hold_the_first_n_names(tmp_path: Path) -> None:
    items = build_name_items(200, SEED)
    assert len(items) == 200
    assert len({item.text for item in items}) == 200
    assert any(item.arabic for item in items) and any(item.acronym for item in items)
    assert {item.kind for item in items} == {"person", "place", "organization"}

    watchlist = load_watchlist(write_watchlist(items, tmp_path / "big.yaml"))

    listed = [name for e in watchlist.entities for name in (*e.names, *e.acronyms)]
    assert sorted(listed) == sorted(item.text for item in items)
    assert [rule.name for rule in watchlist.rules] == ["offensive-on-tripoli", "ceasefire-talks"]
    assert any(e.exclude_if_near is not None for e in watchlist.entities)


def test_the_text_is_deterministic_news_sized_articles() -> None:
    items = build_name_items(200, SEED)

    first = generate_corpus(items, 100_000, SEED)
    again = generate_corpus(items, 100_000, SEED)
    other = generate_corpus(items, 100_000, SEED + 1)

    assert first == again
    assert first.articles != other.articles
    assert first.size >= 100_000
    assert all(1000 <= len(a.content.encode()) <= 7000 for a in first.articles)
    assert first.arabic_articles > 0
    assert any("<a href=" in a.content for a in first.articles)


def test_every_approach_counts_what_was_planted(tmp_path: Path) -> None:
    items = build_name_items(200, SEED)
    corpus = generate_corpus(items, 300_000, SEED)
    articles = corpus.articles
    found: dict[int, int] = {}
    for size in (10, 200):
        names = [item.text for item in items[:size]]
        expected = corpus.expected(size)
        path = write_watchlist(items[:size], tmp_path / f"bench{size}.yaml")

        ours = run_matcher(path, articles, corpus.size, expected.matcher)
        regex = run_regex(names, articles, corpus.size, len(articles), expected.regex)
        raw = run_raw_scan(names, articles, corpus.size)

        assert ours.names == regex.names == raw.names == size
        assert ours.hits == expected.matcher > 0
        assert regex.hits == expected.regex
        assert raw.hits >= regex.hits
        found[size] = ours.hits
    assert found[200] > found[10]
    # The context rules and the Arabic prefixes were exercised, not only plain names.
    assert corpus.expected(200).decoys > 0
    assert corpus.expected(200).prefixed > 0


def test_regex_on_a_sample_is_extrapolated(tmp_path: Path) -> None:
    items = build_name_items(10, SEED)
    corpus = generate_corpus(items, 100_000, SEED)
    names = [item.text for item in items]

    result = run_regex(names, corpus.articles, corpus.size, 5, corpus.expected(10, 5).regex)

    assert result.sampled
    assert result.scanned_bytes == sum(a.size() for a in corpus.articles[:5])
    assert result.hits == result.expected_hits
    assert result.seconds_full == pytest.approx(result.seconds * corpus.size / result.scanned_bytes)


def test_memory_is_measured(tmp_path: Path) -> None:
    items = build_name_items(200, SEED)
    corpus = generate_corpus(items, 50_000, SEED)
    path = write_watchlist(items, tmp_path / "bench200.yaml")

    memory = measure_memory(path, 200, corpus.articles, rss_probe=True)

    assert 0 < memory.retained_mb <= memory.peak_mb
    assert memory.rss_delta_mb is None or memory.rss_delta_mb >= 0


def test_report_as_table_and_json(tmp_path: Path) -> None:
    config = BenchConfig(
        total_mb=0.1, sizes=(10, 200), regex_sample_mb=0.03, memory_mb=0.03, rss_probe=False
    )

    report = run_benchmark(config, tmp_path)

    assert [(r.approach, r.names) for r in report.results] == [
        (approach, size) for size in (10, 200) for approach in ("matcher", "regex", "raw")
    ]
    sampled = {r.names for r in report.results if r.sampled}
    assert sampled == {200}
    table = format_report(report)
    assert "matcher (whole path)" in table and "regex alternation *" in table
    assert "Targets" in table
    document = json.loads(json.dumps(report.to_json()))
    assert document["text"]["bytes"] == report.total_bytes
    assert len(document["results"]) == 6
    assert all(r["hits"] == r["expected_hits"] for r in document["results"] if r["expected_hits"])


def test_quick_json_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)

    assert {r["names"] for r in document["results"]} == {10, 200}
    assert document["memory"]["names"] == 200
