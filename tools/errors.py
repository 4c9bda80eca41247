"""Domain errors of the commerce core.

This module only houses the error types that the deterministic tools raise when a shopper's request
cannot be carried out (unknown product, not enough stock, stale quote, ...). Each error carries a
machine `code`, an English and a Japanese message, and structured `details`, so that the HTTP API can
turn it into a 4xx body and the agent can hand it back to the model as a short tool result it can act
on. Errors for developers and operators (misconfiguration, a broken database) are ordinary exceptions
and never subclass `DomainError`.
"""

from __future__ import annotations

from typing import Any, Literal

Locale = Literal["en", "ja"]


class DomainError(Exception):
    """A shopper-facing refusal: code + bilingual message + details."""

    #: HTTP status the API should answer with (400 bad request, 404 unknown, 409 conflict, ...).
    http_status: int = 400

    def __init__(
        self,
        code: str,
        message_en: str,
        message_ja: str,
        *,
        details: dict[str, Any] | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_en = message_en
        self.message_ja = message_ja
        self.details: dict[str, Any] = details or {}
        if http_status is not None:
            self.http_status = http_status

    def message(self, locale: Locale = "en") -> str:
        """The message in the shopper's language."""
        return self.message_ja if locale == "ja" else self.message_en

    def to_dict(self, locale: Locale = "en") -> dict[str, Any]:
        """Compact form for API bodies and model tool results."""
        body: dict[str, Any] = {"code": self.code, "message": self.message(locale)}
        if self.details:
            body["details"] = self.details
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, details={self.details!r})"


class NotFoundError(DomainError):
    """Something the shopper referred to does not exist (or is not theirs)."""

    http_status = 404


class ConflictError(DomainError):
    """The request is valid but the state moved on (stale quote, stock gone, order already paid)."""

    http_status = 409


class ValidationFailed(DomainError):
    """Input that fails validation, with per-field errors in `details["fields"]`."""

    http_status = 422

    def __init__(self, fields: dict[str, dict[str, str]], *, code: str = "invalid_input") -> None:
        # fields: {"phone": {"code": "invalid_phone", "en": "...", "ja": "..."}}
        en = "; ".join(f"{name}: {err['en']}" for name, err in fields.items())
        # Japanese field messages are whole sentences ending in 。, so they simply follow each other.
        ja = "".join(err["ja"] for err in fields.values())
        super().__init__(code, en, ja, details={"fields": fields})
        self.fields = fields
