"""Sources kept in more than one file: the config's ``sources:`` list and the files its
``- include: GLOB`` items name (a glob relative to the config file, e.g. ``sources.d/*.yaml``).

An included file is a YAML list of source entries with the schema of ``sources:`` (``name``/
``url`` entries and ``opml:`` entries, whose paths are relative to the included file); it may
not include further files. Its problems name the file and the line.
"""

from __future__ import annotations

import fnmatch
import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Discriminator, Tag, ValidationError

from monitor.config import IncludeConfig, OpmlConfig, SourceConfig, Strict
from monitor.errors import ConfigError
from monitor.opml import read_opml
from monitor.settings import (
    _CONSTRUCTION_ERRORS,
    LoadedSettings,
    _unreadable_value,
    _yaml_problem,
    expand_variables,
    resolve_from,
    validation_problems,
)
from monitor.yamllines import FAST_STRICT_LOADER, check_nesting

__all__ = ["SourceEntry", "included_files", "read_included", "source_entries"]


def _entry_kind(value: object) -> str:
    if isinstance(value, OpmlConfig) or (isinstance(value, dict) and "opml" in value):
        return "opml"
    return "source"


class _IncludedSources(Strict):
    """The content of an included file, validated as the config's ``sources:`` would be."""

    sources: list[
        Annotated[
            Annotated[SourceConfig, Tag("source")] | Annotated[OpmlConfig, Tag("opml")],
            Discriminator(_entry_kind),
        ]
    ]


@dataclass(frozen=True)
class SourceEntry:
    """One item of a sources list: in the config (``file`` None) or in an included file."""

    source: SourceConfig | OpmlConfig
    index: int  # its position in its file's list
    file: Path | None = None  # the included file that lists it; None: the config file
    line: int | None = None  # its line in ``file``

    def where(self, config_where: str) -> str:
        """Where a message about it points: the included file and line, else ``config_where``
        (the config file, or the variable that overrides its sources)."""
        if self.file is None:
            return config_where
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    @property
    def label(self) -> str:
        return f"sources[{self.index}]"

    def resolve(self, loaded: LoadedSettings, relative: str) -> Path:
        """A path written in this entry (an OPML file), relative to the file that lists it."""
        return loaded.resolve(relative) if self.file is None else resolve_from(self.file, relative)


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def included_files(loaded: LoadedSettings, include: IncludeConfig) -> list[Path]:
    """The files an include names, sorted (those in ``loaded.overlay`` included, even when
    not yet on disk). A pattern without wildcards names one file, which may be missing."""
    pattern = loaded.resolve(include.include)
    if not _is_glob(include.include):
        return [pattern]
    found = {Path(name) for name in glob.glob(str(pattern)) if Path(name).is_file()}
    found.update(p for p in loaded.overlay if fnmatch.fnmatchcase(str(p), str(pattern)))
    return sorted(found)


def _read(path: Path, text: str | None) -> str:
    if text is not None:
        return text
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: included sources file not found; fix the `include:` path (relative to "
            "the config file) or create the file"
        ) from None
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read the included sources file: {error.strerror}"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason}); save it as UTF-8") from None


def read_included(
    path: Path, text: str | None = None, *, raw: list[Any] | None = None
) -> list[tuple[SourceConfig | OpmlConfig, int | None]]:
    """The source entries of the included file ``path`` (its ``text`` when given), each with
    its line; ConfigError naming the file and line of every problem. A file that is a
    mapping with only ``sources:`` (what `monitor sources export --format yaml` writes) is
    read as its list. ``raw`` receives the entries as written."""
    content = _read(path, text)
    try:
        node = yaml.compose(content, Loader=FAST_STRICT_LOADER)
        data: Any = FAST_STRICT_LOADER("").construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        raise _yaml_problem(path, content, error) from None
    except _CONSTRUCTION_ERRORS as error:
        raise _unreadable_value(path, error) from None
    check_nesting(path, data)
    if isinstance(data, dict) and list(data) == ["sources"] and isinstance(node, yaml.MappingNode):
        data, node = data["sources"], node.value[0][1]
    if data is None:
        return []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise ConfigError(
            f"{path}: an included sources file must be a YAML list of sources "
            "(`- name: ...` with `url: ...`, or `- opml: FILE`), as under `sources:`"
        )
    lines = [item.start_mark.line + 1 for item in node.value]
    problems = [
        f"{path}:{lines[index]}: sources[{index}].include: an included file cannot include "
        "others; list the pattern in the config file's `sources:`"
        for index, item in enumerate(data)
        if isinstance(item, dict) and "include" in item
    ]
    if problems:
        raise ConfigError(problems)
    if raw is not None:
        raw.extend(data)
    expanded, _unset = expand_variables(data, "sources")
    try:
        model = _IncludedSources(sources=expanded)
    except ValidationError as error:
        key = yaml.ScalarNode("tag:yaml.org,2002:str", "sources", node.start_mark, node.start_mark)
        wrapper = yaml.MappingNode("tag:yaml.org,2002:map", [(key, node)])
        problems = validation_problems(error, path, wrapper)
        # The OPML files it lists are read all the same: their problems came only after the
        # entries' were fixed, so `check` gave no one verdict (an outside probe, probe69).
        for index, item in enumerate(data):
            listed = item.get("opml") if isinstance(item, dict) else None
            if isinstance(listed, str) and listed:
                try:
                    read_opml(resolve_from(path, listed))
                except ConfigError as opml_error:
                    where = f"{path}:{lines[index]}: sources[{index}].opml"
                    problems.extend(f"{where}: {problem}" for problem in opml_error.problems)
        raise ConfigError(problems) from None
    return list(zip(model.sources, lines, strict=True))


def source_entries(
    loaded: LoadedSettings, config_where: str
) -> tuple[list[SourceEntry], list[str]]:
    """Every source entry of the config, included files expanded in place (each file once),
    and the problems of the included files (``config_where`` names the config's list)."""
    entries: list[SourceEntry] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for index, source in enumerate(loaded.settings.sources):
        if not isinstance(source, IncludeConfig):
            entries.append(SourceEntry(source, index))
            continue
        for file in included_files(loaded, source):
            if file in seen:
                continue
            seen.add(file)
            text = loaded.overlay.get(file)
            if text is None and not file.exists():
                where = (
                    loaded.where(("sources", index, "include"))
                    if config_where == str(loaded.path)  # its line too (probe85)
                    else config_where
                )
                problems.append(
                    f"{where}: sources[{index}].include: {file} not found; fix the path "
                    "(it is relative to the config file) or create the file"
                )
                continue
            try:
                items = read_included(file, text)
            except ConfigError as error:
                problems.extend(error.problems)
                continue
            entries.extend(
                SourceEntry(item, position, file, line)
                for position, (item, line) in enumerate(items)
            )
    return entries, problems


@dataclass(frozen=True)
class Located:
    """A configured source and where it is written."""

    name: str
    url: str
    file: Path  # the YAML file whose list holds the entry
    index: int  # the entry's index in that list
    opml: Path | None = None  # the OPML file it comes from, if any
    line: int | None = None  # its line in an included ``file`` (None: the config's, or OPML)


def located_sources(loaded: LoadedSettings) -> list[Located]:
    """Every configured source with the file that lists it (OPML feeds with their file)."""
    entries, problems = source_entries(loaded, str(loaded.path))
    if problems:
        raise ConfigError(problems)
    found: list[Located] = []
    for entry in entries:
        file = entry.file or loaded.path
        source = entry.source
        if isinstance(source, OpmlConfig):
            opml = entry.resolve(loaded, source.opml)
            found.extend(Located(o.name, o.url, file, entry.index, opml) for o in read_opml(opml))
        else:
            found.append(Located(source.name, source.url, file, entry.index, line=entry.line))
    return found
