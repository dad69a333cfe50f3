"""How `monitor status` judges a reading (`monitor.status.verdict`): ok (0), degraded (1) and
why, not running (3, which wins); and how it words an instance that is not running."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.db.instances import STALE_AFTER, InstanceRow
from monitor.db.status import Health, SinkOutbox, Status
from monitor.status import (
    OUTBOX_STALE_AFTER,
    STATUS_DEGRADED,
    STATUS_NOT_RUNNING,
    STATUS_OK,
    render_status,
    status_json,
    verdict,
)

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
HEALTHY = {"healthy": 3, "unhealthy": 0, "gone": 0, "disabled": 1}


def _instance(heartbeat: datetime, stopped: datetime | None = None) -> InstanceRow:
    return InstanceRow(
        owner="h:1:abc",
        hostname="h",
        pid=1,
        version="0.1.0",
        config_path="/etc/monitor.yaml",
        config_generation=2,
        started_at=NOW - timedelta(hours=1),
        heartbeat_at=heartbeat,
        reloaded_at=NOW - timedelta(minutes=30),
        stopped_at=stopped,
    )


RUNNING = _instance(NOW - timedelta(seconds=20))


def _status(
    sources: dict[str, int] = HEALTHY,
    sinks: dict[str, SinkOutbox] | None = None,
    instances: tuple[InstanceRow, ...] = (RUNNING,),
) -> Status:
    return Status(now=NOW, health=Health(dict(sources), sinks or {}), instances=list(instances))


def test_running_and_healthy_is_ok() -> None:
    pending = {"ops": SinkOutbox(pending=3, oldest_pending_at=NOW - OUTBOX_STALE_AFTER)}
    judged = verdict(_status(sinks=pending))
    assert (judged.state, judged.problems, judged.exit_code) == ("ok", (), STATUS_OK)
    assert render_status(_status(), 5, []).splitlines()[-1] == "status: ok"


@pytest.mark.parametrize(
    ("sources", "sinks", "problem"),
    [
        ({**HEALTHY, "unhealthy": 1}, {}, "unhealthy_sources"),
        ({**HEALTHY, "gone": 2}, {}, "gone_sources"),
        (HEALTHY, {"ops": SinkOutbox(dead=1)}, "dead_letters"),
        (
            HEALTHY,
            {"ops": SinkOutbox(1, NOW - OUTBOX_STALE_AFTER - timedelta(seconds=1))},
            "outbox_stale",
        ),
    ],
)
def test_each_problem_makes_it_degraded(
    sources: dict[str, int], sinks: dict[str, SinkOutbox], problem: str
) -> None:
    judged = verdict(_status(sources, sinks))
    assert (judged.state, judged.problems, judged.exit_code) == (
        "degraded",
        (problem,),
        STATUS_DEGRADED,
    )


def test_most_sources_failing_their_last_poll_is_degraded() -> None:
    # Two outside probes (probe81, probe85): every feed refused (DNS, the network down) and
    # status said "ok" for the hours of back-off before a source counts as unhealthy.
    def judged(failing: int, sources: dict[str, int] = HEALTHY) -> tuple[str, ...]:
        health = Health(dict(sources), {}, failing=failing)
        return verdict(Status(now=NOW, health=health, instances=[RUNNING])).problems

    assert judged(failing=1) == ()  # one of three
    assert judged(failing=2) == ("failing_sources",)  # two of three
    assert judged(failing=1, sources={**HEALTHY, "healthy": 1}) == ("failing_sources",)
    # The unhealthy ones failed their last poll too; gone and disabled ones are not counted.
    both = {"healthy": 1, "unhealthy": 2, "gone": 0, "disabled": 5}
    assert judged(failing=0, sources=both) == ("unhealthy_sources", "failing_sources")
    assert judged(failing=0, sources={**HEALTHY, "gone": 5}) == ("gone_sources",)
    assert judged(failing=0, sources={**HEALTHY, "healthy": 0}) == ()
    reading = Status(now=NOW, health=Health(dict(HEALTHY), {}, failing=3), instances=[RUNNING])
    assert render_status(reading, 5, []).splitlines()[-1] == (
        "status: degraded: most sources failed their last poll"
    )


def test_not_running_wins_and_still_names_the_problems() -> None:
    dead = _instance(NOW - STALE_AFTER - timedelta(seconds=1))
    stopped = _instance(NOW - timedelta(minutes=5), stopped=NOW - timedelta(minutes=5))
    reading = _status({**HEALTHY, "unhealthy": 1}, instances=(dead, stopped))
    judged = verdict(reading)
    assert judged == replace(judged, state="not_running", exit_code=STATUS_NOT_RUNNING)
    assert judged.problems == ("unhealthy_sources",)
    lines = render_status(reading, 5, []).splitlines()
    assert lines[0] == "service: not running"
    assert lines[1].startswith("  dead: 1@h, version 0.1.0, started ")
    assert lines[2].startswith("  last stopped: 1@h, version 0.1.0, at ")
    assert lines[-1] == (
        "status: not running: no `monitor run` is running on this database; also unhealthy sources"
    )
    document = json.loads(json.dumps(status_json(reading, 5, [])))
    assert [i["state"] for i in document["service"]["instances"]] == ["dead", "stopped"]


def test_a_heartbeat_just_within_stale_after_is_running() -> None:
    assert verdict(_status(instances=(_instance(NOW - STALE_AFTER),))).exit_code == STATUS_OK


def test_a_live_process_that_stopped_writing_its_heartbeat_is_stalled_not_dead() -> None:
    # On a full disk the service lives on and says so in its log; `status` called it dead.
    import os
    import socket

    here = replace(
        _instance(NOW - STALE_AFTER - timedelta(minutes=5)),
        hostname=socket.gethostname(),
        pid=os.getpid(),
    )
    status = _status(instances=(here,))
    assert verdict(status).exit_code == STATUS_NOT_RUNNING
    text = render_status(status, 5, [])
    assert f"stalled: {os.getpid()}@{socket.gethostname()}" in text
    assert "the database refuses its writes" in text
    document = json.loads(json.dumps(status_json(status, 5, [])))
    assert document["service"]["instances"][0]["state"] == "stalled"
    # gone from this host, or proved dead by a free SQLite lock: dead
    gone = replace(here, pid=2**22 + 12345)
    assert "dead: " in render_status(_status(instances=(gone,)), 5, [])
    freed = replace(here, lock_free=True)
    assert "dead: " in render_status(_status(instances=(freed,)), 5, [])


def test_many_dead_instances_are_counted_after_the_latest_three() -> None:
    # Eight kill -9s in a week listed eight lines above the sources (an outside probe).
    dead = tuple(
        replace(
            _instance(NOW - STALE_AFTER - timedelta(hours=n + 1)),
            owner=f"h:{n}:x",
            pid=2**22 + n,
            hostname="elsewhere",
        )
        for n in range(8)
    )
    lines = render_status(_status(instances=(RUNNING, *dead)), 5, []).splitlines()
    assert sum(line.startswith("  dead: ") for line in lines) == 3
    assert "  and 5 more dead instances (`monitor status --json` lists them)" in lines
    assert any(line.startswith("  running: ") for line in lines)
    document = json.loads(json.dumps(status_json(_status(instances=(RUNNING, *dead)), 5, [])))
    assert len(document["service"]["instances"]) == 9


def test_a_refused_reload_is_shown_until_one_succeeds() -> None:
    # An outside probe: after a broken watchlist was refused, `monitor status` said only
    # "status: ok"; the file and what the service runs on differed, and nothing said so.
    refused = replace(RUNNING, reload_failed_at=NOW - timedelta(minutes=5), reload_error="x")
    text = render_status(_status(instances=(refused,)), 5, [])
    assert "its last reload was refused" in text and "monitor check" in text
    shown = json.loads(json.dumps(status_json(_status(instances=(refused,)), 5, [])))
    assert shown["service"]["instances"][0]["reload_refused_at"] is not None
    fixed = replace(refused, reloaded_at=NOW - timedelta(minutes=1))
    assert "refused" not in render_status(_status(instances=(fixed,)), 5, [])
    shown = json.loads(json.dumps(status_json(_status(instances=(fixed,)), 5, [])))
    assert shown["service"]["instances"][0]["reload_refused_at"] is None
