"""Building blocks for end-to-end tests: a config file on disk and RSS documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

REPO = Path(__file__).resolve().parents[2]
LIBYA_WATCHLIST = REPO / "config" / "watchlists" / "libya.yaml"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def rss(
    entries: Sequence[tuple[str, str, str]],
    title: str = "Test Wire",
    links: Sequence[str] | None = None,
) -> bytes:
    """An RSS 2.0 document; entries are (guid, title, description-HTML). Each entry links to
    ``https://example.org/news/<guid>`` unless ``links`` gives its link."""
    items = []
    for index, (guid, headline, description) in enumerate(entries):
        published = format_datetime(datetime(2026, 11, 20, 8, index, tzinfo=UTC))
        link = links[index] if links else f"https://example.org/news/{guid}?utm_source=rss"
        items.append(
            f"<item><guid isPermaLink='false'>{escape(guid)}</guid>"
            f"<title>{escape(headline)}</title>"
            f"<link>{escape(link)}</link>"
            f"<description>{escape(description)}</description>"
            f"<pubDate>{published}</pubDate></item>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>https://example.org/</link>"
        f"<description>test</description>{''.join(items)}</channel></rss>"
    ).encode()


def write_config(
    folder: Path,
    *,
    database_url: str,
    sources: Sequence[tuple[str, str]],
    sink_url: str | None,
    retry_schedule: Sequence[str] = ("0s", "0s", "0s"),
    first_run: str = "store_only",
    extra: dict[str, object] | None = None,
    stories: str | None = None,
) -> Path:
    config: dict[str, object] = {
        "database_url": database_url,
        "poll": {"interval": "10m", "allow_private_networks": True, "tick": "1s"},
        "fetch": {"total_timeout": "10s"},
        "first_run": first_run,
        "sources": [{"name": name, "url": url} for name, url in sources],
        "watchlists": [str(LIBYA_WATCHLIST)],
        "sinks": (
            [
                {
                    "name": "ops",
                    "url": sink_url,
                    "secret": SECRET,
                    "retry_schedule": list(retry_schedule),
                    "timeout": "5s",
                    # `all` for tests that count one alert per article of one story.
                    **({"stories": stories} if stories else {}),
                }
            ]
            if sink_url
            else []
        ),
        "delivery": {"tick": "1s"},
    }
    config.update(extra or {})
    path = folder / "monitor.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path
