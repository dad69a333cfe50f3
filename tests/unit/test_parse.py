"""monitor.parse: seed feeds, every RSS/Atom flavour, HTML fragments, keys, URLs, dates, errors."""

from __future__ import annotations

import codecs
import email.utils
import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import ParseError
from monitor.parse import (
    MAX_ENTRIES,
    MAX_LINK_CHARS,
    MAX_TITLE_CHARS,
    FeedEntry,
    ParsedFeed,
    canonical_url,
    parse_feed,
)
from monitor.redact import feed_named_by_page
from monitor.text import html_to_text

FEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds" / "feeds"
FEED_URL = "https://example.org/feeds/world/rss.xml"

SEED_ENTRY_COUNTS = {
    "wire-libya.rss.xml": 7,
    "maghreb-fr.atom.xml": 6,
    "arabic-desk.rss.xml": 6,
    "world-briefs.atom.xml": 7,
    "tech-and-misc.rss.xml": 5,
    "coastal-bulletin-malformed.rss.xml": 4,
}
MALFORMED_SEEDS = {"coastal-bulletin-malformed.rss.xml"}


def parse_seed(name: str, body: bytes | None = None) -> ParsedFeed:
    data = (FEEDS_DIR / name).read_bytes() if body is None else body
    return parse_feed(data, f"https://example.org/seeds/{name}", "application/xml")


def by_key(feed: ParsedFeed) -> dict[str, FeedEntry]:
    return {entry.key: entry for entry in feed.entries}


def rss(items: str, channel_extra: str = "", version: str = "2.0") -> bytes:
    """An RSS 2.0 document; a bare <guid> is marked isPermaLink="false" (RSS defaults to true)."""
    items = items.replace("<guid>", '<guid isPermaLink="false">')
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="{version}"><channel>'
        f"<title>Sample</title><link>https://example.org/</link><description>d</description>"
        f"{channel_extra}{items}</channel></rss>"
    ).encode()


def atom(entries: str, extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Sample</title><id>urn:sample</id><updated>2026-01-01T00:00:00Z</updated>"
        f"{extra}{entries}</feed>"
    ).encode()


def only_entry(body: bytes, url: str = FEED_URL) -> FeedEntry:
    feed = parse_feed(body, url)
    assert len(feed.entries) == 1
    return feed.entries[0]


# --- the shipped seed feeds --------------------------------------------------------------


def test_every_seed_feed_is_listed_here() -> None:
    assert {path.name for path in FEEDS_DIR.glob("*.xml")} == set(SEED_ENTRY_COUNTS)


@pytest.mark.parametrize("name", sorted(SEED_ENTRY_COUNTS))
def test_seed_feed_parses_with_unique_keys(name: str) -> None:
    feed = parse_seed(name)

    assert feed.title
    assert feed.link is not None and re.match(r"https://example\.(org|com|net)/", feed.link)
    assert len(feed.entries) == SEED_ENTRY_COUNTS[name]
    assert len({entry.key for entry in feed.entries}) == len(feed.entries)
    assert feed.bozo is (name in MALFORMED_SEEDS)
    for entry in feed.entries:
        assert entry.title
        assert entry.summary or entry.content
        assert re.fullmatch(r"[0-9a-f]{64}", entry.content_hash)
        assert entry.url is None or re.match(r"https://example\.(org|com|net)/", entry.url)
        for moment in (entry.published, entry.updated):
            assert moment is None or (moment.tzinfo is UTC and moment.year == 2026)


@pytest.mark.parametrize("name", sorted(SEED_ENTRY_COUNTS))
def test_seed_feed_parses_the_same_twice(name: str) -> None:
    assert parse_seed(name) == parse_seed(name)


def _reorder_and_redate(body: bytes) -> bytes:
    """Reverse the items/entries in place and give every one a different date."""
    text = body.decode("utf-8")
    block = re.compile(r"<(item|entry)>.*?</\1>", re.S)
    blocks = [match.group(0) for match in block.finditer(text)]
    assert len(blocks) >= 2
    pieces = block.split(text)
    # re.split with one group yields [before, tag, between, tag, ...]: rebuild reversed.
    rebuilt = pieces[0]
    for index, replacement in enumerate(reversed(blocks)):
        rebuilt += replacement + pieces[2 * index + 2]
    rebuilt = re.sub(
        r"<pubDate>[^<]*</pubDate>", "<pubDate>Sun, 01 Mar 2026 00:00:00 GMT</pubDate>", rebuilt
    )
    rebuilt = re.sub(r"<(published|updated)>[^<]*</\1>", r"<\1>2026-03-01T00:00:00Z</\1>", rebuilt)
    assert rebuilt != text
    return rebuilt.encode("utf-8")


@pytest.mark.parametrize("name", sorted(SEED_ENTRY_COUNTS))
def test_seed_keys_and_hashes_survive_reordering_and_redating(name: str) -> None:
    original = parse_seed(name)
    shuffled = parse_seed(name, _reorder_and_redate((FEEDS_DIR / name).read_bytes()))

    assert [entry.key for entry in shuffled.entries] == [
        entry.key for entry in reversed(original.entries)
    ]
    before, after = by_key(original), by_key(shuffled)
    for key, entry in before.items():
        assert after[key].content_hash == entry.content_hash
        assert after[key].url == entry.url
    assert any(entry.published != before[entry.key].published for entry in shuffled.entries)


def test_wire_seed_fields() -> None:
    entries = by_key(parse_seed("wire-libya.rss.xml"))

    advance = entries["meridian-libya-20261112-0001"]
    assert advance.url == ("https://example.org/libya/2026/11/12/haftar-forces-push-toward-tripoli")
    assert advance.title == "Haftar's forces push toward Tripoli's southern suburbs"
    assert advance.published == datetime(2026, 11, 12, 8, 40, tzinfo=UTC)
    assert advance.updated is None
    assert "<strong>Khalifa Haftar</strong>" in advance.content

    # The only mention of Haftar is in content:encoded.
    bank_row = entries["meridian-libya-20261106-0011"]
    assert "Haftar" not in bank_row.title + bank_row.summary
    assert "pro-Haftar" in bank_row.content

    assert entries["meridian-libya-20261028-0004"].title.startswith("Analysis: Haftar\u2019s")


def test_french_atom_seed_fields() -> None:
    entries = by_key(parse_seed("maghreb-fr.atom.xml"))

    first = entries["tag:example.net,2026:maghreb/4411"]
    assert first.published == datetime(2026, 11, 12, 9, 5, tzinfo=UTC)  # +01:00 in the feed
    assert first.updated == datetime(2026, 11, 12, 9, 40, tzinfo=UTC)
    assert first.summary.startswith("Les unités de l'Armée nationale libyenne (ANL)")
    assert first.content.startswith("<p>Les unités")

    # xhtml content: the enclosing div is dropped, the paragraphs kept; GNA only there.
    history = entries["tag:example.net,2026:maghreb/3920"]
    assert "GNA" not in history.title + history.summary
    assert "Gouvernement d'union nationale (GNA)" in history.content
    assert history.content.startswith("<p>")


def test_arabic_seed_fields() -> None:
    feed = parse_seed("arabic-desk.rss.xml")
    first = feed.entries[0]

    assert feed.title == "مكتب الأخبار العربية"
    assert first.key == first.url == "https://example.com/ar/news/2026/11/12/1001"
    assert "حفتر" in first.title and "طرابلس" in first.title
    assert first.published == datetime(2026, 11, 12, 7, 10, tzinfo=UTC)  # +0200 in the feed


def test_malformed_seed_is_used_with_its_bozo_reason() -> None:
    feed = parse_seed("coastal-bulletin-malformed.rss.xml")

    assert feed.bozo is True
    assert feed.bozo_reason is not None and "not well-formed" in feed.bozo_reason
    assert feed.title == "Coastal Bulletin: Ports &amp; Shipping"
    misrata, tankers, storm, ferry = feed.entries
    assert (
        misrata.key
        == misrata.url
        == ("https://example.org/coastal/2026/11/02/misrata-free-zone-record?page=2")
    )
    assert tankers.title == "Oil &amp; gas tankers queue off Tripoli as fuel imports rise"
    assert tankers.published is None  # "Tuesdayish, sometime in October"
    assert storm.url is None and storm.key.startswith("sha256:")
    assert ferry.url == "https://example.org/coastal/2026/10/01/valletta-catania-winter-schedule"


# --- the RSS and Atom flavours -----------------------------------------------------------


def test_rss_091() -> None:
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!-- RSS 0.91 without its DOCTYPE -->
<rss version="0.91"><channel>
<title>Old Wire</title><link>https://example.org/old/</link><description>d</description>
<language>en</language>
<item><title>Ceasefire holds in Tripoli</title>
<link>https://example.org/old/1</link>
<description>Calm returned to the capital, caf\xe9 owners said.</description></item>
</channel></rss>"""
    feed = parse_feed(body, "https://example.org/old/rss.xml")

    assert not feed.bozo
    (entry,) = feed.entries
    assert entry.key == entry.url == "https://example.org/old/1"
    assert entry.summary == "Calm returned to the capital, caf\u00e9 owners said."
    assert entry.published is None


def test_rss_10_rdf() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/rdf/">
    <title>RDF Wire</title><link>https://example.org/rdf/</link><description>d</description>
    <items><rdf:Seq><rdf:li resource="https://example.org/rdf/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://example.org/rdf/1">
    <title>Benghazi port reopens</title>
    <link>https://example.org/rdf/1</link>
    <description>Ships docked for the first time in a month.</description>
    <dc:date>2026-02-03T08:30:00+01:00</dc:date>
  </item>
</rdf:RDF>"""
    feed = parse_feed(body, "https://example.org/rdf/index.rdf")

    assert feed.title == "RDF Wire"
    (entry,) = feed.entries
    assert entry.title == "Benghazi port reopens"
    assert entry.url == "https://example.org/rdf/1"
    assert entry.updated == datetime(2026, 2, 3, 7, 30, tzinfo=UTC)


def test_atom_03() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#">
  <title>Atom Zero Three</title>
  <link rel="alternate" type="text/html" href="https://example.net/a03/"/>
  <modified>2026-04-01T12:00:00Z</modified>
  <entry>
    <title>Misrata council elects mayor</title>
    <link rel="alternate" type="text/html" href="https://example.net/a03/1"/>
    <id>tag:example.net,2026:a03-1</id>
    <issued>2026-04-01T10:00:00Z</issued>
    <modified>2026-04-01T11:00:00Z</modified>
    <summary>The vote was unanimous.</summary>
  </entry>
</feed>"""
    feed = parse_feed(body, "https://example.net/a03/atom.xml")

    assert feed.link == "https://example.net/a03/"
    (entry,) = feed.entries
    assert entry.key == "tag:example.net,2026:a03-1"
    assert entry.url == "https://example.net/a03/1"
    assert entry.published == datetime(2026, 4, 1, 10, tzinfo=UTC)
    assert entry.updated == datetime(2026, 4, 1, 11, tzinfo=UTC)
    assert entry.summary == "The vote was unanimous."


def test_atom_10_text_html_and_xhtml_fields() -> None:
    body = atom(
        """<entry><id>urn:e1</id><title type="text">Prices &lt;up&gt; &amp; rising</title>
        <link href="https://example.org/e1"/><updated>2026-05-05T05:05:05Z</updated>
        <summary type="html">&lt;p&gt;Bread is &lt;b&gt;dearer&lt;/b&gt;&lt;script&gt;
        alert(1)&lt;/script&gt;&lt;/p&gt;</summary>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
        <p>Flour <em>doubled</em>.</p></div></content>
        </entry>"""
    )
    entry = only_entry(body)

    assert entry.title == "Prices &lt;up&gt; &amp; rising"
    # Stored as sent (not sanitised); its text, the only way it is ever shown, has no script.
    assert entry.summary == "<p>Bread is <b>dearer</b><script>\n        alert(1)</script></p>"
    assert html_to_text(entry.summary) == "Bread is dearer"
    assert entry.content == "<p>Flour <em>doubled</em>.</p>"
    assert entry.updated == datetime(2026, 5, 5, 5, 5, 5, tzinfo=UTC)
    assert entry.published is None


# --- HTML fragments ----------------------------------------------------------------------


def test_plain_text_values_are_escaped() -> None:
    body = atom(
        """<entry><id>urn:plain</id><title type="text">x &lt; y &amp;&amp; "quoted"</title>
        <summary type="text">&lt;script&gt;alert(1)&lt;/script&gt; stays text</summary>
        <content type="text">Line one &lt;br&gt; line two</content></entry>"""
    )
    entry = only_entry(body)

    assert entry.title == 'x &lt; y &amp;&amp; "quoted"'
    assert entry.summary == "&lt;script&gt;alert(1)&lt;/script&gt; stays text"
    assert entry.content == "Line one &lt;br&gt; line two"


def test_rss_title_is_plain_text_unless_it_looks_like_html() -> None:
    body = rss(
        "<item><guid>a</guid><title>AT&amp;T &lt;3 Tripoli</title></item>"
        "<item><guid>b</guid><title>&lt;b&gt;Breaking&lt;/b&gt;: Tripoli</title></item>"
    )
    plain, marked_up = parse_feed(body, FEED_URL).entries

    assert plain.title == "AT&amp;T &lt;3 Tripoli"
    assert marked_up.title == "<b>Breaking</b>: Tripoli"


def test_html_is_stored_as_sent_and_read_as_text() -> None:
    fragment = (
        '<p onclick="steal()">Hello<script>steal()</script><iframe src="https://example.com/x">'
        "</iframe> world</p>"
    )
    body = rss(
        f"<item><guid>s</guid><title>t</title><description><![CDATA[{fragment}]]></description>"
        "</item>"
    )
    entry = only_entry(body)

    assert entry.summary == fragment  # not sanitised: never shown as HTML
    assert html_to_text(entry.summary) == "Hello world"


def test_content_equal_to_summary_is_not_repeated() -> None:
    body = rss(
        "<item><guid>same</guid><title>t</title>"
        "<description><![CDATA[<p>The same  text.</p>]]></description>"
        '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<![CDATA[<p>The same text.</p>]]></content:encoded></item>"
    )
    entry = only_entry(body)

    assert entry.summary == "<p>The same  text.</p>"
    assert entry.content == ""


def test_content_only_entry_keeps_summary_empty() -> None:
    body = rss(
        "<item><guid>c</guid><title>t</title>"
        '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<![CDATA[<p>Full story about Haftar.</p>]]></content:encoded></item>"
    )
    entry = only_entry(body)

    assert entry.summary == ""
    assert entry.content == "<p>Full story about Haftar.</p>"


def test_html_content_is_preferred_over_its_plain_text_duplicate() -> None:
    body = atom(
        """<entry><id>urn:dup</id><title>t</title><summary>Short.</summary>
        <content type="text">Long &amp; full story.</content>
        <content type="html">&lt;p&gt;Long &amp;amp; &lt;i&gt;full&lt;/i&gt; story.&lt;/p&gt;
        </content>
        <content type="text">A different plain part.</content>
        </entry>"""
    )
    entry = only_entry(body)

    assert entry.summary == "Short."
    assert entry.content == "<p>Long &amp; <i>full</i> story.</p>\nA different plain part."


def test_missing_fields_are_empty_strings() -> None:
    entry = only_entry(rss("<item><guid>bare</guid><title>Only a title</title></item>"))

    assert (entry.summary, entry.content, entry.url) == ("", "", None)
    assert (entry.published, entry.updated) == (None, None)


def test_empty_item_is_skipped() -> None:
    feed = parse_feed(rss("<item></item><item><guid>g</guid><title>t</title></item>"), FEED_URL)

    assert [entry.key for entry in feed.entries] == ["g"]


# --- keys --------------------------------------------------------------------------------


def test_key_is_the_stripped_guid_then_the_link_then_a_hash() -> None:
    body = rss(
        "<item><guid isPermaLink='false'>  id-1\n </guid><title>a</title>"
        "<link>https://example.org/a</link></item>"
        "<item><guid>   </guid><title>b</title>"
        "<link>https://Example.org/b?utm_source=x#top</link></item>"
        "<item><title>c</title><description>no guid, no link</description></item>"
    )
    first, second, third = parse_feed(body, FEED_URL).entries

    assert first.key == "id-1"
    assert second.key == second.url == "https://example.org/b"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", third.key)


def test_hash_key_depends_on_title_and_summary_only() -> None:
    def key_of(item: str) -> str:
        return only_entry(rss(item)).key

    base = key_of("<item><title>T</title><description>S</description></item>")
    assert base == key_of(
        "<item><title>T</title><description>S</description>"
        "<pubDate>Mon, 02 Feb 2026 10:00:00 GMT</pubDate></item>"
    )
    assert base == key_of("<item><title> T </title><description>S\n</description></item>")
    assert base != key_of("<item><title>T2</title><description>S</description></item>")


def test_permalink_guid_is_resolved_and_serves_as_the_link() -> None:
    body = rss('<item><guid isPermaLink="true">/libya/2026/42</guid><title>t</title></item>')
    entry = only_entry(body)

    assert entry.key == entry.url == "https://example.org/libya/2026/42"


@pytest.mark.parametrize(
    "guid",
    ["12345", "post-7", "news/2026/42", "a1b2c3d4-e5f6", "Tripoli clashes"],
)
@pytest.mark.parametrize("permalink", ["", ' isPermaLink="true"'])
@pytest.mark.parametrize(
    "beside",
    [
        "",
        # A podcast's item: its audio is an enclosure, which feedparser lists in `links`
        # (the guid "12345" became ".../feeds/world/12345": probe67).
        '<enclosure url="https://example.org/p/ep.mp3" type="audio/mpeg" length="1"/>',
        '<media:content url="https://example.org/p/ep.mp3" type="audio/mpeg"/>',
    ],
)
def test_a_permalink_guid_that_is_not_a_url_is_the_key_but_no_link(
    guid: str, permalink: str, beside: str
) -> None:
    # RSS reads a guid without isPermaLink as a permalink; many feeds give an id there.
    # Resolved against the feed URL it would send alerts to a page that does not exist.
    body = rss(
        f"<item><guid{permalink}>{guid}</guid><title>Haftar in Tripoli</title>{beside}</item>"
    )
    body = body.replace(b'<guid isPermaLink="false">', b"<guid>")
    entry = only_entry(body)

    # a podcast's item links to its audio, the only page it has (probe78)
    assert entry.url == ("https://example.org/p/ep.mp3" if beside else None)
    assert entry.key == canonical_url(f"https://example.org/feeds/world/{guid}")  # as before


@pytest.mark.parametrize(
    ("item", "url"),
    [
        # no guid, no link: the enclosure is the link, the key stays the title and summary
        (
            "<item><title>Episode 4</title><description>Tripoli</description><enclosure url="
            '"ep4.mp3" type="audio/mpeg" length="1"/></item>',
            "https://example.org/feeds/world/ep4.mp3",
        ),
        # a page of its own wins over its audio
        (
            "<item><title>Episode 5</title><link>https://example.org/ep5</link><enclosure url="
            '"https://cdn.example.net/ep5.mp3" type="audio/mpeg" length="1"/></item>',
            "https://example.org/ep5",
        ),
        # an enclosure that is no web address is no link
        (
            '<item><title>Episode 6</title><enclosure url="ftp://example.org/ep6.mp3" '
            'type="audio/mpeg" length="1"/></item>',
            None,
        ),
    ],
)
def test_an_entry_without_a_page_links_to_its_enclosure(item: str, url: str | None) -> None:
    entry = only_entry(rss(item))

    assert entry.url == url
    if "<link>" not in item:
        assert entry.key.startswith("sha256:")  # as before enclosures were links


@pytest.mark.parametrize(
    ("guid", "url"),
    [
        ("https://example.org/a/1", "https://example.org/a/1"),
        ("https://example.org/a?id=1&amp;p=2", "https://example.org/a?id=1&p=2"),
        ("<![CDATA[https://example.org/a?id=1&p=2]]>", "https://example.org/a?id=1&p=2"),
        ("/libya/2026/42", "https://example.org/libya/2026/42"),
    ],
)
def test_a_permalink_guid_that_is_a_url_or_a_path_is_the_link(guid: str, url: str) -> None:
    body = rss(f"<item><guid>{guid}</guid><title>t</title></item>")
    entry = only_entry(body.replace(b'<guid isPermaLink="false">', b"<guid>"))

    assert entry.url == url


def test_an_items_own_link_beside_an_enclosure_is_its_link() -> None:
    body = rss(
        "<item><guid>12345</guid><title>t</title><link>/a/b</link>"
        '<enclosure url="https://example.org/p/ep.mp3" type="audio/mpeg" length="1"/></item>'
    )
    entry = only_entry(body.replace(b'<guid isPermaLink="false">', b"<guid>"))

    assert entry.url == "https://example.org/a/b"


def test_a_json_feed_url_that_is_a_number_is_no_link() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": ['
        b'{"id": 1, "url": 12345, "title": "Haftar in Tripoli"}]}'
    )
    (entry,) = parse_feed(body, FEED_URL).entries

    assert entry.url is None and entry.key == "1"


def test_a_json_feed_of_an_unknown_version_is_read_as_1_1_and_said() -> None:
    # An outside probe (probe78 #8): "version 2" (there is none) was read without a word.
    def feed(version: str) -> bytes:
        return (
            f'{{"version": "https://jsonfeed.org/version/{version}", "title": "t", "items": '
            '[{"id": "1", "title": "Haftar in Tripoli", "content_text": "x"}]}'
        ).encode()

    unknown = parse_feed(feed("2"), FEED_URL)
    assert [e.title for e in unknown.entries] == ["Haftar in Tripoli"]
    assert unknown.note == "a JSON Feed of version '2', which is not 1 or 1.1: read as 1.1"
    assert not unknown.bozo
    for known in ("1", "1.1"):
        assert parse_feed(feed(known), FEED_URL).note is None


def test_a_json_feed_in_utf16_or_in_its_declared_charset_is_read() -> None:
    # One in UTF-16 (with its mark) was refused as naming no jsonfeed.org version; one in
    # windows-1256 so declared, with the charset unmentioned (an outside probe, probe67).
    document = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "x",
         "items": [{"id": "1", "title": "حفتر في طرابلس"}]},
        ensure_ascii=False,
    )  # fmt: skip
    for body, content_type in (
        (document.encode("utf-16"), "application/feed+json"),
        (document.encode("cp1256"), "application/feed+json; charset=windows-1256"),
    ):
        (entry,) = parse_feed(body, FEED_URL, content_type).entries
        assert entry.title == "حفتر في طرابلس"
    with pytest.raises(ParseError, match="a JSON Feed that is not UTF-8"):
        parse_feed(document.encode("cp1256"), FEED_URL, "application/feed+json")


def test_an_items_own_link_wins_over_its_guid() -> None:
    body = rss("<item><guid>12345</guid><title>t</title><link>/a/b</link></item>")
    entry = only_entry(body.replace(b'<guid isPermaLink="false">', b"<guid>"))

    assert entry.url == "https://example.org/a/b"


def test_a_repeated_entry_is_kept_once() -> None:
    item = "<item><guid>dup</guid><title>same</title><link>https://example.org/a</link></item>"
    feed = parse_feed(rss(item + item), FEED_URL)

    assert [(entry.key, entry.title) for entry in feed.entries] == [("dup", "same")]


def _site_wide_guid(numbers: list[int], *, links: bool = True) -> list[str]:
    """The keys of a feed whose items all carry the site's URL as their guid."""
    items = "".join(
        f"<item><guid>https://example.org/</guid><title>Haftar item {n}</title>"
        + (f"<link>https://example.org/news/{n}</link>" if links else "")
        + f"<description>Report {n} from Tripoli</description></item>"
        for n in numbers
    )
    return [entry.key for entry in parse_feed(rss(items), FEED_URL).entries]


def test_a_guid_that_different_entries_share_is_not_their_key() -> None:
    first = _site_wide_guid([2, 1])
    second = _site_wide_guid([3, 2, 1])  # the next poll: one new item on top

    assert first == ["https://example.org/news/2", "https://example.org/news/1"]
    assert second[1:] == first  # the old items keep their keys; only item 3 is new
    assert second[0] == "https://example.org/news/3"


def test_entries_sharing_a_guid_and_no_link_are_told_apart_by_their_text() -> None:
    first = _site_wide_guid([2, 1], links=False)
    second = _site_wide_guid([3, 2, 1], links=False)

    assert len(set(second)) == 3
    assert second[1:] == first
    assert all(key.startswith("sha256:") for key in second)


def test_entries_sharing_a_guid_with_only_content_are_told_apart_by_it() -> None:
    items = "".join(
        "<item><guid>https://example.org/</guid><content:encoded xmlns:content="
        f"'http://purl.org/rss/1.0/modules/content/'>Bulletin {n} from Tripoli"
        "</content:encoded></item>"
        for n in range(3)
    )
    feed = parse_feed(rss(items), FEED_URL)

    assert len(feed.entries) == 3
    assert len({entry.key for entry in feed.entries}) == 3


def test_entries_sharing_a_link_without_guids_are_all_kept() -> None:
    items = "".join(
        f"<item><title>Bulletin {n}</title><link>https://example.org/live</link></item>"
        for n in range(3)
    )
    feed = parse_feed(rss(items), FEED_URL)

    assert [entry.title for entry in feed.entries] == ["Bulletin 0", "Bulletin 1", "Bulletin 2"]
    assert len({entry.key for entry in feed.entries}) == 3
    assert {entry.url for entry in feed.entries} == {"https://example.org/live"}


def test_content_hash_changes_with_the_text_not_the_date() -> None:
    def entry_for(description: str, date: str) -> FeedEntry:
        return only_entry(
            rss(
                f"<item><guid>h</guid><title>T</title><description>{description}</description>"
                f"<pubDate>{date}</pubDate></item>"
            )
        )

    first = entry_for("Text", "Mon, 02 Feb 2026 10:00:00 GMT")
    assert first.content_hash == entry_for("Text", "Tue, 03 Feb 2026 10:00:00 GMT").content_hash
    assert first.content_hash == entry_for("  Text ", "Mon, 02 Feb 2026 10:00:00 GMT").content_hash
    assert first.content_hash != entry_for("Text!", "Mon, 02 Feb 2026 10:00:00 GMT").content_hash


def test_the_fingerprint_is_the_link_and_text_whatever_the_guid_and_dates() -> None:
    def entry_for(guid: str, link: str, title: str, description: str, day: int = 2) -> FeedEntry:
        return only_entry(
            rss(
                f"<item><guid>{guid}</guid><link>{link}</link><title>{title}</title>"
                f"<description>{description}</description>"
                f"<pubDate>Mon, {day:02d} Feb 2026 10:00:00 GMT</pubDate></item>"
            )
        )

    link = "https://example.org/n/1"
    first = entry_for("a-1", link, "Talks", "Envoys met.")
    renamed = entry_for("a-2", link + "?utm_source=rss", "Talks", "Envoys met.", day=3)
    assert renamed.key != first.key and renamed.fingerprint == first.fingerprint
    # Another link (same title and text), or another text (same title and link): other stories.
    elsewhere = entry_for("a-1", "https://example.org/n/2", "Talks", "Envoys met.")
    rewritten = entry_for("a-1", link, "Talks", "They left.")
    assert len({first.fingerprint, elsewhere.fingerprint, rewritten.fingerprint}) == 3


def test_a_short_dated_entry_is_also_named_by_its_time_whatever_its_link() -> None:
    def entry_for(link: str, day: int = 2, words: str = "Envoys met.") -> FeedEntry:
        return only_entry(
            rss(
                f"<item><guid>{link}</guid><link>{link}</link><title>Talks</title>"
                f"<description>{words}</description>"
                f"<pubDate>Mon, {day:02d} Feb 2026 10:00:00 GMT</pubDate></item>"
            )
        )

    first = entry_for("https://example.org/n/1?_cb=1")
    busted = entry_for("https://example.org/n/1?_cb=2")  # a new cache-buster, the same time
    assert first.fingerprint != busted.fingerprint
    assert len(first.fingerprints) == 2 and first.fingerprints[1] == busted.fingerprints[1]
    # Another time and another link: another story. A long text is also known by its text
    # without markup (a tracking pixel's address new at every request: an outside probe).
    later = entry_for("https://example.org/n/1?_cb=3", day=3)
    assert set(later.fingerprints).isdisjoint(first.fingerprints)
    long = entry_for("https://example.org/n/1", words="word " * 30)
    pixel = entry_for(
        "https://example.org/n/1?_cb=4",
        words="word " * 30 + "&lt;img src='https://px.example/p.gif?r=81' width='1'/&gt;",
    )
    assert long.fingerprint != pixel.fingerprint and long.fingerprints[1] == pixel.fingerprints[1]
    # The link and the time, whatever the text: an edit of the article stored under them.
    edited = entry_for("https://example.org/n/1?_cb=2", words="Envoys met (updated 10:14).")
    assert edited.edit_fingerprint == busted.edit_fingerprint != later.edit_fingerprint


# --- links -------------------------------------------------------------------------------


def test_relative_links_resolve_against_the_feed_url() -> None:
    body = rss(
        "<item><guid>r1</guid><title>t</title><link>/news/2026/1?utm_medium=rss</link>"
        '<description><![CDATA[<a href="../img/map.html">map</a>]]></description></item>'
        "<item><guid>r2</guid><title>t</title><link>story-2.html</link></item>",
    )
    first, second = parse_feed(body, "https://example.org/feeds/world/rss.xml").entries

    assert first.url == "https://example.org/news/2026/1"
    assert 'href="../img/map.html"' in first.summary  # links inside HTML are not text
    assert second.url == "https://example.org/feeds/world/story-2.html"


def test_links_never_keep_credentials() -> None:
    # Relative links resolved against a feed URL with credentials, and an absolute link with
    # its own: the stored URL (and a key made from it) has no user:password@ and no token.
    body = rss(
        "<item><guid>r1</guid><title>t</title><link>/news/1</link></item>"
        "<item><title>t2</title><link>story-2.html</link></item>"
        "<item><guid>a1</guid><title>t</title><link>https://bob:pw9@example.net/a</link></item>"
        '<item><guid isPermaLink="true">/libya/42</guid><title>t</title></item>'
        '<item><guid isPermaLink="true">#top</guid><title>t</title></item>'
    )
    feed = parse_feed(body, "https://user:s3cret@example.org/feeds/rss.xml?token=abc&p=2")
    relative, keyless, absolute, permalink, fragment = feed.entries

    assert relative.url == "https://example.org/news/1"
    assert keyless.url == keyless.key == "https://example.org/feeds/story-2.html"
    assert absolute.url == "https://example.net/a"
    assert permalink.key == permalink.url == "https://example.org/libya/42"
    # A guid "#top" is no article's link; as a key resolved against the feed URL it does
    # not inherit the feed's secret query parameters either.
    assert fragment.url is None
    assert fragment.key == "https://example.org/feeds/rss.xml?p=2#top"


def test_atom_xml_base_is_honoured() -> None:
    body = atom(
        '<entry xml:base="https://example.net/base/"><id>urn:b</id><title>t</title>'
        '<link rel="alternate" href="item.html"/></entry>'
    )

    assert only_entry(body).url == "https://example.net/base/item.html"


@pytest.mark.parametrize(
    "link", ["mailto:desk@example.org", "javascript:alert(1)", "ftp://example.org/file.txt"]
)
def test_non_http_links_give_no_url(link: str) -> None:
    entry = only_entry(rss(f"<item><title>t</title><link>{link}</link></item>"))

    assert entry.url is None
    assert entry.key.startswith("sha256:")


CANONICAL_URLS = [
    ("HTTP://Example.ORG/Path/Page", "http://example.org/Path/Page"),
    ("https://example.org:443/a", "https://example.org/a"),
    ("http://example.org:80/a", "http://example.org/a"),
    ("https://example.org:8443/a", "https://example.org:8443/a"),
    ("http://example.org:443/a", "http://example.org:443/a"),
    ("https://example.org", "https://example.org/"),
    ("https://example.org/a#section-2", "https://example.org/a"),
    ("https://example.org/a?", "https://example.org/a"),
    ("https://example.org/a?utm_source=rss&utm_medium=feed", "https://example.org/a"),
    ("https://example.org/a?b=2&utm_campaign=x&a=1", "https://example.org/a?b=2&a=1"),
    ("https://example.org/a?UTM_Source=x&id=7", "https://example.org/a?id=7"),
    (
        "https://example.org/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ocid=5&cmpid=6&id=7",
        "https://example.org/a?id=7",
    ),
    ("https://example.org/a?__twitter_impression=true", "https://example.org/a"),
    # Referral and campaign ids that some feeds write anew on every request (Yahoo, Engadget).
    (
        "https://example.org/a?ncid=rss_7&icid=x&yptr=yahoo&ref=rss&guccounter=1&id=7",
        "https://example.org/a?id=7",
    ),
    ("https://example.org/a?CMP=share_9&soc_src=x&soc_trk=y", "https://example.org/a"),
    ("https://example.org/a?at_medium=RSS&at_campaign=rss", "https://example.org/a"),
    ("https://example.org/a?xtor=RSS-3208&p=2", "https://example.org/a?p=2"),
    (
        "https://example.org/a?q=tripoli%20libya&&page=2",
        "https://example.org/a?q=tripoli%20libya&page=2",
    ),
    ("https://example.org/a?flag", "https://example.org/a?flag"),
    # Session ids, different on every request; `sid` can be a story's id and stays.
    ("https://example.org/news/17;jsessionid=0A1B2C3D", "https://example.org/news/17"),
    ("https://example.org/news/17;JSESSIONID=0A1B?p=2", "https://example.org/news/17?p=2"),
    ("https://example.org/a.php?id=9&PHPSESSID=8f3a", "https://example.org/a.php?id=9"),
    ("https://example.org/a.asp?ASPSESSIONIDQQ=KJ&n=1", "https://example.org/a.asp?n=1"),
    ("https://example.org/article.php?sid=1234", "https://example.org/article.php?sid=1234"),
    ("https://example.org/a;v=2", "https://example.org/a;v=2"),
    ("https://user@Example.org:443/a", "https://example.org/a"),
    ("http://user:pw@[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
    ("http://[2001:DB8::1]:80/a", "http://[2001:db8::1]/a"),
    ("  https://example.org/a  ", "https://example.org/a"),
    (
        "https://example.org/%D8%B7%D8%B1%D8%A7%D8%A8%D9%84%D8%B3",
        "https://example.org/%D8%B7%D8%B1%D8%A7%D8%A8%D9%84%D8%B3",
    ),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL_URLS)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected


# --- dates -------------------------------------------------------------------------------


def test_dates_are_utc_and_future_dates_are_kept() -> None:
    body = rss(
        "<item><guid>tz</guid><title>t</title>"
        "<pubDate>Wed, 01 Jul 2026 23:30:00 -0500</pubDate></item>"
        "<item><guid>future</guid><title>t</title>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
        "<item><guid>junk</guid><title>t</title><pubDate>yesterday-ish</pubDate></item>"
    )
    offset, future, junk = parse_feed(body, FEED_URL).entries

    assert offset.published == datetime(2026, 7, 2, 4, 30, tzinfo=UTC)
    assert future.published == datetime(2100, 1, 1, tzinfo=UTC)
    assert junk.published is None


# Zone-less RFC 822 dates, which feedparser leaves unread (those without a weekday it reads
# itself): read as UTC, as feedparser reads a zone-less ISO date.
ZONELESS_RFC822 = [
    ("Tue, 01 Dec 2026 10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ("Tue, 1 Dec 2026 10:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ("Mon, 01 Dec 2026 10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),  # a wrong weekday
    ("Tue,1 Dec 2026 09:05:07", datetime(2026, 12, 1, 9, 5, 7, tzinfo=UTC)),
    ("Tuesday, 01 December 2026 10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ("Tue, 01 Dec 26 10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ("Sat, 9 Jan 1999 23:59", datetime(1999, 1, 9, 23, 59, tzinfo=UTC)),
    ("  Tue, 01 Dec 2026 10:00:00\n", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ("01 Dec 2026 10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
    ("1 Dec 2026 10:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
]
# Dates feedparser reads: read exactly as it does (feedparser itself is the reference).
FEEDPARSER_DATES = [
    "Tue, 01 Dec 2026 10:00:00 GMT",
    "Tue, 01 Dec 2026 10:00:00 +0200",
    "Tue, 01 Dec 2026 10:00 -0000",
    "Tue, 01 Dec 2026 10:00:00 EST",
    "Tue, 01 Dec 2026 10:00:00 XYZ",
    "Tue, 01 Dec 26 10:00:00 +0200",
    "Tue, 01 Dec 2026",
    "2026-12-01T10:00:00",
    "2026-12-01T10:00:00+05:30",
    "2026-12-01",
]
UNREADABLE_DATES = [
    "",
    "yesterday-ish",
    "Tuesdayish, sometime in October",
    "Tue, 01 Dec 2026 25:00:00",
    "Tue, 31 Feb 2026 10:00:00",
    "Tue, 01 Dec 99999 10:00:00",
    "Fri, 31 Dec 9999 23:59:00 -1400",
]


def _dated_entries(date: str) -> list[FeedEntry]:
    """One entry per place a feed dates an entry, each with ``date`` as both dates."""
    text = date.replace("&", "&amp;").replace("<", "&lt;")
    rss_body = rss(
        f"<item><guid>rss</guid><title>t</title><pubDate>{text}</pubDate>"
        f"<dc:date>{text}</dc:date></item>"
    ).replace(
        b'<rss version="2.0">', b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    )
    atom_body = atom(
        f"<entry><id>atom</id><title>t</title><published>{text}</published>"
        f"<updated>{text}</updated></entry>"
    )
    atom_03_body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title>'
        f"<entry><id>a03</id><title>t</title><issued>{text}</issued>"
        f"<modified>{text}</modified></entry></feed>"
    ).encode()
    return [only_entry(body) for body in (rss_body, atom_body, atom_03_body)]


@pytest.mark.parametrize(("date", "expected"), ZONELESS_RFC822)
def test_a_zone_less_rfc822_date_is_utc(date: str, expected: datetime) -> None:
    for entry in _dated_entries(date):
        assert (entry.published, entry.updated) == (expected, expected), entry.key


@pytest.mark.parametrize("date", FEEDPARSER_DATES)
def test_a_date_feedparser_reads_is_read_as_it_reads_it(date: str) -> None:
    raw = feedparser.parse(rss(f"<item><title>t</title><pubDate>{date}</pubDate></item>"))
    expected = datetime(*raw.entries[0].published_parsed[:6], tzinfo=UTC)
    for entry in _dated_entries(date):
        assert (entry.published, entry.updated) == (expected, expected), entry.key


@pytest.mark.parametrize("date", UNREADABLE_DATES)
def test_an_unreadable_date_is_none(date: str) -> None:
    for entry in _dated_entries(date):
        assert (entry.published, entry.updated) == (None, None), entry.key


# Placeholders, not dates: Go's zero time, "never", the years around them (a story
# window around year 1 is out of Python's date range: the whole feed failed).
PLACEHOLDER_DATES = [
    "0001-01-01T00:00:00Z",
    "Mon, 01 Jan 0001 00:00:00 GMT",
    "1899-12-31T23:59:59Z",
    "9999-12-31T23:59:59Z",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "3000-01-01T00:00:00Z",
    # the Unix time 0: a CMS's empty date field, shown as published in 1970
    "1970-01-01T00:00:00Z",
    "Thu, 01 Jan 1970 00:00:00 +0000",
    "1970-01-01T01:00:00+01:00",
    # zones no place has: feedparser shifted the time by 25 h or 4 days (an entry of today
    # held back by alert_max_age as days old)
    "Sun, 06 Dec 2026 10:00:00 +2500",
    "Sun, 06 Dec 2026 10:00:00 -9999",
    "2026-12-06T10:00:00+25:00",
    "2026-12-06T10:00:00+01:75",
]


@pytest.mark.parametrize("date", PLACEHOLDER_DATES)
def test_a_placeholder_date_is_no_date(date: str) -> None:
    for entry in _dated_entries(date):
        assert (entry.published, entry.updated) == (None, None), entry.key


def test_the_years_around_placeholders_are_dates() -> None:
    for date, year in (
        ("1900-01-01T00:00:00Z", 1900),
        ("2999-12-31T00:00:00Z", 2999),
        ("1970-01-01T00:00:01Z", 1970),
    ):
        for entry in _dated_entries(date):
            assert entry.published is not None and entry.published.year == year, entry.key


# Zones written by name that feedparser reads as UTC (it knows GMT and the North American
# ones), an offset written after GMT, and a Unix time: each as the hour it is.
NAMED_ZONES = [
    ("Mon, 05 Jan 2026 09:00:00 CET", 8, 0),
    ("Mon, 05 Jul 2026 09:00:00 CEST", 7, 0),
    ("Mon, 05 Jan 2026 09:00:00 EET", 7, 0),  # Libya's zone
    ("Mon, 05 Jul 2026 09:00:00 EEST", 6, 0),
    ("Mon, 05 Jan 2026 09:00:00 MSK", 6, 0),
    ("Mon, 05 Jan 2026 09:00:00 IST", 3, 30),  # India's
    ("Mon, 05 Jan 2026 09:00:00 JST", 0, 0),
    ("Mon, 05 Jan 2026 09:00:00 BST", 8, 0),
    ("Mon, 05 Jan 2026 09:00:00 GMT+3", 6, 0),
    ("Mon, 05 Jan 2026 09:00:00 GMT-2", 11, 0),
    ("Mon, 05 Jan 2026 09:00 UTC+05:30", 3, 30),
    ("Mon, 05 Jan 2026 09:00:00 cest", 7, 0),
    ("1767603600", 9, 0),  # Unix time
    # read as before: by feedparser
    ("Mon, 05 Jan 2026 09:00:00 EST", 14, 0),
    ("Mon, 05 Jan 2026 09:00:00 GMT", 9, 0),
    ("Mon, 05 Jan 2026 09:00:00 +0200", 7, 0),
]


@pytest.mark.parametrize(("date", "hour", "minute"), NAMED_ZONES)
def test_a_zone_written_by_name_is_that_zone(date: str, hour: int, minute: int) -> None:
    for entry in _dated_entries(date):
        assert entry.published is not None, entry.key
        assert (entry.published.hour, entry.published.minute) == (hour, minute), entry.key
        assert entry.published.day == 5 and entry.published == entry.updated, entry.key


_DATE_PIECES = ["Tue,", "Tue", "1", "01", "31", "Dec", "Feb", "26", "2026", "99999", "10:00"]
_DATE_PIECES += ["10:00:00", "25:61:99", "GMT", "+0200", "-1400", "pm", ",", "T", "-", "CEST"]
_DATE_PIECES += ["GMT+3", "UTC-99", "IST", "1767603600"]


@settings(max_examples=200, deadline=None)
@given(
    date=st.one_of(
        st.lists(st.sampled_from(_DATE_PIECES), max_size=7).map(" ".join),
        st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),
    )
)
def test_any_date_text_gives_a_utc_date_or_none(date: str) -> None:
    for entry in _dated_entries(date):
        for moment in (entry.published, entry.updated):
            assert moment is None or moment.utcoffset() == timedelta(0)


# --- malformed and unreadable bodies -----------------------------------------------------


def test_readable_malformed_feed_is_used() -> None:
    body = rss(
        "<item><guid>m</guid><title>Fish & chips</title><description>a & b</description></item>"
    )
    feed = parse_feed(body, FEED_URL)

    assert feed.bozo is True
    assert feed.bozo_reason is not None and len(feed.bozo_reason) <= 200
    assert feed.entries[0].title == "Fish &amp; chips"


def test_loose_media_type_is_not_bozo() -> None:
    feed = parse_feed(rss("<item><guid>x</guid><title>t</title></item>"), FEED_URL, "text/html")

    assert (feed.bozo, feed.bozo_reason) == (False, None)
    assert len(feed.entries) == 1


def test_charset_from_the_content_type() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Caf\xe9</title>'
        b"<item><guid>l</guid><title>Tripoli caf\xe9s reopen</title></item></channel></rss>"
    )
    feed = parse_feed(body, FEED_URL, "application/rss+xml; charset=iso-8859-1")

    assert feed.entries[0].title == "Tripoli caf\u00e9s reopen"


# News in single-byte code pages, as desks still publish it, each labelled wrongly in one of
# the ways real servers do. feedparser alone falls back to windows-1252 and garbles all but
# the Western one.
MISLABELLED_NEWS = {
    "arabic": (
        "cp1256",
        [
            ("المشير خليفة حفتر يصل إلى طرابلس", "قال مكتب حفتر إن قوات الجيش الوطني الليبي دخلت"),
            ("حكومة الوفاق الوطني تدعو إلى وقف إطلاق النار", "دعت الحكومة في طرابلس إلى هدنة"),
            ("اشتباكات قرب مطار معيتيقة الدولي", "أفاد سكان بسماع انفجارات جنوب العاصمة"),
        ],
    ),
    "russian": (
        "cp1251",
        [
            ("Хафтар объявил о наступлении на Триполи", "Ливийская национальная армия вошла"),
            ("Правительство национального согласия призвало", "к прекращению огня в столице"),
            ("Бои у международного аэропорта Митига", "жители сообщили о взрывах на юге"),
        ],
    ),
    "french": (
        "cp1252",
        [
            ("Le maréchal Haftar annonce une offensive", "L’armée nationale libyenne est entrée"),
            ("Le gouvernement d’union nationale appelle", "à un cessez-le-feu à Tripoli"),
            ("Combats près de l’aéroport de Mitiga", "des habitants ont entendu des explosions"),
        ],
    ),
    # Latin-script languages in the three Windows Latin code pages: a byte detector reads
    # each as another (Spanish as 1250: Espańa; Turkish as 1250: Uzlaţý).
    "spanish": (
        "cp1252",
        [
            ("Haftar rechaza la tregua propuesta", "El portavoz del ejército habló el año pasado"),
            ("Protestas en Trípoli por la electricidad", "Los niños no pudieron ir a clase"),
            ("España envía ayuda humanitaria", "La misión llegará mañana según el ministerio"),
        ],
    ),
    "italian": (
        "cp1252",
        [
            ("Libia, Sirte è sotto assedio", "Lunedì il generale ha parlato ai giornalisti"),
            ("Più migranti partono dalla costa", "Perché la guardia costiera non è intervenuta?"),
            ("L’ONU chiede una tregua", "Però nessuna delle parti ha risposto finora"),
        ],
    ),
    "portuguese": (
        "cp1252",
        [
            ("Governo líbio anuncia eleições", "A votação será em março, disse o ministério"),
            ("Explosões perto do aeroporto", "As operações foram suspensas até à manhã"),
        ],
    ),
    "polish": (
        "cp1250",
        [
            ("Walki w pobliżu lotniska w Trypolisie", "Mieszkańcy słyszeli wybuchy przez całą noc"),
            ("Rząd wzywa do rozejmu", "Żołnierze wycofali się z dzielnicy, podała agencja"),
        ],
    ),
    "czech": (
        "cp1250",
        [
            ("Boje u letiště v Tripolisu", "Obyvatelé slyšeli výbuchy během celé noci"),
            ("Vláda vyzývá k příměří", "Vojáci se stáhli z města, uvedla agentura"),
        ],
    ),
    "romanian": (
        "cp1250",
        [
            ("Lupte lângă aeroportul din Tripoli", "Locuitorii au auzit explozii în timpul nopţii"),
            ("Guvernul cere încetarea focului", "Soldaţii s-au retras din oraş, a anunţat agenţia"),
        ],
    ),
    "turkish": (
        "cp1254",
        [
            ("Trablus'ta havalimanı yakınında çatışma", "Sakinler gece patlama sesleri duydu"),
            ("Hükümet ateşkes çağrısı yaptı", "Askerler şehirden çekildi, ajans bildirdi"),
        ],
    ),
}
MISLABELLINGS = {
    # name: (XML declaration, Content-Type)
    "declared-utf8": ('<?xml version="1.0" encoding="utf-8"?>', "application/rss+xml"),
    "http-says-utf8": ('<?xml version="1.0"?>', "application/rss+xml; charset=utf-8"),
    "text-xml-no-charset": ('<?xml version="1.0"?>', "text/xml"),
    "no-declaration": ("", "application/xml"),
}


@pytest.mark.parametrize("labelling", sorted(MISLABELLINGS))
@pytest.mark.parametrize("language", sorted(MISLABELLED_NEWS))
def test_a_feed_in_another_encoding_than_it_declares_is_read_in_its_own(
    language: str, labelling: str
) -> None:
    encoding, stories = MISLABELLED_NEWS[language]
    declaration, content_type = MISLABELLINGS[labelling]
    items = "".join(
        f"<item><guid>{n}</guid><title>{title}</title><description>{text}</description></item>"
        for n, (title, text) in enumerate(stories)
    )
    body = f'{declaration}<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'

    feed = parse_feed(body.encode(encoding), FEED_URL, content_type)

    assert [(e.title, e.summary) for e in feed.entries] == stories
    assert feed.bozo is True  # the label was wrong: `monitor sources` says so
    assert feed.bozo_reason is not None and "windows-1252" in feed.bozo_reason


# The other way round: UTF-8 bytes under the label of a single-byte code page, which
# decodes any bytes, so the label alone would be taken and the text garbled.
UTF8_MISLABELLINGS = {
    "xml-declares-it": ('<?xml version="1.0" encoding="{charset}"?>', "application/xml"),
    "http-says-it": ('<?xml version="1.0" encoding="utf-8"?>', "text/xml; charset={charset}"),
    "both-say-it": ('<?xml version="1.0" encoding="{charset}"?>', "text/xml; charset={charset}"),
}


@pytest.mark.parametrize("labelling", sorted(UTF8_MISLABELLINGS))
@pytest.mark.parametrize("language", sorted(MISLABELLED_NEWS))
def test_utf8_under_a_code_page_label_is_read_as_utf8(language: str, labelling: str) -> None:
    encoding, stories = MISLABELLED_NEWS[language]
    charset = codecs.lookup(encoding).name.replace("cp", "windows-")
    declaration, content_type = (
        part.format(charset=charset) for part in UTF8_MISLABELLINGS[labelling]
    )
    items = "".join(
        f"<item><guid>{n}</guid><title>{title}</title><description>{text}</description></item>"
        for n, (title, text) in enumerate(stories)
    )
    body = f'{declaration}<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'

    feed = parse_feed(body.encode("utf-8"), FEED_URL, content_type)

    assert [(e.title, e.summary) for e in feed.entries] == stories
    assert feed.bozo is True  # the label was wrong: `monitor sources` says so
    assert feed.bozo_reason is not None and "utf-8" in feed.bozo_reason, feed.bozo_reason


@pytest.mark.parametrize("encoding", ["cp1256", "cp1251", "cp1252", "iso-8859-1", "koi8-r"])
def test_a_code_page_feed_labelled_right_is_not_taken_for_utf8(encoding: str) -> None:
    text = {
        "cp1256": "حفتر في طرابلس",
        "cp1251": "Хафтар в Триполи",
        "koi8-r": "Хафтар в Триполи",
    }.get(encoding, "Tripoli: les cafés rouvrent à l’aube")
    text = text if encoding != "iso-8859-1" else "Tripoli: les cafés rouvrent à l'aube"
    body = rss(f"<item><guid>1</guid><title>{text}</title></item>").decode()
    body = body.replace('encoding="utf-8"', f'encoding="{encoding}"')

    feed = parse_feed(body.encode(encoding), FEED_URL, "application/xml")

    assert feed.entries[0].title == text
    assert (feed.bozo, feed.bozo_reason) == (False, None)


def test_a_feed_that_decodes_as_declared_is_not_second_guessed() -> None:
    # Arabic in UTF-8 as declared: no detector, no note.
    title = "حفتر في طرابلس"
    body = rss(f"<item><guid>1</guid><title>{title}</title></item>").decode()

    feed = parse_feed(body.encode("utf-8"), FEED_URL, "application/rss+xml")

    assert feed.entries[0].title == title
    assert (feed.bozo, feed.bozo_reason) == (False, None)


@pytest.mark.parametrize("kept", [0.1, 0.3, 0.5, 0.7, 0.9, -12, -3], ids=lambda k: f"kept-{k}")
@pytest.mark.parametrize("name", sorted(set(SEED_ENTRY_COUNTS) - MALFORMED_SEEDS))
def test_a_feed_cut_short_is_a_parse_error_not_a_shorter_feed(name: str, kept: float) -> None:
    # A body cut short where its HTTP framing does not show it (a connection closed early
    # on a body delimited by the close): its first part parses, its last entries are
    # missing, and taken as the whole feed they would be new at the next poll.
    whole = (FEEDS_DIR / name).read_bytes().rstrip()
    cut = whole[: int(len(whole) * kept)] if kept > 0 else whole[: int(kept)]

    with pytest.raises(ParseError, match="cut short"):
        parse_seed(name, cut)


def test_a_feed_cut_inside_a_character_is_cut_short() -> None:
    whole = (FEEDS_DIR / "arabic-desk.rss.xml").read_bytes()
    start = whole.index("حفتر".encode())
    with pytest.raises(ParseError, match="cut short"):
        parse_seed("arabic-desk.rss.xml", whole[: start + 1])  # half of the first letter


def test_junk_after_a_whole_feed_is_not_a_cut() -> None:
    body = (FEEDS_DIR / "wire-libya.rss.xml").read_bytes() + b"\n<b>Warning</b>: deprecated"

    feed = parse_seed("wire-libya.rss.xml", body)

    assert len(feed.entries) == SEED_ENTRY_COUNTS["wire-libya.rss.xml"]
    assert feed.bozo is True


def test_feed_without_items_is_an_empty_feed() -> None:
    feed = parse_feed(rss(""), FEED_URL)

    assert feed.title == "Sample"
    assert feed.entries == ()
    assert not feed.bozo


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Q&A: the talks in Tripoli", "Q&A: the talks in Tripoli"),
        ("AT&T and R&D & more", "AT&T and R&D & more"),
        ("H&M; S&P 500", "H&M; S&P 500"),  # a ";" the feed wrote stays
        ("Tom &amp; Jerry &#38; co &#x26; M&amp;A", "Tom & Jerry & co & M&A"),  # escaped: as is
        ("Fish & chips", "Fish & chips"),
    ],
)
def test_a_bare_ampersand_is_an_ampersand(raw: str, text: str) -> None:
    # Not well-formed XML; feedparser's fallback parser read "&A" as a reference ("Q&A;").
    body = rss(f"<item><guid>1</guid><title>{raw}</title><description>{raw}</description></item>")

    feed = parse_feed(body, FEED_URL)

    assert html_to_text(feed.entries[0].title) == text
    assert html_to_text(feed.entries[0].summary) == text


def test_an_ampersand_in_cdata_or_utf16_is_left_alone() -> None:
    cdata = rss(
        "<item><guid>1</guid><title>AT&amp;T</title>"
        "<description><![CDATA[<p>Q&A &amp; more</p>]]></description></item>"
    )
    entry = parse_feed(cdata, FEED_URL).entries[0]
    assert html_to_text(entry.summary) == "Q&A & more"
    utf16 = rss("<item><guid>1</guid><title>Q&amp;A</title></item>").decode()
    utf16 = utf16.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    assert html_to_text(parse_feed(utf16, FEED_URL).entries[0].title) == "Q&A"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", None, "empty body"),
        (b" \n\t ", None, "empty body"),
        (
            b"<!DOCTYPE html><html><head><title>Libya news</title></head>"
            b"<body><p>Welcome</p></body></html>",
            "text/html; charset=utf-8",
            "an HTML page",
        ),
        (b"<html><body>Moved</body></html>", None, "an HTML page"),
        (
            b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
            b"<body><p>Not found</p></body></html>",
            "application/xhtml+xml",
            "an HTML page",
        ),
        (b'{"items": []}', "application/json", "JSON, not an RSS or Atom feed"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "title": "Wire", "items": [',
            "application/feed+json",
            "a JSON Feed that is not valid JSON",
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": {"id": "1"}}',
            "application/feed+json",
            "a JSON Feed without a list of items",
        ),
        # Nested deeper than the JSON reader goes: a parse error, not an internal one (probe66).
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "x": '
            + b"[" * 200_000
            + b"]" * 200_000
            + b"}]}",
            "application/feed+json",
            "a JSON Feed nested too deeply to read",
        ),
        (b"\x00\x01\x02garbage\xff\xfe", None, "not an RSS or Atom feed"),
        (b"just some words", "text/plain", "not an RSS or Atom feed"),
        (b'<rss version="2.0"><chan', None, "nothing readable"),
    ],
)
def test_unreadable_body_raises_parse_error(
    body: bytes, content_type: str | None, message: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, FEED_URL, content_type)

    assert caught.value.url == FEED_URL
    assert caught.value.reason == "parse_error"
    assert str(caught.value).startswith(f"{FEED_URL}: ")
    assert message in str(caught.value)


def test_body_that_names_a_file_is_not_opened(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss("<item><guid>secret</guid><title>local file</title></item>"))

    with pytest.raises(ParseError):
        parse_feed(str(feed_file).encode(), FEED_URL)


def test_parse_is_pure_data() -> None:
    feed = parse_feed(rss("<item><guid>p</guid><title>t</title></item>"), FEED_URL)

    with pytest.raises(AttributeError):
        feed.entries[0].title = "changed"  # type: ignore[misc]
    assert isinstance(feed.entries, tuple)


# --- properties --------------------------------------------------------------------------

_query_piece = st.from_regex(
    r"(utm_[a-z]{1,6}|fbclid|id|page|q|sort)=[a-z0-9%]{0,6}", fullmatch=True
)


@settings(max_examples=200, deadline=None)
@given(
    scheme=st.sampled_from(["http", "HTTP", "https", "HttpS"]),
    host=st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}\.(org|COM|net)", fullmatch=True),
    port=st.sampled_from(["", ":80", ":443", ":8080"]),
    path=st.from_regex(r"(/[A-Za-z0-9._~%-]{0,8}){0,3}", fullmatch=True),
    query=st.lists(_query_piece, max_size=4),
    fragment=st.sampled_from(["", "#", "#top"]),
)
def test_canonical_url_is_idempotent_and_drops_tracking(
    scheme: str, host: str, port: str, path: str, query: list[str], fragment: str
) -> None:
    url = f"{scheme}://{host}{port}{path}{'?' + '&'.join(query) if query else ''}{fragment}"
    canonical = canonical_url(url)

    assert canonical_url(canonical) == canonical
    assert "#" not in canonical and "utm_" not in canonical and "fbclid" not in canonical
    assert canonical.startswith(("http://", "https://"))
    kept = [piece for piece in query if not piece.startswith(("utm_", "fbclid"))]
    assert canonical.partition("?")[2] == "&".join(kept)


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda head, tail: head + tail,
            st.sampled_from(
                [rss("<item><guid>g</guid><title>t</title></item>")[:n] for n in (40, 90, 140, 200)]
            ),
            st.binary(max_size=60),
        ),
    )
)
def test_any_body_gives_a_feed_or_a_parse_error(body: bytes) -> None:
    try:
        feed = parse_feed(body, FEED_URL)
    except ParseError as error:
        assert error.url == FEED_URL
    else:
        assert isinstance(feed, ParsedFeed)
        assert len({entry.key for entry in feed.entries}) == len(feed.entries)


def test_a_guid_or_link_repeating_the_feed_urls_credentials_has_them_masked() -> None:
    # A private feed that repeats its own URL (password, token) in a guid or a link: the
    # stored key and URL hide those credentials; another link's own parameters are kept.
    feed = "http://duser:SEKRITDYNPW@127.0.0.1:18081/dyn.xml?token=SEKRITDYNTOK&x=1"
    body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><guid isPermaLink='false'>http://duser:SEKRITDYNPW@127.0.0.1:18081/dyn.xml"
        b"?token=SEKRITDYNTOK&amp;x=1#item3</guid><title>Haftar a</title></item>"
        b"<item><title>Haftar b</title>"
        b"<link>http://127.0.0.1:18081/dyn.xml?token=SEKRITDYNTOK&amp;x=1</link></item>"
        b"<item><title>Haftar c</title><link>http://example.org/a?key=123</link></item>"
        b"</channel></rss>"
    )
    first, second, third = parse_feed(body, feed).entries
    for entry in (first, second):
        stored = f"{entry.key} {entry.url}"
        assert "SEKRIT" not in stored and "REDACTED" in stored, stored
    assert first.key == "http://REDACTED@127.0.0.1:18081/dyn.xml?token=REDACTED&x=1#item3"
    assert second.url == "http://127.0.0.1:18081/dyn.xml?token=REDACTED&x=1"
    assert third.url == "http://example.org/a?key=123"


def test_a_short_feed_password_is_masked_only_where_a_url_holds_it() -> None:
    # The feed's password "2026" was masked wherever its characters appeared: an article's
    # link ".../2026/12/07/haftar-cairo-120261" was stored and sent as
    # ".../REDACTED/12/07/haftar-cairo-1REDACTED1" (an outside probe, probe67).
    feed = "http://subscriber:2026@127.0.0.1:18601/f/pin_private?token=news"
    body = (
        b"<rss version='2.0'><channel><title>t</title>"
        b"<item><guid isPermaLink='false'>post-2026-88</guid><title>Haftar a</title>"
        b"<link>http://127.0.0.1:18601/2026/12/07/haftar-cairo-120261?section=news</link></item>"
        b"<item><guid>http://subscriber:2026@127.0.0.1:18601/f/pin_private?id=7&amp;t=2026"
        b"</guid><title>Haftar b</title></item>"
        b"</channel></rss>"
    )
    first, second = parse_feed(body, feed).entries
    assert first.key == "post-2026-88"
    assert first.url == "http://127.0.0.1:18601/2026/12/07/haftar-cairo-120261?section=REDACTED"
    # Where a URL holds them (a userinfo, a parameter's value), they are masked.
    assert second.key == "http://REDACTED@127.0.0.1:18601/f/pin_private?id=7&t=REDACTED"


def _atom_with_content(attributes: str, value: str) -> bytes:
    return (
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><entry><id>x1</id>"
        f"<title>T</title><content {attributes}>{value}</content></entry></feed>"
    ).encode()


def _b64(text: str | bytes) -> str:
    import base64

    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


@pytest.mark.parametrize(
    ("attributes", "value", "expected"),
    [
        # Atom 1.0: a binary media type's content is base64 (feedparser decodes it).
        (
            "type='application/octet-stream'",
            _b64("Haftar entered Tripoli."),
            "Haftar entered Tripoli.",
        ),
        ("type='base64'", _b64("قوات حفتر دخلت طرابلس"), "قوات حفتر دخلت طرابلس"),
        # Atom 0.3: mode="base64" on any type.
        (
            "type='text/plain' mode='base64'",
            _b64("LNA forces near Sirte."),
            "LNA forces near Sirte.",
        ),
        (
            "type='text/html' mode='base64'",
            _b64("<p>GNA in <b>Tripoli</b></p>"),
            "<p>GNA in <b>Tripoli</b></p>",
        ),
        (
            "type='application/octet-stream' mode='base64'",
            _b64("a <b>tag</b>"),
            "a &lt;b&gt;tag&lt;/b&gt;",
        ),
        # Wrapped across lines, as encoders do.
        (
            "type='application/octet-stream'",
            _b64("Haftar " * 30)[:76] + "\n" + _b64("Haftar " * 30)[76:],
            ("Haftar " * 30).strip(),
        ),
        # Binary (an image): not text, nothing stored.
        ("type='image/png'", _b64(bytes(range(256))), ""),
        ("type='application/octet-stream'", _b64(b"\x89PNG\r\n\x1a\n\x00\x00"), ""),
    ],
)
def test_base64_content_is_stored_decoded(attributes: str, value: str, expected: str) -> None:
    (entry,) = parse_feed(_atom_with_content(attributes, value), "https://example.org/f").entries
    assert entry.content.strip() == expected


@pytest.mark.parametrize("order", ["newest-first", "oldest-first", "undated"])
def test_only_the_newest_max_entries_are_read(order: str) -> None:
    # A hostile or archive feed: 250,000 small items fit in 10 MB (1.7 GB to read them all).
    count = MAX_ENTRIES + 1500
    start = datetime(2026, 1, 1, tzinfo=UTC)
    dates = [start + timedelta(minutes=n) for n in range(count)]  # item n is the nth oldest
    numbers = list(range(count)) if order == "oldest-first" else list(reversed(range(count)))
    items = "".join(
        f"<item><guid>n{n}</guid><title>t{n}</title>"
        + (
            ""
            if order == "undated"
            else f"<pubDate>{email.utils.format_datetime(dates[n])}</pubDate>"
        )
        + "</item>"
        for n in numbers
    )

    feed = parse_feed(rss(items), FEED_URL)

    assert len(feed.entries) == MAX_ENTRIES
    keys = [entry.key for entry in feed.entries]
    if order == "undated":  # the first ones of the document
        assert keys == [f"n{n}" for n in numbers[:MAX_ENTRIES]]
    else:  # the newest, in document order
        newest = set(range(count - MAX_ENTRIES, count))
        assert keys == [f"n{n}" for n in numbers if n in newest]
    # Said, but not as a malformed feed (probe67 saw "feed is malformed but readable: 3000
    # entries: ..." for a well-formed one).
    assert not feed.bozo
    assert feed.note == f"{count} entries: only the newest {MAX_ENTRIES} are read"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize(
    ("declared", "content_type"),
    [
        ("utf-16", "text/xml; charset=utf-16"),  # all consistent
        ("utf-16", "application/rss+xml"),
        ("utf-8", "application/rss+xml; charset=utf-8"),  # both labels wrong
        (None, "text/xml"),
    ],
)
def test_a_byte_order_mark_says_the_encoding_whatever_the_labels(
    encoding: str, declared: str | None, content_type: str
) -> None:
    declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    text = (
        f'{declaration}<rss version="2.0"><channel><title>x</title>'
        "<item><guid>1</guid><title>المشير حفتر في طرابلس</title>"
        "<description>Le maréchal Haftar à Tripoli</description></item></channel></rss>"
    )
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(
        encoding, codecs.BOM_UTF32_LE if encoding == "utf-32-le" else codecs.BOM_UTF32_BE
    )

    entry = only_entry_typed(bom + text.encode(encoding), content_type)

    assert (entry.title, entry.summary) == ("المشير حفتر في طرابلس", "Le maréchal Haftar à Tripoli")


def only_entry_typed(body: bytes, content_type: str) -> FeedEntry:
    feed = parse_feed(body, FEED_URL, content_type)
    assert len(feed.entries) == 1
    return feed.entries[0]


def test_a_title_of_megabytes_is_cut_and_a_link_of_megabytes_is_no_link() -> None:
    # Stored and sent in every alert: a hostile feed's 9 MB title took 18 MB of database and
    # its 5 MB link made a 5 MB webhook. The entry is kept, by its guid or its text.
    title = "Haftar " * 500_000
    long_link = "https://example.org/" + "a" * 10_000
    feed = parse_feed(
        rss(
            f"<item><guid>g1</guid><title>{title}</title><link>https://example.org/1</link>"
            "</item>"
            f"<item><title>Tripoli talks</title><link>{long_link}</link>"
            "<description>Talks resumed.</description></item>"
        ),
        "https://example.org/rss",
    )
    first, second = feed.entries
    assert len(first.title) <= MAX_TITLE_CHARS and first.title.startswith("Haftar Haftar")
    assert first.title.endswith("\u2026") and first.url == "https://example.org/1"
    assert second.url is None and second.key.startswith("sha256:")
    assert second.title == "Tripoli talks"
    limit = "https://example.org/" + "b" * (MAX_LINK_CHARS - len("https://example.org/"))
    (kept,) = parse_feed(
        rss(f"<item><title>t</title><link>{limit}</link></item>"), "https://example.org/rss"
    ).entries
    assert kept.url == limit


# UTF-8 with a few bytes of another encoding pasted in (a curly quote from a Windows editor
# as 0x92, an accented letter as 0xE9, a no-break space as 0xA0). They made the whole body
# read as a single-byte code page: Arabic and Cyrillic garbled, so their names never matched.
STRAY_BYTES = {
    "arabic": ("خليفة حفتر يصل إلى طرابلس", "قال المشير خليفة حفتر إن قواته تقترب من طرابلس."),
    "russian": ("Хафтар прибыл в Триполи", "Маршал Халифа Хафтар прибыл в Триполи."),
    "french": ("Le maréchal Haftar à Tripoli", "Le maréchal est arrivé à Tripoli, « chaleureux »."),
}


@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=utf-8", "text/xml"])
@pytest.mark.parametrize("language", sorted(STRAY_BYTES))
def test_utf8_with_a_few_stray_bytes_keeps_its_utf8(language: str, content_type: str) -> None:
    title, text = STRAY_BYTES[language]
    item = (
        f"<item><guid>1</guid><title>{title} QUOTE</title><description>{text}</description>"
        "</item><item><guid>2</guid><title>second</title><description>NBSP</description></item>"
    )
    body = rss(item).replace(b"QUOTE", b"l\x92arm\xe9e").replace(b"NBSP", b"a\xa0b")

    feed = parse_feed(body, FEED_URL, content_type)

    first, second = feed.entries
    assert (first.title, first.summary) == (f"{title} l\u2019arm\u00e9e", text)
    assert second.summary == "a\u00a0b"
    assert feed.bozo_reason is not None and "3 stray bytes" in feed.bozo_reason


def test_a_body_in_a_code_page_throughout_is_not_taken_for_utf8_with_stray_bytes() -> None:
    # Only a few characters, all windows-1252: the stray-byte repair does not apply (the
    # UTF-8 characters do not outnumber the other bytes); the detector reads it.
    text = "Le maréchal Haftar à Tripoli, réunion à l’état-major"
    body = rss(f"<item><guid>1</guid><title>{text}</title></item>").decode()

    feed = parse_feed(body.encode("cp1252"), FEED_URL, "application/rss+xml; charset=utf-8")

    assert feed.entries[0].title == text
    assert feed.bozo_reason is not None and "stray" not in feed.bozo_reason


def test_a_fragment_that_is_a_web_apps_route_is_kept_in_the_link() -> None:
    # An outside probe: every article of a hash-routed site linked to its home page, and
    # two articles under one link were one for the stories. A place in a page stays out.
    body = rss(
        "<item><guid>1</guid><title>a</title><link>http://spa.example/#/news/1</link></item>"
        "<item><guid>2</guid><title>b</title><link>http://spa.example/#!/news/2</link></item>"
        "<item><guid>3</guid><title>c</title><link>http://news.example/a.html#comments</link>"
        "</item>"
    )
    routed, hashbang, anchored = parse_feed(body, FEED_URL).entries
    assert routed.url == "http://spa.example/#/news/1"
    assert hashbang.url == "http://spa.example/#!/news/2"
    assert anchored.url == "http://news.example/a.html"


def test_gzip_data_served_as_a_feed_is_named_as_such() -> None:
    # An outside probe: a gzip body without Content-Encoding read "not well-formed
    # (invalid token)".
    import gzip

    with pytest.raises(
        ParseError,
        match="gzip-compressed data, not an RSS or Atom feed: the server sent it without",
    ):
        parse_feed(gzip.compress(rss("<item><title>t</title></item>")), FEED_URL)


@pytest.mark.parametrize(
    ("link", "url"),
    [
        ("https://example.org/news/a b.html", "https://example.org/news/a%20b.html"),
        ("/news/a b?q=x y", "https://example.org/news/a%20b?q=x%20y"),
        ('https://example.org/x"<b>`{|}^\\', "https://example.org/x%22%3Cb%3E%60%7B%7C%7D%5E%5C"),
        # Letters of any script and escapes already there are kept.
        ("https://example.org/ليبيا/été?q=%20a", "https://example.org/ليبيا/été?q=%20a"),
    ],
)
def test_a_link_with_spaces_or_quotes_is_sent_percent_encoded(link: str, url: str) -> None:
    body = rss(f"<item><title>t</title><link>{html.escape(link)}</link></item>")
    (entry,) = parse_feed(body, FEED_URL).entries
    assert entry.url == url
    # The key of an entry without a guid stays the link as written (no new key, no new alert
    # for entries stored before links were encoded).
    assert " " not in url and (" " in link) == (" " in entry.key)


TURKISH_NEWS = [
    ("Hafter'in güçleri Trablus'a ilerledi", "Libya'da Hafter'e bağlı güçlerin başkent "
     "Trablus'un güneyinde ilerlediği bildirildi. Çatışmalar sürüyor."),
    ("Trablus'ta havalimanı yakınında çatışma", "Sakinler gece patlama sesleri duydu"),
]  # fmt: skip


@pytest.mark.parametrize("label", ["ISO-8859-1", "windows-1252", "ISO-8859-15"])
def test_turkish_under_a_western_label_is_read_as_turkish(label: str) -> None:
    # A classic of Turkish publishers (an outside probe met it): ISO-8859-9 bytes declared
    # ISO-8859-1 decode without an error, into "baðlý güçlerin baþkent", and a copy of the
    # story read right elsewhere made a second story and a second alert.
    items = "".join(
        f"<item><guid>{n}</guid><title>{title}</title><description>{text}</description></item>"
        for n, (title, text) in enumerate(TURKISH_NEWS)
    )
    body = f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><title>x'
    body += f"</title>{items}</channel></rss>"

    feed = parse_feed(body.encode("iso-8859-9"), FEED_URL, "application/rss+xml")

    assert [(e.title, e.summary) for e in feed.entries] == TURKISH_NEWS
    assert feed.bozo_reason is not None and "windows-1254" in feed.bozo_reason


# Text in another code page under a Western European label (HTTP or the XML declaration):
# every byte decodes, into "Ñóä àðåñòîâàë" or "S±d Najwy¿szy", so feedparser takes the label.
OTHER_PAGE_NEWS = [
    ("cp1251", "Хафтар объявил о наступлении на Триполи",
     "Ливийская национальная армия вошла в южные пригороды столицы, сообщили жители."),
    ("koi8-r", "Бои у международного аэропорта Митига",
     "Жители сообщили о взрывах на юге города; аэропорт закрыт до утра."),
    ("cp1253", "Συγκρούσεις κοντά στην Τρίπολη",
     "Οι δυνάμεις του Χαφτάρ προχωρούν προς την πρωτεύουσα της Λιβύης."),
    ("iso-8859-7", "Νέα εκεχειρία στη Λιβύη", "Η κυβέρνηση της Τρίπολης δέχτηκε την πρόταση."),
    ("cp1256", "اشتباكات قرب مطار معيتيقة الدولي", "أفاد سكان بسماع انفجارات جنوب العاصمة طرابلس"),
    ("cp1255", "קרבות ליד שדה התעופה בטריפולי", "תושבים דיווחו על פיצוצים בדרום העיר הלילה"),
    ("iso-8859-2", "Siły Haftara zbliżają się do Trypolisu",
     "Świadkowie mówią o walkach na południu stolicy; lotnisko jest zamknięte."),
    ("cp1250", "Wojska Haftara zajęły lotnisko, mówią świadkowie",
     "Rząd w Trypolisie wzywa do rozejmu. Walki trwają od środy."),
]  # fmt: skip


@pytest.mark.parametrize(("encoding", "title", "text"), OTHER_PAGE_NEWS)
@pytest.mark.parametrize("where", ["http", "xml"])
def test_another_code_page_under_a_western_label_is_read_as_itself(
    encoding: str, title: str, text: str, where: str
) -> None:
    # A held-out set (written by someone who had not seen this code) found 4 of 9 such feeds
    # misread under a wrong HTTP charset and 7 of 9 under a wrong XML declaration.
    items = "".join(
        f"<item><guid>{n}</guid><title>{title}</title><description>{text}</description></item>"
        for n in range(2)
    )
    label = "ISO-8859-1" if where == "xml" else "windows-1252"
    body = f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><title>x'
    body += f"</title>{items}</channel></rss>"
    content_type = "text/xml; charset=ISO-8859-1" if where == "http" else "application/rss+xml"

    feed = parse_feed(body.encode(encoding), FEED_URL, content_type)

    assert [(e.title, e.summary) for e in feed.entries] == [(title, text)] * 2


@pytest.mark.parametrize(
    "text",
    [
        "« Nous serons là », a déclaré le ministre. Créée en été, l’œuvre coûte 20 €.",
        "Col·lecció d’art a la ciutat: l’exposició obre dilluns",  # Catalan: l·l
        "Rødt og grønt lys på broen i Århus, sagde politiet i går. Det er ikke første gang.",
        "Þúsundir flýja átök í Líbíu. Það er ljóst að ástandið er slæmt í borginni.",
        "São Paulo: informações sobre a eleição, você e as opções de votação.",
    ],
)
def test_western_text_under_a_western_label_stays_western(text: str) -> None:
    items = f"<item><guid>a</guid><title>t</title><description>{text}</description></item>"
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>x'
    body += f"</title>{items}</channel></rss>"
    (entry,) = parse_feed(body.encode("cp1252"), FEED_URL, "application/rss+xml").entries
    assert entry.summary == text


@pytest.mark.parametrize("declared", ["utf-16", "UTF-16LE", "utf-32"])
@pytest.mark.parametrize("content_type", ["application/rss+xml", "application/xml", None])
def test_utf8_bytes_declared_utf16_are_read_as_utf8(
    declared: str, content_type: str | None
) -> None:
    # What .NET writes through a StringWriter: the declaration says UTF-16, the bytes are
    # UTF-8 (no mark, no NUL). The whole feed was refused as "not an RSS or Atom feed"
    # under an XML content type without a charset (an outside probe, probe67).
    title = "Haftar's forces near Tripoli, says Trípoli's mayor"
    body = f'<?xml version="1.0" encoding="{declared}"?>\n<rss version="2.0"><channel>'
    body += f"<title>x</title><item><guid>a</guid><title>{title}</title></item></channel></rss>"
    feed = parse_feed(body.encode("utf-8"), FEED_URL, content_type)

    assert [entry.title for entry in feed.entries] == [title]
    assert f"declared {declared}, but the bytes are UTF-8" in (feed.bozo_reason or "")


def test_utf16_without_a_mark_is_read_by_its_declaration() -> None:
    # XML 1.0, appendix F: "<?" in UTF-16 tells the byte order; feedparser refused the
    # big-endian one (a held-out case).
    title = "Građani Splita prosvjedovali zbog gužvi"
    body = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item>'
    body += f"<guid>a</guid><title>{title}</title></item></channel></rss>"
    for encoding in ("utf-16-be", "utf-16-le"):
        (entry,) = parse_feed(body.encode(encoding), FEED_URL).entries
        assert entry.title == title


@pytest.mark.parametrize(
    "stories",
    [
        *(stories for encoding, stories in MISLABELLED_NEWS.values() if encoding == "cp1252"),
        [  # Icelandic: its ð þ ý are Turkish ğ ş ı in the Turkish code page
            ("Þúsundir flýja átök í Líbíu", "Fréttir herma að þúsundir hafi flúið. Það er "
             "ljóst að ástandið er slæmt og margir eru á flótta frá borginni Trípólí."),
        ],
    ],
)  # fmt: skip
def test_western_news_labelled_right_is_not_taken_for_turkish(
    stories: list[tuple[str, str]],
) -> None:
    items = "".join(
        f"<item><guid>{n}</guid><title>{title}</title><description>{text}</description></item>"
        for n, (title, text) in enumerate(stories)
    )
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>x'
    body += f"</title>{items}</channel></rss>"

    feed = parse_feed(body.encode("cp1252", errors="strict"), FEED_URL, "application/rss+xml")

    assert [(e.title, e.summary) for e in feed.entries] == stories
    assert feed.bozo_reason is None


@pytest.mark.parametrize(
    ("page", "named"),
    [
        # WordPress: the feed announced in the head, relative, among other links.
        (b'<!DOCTYPE html><html><head><title>Wire</title><link rel="stylesheet" href="/s.css">'
         b'<link rel="alternate" type="application/rss+xml" title="Wire &raquo; Feed" '
         b'href="/wp/feed/"></head><body>x</body></html>', "https://news.example.org/wp/feed/"),
        # Attributes in another order, single quotes, an Atom feed on another host.
        (b"<html><head><link href='https://cdn.example.org/atom.xml' type='application/atom+xml'"
         b" rel='alternate'></head><body></body></html>", "https://cdn.example.org/atom.xml"),
        # A URL the page chose is shown as config text: a copy names no variable (probe66).
        (b'<html><head><link rel="alternate" type="application/rss+xml" '
         b'href="/f?x=${MONITOR_WEBHOOK_SECRET}"></head></html>',
         "https://news.example.org/f?x=$${MONITOR_WEBHOOK_SECRET}"),
        # Not a feed URL, or not a feed: no hint.
        (b'<html><head><link rel="alternate" type="application/rss+xml" '
         b'href="javascript:alert(1)"></head></html>', None),
        (b'<html><head><link rel="alternate" type="application/rss+xml" '
         b'href="/a\nb"></head></html>', None),
        (b'<html><head><link rel="alternate" hreflang="fr" href="/fr/"></head></html>', None),
        (b'<html><head><title>x</title></head><body><link rel="alternate" '
         b'type="application/rss+xml" href="/late"></body></html>', None),
    ],
)  # fmt: skip
def test_an_html_page_names_the_feed_it_announces(page: bytes, named: str | None) -> None:
    # An operator adds the site's address, not its feed's (an outside probe did): the page
    # usually says where its feed is (feed autodiscovery), so the error can too.
    with pytest.raises(ParseError) as caught:
        parse_feed(page, "https://news.example.org/section/", "text/html")
    message = str(caught.value)
    assert "an HTML page, not an RSS or Atom feed" in message
    if named is None:
        assert "names its feed" not in message
    else:
        assert message.endswith(
            f"; the page names its feed: {named} (use that URL: the source keeps its history)"
        )
        # Read back as the config holds it: a config naming it is the same source.
        assert feed_named_by_page(message) == named.replace("$${", "${")


@pytest.mark.parametrize(
    "href",
    ["https://news.example.org/section/", "/section", "HTTPS://News.Example.org/section/#top"],
)
def test_a_page_that_names_the_polled_url_as_its_feed_gives_no_url_to_use(href: str) -> None:
    # A WordPress maintenance page served at the feed's URL names that URL as its feed: the
    # operator was told to use the URL already polled (an outside probe, probe67).
    page = (
        b'<html><head><title>Maintenance</title><link rel="alternate" '
        b'type="application/rss+xml" href="' + href.encode() + b'"></head><body>Back soon'
        b"</body></html>"
    )
    with pytest.raises(ParseError) as caught:
        parse_feed(page, "https://news.example.org/section/", "text/html")
    message = str(caught.value)
    assert "the page names this URL as its feed: the site served a page in its place" in message
    assert "use that URL" not in message


ARABIC_ITEM = (
    "<item><guid>ar</guid><title>حفتر يهدد طرابلس</title>"
    "<description>قال المشير خليفة حفتر إن قواته ستدخل طرابلس.</description></item>"
)


def _english_items(count: int) -> str:
    return "".join(
        f"<item><guid>e{n}</guid><title>Market report {n}: oil prices steady</title>"
        f"<description>Brent crude was steady on day {n} as traders awaited OPEC figures."
        "</description></item>"
        for n in range(count)
    )


@pytest.mark.parametrize("english", [5, 20, 40])
@pytest.mark.parametrize(
    "content_type",
    [
        "application/rss+xml; charset=utf-8",
        "text/xml; charset=iso-8859-1",
        "text/xml; charset=windows-1252",
        "application/rss+xml",
    ],
)
def test_one_arabic_item_in_windows_1256_among_english_ones_is_read_as_arabic(
    english: int, content_type: str
) -> None:
    # A Libyan outlet's English feed with one Arabic item, all in windows-1256 under a
    # Western or UTF-8 label: from eight English items on, the detector read the majority
    # and chose windows-1252, and the Arabic item never matched (an outside probe, probe67).
    body = rss(ARABIC_ITEM + _english_items(english)).decode().encode("cp1256")
    entries = {entry.key: entry for entry in parse_feed(body, FEED_URL, content_type).entries}

    assert entries["ar"].title == "حفتر يهدد طرابلس"
    assert entries["e1"].title == "Market report 1: oil prices steady"


def test_an_arabic_item_in_windows_1256_inside_a_utf8_arabic_feed_is_read_as_arabic() -> None:
    items = "".join(
        f"<item><guid>u{n}</guid><title>أسعار النفط مستقرة في السوق {n}</title>"
        "<description>استقرت أسعار النفط اليوم في الأسواق العالمية.</description></item>"
        for n in range(10)
    )
    pasted = ARABIC_ITEM.replace("<guid>", '<guid isPermaLink="false">').encode("cp1256")
    body = rss(items).replace(b"</channel>", pasted + b"</channel>")
    feed = parse_feed(body, FEED_URL, "application/xml")

    entries = {entry.key: entry for entry in feed.entries}
    assert entries["ar"].title == "حفتر يهدد طرابلس"
    assert entries["u3"].title == "أسعار النفط مستقرة في السوق 3"
    assert "stray bytes of another encoding (read as windows-1256)" in (feed.bozo_reason or "")


ENCODINGS_HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "encodings_heldout"
# The held-out feeds not read as their writer expects, and why they are left.
ENCODINGS_NOT_READ = {
    # UTF-8 encoded twice ("RzÄ…d") in Atom: shown as sent (three of four such are repaired).
    "double_pl_utf-8_atom",
    # Undeclared and too short to tell: "Győr legyőzte Pécset" reads as Latin-1 "Gyõr";
    # € (ISO-8859-15) against ¤ (ISO-8859-1) in one German sentence.
    "ambiguous_hu_short_latin2_undeclared",
    "ambiguous_de_latin9_euro_undeclared",
}


def test_a_western_http_charset_yields_to_the_declaration_of_another_code_page() -> None:
    # A server's default "charset=ISO-8859-1" over a document that declares windows-1250
    # (a second held-out set): only "č" tells them apart here, read as "è" before.
    title = "Vlada sprejela paket ukrepov za pomoč gospodarstvu"
    body = '<?xml version="1.0" encoding="windows-1250"?><rss version="2.0"><channel>'
    body += f"<title>x</title><item><guid>a</guid><title>{title}</title></item></channel></rss>"
    feed = parse_feed(body.encode("cp1250"), FEED_URL, "text/xml; charset=ISO-8859-1")
    assert [e.title for e in feed.entries] == [title]


ENCODINGS_HELD_OUT_2 = ENCODINGS_HELD_OUT.parent / "encodings_heldout2"
# The second set's feeds not read as their writer expects, and why they are left.
ENCODINGS_NOT_READ_2 = {
    # Hungarian ISO-8859-2 under ISO-8859-1: only ő ű differ (õ û), and looking for those
    # bytes would send every Portuguese and French feed to the scorer, which reads "ões"
    # as Hungarian-like ("őes").
    "hu_latin2_as_latin1_xml",
    # Romanian: its 1250 reading scores 19 above the Western one, under DECLARED_MARGIN.
    "ro_latin2_as_latin1_http",
    # Baltic (windows-1257) and Vietnamese (windows-1258) are not among the code pages tried.
    "lt_cp1257_as_latin1_http",
    "lv_cp1257_as_cp1252_xml",
    "vi_cp1258_as_cp1252_http",
}


@pytest.mark.parametrize(
    ("folder", "count", "not_read"),
    [
        # 73 feeds of 10 classes (wrong HTTP charset, wrong XML declaration, none, UTF-8
        # mislabelled, stray bytes, double encoding, entities, BOMs) written by someone who
        # had not seen this code: 55 read right before Western labels were checked, 70 now.
        (ENCODINGS_HELD_OUT, 73, ENCODINGS_NOT_READ),
        # 50 written after the first set was fixed: 26 in another code page under a Western
        # label, 17 Western controls, 7 others: 44 read right as written (every control
        # among them), 45 now.
        (ENCODINGS_HELD_OUT_2, 50, ENCODINGS_NOT_READ_2),
    ],
)
def test_the_held_out_encodings_are_read_right(
    folder: Path, count: int, not_read: set[str]
) -> None:
    from monitor.text import html_to_text

    cases = json.loads((folder / "cases.json").read_text(encoding="utf-8"))
    wrong = []
    for case in cases:
        body = (folder / case["file"]).read_bytes()
        entries = parse_feed(body, FEED_URL, case["content_type"]).entries
        title = html_to_text(entries[0].title) if entries else None
        if (title == case["expected_title"]) == (case["name"] in not_read):
            wrong.append((case["name"], case["expected_title"], title))
    assert len(cases) == count and not wrong, wrong
