"""A normalised view of shopper text: the text every detector in this package searches.

This module only houses the normalisation and the map from the view back to the original text.
Three things happen, all so that a card number cannot hide behind how it is typed:

* Invisible characters are dropped: format characters (Unicode category Cf: zero-width space and
  joiners U+200B-U+200D, word joiner U+2060, byte-order mark U+FEFF, soft hyphen U+00AD, bidi
  controls), combining marks (Mn, Me: variation selectors, the keycap mark of "4️⃣") and the Hangul
  fillers, and control characters other than tab and line breaks (NUL, escape ...: a text may
  show them as nothing, and a NUL is stripped before storing). Copying from a PDF or a banking
  app, or a deliberate attempt, can put them between digits.
* Look-alike characters are folded, strictly one character to one character: every Unicode decimal
  digit (full-width ０-９, Arabic-Indic, mathematical bold ...) to ASCII 0-9, full-width ASCII
  (ＣＶＣ, ／, －) to ASCII, dash variants to "-", space variants (U+3000, no-break spaces) to " ",
  and ASCII letters to lower case (so keyword patterns need no case-insensitive matching, which
  would make Python's regex engine test every position instead of jumping to candidate letters).
* Escape sequences are read as the characters they stand for: JSON's (\\u200b, surrogate pairs,
  \\n, \\/), those of Python's repr() (\\x.., \\u...., \\U........) and URL percent-escapes of
  UTF-8 (%E2%80%8B, %EF%BC%94). Shopper text reaches a JSON request body, a JSON column, a log line
  showing a value's repr or a request's query string in that form, and "4242\\u200b4242..." or
  "4242%E2%80%8B4242..." must not hide a card from a scan of that text. An escape of an invisible
  character is dropped like the character itself. Only escapes of digits, spaces, digit-group
  separators and invisible characters are read: "%4242…" keeps its sixteen digits.

Kanji digits (〇一二三...) are deliberately *not* folded: "一" is an everyday character, and
"4242…4242一括で" must not glue a stray digit onto a card number. The card scanner treats them as a
separate script.

Because folding never changes a length, an index in the view maps back to exactly one index in the
original text; only dropped characters and escapes need a map (`NormalizedText.to_original`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["NormalizedText", "normalize"]


def _ranges_class(code_points: list[int]) -> str:
    """A regex character class body for a sorted list of code points, as compact ranges."""
    parts: list[str] = []
    start = prev = code_points[0]
    for cp in [*code_points[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(
            re.escape(chr(start))
            if start == prev
            else f"{re.escape(chr(start))}-{re.escape(chr(prev))}"
        )
        start = prev = cp
    return "".join(parts)


def _build_tables() -> tuple[str, frozenset[int], dict[int, str]]:
    """Invisible characters (a BMP class, a set of astral ones) and the one-to-one fold table."""
    invisible: list[int] = [0x115F, 0x1160, 0x3164, 0xFFA0]  # Hangul fillers: Lo, but render blank
    # Control characters (Cc) but the separators a card may be written with.
    invisible += [cp for cp in (*range(0x20), *range(0x7F, 0xA0)) if chr(cp) not in "\t\n\r"]
    fold: dict[int, str] = {cp: chr(cp + 32) for cp in range(0x41, 0x5B)}  # A-Z: lower case
    # Planes 0, 1 and 14 hold every Cf, Mn, Me and Nd character (planes 2-3 are CJK ideographs,
    # 15-16 private use); scanning only them keeps the import cost near 30 ms instead of 150 ms.
    for block in (range(0x80, 0x20000), range(0xE0000, 0xE1000)):
        for cp in block:
            category = unicodedata.category(chr(cp))
            if category in ("Cf", "Mn", "Me"):
                invisible.append(cp)
            elif category == "Nd":
                fold[cp] = str(unicodedata.decimal(chr(cp)))
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII: ！ to ～, letters in lower case
        fold[cp] = chr(cp - 0xFEE0).lower()
    for cp in (*range(0x2010, 0x2016), 0x2043, 0x2212, 0xFE58, 0xFE63):
        fold[cp] = "-"
    for cp in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
        fold[cp] = " "
    for cp in (0x2044, 0x2215):  # fraction slash, division slash
        fold[cp] = "/"
    invisible.sort()
    bmp = [cp for cp in invisible if cp <= 0xFFFF]
    astral = frozenset(cp for cp in invisible if cp > 0xFFFF)
    return _ranges_class(bmp), astral, fold


_BMP_INVISIBLE, _ASTRAL_INVISIBLE, _FOLD = _build_tables()
# A class of BMP characters compiles to a fast lookup table; adding the astral invisibles (tags,
# supplementary variation selectors) would make the regex engine test every character range by
# range, 20 times slower. Astral characters (emoji) are found with one range and looked up instead.
_INVISIBLE = re.compile(f"[{_BMP_INVISIBLE}]+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# Escape sequences as JSON and Python's repr() write them. A JSON escape of an astral character is
# a surrogate pair. An escaped backslash is matched as a whole: the JSON of C:\new holds no line
# break.
_ESCAPE = re.compile(
    r"\\(?:u(?P<high>[dD][89abAB][0-9a-fA-F]{2})\\u(?P<low>[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|u(?P<u>[0-9a-fA-F]{4})|U(?P<U>[0-9a-fA-F]{8})|x(?P<x>[0-9a-fA-F]{2})"
    r"|(?P<simple>[nrt/\\\"'bf]))"
)
# URL percent-escapes (a query string in an access log line, a form body): runs of %XX.
_PERCENT_RUN = re.compile("(?:%[0-9A-Fa-f]{2})+")
# What an escape may stand for to be read (after folding): digits of any script, and the
# punctuation that joins digit groups.
_READ_AFTER_FOLDING = frozenset("0123456789〇零一二三四五六七八九-./_+,、､・･·ーｰ")
_SIMPLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "/": "/",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "b": "\b",
    "f": "\f",
}


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """The view of an original text, and where each of its characters came from."""

    text: str
    # Index in the original text of each character of `text`, plus the original length at the
    # end; None when nothing was dropped or read as an escape.
    origin: tuple[int, ...] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of view characters [start, end).

        Invisible characters right after the span go with it ("4️⃣" leaves no stray keycap mark).
        """
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end]


def _is_invisible(char: str) -> bool:
    return _INVISIBLE.fullmatch(char) is not None or ord(char) in _ASTRAL_INVISIBLE


def _escape_edit(text: str, start: int, end: int, char: str) -> list[tuple[int, int, str]]:
    """The edit reading one escape, if what it stands for can be part of a card number.

    Only digits, spaces, separators and invisible characters are read. Anything else is left as
    written, so that an escape-looking prefix never swallows digits of a card: in "%4242…" or
    "\\u4242…" the "%42" and "\\u4242" stay text and all sixteen digits stay digits. For the
    same reason an escape of an ASCII digit is not read when a digit follows it: "%3782…" is a
    percent sign and an American Express number, not "%37" ("7") and "82…".
    """
    if _is_invisible(char):
        return [(start, end, "")]
    if "0" <= char <= "9" and end < len(text) and "0" <= text[end] <= "9":
        return []
    folded = char.translate(_FOLD)
    if folded in _READ_AFTER_FOLDING or folded.isspace():
        return [(start, end, char)]
    return []


def _escapes(text: str) -> list[tuple[int, int, str]]:
    """Each escape sequence of `text` that `_escape_edit` reads, with its character."""
    edits: list[tuple[int, int, str]] = []
    for match in _ESCAPE.finditer(text):
        if match["high"] is not None:
            code = (
                0x10000 + ((int(match["high"], 16) - 0xD800) << 10) + int(match["low"], 16) - 0xDC00
            )
        elif match["simple"] is not None:
            # Matched even when not read: an escaped backslash must not start another escape.
            edits += _escape_edit(
                text, match.start(), match.end(), _SIMPLE_ESCAPES[match["simple"]]
            )
            continue
        else:
            code = int(match["u"] or match["U"] or match["x"], 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            continue  # not a character (a lone surrogate): left as written
        edits += _escape_edit(text, match.start(), match.end(), chr(code))
    return edits


def _percent_escapes(text: str) -> list[tuple[int, int, str]]:
    """Each character written as URL percent-escapes (its UTF-8 bytes) that `_escape_edit` reads."""
    edits: list[tuple[int, int, str]] = []
    for run in _PERCENT_RUN.finditer(text):
        data = bytes.fromhex(run.group().replace("%", ""))
        index = 0
        while index < len(data):
            lead = data[index]
            size = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            try:
                char = data[index : index + size].decode("utf-8")
            except UnicodeDecodeError:  # not UTF-8 ("50%OFF" never gets here; "20%de" does)
                index += 1
                continue
            start = run.start() + 3 * index
            edits += _escape_edit(text, start, start + 3 * size, char)
            index += size
    return edits


def normalize(text: str) -> NormalizedText:
    """Drop invisible characters, read escapes and fold look-alikes, keeping a map back to `text`."""
    edits = [
        (start, end, "") for start, end in (match.span() for match in _INVISIBLE.finditer(text))
    ]
    if _ASTRAL.search(text) is not None:
        edits.extend(
            (match.start(), match.end(), "")
            for match in _ASTRAL.finditer(text)
            if ord(match.group()) in _ASTRAL_INVISIBLE
        )
    if "\\" in text:
        edits.extend(_escapes(text))  # escapes are ASCII: they never overlap the characters above
    if "%" in text:
        edits.extend(_percent_escapes(text))  # nor do percent-escapes overlap backslash escapes
    if not edits:
        return NormalizedText(text.translate(_FOLD), None)
    edits.sort()
    kept: list[str] = []
    origin: list[int] = []
    position = 0
    for start, end, replacement in edits:
        kept.append(text[position:start])
        origin.extend(range(position, start))
        if replacement:
            kept.append(replacement)
            origin.append(start)
        position = end
    kept.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return NormalizedText("".join(kept).translate(_FOLD), tuple(origin))
