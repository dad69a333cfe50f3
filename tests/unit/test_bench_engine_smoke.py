"""The engine benchmarks on tiny sizes, so they keep working: the feed farm serves valid feeds,
304s and published entries; `bench.ingest --quick` stores what the farm serves."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import feedparser
import httpx
import pytest

from bench import ingest
from bench.farm import HOSTS, Farm


def test_the_farm_serves_feeds_answers_304_and_publishes() -> None:
    with Farm(6) as farm, httpx.Client(trust_env=False, timeout=10) as client:
        assert {httpx.URL(u).host for u in farm.urls()} == set(HOSTS[:6])
        parsed = [feedparser.parse(client.get(url).content) for url in farm.urls()]
        assert [p.version for p in parsed] == ["rss20", "rss20", "atom10"] * 2
        assert all(len(p.entries) == 20 and not p.bozo for p in parsed)
        text = " ".join(e.title + e.summary for p in parsed for e in p.entries)
        assert "Haftar" in text or "Tripoli" in text
        assert 12_000 < len(farm.body(0)) < 30_000

        etag = farm.etag(1)
        assert client.get(farm.url(1), headers={"If-None-Match": etag}).status_code == 304
        link = farm.publish(1, "Haftar in Tripoli", "Khalifa Haftar arrived in Tripoli.")
        assert link not in farm.first_served
        fresh = client.get(farm.url(1), headers={"If-None-Match": etag})

        assert fresh.status_code == 200
        entries = feedparser.parse(fresh.content).entries
        assert len(entries) == 20 and entries[0].link == link
        assert farm.first_served[link] >= farm.requests[-1].t
        assert [r.status for r in farm.requests if r.feed == 1] == [200, 304, 200]


def test_the_farm_single_host_mode() -> None:
    with Farm(3, single_host=True) as farm, httpx.Client(trust_env=False, timeout=10) as client:
        assert {httpx.URL(u).host for u in farm.urls()} == {"127.0.0.1"}
        assert client.get(farm.url(2)).status_code == 200
        assert client.get(farm.url(2).replace("/2.", "/9.")).status_code == 404


@pytest.fixture(scope="module")
def quick_ingest() -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    args = ["--quick", "--json"]
    if importlib.util.find_spec("reader") is None:
        args.append("--no-reader")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert ingest.main(args) == 0
    return {r["system"].split()[0]: r for r in json.loads(out.getvalue())["results"]}


def test_ingest_quick_stores_every_entry_and_sees_304s(quick_ingest: dict[str, Any]) -> None:
    ours = quick_ingest["news-monitor"]
    assert ours["returncodes"] == [0, 0]
    assert ours["stored"] == 10 * 20
    assert ours["warm_304"] == 10
    assert ours["peak_rss_mb"] > 0
    assert quick_ingest["feedparser"]["stored"] == 10 * 20


def test_ingest_quick_reader_peer(quick_ingest: dict[str, Any]) -> None:
    if "reader" not in quick_ingest:
        pytest.skip("reader is not installed (pip install -r bench/requirements.txt)")
    peer = quick_ingest["reader"]
    assert peer["returncodes"] == [0, 0]
    assert peer["stored"] == 10 * 20
    assert peer["warm_304"] == 10


def _run_quick(main: Any) -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--quick", "--json"]) == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_service_quick_polls_every_feed_on_its_interval_after_the_cold_pass() -> None:
    # The farm's feeds publish an entry an hour: unless the bench fixes every interval, the
    # adaptive schedule stretches them to an hour and the bench measures nothing (it did).
    from bench import service

    report = _run_quick(service.main)
    assert report["never_polled"] == 0
    assert report["steady_polls_per_min"] and report["steady_polls_per_min"] > 0
    assert report["steady"]["count"] > 0
    assert report["steady"]["max"] < report["interval_s"]


def test_latency_quick_alerts_every_served_entry() -> None:
    from bench import latency

    (sqlite,) = _run_quick(latency.main)["results"]
    assert sqlite["served"] > 0
    assert sqlite["alerted"] == sqlite["served"]
    assert sqlite["missing"] == 0 and sqlite["duplicates"] == 0 and sqlite["bad_signatures"] == 0
    assert sqlite["exit_codes"] == [0]
