"""Fixtures for matcher tests: watchlists written to real files, the shipped watchlist."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.match import Matcher, Watchlist
from monitor.match.watchlist_file import load_watchlist

SHIPPED_WATCHLIST = Path(__file__).resolve().parents[3] / "config" / "watchlists" / "libya.yaml"


@pytest.fixture
def write_watchlist(tmp_path: Path) -> Callable[..., Watchlist]:
    """Write YAML (dedented) to ``<tmp>/<stem>.yaml`` and load it."""

    def write(text: str, stem: str = "test") -> Watchlist:
        path = tmp_path / f"{stem}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_watchlist(path)

    return write


@pytest.fixture(scope="session")
def libya() -> Watchlist:
    return load_watchlist(SHIPPED_WATCHLIST)


@pytest.fixture(scope="session")
def libya_matcher(libya: Watchlist) -> Matcher:
    return Matcher([libya])
