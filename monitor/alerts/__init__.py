"""Alerts: the webhook payload, Standard Webhooks signatures, and the senders (webhook, Slack,
Discord)."""

from monitor.alerts.payload import (
    EVENT_TYPE,
    ArticleRef,
    MessageFormat,
    build_payload,
    discord_message,
    encode_body,
    render_message,
    slack_message,
)
from monitor.alerts.senders import DELIVERY_REASONS, SinkTarget, send
from monitor.alerts.signing import decode_secret, sign, verify

__all__ = [
    "DELIVERY_REASONS",
    "EVENT_TYPE",
    "ArticleRef",
    "MessageFormat",
    "SinkTarget",
    "build_payload",
    "decode_secret",
    "discord_message",
    "encode_body",
    "render_message",
    "send",
    "sign",
    "slack_message",
    "verify",
]
