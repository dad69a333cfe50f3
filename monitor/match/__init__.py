"""Watchlist matching (pure): scan articles with one Aho-Corasick automaton, apply context
and boolean rules, and build excerpts. Reading watchlist files: monitor.match.watchlist_file
(not imported here: the parsing workers match without loading pydantic and PyYAML)."""

from monitor.match.examples import check_examples
from monitor.match.matcher import Matcher
from monitor.match.result import FIELDS, Excerpt, MatchResult, Mention, WatchlistMatch
from monitor.match.watchlist import (
    Entity,
    Example,
    Examples,
    Proximity,
    Rule,
    Watchlist,
)

__all__ = [
    "FIELDS",
    "Entity",
    "Example",
    "Examples",
    "Excerpt",
    "MatchResult",
    "Matcher",
    "Mention",
    "Proximity",
    "Rule",
    "Watchlist",
    "WatchlistMatch",
    "check_examples",
]
