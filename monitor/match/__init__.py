"""Watchlist matching (pure): scan articles with one Aho-Corasick automaton, apply context
and boolean rules, and build excerpts. Reading watchlist files: monitor.match.watchlist_file.

The service process only stores and routes matches (its parsing workers match), so this
package imports the value types at once and the matcher (Aho-Corasick, the rule engine)
when `Matcher` or `check_examples` is first used; the file format (pydantic, PyYAML) only
from `watchlist_file`."""

from typing import TYPE_CHECKING

from monitor.match.result import FIELDS, Excerpt, MatchResult, Mention, WatchlistMatch
from monitor.match.watchlist import (
    Entity,
    Example,
    Examples,
    Proximity,
    Rule,
    Watchlist,
)

if TYPE_CHECKING:
    from monitor.match.examples import check_examples
    from monitor.match.matcher import Matcher

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


def __getattr__(name: str) -> object:
    if name == "Matcher":
        from monitor.match.matcher import Matcher

        return Matcher
    if name == "check_examples":
        from monitor.match.examples import check_examples

        return check_examples
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
