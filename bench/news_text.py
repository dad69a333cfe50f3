"""News-like sentences for the feed farm (English, French, Arabic), varied the way news is:
people, places, figures and wording drawn from lists large enough that two unrelated
entries rarely share more than a few common word pairs, so that only the farm's wire copies
(bench/farm.py) make stories of several articles."""

from __future__ import annotations

import random

_GIVEN = (
    "Ahmed Mohamed Ali Omar Khaled Salem Mustafa Ibrahim Youssef Hamza Tarek Nouri Faraj Adel "
    "Walid Hassan Abdullah Saleh Fathi Mahmoud Jamal Osama Idris Hisham Bashir Anwar Ramadan "
    "Aisha Fatima Mariam Huda Salma Nadia Laila Amal Samira Rania Zainab Hanan Nour Asma Sara "
    "Giorgia Stephanie Richard Jan Antonio Ghassan Volker Emmanuel Anna Martin Elena Peter"
).split()
_SURNAMES = (
    "Mansour Belhaj Zaidi Gheriani Tarhouni Sharif Obeidi Warfalli Misrati Jadallah Buzaid "
    "Ferjani Shaibani Qadhi Senussi Barghathi Mismari Naas Kabir Hadi Dabbashi Trabelsi "
    "Fezzani Ghadamsi Ouerfelli Bensalem Karoui Amrani Haddad Khoury Rossi Bianchi Schmidt "
    "Dupont Moreau Weber Novak Kowalski Petrov Ivanova Clarke Hughes Morgan Lindqvist Okafor "
    "Mensah Diallo Traore Keita Salah"
).split()
_ROLES = (
    "minister",
    "spokesman",
    "spokeswoman",
    "mayor",
    "commander",
    "envoy",
    "governor",
    "lawmaker",
    "analyst",
    "economist",
    "judge",
    "director",
    "activist",
    "researcher",
    "general",
    "ambassador",
    "official",
    "engineer",
)
_PLACES = (
    "Benghazi Misrata Sabha Zawiya Zuwara Sirte Derna Tobruk Ajdabiya Brega Ras Lanuf Gharyan "
    "Kufra Ghat Murzuq Ubari Bani Walid Tarhuna Zintan Nalut Jadu Yefren Sabratha Surman "
    "Khoms Zliten Bayda Marj Shahat Susah Jalu Awjila Hun Waddan Jufra Tazirbu Ghadames "
    "Tunis Cairo Rome Valletta Ankara Geneva Berlin Paris Algiers Niamey Khartoum Athens"
).split()
_ORGS = (
    "central bank",
    "national oil corporation",
    "electoral commission",
    "presidential council",
    "audit bureau",
    "health ministry",
    "interior ministry",
    "port authority",
    "red crescent",
    "chamber of commerce",
    "water authority",
    "general electricity company",
    "coast guard",
    "municipal council",
    "labour union",
    "supreme court",
    "investment authority",
    "customs service",
    "civil aviation authority",
    "teachers' union",
)
_VERBS = (
    "warned of",
    "called for",
    "reported",
    "welcomed",
    "rejected",
    "announced",
    "discussed",
    "raised concerns about",
    "denied reports of",
    "confirmed",
    "pledged support for",
    "criticised",
    "defended",
    "questioned",
    "postponed",
    "approved",
    "suspended",
    "investigated",
    "praised",
    "played down",
    "demanded",
    "proposed",
    "signed",
    "blocked",
)
_ADJECTIVES = (
    "new",
    "long-delayed",
    "controversial",
    "emergency",
    "revised",
    "joint",
    "provisional",
    "annual",
    "regional",
    "costly",
    "unexpected",
    "second",
    "draft",
    "expanded",
    "temporary",
    "overdue",
    "disputed",
    "modest",
    "sweeping",
    "fragile",
)
_NOUNS = (
    "budget",
    "fuel subsidies",
    "ceasefire plan",
    "election timetable",
    "coastal road",
    "oil output",
    "airport",
    "prisoner exchange",
    "bread prices",
    "migrant boats",
    "power cuts",
    "water pipeline",
    "security reform",
    "salary payments",
    "port expansion",
    "hospital tender",
    "school year",
    "currency reserves",
    "desalination plant",
    "border crossing",
    "housing project",
    "grain imports",
    "flood defences",
    "cash shortage",
    "rail link",
    "solar farm",
    "fishing quotas",
    "vaccine campaign",
    "customs rules",
    "internet outage",
)
_TAILS = (
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "on Saturday",
    "on Sunday",
    "after a week of meetings",
    "according to a statement",
    "in a televised speech",
    "despite objections from parliament",
    "as talks resumed",
    "late at night",
    "citing unnamed sources",
    "in an interview",
    "ahead of the winter",
    "for the first time in years",
    "at a news conference",
    "in a letter to donors",
    "after weeks of protests",
)
_UNITS = ("percent", "million dinars", "barrels a day", "families", "kilometres", "tonnes")

_FR_SUBJECTS = (
    "le ministre {s}",
    "le porte-parole {s}",
    "la députée {s}",
    "le maire de {p}",
    "les autorités de {p}",
    "le conseil municipal de {p}",
    "la banque centrale",
    "la compagnie nationale de pétrole",
    "des habitants de {p}",
    "l’envoyé {s}",
)
_FR_VERBS = (
    "a annoncé",
    "a dénoncé",
    "a confirmé",
    "a démenti",
    "a réclamé",
    "a reporté",
    "a approuvé",
    "a critiqué",
    "a salué",
    "a suspendu",
    "a évoqué",
    "a promis",
)
_FR_OBJECTS = (
    "la réouverture du port de {p}",
    "une hausse de {n} % du prix du pain",
    "le report des élections municipales à {p}",
    "des coupures d’électricité à {p}",
    "un accord sur le budget de {n} millions de dinars",
    "la réparation de l’oléoduc près de {p}",
    "l’arrivée de {n} migrants à {p}",
    "un nouveau plan de sécurité pour {p}",
    "la fermeture de la route entre {p} et {q}",
    "le versement des salaires de {n} fonctionnaires",
    "la construction d’un hôpital à {p}",
    "des pénuries de carburant dans la région de {p}",
)
_FR_TAILS = (
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "dans un communiqué",
    "lors d’une conférence de presse",
    "après des semaines de négociations",
    "selon des sources locales",
    "devant le parlement",
)
_AR_SUBJECTS = (
    "وزير الداخلية",
    "المتحدث باسم الحكومة",
    "عميد بلدية {p}",
    "سكان {p}",
    "المصرف المركزي",
    "المؤسسة الوطنية للنفط",
    "المجلس البلدي في {p}",
    "مفوضية الانتخابات",
    "الهلال الأحمر في {p}",
    "النائب {s}",
)
_AR_VERBS = ("أعلن", "أكد", "نفى", "طالب", "انتقد", "رحب", "حذر من", "ناقش", "أجّل", "اقترح")
_AR_OBJECTS = (
    "إعادة فتح ميناء {p}",
    "ارتفاع أسعار الخبز بنسبة {n} في المئة",
    "انقطاع الكهرباء في {p}",
    "وصول {n} مهاجرا إلى {p}",
    "صيانة خط أنابيب المياه قرب {p}",
    "تأجيل الانتخابات البلدية في {p}",
    "ميزانية قدرها {n} مليون دينار",
    "إغلاق الطريق بين {p} و{q}",
    "صرف رواتب {n} موظفا",
    "نقص الوقود في {p}",
)
_AR_PLACES = (
    "بنغازي مصراتة سبها الزاوية زوارة سرت درنة طبرق أجدابيا البريقة غريان الكفرة غات "
    "مرزق أوباري بني وليد ترهونة الزنتان نالوت يفرن صبراتة الخمس زليتن البيضاء المرج"
).split()
_AR_TAILS = (
    "يوم الاثنين",
    "يوم الثلاثاء",
    "يوم الأربعاء",
    "يوم الخميس",
    "في بيان",
    "في مؤتمر صحفي",
)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_GIVEN)} {rng.choice(_SURNAMES)}"


def _english_subject(rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return f"{rng.choice(_ROLES).capitalize()} {_person(rng)}"
    if form == 1:
        return f"The {rng.choice(_ORGS)}"
    return f"Residents of {rng.choice(_PLACES)}"


def _english_object(rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return f"the {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} in {rng.choice(_PLACES)}"
    if form == 1:
        return f"the {rng.choice(_NOUNS)} ({rng.randrange(2, 950)} {rng.choice(_UNITS)})"
    return f"{rng.choice(_NOUNS)} near {rng.choice(_PLACES)}"


def sentence(rng: random.Random, lang: str, mention: str | None) -> str:
    """One sentence in ``lang`` ("en", "fr" or "ar"); ``mention`` (a watched name) is its
    subject (English) or the one it is attributed to (French, Arabic)."""
    if lang == "fr":
        place, other, number = rng.choice(_PLACES), rng.choice(_PLACES), rng.randrange(2, 950)
        subject = rng.choice(_FR_SUBJECTS).format(s=rng.choice(_SURNAMES), p=place)
        obj = rng.choice(_FR_OBJECTS).format(p=place, q=other, n=number)
        text = f"{subject[0].upper()}{subject[1:]} {rng.choice(_FR_VERBS)} {obj} "
        text += rng.choice(_FR_TAILS)
        return f"{text}, a déclaré {mention}." if mention else f"{text}."
    if lang == "ar":
        place, other = rng.choice(_AR_PLACES), rng.choice(_AR_PLACES)
        subject = rng.choice(_AR_SUBJECTS).format(s=rng.choice(_SURNAMES), p=place)
        obj = rng.choice(_AR_OBJECTS).format(p=place, q=other, n=rng.randrange(2, 950))
        text = f"{rng.choice(_AR_VERBS)} {subject} {obj} {rng.choice(_AR_TAILS)}"
        return f"{text} وفق {mention}." if mention else f"{text}."
    subject = mention[0].upper() + mention[1:] if mention else _english_subject(rng)
    return f"{subject} {rng.choice(_VERBS)} {_english_object(rng)} {rng.choice(_TAILS)}."
