"""Context rules: exclude_phrases, exclude_if_near, exclude_if_in_article, require_near,
require_in_article; and the disambiguations the shipped watchlist makes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.errors import ConfigError
from monitor.match import Matcher, Watchlist

WriteWatchlist = Callable[..., Watchlist]


def found(watchlist: Watchlist, **fields: str) -> list[str]:
    return [mention.text for mention in Matcher([watchlist]).match(fields).mentions]


def test_exclude_phrases_cancel_an_overlapping_mention(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: gna
            acronyms: [GNA]
            exclude_phrases: ["GNA reporter"]
        """
    )
    assert found(watchlist, content="The GNA said. Its GNA reporter left.") == []
    # Another field's GNA is the same agency: an acronym keeps one sense through an article.
    assert found(watchlist, title="GNA", content="A GNA reporter said.") == []
    assert found(watchlist, title="GNA", content="Nothing else.") == ["GNA"]


def test_an_acronym_the_article_spells_out_as_something_else_is_not_the_entity(
    write_watchlist: WriteWatchlist,
) -> None:
    # Acronyms are overloaded (a sailing club, an amplifier, a news agency): whatever the
    # watchlist's lists of other senses, an article that spells its acronym out as something
    # else is about that, in every field; spelled out as the entity (in any of its names'
    # words), or not at all, the acronym counts.
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            names: [Libyan National Army, Armée nationale libyenne]
            acronyms: [LNA, ANL]
        """
    )
    club = found(
        watchlist,
        title="LNA regatta called off",
        summary="The London Nautical Association (LNA) cancelled its race.",
    )
    assert club == []
    assert found(watchlist, content="LNA (low-noise amplifier): the first stage.") == []
    assert found(watchlist, content="Glossary. LNA = low-noise amplifier.") == []
    glossary = "<dl><dt>LNA</dt><dd>Low-noise amplifier, the first stage.</dd></dl>"
    assert found(watchlist, content=glossary) == []
    own = "<dl><dt>LNA</dt><dd>Libyan National Army, led by Haftar.</dd></dl>"
    assert found(watchlist, content=own) == ["LNA", "Libyan National Army"]
    assert found(watchlist, content="L'ANL (Armée nationale libyenne) avance. L'ANL tient.") == [
        "ANL",
        "Armée nationale libyenne",
        "ANL",
    ]
    assert found(watchlist, content="Libya's National Army (LNA) said the LNA held.") == [
        "LNA",
        "LNA",
    ]
    assert found(watchlist, content="The LNA (loyal to Haftar) advanced.") == ["LNA"]


def test_an_acronym_named_by_an_appositive_or_by_a_name_in_capitals_is_that_thing(
    write_watchlist: WriteWatchlist,
) -> None:
    # A blind set of parliamentary records (heldout51): "a literacy and numeracy assessment,
    # the LNA," (an appositive, not brackets) and "the LNA Bill" under an agenda's "Local
    # Nature Areas (Scotland) Bill" (a name in capitals whose initials spell it).
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            names: [Libyan National Army]
            acronyms: [LNA]
        """
    )
    hearing = "Students complete a literacy and numeracy assessment, the LNA, before a loan."
    assert found(watchlist, content=hearing) == []
    assert found(watchlist, content="A literacy and numeracy assessment (the LNA) is due.") == []
    # The appositive after it too (heldout55: "la LNA, la Lega nautica amatoriale,").
    sailing = "Un comunicato attribuito alla LNA, la Lega nautica amatoriale, circola."
    assert found(watchlist, content=sailing) == []
    assert found(watchlist, content="The LNA, the main force in the east, advanced.") == ["LNA"]
    agenda = "2. Local Nature Areas (Scotland) Bill. The memorandum on the LNA Bill is out."
    assert found(watchlist, content=agenda) == []
    # The entity's own words, in either shape, keep every mention.
    own = "Haftar's Libyan National Army, the LNA, advanced."
    assert found(watchlist, content=own) == ["Libyan National Army", "LNA"]
    # A name in capitals is a weaker sign than a definition: one that shares a word with the
    # entity's names says nothing ("the Libyan News Agency reported that the LNA ..."), nor
    # does a run of capitals longer than the acronym (a headline in title case).
    agency = "The Libyan News Agency reported that the LNA advanced on Sirte."
    assert found(watchlist, content=agency) == ["LNA"]
    assert found(watchlist, title="Local Navy Attacks Smugglers; LNA Denies Role") == ["LNA"]
    assert found(watchlist, content="Lawmakers of the Local National Assembly Met; LNA") == ["LNA"]


def test_a_name_wrapped_across_a_line_of_running_text_is_found(
    write_watchlist: WriteWatchlist,
) -> None:
    # A transcript wrapped by hand (heldout51): "the Government of National<br>Accord".
    watchlist = write_watchlist(
        """
        entities:
          - id: gna
            names: [Government of National Accord, Governo di accordo nazionale]
          - id: sudan
            names: [Port Sudan]
        """
    )
    wrapped = (
        "<p>We have spoken this week with the leadership of the Government of National<br>\n"
        "Accord and with the commanders on the other side.</p>"
    )
    # The mention is the text as written, its line break included.
    assert found(watchlist, content=wrapped) == ["Government of National\nAccord"]
    italian = (
        "<p>una commissione mista italo-libica, istituita con le autorità del Governo di"
        " accordo<br>nazionale, aveva avviato la ricognizione</p>"
    )
    assert found(watchlist, content=italian) == ["Governo di accordo\nnazionale"]
    # Short lines (list items, headings, cells) keep their breaks: no name across them.
    assert found(watchlist, content="<ul><li>the port</li><li>Sudan talks</li></ul>") == []
    assert found(watchlist, content="<p>Ships waited at the port<br>Sudan talks</p>") == []
    # Nor across a paragraph or a sentence's end.
    ended = "<p>Ships waited for days outside the crowded harbour of the port.</p><p>Sudan</p>"
    assert found(watchlist, content=ended) == []


def test_an_expansion_whose_first_word_is_anothers_is_another_thing(
    write_watchlist: WriteWatchlist,
) -> None:
    # An outside probe's Sudan watchlist: "Singapore Armed Forces (SAF)" shares two words of
    # three with "Sudanese Armed Forces" and was taken for it; the first word says whose.
    watchlist = write_watchlist(
        """
        entities:
          - id: saf
            names: [Sudanese Armed Forces]
            acronyms: [SAF]
          - id: rsf
            names: [Rapid Support Forces]
            acronyms: [RSF]
        """
    )
    assert found(watchlist, content="The Singapore Armed Forces (SAF) held drills.") == []
    assert found(watchlist, content="The Regional Support Forces (RSF) deployed to Goma.") == []
    # The entity's own first word (or a word of its stem) with a word of another: its own.
    assert found(watchlist, content="The Sudan Armed Forces (SAF) said the SAF held.") == [
        "SAF",
        "SAF",
    ]
    assert found(watchlist, content="Rapid Support Units (RSF) took the town.") == ["RSF"]
    # Any word another's, not only the first (a blind set: Chad's rebels, heldout30).
    anl = write_watchlist(
        """
        entities:
          - id: lna
            names: [Armée nationale libyenne]
            acronyms: [ANL]
        """
    )
    chad = "L'Armée nationale de libération (ANL), mouvement rebelle tchadien. L'ANL frappe."
    assert found(anl, content=chad) == []
    # French small words are skipped in an expansion as English ones are (heldout31: a
    # Malagasy party in a glossary; "pour" made it spell nothing).
    party = "<dl><dt>ANL</dt><dd>Alliance nationale pour la liberté</dd></dl><p>L'ANL a voté.</p>"
    assert found(anl, content=party) == []
    assert found(anl, content="L'Armée nationale libyenne (ANL) avance.") == [
        "Armée nationale libyenne",
        "ANL",
    ]
    # A name spelled out in a language the watchlist lacks, with the accents of another
    # (heldout59: the Slovak "Líbyjská národná armáda (LNA)" beside the Czech name).
    lna = write_watchlist(
        """
        entities:
          - id: lna
            names: [Libyjská národní armáda, Libijska nacionalna armija]
            acronyms: [LNA]
        """
    )
    slovak = "Líbyjská národná armáda (LNA) oznámila ofenzívu. Hovorca LNA to potvrdil."
    assert found(lna, content=slovak) == ["LNA", "LNA"]
    latvian = "Lībijas Nacionālā armija (LNA) sāka uzbrukumu. LNA pārstāvis to apstiprināja."
    assert found(lna, content=latvian) == ["LNA", "LNA"]
    assert found(lna, content="Lietuvos nacionalinė asociacija (LNA) posėdžiavo.") == []


def test_exclude_if_near_counts_words(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            exclude_if_near: {words: [Lebanon, Lebanese], within: 3}
        """
    )
    assert found(watchlist, content="Tripoli, Lebanon") == []
    assert found(watchlist, content="Lebanese army in Tripoli") == []
    # within: 3 means at most three word positions apart (1 = adjacent).
    assert found(watchlist, content="Tripoli one two Lebanon") == []
    assert found(watchlist, content="Tripoli one two three Lebanon") == ["Tripoli"]
    # Another field is not near.
    assert found(watchlist, title="Lebanon", content="Tripoli") == ["Tripoli"]


def test_an_exclusion_s_unless_in_article_lets_the_article_say_which_sense(
    write_watchlist: WriteWatchlist,
) -> None:
    # A place only Libya's capital has, anywhere in the article, says which Tripoli it
    # means: the Lebanese words near the name then drop nothing ("Lebanese hostage freed in
    # Tripoli" over "kidnapped in Souq al-Juma"). Without such a place they still do.
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            exclude_if_near:
              words: [Lebanon, Lebanese, Beirut]
              within: 10
              unless_in_article: [Souq al-Juma, Mitiga]
            exclude_if_followed_by: {words: [Shrine], within: 2, unless_in_article: [Mitiga]}
        """
    )
    title = "Lebanese hostage freed in Tripoli"
    assert found(watchlist, title=title, content="He was seized in Souq al-Juma.") == ["Tripoli"]
    assert found(watchlist, title=title, content="He was seized in Akkar.") == []
    # Each exclusion has its own list; here the article's Mitiga lifts both.
    flights = "Beirut-Tripoli flights resume; the first landed at Mitiga."
    assert found(watchlist, content=flights) == ["Tripoli"]
    assert found(watchlist, content="Beirut-Tripoli flights resume.") == []
    assert found(watchlist, content="The Tripoli Shrine met near Mitiga.") == ["Tripoli"]
    assert found(watchlist, content="The Tripoli Shrine met.") == []
    # Lifted in the body, the body's Tripoli no longer tells the headline's (one sense).
    body = "Lebanese exporters at the fair in Tripoli, near Mitiga airport."
    assert found(watchlist, title="Tripoli fair opens", content=body) == ["Tripoli", "Tripoli"]


def test_only_an_exclusion_takes_unless_in_article(write_watchlist: WriteWatchlist) -> None:
    for key in ("keep_if_near", "require_near"):
        with pytest.raises(ConfigError, match=rf"entities\[0\]\.{key}\.unless_in_article: only"):
            write_watchlist(
                f"""
                entities:
                  - id: tripoli
                    names: [Tripoli]
                    {key}: {{words: [Libya], within: 2, unless_in_article: [Mitiga]}}
                """
            )
    with pytest.raises(ConfigError, match=r"exclude_if_near\.unless_in_article\[0\]"):
        write_watchlist(
            """
            entities:
              - id: tripoli
                names: [Tripoli]
                exclude_if_near: {words: [Lebanon], within: 2, unless_in_article: ["--"]}
            """
        )


def test_exclude_if_in_article_looks_at_every_field(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: gna
            acronyms: [GNA]
            exclude_if_in_article: [Ghana News Agency]
        """
    )
    assert found(watchlist, title="GNA report", content="by the Ghana News Agency") == []
    assert found(watchlist, title="GNA report", content="from Tripoli") == ["GNA"]


def test_unless_in_article_keeps_the_mention(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            exclude_if_in_article: [Lebanon, Lebanese]
            unless_in_article: [Libya, Libyan]
        """
    )
    assert found(watchlist, title="Gunfire in Tripoli", content="The Lebanese army deployed.") == []
    assert found(watchlist, title="Lebanon and Libya sign a deal", content="Met in Tripoli.") == [
        "Tripoli"
    ]
    assert found(watchlist, content="Talks in Tripoli.") == ["Tripoli"]


def test_unless_in_article_needs_exclude_if_in_article(write_watchlist: WriteWatchlist) -> None:
    with pytest.raises(ConfigError, match=r"entities\[0\]\.unless_in_article"):
        write_watchlist(
            """
            entities:
              - id: tripoli
                names: [Tripoli]
                unless_in_article: [Libya]
            """
        )


def test_require_near_and_require_in_article(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: noc
            names: [National Oil Corporation]
            require_in_article: [Libya, ليبيا]
          - id: sharara
            names: [Sharara]
            require_near: {words: [oil field, oilfield], within: 2}
        """
    )
    assert found(watchlist, content="Kenya's National Oil Corporation") == []
    assert found(watchlist, title="Libya", content="The National Oil Corporation") == [
        "National Oil Corporation"
    ]
    assert found(watchlist, content="ليبيا: National Oil Corporation") == [
        "National Oil Corporation"
    ]
    assert found(watchlist, content="The Sharara oil field reopened") == ["Sharara"]
    assert found(watchlist, content="Sharara sang a song") == []


def test_context_words_follow_the_same_matching_rules(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli, طرابلس]
            exclude_if_near: {words: [Lebanon, لبنان], within: 5}
        """
    )
    # "Lebanonian" is not the word Lebanon; an attached Arabic prefix is.
    assert found(watchlist, content="Tripoli Lebanonian") == ["Tripoli"]
    assert found(watchlist, content="طرابلس وفي لبنان") == []
    assert found(watchlist, content="طرابلس ولبنان") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Clashes in Tripoli, Lebanon, left two dead.", []),
        ("Lebanon's army moved into the northern city of Tripoli.", []),
        ("اشتباكات في طرابلس شمال لبنان", []),
        ("Clashes in Tripoli, the Libyan capital.", ["tripoli"]),
        ("Accra, Nov 2 (GNA) - The cedi gained.", []),
        ("The Ghana News Agency (GNA) reported.", []),
        ("The GNA said its forces advanced.", ["gna"]),
        ("The LNA (low-noise amplifier) sets the noise figure.", []),
        ("An RF front end with an LNA and a mixer.", []),
        ("The LNA shelled the airport.", ["lna"]),
        ("The Government of National Unity in Tripoli.", ["gnu", "tripoli"]),
        ("South Africa's Government of National Unity.", []),
        ("The US House of Representatives voted.", []),
    ],
)
def test_shipped_disambiguation(libya_matcher: Matcher, text: str, expected: list[str]) -> None:
    assert [m.entity for m in libya_matcher.match({"content": text}).mentions] == expected


def test_gnu_is_not_the_gna(libya: Watchlist) -> None:
    gna = next(entity for entity in libya.entities if entity.id == "gna")
    listed = [name.lower() for name in gna.names + gna.acronyms]
    assert "gnu" not in listed
    assert not any("national unity" in name for name in listed)


def test_shipped_ids_and_languages(libya: Watchlist) -> None:
    ids = [entity.id for entity in libya.entities]
    assert ids[:1] == ["haftar"]
    assert {"haftar", "lna", "gna", "tripoli", "sarraj", "dbeibah", "misrata", "benghazi"} <= set(
        ids
    )
    by_id = {entity.id: entity for entity in libya.entities}
    assert {
        "Libyan National Army",
        "Libyan Arab Armed Forces",
        "Armée nationale libyenne",
        "Esercito nazionale libico",
        "الجيش الوطني الليبي",
    } <= set(by_id["lna"].names)
    assert {"LNA", "LAAF"} <= set(by_id["lna"].acronyms)
    assert {
        "Government of National Accord",
        "Governo di Accordo Nazionale",
        "حكومة الوفاق الوطني",
    } <= set(by_id["gna"].names)
    ambiguous = by_id["gna"].ambiguous_names  # French: also the GNU in Dbeibah's time
    assert ambiguous is not None and "Gouvernement d'union nationale" in ambiguous.names
    assert {"Tripoli", "طرابلس", "Tarabulus"} <= set(by_id["tripoli"].names)
    assert {
        "Haftar",
        "Hafter",
        "Hifter",
        "Haftir",
        "Khalifa Belqasim Haftar",
        "خليفة حفتر",
        "حفتر",
    } <= set(by_id["haftar"].names)


def test_keep_if_near_wins_over_exclusions(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            keep_if_near: {words: [Libya], within: 2}
            exclude_if_near: {words: [Lebanon], within: 10}
            exclude_if_in_article: [Lebanese]
        """
    )
    text = "Tripoli in Lebanon signed a deal with the port of Tripoli, Libya."
    assert found(watchlist, content=text) == ["Tripoli"]
    assert found(watchlist, title="Lebanese exports", content="Tripoli, Libya, said.") == [
        "Tripoli"
    ]
    assert found(watchlist, title="Lebanese exports", content="Tripoli said.") == []


def test_conditional_acronyms_need_their_article_words(write_watchlist: WriteWatchlist) -> None:
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            acronyms: [LNA]
            conditional_acronyms: {acronyms: [Lna], if_in_article: [Libia]}
        """
    )
    assert found(watchlist, title="Lna signature line") == []
    assert found(watchlist, title="Libia, l'Lna avanza", content="L'LNA e lna.") == ["Lna", "LNA"]
    with pytest.raises(ConfigError, match=r"conditional_acronyms\.if_in_article"):
        write_watchlist(
            """
            entities:
              - id: lna
                acronyms: [LNA]
                conditional_acronyms: {acronyms: [Lna], if_in_article: []}
            """
        )


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ("conditional_names: {names: [Burhan], if_in_article: [Sudan, Burhan]}",
         "conditional_names.if_in_article[1]: 'Burhan' is one of the names"),
        ("conditional_acronyms: {acronyms: [Gna], if_in_article: [GNA, Libia]}",
         "conditional_acronyms.if_in_article[0]: 'GNA' is one of the acronyms"),
    ],
)  # fmt: skip
def test_a_condition_its_own_name_meets_is_an_error(
    write_watchlist: WriteWatchlist, condition: str, field: str
) -> None:
    # An outside probe listed "Burhan" in the words of its own condition (through a YAML
    # anchor): the rapper "Burhan G" counted as the general, and check said nothing.
    with pytest.raises(ConfigError) as caught:
        write_watchlist(
            f"""
            entities:
              - id: burhan
                names: [Abdel Fattah al-Burhan]
                {condition}
            """
        )
    (problem,) = caught.value.problems
    assert f"entities[0].{field} it makes conditional, so the condition holds" in problem


def test_names_inside_hashtags_and_handles_written_in_capitals(
    write_watchlist: WriteWatchlist,
) -> None:
    # A hashtag or handle joins its words; written with capitals, each word is one, so a
    # name among them is found. Elsewhere, or in a tag in one case, it is inside a word.
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
          - id: gna
            acronyms: [GNA]
        """
    )
    assert found(watchlist, title="#TripoliUnderFire trends") == ["Tripoli"]
    assert found(watchlist, title="Residents post #FreeTripoli") == ["Tripoli"]
    assert found(watchlist, title="Follow @GNAMedia and #GNA2020") == ["GNA", "GNA"]
    assert found(watchlist, title="TripoliUnderFire, the GNAMedia office, #tripoliunderfire") == []
    assert found(watchlist, title="#Tripolitania") == []


def test_names_of_several_words_in_hashtags_and_handles(write_watchlist: WriteWatchlist) -> None:
    # An outside probe: "#PortSudan", "#ElFasher" were never found (the name has a space, the
    # tag none), nor "#الجيش_الوطني_الليبي" (hashtags join Arabic words with "_").
    watchlist = write_watchlist(
        """
        entities:
          - id: port_sudan
            names: [Port Sudan]
          - id: lna
            names: [Libyan National Army, الجيش الوطني الليبي]
            not_names: [Libyan National Army Museum]
        """
    )
    assert found(watchlist, title="#PortSudan hit by drones; #SaveElFasher") == ["PortSudan"]
    assert found(watchlist, title="Follow @LibyanNationalArmy, #portsudan") == [
        "LibyanNationalArmy",
        "portsudan",
    ]
    assert found(watchlist, title="#Libyan_National_Army #الجيش_الوطني_الليبي") == [
        "Libyan_National_Army",
        "الجيش_الوطني_الليبي",
    ]
    assert found(watchlist, title="#StandWithPortSudan2025") == ["PortSudan"]
    # Not a tag, or not the tag's words: a name's words run together in text are no name.
    assert found(watchlist, title="portsudan.gov says PortSudan is calm") == []
    assert found(watchlist, title="#SupportSudan #TransportSudanNow") == []
    # An underscore and capitals in one tag; a "#" or "@" inside a word starts no tag.
    assert found(watchlist, title="#Port_SudanNow trends") == ["Port_Sudan"]
    assert found(watchlist, title="item#PortSudan, me@PortSudan") == []
    # A longer name not to count wins its span in a tag too.
    assert found(watchlist, title="#LibyanNationalArmyMuseum opens") == []


def test_one_word_keeps_one_sense_through_an_article(write_watchlist: WriteWatchlist) -> None:
    # A blind set: "Tripoli" alone in a headline, the body's Tripoli beside Arcadia.
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli, Tripolis]
            keep_if_near: {words: [Libya], within: 2}
            exclude_if_near: {words: [Arcadia, Lebanon], within: 5}
            exclude_phrases: [USS Tripoli]
        """
    )
    greek = {"title": "Tripoli: olive harvest falls", "content": "Farmers near Tripoli in Arcadia."}
    assert found(watchlist, **greek) == []
    # One occurrence kept for the words around it: the article names Libya's Tripoli.
    both = {**greek, "summary": "Not like Tripoli, Libya."}
    assert found(watchlist, **both) == ["Tripoli", "Tripoli"]
    # Another form of the word: no sense is carried over. An excluded phrase carries its
    # sense: a body about the ship (or a dateline "TRIPOLI, Lebanon") says what the
    # headline's bare word is (a blind set, heldout41).
    assert found(watchlist, title="Tripolis calm", content="Tripoli in Arcadia.") == ["Tripolis"]
    assert found(watchlist, title="Tripoli calm", content="The USS Tripoli docked.") == []
    # Within one field each keeps its own verdict.
    assert found(watchlist, content="Tripoli is calm. Farmers near Tripoli in Arcadia.") == [
        "Tripoli"
    ]
    # A body that keeps one Tripoli and drops another says nothing of the headline's.
    both = {"title": "Tripoli", "content": "Tripoli is calm. Farmers near Tripoli in Arcadia."}
    assert found(watchlist, **both) == ["Tripoli", "Tripoli"]


def test_words_near_a_mention_are_on_its_line(write_watchlist: WriteWatchlist) -> None:
    # A roundup: the Ghana brief's words do not reach the Libya brief below it.
    watchlist = write_watchlist(
        """
        entities:
          - id: gna
            names: [Government of National Accord]
            acronyms: [GNA]
            exclude_if_near: {words: [Ghana], within: 20}
        """
    )
    roundup = (
        "<p>Ghana: cocoa prices rose again this week in Kumasi.</p>"
        "<p>Libya: the Government of National Accord said it would meet.</p>"
    )
    assert found(watchlist, content=roundup) == ["Government of National Accord"]
    one_line = "Ghana: cocoa prices rose. Libya: the Government of National Accord said."
    assert found(watchlist, content=one_line) == []
    # A short line (a heading, a dateline, a table cell) speaks for the lines around it.
    heading = "<h3>Ghana</h3><p>The GNA said the Government of National Accord met.</p>"
    assert found(watchlist, content=heading) == []
    # One sentence laid out over lines with <br> is one line (as its excerpt reads it).
    wrapped = (
        "The Government of National Accord, meeting in the capital,<br>Ghana's mediators "
        "said, would now consider the offer made to it."
    )
    assert found(watchlist, content=wrapped) == []


def test_a_word_hyphenated_across_a_line_break_is_found(write_watchlist: WriteWatchlist) -> None:
    # A blind set: "Haf-<br>tar"; and an outside probe: reading every line break as a space
    # made one name of two list items ("the port" / "Sudan talks"), with a false alert.
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            names: [Libyan National Army]
          - id: haftar
            names: [Haftar]
        """
    )
    assert found(watchlist, content="Forces of Haf-<br>tar advanced.") == ["Haf-\ntar"]
    # Where normalising changes the text's length before it ("ﬁ" is two letters).
    assert found(watchlist, content="A ﬁeld report: Haf-<br>tar.") == ["Haf-\ntar"]
    items = "<ul><li>Talks with the Libyan National</li><li>Army day parade</li></ul>"
    assert found(watchlist, content=items) == []
    assert found(watchlist, content="<p>The Libyan</p><p>National Army</p>") == []


def test_an_acronym_spelled_out_in_cyrillic_as_something_else_is_not_the_entity(
    write_watchlist: WriteWatchlist,
) -> None:
    # An outside probe: "Верховный суд Украины (ВСУ)" alerted as the Armed Forces of Ukraine;
    # only Latin expansions were read.
    watchlist = write_watchlist(
        """
        entities:
          - id: afu
            names: [Вооружённые силы Украины, Збройні сили України]
            acronyms: [ВСУ, ЗСУ]
        """
    )
    court = "Верховный суд Украины (ВСУ) рассмотрел иск. ВСУ отклонил жалобу."
    assert found(watchlist, content=court) == []
    assert found(watchlist, content="Західний союз українців (ЗСУ) провів з'їзд.") == []
    army = "Вооружённые силы Украины (ВСУ) отошли. ВСУ заявили."
    assert found(watchlist, content=army) == ["Вооружённые силы Украины", "ВСУ", "ВСУ"]
    assert found(watchlist, content="ЗСУ звільнили село.") == ["ЗСУ"]


def test_an_acronym_keeps_one_sense_through_a_field(write_watchlist: WriteWatchlist) -> None:
    # A blind set: a paper on locked nucleic acid; "LNA" beside "probes" was dropped, the
    # same field's other "LNA"s were kept.
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            names: [Libyan National Army]
            acronyms: [LNA]
            exclude_if_near: {words: [probes, primers], within: 3}
        """
    )
    paper = "LNA probes bind tightly. The team used LNA bases. LNA synthesis is cheap."
    assert found(watchlist, content=paper) == []
    assert found(watchlist, content="The LNA advanced. The LNA said so.") == ["LNA", "LNA"]
    # A name keeps a verdict per occurrence within a field.
    name = "Libyan National Army probes it. Then at dawn the Libyan National Army took it."
    assert found(watchlist, content=name) == ["Libyan National Army"]


DIGEST_WATCHLIST = """
    entities:
      - id: tripoli
        names: [Tripoli]
        exclude_if_in_article: [Lebanon, Greece, synagogue]
        unless_in_article: [Libya]
      - id: anl
        acronyms: [ANL]
    """


def test_a_digests_other_briefs_neither_exclude_nor_lift_a_mention(
    write_watchlist: WriteWatchlist,
) -> None:
    # A morning briefing of many countries: the brief about Lebanon says nothing of the next
    # brief's Tripoli (heldout80), and "Libya" in one brief lifts nothing in another.
    watchlist = write_watchlist(DIGEST_WATCHLIST)
    briefs = [
        "18:21 Mali: a convoy attacked near Gao.",
        "17:46 Lebanon: parliament fails again to elect a president.",
        "17:17 In TRIPOLI, heavy gunfire near Martyrs' Square; the UN calls for calm.",
        "16:24 Greece: firefighters contain the Evia blaze.",
        "16:02 Cyprus: a deal with Athens on the undersea cable.",
    ]
    digest = "<p>" + "</p><p>".join(briefs) + "</p>"
    assert found(watchlist, title="Live: the day", content=digest) == ["TRIPOLI"]
    # Still excluded: the words in the title, in the mention's own brief, on the digest's
    # first line (its subject), or on most of its lines (a Lebanese digest).
    assert found(watchlist, title="Lebanon live", content=digest) == []
    own = briefs[:2] + ["17:17 Lebanon: in TRIPOLI, gunfire in Bab al-Tabbaneh."] + briefs[3:]
    assert found(watchlist, title="Live", content="<p>" + "</p><p>".join(own) + "</p>") == []
    lebanese = [f"{n}:00 Lebanon: item {n}." for n in range(4)] + [briefs[2]]
    assert found(watchlist, title="Live", content="<p>" + "</p><p>".join(lebanese) + "</p>") == []
    # Running paragraphs are one story: "Lebanon" anywhere in it excludes.
    story = (
        "<p>Heavy gunfire was heard in Tripoli overnight, residents said on Monday.</p>"
        "<p>The army of Lebanon deployed in the northern districts, officials said.</p>"
        "<p>Schools stayed closed across the city, the mayor's office said.</p>"
        "<p>Talks between the armed factions are due to resume on Tuesday afternoon.</p>"
    )
    assert found(watchlist, title="Night of clashes", content=story) == []
    # And "Libya" in another brief lifts no exclusion the mention's own brief makes.
    shabbat = [
        "Torah: the portion is Pinchas; the Tripoli synagogue reads the haftarah.",
        "Community: a lecture on the Jews of Libya after 1967.",
        "Youth: a visit to the Jewish museum.",
        "Candles: 7:58 pm.",
        "Kiddush: sponsored by the Levi family.",
    ]
    content = "<p>" + "</p><p>".join(shabbat) + "</p>"
    assert found(watchlist, title="This week", content=content) == []


def test_more_ways_an_article_defines_an_acronym_as_something_else(
    write_watchlist: WriteWatchlist,
) -> None:
    # Blind sets heldout77 and heldout82: an expansion that ends in a place its acronym
    # leaves out, a compound last word that gives two letters, an airport's code, a name in
    # capitals joined by a hyphen ("Nazi" is no stem of the Italian "nazionale").
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            names: [Libyan National Army, Esercito nazionale libico, Armée nationale libyenne]
            acronyms: [LNA, LAAF, ANL]
        """
    )
    tunis = "L'Association nationale des Libyens de Tunisie (ANL) a demandé. L'ANL dit."
    assert found(watchlist, content=tunis) == []
    airfield = "Runway work at Lawson Army Airfield (LAAF). Aircraft bound for LAAF divert."
    assert found(watchlist, content=airfield) == []
    airport = "Pilots using Palm Beach County Park Airport (LNA) must follow new routes."
    assert found(watchlist, content=airport) == []
    league = "Veterans of the Anti-Nazi League met. The ANL, founded in 1977, gave badges."
    assert found(watchlist, content=league) == []
    # Spelled out as the entity, with its place or its commander after the name: its own.
    own = "The Libyan National Army of Khalifa Haftar (LNA) advanced. The LNA said."
    assert found(watchlist, content=own) == ["Libyan National Army", "LNA", "LNA"]


def test_a_dateline_that_names_another_place_speaks_for_the_whole_story(
    write_watchlist: WriteWatchlist,
) -> None:
    # heldout82: "NEW TRIPOLI, Pa. —" dropped the dateline, while the headline's and the
    # body's bare "New Tripoli" stayed Libya's capital.
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            exclude_if_followed_by: {words: [Pa., Lebanon], within: 2}
            keep_if_near: {words: [Libya, Libyan], within: 2}
        """
    )
    body = (
        "<p>NEW TRIPOLI, Pa. — Residents packed the township building on Wednesday.</p>"
        "<p>Residents of New Tripoli, a village in Lehigh County, fear the trucks.</p>"
    )
    assert found(watchlist, title="New Tripoli fights rezoning", content=body) == []
    # Not a dateline: the same words later in the text leave the other mentions alone.
    later = (
        "<p>Militias clashed in Tripoli overnight, residents said on Wednesday.</p>"
        "<p>A sister city, New Tripoli, Pa., sent a message of support.</p>"
    )
    assert found(watchlist, content=later) == ["Tripoli"]
    # Nor does a dateline drop a mention its own words keep ("Tripoli, Libya").
    both = "<p>TRIPOLI, Lebanon — Flights to Tripoli, Libya resumed on Monday.</p>"
    assert found(watchlist, content=both) == ["Tripoli"]


def test_an_acronym_keeps_one_sense_per_brief_of_a_digest(write_watchlist: WriteWatchlist) -> None:
    # heldout83: an evening bulletin's brief on Libya ("L'Lna di Haftar ...") lost its army
    # to the hockey brief below it ("In LNA l'Ambrì-Piotta ...", a Swiss league): one
    # sense through a field, where each brief is a story of its own.
    watchlist = write_watchlist(
        """
        entities:
          - id: lna
            acronyms: [LNA]
            exclude_if_near: {words: [hockey], within: 12}
        """
    )
    briefs = [
        "Libia – L'LNA di Haftar ha chiuso il valico di Ras Ajdir.",
        "Hockey – In LNA l'Ambrì-Piotta batte il Davos 3-2.",
        "Meteo – Schiarite sul Sottoceneri.",
        "Borsa – Piazza Affari chiude in rialzo.",
    ]
    digest = "<p>" + "</p><p>".join(briefs) + "</p>"
    assert found(watchlist, title="Il notiziario", content=digest) == ["LNA"]
    # In running text the field keeps one sense: the hockey league throughout.
    story = (
        "<p>Libia e hockey: la LNA di Haftar non c'entra, spiegano al club.</p>"
        "<p>In hockey la LNA riprende sabato con il derby del Ticino, e il Davos attende.</p>"
    )
    assert found(watchlist, title="Sport", content=story) == []
