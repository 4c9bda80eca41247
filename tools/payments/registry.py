"""Which payment gateway the merchant talks to, chosen once at start-up from settings."""

from __future__ import annotations

from typing import Literal

from tools.payments.gateway import PaymentGateway

GatewayName = Literal["sandbox", "gmo"]


def build_gateway(name: str) -> PaymentGateway:
    """The configured gateway: `sandbox` (default, CHATPAY_SANDBOX_*) or `gmo` (CHATPAY_GMO_*)."""
    if name == "sandbox":
        from tools.payments.sandbox import SandboxGateway, SandboxSettings

        return SandboxGateway.from_settings(SandboxSettings())
    if name == "gmo":
        from tools.payments.gmo import GMOGateway, GMOSettings

        # Choosing GMO is what enables it; its settings then refuse empty or placeholder secrets.
        return GMOGateway(GMOSettings(enabled=True))
    raise ValueError(f"unknown payment gateway {name!r} (expected 'sandbox' or 'gmo')")
