"""Story clustering: pairwise precision/recall on the labelled sets and the cost per article
of signature + lookup with many stored articles, beside naive peers.

    python -m bench.stories                 # scores + cost at 100,000 stored articles, 3 runs
    python -m bench.stories --stored 5000 --probes 200 --runs 1   # a quick run
    python -m bench.stories --sweep         # the threshold sweep (tuning set only)

Prints figures; asserts nothing (tests/unit/stories/ holds the thresholds' tests).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.stories import (
    DEFAULT_CONFIG,
    PairScores,
    Signature,
    StoryConfig,
    feed_signatures,
    pairwise_scores,
    signature,
    story_tokens,
)
from monitor.stories.index import StoryIndex

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "stories"
SETS = {"tuning": DATA / "tuning.jsonl", "heldout": DATA / "heldout.jsonl"}
AGGREGATORS = DATA.parent / "aggregators" / "feeds.jsonl"


@dataclass(frozen=True)
class Article:
    id: str
    story: str
    variant: str
    published: datetime
    title: str
    summary: str
    content: str


def load(path: Path) -> list[Article]:
    """The articles of a labelled file, oldest first (the order a service would see them)."""
    articles = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            published = datetime.fromisoformat(row["published"].replace("Z", "+00:00"))
            articles.append(
                Article(
                    row["id"], row["story"], row["variant"], published,
                    row["title"], row["summary"], row["content"],
                )
            )  # fmt: skip
    return sorted(articles, key=lambda a: (a.published, a.id))


def cluster(articles: Sequence[Article], config: StoryConfig = DEFAULT_CONFIG) -> dict[str, int]:
    """Article id -> story, adding the articles to a fresh index in order."""
    index = StoryIndex(config)
    out = {}
    for number, article in enumerate(articles):
        sig = signature(article.title, article.summary, article.content, config)
        out[article.id] = index.add(number, sig, article.published).story
    return out


@dataclass(frozen=True)
class FeedScores:
    """Pairs of one feed's entries (the stock-text rule's ground): precision and recall of
    "same story", and the stories that came out more than once (extra ``first`` alerts) or
    were merged into another (lost alerts), over the whole set."""

    within: PairScores
    extra_alerts: int
    lost_alerts: int


def load_feeds(path: Path = AGGREGATORS) -> dict[str, list[dict[str, str]]]:
    """The entries of a labelled set of feeds (tests/data/aggregators/), by feed."""
    feeds: dict[str, list[dict[str, str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            feeds.setdefault(row["feed"], []).append(row)
    return feeds


def cluster_feeds(
    feeds: dict[str, list[dict[str, str]]], config: StoryConfig = DEFAULT_CONFIG
) -> dict[str, int]:
    """Entry id -> story, each feed read whole as one poll (`feed_signatures`, as the
    service signs a fetched feed), the feeds one after another into one index."""
    index = StoryIndex(config)
    out: dict[str, int] = {}
    for name in sorted(feeds):
        entries = sorted(feeds[name], key=lambda e: (e["published"], e["id"]))
        sigs = feed_signatures([(e["title"], e["summary"], e["content"]) for e in entries], config)
        for entry, sig in zip(entries, sigs, strict=True):
            published = datetime.fromisoformat(entry["published"].replace("Z", "+00:00"))
            out[entry["id"]] = index.add(len(out), sig, published).story
    return out


def score_feeds(feeds: dict[str, list[dict[str, str]]], predicted: dict[str, int]) -> FeedScores:
    labels = {e["id"]: e["story"] for entries in feeds.values() for e in entries}
    true = predicted_pairs = actual = 0
    for entries in feeds.values():
        for a, b in itertools.combinations([e["id"] for e in entries], 2):
            same, joined = labels[a] == labels[b], predicted[a] == predicted[b]
            true += same and joined
            predicted_pairs += joined
            actual += same
    told: dict[str, set[int]] = {}
    merged: dict[int, set[str]] = {}
    for entry, label in labels.items():
        told.setdefault(label, set()).add(predicted[entry])
        merged.setdefault(predicted[entry], set()).add(label)
    return FeedScores(
        PairScores(true, predicted_pairs, actual),
        sum(len(v) - 1 for v in told.values()),
        sum(len(v) - 1 for v in merged.values()),
    )


def score(articles: Sequence[Article], predicted: dict[str, object]) -> PairScores:
    return pairwise_scores({a.id: a.story for a in articles}, predicted)


def shingle_set(article: Article, config: StoryConfig) -> set[str]:
    title, lead = story_tokens(article.title, article.summary, article.content, config)
    k = config.shingle
    return {" ".join(w[i : i + k]) for w in (title, lead) for i in range(max(1, len(w) - k + 1))}


def exact_fingerprint(article: Article, config: StoryConfig) -> str:
    """The naive peer: one story per identical normalised title + lead."""
    title, lead = story_tokens(article.title, article.summary, article.content, config)
    return hashlib.sha256(" ".join(title + ["|"] + lead).encode()).hexdigest()


def cluster_exact_jaccard(articles: Sequence[Article], config: StoryConfig) -> dict[str, int]:
    """The brute-force peer: the same decision (and names guard) on exact shingle sets,
    against every earlier article in the window: what MinHash estimates."""
    stored: list[tuple[Article, set[str], Signature, int]] = []
    out = {}
    for number, article in enumerate(articles):
        mine = shingle_set(article, config)
        sig = signature(article.title, article.summary, article.content, config)
        best, story = 0.0, number
        for other, theirs, their_sig, their_story in stored:
            if abs(other.published - article.published) > config.window or not mine:
                continue
            common = len(mine & theirs)
            jaccard = common / len(mine | theirs)
            contained = common / min(len(mine), len(theirs))
            same = jaccard >= config.same_story or (
                jaccard >= config.contained_floor and contained >= config.contained
            )
            if same and config.names_guard and sig.names_conflict(their_sig):
                same = False
            if same and jaccard > best:
                best, story = jaccard, their_story
        stored.append((article, mine, sig, story))
        out[article.id] = story
    return out


# --- the cost at scale ---------------------------------------------------------------------


def synthetic_articles(count: int, seed: int, when: datetime) -> list[Article]:
    """News-like title + lead from a Zipf-ish vocabulary, all published in one window (the
    index's worst case: the window filters nothing)."""
    rng = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(20_000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    words = rng.choices(vocabulary, weights, k=count * 60)
    out = []
    for n in range(count):
        chunk = words[n * 60 : (n + 1) * 60]
        out.append(
            Article(
                f"x{n}", f"x{n}", "synthetic", when + timedelta(seconds=n % 3600),
                " ".join(chunk[:10]), " ".join(chunk[10:]) + f" {n}", "",
            )
        )  # fmt: skip
    return out


BRUTE_SAMPLE = 10_000


def measure_cost(
    stored: int, probes: int, seed: int, config: StoryConfig
) -> tuple[float, float, float, float, float]:
    """Milliseconds per article: signature + lookup + add, of which the signature; the
    exact-fingerprint peer; brute-force exact Jaccard over ``stored`` (timed over a sample
    of at most BRUTE_SAMPLE of them and scaled linearly); then the mean number of
    candidates a lookup checks."""
    when = datetime(2026, 6, 1, tzinfo=UTC)
    corpus = synthetic_articles(stored + probes, seed, when)
    index = StoryIndex(config)
    for number, article in enumerate(corpus[:stored]):
        index.add(number, signature(article.title, article.summary, article.content, config), when)
    probe = corpus[stored:]
    start = time.perf_counter()
    sigs: list[Signature] = [signature(a.title, a.summary, a.content, config) for a in probe]
    signed = time.perf_counter()
    for number, sig in enumerate(sigs, start=stored):
        index.add(number, sig, when)
    done = time.perf_counter()
    candidates = statistics.fmean(len(index.candidates(sig, when)) for sig in sigs[:200])
    per_sig = (signed - start) / probes * 1e3
    per_all = (done - start) / probes * 1e3

    seen: dict[str, str] = {exact_fingerprint(a, config): a.id for a in corpus[:stored]}
    start = time.perf_counter()
    for article in probe:
        seen.setdefault(exact_fingerprint(article, config), article.id)
    fingerprint_ms = (time.perf_counter() - start) / probes * 1e3

    # Brute force against a sample of at most BRUTE_SAMPLE stored articles, scaled to all.
    sample = corpus[: min(stored, BRUTE_SAMPLE)]
    sets = [shingle_set(a, config) for a in sample]
    brute_probes = probe[: max(1, min(20, probes))]
    start = time.perf_counter()
    for article in brute_probes:
        mine = shingle_set(article, config)
        max((len(mine & theirs) / len(mine | theirs) for theirs in sets), default=0.0)
    brute_ms = (time.perf_counter() - start) / len(brute_probes) * 1e3 * stored / len(sample)
    return per_all, per_sig, fingerprint_ms, brute_ms, candidates


def spread(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):.3f}  min {min(values):.3f}  max {max(values):.3f}"


def print_scores(config: StoryConfig, out: Callable[[str], None]) -> None:
    out(f"{'set':8} {'articles':>8} {'stories':>7}  {'approach':28} {'precision':>9} {'recall':>7}")
    for name, path in SETS.items():
        articles = load(path)
        stories = len({a.story for a in articles})
        peers: list[tuple[str, dict[str, object]]] = [
            ("minhash index (this)", dict(cluster(articles, config))),
            ("exact Jaccard, brute force", dict(cluster_exact_jaccard(articles, config))),
            ("exact fingerprint", {a.id: exact_fingerprint(a, config) for a in articles}),
        ]
        for label, predicted in peers:
            s = score(articles, predicted)
            out(
                f"{name:8} {len(articles):>8} {stories:>7}  {label:28} "
                f"{s.precision:>9.4f} {s.recall:>7.4f}"
            )


def print_feed_scores(config: StoryConfig, out: Callable[[str], None]) -> None:
    feeds = load_feeds()
    scores = score_feeds(feeds, cluster_feeds(feeds, config))
    entries = sum(len(e) for e in feeds.values())
    out(
        f"aggregator feeds ({len(feeds)} feeds, {entries} entries), pairs within a feed: "
        f"precision {scores.within.precision:.4f}, recall {scores.within.recall:.4f}; "
        f"stories told more than once: {scores.extra_alerts} extra, merged: "
        f"{scores.lost_alerts}"
    )


def margins(articles: Sequence[Article], out: Callable[[str], None]) -> None:
    """Where the default threshold sits: the estimated Jaccard of the most similar pairs of
    different stories (with and without the names guard) and of the weakest link each
    article needs (its best earlier article of the same story)."""
    sigs = {a.id: signature(a.title, a.summary, a.content) for a in articles}
    passed, guarded = [0.0], [0.0]
    for x, y in itertools.combinations(articles, 2):
        if x.story != y.story:
            j = sigs[x.id].jaccard(sigs[y.id])
            (guarded if sigs[x.id].names_conflict(sigs[y.id]) else passed).append(j)
    links = []
    for i, article in enumerate(articles):
        earlier = [
            sigs[article.id].jaccard(sigs[b.id]) for b in articles[:i] if b.story == article.story
        ]
        if earlier:
            links.append(max(earlier))
    out(
        f"different stories, highest Jaccard: {max(passed):.3f} (names guard passes), "
        f"{max(guarded):.3f} (names guard rejects)"
    )
    out(
        f"same story, weakest best earlier link: {min(links):.3f}; "
        f"5th percentile {statistics.quantiles(links, n=20)[0]:.3f}"
    )


def sweep(out: Callable[[str], None]) -> None:
    """Precision/recall over a grid of settings, on the tuning set only (never held-out)."""
    articles = load(SETS["tuning"])
    out(
        f"{'shingle':>7} {'guard':>5} {'same':>5} {'contained':>9} {'floor':>5} "
        f"{'precision':>9} {'recall':>7}"
    )
    grid = itertools.product(
        (1, 2, 3), (True, False), (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6), (0.65, 0.75, 0.85, None)
    )
    for shingle, guard, same, contained in grid:
        for floor in (0.2, 0.3) if contained is not None else (1.0,):
            config = replace(
                DEFAULT_CONFIG,
                shingle=shingle,
                names_guard=guard,
                same_story=same,
                contained=contained if contained is not None else 1.0,
                contained_floor=floor,
            )
            s = score(articles, dict(cluster(articles, config)))
            shown = f"{contained:.2f}" if contained is not None else "off"
            out(
                f"{shingle:>7} {'on' if guard else 'off':>5} {same:>5.2f} {shown:>9} "
                f"{floor:>5.2f} {s.precision:>9.4f} {s.recall:>7.4f}"
            )
    out("")
    margins(articles, out)
    out("")
    out(f"{'window h':>8} {'precision':>9} {'recall':>7}   (defaults otherwise)")
    for hours in (1, 6, 12, 24, 48, 96, 24 * 30):
        config = replace(DEFAULT_CONFIG, window=timedelta(hours=hours))
        s = score(articles, dict(cluster(articles, config)))
        out(f"{hours:>8} {s.precision:>9.4f} {s.recall:>7.4f}")
    out("")
    out(f"{'rows':>4} {'bands':>5} {'precision':>9} {'recall':>7}   (defaults otherwise)")
    for rows in (2, 3, 4, 6):
        config = replace(DEFAULT_CONFIG, rows=rows)
        s = score(articles, dict(cluster(articles, config)))
        out(f"{rows:>4} {config.bands:>5} {s.precision:>9.4f} {s.recall:>7.4f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, default=100_000, help="articles in the index")
    parser.add_argument("--probes", type=int, default=2_000, help="articles timed per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", action="store_true", help="the threshold sweep only")
    args = parser.parse_args(argv)
    out = print
    config = DEFAULT_CONFIG
    if args.sweep:
        sweep(out)
        return 0
    out(
        f"Story clustering, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Python "
        f"{sys.version.split()[0]}; num_perm {config.num_perm}, {config.bands} bands, "
        f"{config.shingle}-word shingles, same_story {config.same_story}, contained "
        f"{config.contained} (floor {config.contained_floor}), window "
        f"{config.window.total_seconds() / 3600:g} h"
    )
    print_scores(config, out)
    print_feed_scores(config, out)
    out("")
    out(f"Cost per article with {args.stored:,} stored articles ({args.probes:,} timed), ms:")
    rows = [
        measure_cost(args.stored, args.probes, args.seed + run, config) for run in range(args.runs)
    ]
    for run, (total, sig, fingerprint, brute, candidates) in enumerate(rows, start=1):
        out(
            f"  run {run}: signature + lookup + add {total:.3f} (signature {sig:.3f}, "
            f"{candidates:.1f} candidates checked per lookup); "
            f"exact fingerprint {fingerprint:.3f}; brute-force exact Jaccard {brute:.1f}"
        )
    out(f"  signature + lookup + add: {spread([r[0] for r in rows])}")
    out(f"  exact fingerprint:        {spread([r[2] for r in rows])}")
    out(f"  brute-force Jaccard:      {spread([r[3] for r in rows])} (scaled from a sample)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
