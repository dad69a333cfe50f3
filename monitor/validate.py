"""The one validation of a loaded config, called by ``check``, ``run``, ``once`` and every
command that builds a runtime: every problem at once, and a warning for whatever would
otherwise be changed or ignored silently (a URL listed twice, nothing to poll)."""

from __future__ import annotations

import base64
import binascii
import difflib
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from monitor.alerts.signing import SECRET_PREFIX
from monitor.config import MAX_URL_LENGTH, OpmlConfig
from monitor.config_errors import ENV_PREFIX, did_you_mean, environment_variable
from monitor.db.sources import SourceSpec
from monitor.durations import config_duration
from monitor.errors import ConfigError
from monitor.match import Watchlist
from monitor.match.watchlist_file import load_watchlist, with_lines
from monitor.opml import read_opml
from monitor.parse import canonical_netloc
from monitor.redact import redact_url
from monitor.settings import LoadedSettings, Settings, missing_watchlist, watchlist_entries
from monitor.sourcefiles import SourceEntry, source_entries


@dataclass(frozen=True)
class ValidConfig:
    """What a valid config yields: the watchlists, their sink routes, the sources, and the
    warnings a command shows (``check``) or logs at start (``run``, ``once``)."""

    watchlists: list[Watchlist]
    routes: dict[str, tuple[str, ...]]
    specs: list[SourceSpec]
    warnings: list[str] = field(default_factory=list)


def validate_config(
    loaded: LoadedSettings, *, need_sinks: bool, need_watchlists: bool = True
) -> ValidConfig:
    """Validate everything the settings model cannot see alone (files it names, names that
    must be unique, sinks it routes to); raise ConfigError with every problem found.

    ``need_sinks`` makes an unset ``${VAR}`` or a bad secret in a sink a problem (the
    commands that send: run, once, check, replay --deliver). Without ``need_watchlists``
    the watchlist files are not read (nor the routes to sinks checked): the commands that
    only read or tend the database (status, alerts, sources) work while an edit of a
    watchlist is broken, which is when an operator needs them."""
    problems: list[str] = []
    warnings: list[str] = []
    if need_sinks:
        try:
            loaded.require_sinks()
        except ConfigError as error:
            problems.extend(error.problems)
    problems.extend(_duplicate_sinks(loaded))
    watchlists: list[Watchlist] = []
    routes: dict[str, tuple[str, ...]] = {}
    if need_watchlists:
        try:
            watchlists = load_watchlists(loaded)
        except ConfigError as error:
            problems.extend(error.problems)
        try:
            routes = sink_routes(loaded, watchlists)
        except ConfigError as error:
            problems.extend(error.problems)
    if watchlists:
        problems.extend(_sink_filters(loaded, watchlists))
    specs: list[SourceSpec] = []
    try:
        specs, repeated = read_sources(loaded)
        warnings.extend(repeated)
    except ConfigError as error:
        problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    if need_watchlists:
        warnings.extend(_idle_warnings(loaded, watchlists, specs, routes))
        warnings.extend(_common_names(watchlists))
    warnings.extend(_unknown_variables(loaded))
    warnings.extend(_loose_secrets(loaded))
    return ValidConfig(watchlists=watchlists, routes=routes, specs=specs, warnings=warnings)


# Words of every other sentence in the languages most feeds are written in: as a name, each
# makes nearly every article alert.
_COMMON_WORDS = frozenset(
    "the a an and or of in on at to for by with from is are was it as this that new "
    "le la les l de des du d et un une en au aux est "
    "el los las lo y o del al por con para es "
    "der die das den dem des und ein eine im ist mit von zu "
    "il lo gli di da e che per con un una nel "
    "o os as do da dos das e em um uma no na "
    "и в на с по не что "
    "و في من على عن إلى ان أن ما".split()
)


def _common_names(watchlists: list[Watchlist]) -> list[str]:
    """Names that match nearly every article (a common word, one or two letters) and
    acronyms that cannot be acronyms (no capital letter, one letter). Not errors: a
    watchlist may mean them, but an operator who does floods the sinks."""
    from monitor.match.names import acronym_form, phrase_key

    found = []
    for watchlist in watchlists:
        warnings: list[str] = []
        for index, entity in enumerate(watchlist.entities):
            where = f"{watchlist.source}: entities[{index}]"
            for position, name in enumerate(entity.names):
                key = phrase_key(name)
                letters = sum(char.isalnum() for char in key)
                if key in _COMMON_WORDS or (" " not in key and letters <= 2):
                    warnings.append(
                        f"{where}.names[{position}]: {name!r} is "
                        + ("a common word" if key in _COMMON_WORDS else "one or two letters")
                        + ", found in any case as a whole word: nearly every article will "
                        "alert for it; a name should be one only this entity bears (an "
                        "acronym is found only in its case: list short forms under acronyms)"
                    )
            stems = entity.derived_forms.stems if entity.derived_forms else ()
            for position, stem in enumerate(stems):
                if sum(char.isalnum() for char in phrase_key(stem)) <= 2:
                    warnings.append(
                        f"{where}.derived_forms.stems[{position}]: {stem!r} is one or two "
                        "letters: with its suffixes it makes short words that other words "
                        "are (Pu + s: 'Pus'); use a longer stem"
                    )
            for position, acronym in enumerate(entity.acronyms):
                form = acronym_form(acronym)
                letters = sum(char.isalnum() for char in form)
                if letters <= 1 or not any(char.isupper() for char in form):
                    warnings.append(
                        f"{where}.acronyms[{position}]: {acronym!r} "
                        + ("is one letter" if letters <= 1 else "has no capital letter")
                        + ": acronyms are found only as written, in their case; "
                        + (
                            "one letter is found in initials and lists everywhere"
                            if letters <= 1
                            else "this one only in lower-case text (list it under names?)"
                        )
                    )
        found += with_lines(warnings, Path(watchlist.source))
    return found


def _loose_secrets(loaded: LoadedSettings) -> list[str]:
    """A secret that signs but that common receivers will not verify: without ``whsec_``
    (they take the base64 after it as the key), with its base64 not written out whole
    (padding left off: ``base64.b64decode`` refuses it; spaces: strict decoders do), or with a
    line end around it. ``${VAR}`` left unset is another check's problem."""
    warnings = []
    for index, sink in enumerate(loaded.settings.sinks):
        secret = sink.secret or ""
        if not secret or "${" in secret:
            continue
        where = f"{_where(loaded, 'sinks')}: sinks[{index}].secret ({sink.name!r})"
        if secret != secret.strip() and not secret.startswith(SECRET_PREFIX):
            # (After whsec_, spaces and line ends are dropped from the base64.)
            warnings.append(
                f"{where} begins or ends with a space or a line end (a secret file's last "
                "line end?): it is part of the key, and a receiver given the secret without "
                "it rejects every alert"
            )
        secret = secret.strip()  # said above; the checks below are about the rest
        if not secret.startswith(SECRET_PREFIX):
            warnings.append(
                f"{where} does not start with {SECRET_PREFIX}: alerts are signed with its "
                "text as the key, but a Standard Webhooks receiver (the README's verify, the "
                f"standardwebhooks libraries) reads the base64 after {SECRET_PREFIX} as the "
                f"key and rejects them all; for one, write {SECRET_PREFIX} followed by "
                "base64 and give the receiver the same"
            )
            continue
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:
            strict = base64.b64encode(base64.b64decode(encoded, validate=True)).decode()
        except (binascii.Error, ValueError):
            strict = ""
        if strict != encoded:
            warnings.append(
                f"{where} is not "
                "base64 written out whole: alerts are signed, but a receiver may read it as "
                "another key and reject them all ('=' padding left off: Python's "
                "base64.b64decode refuses it; spaces or line breaks: decoders that validate "
                "refuse them); write it as whsec_ followed by the full base64"
            )
    return warnings


def _where(loaded: LoadedSettings, key: str, location: tuple[int | str, ...] | None = None) -> str:
    """Where the value of a top-level ``key`` came from: its ``MONITOR_*`` variable when one
    overrides the file, else the config file (and the line of ``location`` in it)."""
    variable = environment_variable((key,))
    if variable is not None:
        return f"environment variable {variable} (overriding {loaded.path})"
    return loaded.where(location) if location is not None else str(loaded.path)


def _entry_line(loaded: LoadedSettings, entry: SourceEntry, where_sources: str, key: str) -> str:
    """Where a problem of ``key`` of a source entry points: the line in the file that lists
    it (the config file's too, not only its name: probe85), or the overriding variable. Read
    only when there is a problem: it parses the config file again."""
    if entry.file is not None or where_sources != str(loaded.path):
        return entry.where(where_sources)
    return loaded.where(("sources", entry.index, key))


# The messages for problems that `monitor check` also finds in a config whose settings do not
# load (check._raw_problems): one wording, whichever path finds them.


def sink_name_taken(index: int, name: str, first: int) -> str:
    return (
        f"sinks[{index}].name: {name!r} is already the name of sinks[{first}]; give each sink "
        "its own name (alerts are routed and recorded by sink name)"
    )


def watchlist_listed_twice(index: int, path: Path, first: int) -> str:
    return (
        f"watchlists[{index}]: {path} is already listed as watchlists[{first}]; list each "
        "watchlist once (give one entry every sink it should alert)"
    )


def unknown_sink(index: int, name: str, known: set[str]) -> str:
    hint = did_you_mean(name, sorted(known)) if known else "define it under `sinks:`"
    return f"watchlists[{index}].sinks: unknown sink {name!r}; {hint}"


def _duplicate_sinks(loaded: LoadedSettings) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    for index, sink in enumerate(loaded.settings.sinks):
        if sink.name in first:
            problems.append(
                f"{_where(loaded, 'sinks')}: {sink_name_taken(index, sink.name, first[sink.name])}"
            )
        first.setdefault(sink.name, index)
    return problems


def _sink_filters(loaded: LoadedSettings, watchlists: list[Watchlist]) -> list[str]:
    """A sink's `watchlists:` and `entities:` filters must name what the watchlists define:
    a typo would silently filter out every alert."""
    names = sorted(w.name for w in watchlists)
    entities = sorted({e.id for w in watchlists for e in w.entities})
    problems = []
    for index, sink in enumerate(loaded.settings.sinks):
        for position, name in enumerate(sink.watchlists or ()):
            if name not in names:
                where = _where(loaded, "sinks", ("sinks", index, "watchlists", position))
                problems.append(
                    f"{where}: sinks[{index}].watchlists: unknown watchlist {name!r}; "
                    f"{did_you_mean(name, names)}"
                )
        for position, entity in enumerate(sink.entities or ()):
            if entity not in entities:
                where = _where(loaded, "sinks", ("sinks", index, "entities", position))
                problems.append(
                    f"{where}: sinks[{index}].entities: no watchlist defines entity "
                    f"{entity!r}; {did_you_mean(entity, entities)}"
                )
    return problems


# MONITOR_* variables that are not settings: the config file's name, and the tests' database.
NOT_SETTINGS = {"MONITOR_CONFIG", "MONITOR_TEST_POSTGRES_URL"}


def _unknown_variables(loaded: LoadedSettings) -> list[str]:
    """A ``MONITOR_*`` variable that looks meant as a setting but names none (a typo such as
    MONITOR_DATABSE_URL or MONITOR_POLLL__INTERVAL is otherwise ignored without a word).
    Variables the config file uses as ``${NAME}`` are the user's own and never named."""
    try:
        text = loaded.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    fields = [name.upper() for name in Settings.model_fields]
    warnings = []
    for variable in sorted(os.environ):
        upper = variable.upper()
        if not upper.startswith(ENV_PREFIX) or upper in NOT_SETTINGS:
            continue
        if "${" + variable in text:
            continue
        first, *rest = upper.removeprefix(ENV_PREFIX).split("__")
        if first in fields:
            continue
        close = difflib.get_close_matches(first, fields, n=1, cutoff=0.8)
        if "__" in upper or close:
            # The rest of the name as it was written: MONITOR_POLLL__INTERVAL is meant as
            # MONITOR_POLL__INTERVAL.
            meant = "__".join([close[0], *rest]) if close else ""
            hint = f"; did you mean {ENV_PREFIX}{meant}?" if close else ""
            warnings.append(
                f"environment variable {variable} names no setting, so it is ignored{hint}"
            )
    return warnings


def _idle_warnings(
    loaded: LoadedSettings,
    watchlists: list[Watchlist],
    specs: list[SourceSpec],
    routes: dict[str, tuple[str, ...]],
) -> list[str]:
    """What makes a valid config do less than its user may think."""
    path = loaded.path
    warnings = []
    if not specs:
        warnings.append(
            f"{path}: sources: no sources, so nothing is polled; add sources (or an opml: file)"
        )
    elif not any(spec.enabled for spec in specs):
        warnings.append(
            f"{path}: sources: every source is disabled (enabled: false), so nothing is polled"
        )
    if not watchlists:
        warnings.append(
            f"{path}: watchlists: no watchlists, so articles are stored but nothing matches; "
            "add a watchlist file"
        )
    sinks = loaded.settings.sinks
    if watchlists and not any(sink.enabled for sink in sinks):
        warnings.append(
            f"{path}: sinks: no enabled sink, so matches are stored but no alert is sent"
        )
    elif sinks:
        for watchlist in watchlists:
            if not routes.get(watchlist.name):
                warnings.append(
                    f"{path}: watchlists: {watchlist.name!r} routes to no enabled sink, so its "
                    "matches are stored but not sent"
                )
    for index, sink in enumerate(sinks):
        if sink.enabled and sink.format == "standard" and sink.signing == "none":
            warnings.append(
                f"{path}: sinks[{index}] ({sink.name}): signing: none: its alerts are sent "
                "unsigned; the receiver cannot tell them from forged ones"
            )
    retention, window = loaded.settings.retention, loaded.settings.stories.window
    if retention is not None and retention < window:
        warnings.append(
            f"{path}: retention ({config_duration(retention)}) is shorter than "
            f"stories.window ({config_duration(window)}): a copy of a story that comes after "
            "its articles were deleted starts a new story, and alerts again"
        )
    return warnings


def feed_identity(url: str) -> str:
    """A feed URL as compared to tell one feed listed twice: the scheme and the host in any
    case, a default port or none (`canonical_netloc`), an empty path or ``/``; the path and
    query as written (a feed URL's query may choose the feed)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc, _ = canonical_netloc(parts.netloc, scheme)
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def source_specs(loaded: LoadedSettings) -> list[SourceSpec]:
    """The configured sources, OPML files expanded (see `read_sources`)."""
    return read_sources(loaded)[0]


def read_sources(loaded: LoadedSettings) -> tuple[list[SourceSpec], list[str]]:
    """The configured sources, OPML files expanded, and a warning per URL listed twice with
    the same settings (polled once, as its first entry). A URL listed twice with different
    settings is a ConfigError naming both entries: one of them would be ignored."""
    settings = loaded.settings
    where_sources = _where(loaded, "sources")
    specs: dict[str, SourceSpec] = {}
    origin: dict[str, str] = {}
    warnings: list[str] = []
    listed, problems = source_entries(loaded, where_sources)
    for entry in listed:
        source, label, where_entry = entry.source, entry.label, entry.where(where_sources)
        if source.interval is not None:
            bounded = _bounded(source.interval, settings)
            if bounded != source.interval:
                bound = "min_interval" if bounded > source.interval else "max_interval"
                warnings.append(
                    f"{_entry_line(loaded, entry, where_sources, 'interval')}: "
                    f"{label}.interval: {_show(source.interval)} is "
                    f"outside poll.{bound}, so {_show(bounded)} is used; change one of them"
                )
        in_file = f" in {entry.file.name}" if entry.file is not None else ""
        if isinstance(source, OpmlConfig):
            opml_path = entry.resolve(loaded, source.opml)
            try:
                outlines = read_opml(opml_path)
            except ConfigError as error:
                where = _entry_line(loaded, entry, where_sources, "opml")
                problems.extend(f"{where}: {label}.opml: {p}" for p in error.problems)
                continue
            entries = [
                (o.name, o.url, f"{label}{in_file} ({opml_path.name}: {o.name!r})")
                for o in outlines
            ]
        else:
            entries = [(source.name, source.url, f"{label}{in_file} ({source.name!r})")]
        for name, url, where in entries:
            if len(url) > MAX_URL_LENGTH:
                problems.append(
                    f"{where_entry}: {label}: {redact_url(url)[:80]}... is longer than "
                    f"{MAX_URL_LENGTH} characters; shorten it"
                )
                continue
            spec = SourceSpec(
                name=name,
                url=url,
                interval=_bounded(source.interval or settings.poll.interval, settings),
                pinned=source.interval is not None,
                enabled=source.enabled,
                first_run=source.first_run or settings.first_run,
                first_run_window=source.first_run_window or settings.first_run_window,
            )
            identity = feed_identity(url)
            known = specs.get(identity)
            if known is None:
                specs[identity] = spec
                origin[identity] = where
                continue
            differences = _differences(known, spec)
            if differences:
                problems.append(
                    f"{where_entry}: {where} lists the URL {redact_url(url)} of "
                    f"{origin[identity]} with other settings ({'; '.join(differences)}); it "
                    "is polled once, so keep one entry or make the settings agree"
                )
            else:
                warnings.append(
                    f"{where_entry}: {where} lists the URL {redact_url(url)} of "
                    f"{origin[identity]} again; it is polled once, as the first entry"
                )
    if problems:
        raise ConfigError(problems)
    names: dict[str, str] = {}
    for spec in specs.values():
        if spec.name in names:
            warnings.append(
                f"{where_sources}: two sources are named {spec.name!r} "
                f"({redact_url(names[spec.name])} and {redact_url(spec.url)}); alerts and "
                "`monitor sources` cannot tell them apart: give each its own name"
            )
        names.setdefault(spec.name, spec.url)
    return list(specs.values()), warnings


def _differences(first: SourceSpec, second: SourceSpec) -> list[str]:
    shown = []
    for name in ("interval", "enabled", "first_run", "first_run_window"):
        a, b = getattr(first, name), getattr(second, name)
        if a != b:
            shown.append(f"{name} {_show(a)} there, {_show(b)} here")
    return shown


def _show(value: object) -> str:
    if isinstance(value, timedelta):
        return config_duration(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _bounded(interval: timedelta, settings: Settings) -> timedelta:
    return max(settings.poll.min_interval, min(settings.poll.max_interval, interval))


def load_watchlists(loaded: LoadedSettings) -> list[Watchlist]:
    """Every configured watchlist, or ConfigError naming each file and problem (a file listed
    twice, two watchlists with one name)."""
    origin = _where(loaded, "watchlists")
    watchlists: list[Watchlist] = []
    problems: list[str] = []
    first_entry: dict[Path, int] = {}
    for index, entry in enumerate(watchlist_entries(loaded.settings)):
        path = loaded.resolve(entry.file)
        if path in first_entry:
            problems.append(f"{origin}: {watchlist_listed_twice(index, path, first_entry[path])}")
            continue
        first_entry[path] = index
        if not path.is_file():
            at = _where(loaded, "watchlists", ("watchlists", index))
            problems.append(missing_watchlist(at, index, path))
            continue
        try:
            watchlists.append(load_watchlist(path))
        except ConfigError as error:
            problems.extend(error.problems)
    names = [w.name for w in watchlists]
    for name in sorted({n for n in names if names.count(n) > 1}):
        files = ", ".join(w.source for w in watchlists if w.name == name)
        problems.append(
            f"{origin}: watchlists: two watchlists are named {name!r} ({files}); "
            "give each a distinct `name:`"
        )
    if problems:
        raise ConfigError(problems)
    return watchlists


def sink_routes(loaded: LoadedSettings, watchlists: list[Watchlist]) -> dict[str, tuple[str, ...]]:
    """Which enabled sinks each watchlist alerts; ConfigError on an unknown sink name."""
    settings = loaded.settings
    known = {sink.name for sink in settings.sinks}
    enabled = tuple(dict.fromkeys(sink.name for sink in settings.sinks if sink.enabled))
    routes: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    entries = watchlist_entries(settings)
    for index, entry in enumerate(entries):
        if entry.sinks is None:
            continue
        for name in entry.sinks:
            if name not in known:
                at = _where(loaded, "watchlists", ("watchlists", index, "sinks"))
                problems.append(f"{at}: {unknown_sink(index, name, known)}")
    if problems:
        raise ConfigError(problems)
    by_file = {Path(w.source): w for w in watchlists}
    for entry in entries:
        watchlist = by_file.get(loaded.resolve(entry.file))
        if watchlist is None:
            continue  # not loaded: its problem is reported by load_watchlists
        chosen = entry.sinks if entry.sinks is not None else enabled
        routes[watchlist.name] = tuple(name for name in chosen if name in enabled)
    return routes
