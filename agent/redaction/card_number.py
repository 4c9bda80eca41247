"""What counts as a card number, and where card numbers are in a normalised text.

This module only houses the card-number rules and the scanner that applies them to the view built
by `agent.redaction.normalized` (so full-width, other-script and zero-width-split digits arrive
here as plain ASCII digits; kanji digits 〇一二… are read too, as a script of their own).

A card number is 13-19 digits that

* start with an issuer prefix the chat knows, at a length that issuer uses:
  Visa 4 (13, 16, 19); Mastercard 51-55 and 2221-2720 (16: Mastercard issues no other length, and
  allowing 17-19 would flag Japanese Amazon order numbers "249-1234567-1234567");
  American Express 34, 37 (15); JCB 3528-3589 (16-19); Diners Club 36, 300-305, 38-39 (14-19);
  Discover 6011, 65, 644-649 (16-19); UnionPay 62 (16-19);
* pass the Luhn check;
* are written as one digit group, or as several groups joined by at most one punctuation mark
  (- . / _ + ー ・) with up to three spaces or line breaks on each side, or by a comma (, 、) right
  between two digits, where the first group has 4 digits (4-4-4-4, 4-6-5, 4-4-4-4-3 and irregular
  groupings that begin like a card) or 8 digits (a number pasted in two halves), no group inside
  has a single digit, and one kind of separator is used on each line (a number split over two
  lines or messages may change kind at the break); commas, or mixed separators on one line, only
  in a grouping printed on cards or in fours (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4, 4-4-4-3, 4-4-4-2; a
  slash never mixes); or every group is a single digit ("4 2 4 2 ...", the whole run).

Why the grouping rule: without it, runs of short numbers ("sizes 36 38 40 42 44 46 48", an Amazon
order number's last two groups, "03-4037-3485 / 2025-07-07") concatenate into Luhn-valid numbers
one time in ten.

Digit groups joined this way form a run; a number may be only part of its run, as in
"4242 4242 4242 4242 12/30 123". Such a part must stand apart (`_Run._stands_apart`): what comes
before it is nothing, another card, a list number ("1.") or a line break; what comes after it is
nothing, a line break, a 3-4 digit security code or a date. Otherwise a long run of grouped digits
would hold a Luhn-valid stretch one time in ten.

A number glued into a hexadecimal identifier (a UUID without dashes, a hash) is not a card, and a
GTIN-valid 13-14 digit number right after a barcode label ("JAN", "バーコード") is a barcode. Other
doubtful candidates count only when card words ("card", "カード", "cvc", "有効期限" ...) are within
60 characters: parts of a run that do not stand apart, and 13- and 14-digit candidates that are
also valid GTIN-13/14 barcodes. Every JAN code (prefix 45 or 49) that passes Luhn looks like a
13-digit Visa; Visa stopped issuing 13-digit numbers long ago and 14-digit Diners numbers are rare,
while shoppers paste barcodes when asking about a product.

Limits: a digit group is never split, so a number glued to its security code ("4242…4242123") is
caught only if the 19 digits happen to pass as a card; numbers that fail Luhn (a mistyped card) are
not removed; neither are groupings that break the rule above ("424 2424 ...", "4242424242 424242",
"4242, 4242, 4242, 4242" with spaces after the commas, mixed separators in an irregular grouping)
nor a number that follows another group without card words ("order 1234 4242 4242 4242 4242"),
nor one glued into a hexadecimal identifier ("cafe12" + number).
When a run reads both as a card plus a code and as a longer card (both pass Luhn), the usual length
wins; all of it is removed either way, only the reported last four can differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Protocol

__all__ = ["CardMatch", "Surroundings", "brand_of", "find_card_numbers", "gtin_valid", "luhn_valid"]


class Surroundings(Protocol):
    """What the text around a doubtful candidate says (`card_context.CardContext`)."""

    def near_card_words(self, start: int, end: int) -> bool:
        """Card, security-code or expiry words are near the span."""
        ...

    def labelled_barcode(self, start: int) -> bool:
        """A barcode label ("JAN", "barcode", "バーコード" ...) comes right before `start`."""
        ...

    def inside_identifier(self, start: int, end: int) -> bool:
        """The span is glued into a hexadecimal identifier ("…e4ba8b38553895264590f")."""
        ...


# Brand, prefix ranges (inclusive, as digit strings of equal length), lengths.
_ISSUERS: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[int]], ...] = (
    ("visa", (("4", "4"),), frozenset({13, 16, 19})),
    ("mastercard", (("51", "55"), ("2221", "2720")), frozenset({16})),
    ("amex", (("34", "34"), ("37", "37")), frozenset({15})),
    ("jcb", (("3528", "3589"),), frozenset(range(16, 20))),
    ("diners", (("36", "36"), ("300", "305"), ("38", "39")), frozenset(range(14, 20))),
    ("discover", (("6011", "6011"), ("65", "65"), ("644", "649")), frozenset(range(16, 20))),
    ("unionpay", (("62", "62"),), frozenset(range(16, 20))),
)


# Most likely lengths first: when "4242 4242 4242 4242 123" reads both as a 16-digit card plus a
# security code and as a 19-digit card, the 16-digit reading wins (either way all of it is removed).
_LENGTH_PREFERENCE = (16, 15, 14, 19, 13, 17, 18)


def _prefix_table() -> dict[str, tuple[str, frozenset[int], tuple[int, ...]]]:
    """Every 4-digit prefix that belongs to an issuer: one dict look-up per candidate.

    Values: brand, lengths, and the lengths again in order of preference.
    """
    table: dict[str, tuple[str, frozenset[int], tuple[int, ...]]] = {}
    for value in range(10_000):
        prefix = f"{value:04d}"
        for brand, ranges, lengths in _ISSUERS:
            if any(low <= prefix[: len(low)] <= high for low, high in ranges):
                preferred = tuple(n for n in _LENGTH_PREFERENCE if n in lengths)
                table[prefix] = (brand, lengths, preferred)
                break
    return table


_BY_PREFIX = _prefix_table()
_MIN_DIGITS, _MAX_DIGITS = 13, 19
_HEAD_SIZES = frozenset({4, 8, *range(_MIN_DIGITS, _MAX_DIGITS + 1)})

_KANJI_DIGITS = "〇零一二三四五六七八九"
_KANJI_TO_ASCII = str.maketrans(_KANJI_DIGITS, "00123456789")
_CHUNK = f"(?:[0-9]+|[{_KANJI_DIGITS}]+)"
# Up to 3 spaces, tabs or line breaks around at most one punctuation mark; never empty, so an ASCII
# digit right next to a kanji digit ends a run ("4242…4242一括で"). ー and ｰ (the katakana
# long-vowel mark) are what Japanese input methods often produce for a dash; + is a space in a URL's
# query string ("?q=4242+4242+4242+4242" in an access log). A comma (, 、 ､; the
# full-width ， arrives folded) joins groups only directly between two digits: "4242、4242、…" is
# how an input method may write a card, while "…4242, 2 bags" must keep the card standing apart.
# Possessive: a separator not followed by a digit ends the run without backtracking.
_SEPARATOR = (
    r"(?:[,、､](?=[0-9])"
    r"|(?=[ \t\r\n\-./_+ーｰ・･·])[ \t\r\n]{0,3}+[-./_+ーｰ・･·]?+[ \t\r\n]{0,3}+)"
)
# Commas join lists of numbers as often as card groups, and mixed separators are how a phone number
# meets a date ("03-4037-3485 / 2025-07-07"): either is read as a card only in a grouping printed
# on cards or in fours to the end (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4, 4-4-4-3, 4-4-4-2), and a slash
# never mixes with another separator.
_PRINTED_GROUPINGS = frozenset(
    {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 3), (4, 4, 4, 2)}
)
_COMMAS = frozenset(",、､")
# The run starts with a plain class so the regex engine can jump to digits instead of trying an
# alternation at every position; the lookbehinds then keep the first chunk to one script.
_RUN = re.compile(
    f"[0-9{_KANJI_DIGITS}](?:(?<=[0-9])[0-9]*+|(?<=[{_KANJI_DIGITS}])[{_KANJI_DIGITS}]*+)"
    f"(?:{_SEPARATOR}{_CHUNK})*+"
)
_ASCII_CHUNK = re.compile("[0-9]+")
_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit -> digit sum of twice the digit


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    reverse = digits[::-1]
    # Summing the ASCII bytes and subtracting 48 per digit is several times faster than int().
    plain = reverse[0::2].encode("ascii")
    doubled = reverse[1::2].translate(_DOUBLED).encode("ascii")
    return (sum(plain) + sum(doubled) - 48 * len(digits)) % 10 == 0


def gtin_valid(digits: str) -> bool:
    """The GS1 check digit (weights 3, 1 from the right) of a GTIN-8/12/13/14 barcode."""
    body = digits[-2::-1]  # without the check digit, from the right
    tripled, single = body[0::2].encode("ascii"), body[1::2].encode("ascii")
    total = 3 * (sum(tripled) - 48 * len(tripled)) + sum(single) - 48 * len(single)
    return (10 - total % 10) % 10 == int(digits[-1])


def brand_of(digits: str) -> str | None:
    """The brand of a complete card number, or None when it is not one by the rules above."""
    issuer = _BY_PREFIX.get(digits[:4])
    if issuer is None or len(digits) not in issuer[1] or not luhn_valid(digits):
        return None
    return issuer[0]


@dataclass(frozen=True, slots=True)
class CardMatch:
    """A card number found in the view: [start, end) covers its first to its last digit."""

    start: int
    end: int
    digits: str
    brand: str


class _Run:
    """One run of digit groups, its digits, and where each group starts among them.

    A candidate's last group is found by a dictionary look-up of the digit offset where it must
    end, so each group costs a few operations however long the run.
    """

    __slots__ = (
        "_spans",
        "digits",
        "group_at",
        "offsets",
        "sizes",
        "start",
        "text",
    )

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.start = start
        groups: list[str] = _ASCII_CHUNK.findall(text)
        self.sizes = list(map(len, groups))
        self.digits = "".join(groups)
        # offsets[i]: digit offset where group i starts; offsets[-1]: the number of digits.
        self.offsets = list(accumulate(self.sizes, initial=0))
        self.group_at = dict(zip(self.offsets, range(len(self.offsets)), strict=True))
        self._spans: list[tuple[int, int]] = []

    def span(self, first: int, last: int) -> tuple[int, int]:
        """The view span from the first digit of group `first` to the last of group `last`."""
        if not self._spans:
            self._spans = [
                (self.start + m.start(), self.start + m.end())
                for m in _ASCII_CHUNK.finditer(self.text)
            ]
        return self._spans[first][0], self._spans[last][1]

    def _gap_before(self, group: int) -> str:
        self.span(0, 0)
        gap_start, gap_end = self._spans[group - 1][1], self._spans[group][0]
        return self.text[gap_start - self.start : gap_end - self.start]

    def _line_break_before(self, group: int) -> bool:
        return "\n" in self._gap_before(group)

    def _space_before(self, group: int) -> bool:
        gap = self._gap_before(group)
        return " " in gap or "\t" in gap

    def _written_like_a_card(self, first: int, last: int) -> bool:
        """Groups first..last look typed as one number.

        No one-digit group inside, and one kind of separator on each line: "4037-3485 /
        2025-07-07" (a phone number's end and a date) mixes separators, a person writing a card
        number uses one kind throughout. A line break starts afresh: a number may be pasted one
        group per line, or split over two messages ("4000.0025", then "0000 3155"), each typed its
        own way. Commas, and mixed separators on one line ("4242 4242-4242 4242"), pass only in a
        grouping printed on cards (see `_PRINTED_GROUPINGS`).
        """
        if any(n < 2 for n in self.sizes[first + 1 : last]):
            return False
        lines: list[set[str]] = [set()]
        for group in range(first + 1, last + 1):
            gap = self._gap_before(group)
            if "\n" in gap:
                lines.append(set())
            else:
                lines[-1].add(gap.strip(" \t\r") or " ")
        kinds = set().union(*lines)
        if all(len(line) <= 1 for line in lines) and not kinds & _COMMAS:
            return True
        printed = tuple(self.sizes[first : last + 1]) in _PRINTED_GROUPINGS
        return printed and not (len(kinds) > 1 and "/" in kinds)

    def _stands_apart(self, first: int, last: int, after_card: bool) -> bool:
        """Whether groups first..last, part of a longer run, read as a number of their own.

        Before it: nothing, a card found just before, a list number ("1.", "No.12") or a line
        break. After it: nothing, a line break, or what follows a card: a 3-4 digit security code
        or a date. Without this, any long run of grouped digits holds a Luhn-valid stretch one
        time in ten ("0397 3999 8670 1163 809" would lose its last 15 digits). Card words nearby
        override it ("card: 1234 4242 4242 4242 4242").
        """
        sizes = self.sizes
        # A list number is short and followed by a space ("1. 4242"); "03-4037" is a phone.
        list_number = first > 0 and sizes[first - 1] <= 2 and self._space_before(first)
        if first > 0 and not (after_card or list_number or self._line_break_before(first)):
            return False
        if last + 1 == len(sizes) or sizes[last + 1] in (3, 4):
            return True
        if self._line_break_before(last + 1):
            return True
        if sizes[last + 1] <= 2 and last + 2 < len(sizes) and sizes[last + 2] in (2, 4):
            month = self.offsets[last + 1]
            return 1 <= int(self.digits[month : self.offsets[last + 2]]) <= 12
        return False

    def card_from(
        self, first: int, surroundings: Surroundings, after_card: bool = False
    ) -> tuple[int, str, str] | None:
        """The preferred card number starting at group `first`: (last group, digits, brand).

        `after_card`: a card number ends right before group `first`.
        """
        size = self.sizes[first]
        count = len(self.sizes)
        if size == 4 or size == 8:
            must_end = -1  # any later group may end the number
        elif _MIN_DIGITS <= size <= _MAX_DIGITS:
            must_end = first + 1  # a compact number is one group
        elif size == 1 and first == 0 and _MIN_DIGITS <= count <= _MAX_DIGITS:
            # Spelled out one digit at a time: only as the whole run, which bounds the work on
            # long runs of single digits.
            if any(n != 1 for n in self.sizes):
                return None
            must_end = count
        else:
            return None
        start = self.offsets[first]
        issuer = _BY_PREFIX.get(self.digits[start : start + 4])
        if issuer is None:
            return None
        brand, _, lengths = issuer
        for length in lengths:
            end = start + length
            after_last = self.group_at.get(end)
            if after_last is None or (must_end >= 0 and after_last != must_end):
                continue
            number = self.digits[start:end]
            if not luhn_valid(number):
                continue
            if must_end < 0 and not self._written_like_a_card(first, after_last - 1):
                continue
            span = self.span(first, after_last - 1)
            if surroundings.inside_identifier(*span):
                continue
            barcode = length <= 14 and gtin_valid(number)
            if barcode and surroundings.labelled_barcode(span[0]):
                continue
            # Card words nearby settle the doubtful readings: part of a longer run, or a barcode.
            doubtful = barcode or not self._stands_apart(first, after_last - 1, after_card)
            if doubtful and not surroundings.near_card_words(*span):
                continue
            return after_last - 1, number, brand
        return None


def find_card_numbers(view: str, surroundings: Surroundings) -> list[CardMatch]:
    """Card numbers in the view, left to right, not overlapping.

    `surroundings` is asked only about doubtful candidates (barcodes, parts of longer runs that do
    not stand apart).
    """
    found: list[CardMatch] = []
    for match in _RUN.finditer(view):
        text = match.group()
        if len(text) < _MIN_DIGITS:
            continue  # fewer characters than a card has digits
        if text.isdecimal():  # one compact group (the view holds ASCII digits only)
            card = _compact_card(text, match.start(), surroundings)
            if card is not None:
                found.append(card)
            continue
        if not text.isascii():
            text = text.translate(_KANJI_TO_ASCII)
        run = _Run(text, match.start())
        if run.offsets[-1] < _MIN_DIGITS:
            continue
        # Only groups of 4, 8 or 13-19 digits (or a first single digit) can start a number.
        heads = [i for i, n in enumerate(run.sizes) if n in _HEAD_SIZES or i == 0]
        free_from = 0
        for first in heads:
            if first < free_from:
                continue  # inside the card found last
            after_card = free_from > 0 and first == free_from
            best = run.card_from(first, surroundings, after_card=after_card)
            if best is not None:
                last, digits, brand = best
                start, end = run.span(first, last)
                found.append(CardMatch(start, end, digits, brand))
                free_from = last + 1
    return found


def _compact_card(digits: str, start: int, surroundings: Surroundings) -> CardMatch | None:
    """A run that is a single group: the fast path for the most common shape."""
    if len(digits) > _MAX_DIGITS:
        return None
    brand = brand_of(digits)
    if brand is None:
        return None
    end = start + len(digits)
    if surroundings.inside_identifier(start, end):
        return None
    # A labelled barcode is never a card; an unlabelled one only among card words.
    barcode = len(digits) <= 14 and gtin_valid(digits)
    if barcode and (
        surroundings.labelled_barcode(start) or not surroundings.near_card_words(start, end)
    ):
        return None
    return CardMatch(start, end, digits, brand)
