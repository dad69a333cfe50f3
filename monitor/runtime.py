"""Everything one monitor process works with, built once from the settings: database,
watchlists and matcher, sources, sinks and routes, HTTP limits, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor.alerts import SinkTarget
from monitor.alerts.policy import SinkPolicy
from monitor.config import SinkConfig
from monitor.db.engine import Database
from monitor.db.sources import SourceSpec
from monitor.db.store import Store
from monitor.fetch import HttpOptions
from monitor.match import Watchlist
from monitor.redact import use_secret_params
from monitor.settings import LoadedSettings, Settings
from monitor.stories import DEFAULT_CONFIG, StoryConfig
from monitor.validate import validate_config

if TYPE_CHECKING:  # compiled on first use: the service process matches in its workers
    from monitor.match.matcher import Matcher


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


def sink_target(sink: SinkConfig) -> SinkTarget:
    return SinkTarget(
        name=sink.name,
        url=sink.url,
        secret=sink.secret,
        format=sink.format,
        timeout=sink.timeout.total_seconds(),
    )


def story_config(settings: Settings) -> StoryConfig:
    """The story decision's settings (``stories:``) over the measured defaults."""
    config = settings.stories
    return replace(
        DEFAULT_CONFIG,
        same_story=config.same_story,
        contained=config.contained,
        contained_floor=config.contained_floor,
        names_guard=config.names_guard,
        window=config.window,
    )


@dataclass
class Runtime:
    """The parts of a running monitor, shared by the pipeline, delivery and the CLI."""

    loaded: LoadedSettings
    store: Store
    watchlists: list[Watchlist]
    routes: dict[str, tuple[str, ...]]
    sinks: dict[str, SinkConfig]
    http: HttpOptions
    specs_: list[SourceSpec]
    # What `validate_config` warns about: logged by the commands that poll.
    warnings: list[str] = field(default_factory=list)
    clock: Callable[[], datetime] = field(default=utc_now)
    # Built on first use: the service matches in its parsing workers, never here.
    _matcher: Matcher | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def matcher(self) -> Matcher:
        """The watchlists compiled for matching in this process (replay, explain)."""
        if self._matcher is None:
            from monitor.match.matcher import Matcher

            self._matcher = Matcher(
                self.watchlists, excerpt_chars=self.settings.match.excerpt_chars
            )
        return self._matcher

    @property
    def policies(self) -> dict[str, SinkPolicy]:
        """Each enabled sink's filters and story policy (docs/stories.md)."""
        return {name: SinkPolicy.of(sink) for name, sink in self.sinks.items()}

    def specs(self) -> list[SourceSpec]:
        """The configured sources, read once by `validate_config` (OPML files included)."""
        return self.specs_

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
        need_watchlists: bool = True,
        clock: Callable[[], datetime] = utc_now,
        store: Store | None = None,
    ) -> Runtime:
        """Validate the config (`validate_config`: ConfigError with every problem), load
        watchlists and sinks, and open the database (not yet prepared).

        ``need_sinks`` makes an unset ``${VAR}`` in a sink an error (run, once, check).
        ``need_watchlists``: without it the watchlists are not read (`validate_config`).
        ``store``: the database already open (a reload keeps it), instead of opening one.
        """
        use_secret_params(loaded.settings.redact_query_params)
        valid = validate_config(loaded, need_sinks=need_sinks, need_watchlists=need_watchlists)
        settings = loaded.settings
        return cls(
            loaded=loaded,
            store=(
                Store(settings.database_url, story_config(settings)) if store is None else store
            ),
            watchlists=valid.watchlists,
            routes=valid.routes,
            specs_=valid.specs,
            warnings=valid.warnings,
            sinks={sink.name: sink for sink in settings.sinks if sink.enabled},
            http=http_options(settings),
            clock=clock,
        )

    def adopt(self, other: Runtime) -> None:
        """Take the config of ``other`` (a reload): settings, watchlists and matcher, routes,
        sinks, HTTP options and sources. The store and the clock stay: whoever holds this
        runtime (poller, pipeline, outbox) reads the new config from its next step on."""
        self.loaded = other.loaded
        self.store.story_config = story_config(other.settings)
        self.watchlists = other.watchlists
        self._matcher = other._matcher
        self.routes = other.routes
        self.sinks = other.sinks
        self.http = other.http
        self.specs_ = other.specs_
        self.warnings = other.warnings
