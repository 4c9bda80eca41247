"""Errors of the model layer, for developers and operators.

This module only houses the exceptions raised when a model call cannot produce a usable answer. They
are never shown to the shopper and never sent back to the model: the turn loop catches `ModelError`,
logs it and answers in guided mode. Signals *to* the model (a tool's validation or domain error, a
malformed tool-argument string) are not exceptions at all; they travel as tool results.

Data lives on attributes (status code, attempts, body excerpt) so logs and metrics do not have to
parse messages. No attribute ever holds the request messages: what the shopper typed stays out of
error reports.
"""

from __future__ import annotations

# Bodies of error responses are kept for diagnosis but cut short: a proxy's HTML error page or a
# provider's long validation message should not flood a log line.
BODY_EXCERPT_CHARS = 500


def excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """`text` cut to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[:limit] + "…"


class ModelError(Exception):
    """A model call gave no usable answer; the turn falls back to guided mode."""

    def __init__(self, message: str, *, model_name: str) -> None:
        super().__init__(message)
        self.model_name = model_name


class ModelUnavailable(ModelError):
    """Transient failures (429, 5xx, timeouts, connection errors) outlasted the retry budget."""

    def __init__(
        self,
        *,
        model_name: str,
        attempts: int,
        last_status_code: int | None,
        last_error: str,
    ) -> None:
        status = f"HTTP {last_status_code}" if last_status_code is not None else "no HTTP status"
        super().__init__(
            f"model {model_name!r} unavailable after {attempts} attempt(s) ({status}): {last_error}",
            model_name=model_name,
        )
        self.attempts = attempts
        self.last_status_code = last_status_code
        self.last_error = last_error


class ModelHTTPError(ModelError):
    """The endpoint refused the request in a way retrying cannot fix (400, 401, 403, 404, 422, ...).

    Almost always a configuration or request-building bug: a wrong key, an unknown model name, a tool
    schema the provider rejects, a history that breaks the tool-call pairing rules.
    """

    def __init__(
        self, *, model_name: str, status_code: int, code: str | None, body: str
    ) -> None:
        detail = f" ({code})" if code else ""
        super().__init__(
            f"model {model_name!r} refused the request: HTTP {status_code}{detail}: {excerpt(body)}",
            model_name=model_name,
        )
        self.status_code = status_code
        self.code = code
        self.body = excerpt(body)


class ModelResponseInvalid(ModelError):
    """A 2xx answer whose body is not JSON or lacks the Chat Completions structure."""

    def __init__(self, *, model_name: str, reason: str, body: str, status_code: int = 200) -> None:
        super().__init__(
            f"model {model_name!r} sent an unusable response (HTTP {status_code}): {reason}",
            model_name=model_name,
        )
        self.reason = reason
        self.status_code = status_code
        self.body = excerpt(body)


class ModelConfigurationError(RuntimeError):
    """The model layer cannot be built as configured (raised at start-up, never during a turn).

    Deliberately not a `ModelError`: guided mode must not hide a deployment mistake.
    """
