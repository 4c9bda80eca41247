"""The one redacting log filter: card data never reaches a log line.

This module only houses `RedactingFilter` and its installation. Every part of a record that can
carry shopper text goes through `agent.redaction.redact`:

* the message, after %-formatting with its arguments (then `record.msg` holds the redacted text
  and `record.args` is None, so no handler formats the raw arguments again);
* the exception: formatted once here, redacted into `record.exc_text`, and `record.exc_info` set
  to None, so no handler (rich, Sentry, a JSON formatter) renders the raw exception, its chained
  causes or its notes again. `logging.Formatter` appends `exc_text` on its own;
* `stack_info`;
* every `extra` attribute: strings are redacted; lists, tuples and dicts are rebuilt with their
  strings redacted; any other object is replaced by its redacted `str()` only if that string held
  card data (so numbers and ordinary objects keep their type for structured formatters).

If redaction itself fails, the record is kept but its content is withheld (fail closed).

Where it runs - two layers, because neither alone covers everything:

1. A log-record factory (`logging.setLogRecordFactory`) redacts message, arguments, exception and
   stack when a record is created. It covers every logger and every handler, including handlers
   added later and loggers that do not propagate to the root (uvicorn's), with no configuration.
   It cannot see `extra` attributes: `Logger.makeRecord` sets them after the factory returns.
2. `RedactingFilter` on handlers redacts everything, extras included. `install_redacting_filter`
   attaches it to the handlers that exist at that moment; call it again after configuring logging
   (or name `agent.redaction.RedactingFilter` in a `dictConfig` "filters" section) so that handlers
   created later also get the extras covered.

A filter on a logger (rather than a handler) was rejected: logger filters do not run for records
that propagate from child loggers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.redaction.detect import redact

__all__ = [
    "RedactingFilter",
    "install_redacting_filter",
    "redact_record",
    "uninstall_redacting_filter",
]

_WITHHELD = "[log record withheld: redaction failed]"
_MAX_DEPTH = 4
# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName", "_chatpay_redacted"}
_exception_formatter = logging.Formatter()


def _redacted_message(record: logging.LogRecord) -> str:
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the format
        # logging would print the raw arguments to stderr from Handler.handleError; keep them,
        # redacted, in the message instead.
        message = f"{record.msg!s} (log arguments did not match the format: {record.args!r})"
    return redact(message).text


def _redact_message_parts(record: logging.LogRecord) -> None:
    """Message, arguments, exception and stack: what exists when the record is created."""
    if getattr(record, "_chatpay_redacted", False) and record.args is None:
        return
    record.msg = _redacted_message(record)
    record.args = None
    if record.exc_info:
        exc_text = record.exc_text or _exception_formatter.formatException(record.exc_info)
        record.exc_text = redact(exc_text).text
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text).text
    if record.stack_info:
        record.stack_info = redact(record.stack_info).text
    record._chatpay_redacted = True


def _redact_value(value: object, depth: int = 0) -> object:
    if isinstance(value, str):
        return redact(value).text
    if value is None or isinstance(value, int | float | bool) or depth >= _MAX_DEPTH:
        return value
    if isinstance(value, list | tuple):
        items = [_redact_value(item, depth + 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: _redact_value(item, depth + 1) for key, item in value.items()}
    text = str(value)
    redacted = redact(text)
    return redacted.text if redacted.kinds else value


def _withhold(record: logging.LogRecord) -> None:
    record.msg, record.args = _WITHHELD, None
    record.exc_info = record.exc_text = record.stack_info = None
    for key in [k for k in vars(record) if k not in _STANDARD_ATTRIBUTES]:
        setattr(record, key, None)


def redact_record(record: logging.LogRecord) -> None:
    """Redact every part of `record` that can hold shopper text, in place."""
    try:
        _redact_message_parts(record)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES:
                setattr(record, key, _redact_value(value))
    except Exception:  # never let a log call fail, never let raw text through
        _withhold(record)


class RedactingFilter(logging.Filter):
    """Redacts card data from every record it sees; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class _RedactingRecordFactory:
    """Wraps the previous log-record factory; redacts what exists when a record is created."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            _redact_message_parts(record)
        except Exception:
            _withhold(record)
        return record


_shared_filter = RedactingFilter()


def _known_loggers() -> list[logging.Logger]:
    loggers = [logging.getLogger()]
    loggers.extend(
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    )
    return loggers


def install_redacting_filter(logger: logging.Logger | None = None) -> RedactingFilter:
    """Redact every log record: the record factory, plus the filter on existing handlers.

    Handlers of `logger` get the filter; with no logger, the handlers of the root logger and of
    every logger created so far. Safe to call more than once.
    """
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(factory))
    for target in [logger] if logger is not None else _known_loggers():
        for handler in target.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(_shared_filter)
    return _shared_filter


def uninstall_redacting_filter() -> None:
    """Undo `install_redacting_filter` (for tests and orderly shutdown)."""
    factory = logging.getLogRecordFactory()
    if isinstance(factory, _RedactingRecordFactory):
        logging.setLogRecordFactory(factory.previous)
    for target in _known_loggers():
        for handler in target.handlers:
            for installed in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
                handler.removeFilter(installed)
