"""``monitor check``: every problem in the config and its watchlists, each naming the file,
the line or field, and the fix. Keeps going after the first problem."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from monitor.config import UNRESOLVED
from monitor.config_errors import environment_variable
from monitor.db.sources import SourceSpec
from monitor.egress import (
    BlockedAddressError,
    NameResolutionError,
    address_policy,
    connection_target,
    guarded_addresses,
)
from monitor.errors import ConfigError, DatabaseError, MonitorError
from monitor.health import host_problem
from monitor.match import Watchlist
from monitor.match.watchlist_file import watchlist_report, with_lines
from monitor.opml import read_opml
from monitor.plural import plural
from monitor.redact import redact_url, use_secret_params
from monitor.settings import (
    LoadedSettings,
    bad_secret,
    config_path,
    expand_variables,
    load_settings,
    missing_watchlist,
    read_yaml,
    resolve_from,
    unset_variable,
    watchlist_entries,
)
from monitor.sourcefiles import located_sources, read_included
from monitor.validate import (
    read_sources,
    sink_name_taken,
    unknown_sink,
    validate_config,
    watchlist_listed_twice,
)
from monitor.yamllines import line_of


def _raw_watchlists(data: dict[str, Any]) -> list[tuple[int, str | None, list[Any] | None]]:
    entries = data.get("watchlists") or []
    if not isinstance(entries, list):
        return []
    found: list[tuple[int, str | None, list[Any] | None]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            found.append((index, entry, None))
        elif isinstance(entry, dict):
            file = entry.get("file")
            sinks = entry.get("sinks")
            found.append(
                (
                    index,
                    file if isinstance(file, str) else None,
                    sinks if isinstance(sinks, list) else None,
                )
            )
    return found


@dataclass(frozen=True)
class TargetReport:
    """What the egress guard makes of the configured URLs: ``refused`` (each one message)
    and ``unresolved`` (names that could not be looked up, so were not judged)."""

    refused: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


async def _judge(
    distinct: set[tuple[str, int]], *, look_up_names: bool, allow_private_networks: bool
) -> dict[tuple[str, int], Exception | None]:
    """For each distinct (host, port): None when the guard lets it through, else its error."""
    check = address_policy(allow_private_networks)
    outcomes: dict[tuple[str, int], Exception | None] = {}

    async def judge(target: tuple[str, int]) -> None:
        try:
            await guarded_addresses(*target, check, numeric_only=not look_up_names)
        except (BlockedAddressError, NameResolutionError) as error:
            outcomes[target] = error
        else:
            outcomes[target] = None

    await asyncio.gather(*(judge(target) for target in distinct))
    return outcomes


def refused_targets(
    loaded: LoadedSettings,
    specs: list[SourceSpec],
    *,
    look_up_names: bool = True,
    sinks: bool = True,
) -> TargetReport:
    """Each enabled source (and, with ``sinks``, sink) that the egress guard will refuse,
    judged by the guard itself (`monitor.egress.guarded_addresses`): every spelling of an
    address, and names as the system resolver answers now. Without ``look_up_names``
    (start-up: no DNS wait), names are left to the guard at connection time."""
    report = TargetReport()
    allow_private = loaded.settings.poll.allow_private_networks
    targets = [(f"source {s.name!r}", s.url) for s in specs if s.enabled]
    names = {f"source {s.name!r}": s.name for s in specs if s.enabled}
    if sinks:
        targets += [
            (f"sinks[{i}] ({sink.name})", sink.url)
            for i, sink in enumerate(loaded.settings.sinks)
            if sink.enabled
        ]
    written_in = _written_in(loaded, names)
    judged: list[tuple[str, str, tuple[str, int]]] = []
    for label, url in targets:
        if UNRESOLVED.search(url):
            continue  # a variable that is not set: named by require_sinks
        try:
            target = connection_target(url)  # once per URL: 1,000 sources, 25 ms
        except (httpx.InvalidURL, UnicodeError):
            continue  # not a URL the client would request; the fetch records bad_url
        if target[0]:
            judged.append((label, url, target))
    outcomes = asyncio.run(
        _judge(
            {target for *_, target in judged},
            look_up_names=look_up_names,
            allow_private_networks=allow_private,
        )
    )
    metadata_check = address_policy(allow_private_networks=True)
    for label, url, target in judged:
        error = outcomes[target]
        if isinstance(error, BlockedAddressError):
            shown = redact_url(url)
            address = (
                f"{shown} is"
                if error.host == str(error.address)
                else f"{shown}: {error.host} resolves to {error.address},"
            )
            always = metadata_check(error.host, error.address, target[1])
            where = written_in(label)
            if always is not None:
                # Link-local and cloud metadata addresses: no setting lets a request there.
                report.refused.append(
                    f"{where}: {label}: {address} a {always} (outbound requests never "
                    "go there, so nothing would be fetched or delivered); use the feed's or "
                    "the receiver's own address"
                )
                continue
            variable = environment_variable(("poll", "allow_private_networks"))
            fix = (
                # The file may say true: the environment overrides it (probe69).
                f"the environment variable {variable} sets poll.allow_private_networks to "
                "false, over the config file; unset it or set it to true if that is intended"
                if variable is not None
                else "set poll.allow_private_networks: true if that is intended"
            )
            report.refused.append(
                f"{where}: {label}: {address} a {error.category} address, which "
                f"outbound requests refuse; {fix} (intranet feeds, a local receiver)"
            )
        elif isinstance(error, NameResolutionError) and look_up_names:
            report.unresolved.append(
                f"{written_in(label)}: {label}: {redact_url(url)}: {error}; its addresses were not "
                "checked (outbound requests refuse it if it resolves to a private or "
                "loopback address)"
            )
    return report


def _written_in(loaded: LoadedSettings, sources: dict[str, str]) -> Callable[[str], str]:
    """Where a target's label (``source 'Name'``, ``sinks[0] (name)``) is written: the YAML
    file and line of its entry (an included file's, or the config's), the OPML file of an
    outline, read only when a problem needs it; the config file when it cannot be told
    (sources or sinks given by an environment variable)."""
    found: dict[str, str] | None = None
    config_node: list[Any] = []  # the config's YAML nodes, composed at the first need

    def config_line(location: tuple[int | str, ...]) -> str:
        if environment_variable(location) is not None:
            return str(loaded.path)  # the variable's list, not the file's
        if not config_node:
            try:
                config_node.append(read_yaml(loaded.path)[1])
            except (ConfigError, OSError):
                config_node.append(None)
        line = line_of(config_node[0], location)
        return f"{loaded.path}:{line}" if line is not None else str(loaded.path)

    def where(label: str) -> str:
        nonlocal found
        name = sources.get(label)
        if name is None:
            sink = re.match(r"sinks\[(\d+)\]", label)
            return config_line(("sinks", int(sink.group(1)), "url")) if sink else str(loaded.path)
        if found is None:
            found = {}
            try:
                for item in located_sources(loaded):
                    if item.opml is not None:
                        place = str(item.opml)
                    elif item.file == loaded.path:
                        place = config_line(("sources", item.index, "url"))
                    else:
                        place = f"{item.file}:{item.line}" if item.line else str(item.file)
                    found.setdefault(item.name, place)
            except (ConfigError, OSError):
                pass
        return found.get(name, str(loaded.path))

    return where


def check_config(explicit: str | Path | None) -> tuple[list[str], list[str], list[str]]:
    """Return (problems, warnings, notes): problems make the check fail, warnings do not,
    notes say what was checked. The verdict is `validate_config`'s, the one `run` and
    `once` obey, plus what only a check does: watchlist examples, the egress guard's view of
    every URL (names resolved now) and the database."""
    path = config_path(explicit)
    notes: list[str] = []
    try:
        data, node = read_yaml(path)
    except ConfigError as error:
        return error.problems, [], notes
    try:
        loaded = load_settings(path)
    except ConfigError as error:
        # The settings are unusable; still report the watchlist files' own problems, so that
        # one run shows every problem there is.
        return error.problems + _raw_problems(path, data, node), [], notes
    use_secret_params(loaded.settings.redact_query_params)
    problems: list[str] = []
    warnings: list[str] = []
    partial: set[str] = set()  # watchlist files with problems: only their valid parts
    specs: list[SourceSpec] | None
    try:
        valid = validate_config(loaded, need_sinks=True)
    except ConfigError as error:
        problems.extend(error.problems)
        watchlists, partial = _loadable_watchlists(loaded)
        specs = _readable_sources(loaded)
    else:
        watchlists, specs = valid.watchlists, valid.specs
        warnings.extend(valid.warnings)
    for watchlist in watchlists:
        failures = _failing_examples(watchlist)
        problems.extend(failures)
        verdict = f"{len(failures)} failing" if failures else "all hold"
        entities = plural(len(watchlist.entities), "entity", "entities")
        if watchlist.source in partial:
            parts = entities + (
                f" and {plural(len(watchlist.rules), 'rule')}" if watchlist.rules else ""
            )
            load = "loads" if len(watchlist.entities) + len(watchlist.rules) == 1 else "load"
            notes.append(
                f"watchlist {watchlist.name!r} ({watchlist.source}) has problems (see the "
                f"errors); the examples of the {parts} that {load}: {verdict}"
            )
        else:
            notes.append(
                f"watchlist {watchlist.name!r} ({watchlist.source}): {entities}, examples {verdict}"
            )
    if specs is None:
        notes.append("sources: not all could be read (see the errors)")
        specs = []
    else:
        notes.append(f"{plural(len(specs), 'source')} ({sum(s.enabled for s in specs)} enabled)")
    targets = refused_targets(loaded, specs)
    problems.extend(targets.refused)
    warnings.extend(targets.unresolved)
    http = loaded.settings.http
    if http is not None and (host := host_problem(http.host)) is not None:
        problems.append(f"{loaded.where(('http', 'host'))}: http.host: {host}")
    found = database_problems(loaded.settings.database_url)
    problems.extend(found)
    if not found:
        warnings.extend(waiting_for_unnamed_sinks(loaded))
    return problems, warnings, notes


def waiting_for_unnamed_sinks(loaded: LoadedSettings) -> list[str]:
    """Alerts in an existing SQLite database that wait for a sink this config does not name
    (removed or renamed). A PostgreSQL server is not connected to, as for the other checks
    of the database."""
    from monitor.db.problems import sqlite_path
    from monitor.db.store import Store
    from monitor.status import unnamed_sink_notes

    store = Store(loaded.settings.database_url)
    try:
        database = sqlite_path(store.database.engine)
        if database is None or not database.exists():
            return []
        store.prepare(allow_create=False, writable=False)
        outbox = store.status(datetime.now(UTC), unhealthy_after=1, details=False).health.sinks
    except MonitorError:
        return []  # an empty file, an old schema: the other checks say what is wrong
    finally:
        store.close()
    names = {sink.name for sink in loaded.settings.sinks}
    return [f"{loaded.path}: {note}" for note in unnamed_sink_notes(outbox, names)]


def _loadable_watchlists(loaded: LoadedSettings) -> tuple[list[Watchlist], set[str]]:
    """The watchlists, each made of its valid parts when its file has problems (reported by
    `validate_config`), so that their examples are checked in the same run; and the files
    that had problems."""
    found: dict[Path, Watchlist] = {}
    partial: set[str] = set()
    for entry in watchlist_entries(loaded.settings):
        path = loaded.resolve(entry.file)
        if path in found or not path.is_file():
            continue
        watchlist, problems = watchlist_report(path)
        if watchlist is not None:
            found[path] = watchlist
            if problems:
                partial.add(watchlist.source)
    return list(found.values()), partial


def _readable_sources(loaded: LoadedSettings) -> list[SourceSpec] | None:
    """The sources, or None when they cannot all be read (reported by validate_config)."""
    try:
        return read_sources(loaded)[0]
    except ConfigError:
        return None


def _raw_problems(path: Path, data: dict[str, Any], node: Any) -> list[str]:
    """For a config whose settings do not load: the problems that are found in the file as
    written (sink names used twice, OPML and watchlist files), so that fixing the settings
    does not reveal a second batch."""
    problems: list[str] = []
    raw_sinks = data.get("sinks")
    sink_list = raw_sinks if isinstance(raw_sinks, list) else []
    first_sink: dict[str, int] = {}
    for index, raw in enumerate(sink_list):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in first_sink:
            where = f"{path}:{line_of(node, ('sinks', index, 'name')) or '?'}"
            problems.append(f"{where}: {sink_name_taken(index, name, first_sink[name])}")
        elif isinstance(name, str):
            first_sink[name] = index
    sink_names = set(first_sink)
    expanded, unset = expand_variables({"sinks": sink_list})
    problems.extend(f"{path}: {unset_variable(field, var)}" for field, var in unset)
    problems.extend(_raw_secret_problems(path, node, expanded["sinks"]))
    raw_sources = data.get("sources")
    for index, raw in enumerate(raw_sources if isinstance(raw_sources, list) else []):
        opml = raw.get("opml") if isinstance(raw, dict) else None
        if isinstance(opml, str):
            try:
                read_opml(resolve_from(path, opml))
            except ConfigError as error:
                where = f"{path}:{line_of(node, ('sources', index, 'opml')) or '?'}"
                problems.extend(f"{where}: sources[{index}].opml: {p}" for p in error.problems)
        include = raw.get("include") if isinstance(raw, dict) else None
        if isinstance(include, str) and include:
            pattern = resolve_from(path, include)
            matched = sorted(glob.glob(str(pattern))) if glob.has_magic(include) else [pattern]
            for included in matched:
                try:
                    read_included(Path(included))
                except ConfigError as error:
                    problems.extend(error.problems)
    first_entry: dict[Path, int] = {}
    for index, file, sinks in _raw_watchlists(data):
        if file is None:
            continue
        where = f"{path}:{line_of(node, ('watchlists', index)) or '?'}"
        for sink in sinks or []:
            if sink not in sink_names:
                problems.append(f"{where}: {unknown_sink(index, sink, sink_names)}")
        watchlist_path = resolve_from(path, file)
        if watchlist_path in first_entry:
            first = first_entry[watchlist_path]
            problems.append(f"{where}: {watchlist_listed_twice(index, watchlist_path, first)}")
            continue
        first_entry[watchlist_path] = index
        if not watchlist_path.is_file():
            problems.append(missing_watchlist(where, index, watchlist_path))
            continue
        watchlist, found = watchlist_report(watchlist_path)
        problems.extend(found)
        if watchlist is not None:
            problems.extend(_failing_examples(watchlist))
    return problems


def _raw_secret_problems(path: Path, node: Any, sinks: Any) -> list[str]:
    """The sink secrets written in the file that do not decode (probe85: with a source's
    bad port in the same file, the secret was named only once the port was fixed)."""
    from monitor.alerts import decode_secret

    problems = []
    for index, raw in enumerate(sinks if isinstance(sinks, list) else []):
        secret = raw.get("secret") if isinstance(raw, dict) else None
        if not isinstance(secret, str) or not secret or "${" in secret:
            continue  # none, or an unset variable (named above)
        try:
            decode_secret(secret)
        except ValueError as error:
            where = f"{path}:{line_of(node, ('sinks', index, 'secret')) or '?'}"
            problems.append(f"{where}: {bad_secret(index, error)}")
    return problems


def _failing_examples(watchlist: Watchlist) -> list[str]:
    """The examples of ``watchlist`` that fail, each naming its line in the file."""
    # Here, not at the top: the service imports this module for `refused_targets` and does
    # not compile watchlists (its parsing workers do).
    from monitor.match.examples import check_examples

    return with_lines(check_examples(watchlist), Path(watchlist.source))


def database_problems(url: str) -> list[str]:
    """What stops the commands from using the database at ``url``, found without creating
    it: the URL is parsed; a SQLite file that exists is opened and written (a write rolled
    back), a new one's folder is tried. No connection is made to a PostgreSQL server."""
    from monitor.db.engine import (
        check_lock_file,
        check_writable,
        current_revision,
        open_engine,
        schema_problem,
    )
    from monitor.db.problems import sqlite_path

    try:
        engine = open_engine(url)
    except DatabaseError as error:
        return [str(error)]  # as the other commands say it
    try:
        database = sqlite_path(engine)
        if database is None:
            return []
        if database.exists():
            check_writable(engine)
            check_lock_file(engine)
            revision = current_revision(engine)  # None: empty, created at the first run
            problem = schema_problem(revision) if revision is not None else None
            return [f"{database}: {problem}"] if problem else []
        try:
            with tempfile.TemporaryFile(dir=database.parent):
                pass
        except OSError as error:
            return [
                f"cannot create the SQLite database {database}: "
                f"{error.strerror} in {database.parent}; make the folder writable for the "
                f"user running monitor (uid {os.geteuid()})"
            ]
        return []
    except DatabaseError as error:
        return [str(error)]  # as the other commands say it
    finally:
        engine.dispose()
