"""`chatpay chat`: the conversation in a terminal, against the same HTTP API as the web page.

This module only houses the terminal client. It talks to a running server (`--url`) or to an
in-process app with an in-process sandbox gateway, renders widgets as text, and reads card details
with hidden input that is sent straight to the gateway's tokenize URL — the merchant API only ever
receives the token, exactly as from the browser frame.

Commands besides plain text: /add N [QTY], /remove SKU, /cart, /checkout, /address, /method NAME,
/card, /pay, /help, /quit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console

Prompt = Callable[..., str]

HELP = ("Type to chat. Commands: /add N [QTY] (from the last product list), /remove SKU, /cart, "
        "/checkout, /address, /method card|after_delivery|konbini, /card, /pay, /quit")
_ADDRESS_FIELDS = [("name", "Name"), ("postal_code", "Postal code"), ("line1", "Street and number"),
                   ("line2", "Building, room (optional)"), ("phone", "Phone"), ("email", "E-mail")]


@dataclass
class TerminalChat:
    """One shopper session in a terminal."""

    api: httpx.AsyncClient  # the merchant app
    gateway: httpx.AsyncClient  # for tokenising cards (browser side of the gateway)
    console: Console
    prompt: Prompt
    locale: str = "en"
    conversation_id: str = ""
    token: str = ""
    last_products: list[dict[str, Any]] = field(default_factory=list)
    last_confirm: dict[str, Any] | None = None
    last_card_form: dict[str, Any] | None = None
    last_challenge: dict[str, Any] | None = None
    done: bool = False

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self) -> None:
        response = await self.api.post("/api/conversations", json={"locale": self.locale})
        response.raise_for_status()
        body = response.json()
        self.conversation_id, self.token = body["id"], body["token"]
        self.show(body["events"])

    async def send(self, text: str) -> None:
        await self._post("messages", {"text": text})

    async def act(self, **action: Any) -> None:
        await self._post("actions", action)

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        response = await self.api.post(f"/api/conversations/{self.conversation_id}/{path}",
                                       json=body, headers=self.auth)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                message = error.get("message", "")
                fields = error.get("details", {}).get("fields") or {}
            except (ValueError, KeyError, TypeError):
                message, fields = response.text[:200], {}
            self.console.print(f"[red]! {message}[/red]")
            lang = "ja" if self.locale == "ja" else "en"
            for name, problem in fields.items():
                text = problem.get(lang, "") if isinstance(problem, dict) else str(problem)
                self.console.print(f"[red]  - {name}: {text}[/red]")
            return
        self.show(response.json()["events"])

    # -- rendering ----------------------------------------------------------------------------

    def show(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event["type"] == "message":
                who = "you" if event["role"] == "user" else "shop"
                self.console.print(f"[bold]{who}:[/bold] {event['text']}")
            else:
                self._widget(event["widget"])

    def _widget(self, widget: dict[str, Any]) -> None:
        kind = widget["kind"]
        out = self.console.print
        if kind == "product_list":
            self.last_products = widget["products"]
            for number, product in enumerate(widget["products"], start=1):
                name = product["name_ja"] if self.locale == "ja" else product["name"]
                stock = "" if product["stock"] else " (sold out)"
                out(f"  {number}. {name}  ¥{product['price']:,}{stock}  [{product['sku']}]")
            out("  (/add N [QTY] to add)")
        elif kind == "cart":
            for line in widget["lines"]:
                out(f"  {line['quantity']} × {line['name']}  ¥{line['line_total']:,}")
            out(f"  shipping ¥{widget['shipping_fee']:,}  fee ¥{widget['payment_fee']:,}  "
                f"[bold]total ¥{widget['total']:,}[/bold]")
        elif kind == "address_form":
            out("  (address needed: type /address)")
        elif kind == "payment_methods":
            for method in widget["methods"]:
                state = "" if method["available"] else " (not available)"
                out(f"  - {method['method']} (fee ¥{method['fee']:,}){state}")
            out("  (/method NAME to choose)")
        elif kind == "card_form":
            self.last_card_form = widget
            out("  (secure card entry: type /card — the number goes to the payment company only)")
        elif kind == "confirm":
            self.last_confirm = widget
            for line in widget["lines"]:
                out(f"  {line['quantity']} × {line['name']}  ¥{line['line_total']:,}")
            tax = widget["tax_included"]
            out(f"  shipping ¥{widget['shipping_fee']:,}  fee ¥{widget['payment_fee']:,}  "
                f"(tax incl. 10%: ¥{tax.get('10', 0):,}, 8%: ¥{tax.get('8', 0):,})")
            out(f"  [bold]Pay ¥{widget['total']:,}[/bold] with {widget['payment_method']} — /pay")
        elif kind == "threeds_challenge":
            self.last_challenge = widget
        elif kind == "receipt":
            out(f"  [green]receipt: order {widget['order_id']} — {widget['status']}, "
                f"¥{widget['total']:,}[/green]")
            self.done = widget["status"] in ("paid", "deferred_approved")
        elif kind == "konbini_slip":
            out(f"  [green]pay at {widget.get('store_chain')}: payment no. "
                f"{widget.get('payment_number')}, confirmation {widget.get('confirmation_number')}"
                f", by {widget.get('deadline')}, ¥{widget.get('total', 0):,}[/green]")
            self.done = True
        elif kind == "quick_replies":
            out("  " + "  ".join(f"[{o['label']}]" for o in widget["options"]))

    # -- commands -----------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Run one input line; False when the shopper quits."""
        line = line.strip()
        if not line:
            return True
        if not line.startswith("/"):
            await self.send(line)
        else:
            command, *args = line.split()
            if command in ("/quit", "/exit"):
                return False
            await self._command(command, args)
        if self.last_challenge is not None:
            await self._threeds()
        return True

    async def _command(self, command: str, args: list[str]) -> None:
        if command == "/help":
            self.console.print(HELP)
        elif command == "/add" and args and args[0].isdigit():
            index = int(args[0]) - 1
            if not 0 <= index < len(self.last_products):
                self.console.print("[red]! no such product number[/red]")
                return
            quantity = int(args[1]) if len(args) > 1 and args[1].isdigit() else 1
            await self.act(type="add_to_cart", sku=self.last_products[index]["sku"],
                           quantity=quantity)
        elif command == "/remove" and args:
            await self.act(type="remove_from_cart", sku=args[0])
        elif command == "/cart":
            await self.act(type="quick_reply", value="view_cart")
        elif command == "/checkout":
            await self.act(type="checkout")
        elif command == "/method" and args:
            await self.act(type="choose_payment_method", method=args[0])
        elif command == "/address":
            fields = {name: self.prompt(label, default="") for name, label in _ADDRESS_FIELDS}
            await self.act(type="submit_address",
                           fields={**fields, "prefecture": "", "city": ""})
        elif command == "/card":
            await self._card()
        elif command == "/pay":
            if self.last_confirm is None:
                self.console.print("[red]! nothing to pay yet (/checkout)[/red]")
                return
            confirm, self.last_confirm = self.last_confirm, None
            await self.act(type="confirm", quote_id=confirm["quote_id"],
                           quote_hash=confirm["quote_hash"])
        else:
            self.console.print(HELP)

    async def _card(self) -> None:
        form = self.last_card_form
        if form is None:
            await self.act(type="quick_reply", value="enter_card")
            form = self.last_card_form
            if form is None:
                return
        number = self.prompt("Card number", hide_input=True)
        expiry = self.prompt("Expiry (MM/YY)")
        cvc = self.prompt("Security code", hide_input=True)
        name = self.prompt("Name on card")
        month, _, year = expiry.partition("/")
        if not (month.strip().isdigit() and year.strip().isdigit()):
            self.console.print("[red]! expiry must look like 12/30[/red]")
            return
        # Straight to the gateway: the merchant API never receives these digits.
        response = await self.gateway.post(form["tokenize_url"], json={
            "number": re.sub(r"[\s-]", "", number), "exp_month": int(month),
            "exp_year": 2000 + int(year) % 100, "cvc": cvc.strip(), "name": name.strip()})
        del number, cvc
        if response.status_code != 201:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = f"card refused ({response.status_code})"
            self.console.print(f"[red]! {message}[/red]")
            return
        await self.act(type="card_token", token=response.json()["token"])

    async def _threeds(self) -> None:
        challenge, self.last_challenge = self.last_challenge, None
        assert challenge is not None  # noqa: S101 - checked by the caller
        url = str(challenge["challenge_url"])
        self.console.print(f"  Your card company asks for a one-time code ({url}).")
        code = self.prompt("One-time code")
        ref = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        base = url.split("/3ds/")[0]
        await self.gateway.post(f"{base}/3ds/{ref}", json={"code": code.strip()})
        await self.act(type="threeds_complete", payment_id=challenge["payment_id"])
