"""One long headline word for word, where one article is nothing but it, is one story
(`headline_key`, `headline_decides`): a news aggregator's linked headline over no lead joins
the wire's article, whose 50-word lead keeps their Jaccard under any threshold (an outside
probe, 2026-12-06: 13 such stories alerted twice). Two articles with leads under one
recurring headline are judged by their leads, an aggregator's copy does not chain a second
event into the first (a second probe: both merged, alerts lost), and short headlines decide
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.stories import band_keys, feed_signatures, same_story, signature, similarity
from monitor.stories.index import StoryIndex
from monitor.stories.signature import HEADLINE_WORDS, lead_text

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
WIRE_TITLE = "Clashes between armed groups in Tripoli's Ain Zara district kill five"
WIRE_LEAD = (
    "TRIPOLI, December 5 (Maghreb Wire) - Clashes between two armed groups in the southern "
    "Tripoli district of Ain Zara killed five people, including a child, and wounded at "
    "least 14 others overnight, the Emergency Medicine Centre said on Saturday, as "
    "residents reported heavy gunfire, burning cars and the closure of the main road "
    "towards Mitiga airport until the early morning hours."
)
# As Google News writes an entry: the outlet after the headline, and a summary that is the
# linked headline and the outlet's name.
AGGREGATED = (
    f"{WIRE_TITLE} - Maghreb Wire",
    f'<a href="https://news.example/articles/CBMi?oc=5">{WIRE_TITLE} - Maghreb Wire</a>'
    '&nbsp;&nbsp;<font color="#6f6f6f">Maghreb Wire</font>',
    "",
)


def test_an_aggregators_linked_headline_joins_the_wires_story() -> None:
    wire = signature(WIRE_TITLE, WIRE_LEAD, "")
    (copy,) = feed_signatures([AGGREGATED])
    assert lead_text(*AGGREGATED) == (WIRE_TITLE, "")
    jaccard, _ = similarity(wire, copy)
    assert jaccard < 0.25  # under every threshold: only the headline can tell
    assert wire.headline is not None and wire.headline == copy.headline
    assert band_keys(wire)[-1] == band_keys(copy)[-1] == wire.headline
    assert same_story(wire, copy)
    index = StoryIndex()
    first = index.add(1, wire, T0)
    assert index.add(2, copy, T0 + timedelta(hours=1)).story == first.story


def test_one_recurring_headline_over_two_events_is_two_stories() -> None:
    title = "Security incidents reported across Libya in the last day"
    zawiya = "Gunmen attacked a checkpoint in Zawiya overnight, wounding two guards."
    sabha = "A car bomb exploded near the market of Sabha on Friday, killing three."
    a, b = signature(title, zawiya, ""), signature(title, sabha, "")
    assert a.headline == b.headline
    assert not same_story(a, b)  # the names guard: Zawiya, Sabha
    index = StoryIndex()
    first = index.add(1, a, T0)
    assert index.add(2, b, T0 + timedelta(hours=20)).story != first.story


# A second probe's attacks (2026-12-06): one headline on two days over two events whose
# leads name nothing apart in their first sentence.
CLASHES = "Clashes erupt in Tripoli as rival armed groups fight for control"
FIRST_NIGHT = (
    "Heavy fighting broke out overnight in the Abu Salim district between the Stability "
    "Support Apparatus and the 444 Brigade, residents said."
)
SECOND_NIGHT = (
    "Heavy gunfire rang out across the capital again on the following night as rival armed "
    "groups fought for control of key roads. This time the Radaa force was involved."
)


def test_one_headline_over_two_events_with_leads_is_two_stories() -> None:
    a, b = signature(CLASHES, FIRST_NIGHT, ""), signature(CLASHES, SECOND_NIGHT, "")
    assert a.headline == b.headline and not a.names_conflict(b)
    assert not same_story(a, b)
    index = StoryIndex()
    first = index.add(1, a, T0)
    assert index.add(2, b, T0 + timedelta(hours=26)).story != first.story
    recurring = "Libya security update: the latest from Tripoli and the capital region"
    c = signature(recurring, "Gunmen briefly abducted a municipal official in Souq al-Juma.", "")
    d = signature(recurring, "A car bomb exploded near a police checkpoint, killing two.", "")
    assert not same_story(c, d)


def test_an_aggregators_copy_does_not_chain_a_second_event_into_the_first() -> None:
    # The copy (headline only) joins the first night's story; the second night, under the
    # same headline, is judged against the first night's lead, not through the copy.
    first = signature(CLASHES, FIRST_NIGHT, "")
    (copy,) = feed_signatures([(f"{CLASHES} - Libya Herald", f"{CLASHES} - Libya Herald", "")])
    second = signature(CLASHES, SECOND_NIGHT, "")
    assert copy.headline_only and not first.headline_only
    index = StoryIndex()
    story = index.add(1, first, T0).story
    assert index.add(2, copy, T0 + timedelta(hours=2)).story == story
    assert index.add(3, second, T0 + timedelta(hours=26)).story != story
    # With no lead under the headline yet, the copy draws the wire's article to it.
    index = StoryIndex()
    story = index.add(1, copy, T0).story
    assert index.add(2, first, T0 + timedelta(hours=1)).story == story


def test_a_short_headline_decides_nothing() -> None:
    title = "Clashes in Tripoli overnight"
    assert len(title.split()) < HEADLINE_WORDS
    a = signature(title, "Armed groups fought in Ain Zara, killing five people.", "")
    b = signature(title, "A militia stormed the port, the coast guard said on Monday.", "")
    assert a.headline is None and not same_story(a, b)
    assert len(band_keys(a)) == len(band_keys(b)) == 42


def test_a_french_correction_note_is_not_the_lead() -> None:
    lead = "La présidente du Conseil italien Giorgia Meloni a reçu le maréchal Haftar à Rome."
    noted = (
        f"(Rectifie le nom du ministre présent au 2e paragraphe) ROME, 5 décembre (AFP) - {lead}"
    )
    assert lead_text("RECTIFICATIF - Libye: Haftar reçu à Rome", noted, "")[1] == lead
