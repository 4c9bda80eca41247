"""Settings of the conversation layer (prefix `CHATPAY_`), read once at start-up and passed down.

This module only houses `AgentSettings`. The model endpoint's credentials keep the names every
OpenAI-compatible tool uses, `OPENAI_API_KEY` and `OPENAI_BASE_URL` (pydantic-settings also accepts
them with the prefix, `CHATPAY_OPENAI_API_KEY`, because fields may be populated by name).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from prompts import SHIPPED_DIR

OFFLINE_MODEL = "offline"

# Values copied from examples and templates; a deployment carrying one has not been configured.
_PLACEHOLDER_KEYS = frozenset({"changethis", "changeme", "your-api-key", "sk-...", "sk-xxx", "xxx"})


#: Shopper turns of history sent with every model call. The checkout facts (cart, address, method,
#: the products shown lately) travel in the state block, so older talk adds cost, not knowledge:
#: eight turns keep the prompt flat over a long conversation (issue 8: turn 60 within 1.2x of
#: turn 5) while a shopper's recent references ("the second one", "as I said") stay in view.
DEFAULT_HISTORY_TURNS = 8


class AgentSettings(BaseSettings):
    """Which model to talk to and how patiently. Fields map to `CHATPAY_<NAME>` variables."""

    model_config = SettingsConfigDict(
        env_prefix="CHATPAY_", extra="ignore", populate_by_name=True,
        # Fields named model_* are ours, not pydantic's namespace.
        protected_namespaces=(),
    )

    model: str = Field(
        default=OFFLINE_MODEL, min_length=1,
        description='Model name sent to the endpoint, or "offline" for the embedded rule-based model.',
    )
    model_timeout_s: float = Field(default=20.0, gt=0, description="Timeout of one model attempt.")
    model_max_attempts: int = Field(default=4, ge=1, le=10, description="Attempts per model call.")
    model_max_retry_seconds: float = Field(
        default=30.0, gt=0, description="Wall-time budget of one model call, retries included."
    )
    max_steps_per_turn: int = Field(default=4, ge=1, le=20, description="Model calls per turn.")
    history_turns: int = Field(default=DEFAULT_HISTORY_TURNS, ge=1,
                               description="Recent turns sent to the model.")
    prompt_dir: Path | None = Field(
        default=None, description="Prompt directory; unset means the shipped `prompts/`."
    )
    record_model_content: bool = Field(
        default=False, description="Keep the (redacted) messages and answers in usage records."
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias="OPENAI_API_KEY"
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias="OPENAI_BASE_URL",
        description="OpenAI-compatible endpoint (Azure, vLLM, Ollama, llama.cpp); unset = OpenAI.",
    )

    @field_validator("openai_api_key", "openai_base_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `OPENAI_BASE_URL=` in a .env file means "not set", not "the empty URL".
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _require_credentials(self) -> Self:
        key = self.openai_api_key.get_secret_value().strip() if self.openai_api_key else ""
        if self.model == OFFLINE_MODEL:
            return self
        if key.lower() in _PLACEHOLDER_KEYS:
            raise ValueError("OPENAI_API_KEY holds a placeholder value; set the real key")
        if not key and self.openai_base_url is None:
            # A local server (vLLM, Ollama, llama.cpp) may need no key, but it needs a base URL.
            raise ValueError(
                f"CHATPAY_MODEL={self.model!r} needs OPENAI_API_KEY, or OPENAI_BASE_URL for a "
                f'key-less OpenAI-compatible server; use CHATPAY_MODEL="{OFFLINE_MODEL}" to run '
                "without a model endpoint"
            )
        return self

    @property
    def is_offline(self) -> bool:
        return self.model == OFFLINE_MODEL

    @property
    def prompt_directory(self) -> Path:
        """The prompt directory in effect: `prompt_dir`, or the shipped one."""
        return self.prompt_dir if self.prompt_dir is not None else SHIPPED_DIR


@lru_cache(maxsize=1)
def get_agent_settings() -> AgentSettings:
    """The process-wide settings, read from the environment once."""
    return AgentSettings()
