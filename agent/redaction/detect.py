"""`redact` and `redact_pair`: card data out of shopper text before it is stored, logged or sent.

This module only houses the entry points (and `redact_fragments`, for a reply that quoted the first
part of a split number) and how their findings are applied; the rules live in
`card_number` (what a card number is) and `card_context` (security codes and expiry dates).

Each card number, security code and expiry date is replaced by a fixed token (see `kinds`). The
result says what was found and the last four digits of each removed number, which may be shown.

Run time is linear in the length of the text: the regexes are compiled once at import, every
repetition is bounded or possessive (no catastrophic backtracking), windows around words are a few
dozen characters, and the card scanner looks at most 19 digits ahead of each digit group. A 100 KB
message takes about 15 ms; adversarial 100 KB inputs (a digit group every five characters, 10,000
expiry words) stay under about 50 ms. Text without any digit returns after one scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.redaction.card_context import CardContext, Span
from agent.redaction.card_number import CardMatch, find_card_numbers
from agent.redaction.kinds import CARD_NUMBER, EXPIRY, SECURITY_CODE, TOKENS
from agent.redaction.normalized import normalize

__all__ = ["PairRedaction", "Redaction", "redact", "redact_fragments", "redact_pair"]

_ANY_DIGIT = re.compile("[0-9〇零一二三四五六七八九]")
_ASCII_DIGIT = re.compile("[0-9]")
_KANJI_TO_ASCII = str.maketrans("〇零一二三四五六七八九", "00123456789")
# A part of a split number this long is worth scrubbing from a reply that quoted it.
_MIN_FRAGMENT = 6
# The character that joins two messages for `redact_pair`: a line break is a digit-group separator.
_JOIN = "\n"


@dataclass(frozen=True, slots=True)
class Redaction:
    """A text with its card data removed, and what was removed."""

    text: str
    found_card: bool = False
    found_cvc: bool = False
    found_expiry: bool = False
    kinds: frozenset[str] = frozenset()
    # Last four digits and brand of each removed card number, in order; safe to show or store.
    card_last4: tuple[str, ...] = ()
    card_brands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PairRedaction:
    """Both messages of `redact_pair`, each with its card data removed."""

    previous: Redaction
    current: Redaction
    # True when a card number began in the previous message and ended in the current one.
    split_card: bool
    # True when the previous message's text changed: overwrite what was stored.
    previous_changed: bool
    # The digits of each part of a split number removed from the previous message (6 digits or
    # more): a reply sent before the second part arrived may quote it ("nothing found for
    # 4944-3725"), and `redact_fragments` removes it from there too.
    previous_fragments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Finding:
    start: int  # in the original text
    end: int
    kind: str
    card: CardMatch | None = None


def _findings(text: str) -> list[_Finding]:
    """Everything to remove from `text`, sorted, not overlapping, in original coordinates."""
    normalized = normalize(text)
    view = normalized.text
    if _ANY_DIGIT.search(view) is None:
        return []  # no digit, nothing to remove: most messages stop here
    context = CardContext(view)
    cards = find_card_numbers(view, context)
    spans: list[tuple[int, int, str, CardMatch | None]] = []
    for index, card in enumerate(cards):
        spans.append((card.start, card.end, CARD_NUMBER, card))
        limit = cards[index + 1].start if index + 1 < len(cards) else len(view)
        spans.extend(
            (s.start, s.end, s.kind, None)
            for s in context.items_after_card(card.end, card.brand, limit)
        )
    taken = sorted(spans, key=lambda s: s[0])
    spans.extend(_without_overlaps(taken, context.codes_and_dates_near_words()))
    spans.sort(key=lambda s: s[0])
    findings: list[_Finding] = []
    for start, end, kind, match in spans:
        original_start, original_end = normalized.to_original(start, end)
        findings.append(_Finding(original_start, original_end, kind, match))
    return findings


def _without_overlaps(
    taken: list[tuple[int, int, str, CardMatch | None]], candidates: Iterable[Span]
) -> list[tuple[int, int, str, CardMatch | None]]:
    """Context spans that overlap neither what is already taken nor each other.

    `taken` is sorted and free of overlaps, so one sweep over both lists decides.
    """
    kept: list[tuple[int, int, str, CardMatch | None]] = []
    index, last_end = 0, -1
    for span in sorted(candidates, key=lambda s: s.start):
        while index < len(taken) and taken[index][1] <= span.start:
            index += 1
        if (index < len(taken) and taken[index][0] < span.end) or span.start < last_end:
            continue
        kept.append((span.start, span.end, span.kind, None))
        last_end = span.end
    return kept


def _apply(text: str, findings: list[_Finding], offset: int = 0) -> Redaction:
    """Replace each finding (coordinates shifted by `offset`) by its token."""
    if not findings:
        return Redaction(text)
    pieces: list[str] = []
    position = 0
    for finding in findings:
        start, end = finding.start - offset, finding.end - offset
        pieces.append(text[position:start])
        pieces.append(TOKENS[finding.kind])
        position = end
    pieces.append(text[position:])
    kinds = frozenset(f.kind for f in findings)
    cards = [f.card for f in findings if f.card is not None]
    return Redaction(
        text="".join(pieces),
        found_card=CARD_NUMBER in kinds,
        found_cvc=SECURITY_CODE in kinds,
        found_expiry=EXPIRY in kinds,
        kinds=kinds,
        card_last4=tuple(card.digits[-4:] for card in cards),
        card_brands=tuple(card.brand for card in cards),
    )


def redact(text: str) -> Redaction:
    """Remove card numbers, and security codes and expiry dates in card context, from `text`."""
    return _apply(text, _findings(text))


def redact_pair(previous: str, current: str) -> PairRedaction:
    """Redact `current` together with the message before it, catching a number split between them.

    Pass as `previous` the shopper's own previous message in the same conversation, exactly as it
    was stored (that is, already redacted on its own): not an assistant message, not a widget
    action. The two texts are scanned as one, joined by a line break, so "4242 4242" followed by
    "4242 4242 exp 12/30" is one card number plus an expiry. Anything found is replaced in the
    message that holds it; a number that spans both is replaced by the token in both, and
    `previous_changed` tells the caller to overwrite the stored previous message, so the fragment
    leaves the database and every later model request (history is rebuilt from storage).

    A number split over three or more messages is not caught, and the fragment in the previous
    message has already been through one turn (its own model call and logs) before the second
    half arrives; redaction can repair storage, not what was already sent.
    """
    boundary = len(previous)
    findings = _findings(previous + _JOIN + current)
    previous_findings: list[_Finding] = []
    current_findings: list[_Finding] = []
    fragments: list[str] = []
    split_card = False
    for finding in findings:
        if finding.end <= boundary:
            previous_findings.append(finding)
        elif finding.start > boundary:
            current_findings.append(finding)
        else:
            split_card = split_card or finding.kind == CARD_NUMBER
            # The join character belongs to neither message: each side loses its own part.
            if finding.start < boundary:
                previous_findings.append(
                    _Finding(finding.start, boundary, finding.kind, finding.card)
                )
                digits = _digits_of(previous[finding.start : boundary])
                if finding.kind == CARD_NUMBER and len(digits) >= _MIN_FRAGMENT:
                    fragments.append(digits)
            if finding.end > boundary + 1:
                current_findings.append(
                    _Finding(boundary + 1, finding.end, finding.kind, finding.card)
                )
    redacted_previous = _apply(previous, previous_findings)
    return PairRedaction(
        previous=redacted_previous,
        current=_apply(current, current_findings, offset=boundary + 1),
        split_card=split_card,
        previous_changed=redacted_previous.text != previous,
        previous_fragments=tuple(fragments),
    )


def _digits_of(text: str) -> str:
    return "".join(_ASCII_DIGIT.findall(normalize(text).text.translate(_KANJI_TO_ASCII)))


def _fragment_pattern(digits: str) -> re.Pattern[str]:
    # The digits in order, in the view (any width or script already folded), with up to three
    # spaces or punctuation marks between any two: however a reply regrouped or quoted them.
    between = r"[^0-9a-z〇一二三四五六七八九]{0,3}"
    return re.compile("(?<![0-9])" + between.join(digits) + "(?![0-9])")


def redact_fragments(text: str, fragments: Iterable[str]) -> Redaction:
    """Remove each fragment (digits of a split card number's part) wherever `text` holds it.

    For a reply stored before a split number's second part arrived, which may quote the first
    part (the shopper's words echoed back). Fragments under 6 digits are ignored: they say nothing
    about a card, and would match prices and quantities.
    """
    wanted = [digits for digits in fragments if len(digits) >= _MIN_FRAGMENT]
    if not wanted:
        return Redaction(text)
    normalized = normalize(text)
    view = normalized.text.translate(_KANJI_TO_ASCII)  # one character each: positions hold
    if _ASCII_DIGIT.search(view) is None:
        return Redaction(text)
    spans: list[tuple[int, int]] = []
    for digits in wanted:
        spans += [match.span() for match in _fragment_pattern(digits).finditer(view)]
    findings: list[_Finding] = []
    last_end = -1
    for start, end in sorted(spans):
        if start >= last_end:  # overlapping quotes of two fragments: the first one wins
            findings.append(_Finding(*normalized.to_original(start, end), CARD_NUMBER))
            last_end = end
    return _apply(text, findings)
