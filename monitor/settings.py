"""Settings: the YAML config file plus ``MONITOR_*`` environment overrides, with ``${VAR}``
expansion.

The file is ``--config PATH``, else ``$MONITOR_CONFIG``, else ``config/monitor.yaml``. Every
error names the file, the line and field, and the fix.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Discriminator, Field, Tag, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.config import (
    DeliveryConfig,
    Duration,
    FetchConfig,
    FirstRun,
    HttpServerConfig,
    MatchConfig,
    OpmlConfig,
    PollConfig,
    SinkConfig,
    SourceConfig,
    WatchlistConfig,
)
from monitor.errors import ConfigError

DEFAULT_CONFIG = Path("config/monitor.yaml")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _source_kind(value: object) -> str:
    if isinstance(value, OpmlConfig) or (isinstance(value, dict) and "opml" in value):
        return "opml"
    return "source"


def _watchlist_kind(value: object) -> str:
    return "path" if isinstance(value, str) else "mapping"


class Settings(BaseSettings):
    """Everything the service is told: one object, validated, immutable."""

    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: str = "sqlite:///monitor.db"
    poll: PollConfig = PollConfig()
    fetch: FetchConfig = FetchConfig()
    first_run: FirstRun = "store_only"
    first_run_window: Duration = timedelta(hours=24)
    sources: list[
        Annotated[
            Annotated[SourceConfig, Tag("source")] | Annotated[OpmlConfig, Tag("opml")],
            Discriminator(_source_kind),
        ]
    ] = Field(default_factory=list)
    watchlists: list[
        Annotated[
            Annotated[str, Tag("path")] | Annotated[WatchlistConfig, Tag("mapping")],
            Discriminator(_watchlist_kind),
        ]
    ] = Field(default_factory=list)
    sinks: list[SinkConfig] = Field(default_factory=list)
    delivery: DeliveryConfig = DeliveryConfig()
    match: MatchConfig = MatchConfig()
    retention: Duration | None = timedelta(days=90)
    http: HttpServerConfig | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init values; the environment wins over it.
        return (env_settings, init_settings)


def resolve_from(config_file: Path, relative: str) -> Path:
    """A path written in ``config_file``: ``~`` expanded, relative to the file's folder."""
    candidate = Path(os.path.expanduser(relative))
    return candidate if candidate.is_absolute() else config_file.resolve().parent / candidate


def missing_watchlist(where: str, index: int, path: Path) -> str:
    return (
        f"{where}: watchlists[{index}]: watchlist file {path} not found; "
        "fix the path (it is relative to the config file) or create the file"
    )


@dataclass(frozen=True)
class LoadedSettings:
    """Settings with where they came from, needed to resolve relative paths and name errors."""

    settings: Settings
    path: Path
    unset_variables: tuple[tuple[str, str], ...]  # (field path, variable name)

    def resolve(self, relative: str) -> Path:
        """A path from the config file, relative to the config file's folder."""
        return resolve_from(self.path, relative)

    def require_sinks(self) -> None:
        """Raise ConfigError when a sink cannot be used: an unset ``${VAR}`` or a bad secret."""
        from monitor.alerts import decode_secret

        self.require_variables("sinks")
        problems = []
        for index, sink in enumerate(self.settings.sinks):
            if sink.secret is None:
                continue
            try:
                decode_secret(sink.secret)
            except ValueError as error:
                problems.append(
                    f"{self.path}: sinks[{index}].secret: {error}; write whsec_ followed by "
                    "base64 (e.g. whsec_$(head -c 24 /dev/urandom | base64))"
                )
        if problems:
            raise ConfigError(problems)

    def require_variables(self, prefix: str = "sinks") -> None:
        """Raise ConfigError for every ``${VAR}`` under ``prefix`` that is not set."""
        problems = [
            f"{self.path}: {field}: environment variable {var} is not set; "
            f"set it (export {var}=...) or write the value in the file"
            for field, var in self.unset_variables
            if field == prefix or field.startswith(prefix + "[") or field.startswith(prefix + ".")
        ]
        if problems:
            raise ConfigError(problems)


def config_path(explicit: str | Path | None) -> Path:
    """The config file to read: ``--config``, else ``$MONITOR_CONFIG``, else the default."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("MONITOR_CONFIG")
    return Path(from_env) if from_env else DEFAULT_CONFIG


def expand_variables(
    data: Any, path: str = "", unset: list[tuple[str, str]] | None = None
) -> tuple[Any, list[tuple[str, str]]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; report the unset ones.

    An unset variable stays as written, so that only the commands that need the value fail.
    """
    unset = [] if unset is None else unset
    if isinstance(data, dict):
        return {
            k: expand_variables(v, f"{path}.{k}" if path else str(k), unset)[0]
            for k, v in data.items()
        }, unset
    if isinstance(data, list):
        return [expand_variables(v, f"{path}[{i}]", unset)[0] for i, v in enumerate(data)], unset
    if isinstance(data, str):

        def replace(found: re.Match[str]) -> str:
            name, default = found.group(1), found.group(2)
            value = os.environ.get(name)
            if value:
                return value
            if default is not None:
                return default
            unset.append((path, name))
            return found.group(0)

        return _VAR.sub(replace, data), unset
    return data, unset


def read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """The YAML mapping in ``path`` and its node tree (for line numbers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found; pass --config PATH, set MONITOR_CONFIG, "
            f"or create {DEFAULT_CONFIG} (see README.md)"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            f"{path}{where}: not valid YAML: {problem}; check indentation and quoting"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must be a mapping of keys (database_url: ...)")
    return data, node


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


def _field_path(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_TAGS = {"source", "opml", "path", "mapping"}


def _clean_location(location: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # Pydantic adds the union member's name (e.g. "SourceConfig") to the location; drop it.
    return tuple(
        p
        for p in location
        if not (isinstance(p, str) and (p[:1].isupper() or "[" in p or p in _TAGS))
    )


def validation_problems(error: ValidationError, path: Path, node: yaml.Node | None) -> list[str]:
    """One readable message per pydantic error, naming file, line, field and the fix."""
    problems: list[str] = []
    seen: set[str] = set()
    for item in error.errors():
        location = _clean_location(tuple(item["loc"]))
        field = _field_path(location) or "(top level)"
        line = line_of(node, location)
        where = f"{path}:{line}" if line else str(path)
        kind = item["type"]
        if kind == "extra_forbidden":
            message = f"unknown key {str(location[-1])!r}; check the spelling (see docs/config.md)"
        elif kind == "missing":
            message = "this key is required"
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
        text = f"{where}: {field}: {message}"
        if text not in seen:
            seen.add(text)
            problems.append(text)
    return problems


def load_settings(explicit: str | Path | None = None) -> LoadedSettings:
    """Read, expand and validate the config file; raise ConfigError with every problem."""
    path = config_path(explicit)
    data, node = read_yaml(path)
    expanded, unset = expand_variables(data)
    try:
        settings = Settings(**expanded)
    except ValidationError as error:
        raise ConfigError(validation_problems(error, path, node)) from None
    return LoadedSettings(settings=settings, path=path.resolve(), unset_variables=tuple(unset))


def watchlist_entries(settings: Settings) -> list[WatchlistConfig]:
    """The watchlists as ``WatchlistConfig`` whether written as a path or a mapping."""
    return [
        entry if isinstance(entry, WatchlistConfig) else WatchlistConfig(file=entry)
        for entry in settings.watchlists
    ]
