"""Watchlist YAML is read with libyaml when PyYAML has it; the pure-Python parser must read
every file to the same values, and error messages come from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.errors import ConfigError
from monitor.match.watchlist_file import _FAST_LOADER, _StrictKeysLoader, load_watchlist
from tests.unit.match.conftest import SHIPPED_WATCHLIST


def test_libyaml_is_used_when_available() -> None:
    assert (_FAST_LOADER is not _StrictKeysLoader) == yaml.__with_libyaml__


@pytest.mark.parametrize(
    "text",
    [
        SHIPPED_WATCHLIST.read_text(encoding="utf-8"),
        "a: 1\nb: [yes, no, ~, 1.5, '007', !!str 12]\nc: {d: &x e, f: *x}\n",
        "{1: a, '1': b, 1.0: c, true: d}\n",
    ],
)
def test_both_parsers_build_the_same_values(text: str) -> None:
    assert yaml.load(text, Loader=_FAST_LOADER) == yaml.load(text, Loader=_StrictKeysLoader)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb:\n  c: 2\n  'c': 3\n", "line 4, column 3: invalid YAML (key 'c' appears twice"),
        ("x: *missing\n", "(found undefined alias 'missing')"),
        ('x: "\\q"\n', "(found unknown escape character 'q')"),
    ],
)
def test_errors_name_what_was_found(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watchlist(path)
    assert message in str(caught.value)
