"""The alert policy per sink (pure): stories first/updates/all, the filters, follow-ups and
what they carry; and the story in Slack, Discord and digest messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.alerts.digest import Digest, DigestStory, discord_digest, slack_digest
from monitor.alerts.payload import (
    ArticleRef,
    StoryRef,
    build_payload,
    discord_message,
    render_message,
    slack_message,
)
from monitor.alerts.policy import ALL, Sent, SinkPolicy, decide
from monitor.match import Excerpt

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FIRST = Sent("d-1", "first", frozenset({"haftar"}), frozenset({"A"}))


def _decide(
    policy: SinkPolicy, entities=("haftar",), sources=("A",), history=(), watchlist="libya"
):
    return decide(
        policy,
        watchlist=watchlist,
        entities=entities,
        story_sources=sources,
        history=list(history),
    )


def test_first_sends_a_story_once_per_sink_and_watchlist() -> None:
    policy = SinkPolicy()
    assert _decide(policy).kind == "first"
    assert (
        _decide(policy, entities=("haftar", "lna"), sources=("A", "B", "C"), history=[FIRST])
        is None
    )


def test_all_sends_every_article_whatever_was_sent() -> None:
    assert _decide(ALL, history=[FIRST, FIRST]).kind == "all"


@pytest.mark.parametrize(
    ("entities", "sources", "expected"),
    [
        (("haftar",), ("A", "B"), None),  # one new source < update_sources
        (("haftar", "lna"), ("A",), (("lna",), ())),  # a new watched entity
        (("haftar",), ("A", "B", "C", "D"), ((), ("B", "C", "D"))),  # 3 new sources
        (("lna", "haftar"), ("A", "B"), (("lna",), ("B",))),  # both, sorted
    ],
)
def test_updates_sends_a_follow_up_for_what_is_new(entities, sources, expected) -> None:
    decision = _decide(SinkPolicy(stories="updates"), entities, sources, [FIRST])
    if expected is None:
        assert decision is None
        return
    assert decision is not None and decision.kind == "update"
    assert decision.update_of == "d-1"
    assert (decision.new_entities, decision.new_sources) == expected
    assert decision.changes() == {"entities": list(expected[0]), "sources": list(expected[1])}


def test_a_follow_up_counts_from_everything_already_told() -> None:
    update = Sent("d-2", "update", frozenset({"haftar", "lna"}), frozenset({"A", "B"}))
    policy = SinkPolicy(stories="updates", update_sources=2)
    assert _decide(policy, ("lna",), ("A", "B", "C"), [FIRST, update]) is None
    decision = _decide(policy, ("lna",), ("A", "B", "C", "D"), [FIRST, update])
    assert decision is not None and decision.update_of == "d-1"  # always the first alert
    assert decision.new_sources == ("C", "D")


def test_filters_by_watchlist_entity_and_sources() -> None:
    assert _decide(SinkPolicy(watchlists=frozenset({"sudan"}))) is None
    assert _decide(SinkPolicy(watchlists=frozenset({"libya"}))) is not None
    assert _decide(SinkPolicy(entities=frozenset({"lna"}))) is None
    only_lna = _decide(SinkPolicy(entities=frozenset({"lna"})), entities=("haftar", "lna"))
    assert only_lna is not None and only_lna.entities == {"lna"}
    assert _decide(SinkPolicy(min_sources=2), sources=("A",)) is None
    assert _decide(SinkPolicy(min_sources=2), sources=("A", "B")).kind == "first"
    # A filtered-out entity never makes a follow-up.
    policy = SinkPolicy(stories="updates", entities=frozenset({"haftar"}))
    assert _decide(policy, entities=("haftar", "lna"), history=[FIRST]) is None


def _payload(sources: tuple[str, ...], update_of: str | None = None) -> dict[str, object]:
    article = ArticleRef(
        1, "Haftar meets envoy", "https://a.example/1", NOW, "A", "https://a.example/rss"
    )
    return build_payload(
        watchlist="libya",
        entities=["haftar"],
        article=article,
        matches=[],
        excerpts=[],
        rule=None,
        timestamp=NOW,
        story=StoryRef(7, len(sources), sources, NOW),
        update_of=update_of,
        changes={"entities": ["lna"], "sources": []} if update_of else None,
    )


def test_payload_carries_the_story_and_chat_messages_say_who_else_reported_it() -> None:
    payload = _payload(("A", "B", "C"))
    data = payload["data"]
    assert data["story"] == {
        "id": 7,
        "articles": 3,
        "sources": ["A", "B", "C"],
        "first_seen": "2026-11-25T12:00:00Z",
    }
    assert data["update_of"] is None and data["changes"] is None
    assert "Also reported by 2 other sources" in str(slack_message(payload))
    assert "Also reported by 2 other sources" in str(discord_message(payload))
    alone = _payload(("A",))
    assert "Also reported" not in str(slack_message(alone))
    assert "Also reported" not in str(discord_message(alone))


def test_a_follow_up_is_marked_in_chat_messages() -> None:
    payload = _payload(("A", "B"), update_of="d-1")
    assert payload["data"]["update_of"] == "d-1"
    assert str(slack_message(payload)["blocks"][0]).count("Update: libya") == 1
    # The notification's text too (an outside probe: phones showed it as a first alert).
    assert str(slack_message(payload)["text"]).startswith("Update: libya")
    assert not str(slack_message(_payload(("A", "B")))["text"]).startswith("Update")
    assert str(discord_message(payload)["content"]).startswith("**Update\\: libya")


def test_digest_payload_groups_by_watchlist_and_entity_and_renders_safely() -> None:
    hostile = "<!channel> *Haftar* [x](javascript:1)"
    stories = tuple(
        DigestStory(
            watchlist="libya",
            entities=entities,
            article=ArticleRef(
                n, title, f"https://a.example/{n}", NOW, "A", "https://a.example/rss"
            ),
            excerpt=Excerpt("title", title, ((0, 6),)),
            story=StoryRef(n, 2, ("A", "B"), NOW),
        )
        for n, (title, entities) in enumerate(
            [(hostile, ("haftar",)), ("LNA moves", ("lna", "haftar")), ("More Haftar", ("haftar",))]
        )
    )
    digest = Digest("g-1", "brief", NOW, NOW, stories, NOW)
    payload = digest.payload()
    assert payload["type"] == "watchlist.digest" and payload["data"]["count"] == 3
    (group,) = payload["data"]["watchlists"]
    assert [e["entity"] for e in group["entities"]] == ["haftar", "lna"]
    assert [len(e["stories"]) for e in group["entities"]] == [2, 1]
    slack = slack_digest(payload)
    assert "<!channel>" not in str(slack) and "also reported by 1 other source" in str(slack)
    discord = discord_digest(payload)
    description = str(discord["embeds"][0]["description"])
    assert "](javascript" not in description and "\\[x\\]" in description
    assert discord["allowed_mentions"] == {"parse": []}
    assert render_message("slack", payload) == slack
    assert render_message("standard", payload) == payload


def test_a_chat_digest_keeps_whole_lines_and_says_how_many_it_left_out() -> None:
    # A busy period (110 stories, long titles): Slack's message holds them in sections of
    # whole lines, Discord's one embed what fits; a story left out is counted, never cut
    # inside its link or dropped unsaid (an outside probe, probe66 F7: both messages ended
    # inside a link after about ten stories, and said nothing of the other hundred).
    stories = tuple(
        DigestStory(
            watchlist="libya",
            entities=("haftar",),
            article=ArticleRef(
                n,
                f"Story {n:03d}: Haftar " + "many words " * 40,
                f"https://a.example/{n}",
                NOW,
                "A",
                "https://a.example/rss",
            ),
            excerpt=Excerpt("title", "Haftar", ((0, 6),)),
            story=StoryRef(n, 1, ("A",), NOW),
        )
        for n in range(110)
    )
    payload = Digest("g-1", "brief", NOW, NOW, stories, NOW).payload()

    def told(texts: list[str]) -> int:
        lines = [line for text in texts for line in text.split("\n")]
        shown = [line for line in lines if line.startswith("•")]
        assert all(line.endswith(")") for line in shown)  # no line cut
        assert len({line.split("Story ")[1][:3] for line in shown}) == len(shown)
        more = [line for line in lines if "more stories" in line]
        left = int(more[0].split()[2]) if more else 0
        return len(shown) + left

    slack = slack_digest(payload)
    blocks = slack["blocks"]
    assert len(blocks) <= 50
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert sum(len(text) for text in sections) <= 40_000
    assert told(sections) == 110
    description = discord_digest(payload)["embeds"][0]["description"]
    assert len(description) <= 4096
    assert told([description]) == 110
    assert "more stories" in description
    # A small digest is whole, with no "more" line.
    small = Digest("g-2", "brief", NOW, NOW, stories[:3], NOW).payload()
    assert "more stor" not in str(slack_digest(small)) + str(discord_digest(small))
    assert told([b["text"]["text"] for b in slack_digest(small)["blocks"][1:-1]]) == 3
