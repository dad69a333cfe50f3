"""Settings: the YAML config file plus ``MONITOR_*`` environment overrides, with ``${VAR}``
expansion.

The file is ``--config PATH``, else ``$MONITOR_CONFIG``, else ``config/monitor.yaml``. Every
error names the file, the line and field, and the fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    PositiveInt,
    Tag,
    ValidationError,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from monitor.config import (
    DeliveryConfig,
    FetchConfig,
    FirstRun,
    HttpServerConfig,
    IncludeConfig,
    LogConfig,
    MatchConfig,
    OpmlConfig,
    PollConfig,
    PositiveDuration,
    SinkConfig,
    Size,
    SourceConfig,
    StoriesConfig,
    WatchlistConfig,
)
from monitor.config_errors import (
    MEANINGS,
    describe,
    environment_problem,
    environment_variable,
    indexed_variables,
    meaning_key,
)
from monitor.errors import ConfigError
from monitor.redact import DEFAULT_SECRET_PARAMS
from monitor.yamllines import (
    FAST_STRICT_LOADER,
    RefusedYaml,
    check_nesting,
    line_of,
    location_of,
    without_own_keys,
)

DEFAULT_CONFIG = Path("config/monitor.yaml")
# ``${VAR}``, ``${VAR:-default}``; ``$${`` is a literal ``${`` (what the sources commands
# write for text taken from a feed or an OPML file, so that it cannot name a variable).
_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$\{")


def variables_named(text: str) -> list[str]:
    """The environment variables ``text`` names as config text (``${VAR}``; not ``$${``)."""
    return [
        found.group(2) for found in _VAR.finditer(text) if found.group(2) and not found.group(1)
    ]


def _source_kind(value: object) -> str:
    if isinstance(value, OpmlConfig) or (isinstance(value, dict) and "opml" in value):
        return "opml"
    if isinstance(value, IncludeConfig) or (isinstance(value, dict) and "include" in value):
        return "include"
    return "source"


def _watchlist_kind(value: object) -> str:
    return "path" if isinstance(value, str) else "mapping"


def _null_word(value: object) -> object:
    """``null`` or ``~`` written as text (an environment variable, ``MONITOR_RETENTION=null``)
    means what it means in the YAML file: no value."""
    if isinstance(value, str) and value.strip().lower() in ("null", "~"):
        return None
    return value


# A duration that may be switched off: ``null`` in the file or in the environment.
OptionalDuration = Annotated[PositiveDuration | None, BeforeValidator(_null_word)]
OptionalCount = Annotated[PositiveInt | None, BeforeValidator(_null_word)]
OptionalSize = Annotated[Size | None, BeforeValidator(_null_word)]


def _retention_in_hours(value: timedelta | None) -> timedelta | None:
    """A retention under an hour is a slip (``90`` is 90 seconds, not days): it would delete
    nearly every article as soon as it is stored."""
    if value is not None and value < timedelta(hours=1):
        raise ValueError(
            f"{value.total_seconds():g} s deletes articles as soon as they are stored; "
            "write it in days (90d), at least 1h (a bare number is seconds), or null to keep "
            "every article"
        )
    return value


def _database_url(url: str) -> str:
    """Only the two databases the monitor runs on; checked here so that the message names
    the file's line or the environment variable the URL came from."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme.split("+", 1)[0] not in ("sqlite", "postgresql"):
        raise ValueError(
            "only sqlite:///FILE and postgresql+psycopg://USER@HOST/NAME (or postgresql://, "
            "read as postgresql+psycopg://) are supported"
        )
    if scheme.startswith("postgresql"):
        parts = urlsplit(url)
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            # libpq then takes the user's name: an outside probe's instances created their
            # tables in the server's `postgres` database without a word.
            raise ValueError(
                "names no database: write postgresql+psycopg://USER@HOST/NAME (NAME the "
                "database the monitor keeps its tables in)"
            )
    return url


class Settings(BaseSettings):
    """Everything the service is told: one object, validated, immutable."""

    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database_url: Annotated[str, AfterValidator(_database_url)] = "sqlite:///monitor.db"
    poll: PollConfig = PollConfig()
    fetch: FetchConfig = FetchConfig()
    first_run: FirstRun = "store_only"
    first_run_window: PositiveDuration = timedelta(hours=24)
    # An entry first seen when its date is older than this is stored but does not alert (a
    # feed whose window grows, a cache that served a short copy, an archive republished).
    alert_max_age: OptionalDuration = None
    # At most this many new matching articles of one source alert per poll: the newest; the
    # others are stored without alerting (a feed that republished its archive under new ids).
    alert_max_per_poll: OptionalCount = 50
    # At most this many new articles of one source alert in any hour (what it alerted in the
    # past hour counted from the database): a feed that serves new matching entries at every
    # poll, polled every minute, would otherwise send fifty a minute.
    alert_max_per_hour: OptionalCount = 100
    # At most this much article text (title, summary and content, in UTF-8 bytes) of one
    # source is stored in any 24 hours: a feed that serves megabytes of new entries at every
    # poll would otherwise fill the disk (an outside probe: 12.7 MB a minute).
    store_max_per_day: OptionalSize = 100 * 1000**2
    sources: list[
        Annotated[
            Annotated[SourceConfig, Tag("source")]
            | Annotated[OpmlConfig, Tag("opml")]
            | Annotated[IncludeConfig, Tag("include")],
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
    stories: StoriesConfig = StoriesConfig()
    retention: Annotated[OptionalDuration, AfterValidator(_retention_in_hours)] = timedelta(days=90)
    http: HttpServerConfig | None = None
    log: LogConfig = LogConfig()
    # Query parameters whose values are credentials: masked wherever a URL is shown.
    redact_query_params: list[str] = Field(default_factory=lambda: list(DEFAULT_SECRET_PARAMS))

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
    if not candidate.is_absolute():
        candidate = config_file.resolve().parent / candidate
    # "run/../wl/a.yaml" is "wl/a.yaml": one file written two ways is one file.
    return Path(os.path.normpath(candidate))


def missing_watchlist(where: str, index: int, path: Path) -> str:
    if path.is_dir():
        return (
            f"{where}: watchlists[{index}]: {path} is a folder: name each watchlist file "
            "(one entry per file; a pattern such as *.yaml is not expanded)"
        )
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
    # Files read as if they held this text (`monitor sources add` validates an edit before
    # writing it): included source files, by resolved path.
    overlay: Mapping[Path, str] = field(default_factory=dict, hash=False)

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
                location = ("sinks", index, "secret")
                variable = environment_variable(location)
                where = (
                    f"environment variable {variable} (overriding {self.path})"
                    if variable is not None
                    else self.where(location)
                )
                problems.append(f"{where}: {bad_secret(index, error)}")
        if problems:
            raise ConfigError(problems)

    def where(self, location: tuple[int | str, ...]) -> str:
        """The config file and the line of ``location`` in it (``path:line``), for a
        problem found after loading; the file alone when the line cannot be told."""
        try:
            line = line_of(_compose(self.path, self.path.read_text(encoding="utf-8")), location)
        except (OSError, ConfigError):
            line = None
        return f"{self.path}:{line}" if line else str(self.path)

    def require_variables(self, prefix: str = "sinks") -> None:
        """Raise ConfigError for every ``${VAR}`` under ``prefix`` that is not set."""
        problems = [
            f"{self.where(location_of(field))}: {unset_variable(field, var)}"
            for field, var in self.unset_variables
            if field == prefix or field.startswith(prefix + "[") or field.startswith(prefix + ".")
        ]
        if problems:
            raise ConfigError(problems)


def unset_variable(field: str, variable: str) -> str:
    return (
        f"{field}: environment variable {variable} is not set (or is empty); set it "
        f"(export {variable}=...) or write the value in the file"
    )


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
    return _expanded(data, path, unset), unset


def _needs_expanding(value: Any) -> bool:
    return isinstance(value, dict | list) or (isinstance(value, str) and "${" in value)


def _expanded(data: Any, path: str, unset: list[tuple[str, str]]) -> Any:
    # A field path is only built for what may hold a variable: most values are plain.
    if isinstance(data, dict):
        return {
            k: _expanded(v, f"{path}.{k}" if path else str(k), unset) if _needs_expanding(v) else v
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [
            _expanded(v, f"{path}[{i}]", unset) if _needs_expanding(v) else v
            for i, v in enumerate(data)
        ]
    if isinstance(data, str) and "${" in data:

        def replace(found: re.Match[str]) -> str:
            escaped, name, default = found.group(1), found.group(2), found.group(3)
            if escaped or name is None:
                return found.group(0)[1:]  # $${...} is the text ${...}
            value = os.environ.get(name)
            if value:
                return value
            if default is not None:
                return default
            unset.append((path, name))
            return found.group(0)

        return _VAR.sub(replace, data)
    return data


# libyaml's parser (in the PyYAML wheels) reads a config with thousands of sources ~10x faster
# than the pure-Python one; its nodes carry the same line marks.
_FAST_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = FAST_STRICT_LOADER


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found; pass --config PATH, set MONITOR_CONFIG, "
            f"or create {DEFAULT_CONFIG} (see README.md)"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason}); save it as UTF-8") from None


# What PyYAML's constructors raise for a value with an explicit tag it cannot read
# (``!!timestamp soon``, ``!!int x``): not YAMLError, and without a position.
_CONSTRUCTION_ERRORS = (ValueError, TypeError, AttributeError)


def _unreadable_value(path: Path, error: Exception) -> ConfigError:
    return ConfigError(
        f"{path}: not valid YAML: a tagged value cannot be read ({type(error).__name__}: "
        f"{error}); remove the !!tag or fix the value"
    )


def _yaml_problem(path: Path, text: str, fast_error: yaml.YAMLError) -> ConfigError:
    """The ConfigError for a file that is not YAML, worded by the pure-Python parser, whose
    messages say more than libyaml's (it reads the text again; only on this error path)."""
    error: yaml.YAMLError = fast_error
    if _FAST_LOADER is not yaml.SafeLoader:
        try:
            yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as slow_error:
            error = slow_error
        except RecursionError:  # nested deeper than the pure-Python parser goes: libyaml's
            pass
    mark = getattr(error, "problem_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error)
    if isinstance(error, RefusedYaml):  # StrictKeys: the message says the fix
        return ConfigError(f"{path}{where}: {problem}")
    # Where what went wrong began: "found unexpected end of stream" is the problem's mark,
    # the end of the file; the quote left open is the context's ("while scanning a quoted
    # scalar", line 4 column 10).
    context = getattr(error, "context", None)
    start = getattr(error, "context_mark", None)
    if context and start is not None and (mark is None or start.line != mark.line):
        problem += f" ({context} that starts at line {start.line + 1}, column {start.column + 1})"
    return ConfigError(f"{path}{where}: not valid YAML: {problem}; check indentation and quoting")


def _document(path: Path, text: str) -> dict[str, Any]:
    """The config file's mapping, from one parse (the node tree, several times the size of
    the data, is read again only where a line number is needed)."""
    try:
        document = yaml.load(text, Loader=_FAST_LOADER)  # a safe loader
    except yaml.YAMLError as error:
        raise _yaml_problem(path, text, error) from None
    except _CONSTRUCTION_ERRORS as error:
        raise _unreadable_value(path, error) from None
    return _mapping(path, document)


def _mapping(path: Path, data: object) -> dict[str, Any]:
    check_nesting(path, data)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must be a mapping of keys (database_url: ...)")
    return data


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as error:
        raise _yaml_problem(path, text, error) from None


def read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """The YAML mapping in ``path`` and its node tree (for line numbers), from one parse."""
    text = _read_text(path)
    node = _compose(path, text)
    if node is None:
        return {}, None
    try:
        data = _FAST_LOADER("").construct_document(node)
    except yaml.YAMLError as error:
        raise _yaml_problem(path, text, error) from None
    except _CONSTRUCTION_ERRORS as error:
        raise _unreadable_value(path, error) from None
    return _mapping(path, data), node


def _field_path(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_TAGS = {"source", "opml", "include", "path", "mapping"}


def _clean_location(
    location: tuple[int | str, ...], *, key_last: bool = False
) -> tuple[int | str, ...]:
    # Pydantic adds the union member's name (e.g. "SourceConfig") or its tag to the location;
    # drop it. With ``key_last`` (an unknown key) the last part is the key as written, kept
    # even when it looks like one ("include:" at the top level, "Sources:").
    last = len(location) - 1
    return tuple(
        p
        for i, p in enumerate(location)
        if (key_last and i == last)
        or not (isinstance(p, str) and (p[:1].isupper() or "[" in p or p in _TAGS))
    )


# The keys that make a source entry one kind or another (`_source_kind`).
_KIND_KEYS = {"source": "url", "opml": "opml", "include": "include"}


def _misplaced_key(location: tuple[int | str, ...], kind: str) -> tuple[str, int] | None:
    """The message for a key written where another kind of entry has it (``url:`` beside
    ``include:`` in one source entry, ``include:`` at the top level), which pydantic reports
    as an unknown key, and how many parts of ``location`` name the place (the entry)."""
    if kind != "extra_forbidden":
        return None
    if location == ("include",):
        return (
            "unknown key 'include' at the top level; an include is an item of sources: "
            "write `sources:` then `  - include: sources.d/*.yaml` (see docs/config.md)",
            1,
        )
    if len(location) < 4 or location[0] != "sources" or not isinstance(location[1], int):
        return None
    tag, key = location[2], location[3]
    if tag not in _KIND_KEYS:
        return None
    other = next((k for t, k in _KIND_KEYS.items() if key == k and t != tag), None)
    if other is None:
        if tag != "include":
            return None
        return (
            f"an include: entry has no other keys ({key}: is not one); the included files' "
            "entries carry their own settings",
            2,
        )
    return (
        f"has both {_KIND_KEYS[str(tag)]}: and {other}:; an entry is one feed (url:), one "
        "OPML file (opml:) or one include (include:): make them two entries",
        2,
    )


def validation_problems(error: ValidationError, path: Path, node: yaml.Node | None) -> list[str]:
    """One readable message per pydantic error, naming where the value came from (the file
    and line, or the ``MONITOR_*`` variable that overrode it), the field, its meaning and the
    fix."""
    problems: list[str] = []
    seen: set[str] = set()
    for item in error.errors():
        raw = tuple(item["loc"])
        location = _clean_location(raw, key_last=item["type"] == "extra_forbidden")
        misplaced = _misplaced_key(raw, item["type"])
        if misplaced is not None:
            location = location[: misplaced[1]]
        field = _field_path(location) or "(top level)"
        variable = environment_variable(location)
        if variable is not None:
            where = f"environment variable {variable} (overriding {path})"
        else:
            line = line_of(node, location)
            where = f"{path}:{line}" if line else str(path)
        meaning = MEANINGS.get(meaning_key(location))
        named = f"{field} ({meaning})" if meaning and item["type"] != "extra_forbidden" else field
        text = (
            f"{where}: {named}: {misplaced[0] if misplaced else describe(item, location, Settings)}"
        )
        if text not in seen:
            seen.add(text)
            problems.append(text)
    return problems


def load_settings(
    explicit: str | Path | None = None,
    *,
    text: str | None = None,
    overlay: Mapping[Path, str] | None = None,
) -> LoadedSettings:
    """Read, expand and validate the config file; raise ConfigError with every problem.

    ``text`` is used instead of the file's content, and ``overlay`` instead of the content
    of the included source files it names (by resolved path): a config as it would be after
    an edit, validated before anything is written."""
    path = config_path(explicit)
    if text is None:
        text = _read_text(path)
    data = without_own_keys(_document(path, text))
    if cased := [
        k for k in data if k not in Settings.model_fields and k.lower() in Settings.model_fields
    ]:
        # pydantic-settings reads top-level keys in any case: "Sources:" beside "sources:"
        # would silently replace the list. Keys are written as documented.
        node = _compose(path, text)
        raise ConfigError(
            [
                f"{path}:{line_of(node, (key,)) or '?'}: {key}: unknown key {key!r}; keys are "
                f"written in lower case: {key.lower()}"
                for key in cased
            ]
        )
    expanded, unset = expand_variables(data)
    del data
    if indexed := indexed_variables(path):
        raise ConfigError(indexed)
    try:
        settings = Settings(**expanded)
    except SettingsError as error:
        # An environment variable that pydantic-settings cannot read (MONITOR_SOURCES=notjson).
        raise ConfigError([environment_problem(str(error), error.__cause__)]) from None
    except ValidationError as error:
        # Only now are line numbers needed: read the nodes (the error path parses twice).
        raise ConfigError(validation_problems(error, path, _compose(path, text))) from None
    anchored = anchored_database_url(settings.database_url, path)
    if anchored != settings.database_url:
        settings = settings.model_copy(update={"database_url": anchored})
    return LoadedSettings(
        settings=settings,
        path=path.resolve(),
        # A ${VAR} of the file in a section the environment replaced is not used: not needed.
        unset_variables=tuple(
            (field, var) for field, var in unset if environment_variable(location_of(field)) is None
        ),
        overlay=dict(overlay or {}),
    )


def database_only(explicit: str | Path | None) -> LoadedSettings:
    """The database the config names (``database_url``, or ``MONITOR_DATABASE_URL``) and
    every other setting at its default: for the commands that only read the database
    (status, sources, alerts) while the file has an error elsewhere, as it has when the
    running service refused a reload of it. Raises ConfigError when even that cannot be
    told (the file is not YAML, the URL is unset or not one the monitor runs on)."""
    path = config_path(explicit)
    text = _read_text(path)
    variable = environment_variable(("database_url",))  # MONITOR_DATABASE_URL, any case
    if variable is not None:
        written = os.environ[variable]  # the file need not parse at all
    else:
        try:
            data = _document(path, text)
        except ConfigError:
            # A YAML slip elsewhere (an unclosed bracket, a bad indent: the commonest edit
            # error): the file's own top-level line still names the database (probe85).
            line = _top_level_line(text, "database_url")
            if line is None:
                raise
            data = {"database_url": line}
        written = data.get("database_url") or Settings.model_fields["database_url"].default
    expanded, unset = expand_variables({"database_url": str(written)})
    if unset:
        raise ConfigError(f"{path}: {unset_variable(*unset[0])}")
    try:
        url = _database_url(str(expanded["database_url"]))
    except ValueError as error:
        raise ConfigError(f"{path}: database_url: {error}") from None
    settings = Settings.model_construct(database_url=anchored_database_url(url, path))
    return LoadedSettings(settings=settings, path=path.resolve(), unset_variables=())


def bad_secret(index: int, error: ValueError) -> str:
    """The problem of a sink secret that does not decode (``decode_secret``'s error)."""
    return (
        f"sinks[{index}].secret: {error}; write whsec_ followed by base64 "
        "(e.g. whsec_$(head -c 24 /dev/urandom | base64))"
    )


def _top_level_line(text: str, key: str) -> str | None:
    """The value a top-level ``key: value`` line of ``text`` gives (quotes and a trailing
    comment taken off), read without parsing the rest of the file; None when there is no
    such line, or more than one."""
    found = re.findall(rf"(?m)^{re.escape(key)}[ \t]*:[ \t]*(\S.*?)[ \t]*$", text)
    if len(found) != 1:
        return None
    value = re.sub(r"[ \t]+#.*$", "", found[0])
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, str) and parsed else None


def anchored_database_url(url: str, config_file: Path) -> str:
    """``url`` with a relative SQLite file made relative to the config file's folder (like
    every other path in the config), so that any working directory opens the same database.
    Other URLs, and SQLite URLs naming no file, are returned as they are."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.startswith("sqlite"):
        return url
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url  # named by the database's own error when a command opens it
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    resolved = resolve_from(config_file, database)
    if str(resolved) == database:
        return url
    return parsed.set(database=str(resolved)).render_as_string(hide_password=False)


def watchlist_entries(settings: Settings) -> list[WatchlistConfig]:
    """The watchlists as ``WatchlistConfig`` whether written as a path or a mapping."""
    return [
        entry if isinstance(entry, WatchlistConfig) else WatchlistConfig(file=entry)
        for entry in settings.watchlists
    ]
