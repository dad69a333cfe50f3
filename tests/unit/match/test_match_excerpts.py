"""Excerpts: sentences with mentions, merged highlights, trimming at word boundaries."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.match import FIELDS, Excerpt, Matcher, Mention, Watchlist
from monitor.match.excerpts import ELLIPSIS, build_excerpts, merge_spans

WriteWatchlist = Callable[..., Watchlist]


def highlighted(excerpt: Excerpt) -> list[str]:
    return [excerpt.text[start:end] for start, end in excerpt.highlights]


def test_excerpt_is_the_sentence_with_the_mention(libya_matcher: Matcher) -> None:
    content = "Markets were calm. Gen. Haftar visited Cairo on Monday. Oil prices rose."
    result = libya_matcher.match({"content": content})
    (excerpt,) = result.excerpts
    assert excerpt.field == "content"
    assert excerpt.text == "Gen. Haftar visited Cairo on Monday."
    assert highlighted(excerpt) == ["Gen. Haftar"]


def test_neighbouring_sentences_with_mentions_form_one_excerpt(libya_matcher: Matcher) -> None:
    content = "Haftar spoke. Nothing else. The LNA moved. Tripoli was calm."
    result = libya_matcher.match({"content": content})
    # The excerpt with two entities ranks before the one with one.
    assert [e.text for e in result.excerpts] == [
        "The LNA moved. Tripoli was calm.",
        "Haftar spoke.",
    ]
    assert highlighted(result.excerpts[0]) == ["LNA", "Tripoli"]


def test_excerpts_ranked_by_distinct_entities(libya_matcher: Matcher) -> None:
    result = libya_matcher.match(
        {
            "title": "Tripoli calm",
            "summary": "Haftar spoke.",
            "content": "<p>Haftar and the LNA moved on Tripoli.</p>",
        }
    )
    # Ties keep the field order. (The first excerpt also shows the rule that fired,
    # offensive-on-tripoli, which would rank it first anyway.)
    assert [(e.field, e.text) for e in result.excerpts] == [
        ("content", "Haftar and the LNA moved on Tripoli."),
        ("title", "Tripoli calm"),
        ("summary", "Haftar spoke."),
    ]


def test_paragraphs_are_not_joined(libya_matcher: Matcher) -> None:
    result = libya_matcher.match({"content": "<p>Haftar spoke.</p><p>Tripoli was calm.</p>"})
    assert [e.text for e in result.excerpts] == ["Haftar spoke.", "Tripoli was calm."]


def test_excerpts_for_each_field_in_order(libya_matcher: Matcher) -> None:
    result = libya_matcher.match({"content": "In Tripoli.", "title": "Haftar"})
    assert [(e.field, e.text) for e in result.excerpts] == [
        ("title", "Haftar"),
        ("content", "In Tripoli."),
    ]


def test_overlapping_highlights_are_merged(write_watchlist: WriteWatchlist) -> None:
    first = write_watchlist("entities: [{id: k, names: [Khalifa Haftar]}]", stem="first")
    second = write_watchlist("entities: [{id: h, names: [Haftar Forces]}]", stem="second")
    result = Matcher([first, second]).match({"content": "Khalifa Haftar Forces moved."})
    assert len(result.mentions) == 2
    (excerpt,) = result.excerpts
    assert excerpt.highlights == ((0, 21),)
    assert merge_spans([(5, 9), (0, 3), (2, 6), (9, 10)]) == [(0, 9), (9, 10)]


def test_long_sentence_is_trimmed_at_word_boundaries() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    text = f"{words} Haftar {words}."
    mention = Mention(
        "w", "haftar", "content", text.index("Haftar"), text.index("Haftar") + 6, "Haftar"
    )
    (excerpt,) = build_excerpts({"content": text}, [mention], 80)
    assert len(excerpt.text) <= 80
    assert excerpt.text.startswith(ELLIPSIS) and excerpt.text.endswith(ELLIPSIS)
    inner = excerpt.text[1:-1]
    assert inner in text
    start = text.index(inner)
    assert not text[start - 1].isalnum() and not text[start + len(inner)].isalnum()
    assert highlighted(excerpt) == ["Haftar"]


def test_mentions_far_apart_in_one_sentence_get_their_own_windows() -> None:
    filler = " ".join(["filler"] * 40)
    text = f"Haftar {filler} Tripoli {filler} Misrata"
    mentions = [
        Mention("w", name.lower(), "content", text.index(name), text.index(name) + len(name), name)
        for name in ("Haftar", "Tripoli", "Misrata")
    ]
    excerpts = build_excerpts({"content": text}, mentions, 100)
    assert [highlighted(e) for e in excerpts] == [["Haftar"], ["Tripoli"], ["Misrata"]]
    assert all(len(e.text) <= 100 for e in excerpts)
    assert excerpts[0].text.endswith(ELLIPSIS) and excerpts[2].text.startswith(ELLIPSIS)


@pytest.mark.parametrize("limit", [40, 57, 100, 300])
def test_excerpt_length_respects_the_limit(libya_matcher: Matcher, limit: int) -> None:
    content = (
        "According to officials speaking on condition of anonymity, forces loyal to "
        "Field Marshal Khalifa Haftar advanced overnight towards the southern outskirts of "
        "Tripoli, where fighting with militias aligned with the Government of National Accord "
        "continued for a third consecutive day despite international calls for restraint."
    )
    matcher = Matcher(libya_matcher.watchlists, excerpt_chars=limit)
    result = matcher.match({"content": content})
    shown = [text for e in result.excerpts for text in highlighted(e)]
    assert shown == [
        "Field Marshal Khalifa Haftar",
        "Tripoli",
        "Government of National Accord",
    ]
    for excerpt in result.excerpts:
        assert len(excerpt.text) <= limit
        for piece in excerpt.text.strip(ELLIPSIS).split():
            assert piece.strip(",.") in content


def test_watchlist_may_override_excerpt_length(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        excerpt_chars: 40
        entities: [{id: haftar, names: [Haftar]}]
        """
    )
    content = "Officials said on Monday that Haftar had travelled to Cairo for long talks."
    result = Matcher([watchlist], excerpt_chars=300).match({"content": content})
    assert result.excerpts[0].text == content
    (alert,) = result.alerts
    assert len(alert.excerpts[0].text) <= 40
    assert highlighted(alert.excerpts[0]) == ["Haftar"]


def test_to_json_shapes(libya_matcher: Matcher) -> None:
    result = libya_matcher.match({"title": "Haftar in Tripoli"})
    assert result.to_json("a1") == {
        "id": "a1",
        "matches": [
            {"watchlist": "libya", "entity": "haftar", "field": "title", "start": 0, "end": 6,
             "text": "Haftar"},
            {"watchlist": "libya", "entity": "tripoli", "field": "title", "start": 10,
             "end": 17, "text": "Tripoli"},
        ],
        "excerpts": [{"field": "title", "text": "Haftar in Tripoli",
                      "highlights": [[0, 6], [10, 17]]}],
        # Which watchlists would alert, by which rule (an outside probe could not tell
        # from `monitor match` what an `alert: rules` watchlist would send).
        "alerts": [{"watchlist": "libya", "entities": ["haftar", "tripoli"],
                    "rule": "offensive-on-tripoli"}],
        "truncated": False,
    }  # fmt: skip
    (alert,) = result.alerts
    assert alert.to_json() == {
        "watchlist": "libya",
        "entities": ["haftar", "tripoli"],
        "rule": "offensive-on-tripoli",
        "rule_expr": "(haftar OR lna OR saddam_haftar) NEAR/15 tripoli",
        "matches": result.to_json("x")["matches"],
        "excerpts": result.to_json("x")["excerpts"],
        "truncated": False,
    }


def test_matcher_refuses_tiny_excerpts(libya: Watchlist) -> None:
    with pytest.raises(ValueError, match="at least"):
        Matcher([libya], excerpt_chars=5)


@pytest.mark.parametrize(
    "fields",
    [
        # The title repeated as the description (with or without its final stop).
        {"title": "Haftar arrives in Tripoli", "summary": "Haftar arrives in Tripoli."},
        # A news aggregator's: "Headline - Outlet" over the headline's link and the outlet.
        {
            "title": "Haftar arrives in Tripoli - Reuters",
            "summary": '<a href="https://news.google.com/rss/articles/1">Haftar arrives in '
            'Tripoli</a>&nbsp;&nbsp;<font color="#6f6f6f">Reuters</font>',
        },
        # The description is the content's first paragraph (WordPress, news aggregators).
        {
            "summary": "<p>Haftar arrived in Tripoli on Monday.</p>",
            "content": "<p>Haftar arrived in  Tripoli on Monday.</p><p>More later.</p>",
        },
    ],
)
def test_the_same_text_is_one_excerpt_in_the_alert(
    write_watchlist: WriteWatchlist, fields: dict[str, str]
) -> None:
    watchlist = write_watchlist("entities: [{id: haftar, names: [Haftar]}]")
    result = Matcher([watchlist]).match(fields)

    texts = [" ".join(e.text.split()).rstrip(".") for e in result.alerts[0].excerpts]
    assert len(texts) == len(set(texts)) == 1
    assert result.alerts[0].excerpts[0].field == min(fields, key=list(FIELDS).index)


@pytest.mark.parametrize(
    ("before", "name", "after"),
    [
        ("利比亚局势持续紧张各方代表在会议上讨论了经济与安全问题" * 30, "哈夫塔尔",
         "表示各方代表在会议上讨论了经济与安全问题" * 30),
        ("会議では経済と安全保障について各代表が議論した" * 40, "ハフタル",
         "司令官は各代表が議論した" * 60),
        ("a" * 2000 + " ", "Haftar", " " + "b" * 2000),  # tokens longer than any window
    ],
)  # fmt: skip
def test_text_without_spaces_is_cut_into_a_window_around_the_name(
    libya_matcher: Matcher, before: str, name: str, after: str
) -> None:
    # Chinese and Japanese write no space between words: the window used to grow to the
    # start of the run (1,400 characters for a 300-character limit).
    result = libya_matcher.match({"content": f"<p>{before}{name}{after}</p>"})
    (excerpt,) = result.excerpts
    assert len(excerpt.text) <= 300
    assert highlighted(excerpt) == [name]
    assert excerpt.text.startswith(ELLIPSIS) and excerpt.text.endswith(ELLIPSIS)


def test_a_summary_cut_short_or_a_capitals_copy_is_not_shown_beside_the_full_sentence(
    libya_matcher: Matcher,
) -> None:
    # WordPress's feed summary is the content's start cut with "[…]"; some publishers repeat
    # the title in capitals as the content's first line. The reader gets each sentence once,
    # in its full form, where the first of them ranked.
    result = libya_matcher.match(
        {
            "title": "GNA says talks resume",
            "summary": "<p>Haftar met GNA officials in Tripoli on Monday, officials told "
            "[&hellip;]</p>",
            "content": "<p>GNA SAYS TALKS RESUME</p><p>Haftar met GNA officials in Tripoli "
            "on Monday, officials told reporters.</p><p>The talks on day 1 ended.</p>"
            "<p>Haftar spoke on day 10.</p><p>Haftar spoke on day 1.</p>",
        }
    )
    texts = [e.text for e in result.excerpts]
    assert texts.count("GNA says talks resume") == 1
    assert "GNA SAYS TALKS RESUME" not in texts
    assert "Haftar met GNA officials in Tripoli on Monday, officials told reporters." in texts
    assert not any(text.endswith("[…]") for text in texts)
    # Within one field, different places stay (and "day 1" is not in "day 10").
    assert "Haftar spoke on day 10." in texts and "Haftar spoke on day 1." in texts


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # A line broken in the middle of a sentence: after a comma, or before a word in lower
        # case (feeds that break lines with <br>).
        (
            "<p>Fighting went on.<br>Forces loyal to<br>the marshal Khalifa Haftar advanced on "
            "the<br/>airport on Monday, residents said.</p>",
            "Forces loyal to the marshal Khalifa Haftar advanced on the airport on Monday, "
            "residents said.",
        ),
        (
            "The marshal,<br>Khalifa Haftar, spoke.",
            "The marshal, Khalifa Haftar, spoke.",
        ),
        (
            "Les forces de Khalifa Haftar<br>ont avancé lundi.",
            "Les forces de Khalifa Haftar ont avancé lundi.",
        ),
    ],
)
def test_a_line_broken_inside_a_sentence_is_one_excerpt(
    libya_matcher: Matcher, content: str, expected: str
) -> None:
    result = libya_matcher.match({"content": content})
    assert expected in [e.text for e in result.excerpts]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # A line that ends with terminal punctuation, a colon or a capitalised word is a
        # line of its own: a heading, a list item, a sentence.
        ("Haftar spoke.<br>Markets were calm.", "Haftar spoke."),
        ("Speakers:<br>Khalifa Haftar<br>Fayez al-Sarraj", "Khalifa Haftar"),
        ("Clashes near Tripoli<br>Residents fled south.", "Clashes near Tripoli"),
        # a heading, a caption, a table cell that ends in a word in lower case (an outside
        # probe: they were glued to the next block, which html_to_text also starts on a
        # new line)
        (
            "<h2>Haftar forces advance on the capital</h2><p>Residents fled on Monday.</p>",
            "Haftar forces advance on the capital",
        ),
        (
            "<figure><figcaption>Khalifa Haftar speaking to reporters</figcaption></figure>"
            "<p>Officials in Benghazi declined to comment.</p>",
            "Khalifa Haftar speaking to reporters",
        ),
        (
            "<table><tr><td>LNA troops moved south</td><td>GNA forces held the airport</td>"
            "</tr></table>",
            "LNA troops moved south",
        ),
    ],
)
def test_a_line_that_ends_a_sentence_or_a_heading_stays_apart(
    libya_matcher: Matcher, content: str, expected: str
) -> None:
    result = libya_matcher.match({"content": content})
    assert expected in [e.text for e in result.excerpts]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # a dateline on a line of its own, a table cell of one word: one word tells nothing
        (
            "<p>TRIPOLI</p><p>Clashes erupted near the airport on Monday.</p><p>More.</p>",
            "TRIPOLI Clashes erupted near the airport on Monday.",
        ),
        (
            "<table><tr><td>LNA</td><td>12,000 troops</td></tr></table>",
            "LNA 12,000 troops",
        ),
        # a title before the name is no sentence end ("il sig. Serraj")
        (
            "Ieri il sig. Haftar ha incontrato il ministro.",
            "Ieri il sig. Haftar ha incontrato il ministro.",
        ),
    ],
)
def test_an_excerpt_of_one_word_takes_the_sentence_after_it(
    libya_matcher: Matcher, content: str, expected: str
) -> None:
    result = libya_matcher.match({"content": content})
    assert expected in [e.text for e in result.excerpts]
    for excerpt in result.excerpts:
        for start, end in excerpt.highlights:
            assert excerpt.text[start:end] in ("TRIPOLI", "LNA", "Haftar")
