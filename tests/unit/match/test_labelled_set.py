"""Scores the shipped Libya watchlist on the hand-labelled set (tests/data/labelled) and checks
that the set itself is well formed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.match import Matcher
from monitor.match.watchlist_file import load_watchlist
from tests.unit.match.labelled import (
    CLASSES,
    ENTITIES,
    FIRST_LANGUAGES,
    LABELLED_DIR,
    LANGUAGES,
    WATCHLIST,
    LabelledArticle,
    LabelledSetError,
    evaluate,
    load_labelled,
)

THRESHOLD = 0.95
MIN_LINES = 200
MIN_LINES_PER_LANGUAGE = 30
MIN_POSITIVES_PER_ENTITY = 25


MULTI_DIR = LABELLED_DIR / "multi"
MIN_MULTI_LINES = 200
MIN_NEW_LANGUAGES = 6


@pytest.fixture(scope="module")
def labelled() -> list[LabelledArticle]:
    """The first set: the files directly in tests/data/labelled (en, ar, fr, it, traps)."""
    return load_labelled(LABELLED_DIR, recursive=False)


@pytest.fixture(scope="module")
def multi() -> list[LabelledArticle]:
    """The multilingual set by class (tests/data/labelled/multi)."""
    if not MULTI_DIR.is_dir():
        pytest.skip(f"{MULTI_DIR} is not there yet")
    return load_labelled(MULTI_DIR)


def test_every_id_is_unique_across_the_labelled_sets() -> None:
    ids = Counter(article.id for article in load_labelled(LABELLED_DIR))
    assert [key for key, count in ids.items() if count > 1] == []


def test_the_multilingual_set_covers_every_class_and_six_more_languages(
    multi: list[LabelledArticle],
) -> None:
    assert len(multi) >= MIN_MULTI_LINES
    assert all(article.klass in CLASSES for article in multi), "every line has a class"
    assert {article.klass for article in multi} == set(CLASSES)
    new_languages = {article.lang for article in multi} - set(FIRST_LANGUAGES)
    assert len(new_languages) >= MIN_NEW_LANGUAGES, new_languages
    assert {article.lang for article in multi} <= set(LANGUAGES)
    # Traps: lines where at least one entity is named in a form that must not count.
    negatives = sum(not any(article.expect.values()) for article in multi)
    assert negatives >= len(multi) // 5, f"{negatives} lines without any entity"


def test_set_is_large_and_varied_enough(labelled: list[LabelledArticle]) -> None:
    ids = Counter(article.id for article in labelled)
    assert [key for key, count in ids.items() if count > 1] == []
    assert len(labelled) >= MIN_LINES
    per_language = Counter(article.lang for article in labelled)
    assert set(per_language) == set(FIRST_LANGUAGES)
    assert all(per_language[lang] >= MIN_LINES_PER_LANGUAGE for lang in FIRST_LANGUAGES), (
        per_language
    )
    for entity in ENTITIES:
        positives = sum(article.expect[entity] for article in labelled)
        assert positives >= MIN_POSITIVES_PER_ENTITY, f"{entity}: {positives} positive lines"
        assert len(labelled) - positives >= MIN_POSITIVES_PER_ENTITY, f"{entity}: few negatives"


def test_every_line_labels_all_four_entities_and_has_a_title(
    labelled: list[LabelledArticle],
) -> None:
    for article in labelled:
        assert tuple(article.expect) == ENTITIES, article.source
        assert article.fields.get("title", "").strip(), article.source
        language_prefix = article.id.split("-", 1)[0]
        assert language_prefix in (article.lang, "trap"), f"{article.source}: id {article.id}"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('["a list"]', "JSON object"),
        ('{"id": "en-1", "lang": "en", "title": "t", "summary": "s"}', "missing keys"),
        (
            '{"id": "en-1", "lang": "xx", "title": "t", "summary": "s", "expect": {}}',
            "lang 'xx'",
        ),
        (
            '{"id": "en-1", "lang": "en", "title": "t", "summary": "s", "class": "misc", '
            '"expect": {"haftar": true, "lna": false, "gna": false, "tripoli": false}}',
            "class 'misc'",
        ),
        (
            '{"id": "en-1", "lang": "en", "title": "t", "summary": "s", '
            '"expect": {"haftar": true, "lna": false, "gna": false}}',
            "label exactly",
        ),
        (
            '{"id": "en-1", "lang": "en", "title": "t", "summary": "s", '
            '"expect": {"haftar": 1, "lna": false, "gna": false, "tripoli": false}}',
            "true or false",
        ),
        (
            '{"id": "en-1", "lang": "en", "title": "t", "summary": "s", "label": 1, '
            '"expect": {"haftar": true, "lna": false, "gna": false, "tripoli": false}}',
            "unknown keys",
        ),
    ],
)
def test_loader_rejects_malformed_lines_naming_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    good = (
        '{"id": "en-0", "lang": "en", "title": "t", "summary": "s", '
        '"expect": {"haftar": false, "lna": false, "gna": false, "tripoli": false}}'
    )
    (tmp_path / "set.jsonl").write_text(f"{good}\n{line}\n", encoding="utf-8")
    with pytest.raises(LabelledSetError, match=rf"set\.jsonl:2: .*{message}"):
        load_labelled(tmp_path)


@pytest.fixture(scope="module")
def shipped() -> Matcher:
    """The matcher of the shipped Libya watchlist, built once for the module."""
    return Matcher([load_watchlist(WATCHLIST)])


def test_shipped_watchlist_precision_and_recall(
    shipped: Matcher, labelled: list[LabelledArticle], capsys: pytest.CaptureFixture[str]
) -> None:
    evaluation = evaluate(shipped, labelled)
    with capsys.disabled():
        print(f"\n{evaluation.table()}\n")
    failing = evaluation.below(THRESHOLD)
    assert not failing, "\n".join([*failing, evaluation.table(), evaluation.misses_report()])


def test_shipped_watchlist_on_the_multilingual_set(
    shipped: Matcher, multi: list[LabelledArticle], capsys: pytest.CaptureFixture[str]
) -> None:
    """Per entity over the whole multilingual set; the table also shows each language and
    class."""
    evaluation = evaluate(shipped, multi)
    with capsys.disabled():
        print(f"\nmultilingual set:\n{evaluation.table()}\n")
    failing = evaluation.below(THRESHOLD)
    assert not failing, "\n".join([*failing, evaluation.table(), evaluation.misses_report()])


Known = frozenset[tuple[str, str, str]]
"""(article id, entity, FN or FP) of the misses a set is known to have."""


@dataclass(frozen=True)
class HeldOutSet:
    """A set written blind by someone who had seen neither the watchlist nor the matcher
    (its README under tests/data says how, what it scored as written and what is left)."""

    folder: str
    lines: int  # at least this many (exactly, where ``exact``)
    floor: float = THRESHOLD  # every entity's precision and recall at least this
    known: Known | None = None  # else: exactly these misses, any other fails
    exact: bool = False


HELD_OUT = [
    # The first, by someone who had not seen the watchlist nor the first set.
    HeldOutSet("heldout", 150),
    # Issue 11's set: ten languages, for the classes of docs/matching.md.
    HeldOutSet("heldout2", 200),
    # Ten more languages (Chinese, Japanese, Korean, Hebrew, Ukrainian, Persian, Hindi,
    # Indonesian, Vietnamese, Swahili): scripts that mark words differently.
    HeldOutSet("heldout3", 150),
    # Page structure, social text, typos, look-alikes, lists, links, quotes. Its misses are
    # classes the matcher does not handle (compound hashtags, names split by OCR;
    # docs/matching.md, "Known limits"): it guards what it gets right.
    HeldOutSet("heldout4", 120, floor=0.88),
    # Everyday wire copy of late 2026 in six languages.
    HeldOutSet("heldout5", 80, floor=0.93),
    # Long-form feed content in seven languages (bylines, captions, tables, boxes, footers).
    HeldOutSet("heldout6", 80, floor=0.88),
    # Aggregator and bridge feeds (Google News, Reddit, X/Telegram bridges, podcasts).
    HeldOutSet("heldout7", 80, floor=0.88),
    # Headline-only and ticker feeds in ten languages (flashes in capitals, cut headlines).
    HeldOutSet("heldout8", 100, floor=0.88),
    # Hard cases by class in eight languages.
    HeldOutSet("heldout9", 150),
    # Classes in fourteen languages.
    HeldOutSet("heldout10", 200),
    # Feed content as feeds deliver it. Two tag-list items stay misses on purpose: the
    # writer does not count a tag list, the product does.
    HeldOutSet("heldout11", 140),
    # New scripts, social text and domains with traps.
    HeldOutSet("heldout12", 200, floor=0.9),
    # Genres and text shapes: 1.00 as written but for one miss, fixed since.
    HeldOutSet("heldout13", 110),
    # A watchlist's hard cases in 12 languages: 127 of 130 as written.
    HeldOutSet("heldout14", 130, floor=0.99, exact=True),
    # Real-feed text shapes (transliterations, scripts, glued names, decoys): 108 of 109.
    HeldOutSet("heldout15", 109, floor=0.99, exact=True),
    # Text as feeds deliver it (markup residue, invisible and lookalike characters, line
    # breaks inside names, case endings in 14 languages): 185 of 214 as written.
    HeldOutSet(
        "heldout16",
        214,
        exact=True,
        known=frozenset(
            {
                ("h16-009", "tripoli", "FN"),  # mojibake published as such
                ("h16-012", "haftar", "FN"),  # only in an <img alt>
                ("h16-033", "lna", "FN"),  # "Liby-" / "an National Army": several words
                ("h16-034", "gna", "FN"),  # "Govern-" / "ment of National Accord"
            }
        ),
    ),
    # Genres and forms (transcripts, UN documents with footnote markers, file names, dotted
    # acronyms, script variants, African languages, Tamazight): 164 of 195 as written.
    HeldOutSet(
        "heldout17",
        195,
        exact=True,
        known=frozenset(
            {
                ("h17-010", "lna", "FN"),  # "l n a" in lower-case captions
                ("h17-012", "lna", "FN"),  # machine translation: "Army National Libyan"
                ("h17-013", "gna", "FN"),
                ("h17-015", "lna", "FN"),
                ("h17-017", "gna", "FN"),
            }
        ),
    ),
    # Shapes of news items (roundups, live blogs, two-country articles, quotation marks of
    # other scripts, Asian and African languages, glued tokens, decoys): 186 of 207 as written.
    HeldOutSet(
        "heldout18",
        207,
        exact=True,
        known=frozenset(
            {
                # Lebanon's or Greece's Tripoli in an article that names Libya elsewhere,
                # with no context word near the only Tripoli (a headline, a byline).
                *(
                    (f"h18-{number}", "tripoli", "FP")
                    for number in ("016", "029", "053", "055", "058", "063", "070")
                ),
                ("h18-064", "tripoli", "FN"),  # "Beirut and Tripoli restore ties"
                ("h18-147", "tripoli", "FP"),  # a Lebanese flag emoji the only context
                ("h18-124", "gna", "FP"),  # Korean 통합정부: the watchlist's choice
            }
        ),
    ),
    # Layout: datelines, table cells, headings, both Tripolis, <br> inside names and
    # sentences, roundups: 179 of 205 as written.
    HeldOutSet(
        "heldout19",
        205,
        exact=True,
        known=frozenset(
            {
                ("h19-078", "tripoli", "FN"),  # one "Tripoli" standing for both cities
                ("h19-099", "gna", "FN"),  # a Libyan GNA coastguard beside Ghana
                ("h19-104", "tripoli", "FP"),  # a Lebanese poet called Libyan-born
                ("h19-144", "gna", "FP"),  # Yemen's 2011 government, in English
                # names of several words broken by <br> in short lines (a wrapped line of
                # running text is read across since heldout51: h19-119, h19-173)
                ("h19-108", "lna", "FN"),
                ("h19-109", "gna", "FN"),
                ("h19-122", "haftar", "FP"),  # a son's full name broken by <br>
                ("h19-180", "lna", "FN"),
            }
        ),
    ),
    # One day of a general news wire at real base rates (a quarter about Libya, no trap
    # written on purpose): 218 of 221 as written.
    HeldOutSet("heldout20", 221, exact=True, known=frozenset()),
    # One day of Arabic and French feeds of a Maghreb desk at real base rates: 196 of 198.
    HeldOutSet("heldout21", 198, exact=True, known=frozenset()),
    # One day of Italian and Turkish feeds at real base rates: 154 of 155 as written.
    HeldOutSet(
        "heldout22",
        155,
        exact=True,
        # A headline "LUO sözcüsü: ..." with no word of Libya: LUO is conditional.
        known=frozenset({("h22-109", "lna", "FN")}),
    ),
    # Where Libya and Lebanon meet (Hannibal Gaddafi, the Sadr affair, Beirut-Tripoli
    # flights): 63 of 83 as written, 70 since places only Libya's capital has (Mitiga, Souq
    # al-Juma), its governments near the name and "the Tripoli airport road" count; a known
    # weak class
    # (tests/data/heldout23/README.md): Lebanese words near Libya's Tripoli drop it, Libya
    # named beside Lebanon's keeps it.
    HeldOutSet(
        "heldout23",
        83,
        exact=True,
        known=frozenset(
            {
                *(
                    (f"h23-{n}", "tripoli", "FN")
                    for n in (
                        "014",
                        "019",
                        "021",
                        "024",
                        "033",
                        "052",
                        "058",
                        "064",
                    )
                ),
                *((f"h23-{n}", "tripoli", "FP") for n in ("012", "018", "034", "038", "080")),
            }
        ),
    ),
    # A week of news naming a Tripoli at its base rates: 94 of 100 as written, the misses one
    # class (a sense said once, "TRIPOLI, Lebanon", then the bare name again; README).
    HeldOutSet(
        "heldout24",
        100,
        exact=True,
        known=frozenset(
            {
                ("h24-053", "tripoli", "FN"),
                # h24-026 fixed (2026-12-07: an excluded phrase carries its sense).
                *((f"h24-{n}", "tripoli", "FP") for n in ("052", "082", "094")),
            }
        ),
    ),
    # One day of the foreign press on North Africa at base rates (de, es, ru, en, pt, nl),
    # written blind: 145 of 150 as written; all five misses fixed in the watchlist (README).
    HeldOutSet("heldout25", 150, exact=True, known=frozenset()),
    # One day of Libya's own outlets (English, Arabic), written blind: 149 of 150 as written;
    # the miss is the known class of a sense said in another field (README).
    HeldOutSet("heldout26", 150, exact=True, known=frozenset({("h26-039", "tripoli", "FP")})),
    # Outlets where the watched words mostly mean something else (Lebanese, Greek, Ghanaian,
    # US local, Jewish calendars, trade press), written blind: 138 of 150 as written; 10
    # fixed in the watchlist (README). Left: a US town's Tripoli with no state named.
    HeldOutSet(
        "heldout27",
        150,
        exact=True,
        known=frozenset(
            {
                ("h27-141", "tripoli", "FP"),
                ("h27-148", "tripoli", "FP"),
            }
        ),
    ),
    # What aggregators and re-publishers put in feeds (Google-News clusters, cut snippets,
    # digests, posts), written blind: 138 of 150 as written; 2 fixed (README). Left: 8 where
    # this writer, unlike heldout7's and heldout11's, takes a cluster's other headlines for
    # other articles (the matcher reads them as the item's story, as those two do), and 2
    # names inside an @handle.
    HeldOutSet(
        "heldout28",
        150,
        exact=True,
        known=frozenset(
            {
                ("h28-002", "tripoli", "FP"),
                ("h28-008", "gna", "FP"),
                ("h28-008", "tripoli", "FP"),
                ("h28-010", "haftar", "FP"),
                ("h28-016", "haftar", "FP"),
                ("h28-016", "tripoli", "FP"),
                ("h28-101", "haftar", "FP"),
                ("h28-113", "haftar", "FP"),
                ("h28-053", "lna", "FP"),
                ("h28-061", "haftar", "FP"),
            }
        ),
    ),
    # Telegram and Facebook posts through RSS bridges, in Libyan dialect and Arabizi,
    # written blind: 135 of 150 as written; 13 fixed (README). Left: the bare "الوفاق" for
    # the GNA (a common noun, "accord", in every other use).
    HeldOutSet(
        "heldout29",
        150,
        exact=True,
        known=frozenset({("h29-035", "gna", "FN"), ("h29-055", "gna", "FN")}),
    ),
    # The Maghreb and Sahel press on its neighbour (fr, ar, en), written blind: 142 of 150
    # as written; all eight fixed (README).
    HeldOutSet("heldout30", 150, exact=True, known=frozenset()),
    # Reports, briefs and glossaries (en, fr, it, ar), written blind: 118 of 120 as written;
    # both fixed (README).
    HeldOutSet("heldout31", 120, exact=True, known=frozenset()),
    # Turkish, Russian and Ukrainian media, written blind: 112 of 120 as written; 7 fixed
    # (README). A namesake's story that names Libya ("Kerem Hafter: ... Libya sorusu") fixed
    # with heldout69: a namesake's bare surname is theirs unless the marshal is named.
    HeldOutSet("heldout32", 120, exact=True, known=frozenset()),
    # Italian and Maltese outlets, written blind: 118 of 120 as written; "governo di intesa
    # nazionale" fixed (README). Left: a title naming both Tripolis beside Libia and Libano.
    HeldOutSet("heldout33", 120, exact=True, known=frozenset({("h33-075", "tripoli", "FN")})),
    # German, Dutch and Nordic outlets, written blind: 103 of 120 as written; Dutch, Swedish,
    # Finnish and Greek related-link labels, names and namesakes fixed (README). Left: a Swiss
    # firm "GNA ...", "Haftars Nationalarmee", and the German "Einheitsregierung" of al-Sarraj
    # (earlier blind labellers judged it a description).
    HeldOutSet(
        "heldout34",
        120,
        exact=True,
        known=frozenset(
            {
                ("h34-017", "gna", "FP"),
                ("h34-026", "lna", "FN"),
                ("h34-062", "gna", "FN"),
                ("h34-095", "gna", "FN"),
            }
        ),
    ),
    # Greek, Cypriot and Egyptian outlets, written blind: 114 of 120 as written; all six fixed.
    HeldOutSet("heldout35", 120, exact=True, known=frozenset()),
    # Spanish, Portuguese and Latin American outlets, written blind: 112 of 120 as written.
    # All eight fixed (a Libyan cargo ship named "Tripoli" by heldout37's ship words).
    HeldOutSet("heldout36", 120, exact=True, known=frozenset()),
    # Energy and shipping trade press, written blind: 116 of 120 as written; tankers named
    # Tripoli, "GNA Tankers", CMA CGM's ANL fixed (README). Left: a Libyan tanker "MT Tripoli"
    # in the title makes the body's "headquartered in Tripoli" the ship's (one sense).
    HeldOutSet("heldout37", 120, exact=True, known=frozenset({("h37-032", "tripoli", "FN")})),
    # Humanitarian and human-rights updates (sitreps, UN and NGO releases, glossaries), written
    # blind: 119 of 120 as written. Left: a French text that spells out "gouvernement d'unité
    # nationale (GUN)" (the GNU) beside "Le GUN", which French papers wrote for the GNA.
    HeldOutSet("heldout38", 120, exact=True, known=frozenset({("h38-094", "gna", "FP")})),
    # Video and podcast feed items, written blind: 105 of 120 as written; related lists of
    # video feeds ("More episodes", "Related videos" with marked lines, "À voir aussi"), a
    # rapper, a DJ and a game's boss of the names fixed (README). Left: @handles (labellers
    # disagree: heldout4 and heldout18 count the entity's own account, heldout28 and this
    # set do not), and a content that is only a related line (kept when nothing else is).
    HeldOutSet(
        "heldout39",
        120,
        exact=True,
        known=frozenset(
            {
                ("h39-019", "haftar", "FP"),
                ("h39-019", "lna", "FP"),
                ("h39-091", "haftar", "FP"),
            }
        ),
    ),
    # Sports press, written blind: 112 of 120 as written; Swiss LNA beside a Libyan player, a
    # racehorse and a greyhound, "GNA University", Yemen's government fixed (README). Left:
    # "derby tripolino" (the watchlist counts the city's people, "i tripolini").
    HeldOutSet("heldout40", 120, exact=True, known=frozenset({("h40-111", "tripoli", "FP")})),
    # Wire-desk formats (slugs, URGENT lines, update notes, captions), written blind: 117 of
    # 120 as written; "(For related coverage, see SLUG)" and a dateline "TRIPOLI, Lebanon"
    # under a bare headline Tripoli fixed (README).
    HeldOutSet("heldout41", 120, exact=True, known=frozenset()),
    # Asian and Middle Eastern English-language outlets, written blind: 115 of 120 as written;
    # all five fixed ("al-Wefaq government", "GNA Co.", "GNA Perera", a "Most Read" box,
    # "Rana Haftar").
    HeldOutSet("heldout43", 120, exact=True, known=frozenset()),
    # Opinion and long-form items (up to 2,500 words), written blind: 119 of 120 as written;
    # the Arabic "اقرأ أيضًا" (tanween before the alif) fixed.
    HeldOutSet("heldout44", 120, exact=True, known=frozenset()),
    # Transliterations, machine translation, OCR and auto-captions, written blind: 103 of 120
    # as written. Fixed: namesakes ("Councilwoman Hafter", given names Marjorie, Claire,
    # Nico, Selim), tickers and airport codes ("NYSE: LNA", "IATA: GNA"), "National Libyan
    # Army", "Haftarovtsy", Arabic "حكومة الاتفاق الوطني". Left: translations of the GNA's
    # name the watchlist does not know ("Accord Government", "government of the national
    # reconciliation", "réconciliation nationale", Italian "governo di unità nazionale" for
    # Sarraj's), an AI summary's wrong spelling-out of LNA, a scrambled "Armed Forces Arab
    # Libyan", the Arabic short "الجيش الوطني", a product named Hafter.
    HeldOutSet(
        "heldout45",
        120,
        exact=True,
        known=frozenset(
            {
                ("h45-001", "gna", "FN"),
                ("h45-004", "gna", "FN"),
                ("h45-023", "lna", "FN"),
                ("h45-029", "lna", "FN"),
                ("h45-069", "haftar", "FP"),
                ("h45-080", "gna", "FN"),
                ("h45-092", "gna", "FN"),
                ("h45-116", "lna", "FN"),
            }
        ),
    ),
    # Business, markets and economy, written blind: 115 of 120 as written. Fixed:
    # "Tripolis Shipping"; later (heldout50's market words) an LNA among a table's tickers.
    # Left: an accounting abbreviation explained after it ("abbreviate goodwill net of
    # amortisation as GNA"), a fund named "Tripoli Point Capital", a calendar naming both
    # Tripolis in rows.
    HeldOutSet(
        "heldout46",
        120,
        exact=True,
        known=frozenset(
            {
                ("h46-031", "tripoli", "FN"),
                ("h46-053", "tripoli", "FP"),
                ("h46-078", "gna", "FP"),
            }
        ),
    ),
    # Spanish and Portuguese look-alikes, written blind: 115 of 120 as written, 4 fixed with
    # words; left: "Governo de União Nacional" for Sarraj's government.
    HeldOutSet("heldout85", 120, exact=True, known=frozenset({("h85-072", "gna", "FN")})),
    # Chinese, Japanese and Korean look-alikes, written blind: 108 of 120 as written, all 12
    # fixed with words (transliteration variants, other unity governments, other senses).
    HeldOutSet("heldout86", 120, exact=True, known=frozenset()),
    # Turkish, Russian, Greek and German look-alikes, written blind: 115 of 120 as written,
    # 5 fixed with words; left: the German "Einheitsregierung" as the GNA.
    HeldOutSet("heldout84", 120, exact=True, known=frozenset({("h84-096", "gna", "FN")})),
    # French and Italian look-alikes, written blind: 108 of 120 as written, 9 fixed (words;
    # one sense per brief of a digest); left: a restaurant and a street of the name beside
    # the city, a three-line bulletin.
    HeldOutSet(
        "heldout83",
        120,
        exact=True,
        known=frozenset(
            {
                ("h83-063", "tripoli", "FN"),
                ("h83-088", "tripoli", "FN"),
                ("h83-093", "lna", "FN"),
            }
        ),
    ),
    # English look-alikes of the watched words, written blind: 108 of 120 as written, 9
    # fixed (acronyms defined with a compound word, an airport's code, a hyphenated name;
    # a dateline naming another Tripoli); left: "Tripolitan", a small-caps "gna", an article
    # using LNA in both senses.
    HeldOutSet(
        "heldout82",
        120,
        exact=True,
        known=frozenset(
            {
                ("h82-068", "tripoli", "FP"),
                ("h82-085", "gna", "FN"),
                ("h82-097", "lna", "FN"),
            }
        ),
    ),
    # The Arabic-language press in all its written forms (and Persian, Urdu), written blind:
    # 110 of 120 as written, 7 fixed ("لصالح حفتر", the nisba, أطرابلس, a Tunisian street, a
    # ship, a company, Urdu); left: names split after a short line, "الجيش الوطني" alone.
    HeldOutSet(
        "heldout81",
        120,
        exact=True,
        known=frozenset(
            {
                ("h81-033", "lna", "FN"),
                ("h81-056", "lna", "FN"),
                ("h81-080", "lna", "FN"),
            }
        ),
    ),
    # Newsletters, digests and round-ups, written blind: 115 of 120 as written, 4 of the 5
    # misses fixed (a digest's other briefs neither exclude nor lift a mention); left: a
    # three-line Shabbat digest's "haftarot" beside "Libya".
    HeldOutSet("heldout80", 120, exact=True, known=frozenset({("h80-040", "haftar", "FP")})),
    # Libya's politics in the German, Spanish, Portuguese, Russian, Turkish and Chinese
    # press, written blind: 112 of 120 as written, all 9 misses fixed (the sons' spellings,
    # the LAAF in Chinese, "E.N.L.", namesakes' given names, other senses in Chinese).
    HeldOutSet("heldout79", 120, exact=True, known=frozenset()),
    # Code-switched and bilingual items (Arabic with Latin acronyms, French with Arabic
    # script, Turkish, Italian), written blind: 114 of 120 as written, 5 of the 6 misses
    # fixed (Greece in Arabic, an Arabic restaurant, an Italian cruiser and a Turkish street
    # of the name, "libyennes"); left: a namesake "no relation to the field marshal".
    HeldOutSet("heldout78", 120, exact=True, known=frozenset({("h78-026", "haftar", "FP")})),
    # Libya's own politics and its near misses, written blind: 117 of 120 as written, 2 of
    # the 3 misses fixed (Yemen's accord government "في اليمن", an acronym whose expansion
    # ends in a place it leaves out); left: a Lebanese dateline against "Libyan" nearby.
    HeldOutSet("heldout77", 120, exact=True, known=frozenset({("h77-030", "tripoli", "FP")})),
    # The regional presses of South Asia (Maithili to Dzongkha, eight scripts), written
    # blind: 96 of 120 as written, all 28 misses fixed (endings after Ol Chiki, Meetei
    # Mayek and Syloti Nagri names; the names in these scripts and spellings).
    HeldOutSet("heldout76", 120, exact=True, known=frozenset()),
    # The minority and regional presses of Southeast Asia and the Pacific (Hmong to
    # Acehnese), written blind: 112 of 120 as written, all 9 misses fixed (the names in
    # Karen, Shan and Mon, the army's Tetum name, a son in Shan).
    HeldOutSet("heldout75", 120, exact=True, known=frozenset()),
    # The minority presses of the Caucasus, the Black Sea and Iran (Gagauz to Laz), written
    # blind: 97 of 120 as written, 24 of the 25 misses fixed (case endings in nine of the
    # languages, Gilaki's genitive mark, a namesake's surname with an ending); left: a
    # Talysh ending after a zero-width non-joiner.
    HeldOutSet(
        "heldout73",
        120,
        exact=True,
        known=frozenset({("h73-085", "tripoli", "FN")}),
    ),
    # The presses of Sudan, Chad, Darfur and the Horn in twelve of their languages (Zaghawa
    # to Kanembu), written blind: 98 of 120 as written, all 24 misses fixed (the names'
    # endings, Dinka and Nuer spellings, Old Nubian and Tigre; Sudan's and Chad's own unity
    # and accord governments).
    HeldOutSet("heldout74", 120, exact=True, known=frozenset()),
    # The Amazigh and vernacular Arabic presses (Kabyle to Tunisian Derja, Latin, Tifinagh,
    # Arabic script and Arabizi), written blind: 100 of 120 as written, 20 of the 21 misses
    # fixed (an acronym not in capitals is a word in Arabizi; Amazigh names); left: Egyptian
    # Franco's "Haftar" ("I'll have iftar") standing alone and capitalised.
    HeldOutSet(
        "heldout72",
        120,
        exact=True,
        known=frozenset({("h72-093", "haftar", "FP")}),
    ),
    # The indigenous presses of the Americas and the Alpine and Arctic presses (Quechua to
    # Greenlandic), written blind: 109 of 120 as written, all 12 misses fixed (case endings
    # of the two names, Lebanon in Greenlandic, the polishing powder, a Friulian recipe).
    HeldOutSet("heldout71", 120, exact=True, known=frozenset()),
    # The presses of Russia's minority languages (Avar to Udmurt), written blind: 85 of 120
    # as written, 30 of the 35 misses fixed (case endings of the two names); left: a son's
    # bare surname (labelled the son's here, the marshal's by heldout19 and 21), two
    # sportsmen "Хафтер" named by the surname alone.
    HeldOutSet(
        "heldout70",
        120,
        exact=True,
        known=frozenset(
            {
                ("h70-009", "haftar", "FP"),
                ("h70-024", "haftar", "FP"),
                ("h70-058", "haftar", "FP"),
                ("h70-084", "haftar", "FP"),
                ("h70-096", "haftar", "FP"),
            }
        ),
    ),
    # The presses of East and Southern Africa and the Pacific in twelve languages, written
    # blind: 97 of 120 as written, 22 of the 23 misses fixed (the army's and government's
    # names; a namesake's bare surname where Libya is named but not the marshal); left: the
    # Tswana "le Tripoli" ("and Tripoli"), read as the French article of a venue's name.
    HeldOutSet(
        "heldout69",
        120,
        exact=True,
        known=frozenset({("h69-001", "tripoli", "FN")}),
    ),
    # The presses of the Sahel and Libya's southern neighbours in twelve languages (Tamasheq
    # in two scripts to Kirundi), written blind: 102 of 120 as written, 16 of the 18 misses
    # fixed (Tifinagh, Kanuri's endings, Libya's southern towns beside Chad); left: two
    # unity governments of other countries named as the GNA is.
    HeldOutSet(
        "heldout68",
        120,
        exact=True,
        known=frozenset({("h68-040", "gna", "FP"), ("h68-096", "gna", "FP")}),
    ),
    # Europe's smaller presses in twelve languages (Scottish Gaelic to Romani), written
    # blind: 88 of 120 as written, 31 of the 32 misses fixed (the names of the army and the
    # government, Sicilian and Corsican "Tripuli", the pasta tripolini by its dishes, a
    # fishing boat and a chef of the name); left: the Occitan "Trípol".
    HeldOutSet(
        "heldout67",
        120,
        exact=True,
        known=frozenset({("h67-021", "tripoli", "FN")}),
    ),
    # The presses of Asia, the Pacific and the Volga in twelve languages (Lao, Tibetan,
    # Syriac ...), written blind: 80 of 120 as written, all 40 misses fixed (Syriac's
    # proclitics, Tibetan's case particles joined to a name, the names in these scripts).
    HeldOutSet("heldout66", 120, exact=True, known=frozenset()),
    # The presses of Africa, the Indian Ocean and Haiti in twelve languages, written blind:
    # 97 of 120 as written, all 23 misses fixed by class (Bantu prefixes joined to a
    # capitalised name, Dhivehi's endings; two namesakes' bare surname in articles that name
    # Libya, with heldout69).
    HeldOutSet("heldout65", 120, exact=True, known=frozenset()),
    # European regional and minority presses in twelve languages, written blind: 89 of 120
    # as written, all 31 misses fixed by class (Welsh and Breton mutations, Irish eclipsis,
    # the names in Belarusian, Esperanto, Latin, Yiddish; ships of the name).
    HeldOutSet("heldout64", 120, exact=True, known=frozenset()),
    # The presses of migrant workers' countries in twelve languages, written blind: 85 of
    # 120 as written, all 35 misses fixed by class (names in six more scripts; "هوائي",
    # "air" as much as "antenna", no longer drops the army's Arabic-script name).
    HeldOutSet("heldout63", 120, exact=True, known=frozenset()),
    # Central Asian and Persianate presses in twelve languages, written blind: 66 of 120 as
    # written, all 54 misses fixed by class (local names, case endings, sons, other Tripolis).
    HeldOutSet("heldout62", 120, exact=True, known=frozenset()),
    # South Asian, Southeast Asian and African presses in twelve languages, written blind:
    # 76 of 120 as written, all 44 misses fixed by class (endings joined to names in the
    # scripts of India; the names in these scripts; Zulu's prefixes).
    HeldOutSet("heldout61", 120, exact=True, known=frozenset()),
    # Smaller presses in twelve languages (Albanian to Icelandic, Georgian and Armenian
    # scripts), written blind: 92 of 120 as written, all 28 misses fixed by class.
    HeldOutSet("heldout60", 120, exact=True, known=frozenset()),
    # The Central and East European press in nine languages, written blind: 91 of 120 as
    # written, 27 of the 29 misses fixed by class (case forms and adjectives, the local names
    # of the army and the government, an acronym spelled out with another language's
    # accents); left: the city's adjective in Polish and, in lower case, in Hungarian.
    HeldOutSet(
        "heldout59",
        120,
        exact=True,
        known=frozenset({("h59-008", "tripoli", "FN"), ("h59-048", "tripoli", "FN")}),
    ),
    # Notices (vacancies, tenders, advisories, listings), written blind: 114 of 120 as
    # written, five fixed by class; the sixth, a vessel "TRIPOLI STAR" on a sanctions list,
    # when heldout81 had a ship of that name too ("Star" after the name, 2026-12-08).
    HeldOutSet("heldout58", 120, exact=True, known=frozenset()),
    # The press of Libya's southern neighbours and West Africa, written blind: 117 of 120
    # as written, all three fixed by class (a Ghanaian namesake, "Source: GNA", Chad's
    # "gouvernement d'union nationale").
    HeldOutSet("heldout57", 120, exact=True, known=frozenset()),
    # Timelines, explainers, who's who and reference pages, written blind: 119 of 120 as
    # written; the miss fixed by class (the abrasive "tripoli" in a page about it).
    HeldOutSet("heldout56", 120, exact=True, known=frozenset()),
    # Fact-checks, debunks, corrections and retractions, written blind: 118 of 120 as
    # written, both fixed by class (an acronym named by the appositive after it: "l'ANL,
    # l'Association nationale des locataires,").
    HeldOutSet("heldout55", 120, exact=True, known=frozenset()),
    # The press in non-Latin scripts (Chinese, Japanese, Korean, Persian, Hebrew, Hindi,
    # Russian, Ukrainian, Greek, Bulgarian, Serbian, Urdu), written blind: 114 of 120 as
    # written, all six fixed by class (forms of the languages the watchlist lacked).
    HeldOutSet("heldout53", 120, exact=True, known=frozenset()),
    # Breaking news in its shortest forms (push alerts, live-blog lines, tickers, social
    # cards, headlines in capitals), written blind: 119 of 120 as written; the one miss
    # fixed by class (the Swiss ice-hockey league "LNA" beside its sport's words).
    HeldOutSet("heldout54", 120, exact=True, known=frozenset()),
    # Community, local and people pages (obituaries, classifieds, care-home newsletters,
    # diaspora), written blind: 111 of 120 as written. Fixed by class: common English,
    # French and German given names of the surname Hafter ("Jenna Hafter", "Mme Jeanne
    # HAFTER"), a gym named GNA (shops and trades after the letters). Left: Tripoli, Iowa
    # and New Tripoli, Pennsylvania (an obituary, a school board, a fire company: the
    # Iowa town's name kept beside its other Tripolis in one field), a steamer "the Tripoli".
    HeldOutSet(
        "heldout52",
        120,
        exact=True,
        known=frozenset(
            {
                ("h52-001", "tripoli", "FP"),
                ("h52-070", "tripoli", "FP"),
                ("h52-071", "tripoli", "FP"),
                ("h52-073", "tripoli", "FP"),
            }
        ),
    ),
    # Parliamentary records and government briefings, written blind: 113 of 120 as written.
    # Fixed by class: acronyms named by an appositive ("a literacy and numeracy assessment,
    # the LNA,") or by a name in capitals elsewhere ("Local Nature Areas" ... "the LNA
    # Bill"), names wrapped across a line of running text ("Government of National<br>
    # Accord"), given names of the surname Hafter ("Mrs Eleanor Hafter", "M. Jean Hafter").
    # Left: Rome's "via Tripoli" beside "viale Libia" (the street's neighbour keeps it).
    HeldOutSet(
        "heldout51",
        120,
        exact=True,
        known=frozenset({("h51-101", "tripoli", "FP")}),
    ),
    # Machine-made bulletins and data feeds (NOTAMs, AIS, tickers, scores), written blind:
    # 112 of 120 as written, all eight fixed by class (stock lists and market words, a call
    # sign, an airport's code; the LNA no longer kept beside "GNA" alone, which the tickers
    # pair too, only beside its forces).
    HeldOutSet("heldout50", 120, exact=True, known=frozenset()),
    # Culture, history, books, film and travel, written blind: 105 of 120 as written, all
    # fifteen fixed by class (works, venues and horses named Tripoli, "Le Tripoli", the 1940s
    # Senussi "Libyan National Army", given names of the surname Hafter, Libya's regions).
    HeldOutSet("heldout49", 120, exact=True, known=frozenset()),
    # Science, technology and health press, written blind: 115 of 120 as written, all five
    # fixed by class (GNA among nucleic acids in French and antennas, the LNA beside its
    # forces, given names of the surname Hafter, "University of Tripoli").
    HeldOutSet("heldout48", 120, exact=True, known=frozenset()),
    # Defence, military and security press, written blind: 111 of 120 as written. Fixed: LNA
    # in satellite and radar front-end copy, ships named Tripoli ("cargo ship Tripoli", the
    # Arabic gloss of USS Tripoli), Tripoli followed by a Lebanese district or a gear maker's
    # word; a radar engineer named Hafter in an article whose "LNA" is an amplifier (the
    # namesake rule no longer yields to the ambiguous letters). Left: a naval roundup whose
    # USS Tripoli makes its Libyan "in Tripoli" one sense with it (across fields), an Iranian
    # general "Haftari" (the Turkish accusative without its apostrophe).
    HeldOutSet(
        "heldout47",
        120,
        exact=True,
        known=frozenset(
            {
                ("h47-018", "tripoli", "FN"),
                ("h47-057", "haftar", "FP"),
            }
        ),
    ),
    # Legal, court and sanctions items, written blind: 116 of 120 as written; a "Good Neighbor
    # Agreement" (GNA) fixed. Left: a sanctions entry in list order for a son ("HAFTAR, Saddam
    # Khalifa": the order cannot be told from a sentence's "di Haftar, Saddam"), law firms'
    # initials "GNA and LNA" spelled out only in the summary.
    HeldOutSet(
        "heldout42",
        120,
        exact=True,
        known=frozenset(
            {
                ("h42-003", "haftar", "FP"),
                ("h42-022", "gna", "FP"),
                ("h42-022", "lna", "FP"),
            }
        ),
    ),
]


@pytest.mark.parametrize("held_out", HELD_OUT, ids=lambda held_out: held_out.folder)
def test_shipped_watchlist_on_a_held_out_set(
    shipped: Matcher, held_out: HeldOutSet, capsys: pytest.CaptureFixture[str]
) -> None:
    articles = load_labelled(LABELLED_DIR.parent / held_out.folder)
    if held_out.exact:
        assert len(articles) == held_out.lines
    else:
        assert len(articles) >= held_out.lines
    assert len({article.id for article in articles}) == len(articles)
    evaluation = evaluate(shipped, articles)
    with capsys.disabled():
        print(f"\n{held_out.folder}:\n{evaluation.table()}\n")
    if held_out.known is not None:
        left = {(miss.article_id, miss.entity, miss.kind) for miss in evaluation.misses}
        assert left == held_out.known, evaluation.misses_report()
    else:
        failing = evaluation.below(held_out.floor)
        assert not failing, "\n".join([*failing, evaluation.table(), evaluation.misses_report()])
