"""The merchant side of the sandbox: `SandboxGateway`, the `PaymentGateway` adapter over HTTP.

This module only houses the adapter. It makes exactly one HTTP request per call (the caller owns the
retry policy, so there is one retry layer) and maps every way a call can end onto the gateway
interface. For `charge`, that mapping is what exactly-once charging rests on:

| what happened                                          | result                                  |
|--------------------------------------------------------|-----------------------------------------|
| 2xx with an outcome                                    | APPROVED / DECLINED / REQUIRES_ACTION   |
| connection refused, DNS failure, connect/pool timeout  | RETRYABLE_ERROR (request never sent)    |
| 503 whose body says `"retryable": true`, or a 429      | RETRYABLE_ERROR (gateway: not charged)  |
| read/write timeout, dropped connection, other 5xx,     | UNKNOWN: may have charged; `lookup`,    |
| a 2xx body that cannot be read                         | never re-charge under a new key         |
| 4xx (bad request, key, idempotency conflict)           | GatewayError with the gateway's code    |

`capture`, `void` and `refund` answer APPROVED when the gateway accepted the operation and use the
same transport mapping; the other calls raise `GatewayError` (retryable when repeating the same
request is safe).
"""

from __future__ import annotations

import logging
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from tools.payments import webhooks
from tools.payments.gateway import (
    Buyer,
    ChargeResult,
    ChargeStatus,
    GatewayError,
    KonbiniSlip,
    LookupStatus,
    PaymentLookup,
    ScreeningResult,
    ScreeningStatus,
    TokenInfo,
    WebhookEvent,
)
from tools.payments.sandbox.clock import Clock, system_clock
from tools.payments.sandbox.settings import SandboxSettings

log = logging.getLogger("chatpay.payments.sandbox.client")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

# Failures that happen before a single byte of the request reaches the gateway.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)

_OUTCOMES = {
    "approved": ChargeStatus.APPROVED,
    "declined": ChargeStatus.DECLINED,
    "requires_action": ChargeStatus.REQUIRES_ACTION,
}

_LOOKUP_STATES = {
    "requires_action": LookupStatus.REQUIRES_ACTION,
    "authorized": LookupStatus.AUTHORIZED,
    "captured": LookupStatus.APPROVED,
    "declined": LookupStatus.DECLINED,
    "voided": LookupStatus.VOIDED,
    "refunded": LookupStatus.REFUNDED,
}


def _path(prefix: str, ident: str) -> str:
    # Refs and tokens come from outside; quoting keeps one from turning into another path.
    return f"{prefix}/{quote(ident, safe='')}"


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _error_of(response: httpx.Response) -> tuple[str, str, bool]:
    """(code, message, retryable) from an error body; generic when the body is not ours."""
    error = _object((_json(response) or {}).get("error"))
    code = str(error.get("code") or f"http_{response.status_code}")
    return code, str(error.get("message") or code), error.get("retryable") is True


def _gateway_error(response: httpx.Response) -> GatewayError:
    code, message, retryable = _error_of(response)
    return GatewayError(
        code,
        message,
        retryable=retryable or response.status_code >= 500,
        status_code=response.status_code,
    )


class SandboxGateway:
    """`PaymentGateway` over the sandbox's HTTP API."""

    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        webhook_secret: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        clock: Clock = system_clock,
        webhook_tolerance_s: int = webhooks.DEFAULT_TOLERANCE_S,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
        )
        self._webhook_secret = webhook_secret
        self._clock = clock
        self._tolerance_s = webhook_tolerance_s

    @classmethod
    def from_settings(cls, settings: SandboxSettings, **kwargs: Any) -> SandboxGateway:
        """An adapter for the sandbox described by `settings` (same key and secret)."""
        return cls(settings.public_url, settings.api_key, settings.webhook_secret, **kwargs)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- money-moving calls: results, never exceptions, for transport trouble --------------------

    async def _money_call(
        self, method: str, url: str, *, what: str, json: dict[str, Any] | None = None
    ) -> tuple[ChargeResult | None, dict[str, Any]]:
        """Send one request; returns (result-if-not-a-clean-answer, body-if-clean)."""
        try:
            response = await self._http.request(method, url, json=json)
        except _NOT_SENT as exc:
            log.warning("%s not sent (%s): retryable", what, type(exc).__name__)
            return ChargeResult(ChargeStatus.RETRYABLE_ERROR, reason_code="gateway_unreachable"), {}
        except httpx.TransportError as exc:
            # The request may have reached the gateway and been applied; only a lookup can tell.
            log.warning("%s outcome unknown (%s)", what, type(exc).__name__)
            return ChargeResult(ChargeStatus.UNKNOWN, reason_code="no_response"), {}
        if response.status_code == 429:
            return ChargeResult(ChargeStatus.RETRYABLE_ERROR, reason_code="rate_limited"), {}
        if response.status_code >= 500:
            code, _, retryable = _error_of(response)
            if response.status_code == 503 and retryable:
                log.info("%s refused, nothing charged (%s)", what, code)
                return ChargeResult(
                    ChargeStatus.RETRYABLE_ERROR, reason_code=code, gateway_code=code
                ), {}
            log.warning("%s outcome unknown (HTTP %d)", what, response.status_code)
            return ChargeResult(
                ChargeStatus.UNKNOWN, reason_code="server_error", gateway_code=code
            ), {}
        if response.is_client_error:
            raise _gateway_error(response)
        body = _json(response)
        if body is None:
            log.warning("%s outcome unknown (unreadable %d body)", what, response.status_code)
            return ChargeResult(ChargeStatus.UNKNOWN, reason_code="bad_response"), {}
        return None, body

    @staticmethod
    def _charge_result(body: dict[str, Any]) -> ChargeResult:
        status = _OUTCOMES.get(str(body.get("status")), ChargeStatus.UNKNOWN)
        reason = body.get("reason_code")
        return ChargeResult(
            status=status,
            gateway_ref=body.get("ref"),
            reason_code=reason,
            gateway_code=reason,
            challenge_url=body.get("challenge_url")
            if status is ChargeStatus.REQUIRES_ACTION
            else None,
            amount=body.get("amount"),
        )

    async def charge(
        self,
        *,
        order_id: str,
        amount: int,
        currency: str,
        token: str,
        idempotency_key: str,
        return_url: str | None = None,
    ) -> ChargeResult:
        """Authorise and capture `amount`. The same idempotency key never charges twice."""
        payload: dict[str, Any] = {
            "order_id": order_id,
            "amount": amount,
            "currency": currency,
            "token": token,
            "idempotency_key": idempotency_key,
        }
        if return_url is not None:
            payload["return_url"] = return_url
        failed, body = await self._money_call(
            "POST", "/v1/charges", json=payload, what=f"charge {idempotency_key}"
        )
        result = failed or self._charge_result(body)
        log.info(
            "charge order=%s key=%s -> %s %s",
            order_id,
            idempotency_key,
            result.status,
            result.reason_code or "",
        )
        return result

    async def complete_3ds(self, *, gateway_ref: str) -> ChargeResult:
        """The charge's outcome after the challenge (REQUIRES_ACTION while still open)."""
        failed, body = await self._money_call(
            "GET", _path("/v1/charges", gateway_ref), what=f"3ds {gateway_ref}"
        )
        if failed is not None:
            # Reading cannot charge, but "nothing charged" is not known either: the shopper may
            # have passed the challenge. UNKNOWN sends the caller to look it up again.
            return ChargeResult(
                ChargeStatus.UNKNOWN, gateway_ref=gateway_ref, reason_code=failed.reason_code
            )
        return self._charge_result(body)

    async def capture(self, *, gateway_ref: str, amount: int) -> ChargeResult:
        failed, body = await self._money_call(
            "POST",
            _path("/v1/charges", gateway_ref) + "/capture",
            json={"amount": amount},
            what=f"capture {gateway_ref}",
        )
        return failed or ChargeResult(
            ChargeStatus.APPROVED, gateway_ref=gateway_ref, amount=body.get("captured_amount")
        )

    async def void(self, *, gateway_ref: str) -> ChargeResult:
        failed, body = await self._money_call(
            "POST", _path("/v1/charges", gateway_ref) + "/void", what=f"void {gateway_ref}"
        )
        return failed or ChargeResult(
            ChargeStatus.APPROVED, gateway_ref=gateway_ref, amount=body.get("amount")
        )

    async def refund(self, *, gateway_ref: str, amount: int, idempotency_key: str) -> ChargeResult:
        failed, body = await self._money_call(
            "POST",
            _path("/v1/charges", gateway_ref) + "/refund",
            json={"amount": amount, "idempotency_key": idempotency_key},
            what=f"refund {idempotency_key}",
        )
        return failed or ChargeResult(
            ChargeStatus.APPROVED,
            gateway_ref=gateway_ref,
            amount=_object(body.get("refund")).get("amount"),
        )

    # --- reads and non-card methods: GatewayError on trouble -------------------------------------

    async def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request; transport failures become a retryable GatewayError (these calls are safe
        to repeat: reads, or writes carrying an idempotency key)."""
        try:
            response = await self._http.request(method, url, json=json, params=params)
        except _NOT_SENT as exc:
            raise GatewayError(
                "gateway_unreachable", f"{what}: gateway unreachable", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise GatewayError(
                "gateway_timeout", f"{what}: no answer from the gateway", retryable=True
            ) from exc
        return response

    @staticmethod
    def _body(response: httpx.Response) -> dict[str, Any]:
        if not response.is_success:
            raise _gateway_error(response)
        body = _json(response)
        if body is None:
            raise GatewayError(
                "bad_response",
                "unreadable gateway answer",
                retryable=True,
                status_code=response.status_code,
            )
        return body

    async def token_info(self, token: str) -> TokenInfo:
        """Public facts of a card token; GatewayError('token_invalid') if unknown, used, expired."""
        response = await self._call("GET", _path("/v1/tokens", token), what="token info")
        body = self._body(response)
        return TokenInfo(
            token=body["token"],
            brand=body["brand"],
            last4=body["last4"],
            exp_month=body["exp_month"],
            exp_year=body["exp_year"],
            expires_at=datetime.fromisoformat(body["expires_at"]),
        )

    async def lookup(self, *, order_id: str, idempotency_key: str) -> PaymentLookup:
        """What the gateway knows of the charge under this key (NOT_FOUND: it never charged)."""
        response = await self._call(
            "GET",
            "/v1/charges",
            what="lookup",
            params={"order_id": order_id, "idempotency_key": idempotency_key},
        )
        if response.status_code == 404:
            return PaymentLookup(LookupStatus.NOT_FOUND)
        body = self._body(response)
        state = _LOOKUP_STATES.get(str(body.get("state")))
        if state is None:
            raise GatewayError("bad_response", "unknown charge state", retryable=True)
        return PaymentLookup(
            status=state,
            gateway_ref=body.get("ref"),
            amount=body.get("amount"),
            reason_code=body.get("reason_code"),
        )

    async def screen_deferred(
        self, *, order_id: str, amount: int, buyer: Buyer, idempotency_key: str
    ) -> ScreeningResult:
        """Credit screening for payment after delivery."""
        response = await self._call(
            "POST",
            "/v1/screenings",
            what="screening",
            json={
                "order_id": order_id,
                "amount": amount,
                "buyer": _buyer(buyer),
                "idempotency_key": idempotency_key,
            },
        )
        body = self._body(response)
        return ScreeningResult(
            status=ScreeningStatus(body["status"]),
            gateway_ref=body["ref"],
            reason_code=body.get("reason_code"),
        )

    async def create_konbini_slip(
        self, *, order_id: str, amount: int, buyer: Buyer, store_chain: str, idempotency_key: str
    ) -> KonbiniSlip:
        response = await self._call(
            "POST",
            "/v1/konbini-slips",
            what="konbini slip",
            json={
                "order_id": order_id,
                "amount": amount,
                "buyer": _buyer(buyer),
                "store_chain": store_chain,
                "idempotency_key": idempotency_key,
            },
        )
        body = self._body(response)
        return KonbiniSlip(
            gateway_ref=body["ref"],
            store_chain=body["store_chain"],
            payment_number=body["payment_number"],
            confirmation_number=body["confirmation_number"],
            deadline=datetime.fromisoformat(body["deadline"]),
            amount=body["amount"],
        )

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Check signature and timestamp; raises WebhookVerificationError. Replays: caller's job."""
        return webhooks.verify(
            headers, body, self._webhook_secret, now=self._clock(), tolerance_s=self._tolerance_s
        )

    async def confirm_webhook(self, event: WebhookEvent) -> WebhookEvent:
        """Sandbox webhooks are HMAC-signed: a verified event needs no further confirmation."""
        return event


def _buyer(buyer: Buyer) -> dict[str, str]:
    return {
        "name": buyer.name,
        "postal_code": buyer.postal_code,
        "address": buyer.address,
        "phone": buyer.phone,
        "email": buyer.email,
    }
