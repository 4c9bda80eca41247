"""Settings of the sandbox gateway (prefix `CHATPAY_SANDBOX_`), read once at start-up.

The defaults are the local development pair: the merchant app on :8000 embeds the sandbox's card
frame from :8001. The key and secret defaults are public on purpose: the sandbox moves no money.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` in lower case, or None if `value` is not a bare http(s) origin."""
    value = value.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class SandboxSettings(BaseSettings):
    """Where the sandbox is served and whom it trusts; each field is `CHATPAY_SANDBOX_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="CHATPAY_SANDBOX_", extra="ignore")

    public_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Base URL shoppers' browsers reach the sandbox at (card frame, 3-D Secure).",
    )
    api_key: str = Field(
        default="sk_sandbox_local",
        min_length=1,
        description="Bearer key the merchant server uses for /v1 and /sandbox.",
    )
    webhook_secret: str = Field(
        default="whsec_sandbox_local", min_length=1, description="HMAC secret for signing webhooks."
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Comma-separated merchant page origins allowed to embed the frames.",
    )
    webhook_url: str = Field(
        default="http://127.0.0.1:8000/api/webhooks/gateway",
        description="Where events are POSTed; empty to only record them (GET /sandbox/webhooks).",
    )
    token_ttl_seconds: int = Field(default=1800, ge=1, description="Lifetime of a card token.")
    after_delivery_limit: int = Field(
        default=55000,
        ge=0,
        description="Largest amount (yen) screening approves for after delivery.",
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="Per delivery attempt.")
    webhook_attempts: int = Field(
        default=3, ge=1, le=10, description="Delivery attempts per event."
    )

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.strip().rstrip("/")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> list[str]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError("allowed_origins must be a comma-separated string or a list")
        origins = []
        for item in items:
            if not str(item).strip():
                continue
            origin = normalize_origin(str(item))
            if origin is None:
                # A typo here would silently block the chat's card frame; refuse to start instead.
                raise ValueError(f"not an http(s) origin: {item!r}")
            origins.append(origin)
        return origins
