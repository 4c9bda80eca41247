"""Result notifications: what `verify_webhook` accepts; `confirm_webhook` asks GMO to agree."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import respx

from tests.tools.payments.gmo.replies import SHOP_ID, SHOP_PASS, cvs_trade, error, trade
from tools.payments.gateway import WebhookVerificationError
from tools.payments.gmo import GMOGateway, OrderKind

HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def notification(order_id: str, **overrides: str) -> bytes:
    """A convenience-store payment notification, fields as in recorded bodies (masked passwords)."""
    fields = {
        "ShopID": SHOP_ID, "ShopPass": "*" * 10, "AccessID": "422a20615f52ae87a7572561d22a4f92",
        "AccessPass": "*" * 32, "OrderID": order_id, "Status": "PAYSUCCESS", "JobCd": "",
        "Amount": "2840", "Tax": "0", "Currency": "JPN", "Forward": "", "Method": "",
        "PayTimes": "", "TranID": "16101900000002212555", "Approve": "",
        "TranDate": "20250301120312", "ErrCode": "", "ErrInfo": "", "PayType": "3",
        "CvsCode": "00007", "CvsConfNo": "", "CvsReceiptNo": "2391837465012",
        "PaymentTerm": "20250304235959", "FinishDate": "20250302093000",
    }
    fields.update(overrides)
    return urlencode(fields, encoding="cp932").encode("ascii")


@pytest.fixture
def order(gateway: GMOGateway) -> str:
    return gateway.gmo_order_id("chatpay:quote-91c2:pay", OrderKind.KONBINI)


def test_a_store_payment_notification_becomes_a_konbini_paid_event(gateway: GMOGateway,
                                                                    order: str) -> None:
    event = gateway.verify_webhook(HEADERS, notification(order))

    assert event.type == "konbini.paid"
    assert event.gateway_ref == order
    assert event.data["amount"] == 2840
    assert event.data["payment_number"] == "2391837465012"
    assert event.data["confirmed"] is False
    assert event.created_at == datetime(2025, 3, 2, 0, 30, tzinfo=UTC)  # FinishDate 09:30 JST


def test_a_resent_notification_keeps_its_id_and_another_status_does_not(
        gateway: GMOGateway, order: str) -> None:
    first = gateway.verify_webhook(HEADERS, notification(order))
    again = gateway.verify_webhook(HEADERS, notification(order))
    expired = gateway.verify_webhook(HEADERS, notification(order, Status="EXPIRED"))

    assert first.id == again.id
    assert expired.id != first.id
    assert expired.type == "konbini.expired"


def test_a_card_notification(gateway: GMOGateway) -> None:
    body = notification("C" + "0" * 26, PayType="0", Status="CAPTURE", JobCd="CAPTURE",
                        CvsCode="", CvsReceiptNo="")
    assert gateway.verify_webhook(HEADERS, body).type == "card.captured"


def test_the_real_shop_password_is_accepted_too(gateway: GMOGateway, order: str) -> None:
    event = gateway.verify_webhook(HEADERS, notification(order, ShopPass=SHOP_PASS))
    assert event.type == "konbini.paid"


@pytest.mark.parametrize("overrides", [
    {"ShopID": "tshop00099999"},  # another shop's notification, or a guess
    {"ShopPass": "wrongpass1"},  # neither GMO's mask nor our password
    {"ShopPass": ""},
])
def test_wrong_shop_credentials_are_bad_signatures(gateway: GMOGateway, order: str,
                                                   overrides: dict[str, str]) -> None:
    with pytest.raises(WebhookVerificationError) as refused:
        gateway.verify_webhook(HEADERS, notification(order, **overrides))
    assert refused.value.code == "bad_signature"


@pytest.mark.parametrize("body", [b"", b"not a form", b"ShopID=x&ShopID=y&OrderID=1&Status=A",
                                  b"ShopID=tshop00012345&Status=PAYSUCCESS&PayType=3",
                                  b"\xff\xfe"])
def test_malformed_notifications_are_refused(gateway: GMOGateway, body: bytes) -> None:
    with pytest.raises(WebhookVerificationError) as refused:
        gateway.verify_webhook(HEADERS, body)
    assert refused.value.code == "malformed"


async def test_confirmation_asks_gmo_and_marks_the_event_confirmed(
        gateway: GMOGateway, order: str, gmo_http: respx.MockRouter) -> None:
    search = gmo_http.post("SearchTradeMulti.idPass").mock(
        return_value=cvs_trade(order, "PAYSUCCESS"))
    event = gateway.verify_webhook(HEADERS, notification(order))

    confirmed = await gateway.confirm_webhook(event)

    assert confirmed.data["confirmed"] is True
    assert (confirmed.id, confirmed.type) == (event.id, "konbini.paid")
    assert search.called


@pytest.mark.parametrize("answer", ["REQSUCCESS", "missing", "other_amount"])
async def test_a_notification_gmo_does_not_confirm_is_refused(
        gateway: GMOGateway, order: str, gmo_http: respx.MockRouter, answer: str) -> None:
    route = gmo_http.post("SearchTradeMulti.idPass")
    if answer == "missing":
        route.mock(return_value=error("E01110002"))
    elif answer == "other_amount":
        route.mock(return_value=cvs_trade(order, "PAYSUCCESS", amount=100))
    else:
        route.mock(return_value=cvs_trade(order, answer))
    event = gateway.verify_webhook(HEADERS, notification(order))

    with pytest.raises(WebhookVerificationError) as refused:
        await gateway.confirm_webhook(event)

    assert refused.value.code == "bad_signature"


async def test_card_notifications_are_confirmed_with_searchtrade(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id("chatpay:quote-7f3a:pay")
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "CAPTURE", 1800))
    body = notification(order, PayType="0", Status="CAPTURE", Amount="1800", CvsCode="")
    event = gateway.verify_webhook(HEADERS, body)

    confirmed = await gateway.confirm_webhook(event)

    assert confirmed.data["confirmed"] is True
