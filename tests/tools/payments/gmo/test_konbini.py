"""Convenience-store slips: EntryTranCvs + ExecTranCvs, Shift_JIS shopper fields, safe retries."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import respx

from tests.tools.payments.gmo.replies import (
    ACCESS_ID,
    ACCESS_PASS,
    SHOP_ID,
    SHOP_PASS,
    cvs_trade,
    entry_ok,
    error,
    exec_cvs_ok,
    form,
)
from tools.payments.gateway import Buyer, GatewayError, KonbiniSlip
from tools.payments.gmo import GMOGateway, OrderKind

KEY = "chatpay:quote-91c2:pay"
BUYER = Buyer(name="やまだ はなこ", postal_code="150-0002", address="東京都渋谷区渋谷2-1-1",
              phone="+81 90-1234-5678", email="hanako@example.jp")


async def slip_for(gateway: GMOGateway, *, buyer: Buyer = BUYER,
                   chain: str = "seven_eleven") -> KonbiniSlip:
    return await gateway.create_konbini_slip(order_id="ord_2", amount=2840, buyer=buyer,
                                             store_chain=chain, idempotency_key=KEY)


async def test_a_slip_is_issued_with_the_documented_fields(gateway: GMOGateway,
                                                           gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY, OrderKind.KONBINI)
    entry = gmo_http.post("EntryTranCvs.idPass").mock(return_value=entry_ok())
    execute = gmo_http.post("ExecTranCvs.idPass").mock(return_value=exec_cvs_ok(order))

    slip = await slip_for(gateway)

    assert form(entry.calls.last.request) == {"ShopID": SHOP_ID, "ShopPass": SHOP_PASS,
                                              "OrderID": order, "Amount": "2840", "Tax": "0"}
    assert form(execute.calls.last.request) == {
        "AccessID": ACCESS_ID, "AccessPass": ACCESS_PASS, "OrderID": order,
        "Convenience": "00007", "CustomerName": "やまだ はなこ",
        "CustomerKana": "ヤマダ\u3000ハナコ",
        "TelNo": "09012345678", "MailAddress": "hanako@example.jp", "PaymentTermDay": "3",
        "ReceiptsDisp11": "chatpay support", "ReceiptsDisp12": "0312345678",
        "ReceiptsDisp13": "09:00-18:00",
    }
    # Japanese travels as Shift_JIS (Windows-31J) percent-escapes: や is 0x82E2 there.
    assert b"CustomerName=%82%E2" in execute.calls.last.request.content
    assert slip.gateway_ref == order
    assert slip.store_chain == "seven_eleven"
    assert slip.payment_number == "2391837465012"
    assert slip.amount == 2840
    # PaymentTerm 2025-03-04 23:59:59 in Japan is 14:59:59 UTC.
    assert slip.deadline == datetime(2025, 3, 4, 14, 59, 59, tzinfo=UTC)


async def test_a_retried_request_returns_the_issued_slip(gateway: GMOGateway,
                                                         gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY, OrderKind.KONBINI)
    gmo_http.post("EntryTranCvs.idPass").mock(return_value=error("E01040010"))
    search = gmo_http.post("SearchTradeMulti.idPass").mock(
        return_value=cvs_trade(order, "REQSUCCESS"))
    execute = gmo_http.post("ExecTranCvs.idPass")

    slip = await slip_for(gateway)

    assert form(search.calls.last.request) == {"ShopID": SHOP_ID, "ShopPass": SHOP_PASS,
                                               "OrderID": order, "PayType": "3"}
    assert not execute.called
    assert (slip.payment_number, slip.store_chain) == ("2391837465012", "seven_eleven")


async def test_a_registered_store_order_without_slip_gets_one(gateway: GMOGateway,
                                                              gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY, OrderKind.KONBINI)
    gmo_http.post("EntryTranCvs.idPass").mock(return_value=error("E01040010"))
    gmo_http.post("SearchTradeMulti.idPass").mock(return_value=cvs_trade(order, "UNPROCESSED"))
    execute = gmo_http.post("ExecTranCvs.idPass").mock(return_value=exec_cvs_ok(order))

    slip = await slip_for(gateway)

    assert execute.call_count == 1
    assert slip.payment_number == "2391837465012"


async def test_a_lost_slip_answer_is_a_retryable_gateway_error(gateway: GMOGateway,
                                                               gmo_http: respx.MockRouter) -> None:
    gmo_http.post("EntryTranCvs.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTranCvs.idPass").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(GatewayError) as failed:
        await slip_for(gateway)

    assert failed.value.retryable


async def test_a_refused_slip_carries_gmos_code(gateway: GMOGateway,
                                                gmo_http: respx.MockRouter) -> None:
    gmo_http.post("EntryTranCvs.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTranCvs.idPass").mock(return_value=error("E01060011"))

    with pytest.raises(GatewayError) as refused:
        await slip_for(gateway)

    assert refused.value.code == "E01060011"
    assert not refused.value.retryable


@pytest.mark.parametrize(("buyer", "code"), [
    (Buyer(name="山田 花子", postal_code="150-0002", address="東京都", phone="09012345678",
           email="h@example.jp"), "buyer_kana_required"),
    (Buyer(name="ヤマダ", postal_code="150-0002", address="東京都", phone="12",
           email="h@example.jp"), "buyer_phone_invalid"),
])
async def test_unusable_buyer_fields_are_refused_before_any_request(
        gateway: GMOGateway, buyer: Buyer, code: str) -> None:
    with pytest.raises(GatewayError) as refused:
        await slip_for(gateway, buyer=buyer)
    assert refused.value.code == code


async def test_a_name_shift_jis_cannot_carry_is_refused_without_echoing_it(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    gmo_http.post("EntryTranCvs.idPass").mock(return_value=entry_ok())
    execute = gmo_http.post("ExecTranCvs.idPass")
    buyer = Buyer(name="ヤマダ", postal_code="1", address="-", phone="09012345678",
                  email="h\U0001f600@example.jp")

    with pytest.raises(GatewayError) as refused:
        await slip_for(gateway, buyer=buyer)

    assert refused.value.code == "unencodable_field"
    assert "MailAddress" in str(refused.value)
    assert "\U0001f600" not in str(refused.value)
    assert not execute.called


async def test_unknown_store_chains_are_refused(gateway: GMOGateway) -> None:
    with pytest.raises(GatewayError) as refused:
        await slip_for(gateway, chain="circle_k")
    assert refused.value.code == "unsupported_store_chain"
