"""The HTTP side of GMO: one form POST per API call, and what "no answer" means.

This module only houses `GMOClient`: it sends a call, decodes the reply, and turns every way of
*not* getting a usable reply into `TransportFailure`, whose `sent` flag is the fact the adapter's
exactly-once rules hinge on:

- `sent=False`: no connection was made (connect error, connect timeout, no free pooled connection),
  so no byte of the request left this process;
- `sent=True`: anything after that (read/write timeout, dropped connection, HTTP 5xx or any other
  non-200 status, a body that is not GMO's format): GMO may have processed the call.

It also answers SearchTrade / SearchTradeMulti, which every recovery path needs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

from tools.payments.gateway import GatewayError
from tools.payments.gmo.errors import Outcome, most_significant
from tools.payments.gmo.protocol import (
    FormEncodingError,
    MalformedReply,
    Reply,
    decode_reply,
    encode_form,
)
from tools.payments.gmo.settings import GMOSettings
from tools.payments.gmo.trades import Trade, TradeParseError, parse_trade

log = logging.getLogger(__name__)

_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/plain, */*"}


class TransportFailure(Exception):
    """No usable reply. `sent` is False only when the request certainly never reached GMO."""

    def __init__(self, endpoint: str, reason: str, *, sent: bool,
                 status_code: int | None = None) -> None:
        super().__init__(f"{endpoint}: {reason}")
        self.reason = reason
        self.sent = sent
        self.status_code = status_code


class GMOClient:
    """Form POSTs to the protocol-type API. Bodies are never logged: ShopPass, tokens, PII."""

    def __init__(self, settings: GMOSettings, *, client: httpx.AsyncClient | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(transport=transport)

    async def aclose(self) -> None:
        if self._owns_client:  # a client handed in belongs to the caller
            await self._client.aclose()

    def shop(self) -> dict[str, str]:
        """ShopID and ShopPass, which most calls start with."""
        return {"ShopID": self._settings.shop_id,
                "ShopPass": self._settings.shop_pass.get_secret_value()}

    async def post(self, endpoint: str, params: Mapping[str, str]) -> Reply:
        """Send one call. Raises TransportFailure, or GatewayError for a value Shift_JIS lacks."""
        try:
            body = encode_form(params)
        except FormEncodingError as exc:
            raise GatewayError("unencodable_field",
                               f"{exc.field_name} cannot be sent to GMO (Shift_JIS)") from None
        try:
            response = await self._client.post(self._settings.base_url + endpoint, content=body,
                                               headers=_HEADERS, timeout=self._settings.timeout_s)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            log.warning("gmo %s not sent: %s", endpoint, type(exc).__name__)
            raise TransportFailure(endpoint, "connect_failed", sent=False) from None
        except httpx.TransportError as exc:
            log.warning("gmo %s lost after sending: %s", endpoint, type(exc).__name__)
            raise TransportFailure(endpoint, "no_response", sent=True) from None
        if response.status_code != 200:
            log.warning("gmo %s answered HTTP %s", endpoint, response.status_code)
            raise TransportFailure(endpoint, f"http_{response.status_code}", sent=True,
                                   status_code=response.status_code)
        try:
            reply = decode_reply(response.content, response.headers.get("content-type"))
        except MalformedReply:
            log.warning("gmo %s sent an unreadable reply", endpoint)
            raise TransportFailure(endpoint, "malformed_reply", sent=True) from None
        if not reply.ok:
            log.info("gmo %s errors %s", endpoint, "|".join(e.info for e in reply.errors))
        return reply

    async def search(self, gmo_order_id: str, pay_type: str | None = None) -> Trade | None:
        """The transaction for an OrderID, None if GMO has none; GatewayError if GMO can't say.

        Card transactions use SearchTrade; other payment types SearchTradeMulti with `pay_type`.
        """
        params = {**self.shop(), "OrderID": gmo_order_id}
        endpoint = "SearchTrade.idPass"
        if pay_type is not None:
            params["PayType"] = pay_type
            endpoint = "SearchTradeMulti.idPass"
        try:
            reply = await self.post(endpoint, params)
        except TransportFailure as failure:
            raise GatewayError("unreachable", f"GMO {endpoint}: {failure.reason}",
                               retryable=True, status_code=failure.status_code) from None
        if not reply.ok:
            meaning = most_significant(reply.errors)
            if meaning.outcome is Outcome.NOT_FOUND:
                return None
            raise GatewayError(meaning.info, f"GMO {endpoint} refused",
                               retryable=meaning.outcome in {Outcome.BUSY, Outcome.UNCERTAIN})
        try:
            return parse_trade(reply)
        except TradeParseError:
            raise GatewayError("malformed_reply", f"GMO {endpoint} reply is incomplete",
                               retryable=True) from None
