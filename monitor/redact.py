"""What of a URL may be shown: userinfo, secret query parameters and chat-webhook tokens become
``REDACTED`` in every URL that is logged, printed, stored for display or sent in an alert.
And what of any text may reach a terminal: no control character to act on (`terminal_text`,
`terminal_json`)."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Final
from urllib.parse import quote, unquote, unquote_plus

__all__ = [
    "DEFAULT_SECRET_PARAMS",
    "MASK",
    "RedactingFormatter",
    "redact_text",
    "redact_url",
    "terminal_json",
    "terminal_text",
    "use_secret_params",
    "without_credentials",
]

MASK: Final = "REDACTED"
# Query (and fragment) parameters whose value is a credential; names compare case-insensitively.
# The config key `redact_query_params` replaces this list.
DEFAULT_SECRET_PARAMS: Final = (
    "token",
    "key",
    "api_key",
    "apikey",
    "access_token",
    "secret",
    "password",
    "sig",
    "signature",
    "auth",
    # more names that carry credentials: OAuth clients, token variants, passwords, and the
    # signatures and credentials of presigned S3 and Google Cloud Storage URLs
    "client_secret",
    "refresh_token",
    "id_token",
    "auth_token",
    "private_token",
    "passwd",
    "pwd",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    # sessions and other bearer values (an outside probe: `?sessiontoken=` was shown)
    "session",
    "sessionid",
    "session_id",
    "sessiontoken",
    "session_token",
    "sid",
    "jwt",
    "api_token",
    "apitoken",
    "access_key",
    "accesskey",
    "secret_key",
    "oauth_token",
    "oauth_signature",
    "bearer",
)
# A secret shorter than this is not searched for on its own in free text (it would mask
# ordinary words); inside a URL it is masked whatever its length.
MIN_SECRET_CHARS: Final = 4
# In what a feed's entries carry (their links and guids, stored and sent in alerts), a
# credential of the feed's URL shorter than this is masked only where a URL holds it (a
# userinfo, a parameter's value): searched for anywhere, a password such as "2026" masked
# article links for good (".../REDACTED/12/07/...", an outside probe, probe67).
MIN_ENTRY_CREDENTIAL_CHARS: Final = 8

_secret_params: frozenset[str] = frozenset(DEFAULT_SECRET_PARAMS)

# RFC 3986, appendix B: matches every string, so splitting never fails.
_PARTS = re.compile(
    r"(?P<scheme>[^:/?#]+:)?(?P<authority>//[^/?#]*)?(?P<path>[^?#]*)"
    r"(?P<query>\?[^#]*)?(?P<fragment>#.*)?",
    re.DOTALL,
)
# Paths whose last part is the credential: Slack incoming webhooks and Discord webhooks.
_TOKEN_PATHS = (
    re.compile(r"(/services/[^/]+/[^/]+/)([^/]+)"),
    re.compile(r"(/api(?:/v\d+)?/webhooks/[^/]+/)([^/]+)"),
)
_SEPARATORS = re.compile(r"([&;])")
# A URL inside free text: up to a space or quote, without trailing punctuation.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]")


def use_secret_params(names: Iterable[str]) -> None:
    """Make ``names`` the query parameters whose values are masked (the `redact_query_params`
    setting; `Runtime.build` and `monitor check` apply it)."""
    global _secret_params
    _secret_params = frozenset(name.strip().lower() for name in names if name.strip())


def _is_secret_param(name: str) -> bool:
    return unquote_plus(name).strip().lower() in _secret_params


def _params(text: str, keep: bool) -> str:
    """``a=1&token=x`` with each secret parameter's value masked (``keep``) or dropped."""
    pieces = _SEPARATORS.split(text)
    kept: list[str] = []
    for index in range(0, len(pieces), 2):
        name, equals, value = pieces[index].partition("=")
        if equals and value and _is_secret_param(name):
            if not keep:
                continue
            pieces[index] = f"{name}={MASK}"
        elif keep and equals and _NESTED_URL.search(value):
            pieces[index] = f"{name}={_redacted_nested(value)}"
        if kept and index:
            kept.append(pieces[index - 1])
        kept.append(pieces[index])
    return "".join(kept)


# A URL inside a parameter's value ("?to=https://user:pw@host/?api_key=K"), as written or
# percent-encoded.
_NESTED_URL = re.compile(r"(?i)^[a-z][a-z0-9+.-]*(?::|%3a)(?://|%2f%2f)")


def _redacted_nested(value: str) -> str:
    """A parameter value that is a URL, with its own credentials masked (written as it came
    when it has none; percent-encoded again when it had to be decoded)."""
    if "://" in value:
        return redact_url(value)
    decoded = unquote(value)
    shown = redact_url(decoded)
    return value if shown == decoded else quote(shown, safe="")


def _odd_port(authority: str) -> bool:
    """An authority whose port is not a number: a password holding ``/``, ``?`` or ``#``."""
    host_port = authority.rsplit("]", 1)[-1]
    _, colon, port = host_port.rpartition(":")
    return bool(colon) and bool(port) and not port.isdigit()


def _split(url: str) -> tuple[str, str, str, str, str, str]:
    """(scheme, userinfo, authority, path, query, fragment), each part but the userinfo with
    its delimiter; the authority without the userinfo (``//host:port``)."""
    found = _PARTS.fullmatch(url)
    assert found is not None  # the pattern matches every string
    scheme, authority, path, query, fragment = (found.group(k) or "" for k in _PARTS.groupindex)
    if "@" in authority:
        userinfo, _, host = authority[2:].rpartition("@")
        return scheme, userinfo, "//" + host, path, query, fragment
    rest = url[len(scheme) + len(authority) :]
    if _odd_port(authority) and "@" in rest:
        # A password holding "/", "?" or "#": the userinfo runs to the last "@".
        userinfo, _, after = url[len(scheme) + 2 :].rpartition("@")
        _, _, authority, path, query, fragment = _split(f"{scheme}//{after}")
        return scheme, userinfo, authority, path, query, fragment
    return scheme, "", authority, path, query, fragment


def _masked_path(path: str) -> str:
    for pattern in _TOKEN_PATHS:
        path = pattern.sub(lambda found: found.group(1) + MASK, path)
    return path


def redact_url(url: str) -> str:
    """``url`` as it may be shown: userinfo, the values of secret query and fragment
    parameters, and Slack/Discord webhook tokens replaced by ``REDACTED``; everything else as
    written. Never raises, whatever the text."""
    scheme, userinfo, authority, path, query, fragment = _split(url)
    if userinfo:
        authority = f"//{MASK}@{authority[2:]}"
    if query:
        query = "?" + _params(query[1:], keep=True)
    if fragment:
        fragment = "#" + _params(fragment[1:], keep=True)
    return scheme + authority + _masked_path(path) + query + fragment


def suggested_url(url: str) -> str:
    """A URL a feed's server named (a permanent redirect's target, the feed an HTML page
    links to), as the operator is told to write it in the config: redacted, and ``${``
    written ``$${``, so that the copy names no environment variable (a ``Location`` of
    ``...?x=${MONITOR_WEBHOOK_SECRET}``, copied as shown, would send the secret to that
    server with every poll)."""
    return redact_url(url).replace("${", "$${")


# How a parse error names the feed an HTML page announces, and where the URL ends.
NAMED_FEED = "the page names its feed: "
NAMED_FEED_END = " (use that URL"


def feed_named_by_page(error: str | None) -> str | None:
    """The feed URL a source's last error says its HTML page names (`suggested_url`'s text
    read back as the config holds it), if it says so: a config that now names it is the
    same source, as after a permanent redirect (an outside probe followed that advice and
    lost an alert to `first_run`, the source's articles stored again)."""
    if not error or NAMED_FEED not in error:
        return None
    shown = error.split(NAMED_FEED, 1)[1].split(NAMED_FEED_END, 1)[0]
    return shown.replace("$${", "${") or None


def redact_article_url(url: str, feed_url: str | None = None) -> str:
    """An article's link as it may be shown: its userinfo masked, the rest as written. Its
    query parameters are its address (`?key=7788`, a CDN's `?sig=`): masked like a feed's,
    they sent readers to pages that do not exist. The feed's own credentials, where an
    entry repeats them, were masked when it was parsed (`mask_credentials_of`); given
    ``feed_url``, they are masked again here, as the parser does: a link stored by a
    version that masked them only when sending (before 2026-12-06) still holds them."""
    if feed_url:
        url = mask_credentials_of(feed_url, min_chars=MIN_ENTRY_CREDENTIAL_CHARS)(url)
    scheme, userinfo, authority, path, query, fragment = _split(url)
    if userinfo:
        authority = f"//{MASK}@{authority[2:]}"
    return scheme + authority + path + query + fragment


def without_credentials(url: str) -> str:
    """``url`` without its userinfo and secret query parameters (not masked: gone), e.g. as
    the base that relative links are resolved against."""
    scheme, _, authority, path, query, fragment = _split(url)
    if query:
        kept = _params(query[1:], keep=False)
        query = "?" + kept if kept else ""
    return scheme + authority + path + query + fragment


def _secrets_of(url: str, min_chars: int = MIN_SECRET_CHARS) -> set[str]:
    """The credentials written in ``url`` of at least ``min_chars``: userinfo, password,
    secret parameter values and webhook tokens, as written and percent-decoded, and their
    base64 forms."""
    _, userinfo, _, path, query, fragment = _split(url)
    secrets = {userinfo, userinfo.partition(":")[2]}
    # A password with an unescaped "@" ("u:pa@ss@host"): a client may split it at the first
    # "@" and quote the rest as the host name in its errors ("host 'ss@host'").
    secrets.update(userinfo.partition(":")[2].split("@"))
    for part in (query[1:], fragment[1:]):
        for piece in _SEPARATORS.split(part):
            name, equals, value = piece.partition("=")
            if equals and _is_secret_param(name):
                secrets.add(value)
            elif equals and _NESTED_URL.search(value):
                secrets.update(_secrets_of(unquote(value)))
    for pattern in _TOKEN_PATHS:
        secrets.update(match.group(2) for match in pattern.finditer(path))
    plain = {s for s in secrets | {unquote(s) for s in secrets} if len(s) >= min_chars}
    # Each also base64-encoded, with and without its "=" padding: what a server may echo of
    # a header it decoded or a token it encoded (an outside probe, probe66 F5).
    encoded = [secret.encode("utf-8", "surrogatepass") for secret in plain]
    if userinfo:
        # The userinfo as sent in the request's "Authorization: Basic" header, which a
        # receiver or a feed server may echo back in an error page.
        user, _, password = userinfo.partition(":")
        encoded.append(f"{unquote(user)}:{unquote(password)}".encode("utf-8", "surrogatepass"))
    forms = {base64.b64encode(raw).decode("ascii") for raw in encoded}
    forms |= {form.rstrip("=") for form in forms}
    return plain | {form for form in forms if len(form) >= min_chars}


def _masked_in_url(url: str, values: set[str]) -> str:
    """``url`` with its userinfo masked, and every parameter whose value is one of
    ``values`` (a credential of the feed's URL, under any parameter name); the rest as
    written."""
    scheme, userinfo, authority, path, query, fragment = _split(url)
    if userinfo:
        authority = f"//{MASK}@{authority[2:]}"

    def params(text: str) -> str:
        pieces = _SEPARATORS.split(text)
        for index in range(0, len(pieces), 2):
            name, equals, value = pieces[index].partition("=")
            if equals and (value in values or unquote(value) in values):
                pieces[index] = f"{name}={MASK}"
        return "".join(pieces)

    query = "?" + params(query[1:]) if query else ""
    fragment = "#" + params(fragment[1:]) if fragment else ""
    return scheme + authority + path + query + fragment


def mask_credentials_of(*urls: str, min_chars: int = MIN_SECRET_CHARS) -> Callable[[str], str]:
    """A function that masks, in any text, the credentials written in ``urls`` (and only
    those): e.g. what a feed repeats of its own URL in its entries. In a URL (the text
    itself, or one inside it) a userinfo and a parameter holding one of them are masked;
    elsewhere those of at least ``min_chars`` (the longest first)."""
    secrets = sorted(
        {s for url in urls for s in _secrets_of(url, min_chars)}, key=len, reverse=True
    )
    values = {s for url in urls for s in _secrets_of(url, min_chars=1)}  # any length

    def mask(text: str) -> str:
        if values:
            text = _URL_IN_TEXT.sub(lambda found: _masked_in_url(found.group(), values), text)
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text

    return mask


def redact_text(text: str, *urls: str, secrets: Iterable[str] = ()) -> str:
    """``text`` (an error message, a receiver's answer) with every URL in it redacted, and
    every credential of ``urls`` and every one of ``secrets`` (a sink's signing secret, its
    header values: `monitor.alerts.senders.secrets_of`) masked wherever it appears on its
    own."""
    text = _URL_IN_TEXT.sub(lambda found: redact_url(found.group()), text)
    if urls:
        text = mask_credentials_of(*urls)(text)
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


# Characters a terminal acts on instead of showing (docs/operations.md, "What is never
# shown"): the C0 controls (ESC starts an escape sequence, CR and BS overwrite what is shown,
# BEL ends an OSC sequence), DEL, the C1 controls (U+009B is a one-character CSI), and the
# bidirectional controls that reorder what follows them (U+202A-U+202E, U+2066-U+2069, and
# the marks U+061C, U+200E, U+200F).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# And the line and paragraph separators, which some terminals and viewers break lines at.
_SEPARATORS_OF_LINES = "\u2028\u2029"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_SEPARATORS_OF_LINES}]")
_UNSAFE_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_SEPARATORS_OF_LINES}]")


def _visible(found: re.Match[str]) -> str:
    """A control character as Python writes it in a string: ``\\x1b``, ``\\u202e``."""
    code = ord(found.group())
    if code in (0x09, 0x0A, 0x2028, 0x2029):  # a tab or a line break inside a line: a space
        return " "
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: object, *, one_line: bool = True) -> str:
    """``text`` (a title, a name, an excerpt, an error message: anything a feed or a receiver
    wrote) safe to print in a terminal: every control character shown as its escape
    (``\\x1b``, ``\\x9b``, ``\\x0d``, ``\\u202e``), so it reads as text and does nothing.
    ``one_line`` (a table cell, a field of one line): newlines and tabs become spaces; else
    they are kept. JSON output uses `terminal_json` instead."""
    return (_UNSAFE_IN_LINE if one_line else _UNSAFE).sub(_visible, str(text))


def _json_escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def terminal_json(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with the control characters
    json.dumps leaves as they are (DEL, the C1 controls, the bidirectional controls) written
    as ``\\uXXXX`` escapes: the same data for any JSON reader, nothing for a terminal to act
    on. (They can only stand inside a JSON string, where such an escape is valid.)"""
    return _UNSAFE.sub(_json_escape, document)


class RedactingFormatter(logging.Formatter):
    """A log formatter that redacts every URL in the formatted line (traceback included) and
    shows its control characters as escapes (`terminal_text`; newlines kept). Its times are
    UTC, as every time in the messages ("next try at 10:00:00Z"), whatever TZ says."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        return terminal_text(redact_text(super().format(record)), one_line=False)
