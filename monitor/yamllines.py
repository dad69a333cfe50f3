"""Line numbers of YAML values, for messages that point at the line to fix."""

from __future__ import annotations

import re

import yaml

__all__ = ["line_of", "location_of"]


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
