"""An entry's date in UTC from what its feed wrote: feedparser's reading, checked, and the
forms it leaves unread or misreads (zone names it does not know, month names in other
languages, impossible dates it carries over into the next month)."""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_RFC822_MAX_CHARS = 64  # longer than any date: not one, and not worth reading

# Dates outside these years are placeholders, not dates: Go's zero time (0001-01-01),
# "9999-12-31" for "never"; so is the Unix time 0 (1970-01-01T00:00:00Z, a CMS's empty date
# field). Read as undated, they cannot break date arithmetic (a story window around year 1
# is out of Python's range), hold an entry back as 2,000 years old nor show it as from 1970.
_FIRST_YEAR = 1900
_LAST_YEAR = 2999


def entry_date(text: object, parsed: object) -> datetime | None:
    """An entry's ``published`` or ``updated`` in UTC, from the text its feed wrote and
    feedparser's reading of it (``*_parsed``). The text is made plain first (ASCII digits, no
    "Updated:" label, the time after the date). Read here first: a Unix time, ISO 8601 as
    the standard library reads it, a zone feedparser does not know by name, a `date`-style
    "Thu Mar 05 15:30:00 CET 2026", basic ISO, ISO with AM/PM, CJK and Vietnamese numeric
    dates, year-first dates with a month name. Then feedparser's reading, kept only when the
    text holds its day, month and year (`_written_in`); else month names in other languages
    and English ones written first, else the standard library's RFC 822. No date: a
    placeholder (before 1900, after 2999, the Unix time 0), an impossible one ("2026-04-31",
    an hour 25, a zone "+2500", which feedparser carries over), a time without a day."""
    if not isinstance(text, str) or len(text) > _RFC822_MAX_CHARS:
        text = None
    when: datetime | None = None
    if text is not None:
        text = _plain(text)
        if _impossible_offset(text) or _impossible_iso(text) or _TIME_ONLY.match(text):
            return None
        when = (
            _unix_time(text)
            or _strict_iso(text)
            or _iso_zoned(text)
            or _named_zone_datetime(text)
            or _zone_before_year(text)
            or _basic_iso(text)
            or _iso_half_day(text)
            or _numeric_labelled(text)
            or _numeric_date(text)
            or (_other_language(text) if _YEAR_FIRST.match(text) else None)
        )
    if when is None and parsed is not None and not (text and _UNTRUSTED.search(text)):
        # (feedparser drops "PM", "2:30 PM" would be 02:30, and reads RFC 822's military
        # zones with their old signs)
        when = _utc_datetime(parsed)
        if when is not None and not _FIRST_YEAR <= when.year <= _LAST_YEAR:
            return None  # a placeholder ("Mon, 01 Jan 0001"), however else it reads
        if when is not None and text is not None and not _written_in(when, text):
            when = None  # feedparser made a date the text does not say (see `_written_in`)
    if when is None and text is not None:
        when = _other_language(text) or _rfc822_datetime(text) or _date_in_words(text)
    if when is None or not _FIRST_YEAR <= when.year <= _LAST_YEAR or when.timestamp() == 0:
        return None
    return when


# A 12-hour clock's half of the day after a time: "2:30 PM", "2 p.m.", "9:00am".
_HALF_OF_DAY = re.compile(r"\d\s*[AaPp]\.?[Mm]\b")
# Forms whose reading by feedparser is not used: a 12-hour clock, RFC 5322's "-0000" (also
# made here from a military one-letter zone: `_plain`).
_UNTRUSTED = re.compile(rf"{_HALF_OF_DAY.pattern}|\d:\d\d(?::\d\d)? -0000$")
# Digits of other scripts (Persian, Arabic-Indic), as ASCII digits.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩\u2212", "01234567890123456789-")  # and − (U+2212)
# A label before the date: "Updated: March 5, 2026", "Published: 12 September 2025".
_LABEL = re.compile(
    r"\s*(?:last\s+)?(?:updated|published|posted(?:\s+on)?|date|actualizado|publicado|"
    r"mis à jour|publié(?:\s+le)?|aktualisiert|veröffentlicht)\s*:?\s+",
    re.IGNORECASE,
)
_LABEL_INITIALS = frozenset("udpamv")  # a cheap look before the pattern: most dates have none
# A time written before its date: "14:30 GMT, 5 March 2026", "14:30 ngày 5 tháng 3 năm 2026".
_TIME_FIRST = re.compile(
    r"\s*(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<zone>[A-Za-z]{2,5}|[+-]\d{2}:?\d{2})?\s*,?\s+"
    r"(?P<rest>.*\d{4}.*)$"
)


def _plain(text: str) -> str:
    """``text`` with ASCII digits, without a label before it, and its time after its date."""
    text = text.translate(_DIGITS)
    label = _LABEL.match(text) if text.lstrip()[:1].lower() in _LABEL_INITIALS else None
    if label is not None:
        text = text[label.end() :]
    found = _TIME_FIRST.match(text)
    if found is not None:
        text = f"{found['rest'].strip()} {found['time']} {found['zone'] or ''}".strip()
    if ":60" in text:
        text = _LEAP_SECOND.sub(r"\1:59", text)  # a leap second: the second before it
    military = _MILITARY_ZONE.search(text)
    if military is not None:
        # RFC 822's one-letter zones were defined with their signs reversed: RFC 5322 reads
        # any of them but Z as -0000 (no information).
        text = f"{text[: military.start(1)]}-0000"
    return text


_LEAP_SECOND = re.compile(r"(\d\d:\d\d):60(?!\d)")
_MILITARY_ZONE = re.compile(r"\d:\d\d(?::\d\d)?\s+([A-IK-Ya-ik-y])\s*$")


# ISO 8601 as the standard library reads it: "2025-08-09T10:20:30+0530" (feedparser read
# the offset as +05:00), "2026-09-14 18:00:00+03" (it dropped the time), "14:30:00,25Z".
_ISO_LIKE = re.compile(
    r"\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)


def _strict_iso(text: str) -> datetime | None:
    if not _ISO_LIKE.match(text):
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# Numbers and month names in a date's text, to check a reading against (`_written_in`).
_NUMBER = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]+")


def _written_in(when: datetime, text: str) -> bool:
    """Whether the text holds the day, month and year of ``when`` or of the day before or
    after it (its zone may shift it), as one date: feedparser, given a form it half reads,
    fills in the rest with today or the 1st ("14:30 GMT, 5 March 2026" became today at
    14:30; "2026年3月5日" and "2003/12/31" became the 1st of December). A day and a month
    are checked together: "31" and "12" do not vouch for the 1st of December."""
    numbers = {int(n) for n in _NUMBER.findall(text) if len(n) <= 4}
    folded = text.casefold()
    months: set[int | None] | None = None
    for day in (when, when - timedelta(days=1), when + timedelta(days=1)):
        if day.day not in numbers or not {day.year, day.year % 100} & numbers:
            continue
        if day.month in numbers or calendar.month_abbr[day.month].casefold() in folded:
            return True
        if months is None:
            months = {_month(w) for w in _LETTERS.findall(folded)}
        if day.month in months:
            return True
    return False


# Dates written with numbers and their words: "2026年3月5日 14:30", "2025년 10월 3일 (금) 오후
# 2:30", "2025年7月7日(月) 午後8時05分", "ngày 22 tháng 11 năm 2025, 20:05 (GMT+7)".
_CJK = re.compile(
    r"\s*(?P<year>\d{4})\s*[年년]\s*(?P<month>\d{1,2})\s*[月월]\s*(?P<day>\d{1,2})\s*[日일]"
    r"\s*(?:[(（][^)）]{1,3}[)）])?\s*(?P<half>上午|下午|午前|午後|오전|오후)?\s*"
    r"(?:(?P<hour>\d{1,2})\s*[:時시]\s*(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*[分분]?)?\s*"
    r"(?P<zone>JST|KST|CST|HKT|[(（]北京时间[)）]|[(（]北京時間[)）])?\s*$"
)
_VIETNAMESE = re.compile(
    r"\s*(?:[^\d,]*,\s*)?ngày\s+(?P<day>\d{1,2})\s+tháng\s+(?P<month>\d{1,2})\s+năm\s+"
    r"(?P<year>\d{4})\s*,?\s*(?:(?P<hour>\d{1,2}):(?P<minute>\d{2}))?\s*"
    r"(?:\(?GMT(?P<offset>[+-]\d{1,2})\)?)?\s*$"
)
_CJK_ZONES = {"JST": 9, "KST": 9, "CST": 8, "HKT": 8}


def _numeric_labelled(text: str) -> datetime | None:
    found = _CJK.match(text)
    offset = 0
    if found is not None:
        zone = found["zone"] or ""
        offset = _CJK_ZONES.get(zone, 8 if "北京" in zone else 0)
    else:
        found = _VIETNAMESE.match(text)
        if found is None:
            return None
        offset = int(found["offset"] or 0)
    hour = int(found["hour"] or 0)
    half = found.groupdict().get("half")
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half in ("下午", "午後", "오후") else 0)
    try:
        local = datetime(
            int(found["year"]), int(found["month"]), int(found["day"]), hour,
            int(found["minute"] or 0), int(found.groupdict().get("second") or 0), tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None
    return local - timedelta(hours=offset)


# Zones feeds write by name that feedparser does not know (it knows GMT, UT, the North
# American ones, MET and MEST, and reads any other name as UTC): hours east of UTC. IST is
# India's, whose news sites write it in their feeds.
_ZONE_HOURS = {
    "wet": 0.0, "west": 1.0, "bst": 1.0, "ist": 5.5, "cet": 1.0, "cest": 2.0, "eet": 2.0,
    "mez": 1.0, "mesz": 2.0,
    "eest": 3.0, "msk": 3.0, "trt": 3.0, "sast": 2.0, "cat": 2.0, "eat": 3.0, "wat": 1.0,
    "gst": 4.0, "pkt": 5.0, "npt": 5.75, "ict": 7.0, "wib": 7.0, "hkt": 8.0, "sgt": 8.0,
    "pht": 8.0, "awst": 8.0, "jst": 9.0, "kst": 9.0, "aest": 10.0, "aedt": 11.0,
    "nzst": 12.0, "nzdt": 13.0,
    "acst": 9.5, "acdt": 10.5, "awdt": 9.0, "chst": 10.0, "wita": 8.0, "wit": 9.0, "myt": 8.0,
    "irst": 3.5, "aft": 4.5, "brt": -3.0, "art": -3.0, "clt": -4.0, "clst": -3.0,
    "cot": -5.0, "pet": -5.0, "vet": -4.0, "bot": -4.0, "pyt": -4.0, "uyt": -3.0,
    "nst": -3.5, "ndt": -2.5, "hst": -10.0, "akst": -9.0, "akdt": -8.0, "sst": -11.0,
}  # fmt: skip
# North America's zones written without standard or daylight ("2:30 PM ET"): the clock of
# the place on that day (feedparser reads them as standard time all year).
_GENERIC_ZONES = {
    "et": ("America/New_York", -5), "ct": ("America/Chicago", -6),
    "mt": ("America/Denver", -7), "pt": ("America/Los_Angeles", -8),
}  # fmt: skip
# "... 09:00:00 CEST", "... 09:00:00 GMT+3", "... 09:00 UTC+05:30"
_NAMED_ZONE = re.compile(
    r"\s(?:(?P<name>[A-Za-z]{2,5})|\(?(?:GMT|UTC)\s?(?P<sign>[+-])(?P<hours>\d{1,2})"
    r"(?::?(?P<minutes>\d\d))?\)?)\s*$"
)


# A numeric zone at the end of a date: "+0100", "-05:00".
_NUMERIC_OFFSET = re.compile(r"[+-](?P<hours>\d\d):?(?P<minutes>\d\d)\s*$")
# What a zone follows: a time ("10:00-0500", "10:00:00.5 +0100"), a space, a zone's name.
_BEFORE_OFFSET = re.compile(r"(?:\d:\d\d(?::\d\d(?:[.,]\d+)?)?|\s|[A-Za-z])\s*$")


def _impossible_offset(text: str) -> bool:
    """True for a date whose zone no place has ("+2500", "-9999", "+01:75"): feedparser
    would shift the time by it (a day or four), and an entry published now would be held
    back by `alert_max_age` as days old. Such a date is no date."""
    found = _NUMERIC_OFFSET.search(text)
    if found is None or not _BEFORE_OFFSET.search(text, 0, found.start()):
        return False  # no zone: "30-11-2025" ends in a year
    return int(found["hours"]) > 14 or int(found["minutes"]) > 59


def _named_zone_datetime(text: str) -> datetime | None:
    """An RFC 822 date whose zone is a name of `_ZONE_HOURS` or "GMT+3", in UTC; else None
    (also for a 12-hour clock, which the standard library's reading drops: "2:30 PM CEST"
    is `_other_language`'s)."""
    found = _NAMED_ZONE.search(text)
    if found is None or _HALF_OF_DAY.search(text):
        return None
    if found["name"] is not None:
        name = found["name"].lower()
        if name in _GENERIC_ZONES:
            return _in_zone(_rfc822_datetime(text[: found.start()]), *_GENERIC_ZONES[name])
        hours = _ZONE_HOURS.get(name)
        if hours is None:
            return None
        minutes = round(hours * 60)
    else:
        minutes = int(found["hours"]) * 60 + int(found["minutes"] or 0)
        minutes = -minutes if found["sign"] == "-" else minutes
    if abs(minutes) > 14 * 60:
        return None
    offset = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return _rfc822_datetime(f"{text[: found.start()]} {offset}")


def _in_zone(
    local: datetime | None, zone: str, standard_hours: int | None = None
) -> datetime | None:
    """``local`` (a wall clock, naive or read as UTC) in the IANA ``zone``, in UTC; where the
    time zone database does not know it, ``standard_hours`` east of UTC, else None."""
    if local is None:
        return None
    try:
        return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except (ZoneInfoNotFoundError, ValueError):
        if standard_hours is None:
            return None
        return local.replace(tzinfo=UTC) - timedelta(hours=standard_hours)


# ISO 8601's date and time with a zone written otherwise: "+3", "+5:45", "UTC+3",
# "GMT-05:00", "(UTC+03:00) Moscow, St. Petersburg", "+05:30 IST", "Europe/Berlin".
_ISO_ZONED = re.compile(
    r"\s*(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?:[.,]\d+)?\s*"
    r"(?:\(?(?:UTC|GMT)?\s?(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?\)?"
    r"|(?P<area>[A-Z][a-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?|Etc/GMT[+-]\d{1,2})"
    r"|(?P<name>[A-Za-z]{2,5}))(?:\s+[^\d].*)?$"
)
# RFC 822's zone names (feedparser reads them in RFC 822 dates, not after an ISO time).
_RFC822_ZONE_HOURS = {
    "ut": 0, "utc": 0, "gmt": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7,
    "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip


def _iso_zoned(text: str) -> datetime | None:
    found = _ISO_ZONED.match(text)
    if found is None:
        return None
    try:
        local = datetime.fromisoformat(f"{found['date']}T{found['time'].zfill(5)}")
    except ValueError:
        return None
    if found["area"] is not None:
        return _in_zone(local, found["area"])  # None for a name the system does not know
    if found["name"] is not None:
        # "2026-12-07T02:00:00 EET": the zone was dropped, two hours off (probe67).
        name = found["name"].lower()
        if name in _GENERIC_ZONES:
            return _in_zone(local, *_GENERIC_ZONES[name])
        hours = _ZONE_HOURS.get(name, _RFC822_ZONE_HOURS.get(name))
        if hours is None:
            return None  # a name no table here has: read as before
        return (local - timedelta(hours=hours)).replace(tzinfo=UTC)
    minutes = int(found["hours"]) * 60 + int(found["minutes"] or 0)
    if int(found["hours"]) > 14 or int(found["minutes"] or 0) > 59:
        return None
    offset = timedelta(minutes=-minutes if found["sign"] == "-" else minutes)
    return (local - offset).replace(tzinfo=UTC)


def _unix_time(text: str) -> datetime | None:
    """A Unix time written as the date ("1767603600", "@1767603600", "1767603600.25", in
    milliseconds "1767603600000"), between 1990 and 2100; else None."""
    stripped = text.strip().removeprefix("@")
    whole, _, fraction = stripped.partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        return None
    if len(whole) == 13 and not fraction:
        whole = whole[:10]  # milliseconds
    elif len(whole) not in (9, 10):
        return None
    seconds = int(whole)
    if not 631152000 <= seconds <= 4102444800:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _rfc822_datetime(text: object) -> datetime | None:
    """An RFC 822 date feedparser leaves unread, chiefly one without a zone
    (``Tue, 1 Dec 2026 10:00``): read as UTC, as feedparser reads a zone-less ISO date."""
    if not isinstance(text, str) or len(text) > _RFC822_MAX_CHARS:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _utc_datetime(parsed: object) -> datetime | None:
    """feedparser's ``*_parsed`` values are struct_time in UTC (or None)."""
    if not isinstance(parsed, time.struct_time | tuple) or len(parsed) < 6:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (ValueError, TypeError, OverflowError):
        pass  # a leap second or another field out of range: let timegm carry it over
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


# "14:30", "14:30:00 GMT", "14:30:00 +0100": a time with no day (feedparser dates it today).
_TIME_ONLY = re.compile(r"\s*\d{1,2}:\d{2}(?::\d{2})?\s*(?:[A-Za-z]{1,5}|[+-]\d{2}:?\d{2})?\s*$")
# The date and time of an ISO 8601 text, as written: its fields are checked before
# feedparser's reading is used (it carries "2026-13-05" over into 2027-01-05).
_ISO = re.compile(
    r"\s*(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
)


def _impossible_iso(text: str) -> bool:
    """True for an ISO 8601 date no calendar has: month 13 or 0, April 31, hour 24 and
    later, minute 60 (a leap second, :60, is allowed)."""
    found = _ISO.match(text)
    if found is None:
        return False
    year, month, day = int(found["year"]), int(found["month"]), int(found["day"])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return True
    if found["hour"] is None:
        return False
    return int(found["hour"]) > 23 or int(found["minute"]) > 59 or int(found["second"] or 0) > 60


# ISO 8601's basic format: "20260305T143000Z", "20260305T1430+0100", "20260305".
_BASIC_ISO = re.compile(
    r"\s*(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?(?:\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)


def _basic_iso(text: str) -> datetime | None:
    found = _BASIC_ISO.match(text)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(g or 0) for g in found.groups()[:6])
    return _from_fields(
        {
            "day": str(day),
            "month": calendar.month_abbr[month] if 1 <= month <= 12 else None,
            "year": str(year),
            "time": f"{hour:02d}:{minute:02d}:{second:02d}",
            "half": None,
            "zone": found["zone"] or "Z",
        }
    )


# ISO 8601 with a 12-hour clock: "2026-03-05 02:30:00 PM +05:30" (feedparser drops the PM).
_ISO_HALF_DAY = re.compile(
    r"\s*(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ](?P<time>\d{1,2}:\d{2}(?::\d{2})?)"
    r"\s*(?P<half>[AaPp])\.?[Mm]\.?(?:\s*(?P<zone>[+-]\d{2}:?\d{2}|Z|[A-Za-z]{2,5}))?\s*$"
)


def _iso_half_day(text: str) -> datetime | None:
    found = _ISO_HALF_DAY.match(text)
    if found is None:
        return None
    month = int(found["month"])
    fields = found.groupdict()
    fields["month"] = calendar.month_abbr[month] if 1 <= month <= 12 else None
    return _from_fields(fields)


# Java's Date.toString() and Unix `date`: "Thu Mar 05 15:30:00 CET 2026", the zone before
# the year (feedparser reads it as UTC, whatever the zone).
_ZONE_BEFORE_YEAR = re.compile(
    r"\s*[A-Za-z]{3},?\s+(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\s+(?P<zone>[A-Za-z]{2,5}|[+-]\d{4})\s+(?P<year>\d{4})\s*$"
)


def _zone_before_year(text: str) -> datetime | None:
    found = _ZONE_BEFORE_YEAR.match(text)
    if found is None:
        return None
    return _from_fields(found.groupdict() | {"half": None})


# Month names as CMSs in other languages write them in feeds (full, genitive, cut short,
# with or without accents), and English full names ("March 5, 2026"): the month's number.
# Left out: "listopad(a)", November in Polish and Czech but October in Croatian.
_MONTH_NAMES = (
    # en fr de nl it es pt tr ru ar; sv da no fi pl cs sk hu ro uk el id
    "january jan janv janvier januar jän jänner januari ene enero gen gennaio janeiro oca "
    "ocak янв январь января يناير tammikuu tammikuuta tammi stycznia styczeń sty leden "
    "ledna január januára ianuarie ian січня січень січ ιανουαρίου ιανουάριος ιαν",
    "february feb févr fevr fév février fevrier februar februari febrero febbraio fev "
    "fevereiro şub şubat sub subat фев февраль февраля فبراير شباط helmikuu helmikuuta "
    "helmi lutego luty lut únor února február februára febr februarie лютого лютий лют "
    "φεβρουαρίου φεβρουάριος φεβ φεβρ",
    "march mar mars mär märz maerz mrz mrt maart marzo março marco mart мар март марта "
    "مارس آذار marts maaliskuu maaliskuuta maalis marca marzec březen března marec "
    "március márc martie березня березень бер μαρτίου μάρτιος μαρ maret",
    "april apr avr avril abr abril aprile nis nisan апр апрель апреля أبريل ابريل إبريل "
    "نيسان huhtikuu huhtikuuta huhti kwietnia kwiecień kwi duben dubna apríl apríla "
    "április ápr aprilie квітня квітень квіт απριλίου απρίλιος απρ",
    "may mai mei mayo mag maggio maio mayıs mayis май мая مايو أيار ايار maj toukokuu "
    "toukokuuta touko maja květen května máj mája május травня травень трав μαΐου μάιος "
    "μαΐ μαϊ μαι",
    "june jun juin juni junio giu giugno junho haz haziran июн июнь июня يونيو حزيران "
    "kesäkuu kesäkuuta kesä czerwca czerwiec cze červen června jún júna június iunie iun "
    "червня червень черв ιουνίου ιούνιος ιουν",
    "july jul juil juillet juli julio lug luglio julho tem temmuz июл июль июля يوليو تموز "
    "heinäkuu heinäkuuta heinä lipca lipiec lip červenec července júl júla július iulie "
    "iul липня липень ιουλίου ιούλιος ιουλ",
    "august aug août aout augustus ago agosto ağu ağustos agu agustos авг август августа "
    "أغسطس اغسطس آب augusti elokuu elokuuta elo sierpnia sierpień sie srpen srpna augusta "
    "augusztus серпня серпень серп αυγούστου αύγουστος αυγ agt ags",
    "september sep sept septembre septiembre setiembre set settembre setembro eyl eylül "
    "eylul сен сент сентябрь сентября سبتمبر أيلول ايلول syyskuu syyskuuta syys września "
    "wrzesień wrz září septembra szeptember szept septembrie вересня вересень вер "
    "σεπτεμβρίου σεπτέμβριος σεπ",
    "october oct octobre okt oktober octubre ott ottobre out outubro eki ekim окт октябрь "
    "октября أكتوبر اكتوبر lokakuu lokakuuta loka października październik paź říjen října "
    "október októbra octombrie жовтня жовтень жовт οκτωβρίου οκτώβριος οκτ",
    "november nov novembre noviembre novembro kas kasım kasim ноя нояб ноябрь ноября نوفمبر "
    "marraskuu marraskuuta marras lis listopadu novembra noiembrie noi листопада листопад "
    "лист νοεμβρίου νοέμβριος νοε",
    "december dec déc décembre decembre dez dezember diciembre dic dicembre dezembro ara "
    "aralık aralik дек декабрь декабря ديسمبر joulukuu joulukuuta joulu grudnia grudzień "
    "gru prosinec prosince decembra decembrie грудня грудень груд δεκεμβρίου δεκέμβριος "
    "δεκ desember des",
)
# The same in Catalan, Galician, Croatian, Serbian, Slovenian, Bulgarian, Lithuanian,
# Latvian, Estonian, Albanian, Malay, Tagalog, Swahili, Basque (genitive), Persian, Urdu
# and Hebrew.
_MORE_MONTH_NAMES = {
    1: (
        "gener xaneiro siječnja siječanj januar januara јануар јануара януари sausio janvāris "
        "janvārī jaanuar janar januari enero urtarrila urtarrilaren ژانویه جنوری ינואר"
    ),
    2: (
        "febrer febreiro veljače veljača februar februara фебруар фебруара февруари vasario "
        "februāris februārī veebruar shkurt pebrero februari otsaila otsailaren فوریه فروری "
        "פברואר"
    ),
    3: (
        "març marzo ožujka ožujak mart marta март марта marec marca kovo marts martā märts "
        "mars mac marso machi martxoa martxoaren مارس مارچ מרץ"
    ),
    4: (
        "abril travnja travanj april aprila април aprīlis aprīlī aprill prill aprili apirila "
        "apirilaren آوریل اپریل אפריל"
    ),
    5: (
        "maig maio svibnja svibanj maj maja мај маја май gegužės maijs maijā mai mei mayo "
        "maiatza maiatzaren مه مئی מאי"
    ),
    6: (
        "juny xuño lipnja lipanj jun juna јун јуна юни junij junija birželio jūnijs jūnijā "
        "juuni qershor hunyo juni ekaina ekainaren ژوئن جون יוני"
    ),
    7: (
        "juliol xullo srpnja srpanj jul jula јул јула юли julij julija liepos jūlijs jūlijā "
        "juuli korrik julai hulyo uztaila uztailaren ژوئیه جولای جولائی יולי"
    ),
    8: (
        "agost agosto kolovoza kolovoz avgust avgusta август августа rugpjūčio augusts "
        "augustā gusht ogos agosti abuztua abuztuaren اوت آگوست اگست אוגוסט"
    ),
    9: (
        "setembre setembro rujna rujan septembar septembra септембар септембра септември "
        "september septembra rugsėjo septembris septembrī shtator setyembre septemba iraila "
        "irailaren سپتامبر ستمبر ספטמבר"
    ),
    10: (
        "octubre outubro oktobar oktobra октобар октобра октомври oktober oktobra spalio "
        "oktobris oktobrī oktoober tetor oktubre oktoba urria urriaren اکتبر اکتوبر אוקטובר"
    ),
    11: (
        "novembre novembro studenoga studeni novembar novembra новембар новембра ноември "
        "november novembra lapkričio novembris novembrī nëntor nentor nobyembre novemba "
        "azaroa azaroaren نوامبر نومبر נובמבר"
    ),
    12: (
        "desembre decembro prosinca prosinac decembar decembra децембар децембра декември "
        "december decembra gruodžio decembris decembrī detsember dhjetor disember disyembre "
        "desemba abendua abenduaren دسامبر دسمبر דצמבר"
    ),
}
_MONTHS: dict[str, int] = {}
for _number, _names in [*enumerate(_MONTH_NAMES, start=1), *_MORE_MONTH_NAMES.items()]:
    for _name in _names.split():
        _MONTHS.setdefault(_name.casefold(), _number)
# Greek is written with or without its accents ("Ιούλ", "ΙΟΥΛ"): looked up without them.
_GREEK_ACCENTS = str.maketrans("άέήίόύώϊϋΐΰ", "αεηιουωιυιυ")


def _month(word: str) -> int | None:
    """The month a (casefolded) word names, or None."""
    found = _MONTHS.get(word)
    if found is None and "\u0370" <= word[:1] <= "\u03ff":
        found = _MONTHS.get(word.translate(_GREEK_ACCENTS))
    return found


# The Levant's two-word months, read as their one-word names before the patterns below.
_TWO_WORD_MONTHS = {
    "كانون الثاني": "يناير",
    "كانون الأول": "ديسمبر",
    "تشرين الأول": "أكتوبر",
    "تشرين الثاني": "نوفمبر",
}
_WORD = r"[^\W\d_]+"
# "jeu.,", "segunda-feira,", "e enjte,", "יום שלישי,"
_DAY_NAME = rf"(?:{_WORD}(?:[-\s]{_WORD})?\.?\s*[,،]?\s+)"
_ORDINAL = r"(?:st|nd|rd|th|er|e|ème|º|°)?"  # 5th, 1er, 1º
# The time after a date: "14:30", "14.30", "14:30:00.250", "14h30", "14h", "2:30 PM",
# "오후 2:30" (the half of the day first, as Korean, Chinese and Japanese write it).
_TIME_AND_ZONE = (
    r"(?:\s*[,،-]?\s+(?:à|um|a las|alle|às|om|в|saat|at|kl\.|klo|u|ob|kell|plkst\.|ساعت)?\s*"
    r"(?P<east>오전|오후|上午|下午|午前|午後)?\s*"
    r"(?P<time>\d{1,2}(?:[:.]\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?|[hH]\d{2}(?:m(?:in)?(?:\d{2}s)?)?"
    r"|[hH]|(?=\s*[AaPp]\.?[Mm]\b)))h?(?:\s*ч\.)?"
    r"(?:\s*(?:(?P<half>[AaPp])\.?[Mm]\.?|(?P<malay>petang|malam|pagi)))?)?"
    r"(?:\s*(?P<zone>[+-]\d{2}:?\d{2}|Z|[A-Za-z]{2,5}))?\s*$"
)
_AFTERNOON = frozenset({"petang", "malam", "오후", "下午", "午後"})
# The zone names the standard library's RFC 822 reading knows (it reads any other as UTC).
_RFC822_ZONES = {"ut", "utc", "gmt", "z", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt"}
# [day name,] day month year [time] [zone]: "jeu., 05 mars 2026 15:30:00 +0100",
# "Donnerstag, 1. Okt 2026 09:00:00 +0200", "الخميس، 05 مارس 2026 17:30:00 +0300",
# "1er mars 2026 à 09:00", "3rd November 2025, 11:00 am GMT", "1st of April 2026".
_DAY_FIRST = re.compile(
    rf"\s*{_DAY_NAME}?(?P<day>\d{{1,2}}){_ORDINAL}\.?\s+(?:de\s+|of\s+|d['’]\s*)?"
    rf"(?P<month>{_WORD})\.?,?\s+(?:de\s+)?(?P<year>\d{{4}})(?:\s*г\.?|\.)?{_TIME_AND_ZONE}"
)
# [day name,] month day, year [time] [zone]: "March 5, 2026", "March 5th, 2026 at 10:00".
_MONTH_FIRST = re.compile(
    rf"\s*{_DAY_NAME}?(?P<month>{_WORD})\.?\s+(?P<day>\d{{1,2}}){_ORDINAL},?\s+"
    rf"(?P<year>\d{{4}}){_TIME_AND_ZONE}"
)
# Year first, as Hungarian ("2026. március 5., csütörtök 14:30"), Lithuanian ("2025 m.
# gruodžio 24 d."), Latvian ("2025. gada 29. jūlijā") and Basque ("2026ko martxoaren 5a")
# write it.
_YEAR_FIRST = re.compile(
    rf"\s*(?P<year>\d{{4}})(?:\.|\s*m\.|ko|eko)?(?:\s*gada)?\s+(?:(?P<before>\d{{1,2}})\.\s+)?"
    rf"(?P<month>{_WORD})\.?(?:\s+(?P<day>\d{{1,2}})(?:\.|a|\s*d\.)?)?,?"
    rf"(?:\s+{_WORD})?{_TIME_AND_ZONE}"
)


def _other_language(text: str) -> datetime | None:
    """A date whose month is a name feedparser does not read: in another language, or an
    English one written month first. The day's name is not read (it may even be wrong)."""
    for two_words, one in _TWO_WORD_MONTHS.items():
        text = text.replace(two_words, one)
    found = _DAY_FIRST.match(text) or _MONTH_FIRST.match(text) or _YEAR_FIRST.match(text)
    if found is None:
        return None
    fields = found.groupdict()
    fields["day"] = fields.get("day") or fields.get("before")
    month = fields["month"] or ""
    if month.startswith("ב") and month[1:] in _MONTHS:  # Hebrew "במרץ": in March
        fields["month"] = month[1:]
    if fields["day"] is None:
        return None
    return _from_fields(fields)


# All in numbers, year first: "2026/03/05 14:30", "2026.3.5", "2026. 3. 5. 오후 2:30".
_YEAR_MONTH_DAY = re.compile(
    rf"\s*{_DAY_NAME}?(?P<year>\d{{4}})(?P<sep>[/.-])\s?(?P<month>\d{{1,2}})(?P=sep)\s?"
    rf"(?P<day>\d{{1,2}})\.?{_TIME_AND_ZONE}"
)
# All in numbers, day or month first: "05.03.2026 14:30" (a dot: the day first, as
# German, Russian or Turkish write it), "31/12/2025", "12/31/2025" (a slash or a hyphen:
# the day first where the first number is past 12, the month first where the second is).
_DAY_MONTH_YEAR = re.compile(
    rf"\s*{_DAY_NAME}?(?P<first>\d{{1,2}})(?P<sep>[/.-])\s?(?P<second>\d{{1,2}})(?P=sep)\s?"
    rf"(?P<year>\d{{4}})\.?{_TIME_AND_ZONE}"
)
# Year, month name and day with hyphens, as a Hungarian blog wrote it: "2004-július-13T9:15".
_YEAR_NAME_DAY = re.compile(
    rf"\s*(?P<year>\d{{4}})-(?P<month>{_WORD})-(?P<day>\d{{1,2}})"
    r"(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2})?))?(?P<zone>[+-]\d{2}:?\d{2}|Z)?\s*$"
)


_NUMBERS_APART = re.compile(r"\d[/.-]")  # what every form below has


def _numeric_date(text: str) -> datetime | None:
    """A date written all in numbers but not as ISO 8601 (feedparser makes "2026/03/05"
    the 1st of December), or ``_YEAR_NAME_DAY``. A day and a month that could be either
    ("03/05/2026": March or May) are no date: guessing one would misplace half of them by
    months."""
    if not _NUMBERS_APART.search(text):
        return None  # a cheap look first: most dates (RFC 822) have no such numbers
    fields: dict[str, str | None]
    found = _YEAR_MONTH_DAY.match(text)
    if found is not None:
        fields = found.groupdict()
        month = int(found["month"])
    else:
        found = _DAY_MONTH_YEAR.match(text)
        if found is None:
            named = _YEAR_NAME_DAY.match(text)
            return _from_fields(named.groupdict() | {"half": None}) if named else None
        fields = found.groupdict()
        first, second = int(found["first"]), int(found["second"])
        if found["sep"] == "." or first > 12 or first == second:
            day, month = first, second
        elif second > 12:
            day, month = second, first
        else:
            return None
        fields["day"] = str(day)
    if not 1 <= month <= 12:
        return None
    fields["month"] = calendar.month_abbr[month]
    return _from_fields(fields)


_FRACTION = re.compile(r"(?<=:\d\d:\d\d)[.,]\d+$")  # "14:30:00.250": the fraction is dropped
_CLOCK_LETTERS = re.compile(r"[hH]|min|m(?=\d)")  # "14h30", "14h30min", "14h30m15s"


# A date inside other words, as CMS templates write it into a feed: "Posted on Thursday,
# March 5, 2026 at 2:30 pm by Admin", "By Jane Doe • 5 March 2026 14:30 GMT • 4 min read",
# "Published: 2026-03-05 14:30 | 3 comments", '<time datetime="2026-03-05T14:30Z">'.
_ISO_INSIDE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"(?!\d)"
)
_WORDS_INSIDE = re.compile(
    rf"(?:{_WORD}\.?,?\s+)?(?:\d{{1,2}}{_ORDINAL}\.?\s+(?:of\s+)?{_WORD}\.?"
    rf"|{_WORD}\.?\s+\d{{1,2}}{_ORDINAL}),?\s+\d{{4}}"
    r"(?:\s*[,-]?\s*(?:at|à|um)?\s*\d{1,2}(?:[:.h]\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?"
    r"(?:\s+[A-Z]{2,5}\b)?)?"
)


# A zone written apart after such a date: "(Europe/Berlin)", "(UTC+03:00)".
_ZONE_AFTER = re.compile(r"\s*\(?\s*(?:[A-Z][a-z]+/[A-Za-z_]+|(?:UTC|GMT)\s*[+-]\d)")


def _date_in_words(text: str) -> datetime | None:
    """A date found inside other words (`_ISO_INSIDE`, `_WORDS_INSIDE`), read as a date of
    its own; None when none is, or more than one date is written."""
    found = [*_ISO_INSIDE.finditer(text), *_WORDS_INSIDE.finditer(text)]
    if any(_ZONE_AFTER.match(text, m.end()) for m in found):
        return None  # a zone after it that the part alone would not say: no instant
    whole = text.strip()
    parts = [m.group(0).strip() for m in found if m.group(0).strip() != whole]  # no loop
    read = {when for when in (entry_date(part, None) for part in parts) if when}
    # A year of another era ("5 Mar 2569 BE", the Thai calendar) is no date found in words.
    if len(read) != 1 or not 1970 <= (when := read.pop()).year <= 2100:
        return None
    return when


def _from_fields(found: dict[str, str | None]) -> datetime | None:
    """A date from its day, month (a name), year, time, AM/PM and zone, as the patterns
    above find them; None for a month or an hour no calendar has."""
    month = _month((found["month"] or "").casefold())
    if month is None or not _FIRST_YEAR <= int(found["year"] or 0) <= _LAST_YEAR:
        return None  # (the standard library reads the year 0001 as 2001)
    written = _FRACTION.sub("", found["time"] or "00:00")
    written = _CLOCK_LETTERS.sub(":", written).rstrip(":s").replace(".", ":", 1)
    hour, _, rest = written.partition(":")
    rest = rest or "00"
    half = found.get("half")
    if half is None and (found.get("malay") or found.get("east")):
        half = "p" if (found.get("malay") or found.get("east")) in _AFTERNOON else "a"
    if half is not None:  # 12 AM is midnight, 12 PM noon
        if not 1 <= int(hour) <= 12:
            return None
        hour = str(int(hour) % 12 + (12 if half in "Pp" else 0))
    if rest.endswith(":60"):  # a leap second: the one before it
        rest = rest[:-2] + "59"
    clock = f"{hour}:{rest}" + (":00" if rest.count(":") == 0 else "")
    zone = found["zone"] or ""
    if zone[:1] in ("+", "-"):
        zone = zone.replace(":", "")  # RFC 822 writes +0530, not +05:30
    rfc822 = f"{int(found['day'] or 0)} {calendar.month_abbr[month]} {found['year']} {clock} {zone}"
    if zone[:1].isalpha() and zone.casefold() not in _RFC822_ZONES:
        return _named_zone_datetime(rfc822)  # None for a name of no zone we know
    return _rfc822_datetime(rfc822.strip())
