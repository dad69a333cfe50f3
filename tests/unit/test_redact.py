"""`monitor.redact`: what of a URL may be shown, and what a text naming URLs becomes."""

from __future__ import annotations

import base64
import logging
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.alerts.senders import secrets_of
from monitor.redact import (
    DEFAULT_SECRET_PARAMS,
    RedactingFormatter,
    redact_text,
    redact_url,
    use_secret_params,
    without_credentials,
)


@pytest.fixture
def default_params() -> Iterator[None]:
    use_secret_params(DEFAULT_SECRET_PARAMS)
    yield
    use_secret_params(DEFAULT_SECRET_PARAMS)


pytestmark = pytest.mark.usefixtures("default_params")

REDACTED_URLS = [
    # userinfo, with and without a password, whatever the host
    ("http://user:s3cret@example.org/feed", "http://REDACTED@example.org/feed"),
    ("https://t0ken@example.org/feed", "https://REDACTED@example.org/feed"),
    ("http://user:@example.org/", "http://REDACTED@example.org/"),
    ("http://user:pw@example.org:8080/a", "http://REDACTED@example.org:8080/a"),
    ("http://user:pw@127.0.0.1:8080/a", "http://REDACTED@127.0.0.1:8080/a"),
    ("http://user:pw@[2001:db8::1]:8443/a", "http://REDACTED@[2001:db8::1]:8443/a"),
    ("http://[2001:db8::1]:8443/a?b=1", "http://[2001:db8::1]:8443/a?b=1"),
    ("http://us%40er:p%3Aw@example.org/", "http://REDACTED@example.org/"),
    ("http://user:p@ss@example.org/", "http://REDACTED@example.org/"),  # "@" not encoded
    ("http://user:pa/ss@example.org/a", "http://REDACTED@example.org/a"),  # "/" not encoded
    ("http://user:pa#ss@example.org/a", "http://REDACTED@example.org/a"),  # "#" not encoded
    ("postgresql+psycopg://app:pw@db/monitor", "postgresql+psycopg://REDACTED@db/monitor"),
    # secret query parameters, case-insensitive, the others kept in order
    ("https://example.org/rss?token=abc&page=2", "https://example.org/rss?token=REDACTED&page=2"),
    ("https://example.org/rss?page=2&TOKEN=abc", "https://example.org/rss?page=2&TOKEN=REDACTED"),
    ("https://example.org/rss?Api_Key=abc", "https://example.org/rss?Api_Key=REDACTED"),
    (
        "https://example.org/rss?apikey=a&key=b",
        "https://example.org/rss?apikey=REDACTED&key=REDACTED",
    ),
    (
        "https://example.org/rss?access_token=a;sig=b",
        "https://example.org/rss?access_token=REDACTED;sig=REDACTED",
    ),
    ("https://example.org/rss?to%6Ben=abc", "https://example.org/rss?to%6Ben=REDACTED"),
    ("https://example.org/rss?token=", "https://example.org/rss?token="),  # nothing to hide
    ("https://example.org/rss?token", "https://example.org/rss?token"),
    ("https://example.org/rss?tokens=abc&monkey=1", "https://example.org/rss?tokens=abc&monkey=1"),
    # fragments: kept, unless they carry a secret parameter (OAuth implicit flow)
    ("https://example.org/a#section-2", "https://example.org/a#section-2"),
    (
        "https://example.org/cb#access_token=abc&x=1",
        "https://example.org/cb#access_token=REDACTED&x=1",
    ),
    (
        "https://example.org/a?secret=x#password=y",
        "https://example.org/a?secret=REDACTED#password=REDACTED",
    ),
    # chat webhook tokens in the path
    (
        "https://hooks.slack.com/services/T0001/B0001/XXXXabcd",
        "https://hooks.slack.com/services/T0001/B0001/REDACTED",
    ),
    (
        "https://discord.com/api/webhooks/123456/tok-EN_1",
        "https://discord.com/api/webhooks/123456/REDACTED",
    ),
    (
        "https://discord.com/api/v10/webhooks/123456/tok/slack?wait=true",
        "https://discord.com/api/v10/webhooks/123456/REDACTED/slack?wait=true",
    ),
    # nothing secret: the URL as written (no normalisation)
    ("HTTP://Example.ORG:80/a/../b?q=1&&p#f", "HTTP://Example.ORG:80/a/../b?q=1&&p#f"),
    ("https://example.org/@alice.rss", "https://example.org/@alice.rss"),
]


@pytest.mark.parametrize(("url", "shown"), REDACTED_URLS)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # redacting twice changes nothing


MALFORMED = [
    "",
    " ",
    "http://",
    "http://[::1",
    "http://user:pw@",
    "::::",
    "?token",
    "#",
    "@",
    "http://h:99999999999/",
    "http://\x00:\ud800@h",
    "//u:p@h",
    "%zz://%zz@%zz",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_urls_never_raise(text: str) -> None:
    assert isinstance(redact_url(text), str)
    assert isinstance(without_credentials(text), str)
    assert isinstance(redact_text(f"see {text} now", text), str)


@given(st.text())
def test_any_text_is_redacted_without_raising(text: str) -> None:
    assert redact_url(redact_url(text)) == redact_url(text)
    redact_text(text, text)
    without_credentials(text)


_SECRET = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~", min_size=1, max_size=20)


@given(
    user=_SECRET,
    password=_SECRET,
    token=_SECRET,
    port=st.integers(1, 65535),
    host=st.sampled_from(["example.org", "127.0.0.1", "[::1]", "[2001:db8::7]"]),
    name=st.sampled_from(DEFAULT_SECRET_PARAMS),
    upper=st.booleans(),
)
def test_credentials_never_survive(
    user: str, password: str, token: str, port: int, host: str, name: str, upper: bool
) -> None:
    # Prefixes that never occur in the rest of the URL: "T" + "_" was in "CLIENT_SECRET".
    user, password, token = "9u" + user, "9p" + password, "9t" + token
    name = name.upper() if upper else name
    url = f"https://{user}:{password}@{host}:{port}/feed.xml?page=2&{name}={token}#top"
    shown = redact_url(url)
    assert user not in shown and password not in shown and token not in shown
    assert shown == f"https://REDACTED@{host}:{port}/feed.xml?page=2&{name}=REDACTED#top"
    bare = without_credentials(url)
    assert bare == f"https://{host}:{port}/feed.xml?page=2#top"


def test_configured_params_replace_the_defaults() -> None:
    use_secret_params(["X-Session", "code"])
    assert redact_url("https://h/a?x-session=1&CODE=2&token=3") == (
        "https://h/a?x-session=REDACTED&CODE=REDACTED&token=3"
    )


def test_without_credentials_drops_userinfo_and_secret_params() -> None:
    url = "http://user:pw@127.0.0.1:8080/feed.xml?Token=abc&page=2&sig=x"
    assert without_credentials(url) == "http://127.0.0.1:8080/feed.xml?page=2"
    assert without_credentials("http://u:p@h/f?token=a") == "http://h/f"
    assert without_credentials("https://h/services/T/B/tok") == "https://h/services/T/B/tok"


def test_text_redacts_every_url_and_the_known_credentials_alone() -> None:
    feed = "http://user:s3cretpw@h:81/f?token=t0ken123"
    slack = "https://hooks.slack.com/services/T1/B1/xoxbTOKEN"
    message = (
        f"GET {feed}, then 'http://other:pw99@h2/x'. Server said: bad token t0ken123 for user:"
        "s3cretpw at /services/T1/B1/xoxbTOKEN."
    )
    shown = redact_text(message, feed, slack)
    assert shown == (
        "GET http://REDACTED@h:81/f?token=REDACTED, then 'http://REDACTED@h2/x'. Server said: "
        "bad token REDACTED for REDACTED at /services/T1/B1/REDACTED."
    )


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://su:SEKRITECHOPW@h/hook", "su:SEKRITECHOPW"),
        ("http://su:SEKRITECHOPWD@h/hook", "su:SEKRITECHOPWD"),  # base64 with "==" padding
        ("http://SEKRITECHOUSERTOK@h/hook", "SEKRITECHOUSERTOK:"),
        ("http://us%40er:p%40ss%2Fword@h/hook", "us@er:p@ss/word"),
    ],
)
def test_the_basic_auth_header_a_server_echoes_is_masked(url: str, sent: str) -> None:
    # What the client sends for userinfo, as a receiver's error page may repeat it.
    header = "Basic " + base64.b64encode(sent.encode()).decode()
    shown = redact_text(f"403 Forbidden: auth={header}", url)
    assert shown == "403 Forbidden: auth=Basic REDACTED", shown
    # Without its "=" padding too, as some servers print a decoded-and-re-encoded value.
    unpadded = header.rstrip("=")
    shown = redact_text(f"403 Forbidden: auth={unpadded}", url)
    assert shown == "403 Forbidden: auth=Basic REDACTED", shown


def test_a_token_a_server_echoes_base64_encoded_is_masked() -> None:
    url = "http://h/hook?token=SINKTOKENx"
    encoded = base64.b64encode(b"SINKTOKENx").decode()
    for shown in (encoded, encoded.rstrip("=")):
        assert redact_text(f"bad token {shown}", url) == "bad token REDACTED"


def test_short_credentials_are_masked_in_urls_but_not_searched_for_in_text() -> None:
    url = "http://a:pw@h/?key=1"
    assert redact_url(url) == "http://REDACTED@h/?key=REDACTED"
    assert redact_text("key 1 of 1: pw", url) == "key 1 of 1: pw"


def test_log_lines_are_redacted_tracebacks_included() -> None:
    formatter = RedactingFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("cannot open http://u:s3cret@h/f?token=abcd")
    except ValueError:
        record = logging.LogRecord(
            "monitor", logging.WARNING, __file__, 1, "polled %s", ("http://u:pw@h/",), None
        )
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert line.startswith("WARNING polled http://REDACTED@h/")
    assert "ValueError: cannot open http://REDACTED@h/f?token=REDACTED" in line
    assert "s3cret" not in line and "abcd" not in line


@pytest.mark.parametrize(
    "url",
    [
        "https://b.s3.amazonaws.com/f.xml?X-Amz-Credential=AKIAX%2F2026&X-Amz-Signature=ab12cd34"
        "&X-Amz-Security-Token=tok123456&page=2",
        "https://storage.googleapis.com/b/f.xml?X-Goog-Credential=svc%40p&X-Goog-Signature=9f8e7d6c",
        "https://feeds.example/rss?client_secret=s3cr3t99&refresh_token=rt-12345&page=2",
        "https://feeds.example/rss?passwd=hunter22&pwd=hunter33&private_token=glpat-xyz123",
    ],
)
def test_presigned_and_oauth_credentials_are_redacted_by_default(url: str) -> None:
    shown = redact_url(url)
    for secret in ("AKIAX", "ab12cd34", "tok123456", "svc", "9f8e7d6c", "s3cr3t99", "rt-12345"):
        assert secret not in shown, shown
    for secret in ("hunter22", "hunter33", "glpat-xyz123"):
        assert secret not in shown, shown
    assert "page=2" in shown or "page" not in url


def test_a_password_with_an_unescaped_at_sign_is_masked_in_pieces() -> None:
    # The client split "DB@PASSWORD" at its first "@" and quoted the rest as the host.
    url = "postgresql+psycopg://u:DB@PASSWORD@127.0.0.1:1/db"
    message = "failed to resolve host 'PASSWORD@127.0.0.1': Name or service not known"
    assert "PASSWORD" not in redact_text(message, url)
    assert "PASSWORD" not in redact_text(f"connection to {url} failed", url)


@pytest.mark.parametrize(
    "url",
    [
        "https://h.example/r?to=http://user:pw1234@host/?api_key=KEY12345&page=2",
        "https://h.example/r?to=http%3A%2F%2Fuser%3Apw1234%40host%2F%3Fapi_key%3DKEY12345&page=2",
        "https://h.example/r?a=1#next=https://user:pw1234@host/x?token=KEY12345",
    ],
)
def test_a_url_inside_a_parameter_has_its_credentials_masked(url: str) -> None:
    for shown in (
        redact_url(url),
        redact_text(f"failed: {url}"),
        redact_text("pw1234 KEY12345", url),
    ):
        assert "pw1234" not in shown and "KEY12345" not in shown, shown
    assert "page=2" in redact_url(url) or "page" not in url


def test_a_url_inside_a_parameter_without_credentials_is_shown_as_written() -> None:
    url = "https://h.example/r?to=https%3A%2F%2Fexample.org%2Fnews&page=2"
    assert redact_url(url) == url


@pytest.mark.parametrize(
    ("secret", "repeated"),
    [
        ("plainsecretNOPREFIX", "plainsecretNOPREFIX"),  # used as its UTF-8 bytes
        (
            "whsec_c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg=",
            "whsec_c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg=",
        ),
        ("whsec_c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg=", "c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg"),
        ("whsec_c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg=", "secretsecretsecret12345678"),  # the key
        ("whsec_3q2+796tvu/erb7v", "3q2+796tvu/erb7v"),  # a binary key: its base64 only
    ],
)
def test_a_sink_secret_a_receiver_repeats_is_masked(secret: str, repeated: str) -> None:
    answer = f"401: signature mismatch for secret {repeated}; see the docs"
    shown = redact_text(answer, "https://hooks.example.org/x", secrets=secrets_of(secret))
    assert repeated not in shown
    assert shown == "401: signature mismatch for secret REDACTED; see the docs"


def test_a_header_value_a_receiver_repeats_is_masked_with_or_without_its_scheme() -> None:
    found = secrets_of(None, {"Authorization": "Bearer tok-123456"})
    assert redact_text("bad Bearer tok-123456", secrets=found) == "bad REDACTED"
    assert redact_text("bad token tok-123456", secrets=found) == "bad token REDACTED"


@pytest.mark.parametrize("name", ["sessiontoken", "session", "jwt", "sid", "access_key"])
def test_session_and_bearer_parameters_are_redacted_by_default(
    name: str, default_params: None
) -> None:
    # An outside probe: `?sessiontoken=` was printed, logged and sent in alerts.
    shown = redact_url(f"https://feeds.example.org/rss?page=2&{name}=s3cr3tvalue")
    assert "s3cr3tvalue" not in shown and "page=2" in shown
