"""The stock-text rule of `feed_signatures` by class (a boilerplate summary over the real
article, over nothing, copies of one story in an aggregator's feed), the title clean-up
(revision marks, an outlet's name after the headline, a summary that repeats the title),
and the labelled aggregator feeds (tests/data/aggregators/) scored as the service signs
them: one poll per feed."""

from __future__ import annotations

import json
from collections import Counter

from bench.stories import AGGREGATORS, cluster_feeds, load_feeds, score_feeds
from monitor.stories import feed_signatures, lead_text, same_story, signature

HELD_OUT = AGGREGATORS.parent.parent / "aggregators2" / "feeds.jsonl"

COOKIE = (
    "We use cookies and similar technologies to improve your experience on our website, to "
    "show you personalised content and to analyse our traffic. By continuing to browse you "
    "agree to our use of cookies as described in our privacy policy."
)
WIRE = (
    "TRIPOLI, May 2 (Maghreb Wire) - Heavy fighting broke out overnight between two rival "
    "armed factions in the southern suburbs of Tripoli, killing at least six people and "
    "forcing the closure of Mitiga airport, the health ministry said on Friday."
)
# Other news of the day, each with its own lead (the feed's other entries).
OTHERS = [
    (
        f"{place} council approves budget for {what}",
        f"The municipal council of {place} approved on Thursday a budget of {n} million "
        f"dinars for {what}, its spokesman told reporters after a session that lasted "
        "into the evening, adding that work would begin before the summer.",
    )
    for n, (place, what) in enumerate(
        [
            ("Misrata", "new schools"),
            ("Sabha", "road repairs"),
            ("Zliten", "a water network"),
            ("Gharyan", "street lighting"),
            ("Tobruk", "the port's quay"),
            ("Derna", "housing"),
            ("Sirte", "a hospital wing"),
        ],
        start=3,
    )
]


def _stories(sigs: list) -> list[int]:
    """Story of each signature, each joining the first earlier one it is the same story as."""
    story: list[int] = []
    for i, sig in enumerate(sigs):
        joined = next((story[j] for j in range(i) if same_story(sig, sigs[j])), i)
        story.append(joined)
    return story


def test_a_boilerplate_summary_gives_way_to_the_articles_own_content() -> None:
    entries = [(t, COOKIE, f"<p>{lead}</p>") for t, lead in OTHERS]
    sigs = feed_signatures(entries)
    assert [s.values for s in sigs] == [signature(t, "", c).values for t, _, c in entries]
    assert len(set(_stories(sigs))) == len(entries)


def test_a_boilerplate_summary_over_no_content_leaves_the_title_alone() -> None:
    titles = [t for t, _ in OTHERS]
    sigs = feed_signatures([(t, COOKIE, "") for t in titles])
    assert [s.values for s in sigs] == [signature(t, "", "").values for t in titles]
    # A short stock line shared by two entries only is stock text too.
    two = feed_signatures([(t, "Click here to read more.", "") for t in titles[:2]])
    assert two[0].values == signature(titles[0], "", "").values


def test_copies_of_one_story_in_an_aggregators_feed_stay_one_story() -> None:
    copies = [
        ("Clashes erupt between rival armed groups in Tripoli, at least 6 killed", WIRE),
        ("UPDATE 1-Tripoli clashes kill at least 6, Mitiga airport shut", WIRE),
        ("Deadly fighting shuts Tripoli's Mitiga airport - Libya Herald", WIRE.split(" - ", 1)[1]),
        ("Six dead as armed factions battle in Libyan capital | Sahel Times", WIRE),
    ]
    entries = [(t, s, f"<p>{s}</p><p>More to follow.</p>") for t, s in copies]
    entries += [(t, lead, f"<p>{lead}</p>") for t, lead in OTHERS]
    stories = _stories(feed_signatures(entries))
    assert len(set(stories[:4])) == 1, stories
    assert len(set(stories)) == 1 + len(OTHERS)


def test_a_lead_on_most_of_a_feed_is_its_boilerplate_even_when_long() -> None:
    # Nine of twelve entries carry the channel's description and nothing else: stock text,
    # however many words it has; the three copies of the wire's lead stay one story.
    description = (
        "The latest news from Libya and the Maghreb, updated around the clock by our desk "
        "in Tunis: politics, security, energy and the economy, with analysis from our "
        "correspondents across North Africa and the Sahel. Follow us for breaking news."
    )
    titles = [
        "Haftar visits Cairo for talks with Sisi",
        "Oil output rises at Sharara field",
        "Floods hit Derna again after storm",
        "Chad closes its border crossing at Tine",
        "Niger raises fuel prices by a fifth",
        "Tunisian teachers strike over pay",
        "Misrata port handles record cargo",
        "Sudan talks to resume in Jeddah",
        "Egypt's inflation slows in April",
    ]
    entries = [(t, description, "") for t in titles]
    entries += [(t, WIRE, "") for t in ("Tripoli clashes kill six", "Six killed in Tripoli")]
    sigs = feed_signatures(entries)
    assert sigs[0].values == signature(titles[0], "", "").values
    assert len(set(_stories(sigs[: len(titles)]))) == len(titles)


def test_boilerplate_on_a_minority_of_a_summary_only_feed_is_still_boilerplate() -> None:
    # A channel tagline of 30 words on 4 of 13 entries, no content: the headlines do not
    # tell of it, so it is stock text (taken for copies of one story, it merged three
    # different stories into one: an outside set, 2026-12-06).
    tagline = (
        "Tchad Actu 24 - L'information tchadienne en temps réel. Politique, économie, "
        "sécurité, société : suivez toute l'actualité du Tchad et du Sahel sur notre site, "
        "notre application et nos réseaux sociaux."
    )
    titles = [
        "SNE : les nouveaux tarifs de l'électricité entrent en vigueur en avril",
        "Moundou : les enseignants du public en grève illimitée",
        "Campagne cotonnière : CotonTchad annonce une hausse de 15 % de la production",
        "Abéché : un nouveau pont ouvert à la circulation",
    ]
    entries = [(t, tagline, "") for t in titles] + [(t, lead, "") for t, lead in OTHERS]
    entries += [
        (f"Sahel news {n}", f"<p>{lead} Item {n}.</p>", "")
        for n, (_, lead) in enumerate(OTHERS[:2])
    ]
    sigs = feed_signatures(entries)
    assert [s.values for s in sigs[:4]] == [signature(t, "", "").values for t in titles]
    assert len(set(_stories(sigs[:4]))) == 4


def test_a_wires_revision_note_and_other_datelines_are_not_the_lead() -> None:
    lead = "Heavy fighting broke out overnight between rival armed groups in Tripoli."
    for written in (
        f"(Adds government statement, school closures) TRIPOLI, March 11 (MNA) - {lead}",
        f"(Refiles to add dropped word in paragraph 2) TRIPOLI, March 11 (MNA) - {lead}",
        f"LAMPEDUSA (AGRIGENTO), 12 MARZO (AMN) - {lead}",
        f"TRIPOLI - {lead}",
        f"PORT SUDAN, May 10 - {lead}",
    ):
        assert lead_text("Clashes in Tripoli", written, "")[1] == lead, written
    # Not a dateline: a sentence that begins with a capitalised word and a colon later.
    assert lead_text("x", "UN envoy: talks go on", "")[1] == "UN envoy: talks go on"


def test_titles_lose_revision_marks_and_the_outlets_name() -> None:
    assert lead_text("CORRECTED-UPDATE 2-Haftar meets envoy", "", "")[0] == "Haftar meets envoy"
    assert lead_text("UPDATED: Sharara oilfield restarts", "", "")[0] == "Sharara oilfield restarts"
    assert lead_text("تحديث 1- استئناف الإنتاج في حقل الفيل", "", "")[0] == (
        "استئناف الإنتاج في حقل الفيل"
    )
    assert lead_text("Sudan's rivals agree to resume talks - Nile Post", "", "")[0] == (
        "Sudan's rivals agree to resume talks"
    )
    assert lead_text("Libya's oil output rises again | Libya Herald", "", "")[0] == (
        "Libya's oil output rises again"
    )
    assert lead_text("Oil output rises | Libya Herald", "", "")[0].endswith("Herald")
    # Kept: what would leave under four words, a figure, more than four words after the dash.
    assert lead_text("Benghazi - Derna road reopens", "", "")[0] == "Benghazi - Derna road reopens"
    assert lead_text("Floods hit eastern Libya - 2 dead", "", "")[0].endswith("2 dead")
    long_tail = "Talks resume in Geneva - the army and the RSF both attend"
    assert lead_text(long_tail, "", "")[0] == long_tail
    # A headline that only begins like a mark keeps it.
    assert lead_text("Update on the talks in Jeddah", "", "")[0] == "Update on the talks in Jeddah"


def test_a_summary_that_repeats_the_title_is_no_lead() -> None:
    title = "Drone strike hits El Fasher's main hospital, killing 11"
    content = "<p>A drone struck the main hospital in El Fasher on Saturday, killing 11.</p>"
    assert lead_text(title, title, content)[1] == (
        "A drone struck the main hospital in El Fasher on Saturday, killing 11."
    )
    assert lead_text(title, f" {title.upper()} ", "")[1] == ""
    # With no title there is nothing to repeat: a short summary stays the lead.
    assert lead_text("", "Clashes near Tripoli airport", content)[1] == (
        "Clashes near Tripoli airport"
    )
    # As news aggregators write it: the headline linked, then the outlet's name.
    summary = f'<a href="https://news.example/a/1">{title}</a>&nbsp;&nbsp;<font>Sahel Times</font>'
    assert lead_text(f"{title} - Sahel Times", summary, content)[1].startswith("A drone struck")


def test_the_labelled_aggregator_feeds() -> None:
    feeds = load_feeds(AGGREGATORS)
    rows = [e for entries in feeds.values() for e in entries]
    assert len(feeds) >= 20 and len(rows) >= 250
    assert len({e["id"] for e in rows}) == len(rows)
    kinds = Counter(e["kind"] for e in rows)
    assert kinds["stock"] >= 50 and kinds["outlet-copy"] >= 30
    scores = score_feeds(feeds, cluster_feeds(feeds))
    # Before the rule told copies from boilerplate: recall 0.19, 54 extra first alerts.
    # 0.813 -> 0.793 when a dateline's place became a name: one story whose copies carry
    # two datelines (TUNIS, EL AMRA) is told twice (tests/unit/stories/test_dateline_place.py).
    assert scores.within.precision >= 0.98, scores
    assert scores.within.recall >= 0.79, scores
    assert scores.lost_alerts == 0 and scores.extra_alerts <= 15, scores


def test_the_held_out_aggregator_feeds() -> None:
    # Written blind by a second helper after the rule's first version; its errors then
    # changed the rule (a headline must tell of a shared lead; revision notes, two more
    # dateline forms), so it is not fully held out either. Its within-feed pairs include
    # follow-ups with new leads and outlets' own wording, which no stock rule joins.
    feeds = load_feeds(HELD_OUT)
    assert len(feeds) >= 20 and sum(len(e) for e in feeds.values()) >= 250
    scores = score_feeds(feeds, cluster_feeds(feeds))
    # Before: precision 0.947, recall 0.18, 148 extra alerts, 1 merge.
    assert scores.within.precision >= 0.95, scores
    assert scores.within.recall >= 0.33, scores
    assert scores.lost_alerts <= 1 and scores.extra_alerts <= 140, scores


def test_the_aggregator_sets_are_well_formed() -> None:
    keys = {"feed", "id", "story", "kind", "lang", "published", "title", "summary", "content"}
    for path in (AGGREGATORS, HELD_OUT):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert set(json.loads(line)) == keys
