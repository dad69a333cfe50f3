"""Pairwise precision and recall of a clustering against labels (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

__all__ = ["PairScores", "pairwise_scores"]


@dataclass(frozen=True, slots=True)
class PairScores:
    """Pairs of articles put in one story (predicted) and labelled one story (actual)."""

    true_pairs: int
    predicted_pairs: int
    actual_pairs: int

    @property
    def precision(self) -> float:
        return self.true_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_pairs / self.actual_pairs if self.actual_pairs else 1.0


def _pairs(sizes: Counter[Hashable]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes.values())


def pairwise_scores(
    labels: Mapping[str, Hashable], predicted: Mapping[str, Hashable]
) -> PairScores:
    """Scores of ``predicted`` (article -> story) against ``labels`` (article -> story),
    counting every unordered pair of articles once."""
    if labels.keys() != predicted.keys():
        raise ValueError("labels and predictions must cover the same articles")
    both: Counter[Hashable] = Counter((labels[a], predicted[a]) for a in labels)
    return PairScores(
        true_pairs=_pairs(both),
        predicted_pairs=_pairs(Counter(predicted.values())),
        actual_pairs=_pairs(Counter(labels.values())),
    )
