"""Slack and Discord renderings: the right content, hostile feed text escaped, limits kept."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.payload import (
    DISCORD_LIMITS,
    SLACK_LIMITS,
    ArticleRef,
    build_payload,
    discord_message,
    escape_discord,
    escape_slack,
    render_message,
    slack_message,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SENTENCE = "Forces loyal to Haftar entered Tripoli on Monday."
HOSTILE = "<!channel> @everyone <@U123> & *bold* _it_ ~x~ `code` [a](javascript:alert(1)) # > |"


def _payload(
    *,
    title: str = "Haftar meets GNA envoy",
    url: str | None = "https://news.example.org/a?b=1&c=2",
    excerpts: list[dict[str, object]] | None = None,
    source_name: str = "Example Wire",
    rule: str | None = None,
) -> dict[str, object]:
    article = ArticleRef(
        id=1,
        title=title,
        url=url,
        published=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        source_name=source_name,
        source_url="https://news.example.org/rss.xml",
    )
    if excerpts is None:
        excerpts = [{"field": "content", "text": SENTENCE, "highlights": [[16, 22], [31, 38]]}]
    return build_payload(
        watchlist="libya",
        entities=["haftar", "tripoli"],
        article=article,
        matches=[],
        excerpts=excerpts,
        rule=rule,
        timestamp=NOW,
    )


def _slack_texts(message: dict[str, object]) -> list[str]:
    texts = [str(message["text"])]
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    for block in blocks:
        if "text" in block:
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            texts.append(element["text"])
    return texts


def _assert_slack_limits(message: dict[str, object]) -> None:
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    assert len(blocks) <= 50
    assert len(str(message["text"])) <= SLACK_LIMITS.fallback_text
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= SLACK_LIMITS.header_text
        elif block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= SLACK_LIMITS.section_text
        else:
            assert block["type"] == "context"
            for element in block["elements"]:
                assert 0 < len(element["text"]) <= SLACK_LIMITS.context_text


def _embed(message: dict[str, object]) -> dict[str, object]:
    embeds = message["embeds"]
    assert isinstance(embeds, list) and len(embeds) == 1
    embed = embeds[0]
    assert isinstance(embed, dict)
    return embed


def _assert_discord_limits(message: dict[str, object]) -> None:
    limits = DISCORD_LIMITS
    assert 0 < len(str(message["content"])) <= limits.content
    embed = _embed(message)
    title = str(embed["title"])
    description = str(embed.get("description", ""))
    fields = embed["fields"]
    assert isinstance(fields, list) and len(fields) <= 25
    assert 0 < len(title) <= limits.title
    assert len(description) <= limits.description
    total = len(title) + len(description)
    for item in fields:
        assert 0 < len(item["name"]) <= limits.field_name
        assert 0 < len(item["value"]) <= limits.field_value
        total += len(item["name"]) + len(item["value"])
    assert total <= limits.embed_total
    assert message["allowed_mentions"] == {"parse": []}


def test_slack_message_shows_watchlist_title_link_excerpt_and_source() -> None:
    message = slack_message(_payload(rule="haftar AND tripoli"))
    _assert_slack_limits(message)
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    assert blocks[0]["text"]["text"] == "libya: haftar, tripoli"
    assert blocks[1]["text"]["text"] == (
        "*<https://news.example.org/a?b=1&amp;c=2|Haftar meets GNA envoy>*"
    )
    assert blocks[2]["text"]["text"] == (
        "> _content_: Forces loyal to *Haftar* entered *Tripoli* on Monday."
    )
    context = blocks[3]["elements"][0]["text"]
    assert "Source: <https://news.example.org/rss.xml|Example Wire>" in context
    assert "2026-11-25T09:30:00Z" in context
    assert "haftar AND tripoli" in context
    assert "Haftar meets GNA envoy" in str(message["text"])


def test_slack_escapes_hostile_feed_text() -> None:
    excerpt: dict[str, object] = {
        "field": "content",
        "text": HOSTILE + " Haftar",
        "highlights": [[len(HOSTILE) + 1, len(HOSTILE) + 7]],
    }
    message = slack_message(
        _payload(title=HOSTILE, excerpts=[excerpt], source_name="<https://evil.example|x>")
    )
    _assert_slack_limits(message)
    for text in _slack_texts(message)[1:]:
        assert "<!channel>" not in text and "<@U123>" not in text
        assert "<https://evil.example" not in text
    joined = "\n".join(_slack_texts(message))
    assert "&lt;!channel&gt;" in joined
    assert "*Haftar*" in joined
    # Every remaining < opens one of our own links to the article or the source.
    for opening in re.finditer("<", joined):
        assert joined.startswith(("<https://news.example.org/",), opening.start())


def test_slack_shows_a_feeds_formatting_marks_as_look_alikes() -> None:
    # An outside probe: an article's "*GNA*", "_met_", "~x~" and "```" bolded, italicised,
    # struck through or code-formatted the evidence; the highlights are ours alone.
    text = "**Haftar** _met_ the `GNA` in ~Tripoli~ ```"
    excerpt: dict[str, object] = {"field": "content", "text": text, "highlights": [[2, 8]]}
    message = slack_message(
        _payload(title="*Bold* _claim_ `code`", excerpts=[excerpt], url="https://x.example/a_b~c")
    )
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    assert blocks[1]["text"]["text"] == "*<https://x.example/a_b~c|∗Bold∗ ＿claim＿ ˋcodeˋ>*"
    shown = "> _content_: ∗∗*Haftar*∗∗ ＿met＿ the ˋGNAˋ in ∼Tripoli∼ ˋˋˋ"
    assert blocks[2]["text"]["text"] == shown


def test_slack_draws_no_emoji_a_feed_wrote() -> None:
    # ":warning:" in a title drew the emoji (an outside probe, probe66 N2); times stay.
    message = slack_message(_payload(title="Alert :warning: :+1: :100: at 10:30:00"))
    shown = message["blocks"][1]["text"]["text"]
    assert "∶warning: ∶+1: ∶100: at 10:30:00" in shown and ":warning:" not in shown


def test_slack_links_only_web_urls_and_keeps_them_intact() -> None:
    message = slack_message(_payload(url="javascript:alert(1)"))
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    assert blocks[1]["text"]["text"] == "*Haftar meets GNA envoy*"
    message = slack_message(_payload(url="https://x.example/a b|c>d"))
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    assert blocks[1]["text"]["text"].startswith("*<https://x.example/a%20b%7Cc%3Ed|")


def test_slack_long_and_many_excerpts_stay_within_limits() -> None:
    long_text = "Haftar " + "word & <tag> " * 2000
    excerpts: list[dict[str, object]] = [
        {"field": "content", "text": long_text, "highlights": [[0, 6]]} for _ in range(40)
    ]
    message = slack_message(_payload(title="T" * 5000, excerpts=excerpts))
    _assert_slack_limits(message)
    section = message["blocks"][2]["text"]["text"]  # type: ignore[index]
    assert section.startswith("> _content_: *Haftar* word &amp; &lt;tag&gt;")
    assert section.endswith("more excerpts_")
    assert "&amp" not in section[-40:].replace("&amp;", "")


def test_discord_message_shows_embed_with_bold_highlights() -> None:
    message = discord_message(_payload(rule="haftar AND tripoli"))
    _assert_discord_limits(message)
    embed = _embed(message)
    assert embed["title"] == "Haftar meets GNA envoy"
    assert embed["url"] == "https://news.example.org/a?b=1&c=2"
    assert embed["description"] == (
        "> *content*: Forces loyal to **Haftar** entered **Tripoli** on Monday."
    )
    assert embed["timestamp"] == "2026-11-25T09:30:00Z"
    fields = {item["name"]: item["value"] for item in embed["fields"]}  # type: ignore[attr-defined]
    assert fields["Watchlist"] == "libya"
    assert fields["Entities"] == "haftar, tripoli"
    assert fields["Source"] == "[Example Wire](https://news.example.org/rss.xml)"
    assert fields["Rule"] == "`haftar AND tripoli`"
    assert "libya" in str(message["content"])


def test_discord_escapes_hostile_feed_text() -> None:
    excerpt: dict[str, object] = {"field": "content", "text": HOSTILE, "highlights": []}
    message = discord_message(_payload(title=HOSTILE, excerpts=[excerpt], source_name=HOSTILE))
    _assert_discord_limits(message)
    embed = _embed(message)
    for text in (str(embed["title"]), str(embed["description"])):
        assert "@everyone" not in text.replace("\\@everyone", "")
        assert "<@U123>" not in text
        assert "[a](javascript" not in text
        assert "\\*bold\\*" in text
    assert "url" in embed
    no_link = discord_message(_payload(url="javascript:alert(1)"))
    assert "url" not in _embed(no_link)


def test_discord_long_and_many_excerpts_stay_within_limits() -> None:
    long_text = "Haftar " + "*_~` " * 3000
    excerpts: list[dict[str, object]] = [
        {"field": "content", "text": long_text, "highlights": [[0, 6]]} for _ in range(30)
    ]
    message = discord_message(_payload(title="*" * 1000, excerpts=excerpts, rule="r" * 5000))
    _assert_discord_limits(message)
    description = str(_embed(message)["description"])
    assert description.startswith("> *content*: **Haftar** \\*\\_\\~\\`")
    assert description.endswith("more excerpts*")


def test_escapers() -> None:
    assert escape_slack("a & <b> c") == "a &amp; &lt;b&gt; c"
    assert escape_discord("**x** @here") == "\\*\\*x\\*\\* \\@here"


def test_render_message_picks_the_format() -> None:
    payload = _payload()
    assert render_message("standard", payload) is payload
    assert render_message("slack", payload) == slack_message(payload)
    assert render_message("discord", payload) == discord_message(payload)


_any_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "Cc")),
    max_size=6000,
)


@settings(max_examples=60, deadline=None)
@given(
    title=_any_text,
    texts=st.lists(_any_text, max_size=12),
    spans=st.lists(st.tuples(st.integers(-5, 7000), st.integers(-5, 7000)), max_size=5),
)
def test_limits_hold_for_any_text(
    title: str, texts: list[str], spans: list[tuple[int, int]]
) -> None:
    excerpts: list[dict[str, object]] = [
        {"field": "content", "text": text, "highlights": [list(span) for span in spans]}
        for text in texts
    ]
    payload = _payload(title=title, excerpts=excerpts, source_name=title[:300])
    _assert_slack_limits(slack_message(payload))
    _assert_discord_limits(discord_message(payload))


def test_long_urls_and_rules_keep_both_formats_valid() -> None:
    url = "https://x.example/?" + "&" * 2000
    payload = _payload(url=url, rule="haftar & " * 600, source_name="S & " * 400)
    payload["data"]["article"]["source"]["url"] = url  # type: ignore[index]
    slack = slack_message(payload)
    _assert_slack_limits(slack)
    blocks = slack["blocks"]
    assert isinstance(blocks, list)
    assert blocks[1]["text"]["text"] == "*Haftar meets GNA envoy*"
    assert "<https://x.example" not in blocks[-1]["elements"][0]["text"]
    discord = discord_message(payload)
    _assert_discord_limits(discord)
    assert _embed(discord)["url"] == url


def test_slack_and_discord_never_link_credentials() -> None:
    # A payload as stored or built elsewhere, with the URLs as a feed wrote them.
    payload = _payload(url="https://bob:pw1@news.example.org/a?id=3")
    article = payload["data"]["article"]  # type: ignore[index]
    article["source"]["url"] = "https://user:s3cret@news.example.org/rss.xml?Token=t0ken"
    article["url"] = "https://bob:pw1@news.example.org/a?id=3&key=k3y"
    for message in (slack_message(payload), discord_message(payload)):
        text = repr(message)
        for secret in ("pw1", "s3cret", "t0ken"):
            assert secret not in text, text
        # A feed URL with a part masked leads nowhere: the source's name is not linked.
        assert "news.example.org/rss.xml" not in text, text
        # An article's query is its address (`?key=7788`): kept; its userinfo is not.
        assert "https://REDACTED@news.example.org/a?id=3&" in text and "key=k3y" in text
    slack_context = slack_message(payload)["blocks"][3]["elements"][0]["text"]  # type: ignore[index]
    assert "Source: Example Wire" in slack_context, slack_context
    (source,) = [
        f
        for f in discord_message(payload)["embeds"][0]["fields"]
        if f["name"] == "Source"  # type: ignore[index]
    ]
    assert source["value"] == "Example Wire"


def test_a_long_title_is_cut_at_a_word() -> None:
    title = "Haftar forces advance on the southern outskirts of the capital " * 8
    payload = _payload(title=title)
    discord_title = str(_embed(discord_message(payload))["title"])
    assert discord_title.endswith("…")
    assert title.startswith(discord_title[:-1])
    assert title[len(discord_title) - 1] == " "  # the next character: the cut is between words
