"""Watchlist YAML is read with libyaml when PyYAML has it; the pure-Python parser must read
every file to the same values, and error messages come from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.errors import ConfigError
from monitor.match.watchlist_file import _FAST_LOADER, _StrictKeysLoader, load_watchlist
from monitor.yamllines import RefusedYaml, expanded_size
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
        ("a: 1\nb:\n  c: 2\n  'c': 3\n", "line 4, column 3: key 'c' appears twice"),
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


def _bomb(levels: int) -> str:
    """An "alias bomb": each level a list of nine aliases of the level before."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for n in range(1, levels):
        aliases = ", ".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{aliases}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("loader", [_FAST_LOADER, _StrictKeysLoader])
def test_aliases_that_expand_past_the_limit_are_refused_before_they_are_built(
    loader: type,
) -> None:
    # Nine levels: a billion values once expanded. Refused at once, whatever the memory.
    with pytest.raises(RefusedYaml, match="expand to more than 1,000,000 values"):
        yaml.load(_bomb(9), Loader=loader)
    # Five levels (about 66,000 values) are an ordinary size.
    assert len(yaml.load(_bomb(5), Loader=loader)["a4"]) == 9


def test_a_node_that_holds_itself_is_refused() -> None:
    with pytest.raises(RefusedYaml):
        yaml.load("a: &a [1, *a]\n", Loader=_FAST_LOADER)


def test_expanded_size_counts_each_use_of_an_alias() -> None:
    node = yaml.compose("a: &x [1, 2]\nb: *x\nc: [*x, *x]\n", Loader=_FAST_LOADER)
    # root 1 + keys a, b, c 3 + a's list 3 + b's 3 + c's list 1 + 2 x 3.
    assert expanded_size(node) == 1 + 3 + 3 + 3 + 1 + 6


@pytest.mark.parametrize("loader", [_FAST_LOADER, _StrictKeysLoader])
def test_merge_keys_merge_and_the_mappings_own_keys_win(loader: type) -> None:
    text = (
        "base: &base {timeout: 5s, retry_schedule: [1s, 2s]}\n"
        "sink: {<<: *base, name: ops, timeout: 9s}\n"
    )
    assert yaml.load(text, Loader=loader)["sink"] == {
        "timeout": "9s",
        "retry_schedule": ["1s", "2s"],
        "name": "ops",
    }


def test_a_bomb_in_a_watchlist_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(9), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watchlist(path)
    assert str(caught.value).startswith(f"{path}: line 1, column 1: its aliases")
