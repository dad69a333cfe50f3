"""The long-running service: a due queue polls sources as they come due, an outbox sends
alerts the moment they are queued (the schedule lives in the database), APScheduler runs the
periodic jobs, SIGTERM/SIGINT stop it cleanly, and SIGHUP reloads the config."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from monitor import __version__, metrics
from monitor.analysis import Analyser, default_workers
from monitor.config import SinkConfig
from monitor.db.engine import running_instances
from monitor.db.instances import HEARTBEAT
from monitor.db.problems import (
    deleted_companions,
    is_damaged,
    is_outage,
    is_schema_gone,
    sqlite_path,
)
from monitor.db.sources import SourceRow
from monitor.db.store import Pruned
from monitor.delivery import DeliveryOutcome, Outbox
from monitor.errors import ConfigError, MonitorError, ServiceFailed
from monitor.fetch import HttpOptions, make_client
from monitor.health import serve_health
from monitor.logs import apply_config, log_fields
from monitor.pipeline import BACKOFF_JITTER, PollOutcome, backoff_delay, sighting_refresh
from monitor.plural import plural
from monitor.poller import Poller
from monitor.redact import redact_text, redact_url, use_secret_params
from monitor.reload import config_changes, keeping_restart_only, restart_only_changes
from monitor.runtime import Runtime
from monitor.settings import load_settings
from monitor.wait import wait_first

log = logging.getLogger(__name__)

# How long /readyz waits for the database before it answers "not ready".
READY_TIMEOUT_SECONDS = 5.0

# A database transaction in progress this long means the database, or the network path to
# it, does not answer (or a lock holds it past every timeout): /readyz answers 503 and the
# log says so until it ends. Longer than any bound of one statement (SQLite's busy timeout
# 30 s, PostgreSQL's lock_timeout 60 s): only a call nothing bounds gets here, as when a
# network path keeps the connection open and swallows what is sent (no timeout fires).
STUCK_AFTER_SECONDS = 120.0
WATCH_EVERY_SECONDS = 5.0

STOP_GRACE_SECONDS = 90.0
# Once stopped, the process ends within this many seconds, whatever still runs: a database
# call waiting on a connection that no timeout bounds (a server or proxy that took the
# request and went silent) would otherwise keep it alive for ever, as the thread it runs
# in is joined at exit. Its transaction rolls back with the connection.
EXIT_AFTER_STOP_SECONDS = 15.0
# Cancelling the work in hand: rounds, and how long each waits for the tasks to end.
CANCEL_ROUNDS = 3
CANCEL_WAIT_SECONDS = 5.0


def longest_stop() -> float:
    """The most seconds a stop can take after its signal: the grace for the work in hand,
    the rounds of cancelling, and the wait before the process is ended whatever still runs
    (a service manager's stop timeout must be longer: systemd's `TimeoutStopSec`)."""
    return STOP_GRACE_SECONDS + CANCEL_ROUNDS * CANCEL_WAIT_SECONDS + EXIT_AFTER_STOP_SECONDS


def end_process_if_stuck(code: Callable[[], int], seconds: float = EXIT_AFTER_STOP_SECONDS) -> None:
    """End the process with ``code()`` in ``seconds`` unless it has ended by then (a daemon
    timer: a process that ends first takes it with it)."""

    def end() -> None:
        log.warning(
            "the service stopped %g s ago but the process has not ended (a database call "
            "still waits: on a lock another program holds, or on a connection that does not "
            "answer): ending it now",
            seconds,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(code())

    timer = threading.Timer(seconds, end)
    timer.daemon = True
    timer.start()


PRUNE_EVERY = timedelta(hours=6)


def instance_name() -> str:
    """A lease owner that is unique per process and readable in the database."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Service:
    """Polls sources and delivers alerts; one instance per process."""

    runtime: Runtime
    owner: str = field(default_factory=instance_name)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # A second SIGTERM or SIGINT while stopping: the work in hand is abandoned at once.
    stop_now: asyncio.Event = field(default_factory=asyncio.Event)
    # The config in force: 1 at start, one more at each successful reload.
    generation: int = 1
    # Why the service stopped on its own (a task failed), for a non-zero exit; None: it was
    # asked to stop.
    crashed: str | None = None
    _feed_client: httpx.AsyncClient | None = None
    _sink_client: httpx.AsyncClient | None = None
    _analyser: Analyser | None = None
    _outbox: Outbox | None = None
    _poller_running: Poller | None = None
    _once_poller: Poller | None = None
    _reload_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    # Clients of an earlier config, closed once the requests they had in hand are over.
    _old_clients: list[httpx.AsyncClient] = field(default_factory=list)
    _closers: set[asyncio.Task[None]] = field(default_factory=set)
    # The SQLite file (device, inode) at start: `heartbeat` stops the service when the file
    # was deleted or replaced under it.
    _database_file: tuple[Path, tuple[int, int]] | None = None

    def register(self) -> None:
        """Record this service in the ``instances`` table (`monitor status`, `reload`)."""
        self.runtime.store.register_instance(
            owner=self.owner,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            version=__version__,
            config_path=str(self.runtime.loaded.path.resolve()),
            now=self.runtime.clock(),
        )

    async def heartbeat(self) -> None:
        """Every `HEARTBEAT`: tell `monitor status` this instance lives, and refresh the
        health gauges of /metrics; stop the service when its SQLite file is gone; lock its
        lock file again when it was deleted (or stop, when another instance took it)."""
        if self._database_file_gone():
            return
        taken = self.runtime.store.keep_instance_lock()
        if taken is not None:
            self._stop_for(taken)
            return
        # The gauges first: they only read, and a database that refuses writes (a full disk)
        # still answers reads; they then show the sources falling late, not a frozen picture.
        try:
            try:
                await self.refresh_health()
            finally:
                await self.runtime.store.instance_beat(self.owner, self.runtime.clock())
        except Exception as error:
            if is_damaged(error):
                # A damaged SQLite file does not mend itself: the service logged a WARNING per
                # job a second, /readyz 503, and never said to act (probe89). The message
                # names the file and how to get its data back.
                self._stop_for(self.runtime.store.outage_text(error))
            elif is_schema_gone(error):
                # The tables are gone (an outside probe dropped and created the database
                # again): every poll and delivery failed with a traceback every second, and
                # after a `db upgrade` the service polled nothing, its sources and row gone.
                self._stop_for(
                    "the database's tables are gone "
                    f"({self.runtime.store.outage_text(error)}): it was dropped and created "
                    "again, or another database is there now; restore it, or run "
                    "`monitor db upgrade` to begin a new one, then start the service again"
                )
            else:
                raise

    def _stop_for(self, problem: str) -> None:
        """Stop the service, with a non-zero exit, for ``problem`` (an ERROR says it)."""
        self.crashed = problem
        log.error("%s: stopping", problem, extra=log_fields(instance=self.owner))
        self.stopping.set()

    def _database_file_gone(self) -> bool:
        """Whether the SQLite file was deleted or replaced while the service ran (it would go
        on writing to the deleted file, every write lost at exit, and report nothing wrong);
        if so the service stops, with a non-zero exit."""
        if self._database_file is None:
            return False
        problem = self.database_file_problem()
        if problem is None:
            return self._write_ahead_log_gone(self._database_file[0])
        self._stop_for(problem)
        return True

    def database_file_problem(self) -> str | None:
        """What happened to the SQLite file since the start, when it was deleted or replaced
        (`monitor once` checks it before it exits: an outside probe deleted the file under a
        `once` that then exited 0, its pending alerts lost with the file); else None."""
        if self._database_file is None:
            return None
        path, identity = self._database_file
        companions = f"{path.name}-wal and {path.name}-shm"
        try:
            found = path.stat()
        except FileNotFoundError:
            what = "deleted"
        else:
            if (found.st_dev, found.st_ino) == identity:
                return None
            what = "replaced by another file"
        return (
            f"the database file {path} was {what} while it was in use; what was written since "
            f"is lost with the old file. Before starting again, delete {companions} beside "
            "it if they are there (they belong to the old file, and SQLite would apply them "
            "to the new one and damage it); then restore the file, or start again to begin "
            "a new one"
        )

    def _write_ahead_log_gone(self, path: Path) -> bool:
        """Whether the SQLite file's -wal or -shm was deleted while this process has it open
        (Linux): SQLite goes on writing to the deleted file, and a crash then loses what it
        holds (an outside probe: 75 of 170 articles, alerted again under new ids). The
        service stops: as it closes the database, SQLite writes the log into the file."""
        deleted = deleted_companions(path)
        if not deleted:
            return False
        self._stop_for(
            f"the database's {' and '.join(str(p) for p in deleted)} "
            f"{'was' if len(deleted) == 1 else 'were'} deleted while the service ran; what was "
            f"written since the last checkpoint is only there: the service stops, writing it "
            f"into {path} as it closes; start it again"
        )
        return True

    async def refresh_health(self) -> None:
        """Set the health gauges from `Store.status`, the numbers `monitor status` shows."""
        now = self.runtime.clock()
        settings = self.runtime.settings
        status = await self.runtime.store.astatus(
            now,
            unhealthy_after=settings.poll.unhealthy_after,
            details=False,
            lease=settings.poll.lease,
            longest_poll=settings.fetch.total_timeout,
        )
        metrics.show_health(status.health, now)

    def sync_sources(self) -> None:
        """Make the sources table follow the config; on SQLite also forget the leases of a
        killed process (the instance lock proves no other instance runs)."""
        disabled = self.runtime.store.start_instance(self.runtime.specs(), self.runtime.clock())
        self._say_disabled(disabled)

    def _say_disabled(self, names: list[str]) -> None:
        """Name the sources a sync disabled; and where other instances run on the database,
        warn that configs listing different sources disable each other's (an outside probe:
        an instance started with a shorter list silently stopped the polls of another)."""
        if not names:
            return
        shown = ", ".join(repr(name) for name in names[:5]) + (", ..." if len(names) > 5 else "")
        log.info(
            "%s not in the config %s now disabled (their articles stay): %s",
            plural(len(names), "source"),
            "is" if len(names) == 1 else "are",
            shown,
        )
        me = f"{os.getpid()}@{socket.gethostname()}"
        try:
            running = running_instances(self.runtime.store.database.engine, self.runtime.clock())
        except MonitorError:  # the database failed: the next start or reload says it
            return
        others = [instance for instance in running if instance != me]
        if others:
            log.warning(
                "this config does not list %s that %s running on this database may poll "
                "(%s): an instance disables the sources its config does not list, at each "
                "start and reload, so instances with different source lists stop each "
                "other's polls; give every instance the same sources",
                plural(len(names), "source"),
                "the instance" if len(others) == 1 else f"{len(others)} instances",
                ", ".join(others[:3]),
            )

    async def __aenter__(self) -> Service:
        runtime = self.runtime
        workers = runtime.settings.poll.workers
        self._analyser = Analyser(
            runtime.watchlists,
            excerpt_chars=runtime.settings.match.excerpt_chars,
            workers=default_workers() if workers is None else workers,
        )
        self._feed_client, self._sink_client = self._clients(runtime.http)
        self._outbox = Outbox(runtime, self._sink_client, owner=self.owner, stopping=self.stopping)
        database = sqlite_path(runtime.store.database.engine)
        if database is not None and database.exists():
            found = database.stat()
            self._database_file = (database, (found.st_dev, found.st_ino))
        return self

    def _clients(self, http: HttpOptions) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        """The feed client and the sink client for ``http``."""
        # As many connections to one host as polls of one host at once (`poll.per_host`).
        feeds = replace(http, connections_per_origin=self.runtime.settings.poll.per_host)
        sinks = make_client(http, follow_redirects=False, keep_alive=False)
        return make_client(feeds, follow_redirects=True), sinks

    async def __aexit__(self, *exc: object) -> None:
        for closer in self._closers:
            closer.cancel()
        for client in (self._feed_client, self._sink_client, *self._old_clients):
            if client is not None:
                await client.aclose()
        if self._analyser is not None:
            await asyncio.to_thread(self._analyser.close)

    def request_reload(self) -> None:
        """SIGHUP: reload the config soon (`reload`, in the service's reloader task). A
        request during a reload makes one more reload after it; reloads never overlap."""
        log.info("received SIGHUP: reloading the config from %s", self.runtime.loaded.path)
        self._reload_wanted.set()

    async def _reloader(self) -> None:
        """Run the requested reloads one after the other, until ``stopping``."""
        while True:
            await wait_first(self._reload_wanted.wait(), self.stopping.wait())
            if self.stopping.is_set():
                return
            self._reload_wanted.clear()
            try:
                await self.reload()
            except Exception:
                metrics.config_reload_failures.inc()
                log.exception(
                    "reload failed unexpectedly; the config of generation %d stays in force",
                    self.generation,
                )

    async def _record_refusal(self, error: str) -> None:
        """Tell `monitor reload` (through the instances row) that the reload was refused."""
        try:
            await self.runtime.store.instance_reload_failed(self.owner, error, self.runtime.clock())
        except Exception:
            log.warning("could not record the refused reload in the database", exc_info=True)

    async def reload(self) -> bool:
        """Read the config file again (same path, same environment) and validate it as at
        start-up (`load_settings`, `Runtime.build`). A valid config takes effect at once
        (sources, watchlists, sinks and routes, fetch options, intervals, retention), except
        the settings that need a restart (`restart_only_changes`: logged, and kept as they
        are); every problem of an invalid one is logged and the config in force stays.
        True when the new config is in force (the generation went up)."""
        runtime = self.runtime
        path = runtime.loaded.path
        try:
            new, warnings = await asyncio.to_thread(self._read_config)
        except ConfigError as error:
            for problem in error.problems:
                log.error("%s", problem)
            metrics.config_reload_failures.inc()
            summary = (
                f"reload refused: {plural(len(error.problems), 'problem')} in {path} or the "
                f"files it names (each above); the config of generation {self.generation} "
                "stays in force"
            )
            log.error("%s", summary)
            # Recorded summary first (`monitor reload` prints it so, and a long list is cut
            # at its end): the problems come below it there.
            recorded = summary.replace("(each above)", "(each below)")
            await self._record_refusal("\n".join([recorded, *error.problems]))
            return False
        for warning in warnings:
            log.warning("%s", warning)
        restart = restart_only_changes(runtime.settings, new.settings)
        for change in restart:
            log.warning(
                "reload: %s changed: needs a restart to take effect; until then the old "
                "value stays in force",
                change,
            )
        if restart:
            settings = keeping_restart_only(runtime.settings, new.settings)
            new.loaded = replace(new.loaded, settings=settings)
        previous = replace(runtime)  # the config in force, to go back to
        changes = config_changes(_named_parts(previous), _named_parts(new))
        self._apply(new)
        try:
            disabled = await asyncio.to_thread(
                runtime.store.sync_sources, new.specs(), runtime.clock()
            )
        except Exception as error:
            self._apply(previous)
            use_secret_params(previous.settings.redact_query_params)
            metrics.config_reload_failures.inc()
            summary = (
                f"reload failed: the sources could not be updated in the database ({error}); "
                f"the config of generation {self.generation} stays in force"
            )
            log.error("%s", summary)
            await self._record_refusal(summary)
            return False
        self.generation += 1
        metrics.config_generation.set(self.generation)
        metrics.config_reload_timestamp.set_to_current_time()
        await asyncio.to_thread(self._say_disabled, disabled)
        if self._poller_running is not None:
            self._poller_running.wake()  # added sources are due now
        try:
            await runtime.store.instance_reloaded(self.owner, self.generation, runtime.clock())
        except Exception:
            log.warning(
                "could not record generation %d of %s in the database",
                self.generation,
                self.owner,
                exc_info=True,
            )
        # The log section too (the command line's --log-format/--log-level still win).
        apply_config(runtime.settings.log.level, runtime.settings.log.format)
        log_loaded(runtime)
        log.info(
            "config reloaded from %s: generation %d in force; %s",
            path,
            self.generation,
            "; ".join(changes) if changes else "no source, sink or watchlist changed",
            extra=log_fields(instance=self.owner),
        )
        return True

    def _read_config(self) -> tuple[Runtime, list[str]]:
        """The config file read and validated again, as at start-up, with the warnings
        `monitor run` logs at start (run in a thread: it reads files, and may compile large
        watchlists). Raises ConfigError with every problem."""
        from monitor.check import refused_targets

        current = self.runtime
        loaded = load_settings(current.loaded.path)
        try:
            new = Runtime.build(loaded, need_sinks=True, clock=current.clock, store=current.store)
        except ConfigError:
            use_secret_params(current.settings.redact_query_params)  # build set the new ones
            raise
        in_force = current.specs()
        if in_force and not new.specs():
            # An emptied OPML file or sources list (a sync tool mid-write, a truncated edit)
            # would otherwise disable every source at once.
            use_secret_params(current.settings.redact_query_params)
            raise ConfigError(
                f"{loaded.path}: sources: the new config lists no source (in force: "
                f"{plural(len(in_force), 'source')}, which stay); an emptied sources list or "
                "OPML file is refused. To stop polling everything, stop the service, or set "
                "enabled: false on the sources"
            )
        targets = refused_targets(loaded, new.specs(), look_up_names=False)
        return new, [*new.warnings, *targets.refused]

    def _apply(self, new: Runtime) -> None:
        """Make ``new``'s config the one in force, in one step of the event loop: the
        runtime everyone holds takes it, new analyses use workers with its watchlists (the
        analyses in hand finish on the old ones), the outbox follows its sinks, and new
        clients are made when the HTTP options changed (the old ones finish their requests
        in hand, and are closed after their longest deadline)."""
        runtime = self.runtime
        old_http = runtime.http
        old_sinks = dict(runtime.sinks)
        deadline = max(
            [old_http.total_timeout, *(s.timeout.total_seconds() for s in runtime.sinks.values())]
        )
        runtime.adopt(new)
        assert self._analyser is not None and self._outbox is not None, "use `async with`"
        workers = runtime.settings.poll.workers
        self._analyser.reload(
            runtime.watchlists,
            excerpt_chars=runtime.settings.match.excerpt_chars,
            workers=default_workers() if workers is None else workers,
        )
        if runtime.http != old_http:
            old = [c for c in (self._feed_client, self._sink_client) if c is not None]
            self._feed_client, self._sink_client = self._clients(runtime.http)
            self._outbox.client = self._sink_client
            if self._poller_running is not None:
                self._poller_running.client = self._feed_client
            self._old_clients.extend(old)
            closer = asyncio.create_task(self._close_later(old, deadline + 5))
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)
        self._outbox.sinks_changed(
            [
                name
                for name, sink in runtime.sinks.items()
                if name in old_sinks and _sending(old_sinks[name]) != _sending(sink)
            ]
        )

    async def _close_later(self, clients: list[httpx.AsyncClient], delay: float) -> None:
        await asyncio.sleep(delay)
        for client in clients:
            await client.aclose()
            self._old_clients.remove(client)

    def _poller(self) -> Poller:
        assert self._feed_client is not None and self._analyser is not None, "use `async with`"
        assert self._outbox is not None
        return Poller(
            self.runtime,
            self._feed_client,
            self._analyser,
            owner=self.owner,
            stopping=self.stopping,
            on_queued=self._outbox.wake,
        )

    async def poll_all(self) -> list[PollOutcome]:
        """``monitor once``: poll every enabled source not held back by back-off, once."""
        poller = self._once_poller = self._poller()
        poller.keep_outcomes = True
        await poller.run(once_since=self.runtime.clock())
        return poller.outcomes

    async def once(self) -> tuple[list[PollOutcome], list[DeliveryOutcome]]:
        """``monitor once``'s work: `poll_all`, then `deliver`. Once a stop is asked for, the
        work in hand gets `STOP_GRACE_SECONDS` (as in ``run``), then is cancelled; what was
        done by then is returned."""

        async def work() -> None:
            await self.poll_all()
            await self.deliver()

        task = asyncio.create_task(work())
        stop = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait([task, stop], return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait([task], timeout=STOP_GRACE_SECONDS)
            if not task.done():
                log.warning(
                    "stopping: the polls and sends in hand did not finish within %d s; they "
                    "are abandoned (an alert whose send was cut short is sent again with the "
                    "same webhook-id by the next run)",
                    STOP_GRACE_SECONDS,
                    extra=log_fields(instance=self.owner),
                )
            else:
                task.result()  # raises what the work raised
        finally:
            stop.cancel()
            if not task.done():  # the grace ran out, or this coroutine was cancelled
                task.cancel()
                await asyncio.wait([task])
        polls = self._once_poller.outcomes if self._once_poller is not None else []
        sent = list(self._outbox.sent) if self._outbox is not None else []
        return polls, sent

    def expired_ids(self) -> set[int]:
        """The sources `monitor once` let go because their lease ran out while they waited."""
        return set(self._once_poller.expired_ids) if self._once_poller is not None else set()

    async def deliver(self) -> list[DeliveryOutcome]:
        """One delivery pass over every sink."""
        assert self._outbox is not None, "use `async with Service(...)`"
        return await self._outbox.deliver_pending()

    async def ready(self) -> bool:
        """Readiness: the database answers within `READY_TIMEOUT_SECONDS` (a locked SQLite
        file made the probe wait out the 30 s busy timeout), and the poller can claim due
        sources (a full disk still answers reads but refuses every write)."""
        poller = self._poller_running
        if poller is not None and poller.claims_failing:
            return False
        waited = self.runtime.store.database.longest_wait()
        if waited >= STUCK_AFTER_SECONDS:
            log.warning(
                "readiness check failed: a database transaction has not ended in %.0f s", waited
            )
            return False
        try:
            await asyncio.wait_for(self.runtime.store.aping(), READY_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning(
                "readiness check failed: the database did not answer within %g s",
                READY_TIMEOUT_SECONDS,
            )
            return False
        except Exception as error:  # noqa: BLE001 - any failure is "not ready"
            log.warning("readiness check failed: %s", self.runtime.store.outage_text(error))
            return False
        return True

    async def prune(self) -> Pruned:
        """Retention: delete articles older than ``retention``, and forget the entries that
        were not seen in their feed for as long (docs/operations.md, "Never sent twice");
        with or without ``retention``, delete the story band rows older than twice the story
        window (docs/stories.md)."""
        retention = self.runtime.settings.retention
        now = self.runtime.clock()
        if retention is None:
            # Articles are kept, but the story band index only needs the window's articles.
            bands = await self.runtime.store.prune_story_bands(now)
            if bands:
                log.info(
                    "retention: deleted %d story band rows",
                    bands,
                    extra=log_fields(job="prune", instance=self.owner),
                )
            return Pruned(bands=bands)
        cutoff = now - retention
        work = asyncio.ensure_future(
            self.runtime.store.prune(cutoff, now=now, refresh=sighting_refresh(retention))
        )
        try:
            pruned = await asyncio.shield(work)
        except asyncio.CancelledError:
            # The service stops: the deletion goes on in its database thread, which cannot
            # be stopped, and commits. Wait for it, so that what it did is said (an outside
            # probe saw 200,000 articles deleted without a word, and a traceback).
            pruned = await work
            self._log_pruned(pruned, cutoff)
            raise
        self._log_pruned(pruned, cutoff)
        return pruned

    def _log_pruned(self, pruned: Pruned, cutoff: datetime) -> None:
        if pruned != Pruned():
            log.info(
                "retention: deleted %d articles fetched before %s; forgot %d keys and %d "
                "stories not seen since (the deleted articles' story band rows with them); "
                "%d more story band rows past twice the story window",
                pruned.articles,
                cutoff,
                pruned.keys,
                pruned.stories,
                pruned.bands,
                extra=log_fields(job="prune", instance=self.owner),
            )

    def _job(
        self, work: Callable[[], Awaitable[object]], name: str
    ) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self.stopping.is_set():
                return
            try:
                await work()
            except asyncio.CancelledError:
                if not self.stopping.is_set():
                    raise
                # Ended with the service (its database work done: `prune`), not a failure:
                # APScheduler logged it as an ERROR with a traceback.
                log.debug("periodic job %s ended with the service", name)
            except Exception as error:
                if is_outage(error):  # one line each time, not a traceback every 30 s
                    log.warning(
                        "periodic job %s could not use the database (%s); it will run again",
                        name,
                        self.runtime.store.outage_text(error),
                        extra=log_fields(job=name, instance=self.owner),
                    )
                else:
                    log.exception(
                        "periodic job failed; it will run again",
                        extra=log_fields(job=name, instance=self.owner),
                    )

        return run

    async def run_forever(self, *, ready: Callable[[], None] | None = None) -> None:
        """Run until SIGTERM/SIGINT (or ``stopping`` is set), then stop cleanly."""
        loop = asyncio.get_running_loop()
        with on_signals(self.request_stop, signal.SIGTERM, signal.SIGINT):
            assert self._outbox is not None, "use `async with Service(...)`"
            from apscheduler.schedulers.asyncio import AsyncIOScheduler  # only `run` needs it

            scheduler = AsyncIOScheduler(event_loop=loop)
            # APScheduler is only a timer for periodic jobs; polling and delivery run on their own.
            scheduler.add_job(
                self._job(self.prune, "prune"),
                "interval",
                seconds=PRUNE_EVERY.total_seconds(),
                next_run_time=self.runtime.clock() + timedelta(minutes=1),
                id="prune",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
            scheduler.add_job(
                self._job(self.heartbeat, "heartbeat"),
                "interval",
                seconds=HEARTBEAT.total_seconds(),
                id="heartbeat",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
            scheduler.start()
            self._poller_running = self._poller()
            # The gauges from the start, not after 30 s.
            await self._job(self.refresh_health, "health")()
            tasks = [
                asyncio.create_task(self._poller_running.run(), name="poller"),
                asyncio.create_task(self._outbox.run(), name="outbox"),
                asyncio.create_task(self._reloader(), name="reloader"),
                asyncio.create_task(self._watch_database(), name="database watch"),
            ]
            if self.runtime.store.is_postgresql:
                from monitor.db.notify import listen_for_deliveries  # imports psycopg

                tasks.append(
                    asyncio.create_task(
                        listen_for_deliveries(
                            self.runtime.store.url, self._outbox.wake, self.stopping
                        ),
                        name="listener",
                    )
                )
            log.info("monitor running as %s", self.owner, extra=log_fields(instance=self.owner))
            if ready is not None:
                ready()
            try:
                await self._until_stopped(tasks)
            finally:
                scheduler.shutdown(wait=False)
        log.info("monitor stopped", extra=log_fields(instance=self.owner))

    async def _watch_database(self) -> None:
        """Say when a database transaction has been in progress `STUCK_AFTER_SECONDS` (once),
        and when it ends; /metrics shows the wait (``monitor_database_wait_seconds``). Uses
        no database itself: it must speak while every database call waits."""
        database = self.runtime.store.database
        metrics.database_wait.set_function(database.longest_wait)
        stuck_since: float | None = None
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), WATCH_EVERY_SECONDS)
            waited = database.longest_wait()
            if stuck_since is None and waited >= STUCK_AFTER_SECONDS:
                stuck_since = time.monotonic() - waited
                log.error(
                    "a database transaction has not ended in %.0f s: the database, or the "
                    "network to it, does not answer (or a lock holds it); polling and "
                    "delivery wait, and /readyz answers 503 until it ends",
                    waited,
                    extra=log_fields(instance=self.owner),
                )
            elif stuck_since is not None and waited < STUCK_AFTER_SECONDS:
                log.warning(
                    "the database answers again (a transaction had waited %.0f s)",
                    time.monotonic() - stuck_since,
                    extra=log_fields(instance=self.owner),
                )
                stuck_since = None

    async def _until_stopped(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for ``stopping``; then let the polls and sends in hand finish, and cancel what
        is left after a grace period, or at once on a second signal (``stop_now``):
        transactions roll back, leases expire."""
        stop = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stop and task.exception() is not None:
                log.error(
                    "%s stopped unexpectedly",
                    task.get_name(),
                    exc_info=task.exception(),
                    extra=log_fields(instance=self.owner),
                )
                error = task.exception()
                self.crashed = f"{task.get_name()} stopped unexpectedly ({error!r:.200})"
        self.stopping.set()
        finished = asyncio.ensure_future(asyncio.wait(tasks))  # waits; cancels nothing
        now = asyncio.create_task(self.stop_now.wait())
        await asyncio.wait(
            [finished, now], timeout=STOP_GRACE_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        finished.cancel()
        now.cancel()
        if not self.stop_now.is_set() and (left := [t.get_name() for t in tasks if not t.done()]):
            # Said, as `once` says it: a long silent stop looked like a hang (an outside probe).
            log.warning(
                "stopping: %s did not finish the work in hand within %d s; it is abandoned "
                "(transactions roll back, leases expire; an alert whose send was cut short is "
                "sent again with the same webhook-id by the next run)",
                ", ".join(left),
                STOP_GRACE_SECONDS,
                extra=log_fields(instance=self.owner),
            )
        # A cancelled task may await again while it unwinds (a poller releasing its queued
        # sources): on a database that does not answer, that wait never ends, so each round
        # of cancelling is bounded and repeated (a cancel ends the wait in hand).
        for _ in range(CANCEL_ROUNDS):
            pending = [task for task in tasks if not task.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=CANCEL_WAIT_SECONDS)
        else:
            if left := [task.get_name() for task in tasks if not task.done()]:
                log.warning(
                    "%s did not end when cancelled (a database call that does not answer?): "
                    "stopping without %s",
                    ", ".join(left),
                    "them" if len(left) > 1 else "it",
                    extra=log_fields(instance=self.owner),
                )
        await stop

    def request_stop(self, sig: signal.Signals) -> None:
        if self.stopping.is_set():
            log.warning(
                "received %s again: stopping at once; the polls and sends in hand are "
                "abandoned (transactions roll back, leases expire; an alert whose send was "
                "cut short is sent again, with the same webhook-id, by the next run)",
                sig.name,
                extra=log_fields(signal=sig.name, instance=self.owner),
            )
            self.stop_now.set()
            return
        log.info(
            "received %s: finishing the work in hand, then stopping",
            sig.name,
            extra=log_fields(signal=sig.name, instance=self.owner),
        )
        self.stopping.set()


# The handlers of the `on_signals` blocks in force, innermost last, per loop and signal.
_SIGNAL_HANDLERS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[signal.Signals, list[Callable[[signal.Signals], None]]]
] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def on_signals(handler: Callable[[signal.Signals], None], *sigs: signal.Signals) -> Iterator[None]:
    """While the block runs, each of ``sigs`` calls ``handler(sig)`` on the event loop
    (nothing is installed outside the main thread, where a loop cannot take signals). Blocks
    nest: leaving one puts back the handler of the block around it, so that `monitor run`
    still takes a signal while it closes after `run_forever` (an outside probe: coreutils'
    `timeout` signals the process, then its group, and the second SIGTERM, landing between
    the two, killed the service before it recorded its stop)."""
    loop = asyncio.get_running_loop()
    stacks = _SIGNAL_HANDLERS.setdefault(loop, {})
    installed = []
    for sig in sigs:
        try:
            loop.add_signal_handler(sig, handler, sig)
        except (NotImplementedError, RuntimeError):  # not the main thread
            continue
        stacks.setdefault(sig, []).append(handler)
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            stack = stacks[sig]
            stack.pop()
            if stack:
                loop.add_signal_handler(sig, stack[-1], sig)
            else:
                loop.remove_signal_handler(sig)


def reload_on_sighup(service: Service) -> contextlib.AbstractContextManager[None]:
    """SIGHUP asks ``service`` to reload its config while the block runs (installed before
    the service can be found, so that `monitor reload` never kills a starting service)."""
    return on_signals(lambda _sig: service.request_reload(), signal.SIGHUP)


async def run_service(
    runtime: Runtime,
    *,
    ready: Callable[[], None] | None = None,
    stopped: Callable[[Service], None] | None = None,
) -> None:
    """``monitor run``: lock (SQLite), sync sources, run until stopped; SIGHUP reloads.
    ``stopped`` is called once the service has stopped, before it closes its resources."""
    service = Service(runtime)
    # SIGTERM and SIGINT stop the service from its start to its recorded stop (a second one
    # while it closes stops what is left at once); `run_forever` takes them while it runs.
    stop_signals = on_signals(service.request_stop, signal.SIGTERM, signal.SIGINT)
    with stop_signals, reload_on_sighup(service), runtime.store.instance_lock():
        service.sync_sources()
        log_loaded(runtime)
        service.register()
        metrics.config_generation.set(service.generation)
        metrics.config_reload_timestamp.set_to_current_time()
        try:
            async with service:
                try:
                    http = runtime.settings.http
                    if http is None:
                        await service.run_forever(ready=ready)
                    else:
                        async with serve_health(http.host, http.port, service.ready):
                            await service.run_forever(ready=ready)
                finally:
                    if stopped is not None:
                        stopped(service)
            if service.crashed is not None:
                # Not a clean stop: exit non-zero, so that a supervisor (systemd's
                # Restart=on-failure) starts the service again.
                raise ServiceFailed(f"the service stopped: {service.crashed}")
        finally:
            try:
                runtime.store.instance_stopped(service.owner, runtime.clock())
            except Exception as error:  # the database may be what failed; status sees it stale
                outage = is_outage(error)  # away or full: one line (probe89)
                log.warning(
                    "could not record the stop of %s%s",
                    service.owner,
                    f" ({runtime.store.outage_text(error)})" if outage else "",
                    exc_info=not outage,
                    extra=log_fields(instance=service.owner),
                )


def log_loaded(runtime: Runtime) -> None:
    """The start-up line of ``run`` and ``once``: what the config loaded."""
    specs = runtime.specs()
    enabled = sum(spec.enabled for spec in specs)
    log.info(
        "loaded %s (%d enabled), %s and %s",
        plural(len(specs), "source"),
        enabled,
        plural(len(runtime.watchlists), "watchlist"),
        plural(len(runtime.sinks), "enabled sink"),
        extra=log_fields(
            source_count=len(specs),
            enabled_source_count=enabled,
            watchlist_count=len(runtime.watchlists),
            sink_count=len(runtime.sinks),
        ),
    )


# Why `monitor once` left an enabled source alone.
SKIPPED_BACKOFF = "error_backoff"  # it failed and waits out its back-off
SKIPPED_RETRY_AFTER = "retry_after"  # it failed and its server asked to wait longer
SKIPPED_BUSY = "busy"  # another instance holds it or polled it (PostgreSQL)
SKIPPED_GONE = "gone"  # it answered 410 Gone: not polled until its config entry changes
SKIPPED_STOPPED = "stopped"  # SIGTERM or SIGINT stopped the run before it was polled
# Its lease ran out while it waited for its host's places (a slow publisher, poll.per_host).
SKIPPED_LEASE_EXPIRED = "lease_expired"


@dataclass(frozen=True)
class SkippedSource:
    """An enabled source that ``monitor once`` did not poll, why, and until when."""

    source: str
    url: str  # redacted
    why: str  # SKIPPED_BACKOFF, SKIPPED_RETRY_AFTER, SKIPPED_BUSY, SKIPPED_GONE, SKIPPED_STOPPED
    until: datetime | None
    failures: int
    last_error_reason: str | None


@dataclass(frozen=True)
class OnceReport:
    """Everything ``monitor once`` did and left, for its summary and exit code.

    ``pending``/``next_attempt_at``: alerts still waiting for a (re)try after the delivery
    pass, whenever they were queued (``waiting`` of them are follow-ups that wait for their
    original alert, pending or dead, rather than for a try; ``held`` are kept for a sink
    that is not configured or is disabled, and are not retried until it is back;
    ``sending_elsewhere`` are being sent by another instance now, under its lease);
    ``delivered_elsewhere``: alerts other instances delivered while this run went;
    ``dead_before``: alerts dead-lettered by earlier runs.
    """

    polls: list[PollOutcome]
    skipped: list[SkippedSource]
    disabled: int
    deliveries: list[DeliveryOutcome]
    pending: int
    next_attempt_at: datetime | None
    dead_before: int
    stopped_by: signal.Signals | None = None
    """The signal that stopped the run early (SIGTERM, SIGINT), if one did."""
    waiting: int = 0
    held: int = 0
    sending_elsewhere: int = 0
    delivered_elsewhere: int = 0
    finished_at: datetime | None = None
    """When the run's counts were read: a ``next_attempt_at`` before it fell due meanwhile."""
    database_lost: str | None = None
    """What happened to the SQLite file when it was deleted or replaced during the run (what
    the run wrote is lost with it: the counts are the lost file's)."""

    @property
    def failed_sources(self) -> int:
        """Sources that failed now, or wait out a back-off after failing before."""
        failed = sum(poll.status == "error" for poll in self.polls)
        return failed + sum(s.why != SKIPPED_BUSY for s in self.skipped)

    @property
    def retrying(self) -> int:
        """Pending alerts that wait for a (re)try of this service's own."""
        return self.pending - self.waiting - self.held - self.sending_elsewhere

    @property
    def undelivered(self) -> int:
        """Alerts not delivered: still pending (but for those another instance is sending
        now), or dead-lettered by this run."""
        pending = self.pending - self.sending_elsewhere
        return pending + sum(d.status == "dead" for d in self.deliveries)


def skipped_sources(
    runtime: Runtime,
    unpolled: list[SourceRow],
    *,
    started: datetime,
    stopped: bool = False,
    expired: Collection[int] = (),
) -> list[SkippedSource]:
    """Why each of ``unpolled`` (the enabled sources ``once`` did not poll:
    `Store.aunpolled_sources`) was skipped; ``stopped``: a signal ended the run early;
    ``expired``: the ids let go by this run because their lease ran out while they waited.

    A failed source's next poll is its back-off (``backoff_delay`` with jitter) or, when
    longer, the server's Retry-After: a wait longer than the back-off can be is Retry-After.
    """
    now = runtime.clock()
    skipped = []
    for row in unpolled:
        why, until = SKIPPED_BUSY, None
        if row.gone_at is not None:
            why = SKIPPED_GONE
        elif row.consecutive_failures and row.next_poll_at > now:
            until = row.next_poll_at
            why = SKIPPED_BACKOFF
            if row.last_polled_at is not None:
                most = backoff_delay(runtime, row.base_interval, row.consecutive_failures)
                longest = most * (1 + BACKOFF_JITTER) + timedelta(seconds=1)
                if row.next_poll_at - row.last_polled_at > longest:
                    why = SKIPPED_RETRY_AFTER
        elif stopped and (row.last_polled_at is None or row.last_polled_at < started):
            why = SKIPPED_STOPPED
        elif row.id in expired:
            why = SKIPPED_LEASE_EXPIRED
        skipped.append(
            SkippedSource(
                source=redact_text(row.name, row.url),
                url=redact_url(row.url),
                why=why,
                until=until,
                failures=row.consecutive_failures,
                last_error_reason=row.last_error_reason,
            )
        )
    return skipped


async def run_once_report(runtime: Runtime) -> OnceReport:
    """``monitor once``: poll every enabled source now (except those held back by back-off),
    then one delivery pass; report every source and every alert. SIGTERM or SIGINT stops it
    as it stops ``run``: the polls and sends in hand finish, nothing more starts; a second
    signal stops it at once."""
    with runtime.store.instance_lock():
        service = Service(runtime)
        service.sync_sources()
        log_loaded(runtime)
        dead_before = (await runtime.store.acount_deliveries()).get("dead", 0)
        started = runtime.clock()
        async with service:
            with stop_on_signals(service) as stopped:
                polls, sent = await service.once()
            database_lost = service.database_file_problem()
        polled = {poll.source_id for poll in polls if poll.source_id is not None}
        unpolled, disabled = await runtime.store.aunpolled_sources(started, polled)
        counts = await runtime.store.acount_deliveries()
        pending = counts.get("pending", 0)
        configured = list(runtime.sinks)
        next_at = await runtime.store.next_attempt_at(within=configured) if pending else None
        waiting = await runtime.store.acount_waiting() if pending else 0
        held = await runtime.store.acount_held(configured) if pending else 0
        store = runtime.store
        elsewhere = (
            await store.acount_sending_elsewhere(service.owner, runtime.clock(), configured)
            if pending
            else 0
        )
        # What another instance (`monitor run` on the same PostgreSQL database) delivered
        # while this run went: the alerts this run queued may be among them.
        mine = sum(d.status == "delivered" for d in sent)
        by_others = max(0, await store.acount_delivered_since(started) - mine)
    return OnceReport(
        polls=polls,
        skipped=skipped_sources(
            runtime,
            unpolled,
            started=started,
            stopped=bool(stopped),
            expired=service.expired_ids(),
        ),
        disabled=disabled,
        deliveries=sent,
        pending=counts.get("pending", 0),
        next_attempt_at=next_at,
        finished_at=runtime.clock(),
        dead_before=dead_before,
        stopped_by=stopped[0] if stopped else None,
        database_lost=database_lost,
        waiting=waiting,
        held=held,
        sending_elsewhere=elsewhere,
        delivered_elsewhere=by_others,
    )


class StoppedAtOnce(KeyboardInterrupt):
    """A second SIGTERM or SIGINT: stop now (the command exits 128 + the signal's number)."""

    def __init__(self, sig: signal.Signals) -> None:
        super().__init__(sig.name)
        self.signal = sig


@contextlib.contextmanager
def stop_on_signals(service: Service) -> Iterator[list[signal.Signals]]:
    """While the block runs, the first SIGTERM, SIGINT or SIGHUP asks ``service`` to stop
    (the work in hand finishes) and is added to the list yielded; a second one raises
    KeyboardInterrupt (the work in hand is abandoned: transactions roll back, leases
    expire, an alert whose send was cut short is sent again with the same webhook-id)."""
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        if received:
            raise StoppedAtOnce(sig)
        received.append(sig)
        service.request_stop(sig)

    sigs = [signal.SIGTERM, signal.SIGINT]
    # A closed terminal's SIGHUP stops it as SIGTERM does (it killed it outright: a send in
    # flight was sent again, an outside probe); not under `nohup`, which ignores SIGHUP.
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        sigs.append(signal.SIGHUP)
    with on_signals(on_signal, *sigs):
        yield received


async def run_once(runtime: Runtime) -> tuple[list[PollOutcome], list[DeliveryOutcome]]:
    """``monitor once`` for callers that want only the polls and the delivery outcomes."""
    report = await run_once_report(runtime)
    return report.polls, report.deliveries


def _sending(sink: SinkConfig) -> tuple[object, ...]:
    """What decides whether a send to ``sink`` succeeds (a change makes its retries due)."""
    return (sink.url, sink.secret, sink.format, sink.signing, sink.timeout)


def _named_parts(runtime: Runtime) -> dict[str, dict[str, object]]:
    """The config's sources, sinks and watchlists by name, as `config_changes` compares them."""
    return {
        "sources": {spec.name: spec for spec in runtime.specs()},
        "sinks": dict(runtime.sinks),
        "watchlists": {watchlist.name: watchlist for watchlist in runtime.watchlists},
    }
