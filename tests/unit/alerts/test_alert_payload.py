"""The webhook body: its shape (as in the README) and its exact bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.alerts.payload import ArticleRef, build_payload, encode_body

ARTICLE = ArticleRef(
    id=42,
    title="Haftar meets GNA envoy in Tripoli",
    url="https://news.example.org/2026/11/haftar",
    published=datetime(2026, 11, 25, 9, 30, tzinfo=timezone(timedelta(hours=2))),
    source_name="Example Wire",
    source_url="https://news.example.org/rss.xml",
)
MATCHES = [
    {
        "watchlist": "libya",
        "entity": "haftar",
        "field": "title",
        "start": 0,
        "end": 6,
        "text": "Haftar",
        "internal_score": 0.9,
    },
    {
        "watchlist": "libya",
        "entity": "gna",
        "field": "title",
        "start": 13,
        "end": 16,
        "text": "GNA",
    },
]
EXCERPTS = [{"field": "title", "text": ARTICLE.title, "highlights": ((0, 6), (13, 16))}]
NOW = datetime(2026, 11, 25, 12, 0, 1, tzinfo=UTC)


def _payload() -> dict[str, object]:
    return build_payload(
        watchlist="libya",
        entities=("haftar", "gna"),
        article=ARTICLE,
        matches=MATCHES,
        excerpts=EXCERPTS,
        rule=None,
        timestamp=NOW,
    )


def test_payload_has_the_documented_shape() -> None:
    assert _payload() == {
        "type": "watchlist.match",
        "timestamp": "2026-11-25T12:00:01Z",
        "data": {
            "watchlist": "libya",
            "entities": ["haftar", "gna"],
            "article": {
                "id": 42,
                "title": "Haftar meets GNA envoy in Tripoli",
                "url": "https://news.example.org/2026/11/haftar",
                "published": "2026-11-25T07:30:00Z",
                "source": {"name": "Example Wire", "url": "https://news.example.org/rss.xml"},
            },
            "matches": [
                {
                    "watchlist": "libya",
                    "entity": "haftar",
                    "field": "title",
                    "start": 0,
                    "end": 6,
                    "text": "Haftar",
                },
                {
                    "watchlist": "libya",
                    "entity": "gna",
                    "field": "title",
                    "start": 13,
                    "end": 16,
                    "text": "GNA",
                },
            ],
            "excerpts": [
                {"field": "title", "text": ARTICLE.title, "highlights": [[0, 6], [13, 16]]}
            ],
            "rule": None,
            "rule_expr": None,
            "truncated": False,
            "story": None,
            "update_of": None,
            "changes": None,
        },
    }


def test_naive_datetimes_are_utc_and_missing_ones_are_null() -> None:
    article = ArticleRef("abc", "t", None, None, "s", "https://s.example/")
    payload = build_payload(
        watchlist="libya",
        entities=[],
        article=article,
        matches=[],
        excerpts=[],
        rule="haftar AND tripoli",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, 600000),
    )
    assert payload["timestamp"] == "2026-01-02T03:04:05.600000Z"
    data = payload["data"]
    assert isinstance(data, dict)
    assert data["article"]["published"] is None
    assert data["article"]["url"] is None
    assert data["article"]["id"] == "abc"
    assert data["rule"] == "haftar AND tripoli"


@pytest.mark.parametrize(
    ("matches", "excerpts", "problem"),
    [
        ([{"watchlist": "libya", "entity": "x"}], [], "match is missing"),
        ([{**MATCHES[1], "start": "0"}], [], "integer offset"),
        ([], [{"field": "title", "text": "x"}], "excerpt is missing"),
        ([], [{"field": "title", "text": "x", "highlights": [[0]]}], r"\[start, end\]"),
    ],
)
def test_malformed_matches_and_excerpts_are_refused(
    matches: list[dict[str, object]], excerpts: list[dict[str, object]], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        build_payload(
            watchlist="libya",
            entities=[],
            article=ARTICLE,
            matches=matches,
            excerpts=excerpts,
            rule=None,
            timestamp=NOW,
        )


def test_body_is_compact_utf8_json_in_payload_order() -> None:
    article = ArticleRef(7, "حفتر في طرابلس", None, None, "وكالة", "https://x.example/")
    payload = build_payload(
        watchlist="libya",
        entities=["haftar"],
        article=article,
        matches=[],
        excerpts=[],
        rule=None,
        timestamp=NOW,
    )
    body = encode_body(payload)
    assert body.startswith(b'{"type":"watchlist.match","timestamp":"2026-11-25T12:00:01Z","data":')
    assert "حفتر في طرابلس".encode() in body
    assert b" " not in body.replace("حفتر في طرابلس".encode(), b"")
    assert json.loads(body) == payload
    assert encode_body(payload) == body


def test_body_refuses_nan_and_survives_lone_surrogates() -> None:
    with pytest.raises(ValueError):
        encode_body({"value": float("nan")})
    assert json.loads(encode_body({"text": "a\ud800b"})) == {"text": "a?b"}


def test_article_and_source_urls_are_redacted() -> None:
    article = ArticleRef(
        id=7,
        title="t",
        url="https://bob:pw1@news.example.org/a?id=3&access_token=tok1",
        published=None,
        # A source from an OPML outline without a title is named by its URL.
        source_name="https://user:s3cret@news.example.org/rss.xml?token=t0ken&page=2",
        source_url="https://user:s3cret@news.example.org/rss.xml?token=t0ken&page=2",
    )
    payload = build_payload(
        watchlist="libya",
        entities=(),
        article=article,
        matches=[],
        excerpts=[],
        rule=None,
        timestamp=NOW,
    )
    shown = payload["data"]["article"]  # type: ignore[index]
    # An article's query parameters are its address (an outside probe: `?key=7788&id=1`,
    # a CDN's `?sig=`, sent as REDACTED, led nowhere); a feed's own credentials repeated in
    # its entries' links are masked when they are parsed (tests/unit/test_parse.py,
    # test_a_guid_or_link_repeating_the_feed_urls_credentials_has_them_masked).
    assert shown["url"] == "https://REDACTED@news.example.org/a?id=3&access_token=tok1"
    source = "https://REDACTED@news.example.org/rss.xml?token=REDACTED&page=2"
    assert shown["source"] == {"name": source, "url": source}
    for secret in ("pw1", "s3cret", "t0ken"):
        assert secret not in encode_body(payload).decode()


def test_a_link_stored_with_the_feeds_own_token_is_sent_masked() -> None:
    # probe70: versions before 2026-12-06 stored entry links that repeat a private feed's
    # token as they were and masked it when sending; the current parser masks it when it
    # reads the feed, and the payload sent such old rows (pending or dead alerts, replays)
    # with the token after an upgrade. The payload masks the feed's credentials again.
    feed = "https://feeds.example.org/private.rss?token=s3cr3tTok3n99"
    article = ArticleRef(
        id=8,
        title="t",
        url="https://feeds.example.org/story-w-1.html?token=s3cr3tTok3n99",
        published=None,
        source_name="Private",
        source_url=feed,
    )
    payload = build_payload(
        watchlist="libya", entities=(), article=article, matches=[], excerpts=[], rule=None,
        timestamp=NOW,
    )  # fmt: skip
    shown = payload["data"]["article"]  # type: ignore[index]
    assert shown["url"] == "https://feeds.example.org/story-w-1.html?token=REDACTED"
    assert "s3cr3tTok3n99" not in encode_body(payload).decode()
