"""Writes the labelled story-clustering set from the hand-written base stories.

``base.jsonl`` (tuning) and ``base-heldout.jsonl`` (held out: never tuned on) hold one story
per line, written by hand. Each story becomes five articles as different outlets and
revisions publish it: the wire copy, a rewritten headline, a shortened lead, a version with
added paragraphs and no summary, and a correction with a changed figure. Output:
``tuning.jsonl`` and ``heldout.jsonl`` (one article per line). Deterministic; run from the
repository root:

    .venv/bin/python tests/data/stories/make_variants.py [OUTPUT_DIR]
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

from monitor.text import sentence_spans

HERE = Path(__file__).resolve().parent

CORRECTED_PREFIX = {
    "en": "CORRECTED-",
    "fr": "RECTIFICATIF - ",
    "it": "CORREZIONE - ",
    "ar": "تصحيح - ",
}
CORRECTION_NOTE = {
    "en": "(Corrects figure in first paragraph to {new} from {old})",
    "fr": "(Rectifie le chiffre du premier paragraphe : {new} au lieu de {old})",
    "it": "(Corregge il dato nel primo paragrafo: {new} invece di {old})",
    "ar": "(تصحيح الرقم في الفقرة الأولى إلى {new} بدلا من {old})",
}
OTHER_OUTLET = {
    "en": "Sahel Herald",
    "fr": "Le Courrier du Maghreb",
    "it": "Notiziario Sud",
    "ar": "صحيفة الساحل",
}
SIGN_OFF = {
    "en": "(Reporting by the Tripoli newsroom; editing by the Africa desk)",
    "fr": "(Rédaction de Tunis, édité par le service Afrique)",
    "it": "(Redazione di Palermo)",
    "ar": "(إعداد: مكتب طرابلس)",
}


def with_figure(text: str, old: str, new: str) -> str:
    """``text`` with the figure ``old`` replaced by ``new`` (also capitalised/lower forms)."""
    forms = {old: new, old.capitalize(): new.capitalize(), old.lower(): new.lower()}
    for before, after in forms.items():
        text = re.sub(rf"(?<!\w){re.escape(before)}(?!\w)", after, text)
    return text


def first_sentence(text: str) -> str:
    start, end = sentence_spans(text)[0]
    return text[start:end]


def variants(story: dict[str, str]) -> list[dict[str, str]]:
    lang = story["lang"]
    t0 = datetime.fromisoformat(story["published"].replace("Z", "+00:00"))
    lead, body, extra = story["lead"], story["body"], story["extra"]
    fig, fig_new = story["fig"], story["fig_new"]
    corrected_lead = with_figure(lead, fig, fig_new)
    assert corrected_lead != lead, f"{story['story']}: figure {fig!r} not in the lead"
    out = [
        (
            "wire",
            0,
            story["title"],
            f"{story['dateline']} - {lead}",
            f"<p>{story['dateline']} - {lead}</p><p>{body}</p>",
        ),
        (
            "rewritten-headline",
            50,
            story["title_alt"],
            lead,
            f"<p>{lead}</p><p>{body}</p><p><em>{OTHER_OUTLET[lang]}</em></p>",
        ),
        ("shortened-lead", 130, story["title"], first_sentence(lead), ""),
        (
            "added-paragraphs",
            300,
            story["title"],
            "",
            f"<p>{story['dateline']} - {lead}</p><p>{body}</p><p>{extra}</p>"
            f"<p>{SIGN_OFF[lang]}</p>",
        ),
        (
            "correction",
            1200,
            CORRECTED_PREFIX[lang] + with_figure(story["title"], fig, fig_new),
            f"{story['dateline']} - {corrected_lead} "
            + CORRECTION_NOTE[lang].format(new=fig_new, old=fig),
            f"<p>{story['dateline']} - {corrected_lead}</p><p>{body}</p>",
        ),
    ]
    return [
        {
            "id": f"{story['story']}-{name}",
            "story": story["story"],
            "group": story["group"],
            "lang": lang,
            "variant": name,
            "published": (t0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "title": title,
            "summary": summary,
            "content": content,
        }
        for name, minutes, title, summary, content in out
    ]


def main(out_dir: Path = HERE) -> None:
    for source, target in (("base.jsonl", "tuning.jsonl"), ("base-heldout.jsonl", "heldout.jsonl")):
        stories = [json.loads(line) for line in (HERE / source).read_text().splitlines() if line]
        articles = [article for story in stories for article in variants(story)]
        lines = [json.dumps(article, ensure_ascii=False) for article in articles]
        (out_dir / target).write_text("\n".join(lines) + "\n")
        print(f"{target}: {len(articles)} articles in {len(stories)} stories")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
