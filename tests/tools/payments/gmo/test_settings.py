"""GMOSettings: off by default, and refusing to start with unusable credentials when enabled."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.tools.payments.gmo.replies import CALLBACK_URL, SHOP_ID, SHOP_PASS
from tools.payments.gmo import GMOSettings
from tools.payments.gmo.settings import TEST_BASE_URL, is_placeholder


def test_off_by_default_with_the_documented_test_endpoint() -> None:
    settings = GMOSettings()
    assert settings.enabled is False
    assert settings.base_url == TEST_BASE_URL == "https://pt01.mul-pay.jp/payment/"
    assert settings.tds2 is True


def test_read_from_chatpay_gmo_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATPAY_GMO_ENABLED", "true")
    monkeypatch.setenv("CHATPAY_GMO_SHOP_ID", SHOP_ID)
    monkeypatch.setenv("CHATPAY_GMO_SHOP_PASS", SHOP_PASS)
    monkeypatch.setenv("CHATPAY_GMO_CALLBACK_URL", CALLBACK_URL)
    monkeypatch.setenv("CHATPAY_GMO_TIMEOUT_S", "12.5")

    settings = GMOSettings()

    assert settings.enabled and settings.shop_id == SHOP_ID and settings.timeout_s == 12.5
    assert settings.shop_pass.get_secret_value() == SHOP_PASS
    assert SHOP_PASS not in repr(settings)


@pytest.mark.parametrize(("shop_id", "shop_pass", "complaint"), [
    ("", SHOP_PASS, "shop_id is empty"),
    ("changeme", SHOP_PASS, "shop_id is empty or a placeholder"),
    ("<shop-id>", SHOP_PASS, "shop_id is empty or a placeholder"),
    ("tshopXXXXXXXX", SHOP_PASS, "shop_id is empty or a placeholder"),
    (SHOP_ID, "", "shop_pass is empty"),
    (SHOP_ID, "changeme", "shop_pass is empty or a placeholder"),
    (SHOP_ID, "password", "shop_pass is empty or a placeholder"),
    (SHOP_ID, "xxxxxxxx", "shop_pass is empty or a placeholder"),
    (SHOP_ID, "your-pass", "shop_pass is empty or a placeholder"),
    ("tshop-0001", SHOP_PASS, "shop_id must be 1-13 letters or digits"),
    (SHOP_ID, "k3jd9sk2m4x", "shop_pass must be 1-10 letters or digits"),
])
def test_enabled_with_unusable_credentials_refuses_to_start(shop_id: str, shop_pass: str,
                                                            complaint: str) -> None:
    with pytest.raises(ValidationError) as refused:
        GMOSettings(enabled=True, shop_id=shop_id, shop_pass=shop_pass, callback_url=CALLBACK_URL)
    message = str(refused.value)
    assert complaint in message
    if shop_pass:
        assert shop_pass not in message  # the message names the setting, never the secret


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        GMOSettings(enabled=True, base_url="http://pt01.mul-pay.jp/payment/")
    message = str(refused.value)
    for complaint in ("shop_id", "shop_pass", "base_url must be an https URL",
                      "callback_url is required"):
        assert complaint in message


def test_a_half_configured_site_pair_is_refused() -> None:
    with pytest.raises(ValidationError, match="site_pass is empty or a placeholder"):
        GMOSettings(enabled=True, shop_id=SHOP_ID, shop_pass=SHOP_PASS, callback_url=CALLBACK_URL,
                    site_id="tsite00012345")


def test_callback_must_be_https_except_on_this_machine() -> None:
    with pytest.raises(ValidationError, match="callback_url must be an https URL"):
        GMOSettings(enabled=True, shop_id=SHOP_ID, shop_pass=SHOP_PASS,
                    callback_url="http://shop.example.jp/3ds")
    local = GMOSettings(enabled=True, shop_id=SHOP_ID, shop_pass=SHOP_PASS,
                        callback_url="http://127.0.0.1:8000/api/payments/gmo/3ds")
    assert local.enabled


def test_without_3ds_no_callback_is_needed() -> None:
    assert GMOSettings(enabled=True, shop_id=SHOP_ID, shop_pass=SHOP_PASS, tds2=False).enabled


def test_placeholders_are_not_checked_while_disabled() -> None:
    assert GMOSettings(enabled=False, shop_pass="changeme").enabled is False


@pytest.mark.parametrize("prefix", ["toolongprefix", "st-g", "ステージ"])
def test_order_id_prefix_must_fit_gmos_order_id(prefix: str) -> None:
    with pytest.raises(ValidationError, match="order_id_prefix"):
        GMOSettings(order_id_prefix=prefix)


@pytest.mark.parametrize(("value", "placeholder"), [
    ("", True), ("  ", True), ("CHANGEME", True), ("${GMO_SHOP_PASS}", True), ("****", True),
    ("test", True), (SHOP_PASS, False), (SHOP_ID, False), ("tsite00012345", False),
])
def test_placeholder_detection(value: str, placeholder: bool) -> None:
    assert is_placeholder(value) is placeholder
