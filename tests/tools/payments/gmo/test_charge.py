"""Card charges through GMO: what is sent, and how every kind of answer maps onto ChargeStatus."""

from __future__ import annotations

import re

import httpx
import pytest
import respx

from tests.tools.payments.gmo.replies import (
    ACCESS_ID,
    ACCESS_PASS,
    CALLBACK_URL,
    REDIRECT_URL,
    SHOP_ID,
    SHOP_PASS,
    entry_ok,
    error,
    exec_3ds,
    exec_ok,
    form,
    reply,
    secure_ok,
    trade,
)
from tools.payments.gateway import (
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    GatewayError,
    PaymentGateway,
)
from tools.payments.gmo import GMOGateway, GMOSettings

KEY = "chatpay:quote-7f3a:pay"
TOKEN = "c7a8d9e0f1b2a3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8"  # opaque, from GMO's JS


async def charge(gateway: GMOGateway, *, currency: str = "JPY") -> ChargeResult:
    return await gateway.charge(order_id="ord_1", amount=2640, currency=currency, token=TOKEN,
                                idempotency_key=KEY)


def test_the_adapter_implements_the_gateway_protocol(gateway: GMOGateway) -> None:
    typed: PaymentGateway = gateway
    assert typed.name == "gmo"


async def test_a_client_handed_in_is_used_and_left_open(settings: GMOSettings) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return error("E01110002")

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        async with GMOGateway(settings, client=client) as gateway:
            found = await gateway.lookup(order_id="ord_1", idempotency_key=KEY)
        assert not client.is_closed
    assert found.status.value == "not_found"
    assert seen == ["/payment/SearchTrade.idPass"]


def test_a_disabled_adapter_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="disabled"):
        GMOGateway(GMOSettings())


async def test_successful_charge_sends_the_documented_fields_and_only_the_token(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    entry = gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    execute = gmo_http.post("ExecTran.idPass").mock(return_value=exec_ok(order))

    result = await charge(gateway)

    assert result.status is ChargeStatus.APPROVED
    assert result.gateway_ref == order
    assert result.amount == 2640
    assert form(entry.calls.last.request) == {
        "ShopID": SHOP_ID, "ShopPass": SHOP_PASS, "OrderID": order, "JobCd": "CAPTURE",
        "Amount": "2640", "Tax": "0", "TdFlag": "2",
    }
    sent = form(execute.calls.last.request)
    assert sent == {"AccessID": ACCESS_ID, "AccessPass": ACCESS_PASS, "OrderID": order,
                    "Method": "1", "Token": TOKEN, "RetUrl": CALLBACK_URL}
    # The card never travels: no card number, expiry or security code field, no long digit run.
    assert not {"CardNo", "Expire", "SecurityCode"} & sent.keys()
    for request in (entry.calls.last.request, execute.calls.last.request):
        assert not re.search(rb"\d{13,19}", request.content)
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"


async def test_without_3ds_no_return_url_is_sent(settings: GMOSettings,
                                                 gmo_http: respx.MockRouter) -> None:
    settings = settings.model_copy(update={"tds2": False, "job_cd": "AUTH"})
    async with GMOGateway(settings) as gateway:
        order = gateway.gmo_order_id(KEY)
        entry = gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
        execute = gmo_http.post("ExecTran.idPass").mock(return_value=exec_ok(order))
        result = await charge(gateway)
    assert result.status is ChargeStatus.APPROVED
    assert form(entry.calls.last.request)["TdFlag"] == "0"
    assert form(entry.calls.last.request)["JobCd"] == "AUTH"
    assert "RetUrl" not in form(execute.calls.last.request)


@pytest.mark.parametrize(("err_info", "reason"), [
    ("42G020000", DeclineReason.INSUFFICIENT_FUNDS),
    ("42G030000", DeclineReason.LIMIT_EXCEEDED),
    ("42G040000", DeclineReason.INSUFFICIENT_FUNDS),
    ("42G050000", DeclineReason.LIMIT_EXCEEDED),
    ("42G060000", DeclineReason.INSUFFICIENT_FUNDS),
    ("42G070000", DeclineReason.LIMIT_EXCEEDED),
    ("42G120000", DeclineReason.GENERIC),
    ("42G220000", DeclineReason.GENERIC),
    ("42G300000", DeclineReason.GENERIC),
    ("42G420000", DeclineReason.GENERIC),
    ("42G440000", DeclineReason.INCORRECT_CVC),
    ("42G450000", DeclineReason.INCORRECT_CVC),
    ("42G530000", DeclineReason.INCORRECT_CVC),
    ("42G540000", DeclineReason.GENERIC),
    ("42G550000", DeclineReason.LIMIT_EXCEEDED),
    ("42G560000", DeclineReason.GENERIC),
    ("42G600000", DeclineReason.GENERIC),
    ("42G610000", DeclineReason.GENERIC),
    ("42G650000", DeclineReason.UNKNOWN_CARD),
    ("42G680000", DeclineReason.PROCESSING_ERROR),
    ("42G830000", DeclineReason.EXPIRED_CARD),
    ("42G910000", DeclineReason.PROCESSING_ERROR),
    ("42G920000", DeclineReason.GENERIC),
    ("42G950000", DeclineReason.GENERIC),
    ("42G990000", DeclineReason.GENERIC),
    ("42G000000", DeclineReason.GENERIC),  # not in any table: still a decline
    ("EX1000301", DeclineReason.TOKEN_INVALID),
    ("EX1000302", DeclineReason.TOKEN_INVALID),
    ("EX1000303", DeclineReason.TOKEN_INVALID),
    ("E41170099", DeclineReason.UNKNOWN_CARD),
    ("E21030007", DeclineReason.THREEDS_FAILED),
])
async def test_declines_map_to_reasons_and_keep_the_raw_code(
        gateway: GMOGateway, gmo_http: respx.MockRouter, err_info: str,
        reason: DeclineReason) -> None:
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(return_value=error(err_info))

    result = await charge(gateway)

    assert result.status is ChargeStatus.DECLINED
    assert result.reason_code == reason.value
    assert result.gateway_code == err_info


async def test_a_multi_error_refusal_is_declined_as_processing_error(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(return_value=reply(
        "ErrCode=E01|E01&ErrInfo=E01090008|E01100008"))

    result = await charge(gateway)

    assert result.status is ChargeStatus.DECLINED
    assert result.reason_code == DeclineReason.PROCESSING_ERROR.value
    assert result.gateway_code == "E01090008"


async def test_3ds_required_then_securetran2_completes(gateway: GMOGateway,
                                                       gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(return_value=exec_3ds())

    first = await charge(gateway)

    assert first.status is ChargeStatus.REQUIRES_ACTION
    assert first.challenge_url == REDIRECT_URL  # the unescaped &t=... stays part of the URL
    assert first.gateway_ref == order

    search = gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "AUTHENTICATED"))
    secure = gmo_http.post("SecureTran2.idPass").mock(return_value=secure_ok(order))
    done = await gateway.complete_3ds(gateway_ref=order)

    assert done.status is ChargeStatus.APPROVED
    assert done.amount == 2640
    assert form(search.calls.last.request) == {"ShopID": SHOP_ID, "ShopPass": SHOP_PASS,
                                               "OrderID": order}
    assert form(secure.calls.last.request) == {"AccessID": ACCESS_ID, "AccessPass": ACCESS_PASS}


async def test_3ds_failure_on_securetran2_is_a_threeds_decline(gateway: GMOGateway,
                                                               gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "AUTHENTICATED"))
    gmo_http.post("SecureTran2.idPass").mock(return_value=error("E21030007"))

    done = await gateway.complete_3ds(gateway_ref=order)

    assert done.status is ChargeStatus.DECLINED
    assert done.reason_code == DeclineReason.THREEDS_FAILED.value


async def test_a_repeated_3ds_callback_does_not_authorise_again(gateway: GMOGateway,
                                                                gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "CAPTURE"))
    secure = gmo_http.post("SecureTran2.idPass").mock(return_value=secure_ok(order))

    done = await gateway.complete_3ds(gateway_ref=order)

    assert done.status is ChargeStatus.APPROVED
    assert not secure.called


async def test_securetran2_timeout_is_unknown(gateway: GMOGateway,
                                              gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "AUTHENTICATED"))
    gmo_http.post("SecureTran2.idPass").mock(side_effect=httpx.ReadTimeout("slow"))

    done = await gateway.complete_3ds(gateway_ref=order)

    assert done.status is ChargeStatus.UNKNOWN


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.WriteTimeout("slow"),
                                     httpx.RemoteProtocolError("peer closed"),
                                     httpx.ReadError("reset")])
async def test_a_lost_exectran_answer_is_unknown(gateway: GMOGateway, gmo_http: respx.MockRouter,
                                                 failure: Exception) -> None:
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(side_effect=failure)

    result = await charge(gateway)

    assert result.status is ChargeStatus.UNKNOWN
    assert result.gateway_ref == gateway.gmo_order_id(KEY)  # what `lookup` will need


@pytest.mark.parametrize("status_code", [500, 502, 503])
async def test_a_5xx_on_exectran_is_unknown(gateway: GMOGateway, gmo_http: respx.MockRouter,
                                            status_code: int) -> None:
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(return_value=reply("<html>error</html>", status_code))

    result = await charge(gateway)

    assert result.status is ChargeStatus.UNKNOWN


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"),
                                     httpx.PoolTimeout("busy")])
async def test_a_connect_failure_on_exectran_is_retryable(
        gateway: GMOGateway, gmo_http: respx.MockRouter, failure: Exception) -> None:
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(side_effect=failure)

    result = await charge(gateway)

    assert result.status is ChargeStatus.RETRYABLE_ERROR


@pytest.mark.parametrize("answer", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                    reply("busy", 503), error("E92000001")])
async def test_any_entrytran_failure_is_retryable_since_entrytran_moves_no_money(
        gateway: GMOGateway, gmo_http: respx.MockRouter,
        answer: httpx.Response | Exception) -> None:
    route = gmo_http.post("EntryTran.idPass")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    execute = gmo_http.post("ExecTran.idPass")

    result = await charge(gateway)

    assert result.status is ChargeStatus.RETRYABLE_ERROR
    assert not execute.called


@pytest.mark.parametrize("err_info", ["42C010000", "42C780000", "E91099999", "E90010001",
                                      "E11010999"])
async def test_errors_that_may_have_charged_are_unknown(gateway: GMOGateway,
                                                        gmo_http: respx.MockRouter,
                                                        err_info: str) -> None:
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(return_value=error(err_info))

    result = await charge(gateway)

    assert result.status is ChargeStatus.UNKNOWN
    assert result.gateway_code == err_info


async def test_rate_limited_exectran_is_retryable(gateway: GMOGateway,
                                                  gmo_http: respx.MockRouter) -> None:
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(return_value=error("E92000001"))

    result = await charge(gateway)

    assert result.status is ChargeStatus.RETRYABLE_ERROR


@pytest.mark.parametrize("status", ["CAPTURE", "SALES", "AUTH"])
async def test_orderid_already_used_is_looked_up_not_charged_again(
        gateway: GMOGateway, gmo_http: respx.MockRouter, status: str) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("EntryTran.idPass").mock(return_value=error("E01040010"))
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, status))
    execute = gmo_http.post("ExecTran.idPass")

    result = await charge(gateway)

    assert result.status is ChargeStatus.APPROVED
    assert result.gateway_ref == order
    assert not execute.called


async def test_a_registered_but_unauthorised_order_continues_with_its_own_access_id(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("EntryTran.idPass").mock(return_value=error("E01040010"))
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "UNPROCESSED"))
    execute = gmo_http.post("ExecTran.idPass").mock(return_value=exec_ok(order))

    result = await charge(gateway)

    assert result.status is ChargeStatus.APPROVED
    sent = form(execute.calls.last.request)
    assert (sent["AccessID"], sent["AccessPass"]) == (ACCESS_ID, ACCESS_PASS)
    assert sent["OrderID"] == order


async def test_the_same_key_for_another_amount_is_refused(gateway: GMOGateway,
                                                          gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("EntryTran.idPass").mock(return_value=error("E01040010"))
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "UNPROCESSED", 9999))
    execute = gmo_http.post("ExecTran.idPass")

    with pytest.raises(GatewayError) as refused:
        await charge(gateway)

    assert refused.value.code == "idempotency_conflict"
    assert not execute.called


async def test_a_retry_after_a_timeout_never_creates_a_second_authorisation(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    entry = gmo_http.post("EntryTran.idPass").mock(side_effect=[entry_ok(), error("E01040010")])
    execute = gmo_http.post("ExecTran.idPass").mock(side_effect=httpx.ReadTimeout("slow"))
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "CAPTURE"))

    first = await charge(gateway)
    second = await charge(gateway)

    assert first.status is ChargeStatus.UNKNOWN
    assert second.status is ChargeStatus.APPROVED
    assert execute.call_count == 1
    assert {form(c.request)["OrderID"] for c in entry.calls} == {order}


async def test_already_settled_on_exectran_reports_the_existing_charge(
        gateway: GMOGateway, gmo_http: respx.MockRouter) -> None:
    order = gateway.gmo_order_id(KEY)
    gmo_http.post("EntryTran.idPass").mock(return_value=entry_ok())
    gmo_http.post("ExecTran.idPass").mock(return_value=error("E11010001"))
    gmo_http.post("SearchTrade.idPass").mock(return_value=trade(order, "CAPTURE"))

    result = await charge(gateway)

    assert result.status is ChargeStatus.APPROVED


async def test_non_yen_charges_are_refused_before_any_request(gateway: GMOGateway) -> None:
    # Nothing is mocked: a request would fail the test through assert_all_mocked.
    with pytest.raises(GatewayError) as refused:
        await charge(gateway, currency="USD")
    assert refused.value.code == "unsupported_currency"


async def test_different_keys_use_different_gmo_orders(gateway: GMOGateway) -> None:
    assert gateway.gmo_order_id(KEY) != gateway.gmo_order_id(KEY + "x")
    assert gateway.gmo_order_id(KEY) == gateway.gmo_order_id(KEY)
