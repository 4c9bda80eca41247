"""The shopper's side of card entry: tokenise a card at the sandbox, as its hosted card form does.

This module only houses `tokenize_card`, for the terminal chat (which has no iframe), the eval
runner and tests. It talks to the gateway directly, never through the merchant: the merchant server
receives the token, not the number. Errors carry the gateway's code only, never the input.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from tools.payments.gateway import GatewayError, TokenInfo


async def tokenize_card(
    http: httpx.AsyncClient,
    *,
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    name: str,
    session: str | None = None,
) -> TokenInfo:
    """POST the card to the gateway's `/v1/tokens` (`http` has the gateway as base URL).

    Raises GatewayError with the gateway's code (invalid_number, invalid_expiry, expired_card,
    invalid_cvc, invalid_name) for a refused card, or `gateway_unreachable` (retryable).
    """
    payload: dict[str, object] = {
        "number": number,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "cvc": cvc,
        "name": name,
    }
    if session is not None:
        payload["session"] = session
    try:
        response = await http.post("/v1/tokens", json=payload)
    except httpx.TransportError:
        # Tokenising charges nothing, so any transport failure may simply be retried. The httpx
        # exception is not chained: it holds the request, and the request holds the number.
        raise GatewayError(
            "gateway_unreachable", "card service unreachable", retryable=True
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 201 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code", f"http_{response.status_code}"))
        raise GatewayError(
            code,
            str(error.get("message", code)),
            retryable=response.status_code >= 500,
            status_code=response.status_code,
        )
    return TokenInfo(
        token=body["token"],
        brand=body["brand"],
        last4=body["last4"],
        exp_month=body["exp_month"],
        exp_year=body["exp_year"],
        expires_at=datetime.fromisoformat(body["expires_at"]),
    )
