"""GMO's wire format, error classification and OrderIDs, without HTTP."""

from __future__ import annotations

import re

import pytest

from tools.payments.gateway import DeclineReason
from tools.payments.gmo.errors import Outcome, classify, most_significant
from tools.payments.gmo.order_ids import OrderKind, kind_of, order_id_for
from tools.payments.gmo.protocol import (
    ErrorPair,
    FormEncodingError,
    MalformedReply,
    charset_of,
    decode_notification,
    decode_reply,
    encode_form,
)


def test_request_values_are_shift_jis_percent_escapes() -> None:
    body = encode_form({"CustomerName": "山田 花子", "TelNo": "0312345678", "Token": "a+b/c="})
    # Shift_JIS: 山 8E 52 ('R'), 田 93 63 ('c'), 花 89 D4, 子 8E 71 ('q'); the space becomes '+'.
    assert body == b"CustomerName=%8ER%93c+%89%D4%8Eq&TelNo=0312345678&Token=a%2Bb%2Fc%3D"


def test_a_value_shift_jis_cannot_carry_names_the_field_only() -> None:
    with pytest.raises(FormEncodingError) as refused:
        encode_form({"CustomerName": "花子\U0001f338"})
    assert refused.value.field_name == "CustomerName"
    assert "花子" not in str(refused.value)


def test_a_reply_is_read_raw_without_url_decoding() -> None:
    reply = decode_reply(b"TranID=123aZ&Token=abc123/+-_&StartUrl=https://x.y/z%2F")
    assert dict(reply.fields) == {"TranID": "123aZ", "Token": "abc123/+-_",
                                  "StartUrl": "https://x.y/z%2F"}
    assert reply.ok


def test_the_3ds_redirect_url_keeps_its_own_query() -> None:
    reply = decode_reply(b"ACS=2&RedirectUrl=https://manage.tds2gw.gmopg.jp/api/v2/brw/callback"
                         b"?transId=6e48e31f&t=dccc8a7e")
    assert reply.get("RedirectUrl") == ("https://manage.tds2gw.gmopg.jp/api/v2/brw/callback"
                                        "?transId=6e48e31f&t=dccc8a7e")
    assert reply.get("ACS") == "2"
    assert "t" not in reply.fields


def test_multiple_errors_pair_by_position() -> None:
    reply = decode_reply(b"ErrCode=E01|E01|42G&ErrInfo=E01050002|E01060006|42G020000")
    assert not reply.ok
    assert reply.errors == (ErrorPair("E01", "E01050002"), ErrorPair("E01", "E01060006"),
                            ErrorPair("42G", "42G020000"))


@pytest.mark.parametrize("body", [b"", b"<html><body>Service Unavailable</body></html>",
                                  b"\x82", b"=value"])
def test_what_is_not_gmos_format_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedReply):
        decode_reply(body, "text/plain;charset=Windows-31J")


def test_japanese_in_replies_is_decoded_from_windows_31j() -> None:
    reply = decode_reply("Note=コンビニ".encode("cp932"), "text/plain; charset=shift_jis")
    assert reply.get("Note") == "コンビニ"


@pytest.mark.parametrize(("content_type", "codec"), [
    ("text/plain;charset=Windows-31J", "cp932"), ("text/plain; charset=Shift_JIS", "cp932"),
    ("text/plain; charset=UTF-8", "utf-8"), (None, "cp932"), ("text/plain", "cp932"),
])
def test_charset_detection(content_type: str | None, codec: str) -> None:
    assert charset_of(content_type) == codec


def test_notifications_are_percent_decoded_and_refuse_repeated_keys() -> None:
    body = b"OrderID=K1&CustomerName=%8ER%93c&Empty="
    assert decode_notification(body) == {"OrderID": "K1", "CustomerName": "山田", "Empty": ""}
    with pytest.raises(MalformedReply):
        decode_notification(b"OrderID=K1&OrderID=K2")


@pytest.mark.parametrize(("info", "outcome"), [
    ("E01040010", Outcome.ORDER_EXISTS), ("E11010001", Outcome.ALREADY_SETTLED),
    ("E01110002", Outcome.NOT_FOUND), ("42C010000", Outcome.UNCERTAIN),
    ("E91099999", Outcome.UNCERTAIN), ("E90010001", Outcome.UNCERTAIN),
    ("E92000001", Outcome.BUSY), ("42G020000", Outcome.DECLINED), ("EX1000302", Outcome.DECLINED),
    ("E21010001", Outcome.DECLINED), ("E01010001", Outcome.REJECTED),
    ("E61030001", Outcome.REJECTED),
])
def test_classification(info: str, outcome: Outcome) -> None:
    assert classify(info).outcome is outcome


def test_the_most_money_relevant_error_decides() -> None:
    errors = [ErrorPair("E01", "E01010001"), ErrorPair("42C", "42C010000"),
              ErrorPair("42G", "42G020000")]
    assert most_significant(errors).info == "42C010000"
    decline = most_significant([ErrorPair("E01", "E01010001"), ErrorPair("42G", "42G440000")])
    assert decline.reason is DeclineReason.INCORRECT_CVC


def test_order_ids_fit_gmo_and_are_stable() -> None:
    first = order_id_for("chatpay:q1:pay", OrderKind.CARD)
    assert re.fullmatch(r"[A-Za-z0-9-]{27}", first)
    assert first == order_id_for("chatpay:q1:pay", OrderKind.CARD)
    assert first != order_id_for("chatpay:q2:pay", OrderKind.CARD)
    assert first != order_id_for("chatpay:q1:pay", OrderKind.KONBINI)
    prefixed = order_id_for("chatpay:q1:pay", OrderKind.KONBINI, "stg1")
    assert prefixed.startswith("stg1K") and len(prefixed) == 27
    assert kind_of(prefixed, "stg1") is OrderKind.KONBINI
    assert kind_of(first) is OrderKind.CARD
    assert kind_of("someone-elses-order") is None
    with pytest.raises(ValueError):
        order_id_for("", OrderKind.CARD)
