"""One test per class of variant that must join its story and per trap that must not.

The texts here are written for these tests, apart from the labelled set in
tests/data/stories/ (which measures the rates)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.stories import (
    DEFAULT_CONFIG,
    Signature,
    band_keys,
    same_story,
    signature,
)
from monitor.stories.index import StoryIndex

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)

TITLE = "Rocket fire hits Tripoli port, three dockworkers killed"
LEAD = (
    "TRIPOLI, July 1 (Test Wire) - Three dockworkers were killed and eight injured when "
    "rockets landed in the commercial port of Tripoli on Wednesday, the port authority said. "
    "Two container ships left the harbour after the attack and loading was suspended."
)
BODY = (
    "<p>No group said it had fired the rockets. The port handles most of the capital's food "
    "imports.</p>"
)


def sig(title: str, summary: str, content: str = "") -> Signature:
    return signature(title, summary, content)


ORIGINAL = sig(TITLE, LEAD, f"<p>{LEAD}</p>{BODY}")


def test_the_same_wire_copy_from_another_outlet_is_the_same_story() -> None:
    other = sig(TITLE, LEAD.replace("(Test Wire)", "(Other Agency)"))
    assert same_story(ORIGINAL, other)


def test_a_rewritten_headline_is_the_same_story() -> None:
    other = sig("Three dead as rockets strike Tripoli's commercial harbour", LEAD)
    assert same_story(ORIGINAL, other)


def test_a_shortened_lead_is_the_same_story() -> None:
    first_sentence = LEAD.split(" Two container")[0]
    assert same_story(ORIGINAL, sig(TITLE, first_sentence))


def test_added_paragraphs_and_no_summary_are_the_same_story() -> None:
    content = (
        f"<p>{LEAD}</p>{BODY}<p>The port was also hit in 2024, when a fuel depot burned for "
        "two days.</p><p>(Reporting by the desk)</p>"
    )
    assert same_story(ORIGINAL, sig(TITLE, "", content))


def test_a_correction_with_a_changed_figure_is_the_same_story() -> None:
    corrected = sig(
        "CORRECTED-Rocket fire hits Tripoli port, four dockworkers killed",
        LEAD.replace("Three dockworkers", "Four dockworkers")
        + " (Corrects death toll to four from three)",
    )
    assert same_story(ORIGINAL, corrected)


def test_html_and_typography_do_not_change_the_signature() -> None:
    fancy = sig(
        f"<b>{TITLE}</b>",
        "<p>" + LEAD.replace("capital's", "capital\u2019s").replace(" the ", " the&nbsp;") + "</p>",
    )
    assert same_story(ORIGINAL, fancy)


def test_trap_a_second_clash_in_the_same_city_the_same_day_is_another_story() -> None:
    a = sig(
        "Four killed in clashes in Tripoli's Ain Zara district",
        "TRIPOLI, July 1 (Test Wire) - Four people were killed and 12 wounded in clashes "
        "between two armed groups in the Ain Zara district of Tripoli on Wednesday, the health "
        "ministry said. The fighting started near a checkpoint on the airport road.",
    )
    b = sig(
        "Six killed in clashes in Tripoli's Janzour district",
        "TRIPOLI, July 1 (Test Wire) - Six people were killed and 9 wounded in clashes "
        "between two armed groups in the Janzour district of Tripoli on Wednesday, the health "
        "ministry said. The fighting started near a checkpoint on the coastal road.",
    )
    assert not same_story(a, b)


def test_trap_two_statements_by_the_same_spokesman_the_same_day_are_two_stories() -> None:
    a = sig(
        "Army spokesman says troops seized weapons cache near Ubari",
        "BENGHAZI, July 1 (Test Wire) - The army's spokesman said on Wednesday that troops had "
        "seized a weapons cache hidden in farms near Ubari, in a statement read on television. "
        "He said 14 suspects were arrested.",
    )
    b = sig(
        "Army spokesman says troops will hold drills near Ajdabiya",
        "BENGHAZI, July 1 (Test Wire) - The army's spokesman said on Wednesday that troops "
        "would hold live-fire drills near Ajdabiya next week, in a statement read on "
        "television. He said 3,000 soldiers would take part.",
    )
    assert not same_story(a, b)


def test_trap_a_near_copy_about_another_town_is_another_story() -> None:
    """Template wire copy: the same sentences, another place and another toll."""
    a = sig(
        "Boat capsizes off Garabulli, 15 migrants missing",
        "TRIPOLI, July 1 (Test Wire) - At least 15 migrants are missing after their boat "
        "capsized off the Libyan town of Garabulli on Wednesday, the UN refugee agency said. "
        "Six people were rescued by the coast guard.",
    )
    b = sig(
        "Boat capsizes off Khoms, 8 migrants missing",
        "TRIPOLI, July 1 (Test Wire) - At least 8 migrants are missing after their boat "
        "capsized off the Libyan town of Khoms on Wednesday, the UN refugee agency said. "
        "Six people were rescued by the coast guard.",
    )
    assert a.jaccard(b) >= DEFAULT_CONFIG.same_story  # the wording alone would merge them
    assert not same_story(a, b)


def test_trap_two_arabic_statements_by_one_ministry_the_same_day_are_two_stories() -> None:
    """Arabic has no capitals, so the names guard sees only numbers: here the threshold
    decides."""
    a = sig(
        "الداخلية: القبض على 12 مهربا في صبراته",
        "أعلنت وزارة الداخلية يوم الأربعاء القبض على 12 مهربا للبشر في مدينة صبراته غرب طرابلس. "
        "وقالت الوزارة إن المتهمين أحيلوا إلى النيابة.",
    )
    b = sig(
        "الداخلية: إغلاق طريق الساحل بسبب أعمال صيانة",
        "أعلنت وزارة الداخلية يوم الأربعاء إغلاق الطريق الساحلي بين طرابلس والزاوية لمدة 3 أيام. "
        "وقالت الوزارة إن الحركة ستحول إلى طرق بديلة.",
    )
    assert a.lead_names == {"12"} and b.lead_names == {"3"}  # numbers only
    assert not same_story(a, b)


def test_an_arabic_rewritten_headline_is_the_same_story() -> None:
    lead = (
        "قتل 4 أشخاص في انفجار سيارة مفخخة قرب ميناء بنغازي صباح الخميس، وفق مصادر طبية. "
        "وأغلقت السلطات الطرق المؤدية إلى الميناء."
    )
    a = sig("مقتل 4 أشخاص في انفجار ببنغازي", lead)
    b = sig("انفجار سيارة مفخخة يهز ميناء بنغازي", lead)
    assert same_story(a, b)


def test_the_index_wants_aware_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        StoryIndex().add(1, ORIGINAL, datetime(2026, 7, 1, 9, 0))


def test_an_unrelated_article_is_another_story() -> None:
    other = sig(
        "Central bank keeps interest rates on hold",
        "The central bank left its main rate unchanged on Wednesday, citing stable inflation.",
    )
    assert not same_story(ORIGINAL, other)


def test_the_index_joins_variants_and_keeps_traps_apart() -> None:
    index = StoryIndex()
    first = index.add(1, ORIGINAL, T0)
    assert first.story == 1 and first.matched is None
    rewritten = sig("Three dead as rockets strike Tripoli's commercial harbour", LEAD)
    joined = index.add(2, rewritten, T0 + timedelta(hours=1))
    assert (joined.story, joined.matched) == (1, 1)
    assert joined.jaccard >= DEFAULT_CONFIG.same_story
    unrelated = sig("Central bank keeps interest rates on hold", "Rates are unchanged.")
    assert index.add(3, unrelated, T0).story == 3
    assert index.story_of(2) == 1 and len(index) == 3


def test_outside_the_window_the_same_text_starts_a_new_story() -> None:
    index = StoryIndex()
    index.add(1, ORIGINAL, T0)
    later = T0 + DEFAULT_CONFIG.window + timedelta(minutes=1)
    assert index.add(2, ORIGINAL, later).story == 2
    assert index.add(3, ORIGINAL, T0 + DEFAULT_CONFIG.window).story == 1


def test_a_near_copy_is_not_indexed_unless_it_came_half_a_window_later() -> None:
    index = StoryIndex()
    index.add(1, ORIGINAL, T0)
    assert index.add(2, ORIGINAL, T0 + timedelta(hours=1)).matched == 1
    assert index.candidates(ORIGINAL, T0 + timedelta(hours=2)) == [1]
    assert index.add(3, ORIGINAL, T0 + timedelta(hours=30)).matched == 1
    assert index.candidates(ORIGINAL, T0 + timedelta(hours=31)) == [1, 3]
    # 60 h on, the first is out of the window; the later copy keeps the story findable.
    assert index.add(4, ORIGINAL, T0 + timedelta(hours=60)).story == 1


def test_pruned_articles_are_no_longer_candidates() -> None:
    index = StoryIndex()
    index.add(1, ORIGINAL, T0)
    index.add(2, ORIGINAL, T0 + timedelta(hours=30))
    assert index.prune(T0 + timedelta(hours=1)) == 1
    assert len(index) == 1
    assert index.candidates(ORIGINAL, T0 + timedelta(hours=31)) == [2]
    with pytest.raises(ValueError, match="already indexed"):
        index.add(2, ORIGINAL, T0)


def test_a_signature_survives_bytes_and_another_process() -> None:
    """What a database row would hold, and what a restarted or second instance computes."""
    stored = Signature.from_bytes(
        ORIGINAL.to_bytes(), ORIGINAL.size, ORIGINAL.names, ORIGINAL.lead_names
    )
    assert len(ORIGINAL.to_bytes()) == 4 * DEFAULT_CONFIG.num_perm
    assert stored.jaccard(ORIGINAL) == 1.0
    # A row holds the MinHash values: the bands' keys come back; the headline's key (one
    # more, `headline_key`) lives in the band rows only.
    assert band_keys(stored) == band_keys(ORIGINAL)[: DEFAULT_CONFIG.bands]
    assert len(band_keys(ORIGINAL)) == DEFAULT_CONFIG.bands + 1
    code = (
        "from monitor.stories import signature, band_keys; import sys; "
        "s = signature(sys.argv[1], sys.argv[2], ''); "
        "print(s.to_bytes().hex()); print(band_keys(s))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, TITLE, LEAD], capture_output=True, text=True, check=True
    )
    values, keys = done.stdout.splitlines()
    assert values == sig(TITLE, LEAD).to_bytes().hex()
    assert keys == str(band_keys(sig(TITLE, LEAD)))


def test_an_empty_article_matches_nothing() -> None:
    empty = sig("", "")
    assert empty.size == 0
    assert not same_story(empty, empty)
    index = StoryIndex()
    assert index.add(1, empty, T0).story == 1
    assert index.add(2, empty, T0).story == 2


def test_a_band_key_is_indexed_for_at_most_per_key_articles_of_a_window() -> None:
    config = replace(DEFAULT_CONFIG, per_key=3, redundant=1.01)  # every copy is indexable
    index = StoryIndex(config)
    for article in range(1, 11):
        assert index.add(article, ORIGINAL, T0 + timedelta(minutes=article)).story == 1
    # The first three carry every key; the other seven joined the story without adding rows.
    assert index.candidates(ORIGINAL, T0 + timedelta(hours=1)) == [1, 2, 3]
    # Half a window later a copy carries the keys again, so that when the first three leave
    # the window the story is still found.
    renewed = T0 + config.window / 2 + timedelta(hours=1)
    assert index.add(11, ORIGINAL, renewed).story == 1
    assert index.candidates(ORIGINAL, renewed) == [1, 2, 3, 11]
    late = T0 + config.window + timedelta(hours=1)
    assert index.candidates(ORIGINAL, late) == [11]
    assert index.add(12, ORIGINAL, late).story == 1
