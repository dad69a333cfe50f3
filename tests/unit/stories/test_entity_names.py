"""Where a headline's script has no capitals (Arabic), the names guard sees only numbers; the
watched entities an article names stand in for its names, so two events told from one
template in two places are two stories, while copies of one story stay one."""

from __future__ import annotations

from pathlib import Path

from monitor.analysis import analyse
from monitor.match.matcher import Matcher
from monitor.match.watchlist_file import load_watchlist
from monitor.stories import same_story, signature, with_entities

WATCHLIST = Path(__file__).parents[3] / "config" / "watchlists" / "libya.yaml"

CLASHES = "اشتباكات مسلحة في {place} تسفر عن سقوط قتلى وجرحى"
LEAD = (
    "اندلعت اشتباكات مسلحة بين مجموعتين في {place} مساء الأحد، وأسفرت عن سقوط قتلى وجرحى "
    "بحسب مصادر طبية."
)


def _feed(*items: tuple[str, str]) -> bytes:
    body = "".join(
        f"<item><guid>{n}</guid><title>{title}</title><description>{lead}</description></item>"
        for n, (title, lead) in enumerate(items)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>W</title>"
        f"{body}</channel></rss>"
    ).encode()


def _stories(*items: tuple[str, str]) -> list:
    matcher = Matcher([load_watchlist(WATCHLIST)])
    return [
        analyse(matcher, _feed(item), "https://example.org/rss", None).stories[0] for item in items
    ]


def test_one_template_in_two_arabic_places_is_two_stories() -> None:
    tripoli, misrata = _stories(
        (CLASHES.format(place="طرابلس"), LEAD.format(place="طرابلس")),
        (CLASHES.format(place="مصراتة"), LEAD.format(place="مصراتة")),
    )
    assert not same_story(tripoli, misrata)
    # Without the entities, the guard saw nothing: the two were one story.
    assert same_story(
        signature(CLASHES.format(place="طرابلس"), LEAD.format(place="طرابلس"), ""),
        signature(CLASHES.format(place="مصراتة"), LEAD.format(place="مصراتة"), ""),
    )


def test_copies_of_one_arabic_story_stay_one() -> None:
    first, copy, shorter = _stories(
        (CLASHES.format(place="طرابلس"), LEAD.format(place="طرابلس")),
        # Another outlet: the same wire under its own headline mark and a longer lead.
        (
            "عاجل: " + CLASHES.format(place="طرابلس"),
            LEAD.format(place="طرابلس") + " وقال شهود إن الهدوء عاد صباح الاثنين.",
        ),
        # A copy whose headline names no watched place: nothing to object with.
        ("اشتباكات مسلحة تسفر عن سقوط قتلى وجرحى", LEAD.format(place="طرابلس")),
    )
    assert same_story(first, copy) and same_story(first, shorter)


def test_a_headline_with_capitals_keeps_its_own_names() -> None:
    sig = signature("Clashes in Tripoli leave dead", "Fighting broke out on Sunday.", "")
    assert with_entities(sig, "Clashes in Tripoli leave dead", [("title", "libya/tripoli")]) is sig
