"""`chatpay chat`'s client: a purchase typed in a terminal, the card read hidden and sent to the gateway."""

from __future__ import annotations

import io
from typing import Any

import httpx
from rich.console import Console

from agent.testing import FailingModel
from api.terminal_chat import TerminalChat

CARD = "4242 4242 4242 4242"


async def test_a_terminal_purchase_never_sends_the_card_to_the_merchant(chat_factory: Any) -> None:
    chat = chat_factory(FailingModel())  # guided mode: no model needed for a purchase
    merchant_bodies: list[str] = []

    async def record(request: httpx.Request) -> None:
        merchant_bodies.append(request.content.decode())

    chat.client.event_hooks["request"].append(record)
    answers = iter(["Taro Yamada", "150-0002", "2-21-1", "", "090-1234-5678", "taro@example.com",
                    CARD, "12/30", "123", "TARO YAMADA"])
    hidden: list[str] = []

    def prompt(label: str, **options: Any) -> str:
        answer = next(answers)
        if options.get("hide_input"):
            hidden.append(label)
        return answer

    screen = io.StringIO()
    terminal = TerminalChat(api=chat.client, gateway=chat.shop.sandbox,
                            console=Console(file=screen, width=120), prompt=prompt)
    await terminal.start()
    for line in ["green tea", "/add 1 2", "/checkout", "/address", "/method card", "/card",
                 "/pay"]:
        assert await terminal.handle(line)
    assert terminal.done, screen.getvalue()
    assert hidden == ["Card number", "Security code"]
    output = screen.getvalue()
    assert "receipt" in output and "paid" in output and "¥3,000" in output
    sent = "\n".join(merchant_bodies)
    assert '"card_token"' in sent
    for fragment in ("4242424242424242", CARD, '"123"'):
        assert fragment not in sent and fragment not in output
    assert not await terminal.handle("/quit")
