"""The `sent` column of `monitor stories`: each sink and kind once, with a count."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.cli import _sent
from monitor.db.stories import StoryAlert


def alert(sink: str, kind: str) -> StoryAlert:
    return StoryAlert(sink, "energy", kind, "d1", "delivered", ("gazprom",), datetime.now(UTC))


def test_a_sink_sent_a_story_several_times_is_listed_once_with_the_count() -> None:
    # An outside probe read "energy:all, digest:digest, energy:all" for three copies.
    sent = [alert("energy", "all"), alert("digest", "digest"), alert("energy", "all")]
    assert _sent(sent) == "energy:all x2, digest:digest"
    assert _sent([alert("desk", "first")]) == "desk:first"
    assert _sent([]) == "-"
