"""No card number reaches a log line: message, arguments, exceptions, stacks and extras."""

from __future__ import annotations

import io
import logging
import logging.config
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from agent.redaction import (
    CARD_NUMBER_TOKEN,
    RedactingFilter,
    install_redacting_filter,
    uninstall_redacting_filter,
)
from agent.redaction import log_filter as log_filter_module

VISA = "4242424242424242"
GROUPED = "4242 4242 4242 4242"
AMEX = "3782 822463 10005"


@dataclass
class Captured:
    logger: logging.Logger
    stream: io.StringIO
    records: list[logging.LogRecord]

    @property
    def text(self) -> str:
        return self.stream.getvalue()


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the global record factory and the root handlers back as they were."""
    factory = logging.getLogRecordFactory()
    root_handlers = list(logging.getLogger().handlers)
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        for handler in logging.getLogger().handlers:
            if handler not in root_handlers:
                logging.getLogger().removeHandler(handler)


def _logger(stream: io.StringIO, records: list[logging.LogRecord], fmt: str) -> logging.Logger:
    logger = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    logger.addHandler(_Keep(records))
    return logger


@pytest.fixture
def captured(restore_logging: None) -> Captured:
    stream, records = io.StringIO(), list[logging.LogRecord]()
    logger = _logger(stream, records, "%(levelname)s %(name)s %(message)s")
    install_redacting_filter(logger)
    return Captured(logger, stream, records)


def assert_no_card(text: str) -> None:
    for written in (VISA, GROUPED, "4242-4242-4242-4242", "378282246310005", AMEX):
        assert written not in text


@pytest.mark.parametrize(
    "level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
)
def test_card_in_the_message_at_every_level(captured: Captured, level: int) -> None:
    captured.logger.log(level, f"shopper wrote: my card is {GROUPED}")
    assert f"my card is {CARD_NUMBER_TOKEN}" in captured.text
    assert_no_card(captured.text)


def test_card_in_the_arguments_is_formatted_then_redacted(captured: Captured) -> None:
    captured.logger.debug("shopper wrote %r at step %d", f"card {VISA} exp 12/30", 3)
    captured.logger.info("%(text)s", {"text": f"カード番号は{AMEX}です"})
    assert_no_card(captured.text)
    assert "step 3" in captured.text
    record = captured.records[0]
    assert record.args is None
    assert record.msg == record.getMessage()
    assert CARD_NUMBER_TOKEN in record.msg and "[expiry removed]" in record.msg


def test_exception_message_and_traceback_are_redacted(captured: Captured) -> None:
    def charge() -> None:
        try:
            raise ValueError("gateway rejected 4242 4242 4242 4242")  # in the traceback source too
        except ValueError as cause:
            error = RuntimeError(f"charge failed for {VISA}")
            error.add_note(f"note: {AMEX}")
            raise error from cause

    try:
        charge()
    except RuntimeError:
        captured.logger.exception("payment step failed")
    text = captured.text
    assert "Traceback (most recent call last)" in text
    assert "The above exception was the direct cause" in text
    assert f"RuntimeError: charge failed for {CARD_NUMBER_TOKEN}" in text
    assert f"ValueError: gateway rejected {CARD_NUMBER_TOKEN}" in text
    assert_no_card(text)
    record = captured.records[0]
    assert record.exc_info is None  # no handler can render the raw exception again
    assert record.exc_text is not None and CARD_NUMBER_TOKEN in record.exc_text


def test_stack_info_is_redacted(captured: Captured) -> None:
    captured.logger.info("where %s", "here", stack_info=True)  # card: 4242424242424242
    assert "Stack (most recent call last)" in captured.text
    assert_no_card(captured.text)


def test_string_and_structured_extras_are_redacted(restore_logging: None) -> None:
    stream, records = io.StringIO(), list[logging.LogRecord]()
    logger = _logger(stream, records, "%(message)s | %(body)s | %(payload)s | %(attempt)s")
    install_redacting_filter(logger)
    logger.info(
        "request",
        extra={"body": f"card={VISA}", "payload": {"cards": [GROUPED, (AMEX,)]}, "attempt": 2},
    )
    assert_no_card(stream.getvalue())
    record = records[0]
    assert vars(record)["attempt"] == 2  # numbers keep their type for structured formatters
    assert vars(record)["payload"] == {"cards": [CARD_NUMBER_TOKEN, (CARD_NUMBER_TOKEN,)]}


def test_an_extra_object_whose_text_holds_a_card_is_replaced(restore_logging: None) -> None:
    class Body:
        def __str__(self) -> str:
            return f"Body(card={VISA})"

    stream, records = io.StringIO(), list[logging.LogRecord]()
    logger = _logger(stream, records, "%(message)s %(body)s")
    install_redacting_filter(logger)
    logger.info("got", extra={"body": Body()})
    assert_no_card(stream.getvalue())
    assert vars(records[0])["body"] == f"Body(card={CARD_NUMBER_TOKEN})"


def test_arguments_that_do_not_fit_the_format_are_logged_redacted(
    captured: Captured, capsys: pytest.CaptureFixture[str]
) -> None:
    captured.logger.info("card %d", VISA)  # a bug in a log call must not leak through stderr
    assert "did not match the format" in captured.text
    assert_no_card(captured.text)
    assert_no_card(capsys.readouterr().err)


def test_a_non_string_message_is_redacted(captured: Captured) -> None:
    captured.logger.warning({"card": VISA, "cvc": "123"})
    assert_no_card(captured.text)


def test_handlers_added_later_are_covered_by_the_record_factory(restore_logging: None) -> None:
    install_redacting_filter(logging.getLogger(f"test.redaction.{uuid.uuid4().hex}"))
    stream, records = io.StringIO(), list[logging.LogRecord]()
    later = _logger(stream, records, "%(message)s")  # no filter on these handlers
    later.error("declined %s", GROUPED)
    assert stream.getvalue().strip() == f"declined {CARD_NUMBER_TOKEN}"


def test_install_on_the_root_logger_by_default(restore_logging: None) -> None:
    stream = io.StringIO()
    root_handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(root_handler)
    child = logging.getLogger(f"test.redaction.{uuid.uuid4().hex}")
    child.setLevel(logging.DEBUG)
    installed = install_redacting_filter()
    assert installed in root_handler.filters
    child.debug("propagated %s", VISA)
    assert "propagated" in stream.getvalue()
    assert_no_card(stream.getvalue())


def test_install_twice_adds_one_filter_and_one_factory(captured: Captured) -> None:
    factory = logging.getLogRecordFactory()
    install_redacting_filter(captured.logger)
    assert logging.getLogRecordFactory() is factory
    for handler in captured.logger.handlers:
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1


def test_the_filter_can_be_named_in_dict_config(restore_logging: None) -> None:
    stream = io.StringIO()
    name = f"test.redaction.{uuid.uuid4().hex}"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": "agent.redaction.RedactingFilter"}},
            "handlers": {
                "memory": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "filters": ["redact"],
                }
            },
            "loggers": {name: {"handlers": ["memory"], "level": "DEBUG", "propagate": False}},
        }
    )
    # No factory installed here: the handler's filter alone redacts.
    logging.getLogger(name).debug("via dictConfig %s", VISA)
    assert stream.getvalue().strip() == f"via dictConfig {CARD_NUMBER_TOKEN}"


def test_redaction_failure_withholds_the_record(
    captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> object:
        raise RuntimeError("bug")

    monkeypatch.setattr(log_filter_module, "redact", broken)
    captured.logger.info("card %s", VISA)
    assert "log record withheld" in captured.text
    assert_no_card(captured.text)


def test_uninstall_restores_the_factory_and_removes_the_filters(restore_logging: None) -> None:
    # Start from the plain factory whatever an earlier test left installed (an app's startup
    # installs the filter process-wide); `restore_logging` puts that back afterwards.
    uninstall_redacting_filter()
    stream, records = io.StringIO(), list[logging.LogRecord]()
    logger = _logger(stream, records, "%(message)s")
    factory = logging.getLogRecordFactory()
    install_redacting_filter(logger)
    uninstall_redacting_filter()
    assert logging.getLogRecordFactory() is factory
    assert all(not handler.filters for handler in logger.handlers)
