"""``monitor check``: every problem in the config and its watchlists, each naming the file,
the line or field, and the fix. Keeps going after the first problem."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.db.sources import SourceSpec
from monitor.egress import blocked_address_reason
from monitor.errors import ConfigError, DatabaseError
from monitor.match import check_examples, load_watchlist
from monitor.redact import redact_url, use_secret_params
from monitor.runtime import source_specs
from monitor.settings import (
    LoadedSettings,
    config_path,
    line_of,
    load_settings,
    missing_watchlist,
    read_yaml,
    resolve_from,
)


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


def _raw_sink_names(data: dict[str, Any]) -> set[str]:
    sinks = data.get("sinks") or []
    if not isinstance(sinks, list):
        return set()
    return {s["name"] for s in sinks if isinstance(s, dict) and isinstance(s.get("name"), str)}


def private_target(url: str) -> str | None:
    """Why ``url`` names a host the egress guard refuses (loopback, private, ...), judged
    without DNS: literal addresses and ``localhost`` only."""
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback"
    try:
        return blocked_address_reason(ipaddress.ip_address(host))
    except ValueError:
        return None


def refused_targets(loaded: LoadedSettings, specs: list[SourceSpec]) -> list[str]:
    """A message for each enabled source or sink the egress guard will refuse."""
    if loaded.settings.poll.allow_private_networks:
        return []
    targets = [(f"source {s.name!r}", s.url) for s in specs if s.enabled]
    targets += [
        (f"sinks[{i}] ({sink.name})", sink.url)
        for i, sink in enumerate(loaded.settings.sinks)
        if sink.enabled
    ]
    messages = []
    for label, url in targets:
        reason = private_target(url)
        if reason:
            messages.append(
                f"{loaded.path}: {label}: {redact_url(url)} is a {reason} address, which outbound "
                "requests refuse; set poll.allow_private_networks: true if that is "
                "intended (intranet feeds, a local receiver)"
            )
    return messages


def check_config(explicit: str | Path | None) -> tuple[list[str], list[str]]:
    """Return (problems, notes): problems make the check fail, notes say what was checked."""
    path = config_path(explicit)
    notes: list[str] = []
    try:
        data, node = read_yaml(path)
    except ConfigError as error:
        return error.problems, notes
    problems: list[str] = []
    loaded = None
    try:
        loaded = load_settings(path)
    except ConfigError as error:
        problems.extend(error.problems)
    else:
        use_secret_params(loaded.settings.redact_query_params)

    sink_names = _raw_sink_names(data)
    for index, file, sinks in _raw_watchlists(data):
        where = f"{path}:{line_of(node, ('watchlists', index)) or '?'}"
        if file is None:
            continue  # the settings validation above already named this entry
        watchlist_path = resolve_from(path, file)
        if not watchlist_path.is_file():
            problems.append(missing_watchlist(where, index, watchlist_path))
        else:
            try:
                watchlist = load_watchlist(watchlist_path)
            except ConfigError as error:
                problems.extend(error.problems)
            else:
                failures = check_examples(watchlist)
                problems.extend(failures)
                notes.append(
                    f"watchlist {watchlist.name!r} ({watchlist_path}): "
                    f"{len(watchlist.entities)} entities, examples "
                    f"{'all hold' if not failures else f'{len(failures)} failing'}"
                )
        for sink in sinks or []:
            if sink not in sink_names:
                problems.append(
                    f"{where}: watchlists[{index}].sinks: unknown sink {sink!r}; "
                    f"define it under `sinks:` or use one of: "
                    f"{', '.join(sorted(sink_names)) or '(no sinks defined)'}"
                )

    if loaded is not None:
        try:
            loaded.require_sinks()
        except ConfigError as error:
            problems.extend(error.problems)
        try:
            specs = source_specs(loaded)
            notes.append(f"{len(specs)} sources ({sum(s.enabled for s in specs)} enabled)")
        except ConfigError as error:
            problems.extend(error.problems)
            specs = []
        problems.extend(refused_targets(loaded, specs))
        if not loaded.settings.sinks:
            notes.append("no sinks: matches are stored but no alert is sent")
        try:
            from monitor.db.engine import open_engine

            open_engine(loaded.settings.database_url).dispose()
        except DatabaseError as error:
            problems.append(f"{path}: database_url: {error}")
    return problems, notes
