"""Fixtures for the GMO adapter: mocked HTTP only, an enabled adapter with test credentials.

The autouse `gmo_http` router makes every request that no test mocked fail (`assert_all_mocked`),
so no test can reach GMO or any other host.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import respx

from tests.tools.payments.gmo.replies import BASE_URL, CALLBACK_URL, SHOP_ID, SHOP_PASS
from tools.payments.gmo import GMOGateway, GMOSettings

NOW = datetime(2025, 3, 1, 3, 30, tzinfo=UTC)  # 12:30 in Japan, an hour after the recorded dates


@pytest.fixture(autouse=True)
def _no_gmo_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from each test, never from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("CHATPAY_GMO_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def gmo_http() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.fixture
def settings() -> GMOSettings:
    return GMOSettings(enabled=True, shop_id=SHOP_ID, shop_pass=SHOP_PASS,
                       callback_url=CALLBACK_URL, konbini_contact_name="chatpay support",
                       konbini_contact_tel="0312345678", konbini_contact_hours="09:00-18:00")


@pytest.fixture
async def gateway(settings: GMOSettings) -> AsyncIterator[GMOGateway]:
    async with GMOGateway(settings, clock=lambda: NOW) as gmo:
        yield gmo
