"""`SandboxSettings` from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tools.payments.sandbox import SandboxSettings


def test_defaults_match_the_local_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PUBLIC_URL", "ALLOWED_ORIGINS", "API_KEY", "WEBHOOK_URL"):
        monkeypatch.delenv(f"CHATPAY_SANDBOX_{name}", raising=False)
    settings = SandboxSettings()
    assert settings.public_url == "http://127.0.0.1:8001"
    assert settings.allowed_origins == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert settings.webhook_url == "http://127.0.0.1:8000/api/webhooks/gateway"
    assert (settings.token_ttl_seconds, settings.after_delivery_limit) == (1800, 55000)


def test_origins_are_comma_separated_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CHATPAY_SANDBOX_ALLOWED_ORIGINS", " https://Shop.Example/ ,http://a.test:8000,"
    )
    monkeypatch.setenv("CHATPAY_SANDBOX_PUBLIC_URL", "https://pay.example/")
    monkeypatch.setenv("CHATPAY_SANDBOX_WEBHOOK_URL", "")
    settings = SandboxSettings()
    assert settings.allowed_origins == ["https://shop.example", "http://a.test:8000"]
    assert settings.public_url == "https://pay.example"
    assert settings.webhook_url == ""


@pytest.mark.parametrize(
    "origins",
    [
        "shop.example",
        "https://shop.example/chat",
        "ftp://shop.example",
        "https://shop.example:port",
    ],
)
def test_a_mistyped_origin_stops_start_up(monkeypatch: pytest.MonkeyPatch, origins: str) -> None:
    monkeypatch.setenv("CHATPAY_SANDBOX_ALLOWED_ORIGINS", origins)
    with pytest.raises(ValidationError):
        SandboxSettings()
