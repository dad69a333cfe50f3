"""Entry dates as feeds write them (`monitor.dates`): month names in other languages, the
forms feedparser leaves unread or misreads, and the dates no calendar has. Each class with
cases of its own; then a held-out set written by someone who had not seen this code
(tests/data/dates_heldout.json: 129 dates of 25 classes, 94 read right before this module)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.parse import parse_feed

HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "dates_heldout.json"


def published(date: str) -> datetime | None:
    text = date.replace("&", "&amp;").replace("<", "&lt;")
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><guid>a</guid><title>t</title><pubDate>{text}</pubDate></item></channel></rss>"
    ).encode()
    entry = parse_feed(body, "https://example.org/feed.xml").entries[0]
    return entry.published


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


# A CMS set to another language writes RFC 822 with its own day and month names: the day's
# name is not read (it may be wrong), the month's is, cut short or not, with or without its
# accents; a date without a time is midnight; no zone is UTC.
OTHER_LANGUAGES = [
    ("sam., 14 févr. 2026 08:15:00 +0100", utc(2026, 2, 14, 7, 15)),  # French
    ("samedi 14 février 2026 08:15", utc(2026, 2, 14, 8, 15)),
    ("14 fevrier 2026", utc(2026, 2, 14)),
    ("Sa, 14 Feb 2026 08:15:00 +0100", utc(2026, 2, 14, 7, 15)),  # German (Feb as English)
    ("Mi, 11 Mär 2026 23:30:00 +0100", utc(2026, 3, 11, 22, 30)),
    ("Mittwoch, 11. März 2026 23:30 MEZ", utc(2026, 3, 11, 22, 30)),  # CET in German
    ("Mittwoch, 11. März 2026 23:30 XYZT", None),  # a zone name of no place we know
    ("Mittwoch, 11. Maerz 2026 23:30:00 +0100", utc(2026, 3, 11, 22, 30)),
    ("lun, 02 nov 2026 06:00:00 -0300", utc(2026, 11, 2, 9)),  # Spanish
    ("2 de noviembre de 2026 06:00", utc(2026, 11, 2, 6)),
    ("sab, 18 lug 2026 21:00:00 +0200", utc(2026, 7, 18, 19)),  # Italian
    ("qua, 21 out 2026 14:00:00 -0300", utc(2026, 10, 21, 17)),  # Portuguese
    ("za, 04 jul 2026 12:00:00 +0200", utc(2026, 7, 4, 10)),  # Dutch
    ("Paz, 25 Eki 2026 10:00:00 +0300", utc(2026, 10, 25, 7)),  # Turkish
    ("Pzt, 02 Şub 2026 10:00:00 +0300", utc(2026, 2, 2, 7)),
    ("Пн, 16 ноя 2026 08:00:00 +0300", utc(2026, 11, 16, 5)),  # Russian
    ("16 ноября 2026 г. 08:00", utc(2026, 11, 16, 8)),
    ("الأحد، 08 فبراير 2026 09:00:00 +0200", utc(2026, 2, 8, 7)),  # Arabic
    ("08 شباط 2026 09:00:00 +0200", utc(2026, 2, 8, 7)),  # the Levant's month names
    ("Sunday, February 8, 2026 9:00 PM", utc(2026, 2, 8, 21)),
    ("February 8, 2026 12:05 a.m. EST", utc(2026, 2, 8, 5, 5)),
    ("February 8, 2026", utc(2026, 2, 8)),  # English, month first
    ("Feb. 8, 2026 09:00:00 +0200", utc(2026, 2, 8, 7)),
    ("08 Brumaire 2026 09:00", None),  # no month of ours
    # Added after the second held-out set: more languages, genitives, ordinals, year first.
    ("ons, 14 okt 2026 07:30:00 +0200", utc(2026, 10, 14, 5, 30)),  # Swedish
    ("tiistai 14. lokakuuta 2026 klo 7.30 +0300", utc(2026, 10, 14, 4, 30)),  # Finnish
    ("środa, 14 października 2026 07:30 +0200", utc(2026, 10, 14, 5, 30)),  # Polish
    ("středa 14. října 2026 07:30:00 +0200", utc(2026, 10, 14, 5, 30)),  # Czech
    ("Τρι, 14 Οκτ 2026 07:30:00 +0300", utc(2026, 10, 14, 4, 30)),  # Greek
    ("Вт, 14 жовтня 2026 07:30:00 +0300", utc(2026, 10, 14, 4, 30)),  # Ukrainian
    ("Rabu, 14 Oktober 2026 07:30 WIB", utc(2026, 10, 14, 0, 30)),  # Indonesian
    ("2026. október 14., szerda 07:30 +0200", utc(2026, 10, 14, 5, 30)),  # Hungarian
    ("14 تشرين الأول 2026 07:30:00 +0300", utc(2026, 10, 14, 4, 30)),  # Levant, two words
    ("quarta-feira, 14 de outubro de 2026 07:30:00 -0300", utc(2026, 10, 14, 10, 30)),
    ("14th October 2026", utc(2026, 10, 14)),  # ordinals
    ("October 14th, 2026 at 7:30 p.m. EDT", utc(2026, 10, 14, 23, 30)),
    ("1er octobre 2026 à 07:30 +02:00", utc(2026, 10, 1, 5, 30)),
    ("14 listopada 2026 07:30 +0100", None),  # November in Polish, October in Croatian
    # Added after the third held-out set: 17 more languages, year-first forms, labels.
    ("dimecres, 14 d'octubre de 2026 07:30", utc(2026, 10, 14, 7, 30)),  # Catalan
    ("14 de outubro de 2026 07:30 +01:00", utc(2026, 10, 14, 6, 30)),  # Galician
    ("srijeda, 14. listopada 2026. u 07:30", None),  # Croatian October: left unread
    ("utorak, 14. srpnja 2026. u 07:30", utc(2026, 7, 14, 7, 30)),  # Croatian July
    ("среда, 14. октобар 2026. 07:30", utc(2026, 10, 14, 7, 30)),  # Serbian Cyrillic
    ("sreda, 14. oktober 2026 ob 7.30", utc(2026, 10, 14, 7, 30)),  # Slovenian
    ("сряда, 14 октомври 2026, 07:30 ч.", utc(2026, 10, 14, 7, 30)),  # Bulgarian
    ("2026 m. spalio 14 d. 07:30 +03:00", utc(2026, 10, 14, 4, 30)),  # Lithuanian
    ("2026. gada 14. oktobrī plkst. 07:30", utc(2026, 10, 14, 7, 30)),  # Latvian
    ("2026ko urriaren 14a, 07:30", utc(2026, 10, 14, 7, 30)),  # Basque
    ("14. oktoober 2026 kell 07:30", utc(2026, 10, 14, 7, 30)),  # Estonian
    ("e mërkurë, 14 tetor 2026 07:30", utc(2026, 10, 14, 7, 30)),  # Albanian
    ("Rabu, 14 Oktober 2026, 7:30 malam", utc(2026, 10, 14, 19, 30)),  # Malay
    ("Oktubre 14, 2026 07:30 +08:00", utc(2026, 10, 13, 23, 30)),  # Tagalog
    ("Jumatano, 14 Oktoba 2026 07:30", utc(2026, 10, 14, 7, 30)),  # Swahili
    ("۱۴ اکتبر ۲۰۲۶ - ۰۷:۳۰", utc(2026, 10, 14, 7, 30)),  # Persian, Persian digits
    ("14 اکتوبر 2026 07:30", utc(2026, 10, 14, 7, 30)),  # Urdu
    ("יום רביעי, 14 באוקטובר 2026 07:30", utc(2026, 10, 14, 7, 30)),  # Hebrew
    ("2026年10月14日 下午7:30", utc(2026, 10, 14, 19, 30)),  # Chinese
    ("2026年10月14日(水) 午前7時30分 JST", utc(2026, 10, 13, 22, 30)),  # Japanese
    ("2026년 10월 14일 (수) 오후 7:30", utc(2026, 10, 14, 19, 30)),  # Korean
    ("Thứ tư, ngày 14 tháng 10 năm 2026, 07:30 (GMT+7)", utc(2026, 10, 14, 0, 30)),
    ("07:30 GMT, 14 October 2026", utc(2026, 10, 14, 7, 30)),  # time first
    ("Updated: October 14, 2026 7:30 PM EDT", utc(2026, 10, 14, 23, 30)),  # a label
]


@pytest.mark.parametrize(("date", "expected"), OTHER_LANGUAGES)
def test_month_names_in_other_languages_are_read(date: str, expected: datetime | None) -> None:
    assert published(date) == expected


# Forms feedparser misreads or leaves unread.
OTHER_FORMS = [
    ("Sat Feb 14 08:15:00 EET 2026", utc(2026, 2, 14, 6, 15)),  # Java, `date`: zone kept
    ("Sat Feb 14 08:15:00 GMT 2026", utc(2026, 2, 14, 8, 15)),
    ("Sat Feb 14 08:15:00 +0530 2026", utc(2026, 2, 14, 2, 45)),
    ("20260214T081500Z", utc(2026, 2, 14, 8, 15)),  # ISO 8601 basic
    ("20260214T0815+0100", utc(2026, 2, 14, 7, 15)),
    ("2026-02-14 08:15:00 PM +05:30", utc(2026, 2, 14, 14, 45)),  # feedparser drops the PM
]


@pytest.mark.parametrize(("date", "expected"), OTHER_FORMS)
def test_forms_feedparser_misreads_are_read_here(date: str, expected: datetime) -> None:
    assert published(date) == expected


# Dates all in numbers but not ISO 8601: feedparser made "2025/11/30" the 1st of December
# (it read the year and filled in the rest), and "2004년 05월 28일  01:31:15" too.
NUMERIC_FORMS = [
    ("2025/11/30 09:05", utc(2025, 11, 30, 9, 5)),
    ("2025/7/4", utc(2025, 7, 4)),
    ("2025.11.30 09:05:10 +0200", utc(2025, 11, 30, 7, 5, 10)),
    ("2025. 11. 30. 오후 9:05", utc(2025, 11, 30, 21, 5)),  # Korean: dotted, PM written first
    ("2025-11-30 오전 9:05:10", utc(2025, 11, 30, 9, 5, 10)),
    ("2025년 11월 30일  21:05:10", utc(2025, 11, 30, 21, 5, 10)),  # seconds were dropped
    ("30.11.2025 09:05", utc(2025, 11, 30, 9, 5)),  # a dot: day first
    ("1.7.2025", utc(2025, 7, 1)),
    ("Pzt, 07.07.2025 - 09:05", utc(2025, 7, 7, 9, 5)),
    ("30/11/2025 09h05", utc(2025, 11, 30, 9, 5)),  # 30 is no month: day first
    ("11/30/2025 9:05 PM EST", utc(2025, 12, 1, 2, 5)),  # 30 is no month: month first
    ("30-11-2025", utc(2025, 11, 30)),
    ("20251130", utc(2025, 11, 30)),
    ("Sun, 30 Nov 2025 09:05:10.250 +0100", utc(2025, 11, 30, 8, 5, 10)),  # a fraction
    ("Wed, 31 Dec 2025 23:59:60 +0000", utc(2025, 12, 31, 23, 59, 59)),  # a leap second
    ("Κυρ, 30 Νοέ 2025 09:05:00 EST", utc(2025, 11, 30, 14, 5)),  # Greek, accented
    ("ΚΥΡ, 30 ΝΟΕ 2025 09:05:00 +0200", utc(2025, 11, 30, 7, 5)),
    ("2025-november-30T9:05-05:00", utc(2025, 11, 30, 14, 5)),
    ("30 novembre 2025 à 9h05", utc(2025, 11, 30, 9, 5)),
    ("30 novembre 2025, 21h", utc(2025, 11, 30, 21)),
]


@pytest.mark.parametrize(("date", "expected"), NUMERIC_FORMS)
def test_dates_in_numbers_are_read(date: str, expected: datetime) -> None:
    assert published(date) == expected


# A day and a month in numbers that could be either (March 5 or May 3) are no date, as is
# a date feedparser fills in from its year alone: one guess misplaces half of them by months.
NOT_TOLD = ["05/03/2026", "03-05-2026 14:30", "2026/13/05", "2026.02.30", "31.02.2026", "12345678"]


@pytest.mark.parametrize("date", NOT_TOLD)
def test_a_day_and_month_that_could_be_either_are_no_date(date: str) -> None:
    assert published(date) is None


# Zones, clocks and numbers of a fourth blind set's classes (tests/data/dates_heldout4.json),
# each with strings of its own: zones feedparser reads as UTC, ISO dates with a zone written
# otherwise (feedparser kept the day and dropped the time), a 12-hour clock it read as
# 24-hour, RFC 822's military letters with their old signs, U+2212 for the minus sign.
MORE_FORMS = [
    ("Fri, 06 Nov 2026 09:15:00 ACDT", utc(2026, 11, 5, 22, 45)),
    ("Fri, 06 Nov 2026 09:15:00 BRT", utc(2026, 11, 6, 12, 15)),
    ("Fri, 06 Nov 2026 09:15:00 HST", utc(2026, 11, 6, 19, 15)),
    ("Fri, 06 Nov 2026 09:15:00 IRST", utc(2026, 11, 6, 5, 45)),
    ("November 6, 2026 9:15 AM PT", utc(2026, 11, 6, 17, 15)),  # PST on that day
    ("June 6, 2026 9:15 PM ET", utc(2026, 6, 7, 1, 15)),  # EDT on that day
    ("June 6, 2026 9:15 PM CEST", utc(2026, 6, 6, 19, 15)),  # the PM was dropped
    ("Sat, 06 Jun 2026 09:15:00 PM GMT", utc(2026, 6, 6, 21, 15)),
    ("2026-11-06 09:15:00 +2", utc(2026, 11, 6, 7, 15)),
    ("2026-11-06 09:15 UTC-4", utc(2026, 11, 6, 13, 15)),
    ("2026-11-06 09:15 (UTC+05:30) Chennai, Kolkata", utc(2026, 11, 6, 3, 45)),
    ("2026-11-06 09:15:00 +01:00 CET", utc(2026, 11, 6, 8, 15)),
    ("2026-11-06 09:15 Europe/Paris", utc(2026, 11, 6, 8, 15)),
    # An ISO time with a zone's name: the zone was dropped (probe67: "EET" two hours off).
    ("2026-12-07T02:00:00 EET", utc(2026, 12, 7, 0)),
    ("2026-12-07T02:00:00 PST", utc(2026, 12, 7, 10)),
    ("2026-06-07T02:00 ET", utc(2026, 6, 7, 6)),  # EDT on that day
    ("2026-11-06T09:15:00\u221205:00", utc(2026, 11, 6, 14, 15)),  # U+2212
    ("Fri, 06 Nov 2026 09:15:00 B", utc(2026, 11, 6, 9, 15)),  # military: -0000
    ("2016-12-31T23:59:60Z", utc(2016, 12, 31, 23, 59, 59)),  # a leap second, ISO
    ("1793956500000", utc(2026, 11, 6, 9, 15)),  # milliseconds
    ("@1793956500", utc(2026, 11, 6, 9, 15)),
    ("06/06/2026 09:15", utc(2026, 6, 6, 9, 15)),  # day and month alike: one date
    ("20261106091500", utc(2026, 11, 6, 9, 15)),
    ("2026-11-06 09H15", utc(2026, 11, 6, 9, 15)),
    ("6 novembre 2026 9h15min", utc(2026, 11, 6, 9, 15)),
    ("November 6, 2026 9 PM", utc(2026, 11, 6, 21)),
    # A date inside other words, as CMS templates write it.
    ("Posted on Friday, November 6, 2026 at 9:15 pm by Editor", utc(2026, 11, 6, 21, 15)),
    ("By A. Writer | 6 November 2026 09:15 GMT | 3 min read", utc(2026, 11, 6, 9, 15)),
    ("Filed under World on 2026-11-06", utc(2026, 11, 6)),
    ('<time datetime="2026-11-06T09:15:00Z">Friday</time>', utc(2026, 11, 6, 9, 15)),
]


@pytest.mark.parametrize(("date", "expected"), MORE_FORMS)
def test_zones_clocks_and_numbers_read_as_written(date: str, expected: datetime) -> None:
    assert published(date) == expected


def test_the_fourth_held_out_set_is_read_at_least_as_well_as_when_it_was_fixed() -> None:
    # 325 dates in 18 classes, written blind after the third set was fixed: 200 right as
    # written; 273 since (zones, odd offsets, 12-hour clocks, military letters, numbers,
    # dates inside other words).
    # What is left is mostly what the writer marked disputed (IST, "05.03.2026", DST gaps)
    # or forms feeds hardly write (ISO week dates, other calendars, dates inside prose).
    cases = json.loads((HELD_OUT.parent / "dates_heldout4.json").read_text(encoding="utf-8"))
    right = 0
    for case in cases:
        got = published(case["text"])
        right += (got.strftime("%Y-%m-%dT%H:%M:%SZ") if got else None) == case["expected"]
    assert len(cases) == 325 and right >= 273, right


# feedparser carries an impossible field over ("2026-02-30" is 2026-03-02) and dates a bare
# time today: neither is the date the feed meant.
NO_DATE = [
    "2026-02-30T10:00:00Z",
    "2026-02-29",  # 2026 is no leap year
    "2026-00-14T10:00:00Z",
    "2026-14-01T10:00:00+01:00",
    "2026-02-14T24:30:00Z",
    "2026-02-14T10:61:00Z",
    "08:15",
    "08:15:00 GMT",
    "08:15:00 +0100",
    "32 févr. 2026 08:15",
    "2026年2月30日 10:00",  # feedparser read it as 2026-12-01 (it filled in today)
]


@pytest.mark.parametrize("date", NO_DATE)
def test_an_impossible_date_or_a_bare_time_is_no_date(date: str) -> None:
    assert published(date) is None


def test_a_leap_day_and_a_leap_second_are_dates() -> None:
    assert published("2028-02-29T10:00:00Z") == utc(2028, 2, 29, 10)
    assert published("2026-12-31T23:59:60Z") is not None


@pytest.mark.parametrize(
    ("name", "count"),
    [("dates_heldout.json", 129), ("dates_heldout2.json", 90), ("dates_heldout3.json", 74)],
)
def test_the_held_out_dates_are_read_right(name: str, count: int) -> None:
    # The second set (90 dates, 10 classes) was written after the first was fixed: 68 of 90
    # were read right as written (more languages, genitives, ordinals, AM/PM in ISO); the
    # third (74, other languages and scripts) after the second: 26 of 74, and 22 of its
    # misses were dates feedparser made up from half a reading ("2026年3月5日" as
    # 2026-12-01, "14:30 GMT, 5 March 2026" as today).
    cases = json.loads((HELD_OUT.parent / name).read_text(encoding="utf-8"))
    wrong = []
    for case in cases:
        got = published(case["text"])
        shown = got.strftime("%Y-%m-%dT%H:%M:%SZ") if got is not None else None
        if shown != case["expected"]:
            wrong.append((case["class"], case["text"], case["expected"], shown))
    assert len(cases) == count and not wrong, wrong


def test_a_date_left_unread_is_said_in_the_feeds_warning() -> None:
    # An outside probe's French feed ("lun., 01 déc." before month names were read) was
    # stored undated without a word; what is still unread is now said where `monitor
    # sources` shows a feed's warnings.
    items = "".join(
        f"<item><guid>{n}</guid><title>t</title><pubDate>{date}</pubDate></item>"
        for n, date in enumerate(["sometime in October", "Tue, 01 Dec 2026 10:00:00 GMT", ""])
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
    feed = parse_feed(f"{body}</channel></rss>".encode(), "https://example.org/feed.xml")
    assert [e.published is None for e in feed.entries] == [True, False, True]
    # Said, but not as a malformed feed: the XML is well-formed.
    assert not feed.bozo and feed.note == (
        "1 entry with a date that is not read as one (e.g. 'sometime in October'): stored as "
        "undated"
    )
    readable = body.replace("sometime in October", "2026-12-01T10:00:00Z")
    assert parse_feed(f"{readable}</channel></rss>".encode(), "https://e.org/f.xml").note is None


@pytest.mark.parametrize(
    "date",
    [
        "Posted on March 5, 2026 at 14:30 (Europe/Berlin)",  # a zone apart: no instant
        "Published 5 March 2026, updated 7 March 2026",  # two dates: which one?
        "5 Mar 2569 BE",  # a year of another era
        "Issue 12 of 2026",
    ],
)
def test_a_date_inside_words_is_no_date_when_the_words_leave_it_open(date: str) -> None:
    assert published(date) is None
