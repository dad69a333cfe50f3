"""Reading YAML for messages that point at the line to fix: line numbers of values, and
loaders that refuse a key written twice."""

from __future__ import annotations

import re

import yaml
from yaml.constructor import SafeConstructor

__all__ = [
    "FAST_COMPOSER",
    "FAST_STRICT_LOADER",
    "StrictKeysLoader",
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


_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def location_of(field_path: str) -> tuple[int | str, ...]:
    """``entities[2].names[0]`` as ``("entities", 2, "names", 0)``."""
    return tuple(int(index) if index else key for key, index in _PART.findall(field_path))


_STR_TAG = "tag:yaml.org,2002:str"


class StrictKeys(SafeConstructor):
    """Refuses a key written twice in one mapping (YAML keeps the last one silently: half of an
    analyst's list, or the first of two database URLs, would be lost without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG:
                key: object = key_node.value  # what constructing the str key would give
            else:
                key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
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
