"""The sandbox payment gateway: the embedded default, like a provider's test mode.

A self-contained ASGI app on its own origin (hosted card fields, tokenising, 3-D Secure challenge,
charges, deferred-payment screening, convenience-store slips, signed webhooks, test cards and fault
injection) plus `SandboxGateway`, the merchant-side adapter that speaks to it over HTTP.

- `create_app(settings, clock=..., send_webhook=...)`: the app (`python -m tools.payments.sandbox`
  serves it with uvicorn on `public_url`);
- `SandboxSettings`: `CHATPAY_SANDBOX_*` settings;
- `SandboxGateway`: the `PaymentGateway` implementation;
- `tokenize_card`: the shopper side of card entry, for clients without the hosted form.

The test cards are listed in `cards.py`.
"""

from tools.payments.sandbox.app import create_app
from tools.payments.sandbox.card_entry import tokenize_card
from tools.payments.sandbox.client import SandboxGateway
from tools.payments.sandbox.clock import Clock, ManualClock, system_clock
from tools.payments.sandbox.settings import SandboxSettings

__all__ = [
    "Clock",
    "ManualClock",
    "SandboxGateway",
    "SandboxSettings",
    "create_app",
    "system_clock",
    "tokenize_card",
]
