"""The classes of the multilingual issue, each with positives and traps: the general
watchlist features (on small watchlists of their own) and the shipped Libya list.

Classes: languages and scripts, derived forms, family members and namesakes (a longer
alias consumes its span), other places and things of the same name, abbreviations and
one-case headlines, HTML entities."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest

from monitor.errors import ConfigError
from monitor.match import Matcher, Watchlist

WriteWatchlist = Callable[..., Watchlist]


def entities_in(matcher: Matcher, **fields: str) -> set[str]:
    return {mention.entity for mention in matcher.match(fields).mentions}


def found(watchlist: Watchlist, **fields: str) -> list[tuple[str, str]]:
    return [(m.entity, m.text) for m in Matcher([watchlist]).match(fields).mentions]


# --- languages and scripts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Hafter'in güçleri Trablus'a ilerledi.", "haftar"),
        ("HAFTER'İN güçleri geri çekildi.", "haftar"),
        ("Trablus'ta çatışmalar başladı.", "tripoli"),
        ("Libya Ulusal Ordusu'na bağlı birlikler.", "lna"),
        ("Ulusal Mutabakat Hükümeti'nin askerleri.", "gna"),
        ("Хафтар прибыл в Москву.", "haftar"),
        ("Делегация Хафтара прибыла.", "haftar"),
        ("Встреча с Хафтаром прошла.", "haftar"),
        ("Представители Ливийской национальной армии.", "lna"),
        ("Силы ЛНА продвинулись.", "lna"),
        ("Правительством национального согласия руководил Сарадж.", "gna"),
        ("Бои в Триполи продолжаются.", "tripoli"),
        ("Combates en Trípoli.", "tripoli"),
        ("El Ejército Nacional Libio avanzó.", "lna"),
        ("O Governo de Acordo Nacional rejeitou.", "gna"),
        ("Die Libyschen Nationalarmee unterstellten Milizen.", "lna"),
        ("Haftars Truppen rückten vor.", "haftar"),
        ("Ο Χαφτάρ επισκέφθηκε την Αθήνα.", "haftar"),
        ("Ο Λιβυκός Εθνικός Στρατός προέλασε.", "lna"),
        ("Η Κυβέρνηση Εθνικής Συμφωνίας αντέδρασε.", "gna"),
    ],
)
def test_the_added_languages_name_the_entities(
    libya_matcher: Matcher, text: str, entity: str
) -> None:
    assert entity in entities_in(libya_matcher, content=text)


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Lübnan'ın Trablus kentinde gösteriler.", "tripoli"),
        ("Trablusşam'da gösteriler sürüyor.", "tripoli"),
        ("Протесты в ливанском Триполи.", "tripoli"),
        ("Νέα πλατεία στην Τρίπολη Αρκαδίας.", "tripoli"),
        ("Νέα πλατεία εγκαινιάστηκε στην Τρίπολη.", "tripoli"),
        ("Ulusal Birlik Hükümeti seçim tarihini açıkladı.", "gna"),
        ("Правительство национального единства Ливии.", "gna"),
        ("El Gobierno de Unidad Nacional de Libia.", "gna"),
        ("Der Libanon: Proteste in Tripoli.", "tripoli"),
    ],
)
def test_traps_in_the_added_languages(libya_matcher: Matcher, text: str, entity: str) -> None:
    assert entity not in entities_in(libya_matcher, content=text)


def test_a_conditional_name_counts_only_with_its_article_words(
    write_watchlist: WriteWatchlist,
) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            conditional_names: {names: [Τρίπολη], if_in_article: [Λιβύη]}
        """
    )
    assert found(watchlist, content="Στην Τρίπολη, στη Λιβύη.") == [("tripoli", "Τρίπολη")]
    assert found(watchlist, content="Στην Τρίπολη.") == []
    assert found(watchlist, content="In Tripoli.") == [("tripoli", "Tripoli")]


# --- derived forms ------------------------------------------------------------------------


def test_derived_forms_join_each_suffix_of_the_stems_script(
    write_watchlist: WriteWatchlist,
) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: haftar
            names: [Haftar]
            derived_forms:
              stems: [Haftar, Хафтар]
              suffixes: {en: [ist, ists, ian], fr: [istes], ru: [овцы, а]}
        """
    )
    assert watchlist.entities[0].derived_forms is not None
    words = watchlist.entities[0].derived_forms.words()
    assert "Haftarist" in words and "Хафтаровцы" in words
    assert "Haftarовцы" not in words and "Хафтарist" not in words
    for text in ("Haftarist", "haftaristes", "Haftarian", "хафтаровцы", "Хафтара", "pro-Haftar"):
        assert found(watchlist, content=f"The {text} camp.") != [], text
    for text in ("Haftaristic", "Haftarism", "Haftarova", "Haftarists'"):
        surface = text.rstrip("'")
        expected = surface in ("Haftarists",)
        assert bool(found(watchlist, content=f"The {text} camp.")) == expected, text


def test_derived_forms_are_opt_in(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist("entities: [{id: haftar, names: [Haftar]}]")
    assert found(watchlist, content="Haftarist fighters.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Haftarist fighters withdrew.",
        "The Haftarian school of thought.",
        "Les haftaristes ont perdu du terrain.",
        "Le milizie haftariste avanzano.",
        "Los haftaristas rechazaron la tregua.",
        "Хафтаровцы отступили.",
        "Hafterci güçler geri çekildi.",
    ],
)
def test_libya_derived_forms_of_the_surname(libya_matcher: Matcher, text: str) -> None:
    assert "haftar" in entities_in(libya_matcher, content=text)


def test_a_derived_suffix_must_be_letters(write_watchlist: WriteWatchlist) -> None:
    with pytest.raises(ConfigError, match=r"test\.yaml:\d+: entities\[0\]\.derived_forms"):
        write_watchlist(
            """
            entities:
              - id: haftar
                names: [Haftar]
                derived_forms: {stems: [Haftar], suffixes: {en: ["-ist"]}}
            """
        )


# --- family members and namesakes: the longest alias wins its span -----------------------


FAMILY = """
entities:
  - id: haftar
    names: [Haftar, Khalifa Haftar]
    not_names: [Siddiq Haftar]
    namesakes: {given_names: [Ahmed, Sara], surnames: [Haftar]}
  - id: saddam_haftar
    names: [Saddam Haftar]
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saddam Haftar met officials.", [("saddam_haftar", "Saddam Haftar")]),
        ("Siddiq Haftar met officials.", []),
        ("Ahmed Haftar, a dentist, won an award.", []),
        ("SARA HAFTAR won an award.", []),
        (
            "Saddam Haftar, son of Khalifa Haftar, met officials.",
            [("saddam_haftar", "Saddam Haftar"), ("haftar", "Khalifa Haftar")],
        ),
        (
            "Saddam Haftar spoke; Haftar's army stayed.",
            [("saddam_haftar", "Saddam Haftar"), ("haftar", "Haftar")],
        ),
        ("Haftar's son Saddam met officials.", [("haftar", "Haftar")]),
        ("Ahmed said Haftar would come.", [("haftar", "Haftar")]),
    ],
)
def test_a_longer_alias_of_another_entity_or_not_names_consumes_the_span(
    write_watchlist: WriteWatchlist, text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(write_watchlist(FAMILY), content=text) == expected


NAMESAKE_STORIES = """
entities:
  - id: haftar
    names: [Haftar, Khalifa Haftar]
    derived_forms: {stems: [Haftar], suffixes: {crh: [niñ]}}
    namesakes:
      given_names: [Amira, Lina]
      surnames: [Haftar]
      unless_in_article: [Libya, Benghazi, Khalifa, marshal]
"""


@pytest.mark.parametrize(
    ("title", "content", "mentioned"),
    [
        # a namesake's story: the bare surname is hers
        ("Cardiologist Amira Haftar wins prize", "Dr. Haftar's team studied 4,000 patients.",
         False),
        ("A ceramicist's first show", "Lina Haftar works in clay. Ms Haftar said it is patient.",
         False),
        # ... unless the article is about Libya or names the marshal
        ("Amira Haftar, a Libyan doctor", "Haftar's forces closed her clinic in Benghazi.", True),
        ("Amira Haftar wins prize", "She is no relative of the marshal Haftar.", True),
        # no namesake named: the bare surname counts, as always
        ("Dr. Haftar's team studied 4,000 patients", "", True),
        # the surname with a case ending is hers too (heldout73: a referee, "Hafterniñ")
        ("Referee Amira Haftar", "Haftarniñ decision stood.", False),
        ("Khalifa Haftarniñ forces", "", True),
    ],
)  # fmt: skip
def test_in_a_namesakes_story_the_bare_surname_is_theirs(
    write_watchlist: WriteWatchlist, title: str, content: str, mentioned: bool
) -> None:
    matcher = Matcher([write_watchlist(NAMESAKE_STORIES)])
    assert bool(matcher.match({"title": title, "content": content}).alerts) is mentioned


WORD_NAMESAKES = """
entities:
  - id: haftar
    names: [Haftar]
    not_names: [Sidi Haftar]
    namesakes:
      given_names: [Said, Ramadan]
      surnames: [Haftar]
      unless_in_article: [Libya]
"""


@pytest.mark.parametrize(
    ("title", "mentioned"),
    [
        # a given name that is also a word, written as the word: no namesake (an outside
        # probe: '"...," said Haftar', the usual way to quote him, matched nothing)
        ('"Talks have failed," said Haftar in a televised speech.', True),
        ("crowds at sidi haftar square", False),  # a field in lower case: cannot tell
        ("The ceramicist Said Haftar opens a show in Rotterdam", False),
        ("SAID HAFTAR OPENS A SHOW", False),  # one case: cannot tell, the namesake stands
        ("Visitors at the shrine of Sidi Haftar", False),
        ("Pilgrims at the shrine of sidi Haftar", True),
    ],
)
def test_a_namesake_written_as_a_common_word_is_no_namesake(
    write_watchlist: WriteWatchlist, title: str, mentioned: bool
) -> None:
    matcher = Matcher([write_watchlist(WORD_NAMESAKES)])
    assert bool(matcher.match({"title": title, "content": "Nothing else."}).alerts) is mentioned


def test_without_unless_in_article_the_bare_surname_of_a_namesakes_story_counts(
    write_watchlist: WriteWatchlist,
) -> None:
    fields = {"title": "Ahmed Haftar, a dentist, won an award", "content": "Haftar thanked all."}
    assert found(write_watchlist(FAMILY), **fields) == [("haftar", "Haftar")]


def test_explain_names_the_namesake_rule(write_watchlist: WriteWatchlist) -> None:
    explanation = Matcher([write_watchlist(NAMESAKE_STORIES)]).explain(
        {"title": "Cardiologist Amira Haftar wins prize", "content": "Dr. Haftar's team won."}
    )
    dropped = [c for c in explanation.candidates if c.decided_by == "namesakes"]
    assert dropped and not any(c.kept for c in explanation.candidates)
    assert "the article names 'Amira Haftar'" in dropped[0].reason
    assert "the bare surname is theirs" in dropped[0].reason


def test_a_not_name_is_never_reported_and_explain_names_it(
    write_watchlist: WriteWatchlist,
) -> None:
    explanation = Matcher([write_watchlist(FAMILY)]).explain(
        {"content": "Siddiq Haftar met officials."}
    )
    (candidate,) = explanation.candidates
    assert (candidate.entity, candidate.kept, candidate.decided_by) == ("haftar", False, "overlap")
    assert "not_names entry of entity haftar" in candidate.reason


def test_a_not_name_may_not_be_one_of_the_entitys_names(write_watchlist: WriteWatchlist) -> None:
    with pytest.raises(ConfigError, match=r"entities\[0\]\.not_names\[0\]: 'Haftar' is also"):
        write_watchlist("entities: [{id: haftar, names: [Haftar], not_names: [Haftar]}]")


@pytest.mark.parametrize(
    ("text", "haftar"),
    [
        ("Saddam Haftar met Italian officials.", False),
        ("Khaled Haftar was promoted.", False),
        ("Belgassem Haftar opened a bridge.", False),
        ("صدام حفتر يزور أنقرة", False),
        ("Саддам Хафтар прибыл в Рим.", False),
        ("Ahmed Haftar, a shopkeeper in Benghazi, was robbed.", False),
        ("Saddam Haftar, son of Khalifa Haftar, spoke.", True),
        ("Hafter's son Saddam toured the oil fields.", True),
        ("Saddam Haftar said the Haftar camp was united.", True),
    ],
)
def test_libya_family_members(libya_matcher: Matcher, text: str, haftar: bool) -> None:
    assert ("haftar" in entities_in(libya_matcher, content=text)) is haftar


# --- other places and things with a watched name ------------------------------------------


def test_exclude_if_followed_by_and_preceded_by_look_one_way(
    write_watchlist: WriteWatchlist,
) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            exclude_if_followed_by: {words: [Iowa, Shrine], within: 2}
            exclude_if_preceded_by: {words: [Asteras], within: 1}
        """
    )
    assert found(watchlist, content="Tripoli, Iowa.") == []
    assert found(watchlist, content="Tripoli Shrine Temple.") == []
    assert found(watchlist, content="Asteras Tripoli won.") == []
    assert found(watchlist, content="From Iowa to Tripoli.") == [("tripoli", "Tripoli")]
    assert found(watchlist, content="Tripoli beat Asteras.") == [("tripoli", "Tripoli")]


def test_proper_noun_drops_the_lower_case_word_unless_the_field_is_all_lower(
    write_watchlist: WriteWatchlist,
) -> None:
    watchlist = write_watchlist("entities: [{id: tripoli, names: [Tripoli], proper_noun: true}]")
    assert found(watchlist, content="Polish it with tripoli powder.") == []
    assert found(watchlist, content="Clashes in Tripoli.") == [("tripoli", "Tripoli")]
    assert found(watchlist, content="CLASHES IN TRIPOLI") == [("tripoli", "TRIPOLI")]
    assert found(watchlist, title="clashes in tripoli") == [("tripoli", "tripoli")]
    explanation = Matcher([watchlist]).explain({"content": "Polish it with tripoli."})
    assert [c.decided_by for c in explanation.candidates] == ["lower_case"]


@pytest.mark.parametrize(
    "text",
    [
        "The town council of Tripoli, Iowa, met on Tuesday.",
        "Tripoli (Wisconsin) celebrated its centenary.",
        "The Tripoli Shrine Temple hosted a circus.",
        "Members of the Tripoli Rocketry Association launched a rocket.",
        "Café Tripoli opened a second branch in Brooklyn.",
        "Polish the brass with tripoli and a soft cloth.",
        "Asteras Tripolis beat Olympiacos.",
        "The amphibious assault ship USS Tripoli docked in Japan.",
    ],
)
def test_libya_other_tripolis_are_not_the_capital(libya_matcher: Matcher, text: str) -> None:
    assert "tripoli" not in entities_in(libya_matcher, content=text)


@pytest.mark.parametrize(
    "text",
    [
        "Clashes broke out in Tripoli on Monday.",
        "Al-Ittihad Tripoli won the Libyan league.",
        "Flights from Tripoli, Libya, to Iowa resumed.",
        "The Tripoli-based government rejected the plan.",
    ],
)
def test_libya_tripoli_still_matches(libya_matcher: Matcher, text: str) -> None:
    assert "tripoli" in entities_in(libya_matcher, content=text)


# --- abbreviations and one-case headlines ---------------------------------------------------


def test_abbreviations_and_optional_words_spell_names_otherwise(
    write_watchlist: WriteWatchlist,
) -> None:
    watchlist = write_watchlist(
        """
        abbreviations: {Government: [Govt, "Gov't"], National: [Natl, "Nat'l"]}
        optional_words: [of]
        entities:
          - id: gna
            names: [Government of National Accord]
        """
    )
    for text in (
        "Govt of Natl Accord",
        "Gov't of Nat'l Accord",
        "Government National Accord",
        "Govt Natl Accord",
    ):
        assert found(watchlist, title=f"{text} retakes airport") == [("gna", text)], text
    assert found(watchlist, title="Govt of Natl Unity") == []
    assert found(watchlist, title="Government of Accord") == []


def test_an_abbreviation_key_must_be_one_word(write_watchlist: WriteWatchlist) -> None:
    with pytest.raises(ConfigError, match=r"test\.yaml: abbreviations\.National Army: .* one word"):
        write_watchlist(
            """
            abbreviations: {National Army: [NA]}
            entities: [{id: lna, names: [Libyan National Army]}]
            """
        )


ONE_CASE = """
entities:
  - id: lna
    names: [Libyan National Army]
    acronyms: [LNA]
    one_case_acronyms: {if_in_article: [Libya, Haftar]}
"""


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": "haftar's lna takes sirte"}, ["lna"]),
        ({"title": "lna advances", "content": "Fighting in Libya."}, ["lna"]),
        ({"title": "why every radio needs an lna"}, []),
        ({"title": "HAFTAR'S LNA TAKES SIRTE"}, ["LNA"]),
        ({"content": "Haftar said the lna was ready."}, []),  # mixed case: case decides
        ({"content": "Haftar said the LNA was ready."}, ["LNA"]),
    ],
)
def test_in_a_one_case_field_acronyms_are_decided_by_context(
    write_watchlist: WriteWatchlist, fields: dict[str, str], expected: list[str]
) -> None:
    assert [text for _, text in found(write_watchlist(ONE_CASE), **fields)] == expected


ARABIZI = """
entities:
  - id: lna
    names: [Libyan National Army]
    acronyms: [LNA]
    conditional_acronyms: {acronyms: [Lna], if_in_article: [Libya, Libia]}
    one_case_acronyms: {if_in_article: [Libya, libya]}
"""


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Arabic's لنا (to us, we have) in Latin letters and digits (heldout72)
        ({"title": "Lna l7e9 n3erfo wach l5edma f Libya mazal kayna"}, []),
        ({"title": "Famma barcha 5edma lna fi Libya?"}, []),
        ({"title": "lna 5edma fi libya walla le?"}, []),  # one case: still Arabizi
        # The acronym in capitals, in Arabizi too; "Lna" in an Italian wire's text
        ({"title": "El gesh el watany el leeby (LNA) da5al Sirte fi Libya"}, ["LNA"]),
        ({"title": "Libia, l'Lna avanza verso Sirte"}, ["Lna"]),
        # Digits that are no Arabizi: an ordinal, a time, a code, a model
        ({"title": "Libia: la Lna attacca il 3rd battalion alle 5pm, un a320neo a terra"}, ["Lna"]),
    ],
)
def test_an_acronym_not_in_capitals_is_a_word_in_arabizi(
    write_watchlist: WriteWatchlist, fields: dict[str, str], expected: list[str]
) -> None:
    watchlist = write_watchlist(ARABIZI)
    assert [text for _, text in found(watchlist, **fields)] == expected


def test_arabizi_explain_names_the_reason(write_watchlist: WriteWatchlist) -> None:
    explanation = Matcher([write_watchlist(ARABIZI)]).explain(
        {"title": "Lna s7abna fi Zwara, Libya"}
    )
    assert [(c.text, c.kept, c.decided_by) for c in explanation.candidates] == [
        ("Lna", False, "arabizi")
    ]


def test_one_case_acronyms_explain_names_the_rule(write_watchlist: WriteWatchlist) -> None:
    explanation = Matcher([write_watchlist(ONE_CASE)]).explain({"title": "an lna for radios"})
    assert [(c.text, c.kept, c.decided_by) for c in explanation.candidates] == [
        ("lna", False, "one_case_acronyms")
    ]


@pytest.mark.parametrize(
    ("title", "entity"),
    [
        ("Libyan Natl Army claims Sirte", "lna"),
        ("Libyan Nat'l Army pulls back", "lna"),
        ("Govt of Natl Accord retakes airport", "gna"),
        ("Government National Accord forces advance", "gna"),
        ("libya: gna forces retake tripoli airport", "gna"),
        ("haftar's lna pushes toward sirte", "lna"),
        ("L.N.A. and G.N.A. sign truce in Geneva", "lna"),
        ("L.N.A. and G.N.A. sign truce in Geneva", "gna"),
        ("clashes resume in tripoli", "tripoli"),
    ],
)
def test_libya_abbreviations_and_lower_case_headlines(
    libya_matcher: Matcher, title: str, entity: str
) -> None:
    assert entity in entities_in(libya_matcher, title=title)


@pytest.mark.parametrize(
    ("title", "entity"),
    [
        ("why every radio needs an lna", "lna"),
        ("gan models draw faces", "gna"),
        ("the gna reporter in accra", "gna"),
        ("GUN CONTROL BILL PASSES SENATE", "gna"),
    ],
)
def test_libya_one_case_traps(libya_matcher: Matcher, title: str, entity: str) -> None:
    assert entity not in entities_in(libya_matcher, title=title)


# --- HTML entities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Haftar&#39;s forces enter Tripoli",
        "Haftar&#x27;s forces enter Tripoli",
        "Haftar&rsquo;s forces enter Tripoli",
        "Haftar&amp;#39;s forces enter Tripoli",
        "Haftar&amp;amp;#39;s forces enter Tripoli",
        "&quot;Haftar&quot; forces enter &amp;quot;Tripoli&amp;quot;",
        "Haftar&nbsp;forces enter Tripoli",
        "Haftar&amp;nbsp;forces enter Tripoli",
        "Haftar&amp;#39s forces enter Tripoli",
        "Haftar&#39s forces enter Tripoli",
    ],
)
def test_escaped_titles_match_like_plain_text(libya_matcher: Matcher, title: str) -> None:
    result = libya_matcher.match({"title": title})
    assert [m.entity for m in result.mentions] == ["haftar", "tripoli"]
    assert [m.text for m in result.mentions] == ["Haftar", "Tripoli"]


def test_a_double_escaped_entity_in_a_name_matches(libya_matcher: Matcher) -> None:
    title = html.escape("Gouvernement d&#39;union nationale", quote=False)
    assert entities_in(libya_matcher, title=title) == {"gna"}
    assert entities_in(libya_matcher, title="Trablus&amp;#39;ta çatışma") == {"tripoli"}


def test_text_that_only_looks_like_an_entity_stays(libya_matcher: Matcher) -> None:
    result = libya_matcher.match({"title": "Haftar &amp;nope; and &amp;x123; Tripoli"})
    assert [m.text for m in result.mentions] == ["Haftar", "Tripoli"]
    assert result.excerpts[0].text == "Haftar &nope; and &x123; Tripoli"


# --- errors in the new keys name the file and the field ----------------------------------


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        ("proper_noun: maybe", r"entities\[0\]\.proper_noun: must be true or false"),
        (
            "exclude_if_followd_by: {words: [Iowa], within: 2}",
            r"unknown key 'exclude_if_followd_by': did you mean 'exclude_if_followed_by'",
        ),
        ("derived_forms: {stems: [Haftar]}", r"entities\[0\]\.derived_forms\.suffixes: required"),
        (
            "namesakes: {given_names: [Ahmed], surname: [Haftar]}",
            r"unknown key 'surname': did you mean 'surnames'",
        ),
        ("one_case_acronyms: {if_in_article: [Libya]}", r"one_case_acronyms: .* no acronyms"),
        (
            "conditional_names: {names: [Τρίπολη]}",
            r"entities\[0\]\.conditional_names\.if_in_article: required",
        ),
    ],
)
def test_errors_in_the_new_keys_name_file_and_field(
    write_watchlist: WriteWatchlist, entity: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=rf"test\.yaml:\d+: .*{message}"):
        write_watchlist(f"entities:\n  - id: haftar\n    names: [Haftar]\n    {entity}\n")


# --- ambiguous names and derived prefixes ---------------------------------------------------


def test_ambiguous_names_drop_with_their_article_words(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: gna
            names: [Government of National Accord]
            ambiguous_names:
              names: [Gouvernement d'union nationale]
              exclude_if_in_article: [Dbeibah]
              unless_in_article: [Sarraj]
        """
    )
    title = "Le gouvernement d'union nationale fixe un calendrier"
    assert found(watchlist, title=title) == [("gna", "gouvernement d'union nationale")]
    assert found(watchlist, title=title, summary="Dbeibah propose des élections.") == []
    assert found(watchlist, title=title, summary="Dbeibah et Sarraj.") != []
    assert found(watchlist, title="Government of National Accord", summary="Dbeibah.") != []
    explanation = Matcher([watchlist]).explain({"title": title, "summary": "Dbeibah."})
    (candidate,) = explanation.candidates
    assert candidate.decided_by == "ambiguous_names"
    assert "the article has 'Dbeibah' and none of 'Sarraj'" in candidate.reason


def test_derived_prefixes_join_stems_and_derived_words(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: haftar
            names: [Haftar]
            derived_forms:
              stems: [Haftar, Хафтар]
              suffixes: {es: [istas], ru: [овская]}
              prefixes: {es: [anti], ru: [анти]}
        """
    )
    for text in ("antihaftaristas", "Antihaftar", "антихафтаровская", "haftaristas"):
        assert found(watchlist, content=f"Los {text} marcharon.") != [], text
    assert found(watchlist, content="Los antihaftarismos.") == []


@pytest.mark.parametrize(
    ("fields", "gna"),
    [
        (
            {
                "title": "Le gouvernement d'union nationale libyen (GUN) fixe un calendrier",
                "summary": "Le GUN d'Abdelhamid Dbeibah propose des élections.",
            },
            False,
        ),
        (
            {
                "title": "Le GUN repousse les forces de Haftar",
                "summary": "Le gouvernement d'union nationale de Fayez al-Sarraj.",
            },
            True,
        ),
        ({"title": "Le GUN reprend l'aéroport"}, True),
    ],
)
def test_libya_french_gun_is_the_gna_unless_about_dbeibah(
    libya_matcher: Matcher, fields: dict[str, str], gna: bool
) -> None:
    assert ("gna" in entities_in(libya_matcher, **fields)) is gna


def test_a_list_may_reuse_an_anchored_list(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            acronyms: [LNA]
            one_case_acronyms: {if_in_article: &libya [Libya, Libyan]}
            conditional_acronyms: {acronyms: [ENL], if_in_article: [*libya, GAN]}
        """
    )
    (entity,) = watchlist.entities
    assert entity.conditional_acronyms is not None
    assert entity.conditional_acronyms.if_in_article == ("Libya", "Libyan", "GAN")
    assert found(watchlist, content="GAN e ENL assinam.") == [("lna", "ENL")]
    assert found(watchlist, content="A ENL de Colombia.") == []


# --- web and e-mail addresses written in the text ------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Background: https://example.org/archive/haftar-interview-2019 for subscribers.",
        "Read more at www.haftar.example.com today.",
        "Press enquiries: haftar@example.net or the desk.",
        "Source: example.org/tags/haftar (archive).",
        "See <a href='https://example.org/'>https://example.org/tags/Tripoli</a>.",
        "Feed: http://news.example.ly/GNA/latest",
    ],
)
def test_a_name_inside_a_written_out_address_is_no_mention(
    libya_matcher: Matcher, text: str
) -> None:
    assert entities_in(libya_matcher, content=text) == set()


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Haftar: https://example.org/archive/interview", "haftar"),
        ("Tripoli (www.example.org) said the GNA met.", "gna"),
        ("Forces loyal to Haftar/LNA advanced on Tripoli.", "tripoli"),
        ("#Haftar trended after the talks in Tripoli.", "haftar"),
        ("Contact press@example.net about Haftar's visit.", "haftar"),
        ("Talks in Tripoli.Officials said the GNA agreed.", "gna"),
    ],
)
def test_a_name_beside_an_address_is_still_a_mention(
    libya_matcher: Matcher, text: str, entity: str
) -> None:
    assert entity in entities_in(libya_matcher, content=text)


@pytest.mark.parametrize(
    "text",
    [
        # An expansion whose first word follows an elided article still spells its acronym.
        "Édition : l'Alliance nationale des libraires (ANL) tire la sonnette d'alarme.",
        "Il presidente dell'Associazione nazionale librai (ANL) ha parlato.",
    ],
)
def test_an_acronym_spelled_out_after_an_elided_article_is_that_other_thing(
    libya_matcher: Matcher, text: str
) -> None:
    assert "lna" not in {m.entity for m in libya_matcher.match({"content": text}).mentions}


def test_the_armys_own_expansion_after_an_elided_article_is_still_the_army(
    libya_matcher: Matcher,
) -> None:
    text = "Selon l'Armée nationale libyenne (ANL), l'ANL contrôle Syrte."
    mentions = libya_matcher.match({"content": text}).mentions
    found = [m.text for m in mentions if m.entity == "lna"]
    assert found == ["Armée nationale libyenne", "ANL", "ANL"]


# --- line breaks, lookalike letters, more case endings (heldout16's classes) -------------


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Forces loyal to Field Marshal Khalifa Haf-\ntar advanced on Thursday.", "haftar"),
        ("Les troupes du maréchal Haf- tar ont reculé.", "haftar"),  # the break already a space
        ("The UN envoy arrived in Tri-\npoli late on Monday.", "tripoli"),
        ("Маршал Хаф-\nтар заявил о перемирии.", "haftar"),
        ("Haftar-\nbacked units shelled the airport.", "haftar"),  # a compound at its hyphen
        ("Rumours about Hаftаr's travel spread on Monday.", "haftar"),  # Cyrillic а
        ("Flights resumed at Mitiga airport in Trірoli.", "tripoli"),  # Cyrillic і р
        ("Столкновения в Tриполи возобновились.", "tripoli"),  # a Latin T
        ("Haftarovy jednotky ustoupily.", "haftar"),  # Czech possessive
        ("Haftarin joukot vetäytyivät Tripolin eteläpuolelta.", "haftar"),  # Finnish
        ("Haftarin joukot vetäytyivät Tripolin eteläpuolelta.", "tripoli"),
        ("Haftarove snage napale zračnu luku u Tripoliju.", "haftar"),  # Croatian
        ("Haftarove snage napale zračnu luku u Tripoliju.", "tripoli"),
        ("Haftaro pajėgos apšaudė Tripolio oro uostą.", "haftar"),  # Lithuanian
        ("Haftaro pajėgos apšaudė Tripolio oro uostą.", "tripoli"),
        ("Darbeci Hafterin milisleri yine Trablusa saldırdı.", "haftar"),  # no apostrophe
        ("Darbeci Hafterin milisleri yine Trablusa saldırdı.", "tripoli"),
        ("Il-forzi ta' Ħaftar javvanzaw lejn Tripli, fil-Libja.", "haftar"),  # Maltese
        ("Il-forzi ta' Ħaftar javvanzaw lejn Tripli, fil-Libja.", "tripoli"),
    ],
)
def test_names_broken_across_lines_in_lookalike_letters_or_other_cases(
    libya_matcher: Matcher, text: str, entity: str
) -> None:
    assert entity in entities_in(libya_matcher, content=text)


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Queues stretched in the towns of western Tripoli-\ntania.", "tripoli"),  # the region
        ("Commentary: the Haftara for Parashat Vayeira.", "haftar"),
        ("Doppi e tripli salti alla gara di Torino.", "tripoli"),  # Italian "tripli"
        ("La squadra ha fatto tre tripli in finale.", "tripoli"),
    ],
)
def test_traps_of_the_same_classes(libya_matcher: Matcher, text: str, entity: str) -> None:
    assert entity not in entities_in(libya_matcher, content=text)


# --- footnotes, scripts meeting, paths, more languages (heldout17's classes) -------------


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("41. Field Marshal Haftar³ kept command of the units in annex 4.", "haftar"),
        ("The so-called LNA²¹ received materiel by air.", "lna"),
        ("أعلنت قوات الـLNA التعبئة في الجنوب.", "lna"),  # the article joined to it
        ("وقالت حكومة الـGNA إنها سترد.", "gna"),
        ("Həftər Bakıda görüşlər keçirib.", "haftar"),  # Azerbaijani
        ("Xaftar wuxuu gaaray Qaahira.", "haftar"),  # Somali
        ("ሃፍታር ካይሮ ገቡ።", "haftar"),  # Amharic
        ("በትሪፖሊ ውጊያ ቀጥሏል።", "tripoli"),
        ("Imenɣan deg Ṭrables ass-a.", "tripoli"),  # Tamazight
    ],
)
def test_footnotes_joined_scripts_and_more_languages(
    libya_matcher: Matcher, text: str, entity: str
) -> None:
    assert entity in entities_in(libya_matcher, content=text)


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("[Image: /uploads/2020/06/haftar-in-cairo.jpg] The commander landed.", "haftar"),
        ("See /archive/libya/tripoli-airport/ for the photos.", "tripoli"),
        ("GNA Axles posts record quarterly profit.", "gna"),
        ("LNA: Fribourg-Gottéron beat SC Bern in overtime.", "lna"),
        ("Tripoli bar for buffing wheels, brown, 1 lb.", "tripoli"),
        ("el kahraba maktou3a fi trablus lebnan", "tripoli"),
    ],
)
def test_traps_of_footnote_path_and_product_classes(
    libya_matcher: Matcher, text: str, entity: str
) -> None:
    assert entity not in entities_in(libya_matcher, content=text)
