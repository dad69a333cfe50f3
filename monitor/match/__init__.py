"""Watchlist matching (pure): load watchlists, scan articles with one Aho-Corasick automaton,
apply context and boolean rules, and build excerpts."""

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
    load_watchlist,
    parse_watchlist,
    watchlist_report,
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
    "load_watchlist",
    "parse_watchlist",
    "watchlist_report",
]
