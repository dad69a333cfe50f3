"""Retry-After parsing, option checks and the stable reason codes of monitor.fetch/egress."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from monitor.egress import (
    DeadlineExceededError,
    ResponseTooLargeError,
    describe_http_error,
    status_reason,
)
from monitor.fetch import HttpOptions, parse_retry_after

NOW = 1_795_000_000.0  # a fixed Unix time


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (email.utils.formatdate(NOW + 90, usegmt=True), 90.0),
        (email.utils.formatdate(NOW - 90, usegmt=True), 0.0),  # in the past: go now
        ("Sun, 06 Nov 1994 08:49:37 -0000", 0.0),
        (email.utils.formatdate(NOW + 30).replace("+0000", "-0000"), 30.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Wed, 99 Foo 2026 00:00:00 GMT", None),
        # What a hostile or broken server sends: never an exception, never an overflow later.
        ("99999999999999999999", 366 * 86400.0),  # read as at most a year
        # Any number of digits (23 were once read as no answer: probe66 F4), leading zeros.
        ("99999999999999999999999", 366 * 86400.0),
        ("9" * 5000, 366 * 86400.0),
        ("0" * 40 + "7", 7.0),
        ("\u00b2", None),  # a digit to str.isdigit(), not to HTTP
        ("\u0661\u0662", None),  # Arabic-Indic digits
        ("Mon, 01 Jan 2026 99999999999:00:00 GMT", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 366 * 86400.0),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "http_4xx"),
        (404, "http_4xx"),
        (429, "rate_limited"),
        (500, "http_5xx"),
        (503, "http_5xx"),
        (300, "http_error"),
    ],
)
def test_status_reason(status: int, reason: str) -> None:
    assert status_reason(status) == reason


REQUEST = httpx.Request("GET", "https://example.org/rss.xml")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ResponseTooLargeError(10), "too_large"),
        (DeadlineExceededError(60), "timeout"),
        (httpx.ConnectTimeout("x", request=REQUEST), "timeout"),
        (httpx.ReadTimeout("x", request=REQUEST), "timeout"),
        (httpx.PoolTimeout("x", request=REQUEST), "timeout"),
        (httpx.ConnectError("refused", request=REQUEST), "connect_error"),
        (httpx.RemoteProtocolError("x", request=REQUEST), "protocol_error"),
        (httpx.ReadError("x", request=REQUEST), "network_error"),
        (httpx.DecodingError("x", request=REQUEST), "decoding_error"),
        (httpx.TooManyRedirects("x", request=REQUEST), "too_many_redirects"),
        (httpx.UnsupportedProtocol("x", request=REQUEST), "bad_url"),
        (
            httpx.HTTPStatusError(
                "x", request=REQUEST, response=httpx.Response(502, request=REQUEST)
            ),
            "http_5xx",
        ),
    ],
)
def test_every_client_error_has_a_stable_reason(error: httpx.HTTPError, reason: str) -> None:
    failure = describe_http_error(error)
    assert failure.reason == reason
    assert failure.message


def test_connect_error_names_host_and_port() -> None:
    failure = describe_http_error(httpx.ConnectError("refused", request=REQUEST))
    assert "example.org:443" in failure.message


@pytest.mark.parametrize(
    "wrong",
    [
        {"total_timeout": 0},
        {"connect_timeout": -1},
        {"max_body_bytes": 0},
        {"max_redirects": -1},
        {"connections_per_origin": 0},
    ],
)
def test_http_options_refuse_impossible_limits(wrong: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="HttpOptions"):
        HttpOptions(**wrong)  # type: ignore[arg-type]
