"""The place of a dateline is a name of a story's signature: two events written from one
template in two towns stay two stories; copies with and without the dateline stay one."""

from __future__ import annotations

import pytest

from monitor.stories import DEFAULT_CONFIG, feed_signatures, signature
from monitor.stories.decision import accepted
from monitor.stories.signature import PLACE, lead_text

BRIEF = (
    "Gunmen attacked a security checkpoint on the coastal road late on Monday, killing two "
    "guards and wounding three others, a security official said. The attackers fled in two "
    "pickup trucks before reinforcements arrived."
)
TITLE = "Gunmen kill two guards at checkpoint"


def same_story(a: str, b: str, title_a: str = TITLE, title_b: str = TITLE) -> bool:
    x, y = signature(title_a, a, ""), signature(title_b, b, "")
    jaccard = x.jaccard(y)
    return accepted(jaccard, x.containment(y, jaccard), False, DEFAULT_CONFIG) and not (
        x.names_conflict(y)
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("TRIPOLI (Maghreb Wire) - ", "MISRATA (Maghreb Wire) - "),
        ("TRIPOLI, March 2 (Reuters) - ", "ZAWIYA, March 2 (Reuters) - "),
        ("TRIPOLI - ", "SIRTE - "),
        ("طرابلس، 7 مارس (وكالة المتوسط) - ", "مصراتة، 7 مارس (وكالة المتوسط) - "),
    ],
)
def test_one_template_in_two_towns_is_two_stories(one: str, other: str) -> None:
    assert same_story(f"{one}{BRIEF}", f"{one}{BRIEF}")
    assert not same_story(f"{one}{BRIEF}", f"{other}{BRIEF}")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("TRIPOLI (Maghreb Wire) - ", ""),  # an outlet drops the dateline
        ("TRIPOLI (Reuters) - ", "TRIPOLI (AFP) - "),  # two wires: the outlet is no place
        ("TRIPOLI, Libya, March 2 (Maghreb Wire) - ", "TRIPOLI - "),
    ],
)
def test_copies_of_one_story_stay_one(one: str, other: str) -> None:
    assert same_story(f"{one}{BRIEF}", f"{other}{BRIEF}")


def test_a_dateline_place_is_no_name_against_an_article_without_one() -> None:
    # A rewritten headline adds "Libya"; the wire has the dateline TRIPOLI: no conflict.
    wire = signature(TITLE, f"TRIPOLI (Maghreb Wire) - {BRIEF}", "")
    rewritten = signature("Gunmen kill two guards at Libya checkpoint", BRIEF, "")
    assert not wire.names_conflict(rewritten) and not rewritten.names_conflict(wire)


def test_what_is_no_dateline_gives_no_place() -> None:
    for lead in (
        f"The envoy (UNSMIL): {BRIEF}",  # a phrase the dateline pattern takes
        BRIEF,
        f"gunmen near the port (Reuters) - {BRIEF}",
    ):
        sig = signature(TITLE, lead, "")
        assert not any(n.startswith(PLACE) for n in sig.names), lead
    # The lead itself is unchanged: the dateline is still not shingled.
    assert lead_text(TITLE, f"TRIPOLI (Maghreb Wire) - {BRIEF}", "")[1] == BRIEF


# An outside probe's classes (2026-12-06): a dateline closed by "--" (Xinhua), one template
# on two days, figures written two ways, one short item listed twice in a feed.


def test_a_xinhua_dateline_names_its_place() -> None:
    one, other = "TRIPOLI, Dec. 6 (Xinhua) -- ", "MISRATA, Dec. 6 (Xinhua) -- "
    assert same_story(f"{one}{BRIEF}", f"{one}{BRIEF}")
    assert not same_story(f"{one}{BRIEF}", f"{other}{BRIEF}")
    assert lead_text(TITLE, f"{one}{BRIEF}", "")[1] == BRIEF


def test_one_template_on_two_days_of_its_dateline_is_two_stories() -> None:
    assert not same_story(
        f"TRIPOLI, Dec 4 (Reuters) - {BRIEF}", f"TRIPOLI, Dec 6 (Reuters) - {BRIEF}"
    )
    # The same day from two wires, or one copy without the dateline: one story.
    assert same_story(f"TRIPOLI, Dec 4 (Reuters) - {BRIEF}", f"TRIPOLI, Dec. 4 (AFP) - {BRIEF}")
    assert same_story(f"TRIPOLI, Dec 4 (Reuters) - {BRIEF}", BRIEF)
    # A figure in the outlet's bracket is no day.
    assert same_story(f"TRIPOLI, Dec 4 (AFP 2) - {BRIEF}", f"TRIPOLI, Dec 4 (AFP) - {BRIEF}")


@pytest.mark.parametrize(
    ("one", "other"),
    [("1,200", "1200"), ("1 200", "1200"), ("1\u202f200", "1.200"), ("٣", "3"), ("١٢", "12")],
)
def test_a_figure_written_two_ways_is_one_figure(one: str, other: str) -> None:
    lead = "At least {} migrants were rescued off Zuwara on Monday, the coast guard said."
    title = "Migrants rescued off Libyan coast"
    assert same_story(lead.format(one), lead.format(other), title, title)
    assert not same_story(lead.format("1,200"), lead.format("1,900"), title, title)


def test_one_short_item_listed_twice_in_a_feed_is_one_story() -> None:
    item = ("Clashes in Zawiya", "<p>Fighting broke out overnight near the refinery.</p>", "")
    other = ("Port reopens", "<p>The port of Misrata reopened to cargo ships.</p>", "")
    twice = feed_signatures([item, other, item])
    assert twice[0].data == twice[2].data and twice[0].size >= DEFAULT_CONFIG.min_shingles
    # Three entries with one title and one lead: a template, still signed by the title.
    thrice = feed_signatures([item, item, item, other])
    assert thrice[0].size < DEFAULT_CONFIG.min_shingles
