"""``monitor demo`` as a user sees it: what it says about its database and ``first_run``, and
each alert's excerpts in reading order (title, summary, content) with no text twice."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_check_command import monitor

EXCERPT = re.compile(r"^  (title|summary|content): (.*)$")
ORDER = {"title": 0, "summary": 1, "content": 2}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    result = monitor("demo", cwd=tmp_path_factory.mktemp("demo-cwd"))
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _blocks(stdout: str) -> list[list[str]]:
    """The printed alerts, each as its lines (alerts are separated by a blank line)."""
    blocks = [block.splitlines() for block in stdout.split("\n\n")]
    return [lines for lines in blocks if any(EXCERPT.match(line) for line in lines)]


def test_the_demo_says_its_database_is_temporary_and_it_is_gone(
    demo: subprocess.CompletedProcess[str],
) -> None:
    (line,) = [line for line in demo.stdout.splitlines() if "database" in line]
    assert "temporary" in line and "deleted when the demo ends" in line, line
    found = re.search(r"temporary folder (\S+)", line)
    assert found, line
    assert not Path(found.group(1)).exists()


def test_the_demo_says_it_alerts_the_backlog(demo: subprocess.CompletedProcess[str]) -> None:
    head = demo.stdout.split("\n\n", 1)[0]
    assert "first_run: alert_all" in head and "store_only" in head, head


def test_each_alert_shows_title_summary_content_in_order_and_no_excerpt_twice(
    demo: subprocess.CompletedProcess[str],
) -> None:
    blocks = _blocks(demo.stdout)
    assert len(blocks) >= 10, demo.stdout
    for lines in blocks:
        excerpts = [m.groups() for m in map(EXCERPT.match, lines) if m]
        fields = [ORDER[field] for field, _ in excerpts]
        assert fields == sorted(fields), "\n".join(lines)
        texts = [text for _, text in excerpts]
        assert len(texts) == len(set(texts)), "\n".join(lines)
    # The seeds have such alerts: a summary that is also the content's first paragraph, and
    # (in the payload, most entities first) a summary excerpt before the title's.
    titles = [lines[1].strip() for lines in blocks]
    assert any("succession question" in title for title in titles)


def test_a_timeout_of_no_time_is_a_usage_error(tmp_path: Path) -> None:
    # An outside probe (probe85): `demo --timeout 0` said "6 feeds polled, 0 articles
    # stored" and then that it did not finish in time.
    result = monitor("demo", "--timeout", "0", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--timeout" in result.stderr and "polled" not in result.stdout
