"""What ``Matcher`` decided while matching one article, recorded for ``Matcher.explain``."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.match.context import Verdict
from monitor.match.rules import Evidence
from monitor.match.scan import FieldScan, Hit

__all__ = ["MatchTrace"]


@dataclass
class MatchTrace:
    """Filled by the matcher's one code path when it is given one (watchlists by index)."""

    scans: list[FieldScan] = field(default_factory=list)
    # (watchlist, field, name found, what the entity's context rules decided)
    verdicts: list[tuple[int, str, Hit, Verdict]] = field(default_factory=list)
    # (watchlist, field, name left out, the overlapping name that won)
    overlapped: list[tuple[int, str, Hit, Hit]] = field(default_factory=list)
    evidence: dict[int, Evidence] = field(default_factory=dict)
    holding: dict[int, tuple[str, ...]] = field(default_factory=dict)
