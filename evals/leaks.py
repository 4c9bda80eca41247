"""The leak check: card numbers and security codes a scenario typed must appear in no sink.

This module only houses what counts as a secret, how it is looked for, and masking. It is
deliberately independent of `agent.redaction` (the code under test): a bug there must not blind the
check. The runner hands in the sinks (model requests, database rows, log lines, transcripts, the
report); `find_leaks` returns what it found, never the secret itself (a card as `****4242`).

Secrets of a scenario:

* card numbers: the `number` of every `card` step (and of a goal's card), and every run of 13-19
  digits in a `user` step that passes the Luhn check (digits may be separated by one or two spaces,
  dashes, dots, slashes or underscores, written full-width, or interleaved with zero-width
  characters; a run longer than 19 digits is checked for a card number at its start); a number
  split over two consecutive `user` steps (the last digit run of one and the first of the next
  make a Luhn-valid 13-19 digits), and each of its two parts of 6 digits or more;
* security codes: the `cvc` of every `card` step, and every standalone 3-4 digit number in a `user`
  step that stands in card context (defined below) and is not part of a date (next to `/`, `年`,
  `月`).

How they are found in a sink's text (and in its JSON-unescaped form, since JSON columns escape
non-ASCII characters):

* a card number matches as its digits in order, each written ASCII or full-width, with up to three
  separator or zero-width characters between any two: the compact form, the form as typed and any
  regrouping are all found;
* a security code matches only in card context: as a standalone number (no digit right before or
  after it) at most 30 characters after, or 15 characters before, a card-context marker: a
  security-code word (cvc, cvv, cvv2, csc, security code, security_code, card code, セキュリティコード,
  裏の3桁, 暗証番号), "card number" / カード番号 (which also covers redaction tokens such as
  "[card number removed]") or one of the scenario's card numbers. A bare "123" elsewhere (a price,
  a quantity, a postal code) is not a leak.

Limits: a card number split over more than two messages is not recognised; a code more than 30
characters from any marker is not found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from evals.scenario import CardStep, Scenario, UserStep

SinkName = Literal["model_request", "database", "log", "transcript", "report"]
SINKS: tuple[SinkName, ...] = ("model_request", "database", "log", "transcript", "report")

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_SEPARATOR = rf"[\s\-._/\u3000{_ZERO_WIDTH}]"
_FULLWIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
_FOLD = {0xFF10 + d: str(d) for d in range(10)}
_ANY_DIGIT = "[0-9\uff10-\uff19]"

_CODE_WORDS = re.compile(
    r"cvv2|cvc2?|cvv|csc|security[\s_-]?code|securitycode|card[\s_-]?code|card[\s_-]?number"
    r"|セキュリティー?\s*コード|裏面?の?[3３4４三四]桁|暗証番号|カード番号",
    re.IGNORECASE,
)
_AFTER_WINDOW = 30
_BEFORE_WINDOW = 15
_UNESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Every secret is digits: text without a digit (or a JSON escape that could hide one) is clean.
_MAY_HOLD_DIGITS = re.compile(r"[0-9\uff10-\uff19]|\\u")


_WIDE_DIGIT = re.compile("[\uff10-\uff19]")
_NOT_DIGIT = re.compile("[^0-9]")


def _digit_class(digit: str, wide: bool) -> str:
    # ASCII-only text gets literal digits, which the regex engine searches for much faster.
    return f"[{digit}{_FULLWIDTH[digit]}]" if wide else digit


@lru_cache(maxsize=1024)
def _card_pattern(digits: str, wide: bool = True) -> re.Pattern[str]:
    return re.compile(f"{_SEPARATOR}{{0,3}}".join(_digit_class(d, wide) for d in digits))


@lru_cache(maxsize=1024)
def _code_pattern(code: str, wide: bool = True) -> re.Pattern[str]:
    return _codes_pattern(frozenset([code]), wide)


@lru_cache(maxsize=1024)
def _codes_pattern(codes: frozenset[str], wide: bool) -> re.Pattern[str]:
    # Longest first: "1234" must not be matched as "123" followed by a digit (the look-ahead
    # would refuse it anyway; this keeps the alternation from trying the short one first).
    bodies = ["".join(_digit_class(d, wide) for d in code)
              for code in sorted(codes, key=len, reverse=True)]
    return re.compile(f"(?<!{_ANY_DIGIT})(?:{'|'.join(bodies)})(?!{_ANY_DIGIT})")


def _digits(text: str) -> str:
    """ASCII digits of `text` (full-width folded), in order."""
    return _NOT_DIGIT.sub("", text.translate(_FOLD))


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a digit string."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_card(digits: str) -> str:
    """How a card number is named in findings and the report: its last four digits only."""
    return f"****{digits[-4:]}" if len(digits) >= 13 else f"(part of a card, {len(digits)} digits)"


@dataclass(frozen=True)
class CardSecret:
    digits: str  # compact, ASCII
    source: str  # e.g. "steps[4].card"
    # A number split over two messages is known to be one only from its second message on:
    # pieces produced before that step (the first model call, log lines) are not searched for it.
    complete_at: int | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        return _card_pattern(self.digits)


@dataclass(frozen=True)
class CodeSecret:
    code: str  # ASCII digits
    source: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return _code_pattern(self.code)


@dataclass(frozen=True)
class Secrets:
    cards: tuple[CardSecret, ...] = ()
    codes: tuple[CodeSecret, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.cards or self.codes)

    def __add__(self, other: Secrets) -> Secrets:
        return Secrets(self.cards + other.cards, self.codes + other.codes)


@dataclass(frozen=True)
class Leak:
    sink: SinkName
    where: str
    kind: Literal["card_number", "security_code"]
    secret: str  # masked: "****4242" or "3-digit code from steps[4].card"

    def describe(self) -> str:
        what = "card number" if self.kind == "card_number" else "security code"
        return f"{what} {self.secret} found in {self.sink} ({self.where})"


# -- secrets of a scenario ----------------------------------------------------------------------

_RUN = re.compile(rf"{_ANY_DIGIT}(?:{_SEPARATOR}{{0,2}}{_ANY_DIGIT})*")
_SMALL_NUMBER = re.compile(rf"(?<!{_ANY_DIGIT}){_ANY_DIGIT}{{3,4}}(?!{_ANY_DIGIT})")


def cards_in_text(text: str) -> list[str]:
    """Card numbers (compact) a shopper's text holds: Luhn-valid runs of 13-19 digits."""
    found: list[str] = []
    for match in _RUN.finditer(text):
        digits = _digits(match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(digits)
        elif len(digits) > 19:
            # A card number followed by its expiry and code without a separator that breaks the run.
            found += [digits[:n] for n in range(19, 12, -1) if luhn_valid(digits[:n])][:1]
    return found


def _is_date_part(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return before in "/／" or after in "/／年月"


def _context_spans(text: str, cards: Sequence[CardSecret]) -> list[tuple[int, int]]:
    """Where a code counts as a code: a window around every marker in `text`."""
    return [(max(0, start - _BEFORE_WINDOW), end + _AFTER_WINDOW)
            for start, end in _marker_spans(text, cards)]


def codes_in_text(text: str, cards: Sequence[CardSecret] | None = None) -> list[str]:
    """Security codes a shopper's text holds: 3-4 digit numbers in card context, not dates."""
    if cards is None:
        cards = [CardSecret(digits, "") for digits in cards_in_text(text)]
    card_spans = [(m.start(), m.end()) for card in cards for m in card.pattern.finditer(text)]
    spans = _context_spans(text, cards)
    found: list[str] = []
    for match in _SMALL_NUMBER.finditer(text):
        start, end = match.span()
        if _is_date_part(text, start, end):
            continue
        if any(c_start < end and start < c_end for c_start, c_end in card_spans):
            continue  # a group of the card number itself
        if any(s_start <= start and end <= s_end for s_start, s_end in spans):
            found.append(_digits(match.group()))
    return found


def _edge_runs(text: str) -> tuple[str, str]:
    """The digits of the last and of the first digit run of a text ("" when there is none)."""
    runs = [_digits(m.group()) for m in _RUN.finditer(text)]
    return (runs[-1], runs[0]) if runs else ("", "")


def split_cards(first: str, second: str) -> list[tuple[str, str, str]]:
    """A card number split over two messages: `(number, first part, second part)`."""
    tail, _ = _edge_runs(first)
    _, head = _edge_runs(second)
    number = tail + head
    if tail and head and 13 <= len(number) <= 19 and luhn_valid(number):
        return [(number, tail, head)]
    return []


def secrets_of(scenario: Scenario) -> Secrets:
    """Every card number and security code the scenario's shopper types.

    A number split over two consecutive `user` steps is a secret, and so is each of its two
    parts of at least 6 digits: the parts are what the two stored messages would hold.
    """
    cards: list[CardSecret] = []
    codes: list[CodeSecret] = []
    steps = list(scenario.steps or [])
    # First the split numbers, so that both messages know their part is card data, not a code.
    in_step: dict[int, list[CardSecret]] = {}
    for index in range(1, len(steps)):
        first, second = steps[index - 1], steps[index]
        if isinstance(first, UserStep) and isinstance(second, UserStep):
            for number, head, tail in split_cards(first.user, second.user):
                source = f"steps[{index - 1}-{index}].user (split)"
                whole = CardSecret(number, source, complete_at=index)
                parts = [CardSecret(part, source, complete_at=index) for part in (head, tail)
                         if len(part) >= 6]
                in_step.setdefault(index - 1, []).extend([whole, *parts])
                in_step.setdefault(index, []).extend([whole, *parts])
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if isinstance(step, CardStep):
            cards.append(CardSecret(_digits(step.card.number), f"{where}.card"))
            codes.append(CodeSecret(_digits(step.card.cvc), f"{where}.card"))
        elif isinstance(step, UserStep):
            typed = [CardSecret(d, f"{where}.user") for d in cards_in_text(step.user)]
            typed += in_step.get(index, [])
            cards += typed
            codes += [CodeSecret(c, f"{where}.user") for c in codes_in_text(step.user, typed)]
    if scenario.goal is not None and scenario.goal.card is not None:
        card = scenario.goal.card
        cards.append(CardSecret(_digits(card.number), "goal.card"))
        codes.append(CodeSecret(_digits(card.cvc), "goal.card"))
    return Secrets(_unique_cards(cards), _unique_codes(codes))


def _unique_cards(cards: Iterable[CardSecret]) -> tuple[CardSecret, ...]:
    seen: dict[str, CardSecret] = {}
    for card in cards:
        if len(card.digits) >= 6:  # shorter is no card data (a split card's parts have 6 or more)
            seen.setdefault(card.digits, card)
    return tuple(seen.values())


def _unique_codes(codes: Iterable[CodeSecret]) -> tuple[CodeSecret, ...]:
    seen: dict[str, CodeSecret] = {}
    for code in codes:
        if len(code.code) >= 3:
            seen.setdefault(code.code, code)
    return tuple(seen.values())


# -- finding and masking ------------------------------------------------------------------------


def _views(text: str) -> Iterator[str]:
    yield text
    if "\\u" in text:
        # JSON written with ensure_ascii (SQLAlchemy's JSON columns) hides full-width digits and
        # zero-width characters behind escapes.
        yield _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


Hit = tuple[CardSecret | CodeSecret, int, int]


def _in_context(text: str, start: int, end: int, cards: Sequence[CardSecret]) -> bool:
    """Whether a marker stands close enough before (or after) `text[start:end]`."""
    # Only the neighbourhood can hold a marker whose window covers the match: searching it
    # instead of the whole text keeps a many-megabyte log cheap to scan.
    margin = 80
    left = max(0, start - _AFTER_WINDOW - margin)
    window = text[left:end + _BEFORE_WINDOW + margin]
    for m_start, m_end in _marker_spans(window, cards):
        if m_end + left + _AFTER_WINDOW >= end and m_start + left - _BEFORE_WINDOW <= start:
            return True
    return False


def _marker_spans(text: str, cards: Sequence[CardSecret]) -> list[tuple[int, int]]:
    markers = [(m.start(), m.end()) for m in _CODE_WORDS.finditer(text)]
    for card in cards:
        markers += [(m.start(), m.end()) for m in card.pattern.finditer(text)]
    return markers


def _hits(text: str, secrets: Secrets) -> list[Hit]:
    """Every card and in-context code occurrence in `text` (codes inside a card number dropped)."""
    # A match needs the secret's digits in a row once everything but digits is dropped: a cheap
    # test that skips the patterns for nearly every piece of text.
    projection = _digits(text)
    wide = _WIDE_DIGIT.search(text) is not None
    cards: list[Hit] = [(card, m.start(), m.end()) for card in secrets.cards
                        if card.digits in projection
                        for m in _card_pattern(card.digits, wide).finditer(text)]
    codes: list[Hit] = []
    wanted = {code.code: code for code in secrets.codes if code.code in projection}
    if wanted:
        # One pass for all the codes, whatever their number.
        for match in _codes_pattern(frozenset(wanted), wide).finditer(text):
            code = wanted[_digits(match.group())]
            start, end = match.start(), match.end()
            if any(c_start < end and start < c_end for _, c_start, c_end in cards):
                continue  # a group of a card number, reported as the card
            if _in_context(text, start, end, secrets.cards):
                codes.append((code, start, end))
    return cards + codes


def known_at(secrets: Secrets, produced_at: int | None) -> Secrets:
    """The secrets a piece produced during step `produced_at` must not hold (None: after the run).

    Log lines are scanned with `produced_at=0`: when a line was written is not tracked, so the
    parts of a split number (known only from its second message) are not searched there.
    """
    if produced_at is None:
        return secrets
    cards = tuple(card for card in secrets.cards
                  if card.complete_at is None or card.complete_at <= produced_at)
    return secrets if len(cards) == len(secrets.cards) else Secrets(cards, secrets.codes)


def find_leaks(secrets: Secrets, sink: SinkName, where: str, text: str,
               produced_at: int | None = None) -> list[Leak]:
    """Every secret found in one piece of a sink (each secret reported once per piece)."""
    secrets = known_at(secrets, produced_at)
    if not secrets or not text or not _MAY_HOLD_DIGITS.search(text):
        return []
    leaks: dict[tuple[str, str], Leak] = {}
    for view in _views(text):
        for secret, _, _ in _hits(view, secrets):
            if isinstance(secret, CardSecret):
                leaks.setdefault(("card", secret.digits),
                                 Leak(sink, where, "card_number", mask_card(secret.digits)))
            else:
                label = f"({len(secret.code)} digits, from {secret.source})"
                leaks.setdefault(("code", secret.code),
                                 Leak(sink, where, "security_code", label))
    return list(leaks.values())


def _mask_view(text: str, secrets: Secrets) -> str:
    hits = sorted(_hits(text, secrets), key=lambda hit: (hit[1], -hit[2]))
    pieces: list[str] = []
    position = 0
    for secret, start, end in hits:
        if start < position:  # overlaps a hit already masked: widen that one instead
            position = max(position, end)
            continue
        label = (f"[card {mask_card(secret.digits)}]" if isinstance(secret, CardSecret)
                 else "[security code]")
        pieces += [text[position:start], label]
        position = end
    return "".join(pieces) + text[position:]


def mask(text: str, secrets: Secrets) -> str:
    """`text` with every secret replaced (`[card ****4242]`, `[security code]`), for the report."""
    if not secrets or not text or not _MAY_HOLD_DIGITS.search(text):
        return text
    masked = _mask_view(text, secrets)
    if "\\u" in masked and find_leaks(secrets, "report", "", masked):
        # A secret hidden behind JSON escapes: mask the decoded text instead.
        masked = _mask_view(_UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), masked), secrets)
    return masked
