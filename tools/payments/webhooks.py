"""Signed webhooks from a payment gateway to the merchant, independent of which gateway sends them.

This module only houses the wire format of a notification (a JSON `WebhookEvent`), its signature and
its verification. The signature is an HMAC-SHA256 over `"<timestamp>." + body` with a shared secret,
sent as two headers:

    Chatpay-Timestamp: 1767225600
    Chatpay-Signature: v1=<64 hex digits>[,v1=<hex>...]

Several `v1=` values may be present so that a secret can be rotated without dropping events. The
timestamp is signed too, so an old event cannot be replayed with a fresh timestamp; events outside
the tolerance window (in either direction) are refused. Remembering event ids to drop exact replays
inside the window is the receiver's job; `new_event_id` makes ids unique to allow it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tools.payments.gateway import WebhookEvent, WebhookVerificationError

TIMESTAMP_HEADER = "Chatpay-Timestamp"
SIGNATURE_HEADER = "Chatpay-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


def new_event_id() -> str:
    """A fresh, unique event id."""
    return f"evt_{uuid.uuid4().hex}"


def compute_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>." + body` under `secret`."""
    if not secret:
        # An empty key would make every signature forgeable; that is a misconfiguration, not input.
        raise ValueError("webhook secret must not be empty")
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The headers that make `body` a verifiable webhook sent at `timestamp` (Unix seconds)."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SCHEME}={compute_signature(body, secret, timestamp)}",
    }


def encode_event(event: WebhookEvent) -> bytes:
    """The JSON body of an event (compact, keys sorted, so the same event always signs the same)."""
    payload: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "order_id": event.order_id,
        "gateway_ref": event.gateway_ref,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode_event(body: bytes) -> WebhookEvent:
    """Parse an event body; raises WebhookVerificationError('malformed')."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookVerificationError("malformed") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("malformed")
    event_id, event_type, order_id = payload.get("id"), payload.get("type"), payload.get("order_id")
    gateway_ref, created_raw = payload.get("gateway_ref"), payload.get("created_at")
    data = payload.get("data", {})
    if not all(isinstance(v, str) and v for v in (event_id, event_type, order_id, created_raw)):
        raise WebhookVerificationError("malformed")
    if gateway_ref is not None and not isinstance(gateway_ref, str):
        raise WebhookVerificationError("malformed")
    if not isinstance(data, dict):
        raise WebhookVerificationError("malformed")
    try:
        created_at = datetime.fromisoformat(str(created_raw))
    except ValueError:
        raise WebhookVerificationError("malformed") from None
    if created_at.tzinfo is None:
        raise WebhookVerificationError("malformed")
    return WebhookEvent(
        id=str(event_id),
        type=str(event_type),
        order_id=str(order_id),
        gateway_ref=gateway_ref,
        created_at=created_at,
        data=data,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # HTTP header names are case-insensitive and frameworks disagree on how they spell them.
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _parse_signatures(header: str) -> list[bytes]:
    signatures = []
    for part in header.split(","):
        scheme, sep, value = part.strip().partition("=")
        if sep and scheme == SCHEME and value:
            signatures.append(value.encode())
    return signatures


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> WebhookEvent:
    """Check a webhook's signature and timestamp and return its event.

    Raises WebhookVerificationError with code `malformed` (headers or body unusable),
    `bad_signature` (no `v1` value matches: wrong secret, tampered body or timestamp) or
    `stale_timestamp` (genuine, but sent more than `tolerance_s` seconds before or after `now`).
    The signature is checked before anything in the body is believed.
    """
    timestamp_raw = _header(headers, TIMESTAMP_HEADER)
    signature_raw = _header(headers, SIGNATURE_HEADER)
    if timestamp_raw is None or signature_raw is None:
        raise WebhookVerificationError("malformed")
    timestamp_raw = timestamp_raw.strip()
    if not timestamp_raw.isascii() or not timestamp_raw.isdigit():
        raise WebhookVerificationError("malformed")
    timestamp = int(timestamp_raw)
    candidates = _parse_signatures(signature_raw)
    if not candidates:
        raise WebhookVerificationError("malformed")

    expected = compute_signature(body, secret, timestamp).encode()
    # Compare against every candidate (no early exit) in constant time per comparison.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("bad_signature")

    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise WebhookVerificationError("stale_timestamp")
    return decode_event(body)
