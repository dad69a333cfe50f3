"""news-monitor: watches news feeds for named actors and places and sends signed webhook alerts."""

__version__ = "0.1.0"
