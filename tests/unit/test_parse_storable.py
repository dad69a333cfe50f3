"""monitor.parse: every string it returns is valid text for every database (no NUL, no lone
surrogate), and one bad entry never costs the others."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.parse import FeedEntry, ParsedFeed, parse_feed
from monitor.text import html_to_text

FEED_URL = "https://example.org/feeds/rss.xml"
GOOD_ITEM = (
    "<item><guid isPermaLink='false'>good</guid><title>Haftar visits Tripoli</title>"
    "<link>https://example.org/good</link><description>All fine.</description></item>"
)
# The raw NUL is a byte in the document; the references name NUL or a lone surrogate.
BAD_CHARACTERS = ["\x00", "&#0;", "&#x0;", "&#00;", "&#xD800;", "&#55296;", "&#xdfff;"]
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def rss(items: str, title: str = "Sample", link: str = "https://example.org/") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{title}</title><link>{link}</link><description>d</description>"
        f"{items}</channel></rss>"
    ).encode()


def strings_of(feed: ParsedFeed) -> list[str]:
    values = [feed.title, feed.link, feed.bozo_reason]
    for entry in feed.entries:
        values += [entry.key, entry.url, entry.title, entry.summary, entry.content]
    return [value for value in values if value is not None]


def assert_storable(feed: ParsedFeed) -> None:
    for value in strings_of(feed):
        assert UNSTORABLE.search(value) is None, value
        value.encode("utf-8")  # what every driver does first


def bad_entry_and_good_entry(feed: ParsedFeed) -> tuple[FeedEntry, FeedEntry]:
    assert_storable(feed)
    assert len(feed.entries) == 2
    bad, good = feed.entries
    assert (good.key, good.url, good.title) == (
        "good",
        "https://example.org/good",
        "Haftar visits Tripoli",
    )
    assert good.summary == "All fine."
    return bad, good


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
def test_title(bad: str) -> None:
    body = rss(f"<item><guid>t</guid><title>Haftar{bad}in Tripoli</title></item>{GOOD_ITEM}")
    entry, _ = bad_entry_and_good_entry(parse_feed(body, FEED_URL))

    assert entry.title == "Haftar\ufffdin Tripoli"


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
def test_summary(bad: str) -> None:
    body = rss(
        f"<item><guid>s</guid><title>t</title><description>a{bad}b</description></item>{GOOD_ITEM}"
    )
    entry, _ = bad_entry_and_good_entry(parse_feed(body, FEED_URL))

    assert entry.summary == "a\ufffdb"


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
def test_content(bad: str) -> None:
    body = rss(
        f"<item><guid>c</guid><title>t</title><content:encoded>&lt;p&gt;a{bad}b&lt;/p&gt;"
        f"</content:encoded></item>{GOOD_ITEM}"
    )
    entry, _ = bad_entry_and_good_entry(parse_feed(body, FEED_URL))

    assert entry.content == "<p>a\ufffdb</p>"


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
def test_link(bad: str) -> None:
    body = rss(f"<item><title>t</title><link>https://example.org/a{bad}b</link></item>{GOOD_ITEM}")
    entry, _ = bad_entry_and_good_entry(parse_feed(body, FEED_URL))

    assert entry.url == entry.key == "https://example.org/a\ufffdb"


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
def test_guid(bad: str) -> None:
    body = rss(f"<item><guid isPermaLink='false'>id{bad}1</guid><title>t</title></item>{GOOD_ITEM}")
    entry, _ = bad_entry_and_good_entry(parse_feed(body, FEED_URL))

    assert entry.key == "id\ufffd1"


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
def test_feed_title_and_link(bad: str) -> None:
    body = rss(GOOD_ITEM, title=f"Wire{bad}desk", link=f"https://example.org/home{bad}")
    feed = parse_feed(body, FEED_URL)

    assert_storable(feed)
    assert feed.title == "Wire\ufffddesk"
    assert feed.link == "https://example.org/home\ufffd"
    assert [entry.key for entry in feed.entries] == ["good"]


@pytest.mark.parametrize("reference", ["&#x110000;", "&#1114112;", "&#99999999999999999999;"])
def test_reference_past_the_last_code_point(reference: str) -> None:
    body = rss(f"<item><guid>p</guid><title>a{reference}b</title></item>{GOOD_ITEM}")
    entry, _ = bad_entry_and_good_entry(parse_feed(body, FEED_URL))

    assert entry.title == "a\ufffdb"


def test_good_references_are_kept() -> None:
    body = rss(
        "<item><guid>ok</guid><title>&#x2019;&#8217;&#xFFFD;&#x10FFFF;&#xD7FF;&#xE000;&#65;"
        "</title></item>"
    )
    (entry,) = parse_feed(body, FEED_URL).entries

    assert entry.title == "\u2019\u2019\ufffd\U0010ffff\ud7ff\ue000A"


def test_escaped_reference_inside_html_stays_text() -> None:
    body = rss(
        "<item><guid>h</guid><title>t</title>"
        "<description>&lt;p&gt;a&amp;#0;b&amp;#xD800;c&lt;/p&gt;</description></item>"
    )
    (entry,) = parse_feed(body, FEED_URL).entries

    assert UNSTORABLE.search(entry.summary) is None
    assert html_to_text(entry.summary) == "a\ufffdb\ufffdc"


def test_hash_key_of_an_entry_with_a_bad_character_is_stable() -> None:
    body = rss("<item><title>a\x00b</title><description>c&#xD800;d</description></item>")

    first = parse_feed(body, FEED_URL).entries[0]
    assert first.key.startswith("sha256:")
    assert parse_feed(body, FEED_URL).entries[0] == first


def test_utf16_body_with_a_surrogate_reference_is_a_parse_error_not_a_crash() -> None:
    text = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>S</title>'
    text += "<item><guid>u</guid><title>a&#xD800;b</title></item></channel></rss>"
    try:
        feed = parse_feed(text.encode("utf-16"), FEED_URL)
    except ParseError as error:
        assert error.url == FEED_URL
    else:
        assert_storable(feed)


_bad_piece = st.sampled_from(
    ["\x00", "&#0;", "&#x0;", "&#xD800;", "&#56319;", "&#x110000;", "&#x2019;", "&amp;#0;"]
)


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(_bad_piece, st.text(alphabet="ab <>&;#x0D8", max_size=6)), max_size=8
    ),
    where=st.sampled_from(["title", "description", "guid", "link"]),
)
def test_any_bad_characters_give_storable_strings(pieces: list[str], where: str) -> None:
    value = "".join(pieces)
    body = rss(f"<item><title>t</title><{where}>{value}</{where}></item>{GOOD_ITEM}")
    try:
        feed = parse_feed(body, FEED_URL)
    except ParseError:
        return
    assert_storable(feed)
