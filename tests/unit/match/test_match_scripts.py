"""Where a name ends in scripts that mark words differently: Chinese, Japanese and Thai write
no spaces between words (a name is found inside a run of characters, and a Latin acronym next
to them stands alone), Korean joins its particles after a name, Hebrew joins its prefix
letters (ו ה ב כ ל מ ש) before it. Each class with traps: a longer word in a spaced script is
still no mention. Then the shipped Libya list in those languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.match import Matcher, Watchlist
from monitor.text import sentence_spans

WriteWatchlist = Callable[..., Watchlist]

SCRIPTS = """
    name: scripts
    entities:
      - id: tripoli
        kind: place
        names: [的黎波里, トリポリ, 트리폴리, טריפולי, ตริโปลี, Tripoli]
      - id: lna
        kind: organization
        names: [리비아 국민군]
        acronyms: [LNA]
    """


def texts(watchlist: Watchlist, text: str) -> list[tuple[str, str]]:
    return [(m.entity, m.text) for m in Matcher([watchlist]).match({"content": text}).mentions]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # Chinese, Japanese, Thai: no word boundary inside a run of characters
        ("利比亚首都的黎波里发生冲突", "的黎波里"),
        ("的黎波里机场关闭", "的黎波里"),
        ("冲突波及的黎波里", "的黎波里"),
        ("リビアの首都トリポリで衝突", "トリポリ"),
        ("トリポリは静かだった", "トリポリ"),
        ("การปะทะในตริโปลีเมื่อวาน", "ตริโปลี"),
        # Korean: particles joined after the name
        ("트리폴리에서 충돌", "트리폴리"),
        ("트리폴리로 진격했다", "트리폴리"),
        ("트리폴리의 공항", "트리폴리"),
        ("리비아 국민군은 진격했다", "리비아 국민군"),
        # Hebrew: prefix letters joined before the name
        ("עימותים בטריפולי", "טריפולי"),
        ("ובטריפולי נשמעו יריות", "טריפולי"),
        ("הכוחות נסוגו מטריפולי", "טריפולי"),
        ("שבטריפולי", "טריפולי"),
        # A Latin acronym or name beside characters of an unspaced or Korean text
        ("支持LNA的武装", "LNA"),
        ("LNA部队推进", "LNA"),
        ("LNA는 성명을 냈다", "LNA"),
        ("LNAは声明を出した", "LNA"),
        ("Tripoliで会談", "Tripoli"),
    ],
)
def test_a_name_is_found_where_its_script_ends_words(
    write_watchlist: WriteWatchlist, text: str, found: str
) -> None:
    assert found in [t for _, t in texts(write_watchlist(SCRIPTS), text)]


@pytest.mark.parametrize(
    "text",
    [
        # Hebrew: letters that are no prefix, or too many of them
        "אטריפולי",
        "ובשמלטריפולי",
        "טריפוליטניה",  # Tripolitania: the name goes on
        # Korean: a name inside a longer word (letters before it)
        "북트리폴리",
        # spaced scripts keep whole words: Latin letters before or after
        "Tripolitania",
        "XTripoli",
        "LNAs",
        "ulna",
        # a Latin acronym joined to Cyrillic or Greek letters is one word, not two
        "LNAд",
    ],
)
def test_a_longer_word_in_a_spaced_script_is_no_mention(
    write_watchlist: WriteWatchlist, text: str
) -> None:
    assert texts(write_watchlist(SCRIPTS), text) == []


def test_chinese_and_japanese_sentences_end_without_a_space() -> None:
    text = "哈夫塔尔的部队向的黎波里推进。支持GNA的武装在城南集结！居民逃离？「停戦」と述べた。"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "哈夫塔尔的部队向的黎波里推进。",
        "支持GNA的武装在城南集结！",
        "居民逃离？",
        "「停戦」と述べた。",
    ]
    hindi = "त्रिपोली में हमला हुआ। हफ़्तार की सेना आगे बढ़ी।"
    assert [hindi[a:b] for a, b in sentence_spans(hindi)] == [
        "त्रिपोली में हमला हुआ।",
        "हफ़्तार की सेना आगे बढ़ी।",
    ]


def test_an_excerpt_in_chinese_is_the_sentence_with_the_name(
    write_watchlist: WriteWatchlist,
) -> None:
    result = Matcher([write_watchlist(SCRIPTS)]).match(
        {"content": "居民逃离城南。的黎波里机场关闭。市场照常营业。"}
    )
    assert [e.text for e in result.excerpts] == ["的黎波里机场关闭。"]


# --- the shipped Libya list in these languages ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("利比亚国民军向的黎波里推进，哈夫塔尔发表讲话。", {"lna", "tripoli", "haftar"}),
        ("民族团结政府总理萨拉杰在的黎波里会见特使。", {"gna", "tripoli"}),
        ("リビア国民軍がトリポリに進軍、ハフタル司令官が声明。", {"lna", "tripoli", "haftar"}),
        ("国民合意政府はトリポリで会見した。", {"gna", "tripoli"}),
        ("하프타르가 이끄는 리비아국민군이 트리폴리로 진격했다.", {"haftar", "lna", "tripoli"}),
        ("국민합의정부는 트리폴리에서 반발했다.", {"gna", "tripoli"}),
        ("כוחותיו של חפטר התקרבו לטריפולי.", {"haftar", "tripoli"}),
        ("ממשלת ההסכמה הלאומית בטריפולי גינתה את ההתקפה.", {"gna", "tripoli"}),
        ("Лівійська національна армія Хафтара наступає на Триполі.", {"lna", "haftar", "tripoli"}),
        ("Уряд національної згоди звернувся до Хафтарові.", {"gna", "haftar"}),
        ("ارتش ملی لیبی به فرماندهی حفتر به طرابلس نزدیک شد.", {"lna", "haftar", "tripoli"}),
        ("دولت وفاق ملی در طرابلس بیانیه داد.", {"gna", "tripoli"}),
        ("نیروهای حفتری از اطراف سرت عقب نشستند.", {"haftar"}),  # derived: Haftarist
        ("लीबियाई राष्ट्रीय सेना ने त्रिपोली पर हमला किया।", {"lna", "tripoli"}),
        ("हफ्तार की सेना आगे बढ़ी।", {"haftar"}),
        ("Tentara Nasional Libya pimpinan Haftar mendekati Tripoli.", {"lna", "haftar", "tripoli"}),
        ("Pemerintah Kesepakatan Nasional menolak tawaran itu.", {"gna"}),
        ("Quân đội Quốc gia Libya tiến về Tripoli.", {"lna", "tripoli"}),
        ("Chính phủ Hòa hợp Dân tộc bác bỏ đề xuất.", {"gna"}),
        ("Jeshi la Kitaifa la Libya limeshambulia Tripoli.", {"lna", "tripoli"}),
        ("Serikali ya Makubaliano ya Kitaifa ilikataa.", {"gna"}),
    ],
)
def test_the_libya_list_names_the_entities_in_more_languages(
    libya_matcher: Matcher, text: str, entities: set[str]
) -> None:
    found = {m.entity for m in libya_matcher.match({"content": text}).mentions}
    assert entities <= found, found


HEBREW = """
    name: hebrew
    entities:
      - id: lna
        kind: organization
        names: [הצבא הלאומי הלובי]
    """


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("הצבא הלאומי הלובי התקדם", True),
        ("והצבא הלאומי הלובי התקדם", True),
        # ב ל כ swallow the article: ל + הצבא is לצבא
        ("לצבא הלאומי הלובי מונה דובר", True),
        ("בצבא הלאומי הלובי", True),
        ("ובצבא הלאומי הלובי", True),
        ("שבצבא הלאומי הלובי", True),
        # without its article the name needs one of those before it
        ("צבא הלאומי הלובי", False),
        ("מצבא הלאומי הלובי", False),
        ("אצבא הלאומי הלובי", False),
    ],
)
def test_hebrew_prepositions_swallow_the_article_of_a_name(
    write_watchlist: WriteWatchlist, text: str, found: bool
) -> None:
    assert bool(texts(write_watchlist(HEBREW), text)) is found


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        # a middle dot between the parts of a foreign name is a space: a son's full name is
        # the son (the family rule), whatever the script
        ("萨达姆·哈夫塔尔出席班加西会议", "saddam_haftar"),
        ("サダム・ハフタル氏がローマを訪問", "saddam_haftar"),
        ("사담 하프타르는 로마를 방문했다", "saddam_haftar"),
        ("סדאם חפטר נפגש עם השגריר", "saddam_haftar"),
        ("सद्दाम हफ़्तार ने रोम में मुलाक़ात की", "saddam_haftar"),
        ("哈立德·哈夫塔尔被任命为总参谋长", "khaled_haftar"),
        ("ベルカセム・ハフタル氏が橋を開通", "belgassem_haftar"),
    ],
)
def test_a_sons_full_name_is_the_son_in_more_scripts(
    libya_matcher: Matcher, text: str, entity: str
) -> None:
    found = {m.entity for m in libya_matcher.match({"content": text}).mentions}
    assert entity in found and "haftar" not in found, found


@pytest.mark.parametrize(
    "text",
    [
        # another Tripoli, Tripolitania (a longer word: beside "Libya" too)
        "利比亚的黎波里塔尼亚地区今年降雨偏少。",
        "リビアのトリポリタニア地方で雨。",
        # the Syrian National Army, even in an article about Libya
        "叙利亚国民军雇佣兵被派往利比亚。",
        "シリア国民軍の戦闘員がリビアへ。",
        # the amplifier, the Ghana News Agency, the US ship
        "国产低噪声放大器LNA芯片实现量产。",
        "ガーナ、カカオ豆の輸出税を引き下げ（GNA）。",
        "米強襲揚陸艦「トリポリ」が佐世保に入港。",
        "黎巴嫩北部城市的黎波里发生抗议。",
        "的黎波里塔尼亚地区历史悠久。",
        "レバノン北部のトリポリで抗議が続いた。",
        "トリポリタニア地方の歴史。",
        "레바논 트리폴리에서 시위가 벌어졌다.",
        "트리폴리타니아 지역의 역사.",
        "הפגנות בטריפולי שבלבנון.",
        "Протести в ліванському Триполі тривають.",
        # another government, a half-time show
        "利比亚民族统一政府总理德拜巴宣布选举日期。",
        "德贝巴领导的民族团结政府宣布选举日期。",
        "축구 경기 하프타임에 공연이 열렸다.",
    ],
)
def test_the_libya_list_keeps_the_traps_out_in_more_languages(
    libya_matcher: Matcher, text: str
) -> None:
    found = {m.entity for m in libya_matcher.match({"content": text}).mentions}
    assert not found & {"haftar", "lna", "gna", "tripoli"}, found


def test_a_georgian_name_of_a_proper_noun_is_no_common_word_beside_capitals(
    write_watchlist: WriteWatchlist,
) -> None:
    # A blind set (heldout60): Georgian letters are lower case for Unicode (their capitals,
    # Mtavruli, came in 2018 and running text does not use them), so every "ტრიპოლი" beside
    # a Latin "GNA" was dropped as a word in lower case.
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli, ტრიპოლი]
            proper_noun: true
        """
    )
    assert texts(watchlist, "ტრიპოლი — მთავრობამ (GNA) განაცხადა.") == [("tripoli", "ტრიპოლი")]
    # The Latin name keeps its rule: "tripoli" in lower case beside capitals is the abrasive.
    assert texts(watchlist, "Polish with tripoli and Rouge.") == []


def test_indic_endings_join_the_name_and_a_zulu_prefix_keeps_it_cased(
    write_watchlist: WriteWatchlist,
) -> None:
    # A blind set (heldout61): Tamil, Telugu, Gujarati and Malayalam join case endings and
    # postpositions to the name, as Korean joins its particles; every such form was "inside
    # a longer word". Zulu joins a lower-case prefix to a capitalised name ("eTripoli").
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli, திரிபோலி, ત્રિપોલી, ട്രിപ്പോളി, eTripoli]
            proper_noun: true
          - id: haftar
            names: [હફ્તાર]
        """
    )
    assert texts(watchlist, "திரிபோலியின் தெற்கே மோதல்") == [("tripoli", "திரிபோலி")]
    assert texts(watchlist, "હફ્તારના દળો ત્રિપોલીની નજીક") == [
        ("haftar", "હફ્તાર"),
        ("tripoli", "ત્રિપોલી"),
    ]
    assert texts(watchlist, "സേന ട്രിപ്പോളിയിലേക്ക്") == [("tripoli", "ട്രിപ്പോളി")]
    assert texts(watchlist, "Amabutho ahlasela eTripoli namuhla") == [("tripoli", "eTripoli")]
    # An ending does not make a name of a longer word of another script.
    assert texts(watchlist, "Tripolitan and Tripolis") == []


def test_a_lower_case_prefix_joined_to_a_capitalised_name_is_the_name(
    write_watchlist: WriteWatchlist,
) -> None:
    # Two blind sets (heldout64, heldout65): Bantu languages join their noun-class,
    # locative and possessive prefixes to a name (Shona "kuTripoli", "aHaftar", "eLNA",
    # "yeGNA"; Xhosa "kaHaftar", and "UHaftar" at a sentence's start), and Irish eclipsis
    # writes "i dTripoli": the capital shows where the name starts.
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [Tripoli]
            proper_noun: true
          - id: haftar
            names: [Haftar]
            not_names: [Saddam Haftar]
          - id: lna
            acronyms: [LNA]
          - id: gna
            acronyms: [GNA]
        """
    )
    assert texts(watchlist, "Hondo muLibya: mauto aHaftar anorwisa kuTripoli") == [
        ("haftar", "Haftar"),
        ("tripoli", "Tripoli"),
    ]
    assert texts(watchlist, "Mauto eLNA ne hurumende yeGNA") == [("lna", "LNA"), ("gna", "GNA")]
    assert texts(watchlist, "UHaftar uthi makarhoxe.") == [("haftar", "Haftar")]
    assert texts(watchlist, "Ionsaí roicéad ar aerfort i dTripoli") == [("tripoli", "Tripoli")]
    # A son joined to a prefix is still the son, not his father.
    assert texts(watchlist, "USaddam Haftar noKhaled bafikile") == []
    # No prefix where the case does not show one, or the letters are no prefix: inside a
    # word, letters no language joins so, a capital before the name, a capital vowel before
    # an acronym ("IGNA"), an eclipsis before a capital it does not eclipse ("dHaftar").
    assert texts(watchlist, "Atripoli Khaftar xTripoli qoHaftar ETRIPOLI IGNA XLNA") == []
    assert texts(watchlist, "dHaftar bTripoli") == []


def test_dhivehi_endings_join_the_name(write_watchlist: WriteWatchlist) -> None:
    # A blind set (heldout65): Thaana joins case endings to a name as the scripts of India do
    # (ޓްރިޕޮލީއަށް "to Tripoli", ހަފްތަރުގެ "Haftar's"); every such form was "inside a
    # longer word".
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [ޓްރިޕޮލީ]
          - id: haftar
            names: [ހަފްތަރު]
        """
    )
    assert texts(watchlist, "ޓްރިޕޮލީއަށް ހަފްތަރުގެ ސިފައިން ހަމަލާދެނީ") == [
        ("tripoli", "ޓްރިޕޮލީ"),
        ("haftar", "ހަފްތަރު"),
    ]


def test_santali_manipuri_and_sylheti_endings_join_the_name(
    write_watchlist: WriteWatchlist,
) -> None:
    # A blind set (heldout76): Ol Chiki, Meetei Mayek and Syloti Nagri join case endings to
    # a name as the scripts of India do ("in Tripoli", "from Tripoli", "Haftar's").
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [ᱴᱨᱤᱯᱚᱞᱤ, ꯇ꯭ꯔꯤꯄꯣꯂꯤ, ꠔ꠆ꠞꠤꠙꠟꠤ]
          - id: haftar
            names: [ᱦᱟᱯᱷᱛᱟᱨ]
        """
    )
    assert texts(watchlist, "ᱴᱨᱤᱯᱚᱞᱤᱨᱮ ᱦᱟᱯᱷᱛᱟᱨᱟᱜ ᱯᱷᱟᱣᱡᱽ; ꯇ꯭ꯔꯤꯄꯣꯂꯤꯗꯒꯤ; ꠔ꠆ꠞꠤꠙꠟꠤꠔ") == [
        ("tripoli", "ᱴᱨᱤᱯᱚᱞᱤ"),
        ("haftar", "ᱦᱟᱯᱷᱛᱟᱨ"),
        ("tripoli", "ꯇ꯭ꯔꯤꯄꯣꯂꯤ"),
        ("tripoli", "ꠔ꠆ꠞꠤꠙꠟꠤ"),
    ]


def test_gilakis_genitive_mark_joins_the_name(write_watchlist: WriteWatchlist) -> None:
    # A blind set (heldout73): Gilaki writes its genitive as a caron joined to the word
    # ("خلیفه حفترˇ نیروأن", Haftar's forces; "طرابلسˇ میأن", in Tripoli).
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [طرابلس]
          - id: haftar
            names: [حفتر]
        """
    )
    assert texts(watchlist, "خلیفه حفترˇ نیروأن طرابلسˇ میأن") == [
        ("haftar", "حفتر"),
        ("tripoli", "طرابلس"),
    ]


def test_syriac_proclitics_and_tibetan_particles_join_the_name(
    write_watchlist: WriteWatchlist,
) -> None:
    # A blind set (heldout66): Syriac joins "and", "of", "in", "to" (ܘ ܕ ܒ ܠ) to a name as
    # Hebrew does; Tibetan joins a case particle to the syllable before it (ཏྲི་པོ་ལིའི་, "of
    # Tripoli"). Each was "inside a longer word".
    watchlist = write_watchlist(
        """
        entities:
          - id: tripoli
            names: [ܛܪܝܦܘܠܝ, ཏྲི་པོ་ལི]
          - id: haftar
            names: [ܚܦܬܪ]
        """
    )
    assert texts(watchlist, "ܫܠܝܚܐ ܦܓܥ ܒܣܪܐܓ ܘܒܚܦܬܪ ܒܛܪܝܦܘܠܝ") == [
        ("haftar", "ܚܦܬܪ"),
        ("tripoli", "ܛܪܝܦܘܠܝ"),
    ]
    assert texts(watchlist, "ཏྲི་པོ་ལིའི་གནམ་ཐང་") == [("tripoli", "ཏྲི་པོ་ལི")]
    # Other Syriac letters before the name make another word.
    assert texts(watchlist, "ܐܚܦܬܪ ܣܛܪܝܦܘܠܝ") == []
