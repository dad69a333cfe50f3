"""Pydantic models of the config file (sources, watchlists, sinks, polling, HTTP limits).

Unknown keys are errors: a typo must never be silently ignored. Durations accept ``90s``,
``10m``, ``6h``, ``7d``. Loading the file and the environment lives in ``settings.py``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from monitor.durations import parse_duration
from monitor.redact import redact_url

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s; write e.g. 30s, 10m or 1h")
    return value


# A wait, timeout or period: zero would defeat its purpose (a poll loop without pause, an
# alert dead on its first try), so it is refused.
PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
FirstRun = Literal["store_only", "alert_recent", "alert_all"]
UNRESOLVED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}")

MAX_URL_LENGTH = 2048  # the sources.url column

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    None: 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(value: object) -> int:
    """Turn ``10MB``, ``512KiB`` or an int (bytes) into a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        found = _SIZE.match(value)
        if found:
            unit = found.group(2).lower() if found.group(2) else None
            return int(float(found.group(1)) * _SIZE_UNITS[unit])
    raise ValueError(f"{value!r} is not a size; write e.g. 10MB, 512KiB or a number of bytes")


Size = Annotated[int, BeforeValidator(parse_size)]


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str, field: str) -> str:
    if UNRESOLVED.search(value):
        return value  # checked by the commands that need the value (see Settings.unset_variables)
    # The line end of a `|` block or of a variable read from a file is not part of the URL
    # (the fetch and the send refused it, after `monitor check` had passed it).
    value = value.strip()
    # Not a URL, so redact_url may not find its userinfo (`https//user:pw@host`): whatever
    # stands before an @ is masked too.
    shown = re.sub(r"[^\s/@]+@", "REDACTED@", redact_url(value))
    # The scheme first: "not a url" is no URL, whatever its spaces (told to write them as
    # %20, a user got "not%20a%20url").
    if not re.match(r"^https?://[^\s/]+", value, re.IGNORECASE):
        raise ValueError(f"{field} must be an http:// or https:// URL, got {shown!r}")
    if re.search(r"[\s\x00-\x1f\x7f]", value):
        raise ValueError(
            f"{field} has a space or a control character in it, got {shown!r}; write a space as %20"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError as error:
        raise ValueError(
            f"{field} is not a valid URL ({error}), got {shown!r}; check the host and port"
        ) from None
    if not parts.hostname:
        raise ValueError(f"{field} names no host, got {shown!r}")
    _check_requestable(value, field, shown)
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"{field} is longer than {MAX_URL_LENGTH} characters; shorten it")
    return value


def _check_requestable(value: str, field: str, shown: str) -> None:
    """Refuse what the HTTP client refuses when the URL is fetched or sent to (an IPv4
    address written in octal or past 255, an IDNA label that is no label), port 0, and an
    IPv6 zone id (``[fe80::1%25eth0]``: it names a network interface of one machine): so
    that `monitor check` never passes a URL that every poll then fails."""
    import httpx  # here: the settings load without the HTTP client until a command needs it

    try:
        parsed = httpx.URL(value)
        host = parsed.host  # an IDNA host is decoded (and refused) here
    except (httpx.InvalidURL, ValueError) as error:  # IDNAError is a ValueError
        raise ValueError(
            f"{field} is not a valid URL ({error}), got {shown!r}; check the host and port"
        ) from None
    if parsed.port == 0:
        raise ValueError(f"{field} has port 0, got {shown!r}; a port is 1-65535")
    if "%" in host:
        raise ValueError(
            f"{field} names an IPv6 zone (the part after %), got {shown!r}; use the address "
            "without it"
        )


class PollConfig(Strict):
    interval: PositiveDuration = timedelta(minutes=10)
    min_interval: PositiveDuration = timedelta(minutes=1)
    max_interval: PositiveDuration = timedelta(hours=6)
    allow_private_networks: bool = False
    # A source failing this many polls in a row is "unhealthy" (sources, status, /metrics).
    unhealthy_after: int = Field(default=5, ge=1, le=1000)
    # Feeds polled at once: a feed holds its place while its publisher answers (up to
    # fetch.total_timeout) and while it waits for a parsing worker, so this is set for slow
    # publishers, not for the cores: with 8, eight slow hosts held up every other feed.
    concurrency: int = Field(default=32, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=64)
    tick: PositiveDuration = timedelta(seconds=15)
    lease: PositiveDuration = timedelta(minutes=5)
    # Processes that parse and match fetched feeds; None: one per core, 0: in the main process.
    workers: int | None = Field(default=None, ge=0, le=64)

    @model_validator(mode="after")
    def _bounds(self) -> PollConfig:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be larger than max_interval")
        return self


class FetchConfig(Strict):
    user_agent: str = "news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)"
    connect_timeout: PositiveDuration = timedelta(seconds=10)
    read_timeout: PositiveDuration = timedelta(seconds=20)
    total_timeout: PositiveDuration = timedelta(seconds=60)
    max_body: Size = 10 * 1024 * 1024
    max_redirects: int = Field(default=5, ge=0, le=20)


class SourceConfig(Strict):
    name: str = Field(min_length=1)
    url: str
    interval: PositiveDuration | None = None
    enabled: bool = True
    first_run: FirstRun | None = None
    first_run_window: PositiveDuration | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "url")


class OpmlConfig(Strict):
    """A list of sources kept in an OPML file (path relative to the config file)."""

    opml: str
    interval: PositiveDuration | None = None
    enabled: bool = True
    first_run: FirstRun | None = None
    first_run_window: PositiveDuration | None = None


class IncludeConfig(Strict):
    """Files of more sources: a glob relative to the config file (``sources.d/*.yaml``), each
    file a YAML list of source entries (see ``monitor.sourcefiles``)."""

    include: str = Field(min_length=1)


class WatchlistConfig(Strict):
    """A watchlist file and, optionally, the sinks its alerts go to (default: every sink)."""

    file: str
    sinks: list[str] | None = None


class SinkConfig(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str
    secret: str | None = None
    format: Literal["standard", "slack", "discord"] = "standard"
    # standard format: HMAC-SHA256 signature headers with `secret`; `none` sends unsigned
    # on purpose (a receiver that authenticates by its URL).
    signing: Literal["hmac-sha256", "none"] = "hmac-sha256"
    retry_schedule: list[Duration] = Field(
        default_factory=lambda: [
            parse_duration(d) for d in ("5s", "5m", "30m", "2h", "5h", "10h", "10h")
        ],
        min_length=1,
    )
    timeout: PositiveDuration = timedelta(seconds=15)
    enabled: bool = True
    # Stories (docs/stories.md): `first` alerts a story once, `updates` also when it gains a
    # watched entity or `update_sources` new sources, `all` every article.
    stories: Literal["first", "updates", "all"] = "first"
    update_sources: int = Field(default=3, ge=1, le=1000)
    # Filters: only these watchlists / entities, only stories from at least N sources.
    watchlists: list[str] | None = None
    entities: list[str] | None = None
    min_sources: int = Field(default=1, ge=1, le=1000)
    # `digest`: one message per period (`every: 1h`, or `at: "08:00"` UTC each day) listing
    # the stories that matched since the last one, instead of an alert per story.
    mode: Literal["alert", "digest"] = "alert"
    every: PositiveDuration | None = None
    at: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "url")

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError(f'at must be a time of day HH:MM (UTC), e.g. "08:00", got {value!r}')
        return value

    @model_validator(mode="after")
    def _signed(self) -> SinkConfig:
        if self.signing == "none" and self.secret is not None:
            raise ValueError(
                "has a secret and signing: none; remove the secret to send unsigned, or "
                "remove signing: none to sign with it"
            )
        if self.mode == "digest" and (self.every is None) == (self.at is None):
            raise ValueError(
                'is a digest sink: set either every: (e.g. 1h) or at: (e.g. "08:00", UTC), '
                "not both and not neither"
            )
        if self.mode == "alert" and (self.every is not None or self.at is not None):
            raise ValueError("sets every:/at:, which only a digest sink has; add mode: digest")
        if self.mode == "digest" and self.every is not None and self.every < timedelta(minutes=1):
            raise ValueError("every: must be at least 1m for a digest sink")
        if self.format == "standard" and self.signing != "none" and self.secret is None:
            raise ValueError(
                "has no secret, so its alerts could not be signed; set secret: whsec_<base64> "
                "(shared with the receiver), or write signing: none to send them unsigned"
            )
        return self


class DeliveryConfig(Strict):
    tick: PositiveDuration = timedelta(seconds=5)
    batch: int = Field(default=50, ge=1, le=10000)
    concurrency: int = Field(default=4, ge=1, le=64)
    lease: PositiveDuration = timedelta(minutes=2)


class HttpServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class StoriesConfig(Strict):
    """When two articles are one story (docs/stories.md): defaults from the measurement."""

    same_story: float = Field(default=0.40, gt=0, le=1)
    contained: float = Field(default=0.75, gt=0, le=1)
    contained_floor: float = Field(default=0.25, gt=0, le=1)
    names_guard: bool = True
    window: PositiveDuration = timedelta(hours=48)


class MatchConfig(Strict):
    excerpt_chars: int = Field(default=300, ge=40, le=5000)


class LogConfig(Strict):
    """Log lines on standard error; ``--log-format`` and ``--log-level`` win over these."""

    format: Literal["human", "json"] = "human"
    level: Literal["debug", "info", "warning", "error"] = "info"
