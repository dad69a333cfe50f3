"""Everything one monitor process works with, built once from the settings: database,
watchlists and matcher, sources, sinks and routes, HTTP limits, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.alerts import SinkTarget
from monitor.config import MAX_URL_LENGTH, OpmlConfig, SinkConfig
from monitor.db.engine import Database
from monitor.db.sources import SourceSpec
from monitor.db.store import Store
from monitor.errors import ConfigError
from monitor.fetch import HttpOptions
from monitor.match import Matcher, Watchlist, load_watchlist
from monitor.opml import read_opml
from monitor.redact import redact_url, use_secret_params
from monitor.settings import LoadedSettings, Settings, missing_watchlist, watchlist_entries


def utc_now() -> datetime:
    return datetime.now(UTC)


def http_options(settings: Settings) -> HttpOptions:
    fetch = settings.fetch
    return HttpOptions(
        user_agent=fetch.user_agent,
        connect_timeout=fetch.connect_timeout.total_seconds(),
        read_timeout=fetch.read_timeout.total_seconds(),
        total_timeout=fetch.total_timeout.total_seconds(),
        max_body_bytes=fetch.max_body,
        max_redirects=fetch.max_redirects,
        allow_private_networks=settings.poll.allow_private_networks,
    )


def source_specs(loaded: LoadedSettings) -> list[SourceSpec]:
    """The configured sources, OPML files expanded, first one wins on a repeated URL."""
    settings = loaded.settings
    specs: dict[str, SourceSpec] = {}
    problems: list[str] = []
    for index, source in enumerate(settings.sources):
        if isinstance(source, OpmlConfig):
            try:
                outlines = read_opml(loaded.resolve(source.opml))
            except ConfigError as error:
                problems.extend(
                    f"{loaded.path}: sources[{index}].opml: {p}" for p in error.problems
                )
                continue
            entries = [(o.name, o.url) for o in outlines]
        else:
            entries = [(source.name, source.url)]
        for name, url in entries:
            if url in specs:
                continue
            if len(url) > MAX_URL_LENGTH:
                problems.append(
                    f"{loaded.path}: sources[{index}]: {redact_url(url)[:80]}... is longer than "
                    f"{MAX_URL_LENGTH} characters; shorten it"
                )
                continue
            specs[url] = SourceSpec(
                name=name,
                url=url,
                interval=_bounded(source.interval or settings.poll.interval, settings),
                enabled=source.enabled,
                first_run=source.first_run or settings.first_run,
                first_run_window=source.first_run_window or settings.first_run_window,
            )
    if problems:
        raise ConfigError(problems)
    return list(specs.values())


def _bounded(interval: timedelta, settings: Settings) -> timedelta:
    return max(settings.poll.min_interval, min(settings.poll.max_interval, interval))


def load_watchlists(loaded: LoadedSettings) -> list[Watchlist]:
    """Every configured watchlist, or ConfigError naming each file and problem."""
    watchlists: list[Watchlist] = []
    problems: list[str] = []
    for index, entry in enumerate(watchlist_entries(loaded.settings)):
        path = loaded.resolve(entry.file)
        if not path.is_file():
            problems.append(missing_watchlist(str(loaded.path), index, path))
            continue
        try:
            watchlists.append(load_watchlist(path))
        except ConfigError as error:
            problems.extend(error.problems)
    names = [w.name for w in watchlists]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(
            f"{loaded.path}: watchlists: two watchlists are named {name!r}; "
            "give each a distinct `name:`"
        )
    if problems:
        raise ConfigError(problems)
    return watchlists


def sink_routes(loaded: LoadedSettings, watchlists: list[Watchlist]) -> dict[str, tuple[str, ...]]:
    """Which enabled sinks each watchlist alerts; ConfigError on an unknown sink name."""
    settings = loaded.settings
    known = {sink.name for sink in settings.sinks}
    enabled = tuple(sink.name for sink in settings.sinks if sink.enabled)
    routes: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    entries = watchlist_entries(settings)
    for index, entry in enumerate(entries):
        if entry.sinks is None:
            continue
        for name in entry.sinks:
            if name not in known:
                problems.append(
                    f"{loaded.path}: watchlists[{index}].sinks: unknown sink {name!r}; "
                    f"known sinks: {', '.join(sorted(known)) or '(none)'}"
                )
    if problems:
        raise ConfigError(problems)
    # load_watchlists keeps the order of the entries (and fails whole on any problem).
    for entry, watchlist in zip(entries, watchlists, strict=True):
        chosen = entry.sinks if entry.sinks is not None else enabled
        routes[watchlist.name] = tuple(name for name in chosen if name in enabled)
    return routes


def sink_target(sink: SinkConfig) -> SinkTarget:
    return SinkTarget(
        name=sink.name,
        url=sink.url,
        secret=sink.secret,
        format=sink.format,
        timeout=sink.timeout.total_seconds(),
    )


@dataclass
class Runtime:
    """The parts of a running monitor, shared by the pipeline, delivery and the CLI."""

    loaded: LoadedSettings
    store: Store
    watchlists: list[Watchlist]
    matcher: Matcher
    routes: dict[str, tuple[str, ...]]
    sinks: dict[str, SinkConfig]
    http: HttpOptions
    clock: Callable[[], datetime] = field(default=utc_now)
    _specs: list[SourceSpec] | None = field(default=None, init=False, repr=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    def specs(self) -> list[SourceSpec]:
        """`source_specs` of the config, read once (OPML files included)."""
        if self._specs is None:
            self._specs = source_specs(self.loaded)
        return self._specs

    @property
    def db(self) -> Database:
        """The database under the store, for tests and ``monitor db``; code uses ``store``."""
        return self.store.database

    @classmethod
    def build(
        cls,
        loaded: LoadedSettings,
        *,
        need_sinks: bool,
        clock: Callable[[], datetime] = utc_now,
    ) -> Runtime:
        """Load watchlists and sinks and open the database (created when new).

        ``need_sinks`` makes an unset ``${VAR}`` in a sink an error (run, once, check).
        """
        use_secret_params(loaded.settings.redact_query_params)
        if need_sinks:
            loaded.require_sinks()
        watchlists = load_watchlists(loaded)
        routes = sink_routes(loaded, watchlists)
        settings = loaded.settings
        return cls(
            loaded=loaded,
            store=Store(settings.database_url),
            watchlists=watchlists,
            matcher=Matcher(watchlists, excerpt_chars=settings.match.excerpt_chars),
            routes=routes,
            sinks={sink.name: sink for sink in settings.sinks if sink.enabled},
            http=http_options(settings),
            clock=clock,
        )
