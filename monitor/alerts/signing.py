"""Standard Webhooks signatures: sign a body for the ``webhook-signature`` header, and verify one.

Spec: https://www.standardwebhooks.com. The signed content is ``{id}.{timestamp}.{body}``; the
signature is ``v1,<base64 HMAC-SHA256>``. Secrets are written ``whsec_<base64>`` and the key is
the decoded base64. A secret without the ``whsec_`` prefix is used as its UTF-8 bytes (so a plain
shared password works too); a receiver using the reference ``standardwebhooks`` library then
passes ``secret.encode()`` (bytes) to ``Webhook(...)``, because that library base64-decodes a
string secret even without the prefix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = [
    "SECRET_PREFIX",
    "SIGNATURE_VERSION",
    "decode_secret",
    "secret_forms",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"


def decode_secret(secret: str) -> bytes:
    """The HMAC key for ``secret``: base64-decoded after ``whsec_``, else the UTF-8 bytes.

    Raises ``ValueError`` for an empty secret or a ``whsec_`` secret that is not base64, so a
    config loader can call this to reject a bad secret before anything is sent.
    """
    if secret.startswith(SECRET_PREFIX):
        # Whitespace is dropped: `base64` wraps its output at 76 characters, and a secret
        # pasted from it carries the line break.
        encoded = "".join(secret[len(SECRET_PREFIX) :].split())
        try:
            # Missing padding is tolerated, as the reference implementation does.
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error as exc:
            raise ValueError(
                f"webhook secret starts with {SECRET_PREFIX!r} but the rest is not base64"
            ) from exc
    else:
        if not secret.strip():
            raise ValueError("webhook secret is empty or only spaces")
        key = secret.encode("utf-8")
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def secret_forms(secret: str) -> tuple[str, ...]:
    """How ``secret`` may be written back by a receiver that repeats it: as written, without
    ``whsec_`` (with and without its base64 padding), and its key when that is text."""
    forms = [secret]
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX) :]
        forms += [encoded, encoded.rstrip("=")]
    try:
        forms.append(decode_secret(secret).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        pass  # an unusable secret, or a binary key: nothing more to write back as text
    return tuple(forms)


def _signature_bytes(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed_content, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for ``body`` sent as ``msg_id`` at unix ``timestamp``."""
    digest = _signature_bytes(decode_secret(secret), msg_id, timestamp, body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = 300,
    now: int | None = None,
) -> bool:
    """True when ``headers`` carry a valid signature of ``body`` made with ``secret``.

    False when a header is missing, the timestamp is more than ``tolerance`` seconds from ``now``
    (default: the clock) in either direction, or none of the space-separated ``v1,`` signatures
    matches. Header names are matched case-insensitively; comparisons are constant-time.
    """
    msg_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp_text or not signatures:
        return False
    try:
        timestamp = int(timestamp_text.strip())
    except ValueError:
        return False
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = _signature_bytes(decode_secret(secret), msg_id, timestamp, body)
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(expected, given):
            return True
    return False
