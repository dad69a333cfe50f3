"""seeds/: the labelled articles are well-formed and balanced, the feeds stay on example hosts."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
ARTICLES = SEEDS_DIR / "articles.jsonl"
CORE_ENTITIES = ("haftar", "lna", "gna", "tripoli")
TEXT_FIELDS = ("title", "summary", "content")
ALLOWED_KEYS = {"id", "lang", "title", "summary", "content", "expect", "note"}
EXAMPLE_HOST = re.compile(r"(?:[a-z0-9-]+\.)*example\.(?:org|com|net)")

# For each entity, strings whose presence in a false-labelled article makes it a trap.
TRAP_STRINGS = {
    "haftar": (),
    "lna": ("LNA", "lna"),
    "gna": ("GNA", "gna"),
    "tripoli": ("Tripoli", "طرابلس"),
}


def load_articles() -> list[dict[str, Any]]:
    articles = []
    for number, line in enumerate(ARTICLES.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"articles.jsonl line {number} is blank"
        record = json.loads(line)
        assert isinstance(record, dict), f"articles.jsonl line {number} is not an object"
        articles.append(record)
    return articles


def article_text(article: dict[str, Any]) -> str:
    return "\n".join(str(article.get(field, "")) for field in TEXT_FIELDS)


def test_articles_are_well_formed() -> None:
    articles = load_articles()

    assert 20 <= len(articles) <= 40
    ids = [article["id"] for article in articles]
    assert len(set(ids)) == len(ids)
    for article in articles:
        assert set(article) <= ALLOWED_KEYS, article["id"]
        assert isinstance(article["id"], str) and article["id"]
        assert all(isinstance(article.get(field, ""), str) for field in TEXT_FIELDS)
        assert article.get("title") or article.get("summary") or article.get("content")
        assert set(article["expect"]) == set(CORE_ENTITIES), article["id"]
        assert all(isinstance(value, bool) for value in article["expect"].values())


def test_articles_cover_four_languages() -> None:
    languages = Counter(article["lang"] for article in load_articles())

    assert set(languages) == {"en", "fr", "ar", "it"}
    assert min(languages.values()) >= 5


@pytest.mark.parametrize("entity", CORE_ENTITIES)
def test_each_entity_has_positive_and_negative_labels(entity: str) -> None:
    labels = [article["expect"][entity] for article in load_articles()]

    assert labels.count(True) >= 3
    assert labels.count(False) >= 3


@pytest.mark.parametrize("entity", [entity for entity in CORE_ENTITIES if TRAP_STRINGS[entity]])
def test_each_ambiguous_entity_has_traps(entity: str) -> None:
    traps = [
        article["id"]
        for article in load_articles()
        if not article["expect"][entity]
        and any(trap in article_text(article) for trap in TRAP_STRINGS[entity])
    ]

    assert len(traps) >= 3, traps


def test_a_mention_only_in_content_is_labelled() -> None:
    content_only = [
        article
        for article in load_articles()
        if article.get("content")
        and article["expect"]["haftar"]
        and "Haftar" not in article.get("title", "") + article.get("summary", "")
    ]

    assert content_only


def test_seed_files_are_documented() -> None:
    readme = (SEEDS_DIR / "README.md").read_text(encoding="utf-8")

    for path in sorted((SEEDS_DIR / "feeds").glob("*.xml")):
        assert f"feeds/{path.name}" in readme
    assert "articles.jsonl" in readme


@pytest.mark.parametrize(
    "path", sorted((SEEDS_DIR / "feeds").glob("*.xml")), ids=lambda path: path.name
)
def test_feed_links_use_example_hosts_and_dates_are_2026(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    hosts = set(re.findall(r"https?://([^/\"'<>\s?#]+)", text))
    hosts -= {"www.w3.org", "purl.org"}  # XML namespace names, never fetched
    assert hosts
    assert all(EXAMPLE_HOST.fullmatch(host) for host in hosts), hosts
    years = set(re.findall(r"<pubDate>[A-Za-z]{3}, \d\d [A-Za-z]{3} (\d{4})", text))
    years |= set(re.findall(r"<(?:published|updated)>(\d{4})-", text))
    assert years == {"2026"}
