"""The shopper's side of the HTTP API: what the chat page and the gateway's card frame do.

This module only houses `Browser`, used by both scripted steps and the simulated shopper. It sends
messages and widget actions to the merchant API, tokenises cards at the `tokenize_url` of the latest
card-form widget (the merchant never receives the number), answers 3-D Secure challenges on the
gateway, and plays the outside world for the sandbox (paying a convenience-store slip, settling a
screening), whose signed webhooks reach the merchant app.

It keeps the latest widget of each kind, every assistant message, every API error and a transcript
for the report. The transcript never holds a card number or a security code typed into the card
frame; text the shopper typed into the chat is kept as typed and masked when the report is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from agent.redaction import redact_pair
from evals.scenario import CardDetails
from evals.shop import Shop
from tools.store.models import Order, Payment

Entry = dict[str, Any]


class StepFailed(Exception):
    """The shopper cannot do what the step asks (e.g. press Pay with no confirmation shown)."""


@dataclass
class ApiError:
    status: int
    code: str
    message: str


@dataclass
class Browser:
    shop: Shop
    locale: str = "en"
    conversation_id: str = ""
    token: str = ""
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    assistant_texts: list[str] = field(default_factory=list)
    errors: list[ApiError] = field(default_factory=list)
    transcript: list[Entry] = field(default_factory=list)
    # Every body the merchant API sent, with the scenario step during which it was sent.
    raw_responses: list[tuple[int | None, str]] = field(default_factory=list)
    step: int | None = None  # the scripted step being carried out (None: none)
    user_turns: int = 0
    last_events: list[dict[str, Any]] = field(default_factory=list)
    _last_said: Entry | None = None  # the shopper's previous message in `transcript`
    _done_challenges: set[str] = field(default_factory=set)

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # -- the merchant API -----------------------------------------------------------------------

    async def start(self) -> None:
        response = await self.shop.api.post("/api/conversations", json={"locale": self.locale})
        self.raw_responses.append((self.step, response.text))
        if response.status_code != 201:
            raise StepFailed(f"starting a conversation answered HTTP {response.status_code}")
        body = response.json()
        self.conversation_id, self.token = body["id"], body["token"]
        self._show(body["events"])

    async def say(self, text: str) -> list[dict[str, Any]]:
        """Type a message (counts as a shopper turn)."""
        self.user_turns += 1
        self._note_said(text)
        return await self._post("messages", {"text": text})

    def _note_said(self, text: str) -> None:
        # The report shows the shopper's words as the shop stored them (redacted, a split number
        # scrubbed from both halves), not as typed: masking with the scenario's secrets alone misses
        # the formats the leak check cannot read, and the report is published.
        previous = self._last_said
        pair = redact_pair(previous["text"] if previous else "", text)
        if previous is not None and pair.previous_changed:
            previous["text"] = pair.previous.text
        self._last_said = {"role": "shopper", "type": "message", "text": pair.current.text}
        self.transcript.append(self._last_said)

    async def act(self, action: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a widget action; `$kind.field` string values name a field of the latest widget."""
        resolved = {key: self._resolve(value) for key, value in action.items()}
        self.user_turns += 1
        shown = dict(resolved)
        if shown.get("type") == "card_token":
            shown["token"] = "(token from the card frame)"  # noqa: S105 - a label, not a secret
        self.transcript.append({"role": "shopper", "type": "action", "action": shown})
        return await self._post("actions", resolved)

    def _resolve(self, value: Any) -> Any:
        if not (isinstance(value, str) and value.startswith("$") and "." in value):
            return value
        kind, _, name = value[1:].partition(".")
        widget = self.latest.get(kind)
        if widget is None or name not in widget:
            raise StepFailed(f"{value}: no {kind} widget with a {name!r} field was shown")
        return widget[name]

    async def _post(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self.shop.api.post(
            f"/api/conversations/{self.conversation_id}/{path}", json=body, headers=self._auth)
        self.raw_responses.append((self.step, response.text))
        if response.status_code >= 400:
            self._error(response)
            self.last_events = []
            return []
        events: list[dict[str, Any]] = response.json()["events"]
        self._show(events)
        return events

    def _error(self, response: httpx.Response) -> None:
        try:
            error = response.json()["error"]
            code, message = str(error.get("code", "")), str(error.get("message", ""))
        except (ValueError, KeyError, TypeError, AttributeError):
            code, message = f"http_{response.status_code}", response.text[:200]
        self.errors.append(ApiError(response.status_code, code, message))
        self.transcript.append({"role": "system", "type": "error", "status": response.status_code,
                                "code": code, "text": message})

    def _show(self, events: list[dict[str, Any]]) -> None:
        self.last_events = events
        for event in events:
            if event.get("type") == "message":
                self.assistant_texts.append(str(event.get("text", "")))
                self.transcript.append({"role": "assistant", "type": "message",
                                        "text": event.get("text", "")})
            elif event.get("type") == "widget":
                widget = event.get("widget") or {}
                self.latest[str(widget.get("kind"))] = widget
                self.transcript.append({"role": "assistant", "type": "widget", "widget": widget})

    async def state(self) -> dict[str, Any]:
        """`GET /api/conversations/{id}`: transcript, cart, stage, order."""
        response = await self.shop.api.get(f"/api/conversations/{self.conversation_id}",
                                           headers=self._auth)
        self.raw_responses.append((self.step, response.text))
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    # -- the card frame and the gateway ---------------------------------------------------------

    async def enter_card(self, card: CardDetails) -> list[dict[str, Any]]:
        """Type the card into the latest card form: tokenise at the gateway, send the token."""
        form = self.latest.get("card_form")
        if form is None:
            raise StepFailed("card: no card form was shown")
        session = parse_qs(urlsplit(str(form.get("iframe_url", ""))).query).get("session", [None])
        payload: dict[str, Any] = {"number": card.number, "exp": card.exp, "cvc": card.cvc,
                                   "name": card.name}
        if session[0]:
            payload["session"] = session[0]
        response = await self.shop.card_frame.post(str(form["tokenize_url"]), json=payload)
        del payload  # the number goes no further than the gateway
        if response.status_code != 201:
            try:
                code = str(response.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = f"http_{response.status_code}"
            self.user_turns += 1
            self.transcript.append({"role": "shopper", "type": "card",
                                    "text": f"card refused by the card frame: {code}"})
            return []
        body = response.json()
        self.transcript.append({"role": "shopper", "type": "card",
                                "text": f"entered {body.get('brand')} ****{body.get('last4')} "
                                        "in the card frame"})
        return await self.act({"type": "card_token", "token": body["token"]})

    async def press_pay(self) -> list[dict[str, Any]]:
        confirm = self.latest.get("confirm")
        if confirm is None:
            raise StepFailed("confirm: no confirmation widget was shown")
        return await self.act({"type": "confirm", "quote_id": confirm["quote_id"],
                               "quote_hash": confirm["quote_hash"]})

    def pending_challenge(self) -> dict[str, Any] | None:
        challenge = self.latest.get("threeds_challenge")
        if challenge is None or str(challenge.get("payment_id")) in self._done_challenges:
            return None
        return challenge

    async def complete_threeds(self, code: str) -> list[dict[str, Any]]:
        """Answer the latest unanswered 3-D Secure challenge; nothing if none is shown."""
        challenge = self.pending_challenge()
        if challenge is None:
            self.transcript.append({"role": "system", "type": "note",
                                    "text": "no 3-D Secure challenge shown; step skipped"})
            return []
        self._done_challenges.add(str(challenge.get("payment_id")))
        url = urlsplit(str(challenge["challenge_url"]))
        ref = url.path.rstrip("/").rsplit("/", 1)[-1]
        answer = await self.shop.card_frame.post(f"/3ds/{ref}", json={"code": code})
        status = answer.json().get("status") if answer.status_code == 200 else answer.status_code
        self.transcript.append({"role": "shopper", "type": "threeds",
                                "text": f"answered the 3-D Secure challenge ({status})"})
        return await self.act({"type": "threeds_complete",
                               "payment_id": challenge["payment_id"]})

    async def _gateway_ref(self, method: str) -> str:
        async with self.shop.database.session() as session:
            ref = await session.scalar(
                select(Payment.gateway_ref).join(Order, Payment.order_id == Order.id)
                .where(Order.conversation_id == self.conversation_id, Payment.method == method,
                       Payment.gateway_ref.is_not(None))
                .order_by(Payment.created_at.desc()).limit(1))
        if ref is None:
            raise StepFailed(f"no {method} payment with a gateway reference exists")
        return str(ref)

    async def store_pay(self) -> None:
        """The shopper pays the latest slip at the store; the sandbox's webhook reaches the shop."""
        ref = await self._gateway_ref("konbini")
        await self._control(f"/sandbox/konbini/{ref}/pay", {}, "paid the slip at the store")

    async def settle_screening(self, result: str) -> None:
        ref = await self._gateway_ref("after_delivery")
        await self._control(f"/sandbox/screenings/{ref}/settle", {"result": result},
                            f"screening settled: {result}")

    async def _control(self, path: str, body: dict[str, Any], what: str) -> None:
        sent_before = len(self.shop.webhooks)
        response = await self.shop.gateway.post(path, json=body)
        if response.status_code != 200:
            raise StepFailed(f"{what}: the sandbox answered HTTP {response.status_code}")
        # Under the ASGI transport the sandbox's delivery (a background task) has run by now.
        sent = self.shop.webhooks[sent_before:]
        outcome = ", ".join(f"{o.event.type} {'delivered' if o.delivered else 'NOT delivered'}"
                            f"{': ' + o.last_error if o.last_error else ''}" for o in sent)
        self.transcript.append({"role": "gateway", "type": "event",
                                "text": f"{what}; webhook: {outcome or 'none sent'}"})

