"""The labelled story set (tests/data/stories/): well formed, generated files in sync with
the hand-written base stories, and pairwise precision >= 0.98 and recall >= 0.90 of "same
story" on the tuning set and on the held-out set."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.stories import SETS, cluster, load, score

DATA = Path(__file__).resolve().parents[2] / "data" / "stories"
VARIANTS = {"wire", "rewritten-headline", "shortened-lead", "added-paragraphs", "correction"}


def test_the_set_is_large_enough_and_every_story_has_every_variant() -> None:
    articles = [a for path in SETS.values() for a in load(path)]
    stories = Counter(a.story for a in articles)
    assert len(articles) >= 300 and len(stories) >= 60
    for story in stories:
        assert {a.variant for a in articles if a.story == story} == VARIANTS
    heldout = {a.story for a in load(SETS["heldout"])}
    assert len(heldout) >= 0.2 * len(stories)
    assert not heldout & {a.story for a in load(SETS["tuning"])}
    assert len({a.id for a in articles}) == len(articles)


def test_trap_groups_are_same_day_and_in_one_split() -> None:
    for name in ("base.jsonl", "base-heldout.jsonl"):
        rows = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line]
        groups: dict[str, set[str]] = {}
        for row in rows:
            if row["group"]:
                groups.setdefault(row["group"], set()).add(row["published"][:10])
        assert groups and all(len(days) == 1 for days in groups.values())
        assert sum(len([r for r in rows if r["group"] == g]) for g in groups) >= 0.3 * len(rows)
    assert {r["lang"] for r in map(json.loads, (DATA / "base.jsonl").read_text().splitlines())} == {
        "en",
        "fr",
        "it",
        "ar",
    }


def test_the_generated_files_match_the_base_stories(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(DATA / "make_variants.py"), str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    for name in ("tuning.jsonl", "heldout.jsonl"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            "run tests/data/stories/make_variants.py and commit its output"
        )


@pytest.mark.parametrize("name", ["tuning", "heldout"])
def test_pairwise_precision_and_recall(name: str) -> None:
    articles = load(SETS[name])
    scores = score(articles, dict(cluster(articles)))
    assert scores.precision >= 0.98, scores
    assert scores.recall >= 0.90, scores


def test_pairwise_scores_count_each_pair_once() -> None:
    from monitor.stories import pairwise_scores

    labels = {"a": 1, "b": 1, "c": 1, "d": 2}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y"}
    scores = pairwise_scores(labels, predicted)
    assert (scores.true_pairs, scores.predicted_pairs, scores.actual_pairs) == (1, 2, 3)
    assert scores.precision == 0.5 and scores.recall == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        pairwise_scores(labels, {"a": 1})
