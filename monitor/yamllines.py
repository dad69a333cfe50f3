"""Reading YAML for messages that point at the line to fix: line numbers of values, and
loaders that refuse a key written twice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import SafeConstructor

from monitor.errors import ConfigError

__all__ = [
    "MAX_NESTING",
    "check_nesting",
    "FAST_COMPOSER",
    "FAST_STRICT_LOADER",
    "MAX_EXPANDED_VALUES",
    "RefusedYaml",
    "StrictKeysLoader",
    "expanded_size",
    "line_of",
    "location_of",
]


def line_of(node: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``location`` (keys and list indexes), if found."""
    line = None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


Key = TypeVar("Key")
Value = TypeVar("Value")


def without_own_keys(data: Mapping[Key, Value]) -> dict[Key, Value]:
    """``data`` without its top-level keys that start with "x-": the file's own (as in
    Compose files), a place for YAML anchors shared by sections ("x-defaults: &defaults"),
    read by nobody else. The config file and watchlist files both allow them."""
    return {key: value for key, value in data.items() if not str(key).startswith("x-")}


_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


def location_of(field_path: str) -> tuple[int | str, ...]:
    """``entities[2].names[0]`` as ``("entities", 2, "names", 0)``."""
    return tuple(int(index) if index else key for key, index in _PART.findall(field_path))


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"

MAX_EXPANDED_VALUES = 1_000_000
"""Values a YAML file may hold once its aliases are expanded. A config with 10,000 sources,
or a watchlist with thousands of names, holds about 100,000; nine levels of nine aliases
(an "alias bomb") hold a billion, which would take all the memory there is."""


class RefusedYaml(yaml.constructor.ConstructorError):
    """YAML that parses but is refused (a key written twice, aliases that expand too far);
    the message says what to change."""


def expanded_size(node: yaml.Node, limit: int = MAX_EXPANDED_VALUES) -> int:
    """How many values ``node`` holds once every alias is expanded (a node used through
    aliases counts each time), counted up to a little past ``limit``."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        if not children_done:
            if id(current) in entered:  # a node that holds itself: endless once expanded
                return limit + 1
            entered.add(id(current))
        if isinstance(current, yaml.MappingNode):
            children = [part for pair in current.value for part in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        else:
            sizes[id(current)] = 1
            continue
        if children_done:
            total = 1
            for child in children:
                total += sizes.get(id(child), 0)
                if total > limit:
                    break
            sizes[id(current)] = min(total, limit + 1)
        else:
            stack.append((current, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(node)]


class StrictKeys(SafeConstructor):
    """Refuses a key written twice in one mapping (YAML keeps the last one silently: half of an
    analyst's list, or the first of two database URLs, would be lost without a word), and a
    document whose aliases expand past `MAX_EXPANDED_VALUES`. Merge keys (``<<: *defaults``)
    work as in YAML 1.1: the mapping's own keys win over merged ones."""

    def construct_document(self, node: yaml.Node) -> Any:
        if expanded_size(node) > MAX_EXPANDED_VALUES:
            raise RefusedYaml(
                None,
                None,
                f"its aliases (*name) expand to more than {MAX_EXPANDED_VALUES:,} values "
                "(aliases of lists that hold aliases multiply): write the values out, or "
                "alias fewer levels",
                node.start_mark,
            )
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # `<<`: merged by SafeConstructor, own keys win
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
                key: object = key_node.value  # what constructing the str key would give
            else:
                key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, str) and key in seen:
                raise RefusedYaml(
                    None,
                    None,
                    f"key {key!r} appears twice (first on line {seen[key]}): merge the two",
                    key_node.start_mark,
                )
            if isinstance(key, str):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class StrictKeysLoader(StrictKeys, yaml.SafeLoader):
    """SafeLoader (no object tags) with strict keys; its error messages name what it found."""


# libyaml's parser (in the PyYAML wheels) reads a large file several times faster than the
# pure-Python one; its nodes carry the same line marks.
FAST_COMPOSER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = (
    yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
)
FAST_STRICT_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = StrictKeysLoader
if yaml.__with_libyaml__:

    class FastStrictKeysLoader(StrictKeys, yaml.CSafeLoader):
        """Strict keys on libyaml's parser."""

    FAST_STRICT_LOADER = FastStrictKeysLoader


# Deeper than any config needs, shallow enough that no recursive walk of it (variables,
# validation) reaches Python's recursion limit.
MAX_NESTING = 64


def check_nesting(path: Path, data: object) -> None:
    """Raise ConfigError when YAML ``data`` read from ``path`` nests lists and mappings more
    than `MAX_NESTING` levels deep (read without recursion)."""
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = (
        [(data, 1)] if isinstance(data, dict | list) else []
    )
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(
                f"{path}: lists and mappings nested more than {MAX_NESTING} levels deep; "
                "a config needs a few: check the brackets and indentation"
            )
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
