"""The error tree of news-monitor: one base, subclasses that say what went wrong and where.

MonitorError
 ├── ConfigError        bad config or watchlist file (names file, field and fix)
 ├── FetchError         a feed could not be fetched (names the URL; stable ``reason`` code)
 ├── ParseError         a feed body could not be read as RSS/Atom
 ├── DeliveryError      a webhook/sink did not accept an alert
 └── DatabaseError      schema too old, second SQLite instance, ...
"""

from __future__ import annotations

from monitor.redact import redact_text, redact_url


class MonitorError(Exception):
    """Base of every error that news-monitor raises on purpose."""


class ConfigError(MonitorError, ValueError):
    """A config or watchlist file is wrong. ``problems`` lists every problem found."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FetchError(MonitorError):
    """A feed URL could not be fetched. ``reason`` is a stable code stored on the source row;
    ``retry_after`` (seconds) is set when the server asked us to wait (429/503). The message
    shows the URL redacted (``monitor.redact``); ``url`` is the URL as given."""

    retry_after: float | None = None

    def __init__(self, url: str, reason: str, message: str, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(f"{redact_url(url)}: {redact_text(message, url)}")


class ParseError(MonitorError):
    """A fetched body is not a feed that feedparser can read."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        self.message = message
        self.reason = "parse_error"
        super().__init__(f"{redact_url(url)}: {redact_text(message, url)}")

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str]]:
        # Raised in a parsing worker process and re-raised here: it must survive pickling.
        return (ParseError, (self.url, self.message))


class DeliveryError(MonitorError):
    """A sink did not accept an alert (non-2xx, timeout, refused connection); ``retry_after``
    (seconds) is set when the receiver asked us to wait."""

    retry_after: float | None = None

    def __init__(self, sink: str, reason: str, message: str, status: int | None = None) -> None:
        self.sink = sink
        self.reason = reason
        self.status = status
        super().__init__(f"sink {sink!r}: {message}")


class DatabaseError(MonitorError):
    """The database cannot be used as it is (old schema, locked by another instance, ...)."""


class ServiceFailed(MonitorError):
    """A part of a running service stopped on an error it did not handle: ``monitor run``
    stops and exits 1 (not 2, which says it could not start), so a supervisor restarts it."""
