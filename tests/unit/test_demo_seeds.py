"""`monitor demo --seeds`: the folder holding feeds/, or that feeds/ folder itself; any other
folder is named in the error, with what --seeds wants."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.demo import find_seeds
from monitor.errors import ConfigError


def test_seeds_takes_the_folder_or_its_feeds_folder(tmp_path: Path) -> None:
    (tmp_path / "mine" / "feeds").mkdir(parents=True)
    (tmp_path / "mine" / "feeds" / "a.xml").write_text("<rss/>", encoding="utf-8")
    assert find_seeds(tmp_path / "mine") == (tmp_path / "mine").resolve()
    assert find_seeds(tmp_path / "mine" / "feeds") == (tmp_path / "mine").resolve()


def test_another_folder_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    with pytest.raises(ConfigError) as caught:
        find_seeds(tmp_path / "other")
    message = str(caught.value)
    assert str(tmp_path / "other") in message and "holds feeds/" in message
