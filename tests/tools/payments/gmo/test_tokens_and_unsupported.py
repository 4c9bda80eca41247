"""Token facts come from the card frame; deferred payment is not offered through GMO."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from respx.models import AllMockedAssertionError

from tools.payments.gateway import Buyer, GatewayError
from tools.payments.gmo import GMOGateway, token_info_from_frame
from tools.payments.gmo.tokens import card_brand

TOKEN = "c7a8d9e0f1b2a3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8"


async def test_the_server_cannot_describe_a_gmo_token(gateway: GMOGateway) -> None:
    with pytest.raises(GatewayError) as refused:
        await gateway.token_info(TOKEN)
    assert refused.value.code == "unsupported"


def test_token_facts_from_the_frames_report() -> None:
    info = token_info_from_frame(token=TOKEN, masked_card_no="411111******1111",
                                 to_be_expired_at="2025-03-01-12-30-00", exp_month=12, exp_year=28)
    assert (info.brand, info.last4, info.exp_month, info.exp_year) == ("visa", "1111", 12, 2028)
    assert info.expires_at == datetime(2025, 3, 1, 3, 30, tzinfo=UTC)  # GMO's time is Japan time


@pytest.mark.parametrize(("masked", "to_be_expired_at", "month"), [
    ("4111111111111111", "2025-03-01-12-30-00", 12),  # not masked: refuse, never keep it
    ("************", "2025-03-01-12-30-00", 12),  # no last four digits
    ("************1111", "2025/03/01 12:30", 12),
    ("************1111", "2025-03-01-12-30-00", 13),
])
def test_an_implausible_frame_report_is_refused(masked: str, to_be_expired_at: str,
                                                month: int) -> None:
    with pytest.raises(GatewayError) as refused:
        token_info_from_frame(token=TOKEN, masked_card_no=masked,
                              to_be_expired_at=to_be_expired_at, exp_month=month, exp_year=2028)
    assert refused.value.code == "token_invalid"
    assert "4111111111111111" not in str(refused.value)


@pytest.mark.parametrize(("masked", "brand"), [
    ("411111******1111", "visa"), ("555555******4444", "mastercard"),
    ("222100******0000", "mastercard"), ("353011******0000", "jcb"),
    ("378282*****0005", "amex"), ("361234******0000", "diners"), ("************1111", "unknown"),
])
def test_brand_from_the_visible_digits(masked: str, brand: str) -> None:
    assert card_brand(masked) == brand


async def test_payment_after_delivery_is_unsupported(gateway: GMOGateway) -> None:
    buyer = Buyer(name="ヤマダ", postal_code="150-0002", address="東京都", phone="09012345678",
                  email="h@example.jp")
    with pytest.raises(GatewayError) as refused:
        await gateway.screen_deferred(order_id="ord_3", amount=5000, buyer=buyer,
                                      idempotency_key="chatpay:q3:pay")
    assert refused.value.code == "unsupported"


async def test_requests_nobody_mocked_fail_instead_of_reaching_the_network(
        gateway: GMOGateway) -> None:
    with pytest.raises(AllMockedAssertionError):
        await gateway.lookup(order_id="ord_1", idempotency_key="chatpay:q1:pay")
