"""One feed's trip: fetch -> parse and match (in a worker process) -> keep new entries (neither
their key nor their story seen before) -> store articles, matches and pending deliveries in ONE
transaction with the source's new state. A poll that stores nothing only hands its source's
new state (and its sightings) to the caller, which batches them."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from monitor.analysis import AnalysedFeed, Analyser
from monitor.db.articles import (
    ENTRY_KEY_LENGTH,
    FUTURE_TOLERANCE,
    ArticleRecord,
    hashed_key,
    revision_key,
)
from monitor.db.problems import is_outage
from monitor.db.seen import SeenEntry
from monitor.db.sources import PollRecord, SourceRow
from monitor.db.status import OURS_REASONS
from monitor.errors import FetchError, MonitorError
from monitor.fetch import MAX_RETRY_AFTER, FetchResult, fetch_feed
from monitor.logs import log_fields
from monitor.match import WatchlistMatch
from monitor.match.limits import (
    MAX_DETAIL_BYTES,
    MAX_FIELD_CHARS,
    MAX_FIELD_HITS,
    MAX_FIELD_HTML_CHARS,
    MIN_DETAIL_BYTES,
)
from monitor.parse import FeedEntry, ParsedFeed
from monitor.plural import plural
from monitor.redact import redact_text, redact_url, suggested_url
from monitor.runtime import Runtime
from monitor.schedule import (
    BACKOFF,
    GONE,
    Bounds,
    plan,
    seed_rate,
    update_rate,
    with_jitter,
)
from monitor.stories import Signature

log = logging.getLogger(__name__)

# A known entry still in its feed has its last sighting re-dated at most this often (a
# quarter of a shorter retention), so retention never forgets an entry its feed still shows.
SIGHTING_REFRESH = timedelta(days=1)


@dataclass(frozen=True, slots=True)  # `monitor once` keeps one per source
class PollOutcome:
    """What one poll of one source did, for logs, metrics and the CLI (``url`` redacted)."""

    source: str
    url: str
    status: str  # "ok", "not_modified" or "error"
    entries: int = 0
    new_articles: int = 0
    repeats: int = 0  # entries with a new key telling a story already seen: not stored
    # Entries under a known key whose text or link changed, taken for edits of the stored
    # articles (not stored, not alerted again; docs/operations.md says when that is wrong).
    edits: int = 0
    matches: int = 0
    deliveries: int = 0
    # New matching articles that alerted no sink, and why: held back by `first_run`,
    # `alert_max_age` or `alert_max_per_poll` (`held_reasons`), or matching only watchlists
    # no enabled sink takes.
    held_first_run: int = 0
    held_too_old: int = 0
    held_over_cap: int = 0
    held_over_hour: int = 0  # `alert_max_per_hour`
    unrouted: int = 0
    told_before: int = 0  # joined a story its sinks had been told of (their `stories` policy)
    error: str | None = None
    reason: str | None = None
    source_id: int | None = None

    def edits_note(self) -> str:
        """ ", 2 edits of stored articles (...)" when the poll took entries for edits."""
        return f", {edits_note(self.edits)}" if self.edits else ""

    def not_alerted(self) -> list[str]:
        """Why new matching articles of this poll alerted nobody, when a rule says so."""
        why = []
        if self.held_first_run:
            why.append(f"{self.held_first_run} on a first poll (first_run)")
        if self.held_too_old:
            why.append(f"{self.held_too_old} older than alert_max_age")
        if self.held_over_cap:
            why.append(f"{self.held_over_cap} over alert_max_per_poll (the oldest)")
        if self.held_over_hour:
            why.append(f"{self.held_over_hour} over alert_max_per_hour (the oldest)")
        if self.unrouted:
            why.append(f"{self.unrouted} in watchlists no enabled sink takes")
        if self.told_before:
            why.append(
                f"{self.told_before} of a story its sinks were told of already "
                "(their `stories` policy; `monitor stories`)"
            )
        return why


def source_log_fields(source: SourceRow, **more: object) -> dict[str, object]:
    """``extra=`` for a log line about ``source``: its name, id and redacted URL."""
    return log_fields(
        source=redact_text(source.name, source.url),
        source_id=source.id,
        url=redact_url(source.url),
        **more,
    )


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def entry_key(entry: FeedEntry) -> str:
    """The stored key: the entry's own key, hashed when too long for the column."""
    if len(entry.key) <= ENTRY_KEY_LENGTH:
        return entry.key
    return hashed_key(entry.key)


def sighting_refresh(retention: timedelta | None) -> timedelta:
    """How old a known entry's last sighting may be before a poll re-dates it."""
    return SIGHTING_REFRESH if retention is None else min(SIGHTING_REFRESH, retention / 4)


@dataclass(frozen=True)
class Triage:
    """A feed's entries sorted against what its source has shown before."""

    new: list[tuple[FeedEntry, tuple[WatchlistMatch, ...]]]
    sightings: tuple[SeenEntry, ...] = ()  # aliases, and known keys to re-date
    repeats: int = 0  # aliases: new keys of known stories
    edits: int = 0  # known keys whose text or link changed, taken for edits: not stored
    shown_keys: tuple[str, ...] = ()  # every key of the feed, when there are aliases


def next_poll(
    step: timedelta,
    planned: datetime,
    now: datetime,
    retry_after: float | None,
    spread: float = 0.0,
) -> datetime:
    """The next poll after a success: one interval (``step``, moved by ``spread`` -1..1 times
    the jitter) after the *planned* time (so a slow fetch does not stretch the interval), the
    next free slot when polling fell behind, and never sooner than a server's Retry-After. A
    poll before its planned time (`monitor once` beside a running service) keeps the grid:
    the planned time, or one interval after it when that is less than half an interval
    away. Counted from the poll, every source a `once` reached in one burst was due in the
    same seconds of every interval after it (an outside probe: 950 requests in 15 s, then
    45 s of nothing, every minute)."""
    step = with_jitter(step, spread)
    if planned > now:
        upcoming = planned if planned - now >= step / 2 else planned + step
    else:
        missed = (now - planned) // step if step > timedelta(0) else 0
        upcoming = planned + step * (missed + 1)
    if retry_after:
        upcoming = max(upcoming, now + min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return upcoming


BACKOFF_JITTER = 0.1  # a back-off delay is spread by up to this fraction either way


def backoff_delay(runtime: Runtime, interval: timedelta, failures: int) -> timedelta:
    """The back-off after ``failures`` failures in a row, before jitter: interval x 2^(n-1),
    capped at ``poll.max_interval``."""
    poll = runtime.settings.poll
    base = max(poll.min_interval, min(interval, poll.max_interval))
    delay: timedelta = min(base * (2 ** min(failures - 1, 10)), poll.max_interval)
    return delay


def backoff(
    runtime: Runtime, source: SourceRow, now: datetime, retry_after: float | None
) -> datetime:
    """The next poll after a failure: exponential back-off with jitter, capped at max_interval,
    never sooner than a server's Retry-After."""
    delay = backoff_delay(runtime, source.base_interval, source.consecutive_failures + 1)
    delay = delay * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random.random())  # spread retries
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return now + delay


# A poll that failed because the database did (`failure`: no failure of the feed's).
DATABASE_ERROR = "database_error"

# Why a new entry does not alert (`held_back`), as `monitor once` names it.
HELD_TOO_OLD = "alert_max_age"
HELD_FIRST_RUN = "first_run"
HELD_OVER_CAP = "alert_max_per_poll"
HELD_OVER_HOUR = "alert_max_per_hour"
# Why a poll stored only some of its new entries (`store_max_per_day`).
OVER_STORE_MAX = "store_max_per_day"


def too_old(dated: datetime | None, now: datetime, max_age: timedelta | None) -> bool:
    """Whether an entry dated ``dated`` is older than ``max_age`` (`alert_max_age`): new to
    us, it is not news (an undated one cannot be told, and is news)."""
    return max_age is not None and dated is not None and now - dated > max_age


def held_back(
    source: SourceRow, entry: FeedEntry, now: datetime, max_age: timedelta | None = None
) -> str | None:
    """Why ``entry``, new to us, alerts no sink, or None when it alerts.

    First poll of a source stores its backlog; whether it alerts is the source's policy
    (`HELD_FIRST_RUN`). An entry dated more than ``max_age`` (`alert_max_age`) ago never
    alerts: new to us, it is not news (`HELD_TOO_OLD`; an undated one cannot be told, and
    alerts)."""
    dated = entry.published or entry.updated
    if too_old(dated, now, max_age):
        return HELD_TOO_OLD
    if source.first_polled_at is None and first_run_holds(
        source.first_run, source.first_run_window, dated, now
    ):
        return HELD_FIRST_RUN
    return None


def first_run_holds(
    first_run: str, window: timedelta, dated: datetime | None, now: datetime
) -> bool:
    """Whether a source's first poll (at ``now``) holds back an entry dated ``dated``:
    ``store_only`` always, ``alert_recent`` unless it is dated within ``window`` before
    ``now``, ``alert_all`` never."""
    if first_run == "alert_all":
        return False
    recent = dated is not None and -FUTURE_TOLERANCE <= now - dated <= window
    return not (first_run == "alert_recent" and recent)


def _oldest_first(item: tuple[FeedEntry, tuple[WatchlistMatch, ...]]) -> tuple[bool, float]:
    published = item[0].published or item[0].updated
    return (published is None, published.timestamp() if published is not None else 0.0)


def text_bytes(entry: FeedEntry) -> int:
    """Bytes of an entry's stored text (title, summary, content in UTF-8)."""
    return sum(
        len(text.encode("utf-8", "replace")) for text in (entry.title, entry.summary, entry.content)
    )


def detail_bytes(matches: Sequence[WatchlistMatch]) -> int:
    """Bytes of the match details stored with an entry (their JSON, as the database keeps
    it): `store_max_per_day` counts them with the text."""
    return sum(len(json.dumps(match.to_json())) for match in matches)


def _most_bytes(entry: FeedEntry, matches: Sequence[WatchlistMatch]) -> int:
    """At least what `text_bytes` and `detail_bytes` say of an entry, without encoding:
    UTF-8 takes at most 4 bytes a character, and a match's detail at most the matcher's
    bound for that much text (`monitor.match.limits`)."""
    chars = len(entry.title) + len(entry.summary) + len(entry.content)
    detail = min(MAX_DETAIL_BYTES, max(MIN_DETAIL_BYTES, 2 * chars)) if matches else 0
    return 4 * chars + len(matches) * detail


async def within_storage_budget(
    runtime: Runtime,
    source: SourceRow,
    entries: list[tuple[FeedEntry, tuple[WatchlistMatch, ...]]],
    now: datetime,
) -> list[tuple[FeedEntry, tuple[WatchlistMatch, ...]]]:
    """The new ``entries`` that `store_max_per_day` leaves room for: all, or the newest that
    fit beside what the source stored in the past 24 hours. The database is read only for a
    poll bringing more than one poll's share of the budget (a poll every `poll.min_interval`,
    at most a minute): the smaller ones add up to about one budget a day at most."""
    budget = runtime.settings.store_max_per_day
    assert budget is not None
    first = source.first_polled_at is None  # nothing of it is stored yet: no read
    often = min(runtime.settings.poll.min_interval, timedelta(minutes=1))
    unread = budget if first else budget * (often / timedelta(days=1))
    # What is stored of each: its text and its match details. Most polls are judged by a
    # bound, without encoding either.
    if sum(_most_bytes(entry, matches) for entry, matches in entries) <= unread:
        return entries
    sizes = [text_bytes(entry) + detail_bytes(matches) for entry, matches in entries]
    if sum(sizes) <= unread:
        return entries
    stored = (
        0 if first else await runtime.store.stored_bytes_since(source.id, now - timedelta(days=1))
    )
    room = budget - stored
    if sum(sizes) <= room:
        return entries
    order = sorted(range(len(entries)), key=lambda i: _oldest_first(entries[i]), reverse=True)
    kept: set[int] = set()
    for index in order:  # the newest first, while they fit
        if sizes[index] > room:
            break
        room -= sizes[index]
        kept.add(index)
    return [item for index, item in enumerate(entries) if index in kept]


def held_reasons(
    source: SourceRow,
    ordered: Sequence[tuple[FeedEntry, tuple[WatchlistMatch, ...]]],
    now: datetime,
    max_age: timedelta | None,
    max_per_poll: int | None,
    left_this_hour: int | None = None,
) -> list[str | None]:
    """Why each of ``ordered`` (new entries, oldest first) alerts no sink, None where it
    alerts: `held_back`, and beyond ``max_per_poll`` (`alert_max_per_poll`) matching entries
    that would alert, the oldest of them are held (`HELD_OVER_CAP`): a feed that suddenly
    republishes its archive under new ids sends its newest few, not thousands. Beyond
    ``left_this_hour`` (what `alert_max_per_hour` leaves the source), the oldest of the rest
    are held too (`HELD_OVER_HOUR`)."""
    reasons = [held_back(source, entry, now, max_age) for entry, _ in ordered]
    alerting = [i for i, (_, matches) in enumerate(ordered) if matches and reasons[i] is None]
    if max_per_poll is not None and len(alerting) > max_per_poll:
        for i in alerting[: len(alerting) - max_per_poll]:
            reasons[i] = HELD_OVER_CAP
        alerting = alerting[len(alerting) - max_per_poll :]
    if left_this_hour is not None and len(alerting) > left_this_hour:
        for i in alerting[: len(alerting) - max(0, left_this_hour)]:
            reasons[i] = HELD_OVER_HOUR
    return reasons


def records_for(
    runtime: Runtime,
    source: SourceRow,
    entries: Sequence[tuple[FeedEntry, tuple[WatchlistMatch, ...]]],
    now: datetime,
    left_this_hour: int | None = None,
) -> tuple[list[ArticleRecord], list[str | None]]:
    """The articles to store for new entries, with the sinks each watchlist match alerts,
    oldest first (stored, grouped into stories and alerted in that order): dated entries
    by date, then the undated ones in reverse document order (feeds list the newest first);
    and beside each, why it alerts no sink (`held_reasons`)."""
    ordered = sorted(reversed(entries), key=_oldest_first)
    settings = runtime.settings
    reasons = held_reasons(
        source, ordered, now, settings.alert_max_age, settings.alert_max_per_poll, left_this_hour
    )
    records = []
    for (entry, matches), reason in zip(ordered, reasons, strict=True):
        records.append(
            ArticleRecord(
                entry_key=entry_key(entry),
                canonical_url=entry.url,
                title=entry.title,
                summary=entry.summary,
                content=entry.content,
                published_at=entry.published or entry.updated,
                content_hash=entry.content_hash,
                fingerprint=entry.fingerprint,
                other_fingerprints=entry.fingerprints[1:],
                edit_fingerprint=entry.edit_fingerprint,
                matches=matches,
                alert_sinks=(
                    {m.watchlist: runtime.routes.get(m.watchlist, ()) for m in matches}
                    if reason is None
                    else {}
                ),
            )
        )
    return records, reasons


def with_stories(
    records: list[ArticleRecord], feed: ParsedFeed, analysed: AnalysedFeed
) -> list[ArticleRecord]:
    """The records with the story signatures the worker made for their entries (the first
    entry of a key, as `_triage` keeps); a record without one gets it when stored."""
    made: dict[str, Signature] = {}
    for entry, story in zip(feed.entries, analysed.stories, strict=False):
        made.setdefault(entry_key(entry), story)
    return [replace(r, story=made.get(r.entry_key)) for r in records]


RecordPoll = Callable[[PollRecord], None]


class PollAbandoned(Exception):  # noqa: N818 - what happened, not an error of the feed's
    """The poll's feed was still being fetched when a stop abandoned it (`Fetches`): nothing
    of the poll was kept."""


class Fetches:
    """The polls fetching their feed now, so that a stop can abandon them: before its feed
    has arrived a poll has stored nothing, and its source is polled again later."""

    def __init__(self) -> None:
        self._fetching: set[asyncio.Task[object]] = set()
        self._abandoned: set[asyncio.Task[object]] = set()

    @contextmanager
    def fetching(self) -> Iterator[None]:
        """Around a poll's fetch: the poll may be abandoned (`PollAbandoned`) meanwhile."""
        task = asyncio.current_task()
        assert task is not None
        self._fetching.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if task not in self._abandoned:
                raise  # stopped otherwise: the poll is cancelled, as any task
            task.uncancel()
            raise PollAbandoned from None
        finally:
            self._fetching.discard(task)
            self._abandoned.discard(task)  # also when the fetch ended before the cancel did

    def abandon(self) -> int:
        """Abandon every fetch in progress; how many there were."""
        for task in self._fetching:
            self._abandoned.add(task)
            task.cancel()
        return len(self._fetching)


async def poll_source(
    runtime: Runtime,
    client: httpx.AsyncClient,
    analyser: Analyser,
    source: SourceRow,
    record: RecordPoll,
    fetches: Fetches,
) -> PollOutcome:
    """Poll one leased source. New articles are stored here, in one transaction with the
    source's state; a poll that stores nothing (304, nothing new, a failure) hands the
    source's new state to ``record``, which writes it with others later. Never raises,
    whatever the feed does (a bug of ours is recorded on the source as ``internal_error``),
    but `PollAbandoned` when ``fetches`` abandons its fetch."""
    started = time.monotonic()
    try:
        return await _poll(runtime, client, analyser, source, record, started, fetches)
    except PollAbandoned:
        raise
    except Exception as error:  # noqa: BLE001 - one feed must never stop the others
        shown = redact_url(source.url)
        if is_outage(error):
            # The database failed (a full disk, a restart, a cut connection): one line that
            # says so, not a traceback per feed; nothing of this poll was stored, and the
            # feed is polled again (its articles are stored then).
            problem = f"the database failed: {runtime.store.outage_text(error)}"
            log.error(
                "polling %s: %s; it will be polled again",
                shown,
                problem,
                extra=source_log_fields(
                    source,
                    status="error",
                    reason=DATABASE_ERROR,
                    duration_ms=_elapsed_ms(started),
                ),
            )
            return failure(runtime, source, record, DATABASE_ERROR, problem, started=started)
        log.exception(
            "polling %s failed unexpectedly",
            shown,
            extra=source_log_fields(
                source, status="error", reason="internal_error", duration_ms=_elapsed_ms(started)
            ),
        )
        return failure(
            runtime, source, record, "internal_error", f"{shown}: {error!r}", started=started
        )


async def _poll(
    runtime: Runtime,
    client: httpx.AsyncClient,
    analyser: Analyser,
    source: SourceRow,
    record: RecordPoll,
    started: float,
    fetches: Fetches,
) -> PollOutcome:
    try:
        with fetches.fetching():
            fetched = await fetch_feed(
                client,
                source.poll_url,
                etag=source.etag,
                last_modified=source.last_modified,
                options=runtime.http,
            )
    except FetchError as error:
        return failure(
            runtime,
            source,
            record,
            error.reason,
            str(error),
            error.status,
            error.retry_after,
            started=started,
        )
    now = runtime.clock()
    shown = redact_url(source.url)
    success = PollRecord(
        source_id=source.id,
        polled_at=now,
        next_poll_at=now,  # `scheduled` sets it, once the new entries are counted
        ok=True,
        status=fetched.status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        final_url=shown if fetched.url == source.url else redact_url(fetched.url),
        moved_to=moved_to(source, fetched.moved_to),
    )
    if fetched.not_modified:
        record(scheduled(runtime, source, success, fetched, new_entries=0))
        if log.isEnabledFor(logging.DEBUG):  # its fields (two redactions) only when written
            log.debug(
                "polled %s: not modified",
                shown,
                extra=source_log_fields(
                    source, status="not_modified", duration_ms=_elapsed_ms(started)
                ),
            )
        return PollOutcome(source.name, shown, "not_modified", source_id=source.id)
    assert fetched.body is not None
    # The URL with its credentials: the parser resolves relative links against it without
    # them, and masks them where an entry repeats them (a private feed linking to itself).
    try:
        analysed = await analyser.analyse(fetched.body, fetched.url, fetched.content_type)
    except MonitorError as error:  # ParseError, WorkerDied, WorkersCannotStart
        reason = getattr(error, "reason", "parse_error")
        return failure(runtime, source, record, reason, str(error), fetched.status, started=started)
    feed = analysed.feed
    warnings = [f"feed is malformed but readable: {feed.bozo_reason}"] if feed.bozo else []
    if feed.note:  # a well-formed feed not read as written: said, but not called malformed
        warnings.append(feed.note)
    if warnings:
        success = _with(success, reason="bozo", error="; ".join(warnings))
    triage = await _triage(runtime, source, analysed, now)
    success = _with(
        success,
        entries_seen=len(feed.entries),
        sightings=triage.sightings,
        shown_keys=triage.shown_keys,
    )
    success = scheduled(runtime, source, success, fetched, new_entries=len(triage.new), feed=feed)
    fresh = triage.new
    if fresh and runtime.settings.store_max_per_day is not None:
        fresh = await within_storage_budget(runtime, source, fresh, now)
        if len(fresh) < len(triage.new):
            left = len(triage.new) - len(fresh)
            warning = (
                f"{plural(left, 'new entry', 'new entries')} not stored: this source stored "
                f"store_max_per_day ({runtime.settings.store_max_per_day:,} bytes of text "
                "and match details) "
                "in the past 24 hours; they are stored by a later poll if still in the feed"
            )
            success = _with(success, reason=OVER_STORE_MAX, error=warning)
            log.warning(
                "%s: %s",
                shown,
                warning,
                extra=source_log_fields(source, status="ok", reason=OVER_STORE_MAX),
            )
    if not fresh:
        record(success)
        log.log(
            logging.INFO if triage.edits else logging.DEBUG,
            "polled %s: %s, nothing new%s",
            shown,
            plural(len(feed.entries), "entry", "entries"),
            f" ({edits_note(triage.edits)})" if triage.edits else "",
            extra=source_log_fields(source, status="ok", duration_ms=_elapsed_ms(started)),
        )
        return PollOutcome(
            source.name,
            shown,
            "ok",
            entries=len(feed.entries),
            repeats=triage.repeats,
            edits=triage.edits,
            source_id=source.id,
        )
    records, reasons = records_for(runtime, source, fresh, now)
    hourly = runtime.settings.alert_max_per_hour
    alerting = sum(
        1 for r, reason in zip(records, reasons, strict=True) if r.matches and not reason
    )
    if hourly is not None and alerting:
        # Only a poll with alerts to send reads what the source alerted in the past hour (a
        # first poll that stores only, the common case of a cold start, reads nothing).
        alerted = await runtime.store.alerted_since(source.id, now - timedelta(hours=1))
        if alerted + alerting > hourly:
            records, reasons = records_for(runtime, source, fresh, now, max(0, hourly - alerted))
    records = with_stories(records, feed, analysed)
    counts = await runtime.store.store_feed(source.id, records, success, now, runtime.policies)
    held = [reason for record, reason in zip(records, reasons, strict=True) if record.matches]
    # Alerting, and no sink takes any of its watchlists.
    unrouted = sum(1 for r in records if r.alert_sinks and not any(r.alert_sinks.values()))
    outcome = PollOutcome(
        source.name,
        shown,
        "ok",
        entries=len(feed.entries),
        new_articles=counts.articles,
        repeats=triage.repeats,
        edits=triage.edits,
        matches=counts.matches,
        deliveries=counts.deliveries,
        held_first_run=held.count(HELD_FIRST_RUN),
        held_too_old=held.count(HELD_TOO_OLD),
        held_over_cap=held.count(HELD_OVER_CAP),
        held_over_hour=held.count(HELD_OVER_HOUR),
        unrouted=unrouted,
        told_before=counts.told_before,
        source_id=source.id,
    )
    # Why matches alerted nobody, as `monitor once` says it (an outside probe read "1 match,
    # 0 alerts queued" in the service's log with no reason).
    why = outcome.not_alerted()
    log.info(
        "polled %s: %s, %d new, %s%s, %s, %s queued%s",
        shown,
        plural(outcome.entries, "entry", "entries"),
        outcome.new_articles,
        # Entries of this feed shown before under another id (not stored): not the stories
        # that group articles across sources (`monitor stories`).
        plural(
            outcome.repeats,
            "entry seen before under a new id",
            "entries seen before under a new id",
        ),
        outcome.edits_note(),
        plural(outcome.matches, "match", "matches"),
        plural(outcome.deliveries, "alert"),
        f"; not alerted: {', '.join(why)}" if why else "",
        extra=source_log_fields(source, status="ok", duration_ms=_elapsed_ms(started)),
    )
    _warn_cut(analysed, [entry for entry, _ in fresh], shown, source)
    cap = runtime.settings.alert_max_per_poll
    if outcome.held_over_cap and cap is not None:
        log.warning(
            "%s: %s would have alerted in one poll; the %d oldest are stored without alerting "
            "(alert_max_per_poll: %d; `monitor replay --since 1d --deliver` sends them)",
            shown,
            plural(outcome.held_over_cap + cap, "new article"),
            outcome.held_over_cap,
            cap,
            extra=source_log_fields(source, status="ok", reason=HELD_OVER_CAP),
        )
    if outcome.held_over_hour and hourly is not None:
        log.warning(
            "%s: %s would have gone over alert_max_per_hour (%d alerts of this source in an "
            "hour); they are stored without alerting (`monitor replay --since 1d --deliver` "
            "sends them)",
            shown,
            plural(outcome.held_over_hour, "new article"),
            hourly,
            extra=source_log_fields(source, status="ok", reason=HELD_OVER_HOUR),
        )
    return outcome


def edits_note(count: int) -> str:
    """How a log line or `monitor once` names the entries taken for edits."""
    return plural(count, "edit", "edits") + " of stored articles (not stored, not alerted)"


def _warn_cut(
    analysed: AnalysedFeed, new: Sequence[FeedEntry], shown: str, source: SourceRow
) -> None:
    """Say which new entries were matched on their start only (`monitor.match.limits`): a
    watched name further on was not looked for, and no alert says so."""
    if not analysed.cut:
        return
    cut_keys = {entry_key(analysed.feed.entries[index]) for index in analysed.cut}
    cut = [entry for entry in new if entry_key(entry) in cut_keys]
    if not cut:
        return
    named = "; ".join(
        repr(entry.title or redact_url(entry.url or "") or entry.key)[:120] for entry in cut[:3]
    )
    log.warning(
        "%s: %s too long to match whole (%s): only the first %s characters of text, %s of "
        "HTML and %s name occurrences of each field were matched, and a watched name "
        "further on was not looked for",
        shown,
        plural(len(cut), "new entry", "new entries"),
        named + ("; ..." if len(cut) > 3 else ""),
        f"{MAX_FIELD_CHARS:,}",
        f"{MAX_FIELD_HTML_CHARS:,}",
        f"{MAX_FIELD_HITS:,}",
        extra=source_log_fields(source, status="ok", reason="text_cut"),
    )


def schedule_bounds(runtime: Runtime) -> Bounds:
    poll = runtime.settings.poll
    return Bounds(poll.min_interval, poll.max_interval, poll.interval)


def scheduled(
    runtime: Runtime,
    source: SourceRow,
    success: PollRecord,
    fetched: FetchResult,
    *,
    new_entries: int,
    feed: ParsedFeed | None = None,
) -> PollRecord:
    """``success`` with its schedule (`monitor.schedule`): the smoothed rate of new entries
    (on the first poll, estimated from the entries' dates), the feed's and the server's
    hints, the interval and why, and the next poll on it, jittered."""
    now = success.polled_at
    bounds = schedule_bounds(runtime)
    rate: float | None
    if source.first_polled_at is None and feed is not None:
        rate = seed_rate((e.published or e.updated for e in feed.entries), now)
    else:
        since = source.last_success_at or source.last_polled_at
        elapsed = now - since if since is not None else timedelta(0)
        rate = update_rate(source.entry_rate_per_hour, new_entries, elapsed, bounds.initial)
    # A 304 carries no document: the feed's own hint is the one seen last.
    feed_said = feed.update_hint if feed is not None else source.hint
    hints = [h for h in (feed_said, fetched.cache_hint) if h is not None]
    plan_ = plan(
        pinned=source.interval if source.interval_pinned else None,
        rate=rate,
        hint=max(hints) if hints else None,
        bounds=bounds,
    )
    step = plan_.interval
    # A source's schedule starts at its first poll: sources added together are all planned
    # for the moment they were added, and counting their next polls from that one moment
    # would bring them all due together again, every interval, however long the first
    # pass took to reach them.
    planned = source.next_poll_at if source.first_polled_at is not None else now
    return _with(
        success,
        next_poll_at=next_poll(step, planned, now, fetched.retry_after, random.uniform(-1, 1)),
        interval=step,
        schedule_reason=plan_.reason,
        rate=plan_.rate,
        hint=plan_.hint,
    )


def moved_to(source: SourceRow, target: str | None) -> str | None:
    """The URL to poll from now on after a poll that permanent redirects led to ``target``
    (logged once, when it changes), else the one stored. The configured URL's userinfo goes
    along to the same origin (or its upgrade from http to https), never to another host."""
    if target is None or target == source.poll_url:
        return source.moved_to
    original = urlsplit(source.url)
    moved = urlsplit(target)
    if _same_site(original, moved) and "@" in original.netloc and "@" not in moved.netloc:
        userinfo = original.netloc.rsplit("@", 1)[0]
        target = urlunsplit(moved._replace(netloc=f"{userinfo}@{moved.netloc}"))
    if target == source.url:
        return None
    log.warning(
        "%s moved permanently to %s: polled there from now on; update its URL in the config",
        redact_url(source.url),
        suggested_url(target),
        extra=source_log_fields(source, reason="moved"),
    )
    return target


def _same_site(original: SplitResult, moved: SplitResult) -> bool:
    """The same scheme, host and port, or the same host moved from http to https on the
    default ports (the most common permanent redirect; httpx keeps credentials on it)."""
    try:
        before = (original.scheme, original.hostname, original.port)
        after = (moved.scheme, moved.hostname, moved.port)
    except ValueError:  # a port that is not a number
        return False
    if before == after:
        return True
    upgrade = (
        original.scheme == "http"
        and moved.scheme == "https"
        and (original.port or 80) == 80
        and (moved.port or 443) == 443
    )
    return upgrade and original.hostname == moved.hostname


def _with(poll: PollRecord, **changes: object) -> PollRecord:
    return replace(poll, **changes)  # type: ignore[arg-type]


async def _triage(
    runtime: Runtime, source: SourceRow, analysed: AnalysedFeed, now: datetime
) -> Triage:
    """Sort the entries against what the source has shown before (one read, no lock): new
    (neither the key nor the story seen: stored, maybe alerted), an alias (a new key of a
    known story, or of a story earlier in this document: only remembered), or known (the key
    was seen: re-dated when its last sighting is older than `sighting_refresh`, and its
    story remembered when its text changed). A known entry whose text or link changed is
    compared with its stored versions (a second read, only for such entries): it is new,
    as a revision (an article of its own, `revision_key`), when its link and its title are
    both other than theirs (another article under a reused guid), or when it names a
    watched entity they did not (an update that first names someone)."""
    unique: dict[str, tuple[FeedEntry, tuple[WatchlistMatch, ...]]] = {}
    for entry, matches in zip(analysed.feed.entries, analysed.matches, strict=True):
        unique.setdefault(entry_key(entry), (entry, matches))
    if not unique:
        return Triage([])
    # The link fingerprint too: a story recorded before the link stopped counting for long
    # texts is known under it (`FeedEntry.link_fingerprint`).
    known = await runtime.store.known_keys(
        source.id,
        unique.keys(),
        {
            f
            for entry, _ in unique.values()
            for f in (*entry.fingerprints, entry.link_fingerprint, entry.edit_fingerprint)
            if f is not None
        },
    )
    stale = now - sighting_refresh(runtime.settings.retention)
    stories = set(known.fingerprints)

    def known_story(entry: FeedEntry) -> bool:
        return entry.link_fingerprint in stories or not stories.isdisjoint(entry.fingerprints)

    def seen(key: str, entry: FeedEntry) -> None:
        for fingerprint in entry.remembered:
            sightings.append(SeenEntry(key, fingerprint))
            stories.add(fingerprint)

    new: list[tuple[FeedEntry, tuple[WatchlistMatch, ...]]] = []
    sightings: list[SeenEntry] = []
    changed: list[tuple[str, FeedEntry, tuple[WatchlistMatch, ...]]] = []
    moved: list[tuple[str, FeedEntry, tuple[WatchlistMatch, ...]]] = []
    repeats = 0
    edits = 0
    for key, (entry, matches) in unique.items():
        last_seen = known.last_seen.get(key)
        if last_seen is not None:
            if not known_story(entry):
                changed.append((key, entry, matches))
            # A known key is re-dated when its sighting is old, and its story remembered
            # again when its text was edited: the edited story under a new guid later is
            # then an alias too, not news.
            if last_seen < stale or not stories.issuperset(entry.remembered):
                seen(key, entry)
        elif known_story(entry):
            seen(key, entry)
            repeats += 1
        elif entry.edit_fingerprint in known.fingerprints:
            moved.append((key, entry, matches))  # a stored article's link and time
        else:
            stories.update(entry.fingerprints)
            new.append((entry, matches))
    if changed or moved:
        versions, at_links = await runtime.store.stored_versions(
            source.id,
            [key for key, _, _ in changed],
            [entry.url for _, entry, _ in (*changed, *moved) if entry.url is not None],
        )
        for key, entry, matches in moved:
            # The stored article at its link and time, under a new guid and with a text
            # edited (a live headline's time): new, as a revision, only when it names a
            # watched entity that article did not; else an alias.
            told = at_links.get(entry.url) if entry.url is not None else None
            if told is None:  # retention deleted it: a story of its own
                stories.update(entry.fingerprints)
                new.append((entry, matches))
                continue
            if any(
                (m.watchlist, mention.entity) not in told for m in matches for mention in m.mentions
            ):
                new.append((replace(entry, key=revision_key(key, entry.fingerprint)), matches))
            else:
                seen(key, entry)
                repeats += 1
        for key, entry, matches in changed:
            stored = versions.get(key)
            # An article stored at this link under another key (guids that are positions)
            # is this one, edited or not: what it told counts too, and it is not another.
            at_link = at_links.get(entry.url) if entry.url is not None else None
            if stored is None:
                # No article under the key: retention deleted them, or the key only ever
                # named stories shown under other keys (an alias: guids that are positions,
                # a feed that grew by two items between polls; an outside probe lost the
                # one that landed on such a key). Another article -- a link and a time the
                # source never showed, none stored at that link -- is new; the article
                # edited (its link and time remembered) is not.
                edit = entry.edit_fingerprint
                if at_link is None and edit is not None and edit not in known.fingerprints:
                    stories.update(entry.fingerprints)
                    new.append((replace(entry, key=revision_key(key, entry.fingerprint)), matches))
                else:
                    edits += 1
                continue
            told = stored.entities | (at_link or frozenset())
            # Another article under a reused key (guids that are positions, a CMS that reset
            # its ids): its link and title both other than theirs; or its link other and its
            # time of publication later than theirs (a recurring headline, "Libya daily
            # briefing"); or, in a feed without links, its title and its time other (an
            # outside probe lost both). An edit keeps its time or its link and title.
            link_other = entry.url not in stored.links
            published = entry.published
            later = published is not None and all(
                time is not None and published > time for time in stored.times
            )
            reused = at_link is None and (
                (link_other and entry.title not in stored.titles)
                or (link_other and later)
                or (entry.url is None and entry.title not in stored.titles and later)
            )
            # A watched name the stored text had already is no news, though it was not
            # matched then (the watchlist has grown since): a cosmetic edit of that text
            # does not make it one (an outside probe).
            named = {
                (m.watchlist, mention.entity)
                for m in matches
                for mention in m.mentions
                if (m.watchlist, mention.entity) not in told and not stored.had_text(mention.text)
            }
            if reused or named:
                new.append((replace(entry, key=revision_key(key, entry.fingerprint)), matches))
            else:
                edits += 1
    return Triage(new, tuple(sightings), repeats, edits, tuple(unique) if repeats else ())


def failure(
    runtime: Runtime,
    source: SourceRow,
    record: RecordPoll,
    reason: str,
    message: str,
    status: int | None = None,
    retry_after: float | None = None,
    *,
    started: float | None = None,
) -> PollOutcome:
    """Record a failed poll: back off, never sooner than a server's Retry-After. ``message``
    is stored and logged with the source URL's credentials redacted; ``started`` (monotonic)
    is when the poll began, for the log line's ``duration_ms``."""
    now = runtime.clock()
    message = redact_text(message, source.url)
    shown = redact_url(source.url)
    # A 410 from the URL a source moved to only ends the move (below), not the source.
    gone = reason == "gone" and source.moved_to is None
    # The database failed (a full disk), or no parsing worker could start (a full /dev/shm:
    # probe89): not the feed's failure. It is polled again after its configured interval,
    # without a back-off that would hold its alerts for hours after the disk has room again,
    # and without a failure that would call it unhealthy (an outside probe).
    ours = reason in OURS_REASONS
    record(
        PollRecord(
            source_id=source.id,
            polled_at=now,
            next_poll_at=(
                now + source.interval if ours else backoff(runtime, source, now, retry_after)
            ),
            ok=False,
            status=status,
            reason=reason,
            error=message,
            schedule_reason=GONE if gone else BACKOFF,
            gone=gone,
            ours=ours,
        )
    )
    if source.moved_to is not None and not ours:
        # The URL it moved to failed: forget the move, so the next poll tries the configured
        # URL again (a redirect that was a mistake, or a hijack, cannot stick).
        log.warning(
            "%s: the URL it moved to (%s) failed; the configured URL is polled next",
            shown,
            redact_url(source.moved_to),
        )
    fields = source_log_fields(
        source,
        status="error",
        reason=reason,
        duration_ms=_elapsed_ms(started) if started is not None else None,
    )
    if gone:
        log.warning(
            "%s is gone (410): it is no longer polled; remove it from the config, or change "
            "its entry to poll it again",
            shown,
            extra=fields,
        )
    else:
        log.warning("poll failed for %s (%s): %s", shown, reason, message, extra=fields)
    return PollOutcome(
        source.name, shown, "error", error=message, reason=reason, source_id=source.id
    )
