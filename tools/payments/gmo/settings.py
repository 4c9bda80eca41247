"""Settings of the GMO Payment Gateway adapter (prefix `CHATPAY_GMO_`), read once at start-up.

The adapter is off by default. When `CHATPAY_GMO_ENABLED=true`, start-up fails with one message that
lists every problem (empty or placeholder credentials, a non-https endpoint, a missing 3-D Secure
return URL) rather than failing on the first charge. Messages name the setting, never its value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: GMO's documented test ("pt01") endpoint; production is https://p01.mul-pay.jp/payment/.
TEST_BASE_URL = "https://pt01.mul-pay.jp/payment/"

_PLACEHOLDER_WORDS = {
    "changeme", "placeholder", "secret", "password", "passwd", "dummy", "example", "sample", "todo",
    "tbd", "fixme", "none", "null", "undefined", "test", "xxx", "shopid", "shoppass", "siteid",
    "sitepass",
}
_PLACEHOLDER_MARKERS = ("change-me", "change_me", "changeme", "placeholder", "your-", "your_",
                        "<", ">", "${", "{{", "xxxx", "****")
# GMO's error table: ShopID "半角英数字 ... 13文字" (E01010008), ShopPass "... 10文字" (E01020008).
_SHOP_ID = re.compile(r"[A-Za-z0-9]{1,13}")
_SHOP_PASS = re.compile(r"[A-Za-z0-9]{1,10}")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def is_placeholder(value: str) -> bool:
    """True for empty values and the usual stand-ins (`changeme`, `<shop-pass>`, `xxxxxxxx`)."""
    lowered = value.strip().lower()
    if not lowered or lowered in _PLACEHOLDER_WORDS or len(set(lowered)) == 1:
        return True
    return any(marker in lowered for marker in _PLACEHOLDER_MARKERS)


def _url_problem(name: str, value: str, *, allow_local_http: bool) -> str | None:
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return None
    if allow_local_http and parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return None
    return f"{name} must be an https URL"


class GMOSettings(BaseSettings):
    """Credentials and behaviour of the GMO adapter. Each field maps to `CHATPAY_GMO_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="CHATPAY_GMO_", extra="ignore")

    enabled: bool = Field(default=False,
                          description="Use GMO Payment Gateway instead of the sandbox.")
    base_url: str = Field(default=TEST_BASE_URL,
                          description="Protocol-type API base (test: pt01, production: p01).")
    shop_id: str = Field(default="", description="ShopID (ショップID), up to 13 letters/digits.")
    shop_pass: SecretStr = Field(default=SecretStr(""), description="ShopPass, the shop password.")
    site_id: str = Field(default="", description="サイトID; only for card-on-file APIs (unused).")
    site_pass: SecretStr = Field(default=SecretStr(""), description="サイトパスワード (unused).")
    tds2: bool = Field(default=True, description="Ask for 3-D Secure 2.0 on every card charge.")
    callback_url: str = Field(
        default="",
        description="RetUrl: where GMO sends the shopper's browser after the 3-D Secure challenge.",
    )
    timeout_s: float = Field(default=30.0, gt=0, le=120, description="Per-request timeout.")
    job_cd: Literal["CAPTURE", "AUTH"] = Field(
        default="CAPTURE",
        description="CAPTURE charges at once; AUTH only authorises and `capture` completes it.",
    )
    order_id_prefix: str = Field(
        default="",
        description="Up to 8 letters/digits put in front of every OrderID, so that environments "
                    "sharing one GMO test shop never collide.",
    )
    inflight_window_s: int = Field(
        default=180, ge=0,
        description="An unprocessed transaction younger than this may still be authorising: "
                    "lookups report it as in flight rather than as never charged.",
    )
    konbini_payment_term_days: int = Field(default=3, ge=1, le=60,
                                           description="Days the shopper has to pay at the store.")
    konbini_contact_name: str = Field(default="",
                                      description="ReceiptsDisp11: contact shown on the slip.")
    konbini_contact_tel: str = Field(default="", description="ReceiptsDisp12: contact phone.")
    konbini_contact_hours: str = Field(
        default="", description="ReceiptsDisp13: contact hours, e.g. 09:00-18:00.")

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        value = value.strip()
        return value if value.endswith("/") else value + "/"

    @field_validator("order_id_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9]{0,8}", value):
            raise ValueError("order_id_prefix must be at most 8 letters or digits")
        return value

    @model_validator(mode="after")
    def _usable_when_enabled(self) -> GMOSettings:
        if not self.enabled:
            return self
        problems: list[str] = []
        shop_pass = self.shop_pass.get_secret_value()
        if is_placeholder(self.shop_id):
            problems.append("shop_id is empty or a placeholder")
        elif not _SHOP_ID.fullmatch(self.shop_id):
            problems.append("shop_id must be 1-13 letters or digits")
        if is_placeholder(shop_pass):
            problems.append("shop_pass is empty or a placeholder")
        elif not _SHOP_PASS.fullmatch(shop_pass):
            problems.append("shop_pass must be 1-10 letters or digits")
        site_pass = self.site_pass.get_secret_value()
        if self.site_id or site_pass:
            # Not used by the adapter, but a half-filled or placeholder pair is a mistake to flag.
            if is_placeholder(self.site_id):
                problems.append("site_id is empty or a placeholder")
            if is_placeholder(site_pass):
                problems.append("site_pass is empty or a placeholder")
        if problem := _url_problem("base_url", self.base_url, allow_local_http=False):
            problems.append(problem)
        if self.tds2:
            if not self.callback_url:
                problems.append("callback_url is required when tds2 is on")
            elif problem := _url_problem("callback_url", self.callback_url,
                                         allow_local_http=True):
                problems.append(problem)
        if problems:
            raise ValueError("GMO Payment Gateway is enabled but " + "; ".join(problems))
        return self


@lru_cache(maxsize=1)
def get_gmo_settings() -> GMOSettings:
    """The process-wide settings, read from the environment once."""
    return GMOSettings()
