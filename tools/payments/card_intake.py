"""Accepting the token the gateway's card frame handed to the shopper's page.

The merchant never sees the card: it receives a single-use token, asks the gateway for the token's
public facts (brand, last four, expiry) and remembers those on the conversation for the next quote.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from tools.checkout.payment_choice import attach_card
from tools.errors import DomainError
from tools.payments.gateway import GatewayError, PaymentGateway, TokenInfo

# Tokens are opaque, but bounded: anything else is refused before it reaches the gateway or a log.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{8,128}$")


class CardTokenRejected(DomainError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            "card_token_invalid",
            "That card could not be used (the secure form's token is invalid or expired). "
            "Please enter the card again.",
            "カード情報を確認できませんでした（入力フォームの有効期限切れなど）。"
            "もう一度カード情報を入力してください。",
            details={"reason": reason},
        )


async def accept_card_token(session: AsyncSession, gateway: PaymentGateway, conversation_id: str,
                            token: str) -> TokenInfo:
    """Look the token up at the gateway and attach its public facts to the conversation."""
    if not _TOKEN_SHAPE.fullmatch(token):
        raise CardTokenRejected("malformed")
    try:
        info = await gateway.token_info(token)
    except GatewayError as exc:
        if exc.retryable:
            raise DomainError(
                "gateway_unavailable",
                "The card service is not answering right now; please try again in a moment.",
                "カード決済サービスが応答していません。少し時間をおいて再度お試しください。",
                http_status=503,
            ) from None
        raise CardTokenRejected(exc.code) from None
    await attach_card(session, conversation_id, token=token, brand=info.brand, last4=info.last4)
    return info
