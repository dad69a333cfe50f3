"""Standard Webhooks signing: our signatures verify with the reference library and vice versa."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from monitor.alerts.signing import decode_secret, sign, verify

SECRET = "whsec_" + base64.b64encode(b"a 24-byte test secret!!!").decode()
BODY = '{"type":"watchlist.match","data":{"title":"حفتر يلتقي بوفد في طرابلس"}}'.encode()
MSG_ID = "9a3f1c2e-6a57-4b43-9d3e-0f1d6f8f5b10"


def _headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def test_signature_verifies_with_reference_library() -> None:
    now = int(time.time())
    headers = _headers(SECRET, MSG_ID, now, BODY)
    parsed = Webhook(SECRET).verify(BODY, headers)
    assert parsed["data"]["title"] == "حفتر يلتقي بوفد في طرابلس"


def test_signature_equals_reference_signature() -> None:
    timestamp = 1_764_000_000
    reference = Webhook(SECRET).sign(
        MSG_ID, datetime.fromtimestamp(timestamp, tz=UTC), BODY.decode()
    )
    assert sign(SECRET, MSG_ID, timestamp, BODY) == reference


def test_reference_signature_verifies_with_ours() -> None:
    now = int(time.time())
    reference = Webhook(SECRET).sign(MSG_ID, datetime.fromtimestamp(now, tz=UTC), BODY.decode())
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(now), "webhook-signature": reference}
    assert verify(SECRET, headers, BODY)


def test_secret_without_prefix_is_its_utf8_bytes() -> None:
    secret = "plain shared password ü"
    now = int(time.time())
    headers = _headers(secret, MSG_ID, now, BODY)
    Webhook(secret.encode("utf-8")).verify(BODY, headers)
    assert verify(secret, headers, BODY)
    assert decode_secret(secret) == secret.encode("utf-8")


def test_unpadded_whsec_secret_is_accepted_like_the_reference() -> None:
    unpadded = "whsec_" + base64.b64encode(b"sixteen-byte-key!").decode().rstrip("=")
    assert decode_secret(unpadded) == b"sixteen-byte-key!"
    now = int(time.time())
    Webhook(unpadded).verify(BODY, _headers(unpadded, MSG_ID, now, BODY))


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not*base64!"])
def test_bad_secret_is_rejected(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        decode_secret(secret)


def test_tampered_body_fails_both_verifiers() -> None:
    now = int(time.time())
    headers = _headers(SECRET, MSG_ID, now, BODY)
    tampered = BODY.replace("طرابلس".encode(), b"Benghazi")
    assert not verify(SECRET, headers, tampered)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, headers)


def test_other_id_or_secret_fails() -> None:
    now = int(time.time())
    headers = _headers(SECRET, MSG_ID, now, BODY)
    assert not verify(SECRET, {**headers, "webhook-id": "another"}, BODY)
    other_secret = "whsec_" + base64.b64encode(b"another secret").decode()
    assert not verify(other_secret, headers, BODY)


def test_old_and_future_timestamps_fail() -> None:
    now = 1_764_000_000
    stale = _headers(SECRET, MSG_ID, now - 301, BODY)
    future = _headers(SECRET, MSG_ID, now + 301, BODY)
    fresh = _headers(SECRET, MSG_ID, now - 299, BODY)
    assert not verify(SECRET, stale, BODY, now=now)
    assert not verify(SECRET, future, BODY, now=now)
    assert verify(SECRET, fresh, BODY, now=now)
    assert verify(SECRET, stale, BODY, now=now, tolerance=3600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(BODY, _headers(SECRET, MSG_ID, int(time.time()) - 3600, BODY))


def test_any_of_several_signatures_may_match() -> None:
    now = 1_764_000_000
    good = sign(SECRET, MSG_ID, now, BODY)
    wrong = sign("whsec_" + base64.b64encode(b"rotated-out").decode(), MSG_ID, now, BODY)
    headers = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(now),
        "webhook-signature": f"v2,abc v1,***notbase64 nonsense {wrong} {good}",
    }
    assert verify(SECRET, headers, BODY, now=now)
    headers["webhook-signature"] = f"{wrong} v2,{good.split(',', 1)[1]}"
    assert not verify(SECRET, headers, BODY, now=now)


def test_header_names_are_case_insensitive_and_required() -> None:
    now = 1_764_000_000
    headers = {key.title(): value for key, value in _headers(SECRET, MSG_ID, now, BODY).items()}
    assert verify(SECRET, headers, BODY, now=now)
    for missing in ("Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"):
        partial = {key: value for key, value in headers.items() if key != missing}
        assert not verify(SECRET, partial, BODY, now=now)
    assert not verify(SECRET, {**headers, "Webhook-Timestamp": "soon"}, BODY, now=now)


@given(msg_id=st.text(min_size=1, max_size=40), body=st.binary(max_size=2000))
def test_sign_then_verify_round_trips(msg_id: str, body: bytes) -> None:
    now = 1_764_000_000
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign(SECRET, msg_id, now, body),
    }
    assert verify(SECRET, headers, body, now=now)
    assert not verify(SECRET, headers, body + b"x", now=now)
