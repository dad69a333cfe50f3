"""`monitor explain`'s verdict per sink goes through the sink's own filters: a sink whose
watchlists or entities filter leaves the alert out does not "send" it, and the conditions
that need the stored stories (min_sources, the story policy) are named."""

from __future__ import annotations

from monitor.config import SinkConfig
from monitor.explain import sink_decisions
from monitor.match.explain import WatchlistDecision
from monitor.match.result import WatchlistMatch


def _decision(entities: tuple[str, ...]) -> WatchlistDecision:
    match = WatchlistMatch("libya", entities, (), (), None)
    return WatchlistDecision("libya", "any", True, "an entity is mentioned", match)


def _sink(name: str, **options: object) -> SinkConfig:
    return SinkConfig(name=name, url="http://127.0.0.1:9/hook", signing="none", **options)  # type: ignore[arg-type]


def test_each_sinks_filters_decide_whether_it_would_hear_of_the_alert() -> None:
    sinks = [
        _sink("everything", stories="all"),
        _sink("gna-only", stories="all", entities=["gna"]),
        _sink("other-list", stories="all", watchlists=["sahel"]),
        _sink("two-sources", stories="all", min_sources=2),
        _sink("first"),
        _sink("off", enabled=False),
    ]
    routes = {"libya": [s.name for s in sinks]}
    verdicts = {
        d.sink: (d.sends, d.reason) for d in sink_decisions(_decision(("misrata",)), sinks, routes)
    }
    assert verdicts == {
        "everything": (True, "would send the alert"),
        "gna-only": (False, "names none of the sink's entities filter (gna)"),
        "other-list": (False, "the sink's watchlists filter leaves it out"),
        "two-sources": (
            True,
            "would send the alert if its story has 2 or more sources (min_sources)",
        ),
        "first": (
            True,
            "would send the alert if the sink was not told of its story yet (stories: first)",
        ),
        "off": (False, "the sink is disabled"),
    }
    # Naming one of the filter's entities is enough.
    (gna,) = sink_decisions(_decision(("gna", "misrata")), sinks[1:2], routes)
    assert gna.sends
