"""`tools.payments.webhooks`: signing and verification shared by every gateway."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from tools.payments import webhooks
from tools.payments.gateway import WebhookEvent, WebhookVerificationError

SECRET = "whsec_unit"
NOW = datetime(2030, 1, 15, 3, 0, tzinfo=UTC)
TS = int(NOW.timestamp())


def _event() -> WebhookEvent:
    return WebhookEvent(
        id=webhooks.new_event_id(),
        type="konbini.paid",
        order_id="o-1",
        gateway_ref="kb_1",
        created_at=NOW,
        data={"amount": 2640},
    )


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"id":"evt_1"}'
    headers = webhooks.sign(body, SECRET, TS)
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers == {"Chatpay-Timestamp": str(TS), "Chatpay-Signature": f"v1={expected}"}


def test_round_trip_returns_the_event() -> None:
    event = _event()
    body = webhooks.encode_event(event)
    assert webhooks.verify(webhooks.sign(body, SECRET, TS), body, SECRET, now=NOW) == event


def test_header_names_are_case_insensitive() -> None:
    body = webhooks.encode_event(_event())
    headers = {k.lower(): v for k, v in webhooks.sign(body, SECRET, TS).items()}
    assert webhooks.verify(headers, body, SECRET, now=NOW).type == "konbini.paid"


def test_a_rotated_secret_is_accepted_among_several_signatures() -> None:
    body = webhooks.encode_event(_event())
    old = webhooks.sign(body, "whsec_old", TS)["Chatpay-Signature"]
    new = webhooks.sign(body, SECRET, TS)["Chatpay-Signature"]
    headers = {"Chatpay-Timestamp": str(TS), "Chatpay-Signature": f"{old},{new}"}
    assert webhooks.verify(headers, body, SECRET, now=NOW).order_id == "o-1"


def _code(headers: dict[str, str], body: bytes, now: datetime = NOW) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        webhooks.verify(headers, body, SECRET, now=now)
    return caught.value.code


def test_wrong_secret_is_a_bad_signature() -> None:
    body = webhooks.encode_event(_event())
    assert _code(webhooks.sign(body, "whsec_other", TS), body) == "bad_signature"


def test_tampered_body_is_a_bad_signature() -> None:
    body = webhooks.encode_event(_event())
    headers = webhooks.sign(body, SECRET, TS)
    assert _code(headers, body.replace(b"2640", b"26400")) == "bad_signature"


def test_moved_timestamp_is_a_bad_signature() -> None:
    body = webhooks.encode_event(_event())
    headers = {**webhooks.sign(body, SECRET, TS - 3600), "Chatpay-Timestamp": str(TS)}
    assert _code(headers, body) == "bad_signature"


@pytest.mark.parametrize("offset", [-301, 301, -86400, 86400])
def test_timestamps_beyond_tolerance_either_way_are_stale(offset: int) -> None:
    body = webhooks.encode_event(_event())
    headers = webhooks.sign(body, SECRET, TS + offset)
    assert _code(headers, body) == "stale_timestamp"


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_within_tolerance_pass(offset: int) -> None:
    body = webhooks.encode_event(_event())
    assert webhooks.verify(
        webhooks.sign(body, SECRET, TS + offset), body, SECRET, now=NOW
    ).id.startswith("evt_")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Chatpay-Timestamp": str(TS)},
        {"Chatpay-Signature": "v1=00"},
        {"Chatpay-Timestamp": "yesterday", "Chatpay-Signature": "v1=00"},
        {"Chatpay-Timestamp": "-5", "Chatpay-Signature": "v1=00"},
        {"Chatpay-Timestamp": str(TS), "Chatpay-Signature": "v0=abc"},
        {"Chatpay-Timestamp": str(TS), "Chatpay-Signature": ""},
    ],
)
def test_missing_or_unparseable_headers_are_malformed(headers: dict[str, str]) -> None:
    assert _code(headers, webhooks.encode_event(_event())) == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"id": "evt_1"}',
        b'{"id":"evt_1","type":"konbini.paid","order_id":"o","created_at":"2030-01-15T03:00:00",'
        b'"gateway_ref":null,"data":{}}',  # naive time
        b'{"id":"evt_1","type":"konbini.paid","order_id":"o","created_at":"2030-01-15T03:00:00Z",'
        b'"gateway_ref":null,"data":[]}',
    ],
)
def test_genuinely_signed_but_unreadable_bodies_are_malformed(body: bytes) -> None:
    assert _code(webhooks.sign(body, SECRET, TS), body) == "malformed"


def test_event_ids_are_unique() -> None:
    assert len({webhooks.new_event_id() for _ in range(1000)}) == 1000


def test_an_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        webhooks.sign(b"{}", "", TS)


def test_created_at_survives_the_round_trip_as_aware_utc() -> None:
    event = _event()
    decoded = webhooks.decode_event(webhooks.encode_event(event))
    assert decoded.created_at == NOW and decoded.created_at.utcoffset() == timedelta(0)
