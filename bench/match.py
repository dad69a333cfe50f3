"""Matching benchmark: throughput (MB/s of article HTML) and compile time of our matcher at
10 to 10,000 names, beside one big regex and a raw Aho-Corasick scan, on deterministic text.

Run ``python -m bench.match --help``. Figures only: targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import html
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path

import ahocorasick
import yaml

from monitor.match import Matcher
from monitor.match.names import (
    ARABIC_PREFIXES,
    ARABIC_PREFIXES_BEFORE_ARTICLE,
    is_arabic_letter,
    phrase_key,
)
from monitor.match.watchlist_file import load_watchlist

__all__ = [
    "Article",
    "ApproachResult",
    "BenchConfig",
    "Corpus",
    "MemoryResult",
    "NameItem",
    "Report",
    "build_name_items",
    "format_report",
    "generate_corpus",
    "main",
    "measure_memory",
    "run_benchmark",
    "run_matcher",
    "run_raw_scan",
    "run_regex",
    "write_watchlist",
]

MB = 1_000_000  # figures are in 10^6 bytes of UTF-8 input

# Targets from the issue (reported, not asserted).
TARGET_SHARE_OF_RAW = 0.25
TARGET_COMPILE_SECONDS = 1.0
TARGET_MEMORY_MB = 200.0

# --- vocabulary ------------------------------------------------------------------------
# Filler words never contain a name token or a context word (checked in _check_disjoint),
# so every hit in the text is one the generator planted and counted.

_EN = {
    "noun": (
        "government ministry parliament delegation convoy militia ceasefire agreement election "
        "budget pipeline refinery port airport border checkpoint hospital university market "
        "currency bank court committee envoy summit negotiation offensive blockade protest "
        "strike curfew shipment oilfield harbour district province region capital coastline "
        "desert highway bridge prison camp shelter reporter newspaper broadcaster statement "
        "report investigation inquiry tribunal sanction embargo loan contract tender project "
        "reform constitution referendum vote ballot soldier officer minister spokesman "
        "ambassador mediator observer analyst resident farmer fisherman student doctor "
        "engineer worker migrant refugee family elder mayor governor drone airstrike truce "
        "roadmap dialogue salary pension subsidy fuel electricity water wheat"
    ).split(),
    "adj": (
        "interim rival eastern western southern northern local foreign regional armed "
        "unified fragile senior former new joint urgent heavy limited "
        "provisional central coastal major minor public private"
    ).split(),
    "verb": (
        "announced rejected welcomed postponed suspended approved criticised condemned "
        "signed discussed demanded reopened closed secured delayed blocked extended "
        "reviewed questioned confirmed denied"
    ).split(),
    "source": (
        "officials said|witnesses said|a spokesman said|diplomats said|according to local "
        "media|residents told reporters|a statement said|sources said"
    ).split("|"),
    "day": "on Monday|on Tuesday|on Wednesday|on Thursday|on Friday|at the weekend|last week|"
    "this morning|overnight|late on Sunday".split("|"),
}
_EN_TEMPLATES = (
    "The {adj} {noun} {verb} the {noun} {day}, {source}.",
    "{source_cap}, the {noun} {verb} a {adj} {noun} after {num} days of talks.",
    "A {adj} {noun} {verb} plans for the {noun} {day}.",
    "The {noun} has {verb} the {adj} {noun} and the {noun} {day}.",
    "More than {num} {noun}s were affected when the {noun} {verb} the {noun}.",
    "The {adj} {noun} &amp; the {noun} {verb} the {noun} {day}.",
    "&quot;We have {verb} the {noun},&quot; the {noun} said {day}.",
    "In the {adj} {noun}, the {noun} {verb} a {noun} worth {num} million dinars.",
)
_EN_MENTION_TEMPLATES = (
    "{name} {verb} the {adj} {noun} {day}, {source}.",
    "The {noun} {verb} a meeting with {name} {day}.",
    "Talks between {name} and the {adj} {noun} were {verb} {day}.",
    "{name}&#8217;s {noun} {verb} the {noun} {day}.",
    "According to the {noun}, <strong>{name}</strong> {verb} the {noun}.",
    "The {adj} {noun} near {name} was {verb} {day}.",
)

_FR = {
    "noun": (
        "gouvernement ministre parlement convoi milice cessez-le-feu accord scrutin budget "
        "oléoduc raffinerie aéroport frontière hôpital université marché monnaie banque "
        "tribunal comité émissaire sommet négociation blocus manifestation grève couvre-feu "
        "cargaison région capitale côte désert autoroute pont prison camp journaliste "
        "communiqué rapport enquête sanction embargo prêt contrat projet réforme "
        "constitution référendum soldat officier porte-parole ambassadeur médiateur "
        "observateur analyste habitant pêcheur étudiant médecin ingénieur ouvrier réfugié "
        "famille maire gouverneur drone trêve dialogue salaire carburant électricité blé"
    ).split(),
    "adj": (
        "intérimaire rival oriental occidental local étranger régional armé unifié fragile "
        "ancien nouveau urgent lourd provisoire central côtier majeur public privé"
    ).split(),
    "verb": (
        "annoncé rejeté salué reporté suspendu approuvé critiqué condamné signé discuté "
        "exigé rouvert fermé sécurisé bloqué prolongé confirmé démenti"
    ).split(),
    "source": (
        "selon des responsables|selon des témoins|a indiqué un porte-parole|selon la presse "
        "locale|ont déclaré des diplomates|selon un communiqué"
    ).split("|"),
    "day": "lundi|mardi|mercredi|jeudi|vendredi|ce week-end|la semaine dernière|ce matin|"
    "dans la nuit".split("|"),
}
_FR_TEMPLATES = (
    "Le {noun} {adj} a {verb} le {noun} {day}, {source}.",
    "Le {noun} a {verb} un {noun} {adj} après {num} jours de discussions.",
    "Un {noun} {adj} a {verb} le projet de {noun} {day}.",
    "Plus de {num} personnes ont été touchées quand le {noun} a {verb} le {noun}.",
    "Le {noun} &amp; le {noun} ont {verb} le {noun} {day}, {source}.",
    "&laquo;&nbsp;Nous avons {verb} le {noun}&nbsp;&raquo;, a déclaré le {noun} {day}.",
)
_FR_MENTION_TEMPLATES = (
    "{name} a {verb} le {noun} {adj} {day}, {source}.",
    "Le {noun} a {verb} une rencontre avec {name} {day}.",
    "Les discussions entre {name} et le {noun} ont été {verb}es {day}.",
    "Selon le {noun}, <em>{name}</em> a {verb} le {noun}.",
)

_AR = {
    "noun": (
        "الحكومة الوزارة البرلمان القافلة الاتفاق الانتخابات الميزانية المصفاة الميناء "
        "المطار الحدود المستشفى الجامعة الأسواق العملة المصرف المحكمة اللجنة المبعوث القمة "
        "المفاوضات الحصار الاحتجاج الإضراب الشحنة المنطقة العاصمة الساحل الصحراء الطريق "
        "الجسر السجن المخيم الصحفي البيان التقرير التحقيق العقوبات القرض العقد المشروع "
        "الإصلاح الدستور الاستفتاء الجندي الضابط الوزير المتحدث السفير الوسيط المراقب "
        "المحلل السكان الطلاب الأطباء المهندسون العمال اللاجئون العائلات الهدنة الحوار "
        "الرواتب الوقود الكهرباء المياه القمح النفط الغاز"
    ).split(),
    "adj": (
        "المؤقتة المنافسة الشرقية الغربية الجنوبية المحلية الأجنبية الإقليمية الموحدة "
        "الهشة السابقة الجديدة العاجلة المركزية الساحلية الكبرى العامة"
    ).split(),
    "verb": (
        "أعلنت رفضت رحبت أجلت علقت وافقت انتقدت أدانت وقعت ناقشت طالبت أعادت أغلقت مددت أكدت نفت"
    ).split(),
    "source": (
        "حسب مسؤولين|وفق شهود عيان|قال متحدث|حسب وسائل إعلام محلية|أفاد دبلوماسيون|حسب بيان"
    ).split("|"),
    "day": "يوم الاثنين|يوم الثلاثاء|يوم الأربعاء|يوم الخميس|يوم الجمعة|الأسبوع الماضي|"
    "صباح اليوم|خلال الليل".split("|"),
}
_AR_TEMPLATES = (
    "{verb} {noun} {adj} {noun} {day}، {source}.",
    "قال {noun} إن {noun} {adj} {verb} {noun} بعد {num} أيام من المحادثات.",
    "{verb} {noun} خطة {noun} {day}.",
    "تضرر أكثر من {num} شخص عندما {verb} {noun} {noun}.",
    "وأضاف {noun} أن {noun} {verb} {noun} {day}، {source}.",
)
_AR_MENTION_TEMPLATES = (
    "{verb} {name} {noun} {adj} {day}، {source}.",
    "التقى {noun} مع {name} {day}.",
    "وقال {noun} إن {name} {verb} {noun} {day}.",
    "{verb} {noun} في {name} {day}.",
)

_LINK_WORDS = "world africa politics economy middle-east live analysis video".split()

# --- name pools ------------------------------------------------------------------------
# (Latin spelling, Arabic spelling or ""). Each pool has its own role, and no token is in
# two pools, so a name can only occur in the text where it was planted.

_FIRST_NAMES = (
    ("Ahmed", "أحمد"), ("Mohamed", "محمد"), ("Mahmoud", "محمود"), ("Khaled", "خالد"),
    ("Omar", "عمر"), ("Youssef", "يوسف"), ("Ibrahim", "إبراهيم"), ("Mustafa", "مصطفى"),
    ("Hassan", "حسن"), ("Hussein", "حسين"), ("Ali", "علي"), ("Salem", "سالم"),
    ("Tarek", "طارق"), ("Nasser", "ناصر"), ("Faraj", "فرج"), ("Mabrouk", "مبروك"),
    ("Fathi", "فتحي"), ("Osama", "أسامة"), ("Aisha", "عائشة"), ("Fatima", "فاطمة"),
    ("Mariam", "مريم"), ("Nour", "نور"), ("Salma", "سلمى"), ("Huda", "هدى"),
    ("Najla", "نجلاء"), ("Rania", "رانيا"), ("Hanan", "حنان"), ("Zainab", "زينب"),
    ("Walid", "وليد"), ("Bashir", "بشير"), ("Kamal", "كمال"), ("Jamal", "جمال"),
    ("Sami", "سامي"), ("Adel", "عادل"), ("Nabil", "نبيل"), ("Ramadan", "رمضان"),
    ("Emad", "عماد"), ("Hisham", "هشام"), ("Anwar", "أنور"), ("Suleiman", "سليمان"),
    ("Jean", ""), ("Pierre", ""), ("François", ""), ("Hélène", ""), ("Camille", ""),
    ("Étienne", ""), ("Margaux", ""), ("Benoît", ""), ("Gérard", ""), ("Claire", ""),
    ("James", ""), ("Sarah", ""), ("Michael", ""), ("Emily", ""), ("Robert", ""),
    ("Catherine", ""), ("Thomas", ""), ("Olivia", ""), ("Giovanni", ""), ("Giulia", ""),
    ("Marco", ""), ("Francesca", ""), ("Dmitri", ""), ("Elena", ""), ("Mehmet", ""),
    ("Ayşe", ""), ("Recep", ""), ("Yannick", ""), ("Amadou", ""), ("Fatoumata", ""),
)  # fmt: skip
_SURNAMES = (
    ("Mansour", "منصور"), ("Haddad", "حداد"), ("Zwai", "زوي"), ("Gaddafi", "القذافي"),
    ("Bensalem", "بن سالم"), ("Triki", "التريكي"), ("Mismari", "المسماري"),
    ("Obeidi", "العبيدي"), ("Warfalli", "الورفلي"), ("Zintani", "الزنتاني"),
    ("Misrati", "المصراتي"), ("Tarhouni", "الترهوني"), ("Sharif", "الشريف"),
    ("Senussi", "السنوسي"), ("Magariaf", "المقريف"), ("Jadhran", "الجضران"),
    ("Bashagha", "باشاغا"), ("Gharyani", "الغرياني"), ("Kabir", "الكبير"),
    ("Ghwell", "الغويل"), ("Naami", "النعمي"), ("Krekshi", "الكرشي"), ("Fergiani", "الفرجاني"),
    ("Busnina", "بوسنينة"), ("Abushagur", "أبوشاقور"), ("Elmagrahi", "المقرحي"),
    ("Hamrouni", "الحمروني"), ("Jalil", "الجليل"), ("Othmani", "العثماني"),
    ("Barghathi", "البرغثي"), ("Dubois", ""), ("Lefèvre", ""), ("Moreau", ""),
    ("Girard", ""), ("Fontaine", ""), ("Chevalier", ""), ("Rousseau", ""), ("Mercier", ""),
    ("Thompson", ""), ("Whitaker", ""), ("Harrington", ""), ("Caldwell", ""),
    ("Fitzgerald", ""), ("Pemberton", ""), ("Rossi", ""), ("Bianchi", ""), ("Esposito", ""),
    ("Ferraro", ""), ("Volkov", ""), ("Sokolov", ""), ("Yılmaz", ""), ("Demir", ""),
    ("Diallo", ""), ("Traoré", ""), ("Keïta", ""), ("Ouedraogo", ""),
)  # fmt: skip
_PLACE_PREFIXES = (
    ("Wadi", "وادي"), ("Bir", "بئر"), ("Ain", "عين"), ("Ras", "رأس"), ("Sidi", "سيدي"),
    ("Jebel", "جبل"), ("Qasr", "قصر"), ("Souk", "سوق"),
)  # fmt: skip
_PLACE_ROOTS = (
    ("Zamzam", "زمزم"), ("Kaam", "كعام"), ("Lanuf", "لانوف"), ("Ajdabiya", "اجدابيا"),
    ("Jadid", "جديد"), ("Hamra", "حمراء"), ("Sharara", "شرارة"), ("Ubari", "أوباري"),
    ("Murzuq", "مرزق"), ("Ghat", "غات"), ("Kufra", "كفرة"), ("Jalu", "جالو"), ("Awjila", "أوجلة"),
    ("Tazirbu", "تازربو"), ("Waddan", "ودان"), ("Hun", "هون"), ("Sokna", "سوكنة"),
    ("Brak", "براك"), ("Sabha", "سبها"), ("Ghadames", "غدامس"), ("Nalut", "نالوت"),
    ("Yefren", "يفرن"), ("Gharyan", "غريان"), ("Tarhuna", "ترهونة"),
    ("Zliten", "زليتن"), ("Khoms", "خمس"), ("Garabulli", "قره بوللي"), ("Janzour", "جنزور"),
    ("Zawiya", "زاوية"), ("Sabratha", "صبراتة"), ("Zuwara", "زوارة"), ("Tobruk", "طبرق"),
    ("Derna", "درنة"), ("Bayda", "بيضاء"), ("Marj", "مرج"), ("Tocra", "توكرة"),
    ("Shahhat", "شحات"), ("Susa", "سوسة"), ("Brega", "بريقة"), ("Hawari", "هواري"),
    ("Ghanima", "غنيمة"), ("Tamanhint", "تمنهنت"), ("Jufra", "جفرة"), ("Zella", "زلة"),
    ("Maaten", "معاطن"), ("Tmassah", "تمسة"), ("Wigh", "ويغ"), ("Tummo", "تومو"),
    ("Bardia", "بردية"), ("Jaghbub", "جغبوب"), ("Msus", "مسوس"), ("Antelat", "انتلات"),
)  # fmt: skip
_ORG_ROOTS = (
    "Nawasi", "Radaa", "Ghneiwa", "Samoud", "Fajr", "Karama", "Tawhid", "Nasr", "Wefaq",
    "Mukhtar", "Watan", "Nahda", "Ittihad", "Tadamun", "Amal", "Sumud", "Bunyan", "Marsus",
    "Hilal", "Qods", "Rahma", "Tamazgha", "Tebu", "Tuareg", "Mashashiya", "Awlad", "Qadhadhfa",
    "Magarha", "Zuwaya", "Obeidat", "Hasawna", "Riyah", "Furjan", "Siaan", "Nuwayl", "Mahamid",
)  # fmt: skip
_ORG_WORDS = (
    "Brigade", "Battalion", "Front", "Movement", "Party", "Alliance", "Union", "Authority",
    "Assembly", "Foundation", "Initiative", "Bloc", "Federation", "Syndicate", "Guard",
)  # fmt: skip

# Context words: appear in the text only in decoy sentences (mentions meant in another sense).
_CONTEXT_WORDS = (
    "stadium", "concert", "novel", "album", "screenplay", "sitcom", "marathon", "festival",
    "orchestra", "recipe", "museum", "podcast", "racehorse", "videogame", "perfume", "yacht",
)  # fmt: skip
_DECOY_TEMPLATES = (
    "{name} appeared in the {context} {day}.",
    "Fans of the {context} cheered for {name} {day}.",
)
_CONTEXT_SHARE = 0.1  # synthetic entities with an exclude_if_near rule
_CONTEXT_WITHIN = 8


@dataclass(frozen=True, slots=True)
class NameItem:
    """One name or acronym of the master list; a watchlist of N names holds the first N."""

    entity: str
    kind: str
    text: str
    acronym: bool = False
    arabic: bool = False
    context_words: tuple[str, ...] = ()


def _real_items() -> list[NameItem]:
    """The first ten names: the Libyan watchlist's main actors, with their context rules."""
    return [
        NameItem("haftar", "person", "Khalifa Haftar"),
        NameItem("haftar", "person", "Haftar"),
        NameItem("haftar", "person", "حفتر", arabic=True),
        NameItem("lna", "organization", "Libyan National Army"),
        NameItem("lna", "organization", "LNA", acronym=True, context_words=("amplifier",)),
        NameItem("gna", "organization", "Government of National Accord"),
        NameItem("gna", "organization", "GNA", acronym=True, context_words=("Ghana",)),
        NameItem("tripoli", "place", "Tripoli", context_words=("Lebanon", "Beirut")),
        NameItem("tripoli", "place", "طرابلس", arabic=True),
        NameItem("dbeibah", "person", "Abdul Hamid Dbeibah"),
    ]


_REAL_DECOYS = {
    # entity id -> decoy sentences ({day} filled in); each mention in them must be dropped.
    "tripoli": ("Protests spread in Tripoli, Lebanon {day}.", "Tripoli is north of Beirut."),
    "gna": ("The Ghana News Agency (GNA) reported the figures {day}.",),
    "lna": ("The LNA stage of the amplifier was replaced {day}.",),
}
_REAL_RULES = [
    {"name": "offensive-on-tripoli", "expr": "(haftar OR lna) NEAR/15 tripoli"},
    {"name": "ceasefire-talks", "expr": '"ceasefire" AND (haftar OR gna)'},
]


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(phrase_key(text).split())


def _vocabulary_tokens() -> set[str]:
    words: list[str] = []
    for table, templates in (
        (_EN, _EN_TEMPLATES + _EN_MENTION_TEMPLATES + _DECOY_TEMPLATES),
        (_FR, _FR_TEMPLATES + _FR_MENTION_TEMPLATES),
        (_AR, _AR_TEMPLATES + _AR_MENTION_TEMPLATES),
    ):
        for values in table.values():
            words.extend(values)
        for template in templates:
            words.append(re.sub(r"\{\w+\}|&\w+;|&#\d+;|<[^>]*>", " ", template))
    words.extend(_LINK_WORDS)
    return {token for word in words for token in _tokens(html.unescape(word))}


def _arabic_clash(token: str, first_tokens: set[str]) -> bool:
    """Whether ``token`` is an Arabic prefix plus the first word of a key (the matcher
    would find that key inside it)."""
    if not token or not is_arabic_letter(token[0]):
        return False
    for prefix in ARABIC_PREFIXES | ARABIC_PREFIXES_BEFORE_ARTICLE:
        if token.startswith(prefix) and token[len(prefix) :] in first_tokens:
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Pools:
    first_names: tuple[tuple[str, str], ...]
    surnames: tuple[tuple[str, str], ...]
    place_roots: tuple[tuple[str, str], ...]


def _pools() -> _Pools:
    """Name pools without any token that could be found in filler text."""
    vocabulary = _vocabulary_tokens()
    first_tokens = {
        token
        for pool in (_FIRST_NAMES, _PLACE_PREFIXES)
        for latin, arabic in pool
        for token in _tokens(latin)[:1] + _tokens(arabic)[:1]
    } | {_tokens(item.text)[0] for item in _real_items()}
    clashing = {token for token in vocabulary if _arabic_clash(token, first_tokens)}
    if clashing:
        raise RuntimeError(f"filler words hide a name after an Arabic prefix: {sorted(clashing)}")

    def clean(pool: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        kept = []
        for latin, arabic in pool:
            tokens = _tokens(latin) + _tokens(arabic)
            if any(t in vocabulary or _arabic_clash(t, first_tokens) for t in tokens):
                continue
            kept.append((latin, arabic))
        return tuple(kept)

    return _Pools(clean(_FIRST_NAMES), clean(_SURNAMES), clean(_PLACE_ROOTS))


class _KeyFilter:
    """Accepts a name only if it is new and no other key is a whole-word part of it, or it of
    another key (otherwise one planted name would count for two keys)."""

    def __init__(self, reserved: set[str]) -> None:
        self._keys: set[tuple[str, ...]] = set()
        self._parts: set[tuple[str, ...]] = set()
        self._reserved = reserved

    def add(self, text: str, *, check: bool = True) -> bool:
        key = _tokens(text)
        if not key:
            return False
        parts = {key[i:j] for i in range(len(key)) for j in range(i + 1, len(key) + 1)}
        if check and (
            key in self._keys
            or key in self._parts
            or any(part in self._keys for part in parts)
            or any(token in self._reserved for token in key)
        ):
            return False
        self._keys.add(key)
        self._parts |= parts
        return True


def build_name_items(count: int, seed: int) -> list[NameItem]:
    """The master list of ``count`` names: ten real ones, then synthetic people (Latin and
    Arabic script), places and organisations with acronyms."""
    rng = random.Random(f"names-{seed}")
    pools = _pools()
    reserved = _vocabulary_tokens() | {phrase_key(w) for w in _CONTEXT_WORDS}
    keys = _KeyFilter(reserved)
    items = _real_items()[:count]
    for item in _real_items():
        keys.add(item.text, check=False)
    # Acronyms are case-sensitive, but the regex baseline is not: keep them apart from every
    # other token too.
    taken_acronyms = {token for item in _real_items() for token in _tokens(item.text)}
    serial = 0
    attempts = 0
    while len(items) < count:
        attempts += 1
        if attempts > 50 * count + 1000:
            raise RuntimeError(f"cannot build {count} distinct names from the pools")
        serial += 1
        roll = rng.random()
        entity = f"e{serial}"
        context = (rng.choice(_CONTEXT_WORDS),) if rng.random() < _CONTEXT_SHARE else ()
        group: list[NameItem] = []
        if roll < 0.62:
            first = rng.choice(pools.first_names)
            last = rng.choice(pools.surnames)
            middle = rng.choice(pools.first_names) if rng.random() < 0.3 else None
            latin = " ".join(p[0] for p in (first, middle, last) if p is not None)
            if last[0][0] in "BGMTKOSHJ" and rng.random() < 0.2:
                latin = latin.replace(last[0], "al-" + last[0])
            group.append(NameItem(entity, "person", latin, context_words=context))
            if middle is None and first[1] and last[1] and rng.random() < 0.6:
                group.append(NameItem(entity, "person", f"{first[1]} {last[1]}", arabic=True))
        elif roll < 0.87:
            prefix = rng.choice(_PLACE_PREFIXES)
            root = rng.choice(pools.place_roots)
            group.append(NameItem(entity, "place", f"{prefix[0]} {root[0]}", context_words=context))
            if rng.random() < 0.5:
                group.append(NameItem(entity, "place", f"{prefix[1]} {root[1]}", arabic=True))
        else:
            root_word = rng.choice(_ORG_ROOTS)
            org_word = rng.choice(_ORG_WORDS)
            name = f"{root_word} {org_word}"
            group.append(NameItem(entity, "organization", name, context_words=context))
            if rng.random() < 0.5:
                letters = root_word[0] + org_word[0]
                acronym = letters + "".join(rng.choice("ABDFKLMNRSTZ") for _ in range(2))
                if acronym.lower() not in taken_acronyms and acronym.lower() not in reserved:
                    taken_acronyms.add(acronym.lower())
                    group.append(NameItem(entity, "organization", acronym, acronym=True))
        accepted = [item for item in group if keys.add(item.text)]
        if accepted and not accepted[0].context_words and context:
            accepted[0] = replace(accepted[0], context_words=context)
        items.extend(accepted[: count - len(items)])
    return items


def write_watchlist(items: Sequence[NameItem], path: Path) -> Path:
    """Write ``items`` as a watchlist YAML file (one entity per entity id, in order)."""
    entities: dict[str, dict[str, object]] = {}
    for item in items:
        entity = entities.setdefault(item.entity, {"id": item.entity, "kind": item.kind})
        entity.setdefault("acronyms" if item.acronym else "names", [])
        values = entity["acronyms" if item.acronym else "names"]
        assert isinstance(values, list)
        values.append(item.text)
        if item.context_words:
            near = entity.setdefault("exclude_if_near", {"words": [], "within": _CONTEXT_WITHIN})
            assert isinstance(near, dict)
            near["words"].extend(w for w in item.context_words if w not in near["words"])
    if "tripoli" in entities:
        entities["tripoli"]["exclude_phrases"] = ["Tripoli, Lebanon"]
        entities["tripoli"]["exclude_if_near"] = {"words": ["Lebanon", "Beirut"], "within": 10}
    if "gna" in entities:
        entities["gna"]["exclude_if_in_article"] = ["Ghana News Agency"]
        entities["gna"].pop("exclude_if_near", None)
    if "lna" in entities:
        entities["lna"]["exclude_if_near"] = {"words": ["amplifier", "receiver"], "within": 12}
    document: dict[str, object] = {
        "name": path.stem,
        "description": f"Benchmark watchlist of {len(items)} names",
        "entities": list(entities.values()),
    }
    if {"haftar", "lna", "gna", "tripoli"} <= entities.keys():
        document["rules"] = _REAL_RULES
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return path


# --- the text --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Article:
    """One article's fields as stored: HTML fragments."""

    title: str
    summary: str
    content: str

    def fields(self) -> dict[str, str]:
        return {"title": self.title, "summary": self.summary, "content": self.content}

    def size(self) -> int:
        """UTF-8 bytes of the three fields."""
        return sum(len(value.encode("utf-8")) for value in (self.title, self.summary, self.content))


@dataclass(frozen=True, slots=True)
class Planted:
    """A name written into an article: a real mention, or a decoy that a context rule drops;
    ``prefixed`` when an Arabic prefix is attached (the regex baseline cannot see it)."""

    article: int
    item: int
    decoy: bool = False
    prefixed: bool = False


@dataclass(frozen=True, slots=True)
class Expected:
    """Hit counts each approach must report for a watchlist of the first N names."""

    matcher: int
    regex: int
    decoys: int
    prefixed: int


@dataclass(frozen=True, slots=True)
class Corpus:
    articles: tuple[Article, ...]
    planted: tuple[Planted, ...]
    size: int
    arabic_articles: int

    def expected(self, names: int, articles: int | None = None) -> Expected:
        """What should be found with the first ``names`` names in the first ``articles``."""
        limit = len(self.articles) if articles is None else articles
        found = [p for p in self.planted if p.item < names and p.article < limit]
        real = [p for p in found if not p.decoy]
        decoys = sum(1 for p in found if p.decoy)
        prefixed = sum(1 for p in real if p.prefixed)
        return Expected(len(real), len(real) - prefixed + decoys, decoys, prefixed)


class _Writer:
    """Builds sentences of one language from templates."""

    def __init__(self, rng: random.Random, language: str) -> None:
        self.rng = rng
        self.language = language
        self.table = {"en": _EN, "fr": _FR, "ar": _AR}[language]
        self.templates = {"en": _EN_TEMPLATES, "fr": _FR_TEMPLATES, "ar": _AR_TEMPLATES}[language]
        self.mention_templates = {
            "en": _EN_MENTION_TEMPLATES,
            "fr": _FR_MENTION_TEMPLATES,
            "ar": _AR_MENTION_TEMPLATES,
        }[language]

    def _fill(self, template: str, **extra: str) -> str:
        rng = self.rng

        def slot(found: re.Match[str]) -> str:
            name = found.group(1)
            if name in extra:
                return extra[name]
            if name == "num":
                return str(rng.randint(2, 900))
            if name == "source_cap":
                value = rng.choice(self.table["source"])
                return value[0].upper() + value[1:]
            return html.escape(rng.choice(self.table[name]), quote=False)

        return re.sub(r"\{(\w+)\}", slot, template)

    def sentence(self) -> str:
        return self._fill(self.rng.choice(self.templates))

    def mention(self, name: str) -> str:
        return self._fill(self.rng.choice(self.mention_templates), name=name)

    def decoy(self, name: str, context: str) -> str:
        return self._fill(self.rng.choice(_DECOY_TEMPLATES), name=name, context=context)

    def with_markup(self, sentence: str) -> str:
        """Now and then a link around two filler words (never around a name)."""
        if self.rng.random() < 0.15:
            words = self.rng.sample(_LINK_WORDS, 2)
            href = f"https://news.example.org/{words[0]}/{self.rng.randint(10000, 99999)}"
            return f'{sentence} <a href="{href}">{words[0]} {words[1]}</a>'
        return sentence


def generate_corpus(items: Sequence[NameItem], total_bytes: int, seed: int) -> Corpus:
    """Articles of 1-5 KB until ``total_bytes`` of UTF-8, English, French and Arabic, with
    names of ``items`` planted at a news-like rate and decoys for the context rules."""
    rng = random.Random(f"corpus-{seed}")
    bands = [(0, 10, 0.45), (10, 1000, 0.25), (1000, len(items), 0.30)]
    by_script: dict[bool, list[tuple[list[int], float]]] = {False: [], True: []}
    for low, high, weight in bands:
        for arabic in (False, True):
            indices = [i for i in range(low, min(high, len(items))) if items[i].arabic == arabic]
            if indices:
                by_script[arabic].append((indices, weight))
    decoy_items = [i for i, item in enumerate(items) if item.context_words and not item.arabic]
    articles: list[Article] = []
    planted: list[Planted] = []
    size = 0
    arabic_articles = 0
    while size < total_bytes:
        number = len(articles)
        language = rng.choices(("en", "fr", "ar"), weights=(0.65, 0.2, 0.15))[0]
        writer = _Writer(rng, language)
        arabic = language == "ar"
        arabic_articles += arabic
        mentions = rng.choices((0, 1, 2, 3, 5), weights=(0.4, 0.25, 0.15, 0.1, 0.1))[0]
        decoy = not arabic and bool(decoy_items) and rng.random() < 0.04
        slots: list[str] = []
        if decoy:
            mentions = 0
            for _ in range(rng.randint(1, 2)):
                index = rng.choice(decoy_items)
                item = items[index]
                planted.append(Planted(number, index, decoy=True))
                real_decoys = _REAL_DECOYS.get(item.entity) if index < 10 else None
                if real_decoys:
                    day = rng.choice(_EN["day"])
                    slots.append(rng.choice(real_decoys).format(day=day))
                else:
                    slots.append(writer.decoy(item.text, rng.choice(item.context_words)))
        pools = by_script[arabic]
        for _ in range(mentions if pools else 0):
            indices = rng.choices([p[0] for p in pools], weights=[p[1] for p in pools])[0]
            index = rng.choice(indices)
            surface = items[index].text
            prefixed = arabic and rng.random() < 0.2
            if prefixed:
                surface = rng.choice(("و", "ب")) + surface
            planted.append(Planted(number, index, prefixed=prefixed))
            slots.append(writer.mention(surface))
        title_text = slots.pop(0) if slots and rng.random() < 0.2 else writer.sentence()
        summary = writer.sentence()
        target = rng.randint(1000, 5000)
        length = 0
        paragraphs: list[str] = []
        while length < target or slots:
            paragraph = [writer.with_markup(writer.sentence()) for _ in range(rng.randint(2, 5))]
            if slots and rng.random() < 0.5:
                paragraph.insert(rng.randint(0, len(paragraph)), slots.pop())
            text = "<p>" + " ".join(paragraph) + "</p>"
            paragraphs.append(text)
            length += len(text.encode("utf-8"))
        if rng.random() < 0.1:
            paragraphs.insert(
                1, '<figure><img src="https://img.example.org/p.jpg" alt=""></figure>'
            )
        article = Article(
            title=re.sub(r"</?\w+>", "", title_text),
            summary=html.escape(html.unescape(summary), quote=False),
            content="\n".join(paragraphs),
        )
        articles.append(article)
        size += article.size()
    return Corpus(tuple(articles), tuple(planted), size, arabic_articles)


def _prefix(articles: Sequence[Article], limit_bytes: int) -> int:
    """How many leading articles make up at least ``limit_bytes``."""
    total = 0
    for count, article in enumerate(articles, 1):
        total += article.size()
        if total >= limit_bytes:
            return count
    return len(articles)


# --- the approaches --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApproachResult:
    """One approach at one watchlist size. ``scanned_bytes`` is what was timed;
    ``seconds_full`` is ``seconds`` scaled to the whole text when only a sample was run."""

    approach: str
    names: int
    load_seconds: float | None
    compile_seconds: float
    scanned_bytes: int
    seconds: float
    seconds_full: float
    hits: int
    expected_hits: int | None
    sampled: bool

    @property
    def mb_per_second(self) -> float:
        return self.scanned_bytes / MB / self.seconds if self.seconds > 0 else float("inf")


def _names(items: Sequence[NameItem]) -> list[str]:
    return [item.text for item in items]


def run_matcher(
    watchlist_path: Path, articles: Sequence[Article], total_bytes: int, expected: int
) -> ApproachResult:
    """The whole path: load the YAML, compile, then ``Matcher.match`` per article."""
    gc.collect()
    started = time.perf_counter()
    watchlist = load_watchlist(watchlist_path)
    loaded = time.perf_counter()
    matcher = Matcher([watchlist])
    compiled = time.perf_counter()
    hits = 0
    for article in articles:
        hits += len(matcher.match(article.fields()).mentions)
    seconds = time.perf_counter() - compiled
    return ApproachResult(
        approach="matcher",
        names=sum(len(e.names) + len(e.acronyms) for e in watchlist.entities),
        load_seconds=loaded - started,
        compile_seconds=compiled - loaded,
        scanned_bytes=total_bytes,
        seconds=seconds,
        seconds_full=seconds,
        hits=hits,
        expected_hits=expected,
        sampled=False,
    )


def run_regex(
    names: Sequence[str],
    articles: Sequence[Article],
    total_bytes: int,
    sample_count: int,
    expected: int,
) -> ApproachResult:
    """One alternation of every name, longest first (so, like the matcher, the longest name
    wins at a position), case-insensitive, whole words; over the first ``sample_count``
    articles, timing extrapolated to ``total_bytes``."""
    gc.collect()
    started = time.perf_counter()
    ordered = sorted(names, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, ordered)) + r")\b", re.IGNORECASE)
    compiled = time.perf_counter()
    sample = articles[:sample_count]
    hits = 0
    for article in sample:
        for value in (article.title, article.summary, article.content):
            hits += len(pattern.findall(value))
    seconds = time.perf_counter() - compiled
    scanned = sum(article.size() for article in sample)
    return ApproachResult(
        approach="regex",
        names=len(names),
        load_seconds=None,
        compile_seconds=compiled - started,
        scanned_bytes=scanned,
        seconds=seconds,
        seconds_full=seconds * total_bytes / scanned if scanned else 0.0,
        hits=hits,
        expected_hits=expected,
        sampled=sample_count < len(articles),
    )


def run_raw_scan(
    names: Sequence[str], articles: Sequence[Article], total_bytes: int
) -> ApproachResult:
    """The ceiling: pyahocorasick over the lower-cased fields, counting every key occurrence
    (no HTML handling, no word boundaries, overlaps counted)."""
    gc.collect()
    started = time.perf_counter()
    automaton = ahocorasick.Automaton()
    for index, name in enumerate(names):
        automaton.add_word(name.lower(), index)
    automaton.make_automaton()
    compiled = time.perf_counter()
    hits = 0
    for article in articles:
        for value in (article.title, article.summary, article.content):
            for _ in automaton.iter(value.lower()):
                hits += 1
    seconds = time.perf_counter() - compiled
    return ApproachResult(
        approach="raw",
        names=len(names),
        load_seconds=None,
        compile_seconds=compiled - started,
        scanned_bytes=total_bytes,
        seconds=seconds,
        seconds_full=seconds,
        hits=hits,
        expected_hits=None,
        sampled=False,
    )


# --- memory ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryResult:
    """Memory of the matcher at one size: ``tracemalloc`` figures (Python allocations,
    pyahocorasick's included) and, if probed, the peak RSS growth (VmHWM) of a fresh process."""

    names: int
    scanned_bytes: int
    compile_peak_mb: float
    retained_mb: float
    match_peak_mb: float
    rss_delta_mb: float | None

    @property
    def peak_mb(self) -> float:
        return max(self.compile_peak_mb, self.match_peak_mb)


def _match_all(watchlist_path: Path, articles: Sequence[Article]) -> Matcher:
    matcher = Matcher([load_watchlist(watchlist_path)])
    for article in articles:
        matcher.match(article.fields())
    return matcher


def _proc_status_kib(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _rss_probe(watchlist_path: str, articles: list[tuple[str, str, str]]) -> float | None:
    """In a fresh process: peak RSS growth (MB) from loading, compiling and matching.

    Linux keeps ``ru_maxrss`` across exec, so a spawned child starts with its parent's peak;
    instead the kernel's high-water mark (VmHWM) is reset (clear_refs 5) and read back.
    """
    sample = [Article(*fields) for fields in articles]
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    before = _proc_status_kib("VmRSS")
    matcher = _match_all(Path(watchlist_path), sample)
    after = _proc_status_kib("VmHWM")
    del matcher
    if before is None or after is None:
        return None
    return (after - before) * 1024 / MB


def measure_memory(
    watchlist_path: Path, names: int, articles: Sequence[Article], *, rss_probe: bool = True
) -> MemoryResult:
    """tracemalloc over load + compile (its peak, and what the matcher keeps), then over
    matching ``articles`` (the overall peak)."""
    gc.collect()
    tracemalloc.start()
    try:
        matcher = Matcher([load_watchlist(watchlist_path)])
        gc.collect()
        retained, compile_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for article in articles:
            matcher.match(article.fields())
        match_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del matcher
    rss: float | None = None
    if rss_probe:
        payload = [(a.title, a.summary, a.content) for a in articles]
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            rss = pool.submit(_rss_probe, str(watchlist_path), payload).result()
    return MemoryResult(
        names=names,
        scanned_bytes=sum(a.size() for a in articles),
        compile_peak_mb=compile_peak / MB,
        retained_mb=retained / MB,
        match_peak_mb=match_peak / MB,
        rss_delta_mb=rss,
    )


# --- the run ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchConfig:
    total_mb: float = 20.0
    sizes: tuple[int, ...] = (10, 1000, 10000)
    seed: int = 1
    regex_sample_mb: float = 1.0
    regex_full_max_names: int = 100  # above this the regex runs on a sample only
    memory_mb: float = 2.0
    rss_probe: bool = True


@dataclass(frozen=True, slots=True)
class Report:
    config: BenchConfig
    started: str
    environment: dict[str, str]
    total_bytes: int
    articles: int
    arabic_articles: int
    planted: int
    decoys: int
    regex_sample_bytes: int
    results: tuple[ApproachResult, ...]
    memory: MemoryResult | None

    def result(self, approach: str, names: int) -> ApproachResult | None:
        for result in self.results:
            if result.approach == approach and result.names == names:
                return result
        return None

    def share_of_raw(self, names: int) -> float | None:
        ours, raw = self.result("matcher", names), self.result("raw", names)
        if ours is None or raw is None or ours.seconds <= 0:
            return None
        return raw.seconds / ours.seconds

    def targets(self) -> list[tuple[str, str, bool | None]]:
        """(target, measured, met) at the largest size."""
        largest = max(self.config.sizes)
        ours = self.result("matcher", largest)
        share = self.share_of_raw(largest)
        rows: list[tuple[str, str, bool | None]] = []
        if share is not None:
            rows.append(
                (
                    f"speed at {largest:,} names >= {TARGET_SHARE_OF_RAW:.0%} of the raw scan",
                    f"{share:.1%}",
                    share >= TARGET_SHARE_OF_RAW,
                )
            )
        if ours is not None:
            loaded = (ours.load_seconds or 0.0) + ours.compile_seconds
            rows.append(
                (
                    f"compile {largest:,} names < {TARGET_COMPILE_SECONDS:g} s, Matcher() alone",
                    f"{ours.compile_seconds:.3f} s",
                    ours.compile_seconds < TARGET_COMPILE_SECONDS,
                )
            )
            rows.append(
                (
                    f"compile {largest:,} names < {TARGET_COMPILE_SECONDS:g} s, "
                    "load_watchlist (YAML) + Matcher()",
                    f"{loaded:.3f} s",
                    loaded < TARGET_COMPILE_SECONDS,
                )
            )
        if self.memory is not None:
            worst = max(self.memory.peak_mb, self.memory.rss_delta_mb or 0.0)
            rows.append(
                (
                    f"memory at {self.memory.names:,} names < {TARGET_MEMORY_MB:g} MB",
                    f"{worst:.1f} MB (worst of tracemalloc peak and peak RSS growth)",
                    worst < TARGET_MEMORY_MB,
                )
            )
        return rows

    def to_json(self) -> dict[str, object]:
        results = []
        for result in self.results:
            row = asdict(result)
            row["mb_per_second"] = round(result.mb_per_second, 4)
            share = self.share_of_raw(result.names)
            if result.approach == "matcher" and share is not None:
                row["share_of_raw"] = round(share, 4)
            results.append(row)
        return {
            "started": self.started,
            "config": asdict(self.config),
            "environment": self.environment,
            "text": {
                "bytes": self.total_bytes,
                "articles": self.articles,
                "arabic_articles": self.arabic_articles,
                "planted_mentions": self.planted,
                "planted_decoys": self.decoys,
                "regex_sample_bytes": self.regex_sample_bytes,
            },
            "results": results,
            "memory": None
            if self.memory is None
            else {**asdict(self.memory), "peak_mb": self.memory.peak_mb},
            "targets": [
                {"target": target, "measured": measured, "met": met}
                for target, measured, met in self.targets()
            ],
        }


def _environment() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": str(len(os.sched_getaffinity(0))),
        "pyahocorasick": version("pyahocorasick"),
    }


def run_benchmark(config: BenchConfig, workdir: Path, log: bool = False) -> Report:
    """Generate the names and the text, write the watchlists to ``workdir``, run every
    approach at every size, then measure the matcher's memory at the largest size."""
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def say(message: str) -> None:
        if log:
            print(message, file=sys.stderr, flush=True)

    sizes = tuple(sorted(config.sizes))
    items = build_name_items(max(sizes), config.seed)
    say(f"generating {config.total_mb:g} MB of text ...")
    corpus = generate_corpus(items, int(config.total_mb * MB), config.seed)
    articles = corpus.articles
    sample_count = _prefix(articles, int(config.regex_sample_mb * MB))
    sample_bytes = sum(a.size() for a in articles[:sample_count])
    results: list[ApproachResult] = []
    paths: dict[int, Path] = {}
    for size in sizes:
        path = write_watchlist(items[:size], workdir / f"bench{size}.yaml")
        paths[size] = path
        names = _names(items[:size])
        expected = corpus.expected(size)
        say(f"{size:,} names: matcher ...")
        results.append(run_matcher(path, articles, corpus.size, expected.matcher))
        full = size <= config.regex_full_max_names
        count = len(articles) if full else sample_count
        say(f"{size:,} names: regex on {'all' if full else 'a sample'} ...")
        results.append(
            run_regex(names, articles, corpus.size, count, corpus.expected(size, count).regex)
        )
        say(f"{size:,} names: raw scan ...")
        results.append(run_raw_scan(names, articles, corpus.size))
    memory = None
    if config.memory_mb > 0:
        largest = sizes[-1]
        say(f"{largest:,} names: memory ...")
        memory_articles = articles[: _prefix(articles, int(config.memory_mb * MB))]
        memory = measure_memory(
            paths[largest], largest, memory_articles, rss_probe=config.rss_probe
        )
    return Report(
        config=config,
        started=started,
        environment=_environment(),
        total_bytes=corpus.size,
        articles=len(articles),
        arabic_articles=corpus.arabic_articles,
        planted=sum(1 for p in corpus.planted if not p.decoy),
        decoys=sum(1 for p in corpus.planted if p.decoy),
        regex_sample_bytes=sample_bytes,
        results=tuple(results),
        memory=memory,
    )


_LABELS = {
    "matcher": "matcher (whole path)",
    "regex": "regex alternation",
    "raw": "raw pyahocorasick",
}


def _rows(report: Report) -> Iterator[list[str]]:
    yield [
        "names", "approach", "load s", "compile s", "MB timed", "scan s", "MB/s",
        "s for all", "hits", "expected", "vs raw",
    ]  # fmt: skip
    for result in report.results:
        share = report.share_of_raw(result.names) if result.approach == "matcher" else None
        if result.approach == "raw":
            share = 1.0
        yield [
            f"{result.names:,}",
            _LABELS[result.approach] + (" *" if result.sampled else ""),
            "-" if result.load_seconds is None else f"{result.load_seconds:.3f}",
            f"{result.compile_seconds:.3f}",
            f"{result.scanned_bytes / MB:.2f}",
            f"{result.seconds:.2f}",
            f"{result.mb_per_second:.2f}",
            f"{result.seconds_full:.1f}",
            f"{result.hits:,}",
            "-" if result.expected_hits is None else f"{result.expected_hits:,}",
            "-" if share is None else f"{share:.1%}",
        ]


def format_report(report: Report) -> str:
    """The plain-text table and notes."""
    env = report.environment
    lines = [
        f"Matching benchmark, {report.started}; seed {report.config.seed}; Python "
        f"{env['python']}, pyahocorasick {env['pyahocorasick']}, {env['cpus']} CPUs",
        f"Text: {report.total_bytes / MB:.2f} MB (10^6 bytes of UTF-8 article HTML, title + "
        f"summary + content) in {report.articles:,} articles of 1-5 KB, "
        f"{report.arabic_articles:,} in Arabic; {report.planted:,} planted mentions and "
        f"{report.decoys:,} decoys (names in another sense) for the "
        f"{max(report.config.sizes):,}-name list.",
        "",
    ]
    rows = list(_rows(report))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 1 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    sampled = [r for r in report.results if r.sampled]
    lines += [
        "",
        "load s: YAML read + validation (load_watchlist); compile s: Matcher() / re.compile /",
        "automaton build. MB/s is over the bytes timed; 's for all' is the time for the whole",
        "text. vs raw: the approach's speed as a share of the raw scan's at the same size.",
        "hits: matcher = mentions (after context rules, overlaps); regex = whole-word matches;",
        "raw = every key occurrence (no boundaries, overlaps counted, also inside words).",
        "expected: what the generator planted (matcher: real mentions; regex: real mentions",
        "without an attached Arabic prefix, plus decoys, which only context rules drop).",
    ]
    if sampled:
        lines += [
            f"* regex at {', '.join(f'{r.names:,}' for r in sampled)} names: run on the first "
            f"{report.regex_sample_bytes / MB:.2f} MB only,",
            "  's for all' is extrapolated linearly to the whole text; hits and expected are",
            "  for that sample.",
        ]
    if report.memory is not None:
        memory = report.memory
        rss = (
            "not probed"
            if memory.rss_delta_mb is None
            else f"{memory.rss_delta_mb:.1f} MB peak RSS growth (VmHWM) in a fresh process"
        )
        lines += [
            "",
            f"Memory of the matcher at {memory.names:,} names (load + compile, then matching "
            f"the first {memory.scanned_bytes / MB:.2f} MB):",
            f"  tracemalloc: load + compile peak {memory.compile_peak_mb:.1f} MB, kept by the "
            f"compiled matcher {memory.retained_mb:.1f} MB,",
            f"  peak while matching {memory.match_peak_mb:.1f} MB (what the matcher keeps "
            "included);",
            f"  {rss}.",
        ]
    lines += ["", "Targets (from the issue; reported, not asserted):"]
    for target, measured, met in report.targets():
        verdict = "met" if met else "MISSED"
        lines.append(f"  {target}: {measured}  {verdict}")
    return "\n".join(lines)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give sizes like 10,1000,10000") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes must be positive")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.match",
        description="Matching throughput and compile time: our matcher vs one regex vs a raw "
        "Aho-Corasick scan, on deterministic news-like text.",
    )
    parser.add_argument("--mb", type=float, default=20.0, help="MB of text (default 20)")
    parser.add_argument(
        "--sizes", type=_sizes, default=(10, 1000, 10000), help="watchlist sizes (names)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of names and text")
    parser.add_argument(
        "--regex-sample-mb", type=float, default=1.0, help="text for the regex above 100 names"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--quick", action="store_true", help="small and fast (CI smoke): 0.5 MB, sizes 10,200"
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        total_mb=args.mb,
        sizes=args.sizes,
        seed=args.seed,
        regex_sample_mb=args.regex_sample_mb,
    )
    if args.quick:
        config = BenchConfig(
            total_mb=0.5, sizes=(10, 200), seed=args.seed, regex_sample_mb=0.1, memory_mb=0.2
        )
    with tempfile.TemporaryDirectory(prefix="bench-match-") as workdir:
        report = run_benchmark(config, Path(workdir), log=not args.json)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
