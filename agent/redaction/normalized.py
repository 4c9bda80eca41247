"""A normalised view of shopper text: the text every detector in this package searches.

This module only houses the normalisation and the map from the view back to the original text.
Two things happen, both so that a card number cannot hide behind how it is typed:

* Invisible characters are dropped: format characters (Unicode category Cf: zero-width space and
  joiners U+200B-U+200D, word joiner U+2060, byte-order mark U+FEFF, soft hyphen U+00AD, bidi
  controls), combining marks (Mn, Me: variation selectors, the keycap mark of "4️⃣") and the Hangul
  fillers. Copying from a PDF or a banking app, or a deliberate attempt, can put them between digits.
* Look-alike characters are folded, strictly one character to one character: every Unicode decimal
  digit (full-width ０-９, Arabic-Indic, mathematical bold ...) to ASCII 0-9, full-width ASCII
  (ＣＶＣ, ／, －) to ASCII, dash variants to "-", space variants (U+3000, no-break spaces) to " ",
  and ASCII letters to lower case (so keyword patterns need no case-insensitive matching, which
  would make Python's regex engine test every position instead of jumping to candidate letters).

Kanji digits (〇一二三...) are deliberately *not* folded: "一" is an everyday character, and
"4242…4242一括で" must not glue a stray digit onto a card number. The card scanner treats them as a
separate script.

Because folding never changes a length, an index in the view maps back to exactly one index in the
original text; only dropped characters need a map (`NormalizedText.to_original`).
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


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """The view of an original text, and where each of its characters came from."""

    text: str
    # Index in the original text of each character of `text`, plus the original length at the
    # end; None when nothing was dropped.
    origin: tuple[int, ...] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of view characters [start, end).

        Invisible characters right after the span go with it ("4️⃣" leaves no stray keycap mark).
        """
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end]


def normalize(text: str) -> NormalizedText:
    """Drop invisible characters and fold look-alikes, keeping a map back to `text`."""
    dropped = [match.span() for match in _INVISIBLE.finditer(text)]
    if _ASTRAL.search(text) is not None:
        dropped.extend(
            match.span()
            for match in _ASTRAL.finditer(text)
            if ord(match.group()) in _ASTRAL_INVISIBLE
        )
        dropped.sort()
    if not dropped:
        return NormalizedText(text.translate(_FOLD), None)
    kept: list[str] = []
    origin: list[int] = []
    position = 0
    for start, end in dropped:
        kept.append(text[position:start])
        origin.extend(range(position, start))
        position = end
    kept.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return NormalizedText("".join(kept).translate(_FOLD), tuple(origin))
