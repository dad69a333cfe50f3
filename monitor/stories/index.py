"""An in-memory candidate index of story signatures with a time window (pure; numpy).

The index is LSH banding over the stored MinHash values: a signature of ``num_perm`` values
is cut into ``bands`` bands of ``rows`` values, each band hashed to a signed 64-bit key.
Articles that share one (band, key) are candidates, and each candidate published within
the window is checked with `same_story`. The keys are what a database table would index
(docs/stories.md, "Persistence"): this class is the in-memory form of that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from monitor.stories.decision import band_keys, headline_rules, same_headline
from monitor.stories.signature import DEFAULT_CONFIG, Signature, StoryConfig

__all__ = ["Assignment", "StoryIndex"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where an added article went: its story, the stored article it matched (None for a
    new story) and the estimated Jaccard similarity with it."""

    story: int
    matched: int | None
    jaccard: float


class StoryIndex:
    """Stored signatures by band key, each with its article's time and story.

    ``add`` assigns an article to the story of the most similar stored article published
    within ``window`` of it that `same_story` accepts, else to a new story named after the
    article. Candidates are checked together: the MinHash values of all stored articles are
    rows of one array. Not thread-safe.
    """

    def __init__(self, config: StoryConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self._buckets: dict[tuple[int, int], list[int]] = {}
        self._values = np.empty((1024, config.num_perm), dtype=np.uint32)
        self._seconds = np.empty(1024, dtype=np.float64)  # published, POSIX seconds
        self._sizes = np.empty(1024, dtype=np.float64)
        self._signatures: list[Signature] = []
        self._articles: list[int] = []
        self._stories: list[int] = []
        self._rows: dict[int, int] = {}  # article -> row
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def story_of(self, article: int) -> int:
        return self._stories[self._rows[article]]

    def _candidate_rows(self, sig: Signature, published: datetime) -> npt.NDArray[np.intp]:
        if published.tzinfo is None:
            raise ValueError("published must be an aware datetime")
        found: list[int] = []
        for band, key in enumerate(band_keys(sig, self.config)):
            bucket = self._buckets.get((band, key))
            if bucket:
                found.extend(bucket)
        if not found:
            return np.empty(0, dtype=np.intp)
        rows, shared = np.unique(np.asarray(found, dtype=np.intp), return_counts=True)
        window = self.config.window.total_seconds()
        near = np.abs(self._seconds[rows] - published.timestamp()) <= window
        rows, shared = rows[near], shared[near]
        # The most shared bands first (the most similar), at most max_candidates, and every
        # one under the same headline, as the database lookup does.
        order = np.argsort(-shared, kind="stable")[: self.config.max_candidates]
        chosen = rows[order]
        if sig.headline is not None:
            same = [r for r in rows if self._signatures[r].headline == sig.headline]
            chosen = np.union1d(chosen, np.asarray(same, dtype=np.intp))
        return np.sort(chosen)

    def candidates(self, sig: Signature, published: datetime) -> list[int]:
        """Stored articles sharing a band with ``sig`` and published within the window."""
        return [self._articles[row] for row in self._candidate_rows(sig, published)]

    def find(self, sig: Signature, published: datetime) -> Assignment | None:
        """The best stored match of ``sig``, without storing it."""
        rows = self._candidate_rows(sig, published)
        if not len(rows) or sig.size < self.config.min_shingles:
            return None
        config = self.config
        values = np.frombuffer(sig.data, dtype="<u4")
        jaccard = np.count_nonzero(self._values[rows] == values, axis=1) / config.num_perm
        sizes = self._sizes[rows]
        common = jaccard * (sizes + sig.size) / (1.0 + jaccard)
        contained = np.minimum(1.0, common / np.minimum(sizes, sig.size))
        decides, aside = self._headline_rules(sig, rows)
        headline = np.asarray([int(r) in decides for r in rows], dtype=bool)
        kept = np.asarray([int(r) not in aside for r in rows], dtype=bool)
        accepted = kept & (
            (jaccard >= config.same_story)
            | ((jaccard >= config.contained_floor) & (contained >= config.contained))
            | headline
        )
        best: Assignment | None = None
        for index in np.flatnonzero(accepted)[np.argsort(-jaccard[accepted], kind="stable")]:
            row = int(rows[index])
            if config.names_guard and sig.names_conflict(self._signatures[row]):
                continue
            best = Assignment(self._stories[row], self._articles[row], float(jaccard[index]))
            break
        return best

    def _headline_rules(
        self, sig: Signature, rows: npt.NDArray[np.intp]
    ) -> tuple[set[int], set[int]]:
        """`headline_rules` over the rows under the headline of ``sig``."""
        return headline_rules(
            sig,
            {
                int(r): (self._stories[r], self._signatures[r].headline_only)
                for r in rows
                if same_headline(sig, self._signatures[r])
            },
        )

    def add(self, article: int, sig: Signature, published: datetime) -> Assignment:
        """Store ``article`` and return the story it joins (or starts)."""
        if article in self._rows:
            raise ValueError(f"article {article} is already indexed")
        if len(sig.data) != 4 * self.config.num_perm:
            raise ValueError("signature made with another num_perm")
        found = self.find(sig, published)
        assignment = found if found is not None else Assignment(article, None, 1.0)
        row = len(self._articles)
        if row == len(self._seconds):
            self._values = np.concatenate([self._values, np.empty_like(self._values)])
            self._seconds = np.concatenate([self._seconds, np.empty_like(self._seconds)])
            self._sizes = np.concatenate([self._sizes, np.empty_like(self._sizes)])
        self._values[row] = np.frombuffer(sig.data, dtype="<u4")
        self._seconds[row] = published.timestamp()
        self._sizes[row] = sig.size
        self._signatures.append(sig)
        self._articles.append(article)
        self._stories.append(assignment.story)
        self._rows[article] = row
        self._live += 1
        redundant = (
            found is not None
            and found.matched is not None
            and found.jaccard >= self.config.redundant
            and abs(published.timestamp() - self._seconds[self._rows[found.matched]])
            <= self.config.window.total_seconds() / 2
        )
        if sig.size >= self.config.min_shingles and not redundant:
            half = self.config.window.total_seconds() / 2
            at = self._seconds[row]
            for band, key in enumerate(band_keys(sig, self.config)):
                bucket = self._buckets.setdefault((band, key), [])
                near = sum(1 for other in bucket if abs(self._seconds[other] - at) <= half)
                if near < self.config.per_key:  # a crowded key adds nothing (per_key)
                    bucket.append(row)
        return assignment

    def prune(self, before: datetime) -> int:
        """Forget articles published before ``before`` (they can no longer match a new
        article within the window): they leave the buckets; returns how many."""
        cutoff = before.timestamp()
        old = {row for row in self._rows.values() if self._seconds[row] < cutoff}
        if not old:
            return 0
        for key in list(self._buckets):
            kept = [row for row in self._buckets[key] if row not in old]
            if kept:
                self._buckets[key] = kept
            else:
                del self._buckets[key]
        for row in old:
            del self._rows[self._articles[row]]
        self._live -= len(old)
        return len(old)
