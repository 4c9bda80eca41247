"""The canary's scanner: looks for each pasted card in every piece of every sink.

This module only houses what a sink piece is and how a card is looked for in it. It shares no code
with `agent.redaction` (the code under test) or `evals.leaks`: a bug there must not blind it.

A piece leaks a case's card when, in any view of its text (as written; with JSON and Python escape
sequences read, since JSON columns, request bodies and repr() in log lines write "\\u200b" or
"\\uff14" for what the shopper typed; with URL escapes read, as a query string in a log line),

* the digits of the view, every script folded to ASCII and everything else dropped, hold the card
  number's digits in a row: any regrouping, width, invisible character or separator is caught; or
* one of the strings the shopper typed (the card as written, "cvv 837") appears verbatim.

The first half of a number split over two messages cannot be known as card data before the second
half arrives: it may appear in what was produced until then (`Piece.before_split_known`), never in
what was stored or sent afterwards.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote_plus

from tests.security.canary_formats import PastedCard

__all__ = ["Leak", "Piece", "digits_of", "find_leaks", "views"]

_NOT_DIGIT = re.compile("[^0-9]")
_HEX_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2}))")


def _digit_table() -> dict[int, str]:
    """Every character with a digit value (any script, superscripts, kanji) to its ASCII digit."""
    table = {ord(kanji): str(value) for value, kanji in enumerate("〇一二三四五六七八九")}
    table[ord("零")] = "0"
    for code in range(0x80, 0x110000):
        value = unicodedata.digit(chr(code), None)
        if value is not None:
            table[code] = str(value)
    return table


_DIGITS = _digit_table()


def digits_of(text: str) -> str:
    """Every digit of `text` in any script (full-width, Arabic-Indic, kanji ...), as ASCII."""
    return _NOT_DIGIT.sub("", text if text.isascii() else text.translate(_DIGITS))


def _unescaped(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = int(next(group for group in match.groups() if group is not None), 16)
        return chr(code) if code <= 0x10FFFF else match.group()

    decoded = _HEX_ESCAPE.sub(one, text)
    # JSON writes an astral character (a mathematical digit) as a surrogate pair: join them.
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def views(text: str) -> list[str]:
    """The text as written and, when it holds escape sequences, as read."""
    found = [text]
    if "\\" in text:
        found.append(_unescaped(text))
    if "%" in text or "+" in text:
        found.append(unquote_plus(text))  # a query string, as in a URL of a log line
    return found


@dataclass(frozen=True)
class Piece:
    """One piece of a sink: a model request body, a table row, a log line, a response body."""

    sink: str
    where: str
    text: str
    # (case index, message index) while the piece was produced; None: after every case.
    produced: tuple[int, int] | None = None

    def before_split_known(self, case_index: int) -> bool:
        """Produced while split case `case_index` was sending its two halves."""
        return (
            self.produced is not None and self.produced[0] == case_index and self.produced[1] <= 1
        )


@dataclass(frozen=True)
class Leak:
    case: str
    sink: str
    where: str
    what: str

    def describe(self) -> str:
        return f"format {self.case!r}: {self.what} found in {self.sink} ({self.where})"


class _Haystack:
    """All views of all pieces joined, so each needle is one fast search over everything."""

    def __init__(self, pieces: Sequence[Piece], project: Callable[[str], str]) -> None:
        parts: list[str] = []
        self.starts: list[int] = []
        self.owners: list[int] = []
        position = 0
        for index, piece in enumerate(pieces):
            for view in views(piece.text):
                part = project(view)
                self.starts.append(position)
                self.owners.append(index)
                parts.append(part)
                position += len(part) + 1
        # NUL is neither a digit nor in any typed string: no needle spans two views.
        self.text = "\x00".join(parts)

    def owners_of(self, needle: str) -> set[int]:
        found: set[int] = set()
        at = self.text.find(needle)
        while at >= 0:
            found.add(self.owners[bisect_right(self.starts, at) - 1])
            at = self.text.find(needle, at + 1)
        return found


def find_leaks(cases: Sequence[PastedCard], pieces: Iterable[Piece]) -> list[Leak]:
    """Every (case, piece) in which the case's card data appears, at most one finding each."""
    pieces = list(pieces)
    digits, written = _Haystack(pieces, digits_of), _Haystack(pieces, str)
    found: dict[tuple[int, int], Leak] = {}
    for case_index, case in enumerate(cases):
        for owner in sorted(digits.owners_of(case.pan)):
            piece = pieces[owner]
            found[case_index, owner] = Leak(
                case.name, piece.sink, piece.where, f"card number ****{case.pan[-4:]}"
            )
        for typed in case.typed:
            for owner in sorted(written.owners_of(typed)):
                piece = pieces[owner]
                if typed in case.first_half and piece.before_split_known(case_index):
                    continue
                found.setdefault(
                    (case_index, owner),
                    Leak(case.name, piece.sink, piece.where, f"typed text {typed!r}"),
                )
    return [found[key] for key in sorted(found)]
