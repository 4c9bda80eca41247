"""Settings of the HTTP service and CLI (prefix `CHATPAY_`), read once at start-up."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHATPAY_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Address the merchant app listens on.")
    port: int = Field(default=8000, description="Port of the merchant app (chat page and API).")
    public_url: str = Field(default="http://127.0.0.1:8000",
                            description="Origin shoppers' browsers use for the chat page (the card "
                                        "frame sends tokens to this origin only).")
    rate_limit_conversation: int = Field(
        default=60, ge=0, description="Messages and actions per conversation per minute (0: off).")
    rate_limit_client: int = Field(
        default=600, ge=0, description="Requests that change state per client address per minute "
                                       "(0: off).")
    gateway: str = Field(default="sandbox", description="Payment gateway: sandbox | gmo.")
    serve_sandbox: bool = Field(default=True, description="Also serve the sandbox gateway (on "
                                "CHATPAY_SANDBOX_PUBLIC_URL's port) when the gateway is sandbox.")
    log_level: str = Field(default="INFO", description="Log level (DEBUG, INFO, WARNING, ...).")
    environment: str = Field(default="development",
                             description="development | production (production refuses defaults "
                                         "for secrets).")
    operator_key: SecretStr | None = Field(
        default=None, description="Key operators use for /operator, /api/operator/* and /metrics "
                                  "(unset: those endpoints answer 404; at least 24 characters).",
        min_length=24)
