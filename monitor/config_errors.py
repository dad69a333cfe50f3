"""Readable messages for pydantic's errors about the config: what the field means, how to
fix the value, "did you mean" for a misspelled key, and which ``MONITOR_*`` variable to blame
when an environment override caused the error."""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from monitor.plural import plural
from monitor.redact import redact_text

ENV_PREFIX = "MONITOR_"

# What each key means, shown next to an error about it (keys as in docs/config.md).
MEANINGS: Mapping[str, str] = {
    "database_url": "where articles and alerts are stored",
    "poll.interval": "how often a source is polled",
    "poll.min_interval": "the shortest interval of any source",
    "poll.max_interval": "the longest interval and error back-off",
    "poll.allow_private_networks": "whether loopback and private addresses may be fetched",
    "poll.concurrency": "feeds fetched at once",
    "poll.per_host": "feeds fetched at once from one host",
    "poll.tick": "the longest the poller sleeps without looking at the database",
    "poll.lease": "how long a claimed source stays claimed",
    "poll.workers": "processes that parse and match feeds",
    "fetch.user_agent": "the User-Agent header sent to feeds",
    "fetch.connect_timeout": "the longest wait for a connection",
    "fetch.read_timeout": "the longest wait for the next bytes",
    "fetch.total_timeout": "the longest a whole request may take",
    "fetch.max_body": "the largest feed read",
    "fetch.max_redirects": "redirects followed per request",
    "first_run": "what a new source's existing entries do",
    "first_run_window": "how recent an entry must be to alert on a first run",
    "sources.name": "the source's name in alerts",
    "sources.url": "the feed's URL",
    "sources.interval": "how often this source is polled",
    "sources.enabled": "whether this source is polled",
    "sources.opml": "an OPML file of sources, relative to the config file",
    "sources.first_run": "what this new source's existing entries do",
    "sources.first_run_window": "how recent an entry must be to alert on a first run",
    "watchlists.file": "a watchlist file, relative to the config file",
    "watchlists.sinks": "the sinks this watchlist alerts",
    "sinks.name": "the sink's name, used to route and record alerts",
    "sinks.url": "where alerts are POSTed",
    "sinks.secret": "the whsec_ key alerts are signed with",
    "sinks.format": "the message format",
    "sinks.signing": "how alerts are signed",
    "sinks.retry_schedule": "the waits between delivery attempts",
    "sinks.timeout": "the longest one delivery attempt may take",
    "sinks.enabled": "whether alerts are sent to this sink",
    "delivery.tick": "how often the outbox is looked at",
    "delivery.batch": "alerts claimed at once",
    "delivery.concurrency": "alerts sent at once",
    "delivery.lease": "how long a claimed alert stays claimed",
    "match.excerpt_chars": "the length of an excerpt",
    "retention": "how long articles are kept",
    "http.host": "the address of /healthz and /metrics",
    "http.port": "the port of /healthz and /metrics",
    "log.format": "how log lines are written (human or json)",
    "log.level": "how much is logged",
    "redact_query_params": "query parameters whose values are never shown",
}

# Fields whose value may be a credential: never repeated in a message.
_SECRET_FIELDS = {"secret", "url", "database_url"}


def meaning_key(location: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in location if isinstance(p, str))


def allowed_keys(root: type[BaseModel], location: tuple[int | str, ...]) -> list[str]:
    """The keys allowed in the mapping at ``location`` (every model a union may take)."""
    models: list[type[BaseModel]] = [root]
    for part in location:
        if isinstance(part, int):
            continue
        found: list[type[BaseModel]] = []
        for model in models:
            info = model.model_fields.get(part)
            if info is not None:
                found.extend(_models_in(info.annotation))
        models = found
    keys: list[str] = []
    for model in models:
        keys.extend(k for k in model.model_fields if k not in keys)
    return keys


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found.extend(m for m in _models_in(arg) if m not in found)
    return found


def did_you_mean(word: str, choices: list[str]) -> str:
    """``; did you mean 'x'?`` for a near miss, else the list of choices."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"allowed here: {', '.join(choices)}"


def environment_variable(location: tuple[int | str, ...]) -> str | None:
    """The set ``MONITOR_*`` variable that gave the value at ``location``, if any: the most
    specific of ``MONITOR_POLL__INTERVAL``, ``MONITOR_POLL`` (names compare ignoring case)."""
    names = [str(p) for p in location if isinstance(p, str)]
    present = {name.upper(): name for name in os.environ if name.upper().startswith(ENV_PREFIX)}
    for size in range(len(names), 0, -1):
        candidate = ENV_PREFIX + "__".join(names[:size]).upper()
        if candidate in present:
            return present[candidate]
    return None


def indexed_variables(path: object) -> list[str]:
    """A problem for each set ``MONITOR_*`` variable that names an item of a list by its
    number (``MONITOR_SINKS__0__URL``): the environment can only replace a whole list, and
    pydantic-settings would read the number as a key and blame the file's list."""
    problems = []
    for name in sorted(os.environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name.upper()[len(ENV_PREFIX) :].split("__")
        index = next((i for i, part in enumerate(parts) if part.isdigit()), None)
        if index is None:
            continue
        whole = ENV_PREFIX + "__".join(parts[:index])
        problems.append(
            f"environment variable {name} (overriding {path}): an item of a list cannot be "
            f"set on its own; set the whole list as JSON in {whole} "
            f"(e.g. {whole}='[{{...}}, {{...}}]'), or change the file"
        )
    return problems


def shown_input(value: object) -> str:
    """A wrong value as an error shows it: a mapping by its keys and a list by its length
    (their values may be a sink's secret or a URL's password), text with its URLs redacted."""
    if isinstance(value, dict):
        keys = ", ".join(str(key) for key in value)
        return f"a mapping (keys: {keys})" if keys else "an empty mapping"
    if isinstance(value, list | tuple):
        return f"a list of {plural(len(value), 'item')}"
    if isinstance(value, str):
        return repr(redact_text(value))
    return repr(value)


def describe(item: ErrorDetails, location: tuple[int | str, ...], root: type[BaseModel]) -> str:
    """The message for one pydantic error: what is wrong and the fix."""
    kind = item["type"]
    ctx: dict[str, Any] = dict(item.get("ctx") or {})
    field = str(location[-1]) if location else ""
    hidden = field in _SECRET_FIELDS
    given = "" if hidden else f", got {shown_input(item.get('input'))}"
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, location[:-1])
        if field in allowed:  # a key of another kind of entry ("name:" beside "opml:")
            return (
                f"unknown key {field!r} in this kind of entry: it is a key of another kind "
                "(an entry with `opml:` or `include:` takes its sources' names and URLs from "
                "the files it names); see docs/config.md"
            )
        return f"unknown key {field!r}; {did_you_mean(field, allowed)} (see docs/config.md)"
    if kind == "missing":
        return f"this key is required; add `{field}:`"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{given}; write e.g. 8"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{given}"
    if kind in ("string_type", "str_type"):
        return f"must be text{given}; quote it"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list{given}; write [a, b] or one '- item' per line"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping of keys (key: value lines){given}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
        value = str(item.get("input"))
        hint = did_you_mean(value, [c for c in choices if c])
        # The choices once: without a near miss the hint would list them again (probe69).
        return f"{value!r} is not one of {expected}" + (
            f"; {hint}" if hint.startswith("did you mean") else ""
        )
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "more than"
        return f"must be {word} {bound}{given}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        return f"must be {word} {bound}{given}"
    if kind == "too_short":
        return f"must not be empty: list at least {ctx.get('min_length', 1)} item(s)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"may hold only letters, digits, '.', '_' and '-'{given}"
    return str(item["msg"]).removeprefix("Value error, ")


_JSON_EXAMPLES = {
    "sources": '[{"name": "Wire", "url": "https://example.org/rss"}]',
    "watchlists": '["watchlists/libya.yaml"]',
    "sinks": '[{"name": "ops", "url": "https://hooks.example.org/x", "secret": "whsec_..."}]',
    "redact_query_params": '["token", "key"]',
}


def environment_problem(message: str, cause: BaseException | None) -> str:
    """The message for a ``MONITOR_*`` value that pydantic-settings could not read as JSON
    (``MONITOR_WATCHLISTS=watchlists/libya.yaml``): the variable, why, and how to write it."""
    found = re.search(r'field "([A-Za-z_]+)"', message)
    field = found.group(1) if found else ""
    variable = environment_variable((field,)) if field else None
    name = variable or (ENV_PREFIX + field.upper() if field else "a MONITOR_* variable")
    why = f"not JSON ({cause})" if cause else "not readable"
    example = _JSON_EXAMPLES.get(field)
    if example:
        fix = f"write the list as JSON, e.g. {ENV_PREFIX}{field.upper()}='{example}'"
    else:
        fix = (
            f"write one key per variable (e.g. {ENV_PREFIX}{field.upper()}__<KEY>=value) or "
            "the whole mapping as JSON"
        )
    return f"environment variable {name}: {why}; {fix}"
