"""Capture, void, refund and lookup: AlterTran and SearchTrade, idempotent through GMO's state."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
import respx

from tests.tools.payments.gmo.conftest import NOW
from tests.tools.payments.gmo.replies import (
    ACCESS_ID,
    ACCESS_PASS,
    SHOP_ID,
    SHOP_PASS,
    alter_ok,
    error,
    form,
    trade,
)
from tools.payments.gateway import ChargeStatus, GatewayError, LookupStatus
from tools.payments.gmo import GMOGateway, GMOSettings
from tools.payments.gmo.trades import JST

KEY = "chatpay:quote-7f3a:pay"


def gmo_time(moment: datetime) -> str:
    """A ProcessDate as GMO writes it: yyyyMMddHHmmss, Japan time."""
    return moment.astimezone(JST).strftime("%Y%m%d%H%M%S")


@pytest.fixture
def order(gateway: GMOGateway) -> str:
    return gateway.gmo_order_id(KEY)


async def test_capture_turns_an_authorisation_into_sales(gateway: GMOGateway, order: str,
                                                         gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "AUTH"))
    alter = gmo_http.post("AlterTran.idPass").mock(return_value=alter_ok())

    result = await gateway.capture(gateway_ref=order, amount=2640)

    assert result.status is ChargeStatus.APPROVED
    assert form(alter.calls.last.request) == {
        "ShopID": SHOP_ID, "ShopPass": SHOP_PASS, "AccessID": ACCESS_ID,
        "AccessPass": ACCESS_PASS, "JobCd": "SALES", "Amount": "2640"}


async def test_capturing_a_captured_charge_changes_nothing(gateway: GMOGateway, order: str,
                                                           gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "SALES"))
    alter = gmo_http.post("AlterTran.idPass")

    result = await gateway.capture(gateway_ref=order, amount=2640)

    assert result.status is ChargeStatus.APPROVED
    assert not alter.called


async def test_capture_of_another_amount_is_refused(gateway: GMOGateway, order: str,
                                                    gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "AUTH"))
    alter = gmo_http.post("AlterTran.idPass")

    with pytest.raises(GatewayError) as refused:
        await gateway.capture(gateway_ref=order, amount=1000)

    assert refused.value.code == "amount_mismatch"
    assert not alter.called


@pytest.mark.parametrize("status", ["AUTH", "CAPTURE", "SALES"])
async def test_void(gateway: GMOGateway, order: str, gmo_http: respx.MockRouter,
                    status: str) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, status))
    alter = gmo_http.post("AlterTran.idPass").mock(return_value=alter_ok())

    result = await gateway.void(gateway_ref=order)

    assert result.status is ChargeStatus.APPROVED
    sent = form(alter.calls.last.request)
    assert sent["JobCd"] == "VOID"
    assert "Amount" not in sent


async def test_voiding_twice_sends_one_void(gateway: GMOGateway, order: str,
                                            gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "VOID"))
    alter = gmo_http.post("AlterTran.idPass")

    result = await gateway.void(gateway_ref=order)

    assert result.status is ChargeStatus.APPROVED
    assert not alter.called


async def test_void_of_an_unknown_reference_is_a_gateway_error(gateway: GMOGateway, order: str,
                                                               gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=error("E01110002"))

    with pytest.raises(GatewayError) as refused:
        await gateway.void(gateway_ref=order)

    assert refused.value.code == "not_found"


@pytest.mark.parametrize(("status", "job_cd"), [("CAPTURE", "RETURN"), ("SALES", "RETURN"),
                                                ("AUTH", "VOID")])
async def test_full_refund(gateway: GMOGateway, order: str, gmo_http: respx.MockRouter,
                           status: str, job_cd: str) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, status))
    alter = gmo_http.post("AlterTran.idPass").mock(return_value=alter_ok())

    result = await gateway.refund(gateway_ref=order, amount=2640, idempotency_key=KEY + ":refund")

    assert result.status is ChargeStatus.APPROVED
    assert result.amount == 2640
    assert form(alter.calls.last.request)["JobCd"] == job_cd


@pytest.mark.parametrize("status", ["RETURN", "RETURNX", "VOID"])
async def test_a_repeated_refund_is_not_sent_again(gateway: GMOGateway, order: str,
                                                   gmo_http: respx.MockRouter,
                                                   status: str) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, status))
    alter = gmo_http.post("AlterTran.idPass")

    result = await gateway.refund(gateway_ref=order, amount=2640, idempotency_key=KEY + ":refund")

    assert result.status is ChargeStatus.APPROVED
    assert not alter.called


async def test_partial_refunds_are_not_offered(gateway: GMOGateway, order: str,
                                               gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "CAPTURE"))
    alter = gmo_http.post("AlterTran.idPass")

    with pytest.raises(GatewayError) as refused:
        await gateway.refund(gateway_ref=order, amount=1000, idempotency_key=KEY + ":refund")

    assert refused.value.code == "unsupported"
    assert not alter.called


async def test_a_lost_altertran_answer_is_unknown(gateway: GMOGateway, order: str,
                                                  gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "CAPTURE"))
    gmo_http.post("AlterTran.idPass").mock(side_effect=httpx.ReadTimeout("slow"))

    result = await gateway.refund(gateway_ref=order, amount=2640, idempotency_key=KEY + ":refund")

    assert result.status is ChargeStatus.UNKNOWN


async def test_searchtrade_unreachable_before_altertran_is_retryable(
        gateway: GMOGateway, order: str, gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(side_effect=httpx.ConnectError("refused"))

    result = await gateway.void(gateway_ref=order)

    assert result.status is ChargeStatus.RETRYABLE_ERROR


@pytest.mark.parametrize(("gmo_status", "expected"), [
    ("CAPTURE", LookupStatus.APPROVED),
    ("SALES", LookupStatus.APPROVED),
    ("AUTH", LookupStatus.AUTHORIZED),
    ("SAUTH", LookupStatus.AUTHORIZED),
    ("AUTHENTICATED", LookupStatus.REQUIRES_ACTION),
    ("VOID", LookupStatus.VOIDED),
    ("RETURN", LookupStatus.REFUNDED),
    ("RETURNX", LookupStatus.REFUNDED),
])
async def test_searchtrade_status_mapping(gateway: GMOGateway, order: str,
                                          gmo_http: respx.MockRouter, gmo_status: str,
                                          expected: LookupStatus) -> None:
    search = gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, gmo_status))

    found = await gateway.lookup(order_id="ord_1", idempotency_key=KEY)

    assert found.status is expected
    assert found.gateway_ref == order
    assert found.amount == 2640
    assert form(search.calls.last.request)["OrderID"] == order


async def test_lookup_of_an_order_gmo_never_saw_is_not_found(gateway: GMOGateway,
                                                             gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(return_value=error("E01110002"))

    found = await gateway.lookup(order_id="ord_1", idempotency_key=KEY)

    assert found.status is LookupStatus.NOT_FOUND


async def test_an_unauthorised_order_is_not_found_once_nothing_can_be_in_flight(
        gateway: GMOGateway, order: str, gmo_http: respx.MockRouter) -> None:
    stamp = gmo_time(NOW - timedelta(hours=1))
    gmo_http.post("SearchTrade.idPass").mock(
        return_value=trade(order, "UNPROCESSED", process_date=stamp))

    found = await gateway.lookup(order_id="ord_1", idempotency_key=KEY)

    assert found.status is LookupStatus.NOT_FOUND


async def test_a_young_unauthorised_order_may_still_be_in_flight(
        gateway: GMOGateway, order: str, gmo_http: respx.MockRouter) -> None:
    stamp = gmo_time(NOW - timedelta(seconds=20))
    gmo_http.post("SearchTrade.idPass").mock(
        return_value=trade(order, "UNPROCESSED", process_date=stamp))

    with pytest.raises(GatewayError) as pending:
        await gateway.lookup(order_id="ord_1", idempotency_key=KEY)

    assert pending.value.code == "in_flight"
    assert pending.value.retryable


async def test_lookup_when_gmo_is_unreachable_is_a_retryable_error(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    gmo_http.post("SearchTrade.idPass").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(GatewayError) as failed:
        await gateway.lookup(order_id="ord_1", idempotency_key=KEY)

    assert failed.value.retryable


async def test_lookup_uses_the_configured_prefix(settings: GMOSettings,
                                                 gmo_http: respx.MockRouter) -> None:
    async with GMOGateway(settings.model_copy(update={"order_id_prefix": "stg"})) as gateway:
        search = gmo_http.post("SearchTrade.idPass").mock(return_value=error("E01110002"))
        await gateway.lookup(order_id="ord_1", idempotency_key=KEY)
    sent = form(search.calls.last.request)["OrderID"]
    assert sent.startswith("stgC")
    assert len(sent) == 27
