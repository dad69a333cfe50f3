"""The alert record survives the database: a match stored as JSON reads back as the same typed
match, and its payload carries every part of it (rule_expr and truncated included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.alerts import ArticleRef
from monitor.alerts.record import Alert, match_from_json
from monitor.match import Matcher
from monitor.match.watchlist_file import load_watchlist
from tests.integration.helpers import LIBYA_WATCHLIST

ARTICLE = ArticleRef(7, "t", "https://example.org/a", None, "Wire", "https://example.org/rss")
WHEN = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def matches_of(fields: dict[str, str]) -> list[object]:
    matcher = Matcher([load_watchlist(LIBYA_WATCHLIST)])
    return list(matcher.match(fields).alerts)


def test_a_stored_match_reads_back_as_itself() -> None:
    (match,) = matches_of(
        {"title": "Haftar's forces advance on Tripoli", "content": "<p>The LNA said.</p>"}
    )
    assert match_from_json(match.to_json()) == match  # type: ignore[attr-defined]


def test_a_truncated_match_says_so_in_the_payload() -> None:
    (match,) = matches_of({"content": "<p>" + "Haftar " * 200_000 + "</p>"})
    assert match.truncated  # type: ignore[attr-defined]
    again = match_from_json(match.to_json())  # type: ignore[attr-defined]
    assert again.truncated
    data = Alert(again, ARTICLE, WHEN).payload()["data"]
    assert data["truncated"] is True  # type: ignore[index]
    assert len(data["matches"]) <= 100  # type: ignore[index]


@pytest.mark.parametrize(
    "detail",
    [
        {"matches": "x"},
        {"matches": [{"start": "0", "end": 1}]},
        {"excerpts": [{"highlights": [[0]]}]},
        {"excerpts": ["x"]},
    ],
)
def test_a_malformed_stored_match_is_refused_with_a_reason(detail: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|highlight"):
        match_from_json(detail)
