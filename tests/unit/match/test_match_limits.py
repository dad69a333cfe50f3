"""Limits: one article, however long or repetitive, gives bounded mentions, excerpts, detail
size, time and memory, and says so with ``truncated``; normal articles are not cut."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from monitor.match import Matcher, Watchlist
from monitor.match.limits import (
    MAX_DETAIL_BYTES,
    MAX_EXCERPTS,
    MAX_FIELD_CHARS,
    MAX_FIELD_HITS,
    MAX_MENTIONS_PER_ENTITY,
    MIN_DETAIL_BYTES,
)
from monitor.match.rules import word_distance
from monitor.match.scan import FieldScan, Hit, PatternIndex
from monitor.match.watchlist_file import parse_watchlist

REPO = Path(__file__).resolve().parents[3]


def detail_sizes(detail: dict[str, object]) -> tuple[int, int]:
    """The stored form (ASCII-escaped) and the webhook's (compact UTF-8)."""
    compact = json.dumps(detail, ensure_ascii=False, separators=(",", ":")).encode()
    return len(json.dumps(detail)), len(compact)


def test_a_normal_article_is_not_truncated(libya_matcher: Matcher) -> None:
    result = libya_matcher.match({"title": "Haftar in Tripoli", "content": "<p>The LNA said.</p>"})
    assert result.to_json(1)["truncated"] is False
    assert [alert.to_json()["truncated"] for alert in result.alerts] == [False]


@pytest.mark.parametrize(
    "content",
    [
        "Haftar " * 700_000,  # 4.9 MB: the probe's article
        "<p>Haftar, the LNA and Tripoli.</p>" * 2_000,  # under MAX_FIELD_CHARS, many hits
        "Haftar attacked Tripoli. " * 400_000,  # one excerpt per sentence
    ],
    ids=["one-name-repeated", "many-hits", "many-sentences"],
)
def test_a_repetitive_article_is_capped_and_says_so(libya_matcher: Matcher, content: str) -> None:
    result = libya_matcher.match({"content": content})
    output = result.to_json(1)
    assert output["truncated"] is True
    per_entity = Counter((m.watchlist, m.entity, m.field) for m in result.mentions)
    assert max(per_entity.values()) == MAX_MENTIONS_PER_ENTITY
    assert len(result.excerpts) <= MAX_EXCERPTS
    (alert,) = result.alerts
    detail = alert.to_json()
    assert detail["truncated"] is True
    assert len(alert.excerpts) <= MAX_EXCERPTS
    assert max(detail_sizes(detail)) <= MAX_DETAIL_BYTES


def test_a_short_repetitive_entry_stores_a_detail_of_its_own_size(libya_matcher: Matcher) -> None:
    # An outside probe: entries of 3 KB repeating "Haftar Tripoli" a hundred times stored
    # 44 KB of detail each; a hostile feed grew the database 18 times faster than the text
    # that store_max_per_day bounds. The detail is at most twice the text (8,000 bytes min).
    content = "<p>" + "Haftar visited Tripoli. " * 100 + "</p>"
    result = libya_matcher.match({"title": "Haftar in Tripoli", "content": content})
    (alert,) = result.alerts
    detail = alert.to_json()
    assert detail["truncated"] is True and detail["matches"] and detail["excerpts"]
    assert set(detail["entities"]) == {"haftar", "tripoli"}
    assert max(detail_sizes(detail)) <= MIN_DETAIL_BYTES
    # A long article keeps more: twice its text.
    long = "<p>" + " ".join(f"Report {i}: Haftar visited Tripoli." for i in range(2_000)) + "</p>"
    (alert,) = libya_matcher.match({"content": long}).alerts
    assert max(detail_sizes(alert.to_json())) > 2 * MIN_DETAIL_BYTES


def test_a_short_article_whose_detail_fits_is_not_called_truncated(libya_matcher: Matcher) -> None:
    # An outside probe: a title naming Haftar and a summary of 7 x "Haftar spoke." (120
    # characters) came as `truncated: true` with all 8 mentions and every excerpt there: the
    # rough size bound was over the 8,000 bytes, the exact size was not.
    for count in range(1, 12):
        result = libya_matcher.match(
            {"title": "Haftar speaks", "summary": "Haftar spoke. " * (count - 1)}
        )
        (alert,) = result.alerts
        detail = alert.to_json()
        assert len(alert.mentions) == count and max(detail_sizes(detail)) < MIN_DETAIL_BYTES
        assert detail["truncated"] is False, count


def test_only_the_start_of_a_long_field_is_matched(libya_matcher: Matcher) -> None:
    filler = "word " * (MAX_FIELD_CHARS // 5)
    early = libya_matcher.match({"content": "Haftar " + filler})
    assert [m.start for m in early.mentions] == [0] and early.truncated
    late = libya_matcher.match({"content": filler + " Haftar"})
    assert late.mentions == () and late.truncated
    # The cut does not leave the start of a longer word to match as a name.
    cut_in_word = filler[: MAX_FIELD_CHARS - 3] + "Haftarian"
    assert libya_matcher.match({"content": cut_in_word}).mentions == ()


def test_mentions_beyond_the_hit_limit_are_not_read(libya_matcher: Matcher) -> None:
    content = "Haftar " * MAX_FIELD_HITS + "Tripoli"
    assert len(content) < MAX_FIELD_CHARS
    result = libya_matcher.match({"content": content})
    assert {m.entity for m in result.mentions} == {"haftar"} and result.truncated


def test_long_mentions_still_fit_the_detail(libya_matcher: Matcher) -> None:
    # Zero-width characters are ignored inside names, so one mention can be long.
    padded = "H" + "\u200b" * 1_000 + "aftar 😀 "
    result = libya_matcher.match({"content": padded * 1_000})
    (alert,) = result.alerts
    detail = alert.to_json()
    assert detail["truncated"] is True and detail["matches"]
    assert max(detail_sizes(detail)) <= MAX_DETAIL_BYTES


def test_many_entities_fit_the_detail() -> None:
    names = [f"Person{i} Q{i}" for i in range(3_000)]
    entities = [{"id": f"e{i}", "names": [name]} for i, name in enumerate(names)]
    matcher = Matcher([parse_watchlist({"entities": entities}, Path("many.yaml"))])
    result = matcher.match({"content": ", ".join(names)})
    assert len(result.mentions) == 3_000  # each entity once: nothing is cut from the result
    (alert,) = result.alerts
    detail = alert.to_json()
    assert detail["truncated"] is True
    assert detail["entities"] == sorted(f"e{i}" for i in range(3_000))
    assert max(detail_sizes(detail)) <= MAX_DETAIL_BYTES


def test_phrase_lookups_agree_with_checking_every_occurrence(
    write_watchlist: Callable[..., Watchlist],
) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli, طرابلس]
            exclude_phrases: [USS Tripoli, Tripoli Lebanon]
            exclude_if_near: {words: [Lebanon, الجيش, port of call], within: 3}
        """
    )
    index = PatternIndex([watchlist])
    words = ["Tripoli", "Lebanon", "USS", "port", "of", "call", "x", "طرابلس", "للجيش", "الجيش"]
    rng = random.Random(5)
    for _ in range(300):
        scan = index.scan("content", " ".join(rng.choices(words, k=rng.randint(1, 200))))
        for mention in scan.names:
            for key, hits in scan.phrases_by_key.items():
                overlapping = [
                    h
                    for h in hits
                    if h.norm_start < mention.norm_end and mention.norm_start < h.norm_end
                ]
                assert scan.phrases_overlapping(key, mention) == bool(overlapping)
                others = [h for h in hits if h not in overlapping]
                beside = scan.phrases_beside(key, mention)
                assert nearest(scan, mention, beside) == nearest(scan, mention, others)


def nearest(scan: FieldScan, mention: Hit, hits: Sequence[Hit]) -> int:
    """Words between the mention and the nearest of ``hits`` (-1 without any)."""
    span = scan.word_span(mention.norm_start, mention.norm_end)
    spans = [scan.word_span(h.norm_start, h.norm_end) for h in hits]
    return min((word_distance(span, other) for other in spans), default=-1)


MEMORY_PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from monitor.match import Matcher
    from monitor.match.watchlist_file import load_watchlist

    def peak_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024

    matcher = Matcher([load_watchlist(Path(sys.argv[1]))])
    size = 10_000_000
    articles = [
        {"content": "Haftar " * (size // 7)},
        {"content": "حفتر في طرابلس " * (size // 15)},
        {"content": "<p class='x'>Haftar <b>LNA</b> &amp; Tripoli</p>" * (size // 46)},
        {"content": "<b>😀" * (size // 4)},
        {"content": "<br>" * (size // 4)},
    ]
    for fields in articles:
        with open("/proc/self/clear_refs", "w") as reset:
            reset.write("5")  # the peak starts again from here
        before = peak_mb()
        matcher.match(fields)
        print(peak_mb() - before)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux /proc")
def test_matching_a_10_mb_article_stays_under_300_mb() -> None:
    # A fresh process: the peak RSS (VmHWM), reset before each article, is its own.
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(REPO / "config/watchlists/libya.yaml")],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    growth = [float(line) for line in probe.stdout.split()]
    assert len(growth) == 5 and max(growth) < 300, growth


HOSTILE_MARKUP_PROBE = """
import html
from monitor.parse import parse_feed
from monitor.text import html_to_text, sentence_spans
size = 1_000_000
for fragment in ["<a " * (size // 3), '<div class="x" ' * (size // 15), "<!--" * (size // 4),
                 "</a " * (size // 4), "<!" * (size // 2), "\\n" * size,
                 "<p>Related</p>" * (size // 14), "<h3>Read more</h3><ul><li>x</li></ul>" * 9000]:
    print(len(html_to_text(fragment)))
for text in ["..." * (size // 3), "?!" * (size // 2), "\u3002" * size, ". " * (size // 2),
             "\u2026'" * (size // 2)]:
    print(len(sentence_spans(text)))
for content in ["<a " * (size // 3), "..." * (size // 3)]:
    body = ("<rss version='2.0'><channel><title>t</title><item><title>x</title><description>"
            + html.escape(content) + "</description></item></channel></rss>").encode()
    print(len(parse_feed(body, "http://127.0.0.1/f").entries))
"""


@pytest.mark.slow
def test_markup_that_never_closes_its_tags_is_read_in_linear_time() -> None:
    # HTMLParser looks for the end of an unclosed tag to the end of the input, once per "<":
    # a 1 MB content of "<a <a <a ..." took hours (one entry held a parse worker); so did
    # the duplicate-field test's tag regex, and the sentence regex on a run of dots.
    probe = subprocess.run(
        [sys.executable, "-c", HOSTILE_MARKUP_PROBE],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert len(probe.stdout.split()) == 15
