"""`GMOGateway`: the `PaymentGateway` protocol over GMO Payment Gateway's protocol-type HTTP API.

This module only houses the request flows. Wire format, error table, OrderIDs, store slips and
notifications live in their own modules of this package.

Exactly-once charging rests on three facts and one rule:

1. the GMO OrderID is derived from the idempotency key (`order_ids`), so every retry under a key
   addresses the same GMO transaction, and GMO refuses a second EntryTran for it (E01040010);
2. a GMO transaction carries at most one authorisation (a second ExecTran gets E11010001);
3. EntryTran only registers an order: it cannot move money.

Rule: a request that may have reached GMO and whose answer we lost is UNKNOWN if it could have
moved money (ExecTran, SecureTran2, AlterTran) and RETRYABLE_ERROR if it could not (EntryTran,
SearchTrade, or nothing sent at all). A retry with the same key re-enters through EntryTran ->
E01040010 -> SearchTrade and continues from what GMO has, so even a wrong guess between the two
cannot charge twice.

`gateway_ref` is the GMO OrderID. The AccessID/AccessPass pair needed to alter a transaction is read
back with SearchTrade when needed, so AccessPass is never stored or logged on our side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

import httpx

from tools.payments.gateway import (
    Buyer,
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    GatewayError,
    KonbiniSlip,
    LookupStatus,
    PaymentLookup,
    ScreeningResult,
    TokenInfo,
    WebhookEvent,
    WebhookVerificationError,
)
from tools.payments.gmo import konbini, notifications
from tools.payments.gmo.client import GMOClient, TransportFailure
from tools.payments.gmo.errors import ErrorMeaning, Outcome, most_significant
from tools.payments.gmo.order_ids import OrderKind, order_id_for
from tools.payments.gmo.protocol import Reply
from tools.payments.gmo.settings import GMOSettings
from tools.payments.gmo.trades import CAPTURED, CHARGED, LOOKUP_STATUS, REFUNDED, Trade

if TYPE_CHECKING:
    from tools.payments.gateway import PaymentGateway

log = logging.getLogger(__name__)

# Errors on a request that may have been processed: the outcome must be looked up.
_MAYBE_DONE = {Outcome.UNCERTAIN, Outcome.ALREADY_SETTLED}


class GMOGateway:
    """GMO Payment Gateway (PGマルチペイメントサービス, protocol type). Off unless enabled."""

    name = "gmo"

    def __init__(self, settings: GMOSettings, *, client: httpx.AsyncClient | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        if not settings.enabled:
            raise ValueError("the GMO adapter is disabled (set CHATPAY_GMO_ENABLED=true)")
        self._settings = settings
        self._gmo = GMOClient(settings, client=client, transport=transport)
        self._clock = clock or (lambda: datetime.now(UTC))

    async def aclose(self) -> None:
        await self._gmo.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def gmo_order_id(self, idempotency_key: str, kind: OrderKind = OrderKind.CARD) -> str:
        """The GMO OrderID used for this key (what GMO's console and notifications show)."""
        return order_id_for(idempotency_key, kind, self._settings.order_id_prefix)

    # -- card: charge and 3-D Secure ----------------------------------------------------------

    async def token_info(self, token: str) -> TokenInfo:
        """Unsupported: GMO cannot describe a token server-side (see the `tokens` module)."""
        raise GatewayError("unsupported", "GMO tokens are described by the card frame, not the "
                                          "server: use tools.payments.gmo.tokens")

    async def charge(self, *, order_id: str, amount: int, currency: str, token: str,
                     idempotency_key: str, return_url: str | None = None) -> ChargeResult:
        """Authorise (and with JobCd=CAPTURE capture) `amount` yen; one GMO order per key."""
        if currency != "JPY":
            raise GatewayError("unsupported_currency", "GMO card payments are in JPY only")
        if amount <= 0:
            raise GatewayError("invalid_amount", "the amount must be a positive number of yen")
        ret_url = return_url or self._settings.callback_url
        if self._settings.tds2 and not ret_url:
            raise GatewayError("misconfigured", "3-D Secure needs a return URL")
        gmo_order = self.gmo_order_id(idempotency_key)
        log.info("gmo charge order=%s gmo_order=%s amount=%s", order_id, gmo_order, amount)
        try:
            entry = await self._gmo.post("EntryTran.idPass", {
                **self._gmo.shop(), "OrderID": gmo_order, "JobCd": self._settings.job_cd,
                # Prices are tax-inclusive and GMO charges Amount + Tax: all of it goes in Amount.
                "Amount": str(amount), "Tax": "0", "TdFlag": "2" if self._settings.tds2 else "0",
            })
        except TransportFailure as failure:
            # EntryTran cannot move money: whatever happened, a retry with this key is safe.
            return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gmo_order,
                                reason_code=failure.reason)
        if not entry.ok:
            meaning = most_significant(entry.errors)
            if meaning.outcome is Outcome.ORDER_EXISTS:
                return await self._resume(gmo_order, amount, token, ret_url)
            if meaning.outcome in {Outcome.BUSY, Outcome.UNCERTAIN}:
                return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gmo_order,
                                    reason_code=DeclineReason.PROCESSING_ERROR.value,
                                    gateway_code=meaning.info)
            return self._declined(gmo_order, meaning)
        if not entry.get("AccessID") or not entry.get("AccessPass"):
            # Registered or not, the retry will find out through E01040010 and SearchTrade.
            return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gmo_order,
                                reason_code="malformed_reply")
        return await self._exec(gmo_order, entry.get("AccessID"), entry.get("AccessPass"),
                                amount, token, ret_url)

    async def _resume(self, gmo_order: str, amount: int, token: str,
                      ret_url: str) -> ChargeResult:
        """A retry: the key's GMO order exists. Continue from its state; never start another."""
        try:
            trade = await self._gmo.search(gmo_order)
        except GatewayError as exc:
            if exc.retryable:
                return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gmo_order,
                                    reason_code=exc.code)
            raise
        if trade is None:
            # GMO says the OrderID is taken but shows no card transaction for it: do not guess.
            return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gmo_order)
        if trade.amount != amount:
            raise GatewayError("idempotency_conflict",
                               "this idempotency key was used for a different amount")
        if trade.status in CHARGED:
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gmo_order, amount=trade.amount)
        if trade.status == "AUTHENTICATED":
            # The challenge URL went out with the first answer; GMO does not hand it out again.
            return ChargeResult(ChargeStatus.REQUIRES_ACTION, gateway_ref=gmo_order,
                                gateway_code="Status=AUTHENTICATED")
        if trade.status == "UNPROCESSED":
            # Registered, never authorised (or a first ExecTran still running: GMO then refuses
            # this one with E90010001/E11010001, which maps to UNKNOWN).
            return await self._exec(gmo_order, trade.access_id, trade.access_pass, amount, token,
                                    ret_url)
        if trade.status in REFUNDED or trade.status == "VOID":
            return ChargeResult(ChargeStatus.DECLINED, gateway_ref=gmo_order,
                                reason_code="order_closed", gateway_code=f"Status={trade.status}")
        return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gmo_order,
                            gateway_code=f"Status={trade.status}")

    async def _exec(self, gmo_order: str, access_id: str, access_pass: str, amount: int,
                    token: str, ret_url: str) -> ChargeResult:
        # Only the single-use token from GMO's own frame is sent: never a card number.
        params = {"AccessID": access_id, "AccessPass": access_pass, "OrderID": gmo_order,
                  "Method": "1", "Token": token}
        if self._settings.tds2:
            params["RetUrl"] = ret_url
        try:
            reply = await self._gmo.post("ExecTran.idPass", params)
        except TransportFailure as failure:
            return self._lost(gmo_order, failure)
        return await self._card_result(reply, gmo_order, amount)

    async def complete_3ds(self, *, gateway_ref: str) -> ChargeResult:
        """After the shopper's challenge: SecureTran2 authorises the payment (once)."""
        try:
            trade = await self._gmo.search(gateway_ref)
        except GatewayError as exc:
            if exc.retryable:
                return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gateway_ref,
                                    reason_code=exc.code)
            raise
        if trade is None:
            return ChargeResult(ChargeStatus.DECLINED, gateway_ref=gateway_ref,
                                reason_code=DeclineReason.PROCESSING_ERROR.value,
                                gateway_code="E01110002")
        if trade.status in CHARGED:
            # The shopper's browser came back twice, or another process finished first.
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gateway_ref,
                                amount=trade.amount)
        if trade.status not in {"AUTHENTICATED", "UNPROCESSED"}:
            return ChargeResult(ChargeStatus.DECLINED, gateway_ref=gateway_ref,
                                reason_code="order_closed", gateway_code=f"Status={trade.status}")
        try:
            reply = await self._gmo.post("SecureTran2.idPass", {"AccessID": trade.access_id,
                                                            "AccessPass": trade.access_pass})
        except TransportFailure as failure:
            return self._lost(gateway_ref, failure)
        return await self._card_result(reply, gateway_ref, trade.amount)

    async def _card_result(self, reply: Reply, gmo_order: str, amount: int) -> ChargeResult:
        """The outcome of ExecTran or SecureTran2."""
        if reply.ok:
            acs = reply.get("ACS")
            if acs == "2":
                url = reply.get("RedirectUrl")
                if not url:
                    return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gmo_order,
                                        gateway_code="ACS=2")
                return ChargeResult(ChargeStatus.REQUIRES_ACTION, gateway_ref=gmo_order,
                                    challenge_url=url, amount=amount)
            if acs == "1":
                # 3-D Secure 1.0 (retired by the brands in 2022); we always ask for 2.0.
                return ChargeResult(ChargeStatus.DECLINED, gateway_ref=gmo_order,
                                    reason_code=DeclineReason.THREEDS_FAILED.value,
                                    gateway_code="ACS=1")
            if reply.get("TranID"):
                return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gmo_order, amount=amount)
            return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gmo_order,
                                reason_code="malformed_reply")
        meaning = most_significant(reply.errors)
        if meaning.outcome is Outcome.DECLINED:
            return self._declined(gmo_order, meaning)
        if meaning.outcome is Outcome.ALREADY_SETTLED:
            return await self._settled_elsewhere(gmo_order, meaning)
        if meaning.outcome is Outcome.UNCERTAIN:
            return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gmo_order,
                                gateway_code=meaning.info)
        if meaning.outcome is Outcome.BUSY:
            return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gmo_order,
                                reason_code=DeclineReason.PROCESSING_ERROR.value,
                                gateway_code=meaning.info)
        return self._declined(gmo_order, meaning)

    async def _settled_elsewhere(self, gmo_order: str, meaning: ErrorMeaning) -> ChargeResult:
        """E11010001: an earlier request already settled this transaction. Report what it did."""
        try:
            trade = await self._gmo.search(gmo_order)
        except GatewayError:
            trade = None
        if trade is not None and trade.status in CHARGED:
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gmo_order, amount=trade.amount)
        return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gmo_order, gateway_code=meaning.info)

    @staticmethod
    def _declined(gmo_order: str, meaning: ErrorMeaning) -> ChargeResult:
        reason = meaning.reason or DeclineReason.PROCESSING_ERROR
        return ChargeResult(ChargeStatus.DECLINED, gateway_ref=gmo_order, reason_code=reason.value,
                            gateway_code=meaning.info)

    @staticmethod
    def _lost(gmo_order: str, failure: TransportFailure) -> ChargeResult:
        """A money-moving request without a usable answer."""
        if not failure.sent:
            return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gmo_order,
                                reason_code=failure.reason)
        return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gmo_order,
                            reason_code=failure.reason)

    # -- card: after the charge ---------------------------------------------------------------

    async def _trade_for_change(self, gateway_ref: str) -> Trade | ChargeResult:
        try:
            trade = await self._gmo.search(gateway_ref)
        except GatewayError as exc:
            if exc.retryable:
                return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gateway_ref,
                                    reason_code=exc.code)
            raise
        if trade is None:
            raise GatewayError("not_found", "GMO has no transaction for this reference")
        return trade

    async def _alter(self, trade: Trade, gateway_ref: str, job_cd: str,
                     amount: int | None = None) -> ChargeResult:
        params = {**self._gmo.shop(), "AccessID": trade.access_id, "AccessPass": trade.access_pass,
                  "JobCd": job_cd}
        if amount is not None:
            params["Amount"] = str(amount)
        try:
            reply = await self._gmo.post("AlterTran.idPass", params)
        except TransportFailure as failure:
            return self._lost(gateway_ref, failure)
        if reply.ok:
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gateway_ref,
                                amount=amount if amount is not None else trade.amount)
        meaning = most_significant(reply.errors)
        if meaning.outcome in _MAYBE_DONE:
            return ChargeResult(ChargeStatus.UNKNOWN, gateway_ref=gateway_ref,
                                gateway_code=meaning.info)
        if meaning.outcome is Outcome.BUSY:
            return ChargeResult(ChargeStatus.RETRYABLE_ERROR, gateway_ref=gateway_ref,
                                gateway_code=meaning.info)
        return self._declined(gateway_ref, meaning)

    async def capture(self, *, gateway_ref: str, amount: int) -> ChargeResult:
        """AUTH -> SALES (JobCd=AUTH shops). GMO only captures the authorised amount in full."""
        found = await self._trade_for_change(gateway_ref)
        if isinstance(found, ChargeResult):
            return found
        if found.status in CAPTURED:
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gateway_ref,
                                amount=found.amount)
        if found.status != "AUTH":
            raise GatewayError("invalid_state", f"cannot capture a {found.status} transaction")
        if amount != found.amount:
            raise GatewayError("amount_mismatch", "GMO captures exactly the authorised amount")
        return await self._alter(found, gateway_ref, "SALES", amount)

    async def void(self, *, gateway_ref: str) -> ChargeResult:
        """Cancel an authorisation or a same-day charge (AlterTran JobCd=VOID)."""
        found = await self._trade_for_change(gateway_ref)
        if isinstance(found, ChargeResult):
            return found
        if found.status == "VOID":
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gateway_ref,
                                amount=found.amount)
        if found.status not in CHARGED:
            raise GatewayError("invalid_state", f"cannot void a {found.status} transaction")
        return await self._alter(found, gateway_ref, "VOID")

    async def refund(self, *, gateway_ref: str, amount: int,
                     idempotency_key: str) -> ChargeResult:
        """Refund in full (AlterTran RETURN; VOID for an uncaptured AUTH).

        Idempotent through GMO's own state: a refunded transaction is reported as done, not refunded
        again, so `idempotency_key` is not needed on the wire. Partial refunds are not offered: GMO
        does them by re-authorising a lower amount (ChangeTran), which carries no key of ours and so
        could not be retried safely after a lost answer.
        """
        found = await self._trade_for_change(gateway_ref)
        if isinstance(found, ChargeResult):
            return found
        if found.status in REFUNDED or found.status == "VOID":
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=gateway_ref, amount=amount)
        if found.status not in CHARGED:
            raise GatewayError("invalid_state", f"cannot refund a {found.status} transaction")
        if amount != found.amount:
            raise GatewayError("unsupported", "GMO refunds here are full refunds only")
        job_cd = "RETURN" if found.status in CAPTURED else "VOID"
        return await self._alter(found, gateway_ref, job_cd)

    async def lookup(self, *, order_id: str, idempotency_key: str) -> PaymentLookup:
        """What GMO knows of the card charge made under this key."""
        gmo_order = self.gmo_order_id(idempotency_key)
        trade = await self._gmo.search(gmo_order)
        if trade is None:
            return PaymentLookup(LookupStatus.NOT_FOUND, gateway_ref=gmo_order)
        if trade.status == "UNPROCESSED":
            # Registered, not authorised. Right after a lost ExecTran it may still be authorising,
            # and "not found" would let the order fail while the card gets charged.
            age = (self._clock() - trade.process_date).total_seconds() if trade.process_date else 0
            if age < self._settings.inflight_window_s:
                raise GatewayError("in_flight", "the GMO transaction may still be authorising",
                                   retryable=True)
            return PaymentLookup(LookupStatus.NOT_FOUND, gateway_ref=gmo_order)
        status = LOOKUP_STATUS.get(trade.status)
        if status is None:
            raise GatewayError("unexpected_status", f"GMO status {trade.status} for a card charge")
        return PaymentLookup(status, gateway_ref=gmo_order, amount=trade.amount)

    # -- other methods ------------------------------------------------------------------------

    async def screen_deferred(self, *, order_id: str, amount: int, buyer: Buyer,
                              idempotency_key: str) -> ScreeningResult:
        """Unsupported: GMO後払い is a separate service whose API is not publicly documented."""
        raise GatewayError("unsupported", "payment after delivery is not offered through GMO here")

    async def create_konbini_slip(self, *, order_id: str, amount: int, buyer: Buyer,
                                  store_chain: str, idempotency_key: str) -> KonbiniSlip:
        """A convenience-store slip (EntryTranCvs + ExecTranCvs); a retry returns the same slip."""
        code = konbini.convenience_code(store_chain)
        customer = konbini.customer_fields(buyer)
        contact = (self._settings.konbini_contact_name, self._settings.konbini_contact_tel,
                   self._settings.konbini_contact_hours)
        if not all(contact):
            raise GatewayError("misconfigured", "CHATPAY_GMO_KONBINI_CONTACT_* must be set")
        gmo_order = self.gmo_order_id(idempotency_key, OrderKind.KONBINI)
        log.info("gmo konbini order=%s gmo_order=%s amount=%s", order_id, gmo_order, amount)
        try:
            entry = await self._gmo.post("EntryTranCvs.idPass", {
                **self._gmo.shop(), "OrderID": gmo_order, "Amount": str(amount), "Tax": "0"})
        except TransportFailure as failure:
            raise GatewayError("unreachable", f"GMO EntryTranCvs: {failure.reason}",
                               retryable=True) from None
        access: tuple[str, str]
        if entry.ok:
            access = (entry.get("AccessID"), entry.get("AccessPass"))
        else:
            meaning = most_significant(entry.errors)
            if meaning.outcome is not Outcome.ORDER_EXISTS:
                raise GatewayError(meaning.info, "GMO refused the convenience-store order",
                                   retryable=meaning.outcome in {Outcome.BUSY, Outcome.UNCERTAIN})
            trade = await self._gmo.search(gmo_order, konbini.CVS_PAY_TYPE)
            if trade is None:
                raise GatewayError("unreachable", "GMO shows no store transaction yet",
                                   retryable=True)
            if trade.amount != amount:
                raise GatewayError("idempotency_conflict",
                                   "this idempotency key was used for a different amount")
            if trade.status == "REQSUCCESS":
                return konbini.slip_from_search(trade.reply, gmo_order_id=gmo_order, amount=amount)
            if trade.status != "UNPROCESSED":
                raise GatewayError("order_closed", f"the store payment is {trade.status}")
            access = (trade.access_id, trade.access_pass)
        try:
            reply = await self._gmo.post("ExecTranCvs.idPass", {
                "AccessID": access[0], "AccessPass": access[1], "OrderID": gmo_order,
                "Convenience": code, **customer,
                "PaymentTermDay": str(self._settings.konbini_payment_term_days),
                "ReceiptsDisp11": contact[0], "ReceiptsDisp12": contact[1],
                "ReceiptsDisp13": contact[2],
            })
        except TransportFailure as failure:
            # A slip moves no money, and a retry finds an issued one through SearchTradeMulti.
            raise GatewayError("unreachable", f"GMO ExecTranCvs: {failure.reason}",
                               retryable=True) from None
        if not reply.ok:
            meaning = most_significant(reply.errors)
            raise GatewayError(meaning.info, "GMO refused the convenience-store slip",
                               retryable=meaning.outcome in {Outcome.BUSY, Outcome.UNCERTAIN})
        return konbini.slip_from_exec(reply, gmo_order_id=gmo_order, amount=amount)

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Parse a result notification; checks ShopID/ShopPass only (GMO signs nothing).

        The event comes back with `data["confirmed"] = False`: pass it to `confirm_webhook` before
        acting on it. See `tools.payments.gmo.notifications` for what this can and cannot prove.
        """
        return notifications.verify(headers, body, shop_id=self._settings.shop_id,
                                    shop_pass=self._settings.shop_pass.get_secret_value(),
                                    received_at=self._clock())

    async def confirm_webhook(self, event: WebhookEvent) -> WebhookEvent:
        """Check a notification against GMO's own record (an authenticated SearchTrade).

        Raises WebhookVerificationError('bad_signature') when GMO has no such transaction or its
        status or amount differ from the notification's, GatewayError when GMO cannot be asked.
        """
        pay_type = str(event.data.get("pay_type", ""))
        gmo_order = event.gateway_ref or event.order_id
        trade = await self._gmo.search(gmo_order, pay_type if pay_type != "0" else None)
        if trade is None:
            raise WebhookVerificationError("bad_signature")
        if trade.status != event.data.get("gmo_status") or trade.amount != event.data.get("amount"):
            # Forged, or overtaken by a later change (whose own notification will follow).
            raise WebhookVerificationError("bad_signature")
        return WebhookEvent(id=event.id, type=event.type, order_id=event.order_id,
                            gateway_ref=event.gateway_ref, created_at=event.created_at,
                            data={**event.data, "confirmed": True})


if TYPE_CHECKING:
    def _conforms(gateway: GMOGateway) -> PaymentGateway:
        return gateway  # mypy checks GMOGateway against the protocol here
