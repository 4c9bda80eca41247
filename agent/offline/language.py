"""Language of a message, text folding, and quantities written in English or Japanese.

This module only houses the character-level reading of a shopper's words: which language a message
is in, the width/dash folding every other module matches against, and quantities ("two", "a couple",
"half a dozen", "3つ", "二個", "２個", "三本", "5袋", "ひとつ", "x2").

Limits of the rules: numbers above 9999 and fractions are not read; spelled-out English numbers go up
to "ninety-nine"; Japanese kanji numerals go up to 九百九十九. A number directly followed by a unit
of measure ("100 g", "300ml", "0.5 mm") is a product attribute, never a quantity.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from tools.catalog.text import normalize as fold_for_matching

Lang = Literal["en", "ja"]

__all__ = [
    "Lang",
    "Quantity",
    "detect_language",
    "find_quantity",
    "fold_for_matching",
    "kanji_number",
    "nfkc",
    "words_of",
]

_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff]")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3005]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Parts of a message that are Latin whatever language the shopper writes in.
_NOT_LANGUAGE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|\b(?:xs|xl|xxl|ok|okay)\b",
                           re.IGNORECASE)
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\ufe63\uff0d\uff70"
_DASH_BETWEEN_DIGITS = re.compile(rf"(?<=[0-9])[{_DASHES}](?=[0-9])")


def words_of(text: str) -> list[str]:
    """The whitespace-separated words of a text (for word lists written as one string)."""
    return text.split()


def nfkc(text: str) -> str:
    """Width-folded text (NFKC) with any dash between two digits written "-"; case is kept."""
    return _DASH_BETWEEN_DIGITS.sub("-", unicodedata.normalize("NFKC", text))


def detect_language(text: str, fallback: Lang) -> Lang:
    """The language to answer in: Japanese for kana (or kanji without English words), else
    English when there are English words, else `fallback` (digits, "ok", an e-mail address)."""
    if _KANA.search(text):
        return "ja"
    rest = _NOT_LANGUAGE.sub(" ", text)
    has_words = _LATIN_WORD.search(rest) is not None
    if _KANJI.search(rest) and not has_words:
        return "ja"
    return "en" if has_words else fallback


# ------------------------------------------------------------------------------------- numbers

_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
            "eighty": 80, "ninety": 90}
_EN_NUMBER = (
    rf"(?:(?:{'|'.join(_EN_TENS)})(?:[- ](?:{'|'.join(list(_EN_UNITS)[1:10])}))?"
    rf"|{'|'.join(sorted(_EN_UNITS, key=len, reverse=True))}|\d{{1,4}})"
)
_NUMBER_PARTS = re.compile(r"[- ]")
_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                 "八": 8, "九": 9}
_KANJI_NUMBER = "[〇零一二三四五六七八九十百]+"
_NATIVE_COUNTS = {
    "ひとつ": 1, "ふたつ": 2, "みっつ": 3, "よっつ": 4, "いつつ": 5, "むっつ": 6, "ななつ": 7,
    "やっつ": 8, "ここのつ": 9,
}  # fmt: skip
# Japanese counters a shopper puts after a number (pieces, bottles, bags, sheets, boxes, cans, ...).
_COUNTERS = ("つ|個|こ|コ|本|袋|枚|点|箱|缶|杯|冊|着|足|膳|組|巻|台|セット|パック|品|ケース|瓶|"
             "ダース")
# A number followed by one of these is a measurement in a product name, not a count.
_UNIT_AFTER = r"(?!\s*(?:g\b|kg\b|mg\b|ml\b|cm\b|mm\b|%|円|yen\b|グラム|ミリ|センチ|号|番|丁目|[-.,/:0-9]))"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A quantity found in a text, with the span it occupies (so it can be cut out of a phrase)."""

    value: int
    start: int
    end: int


_QUANTITY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"half\s+a\s+dozen|半ダース", re.IGNORECASE), "six"),
    (re.compile(rf"(?<![\w.-])({_EN_NUMBER}|a)\s+dozens?\b", re.IGNORECASE), "dozen"),
    (re.compile(r"(\d{1,3})\s*ダース"), "dozen"),
    (re.compile(r"\ba\s+(?:couple|pair)(?:\s+of)?\b", re.IGNORECASE), "two"),
    (re.compile(r"\ba\s+few\b", re.IGNORECASE), "three"),
    (re.compile(r"(?<![a-z0-9])[x×*]\s*(\d{1,3})(?![\w.-])|(?<![\w.-])(\d{1,3})\s*[x×](?![a-z])",
                re.IGNORECASE), "times"),
    # "2つ目" is "the second", not two: a counter followed by 目 is an ordinal.
    (re.compile(rf"(\d{{1,4}})\s*(?:{_COUNTERS})(?!目)"), "digits"),
    (re.compile(rf"({_KANJI_NUMBER})\s*(?:{_COUNTERS})(?!目)"), "kanji"),
    (re.compile("|".join(_NATIVE_COUNTS)), "native"),
    (re.compile(rf"(?<![\w.,\-¥￥#])({_EN_NUMBER}){_UNIT_AFTER}(?![\w-])", re.IGNORECASE), "word"),
)
# "one" is usually a pronoun ("that one", "the cheaper one", "one of those"), not a count.
_PRONOUN_ONE = re.compile(
    r"(?:\b(?:that|this|the|which|another|each|any|other|every|first|second|third|last|"
    r"\w+er|\w+est|red|blue|black|white|green)\s+one\b|\bone\s+(?:of|more)\b|\bone'?s\b)",
    re.IGNORECASE,
)


def find_quantity(text: str) -> Quantity | None:
    """The first quantity in (NFKC-folded) text, or None."""
    masked = _PRONOUN_ONE.sub(lambda m: "\x00" * len(m.group()), text)
    found: list[Quantity] = []
    for pattern, kind in _QUANTITY_PATTERNS:
        for match in pattern.finditer(masked):
            value = _value(kind, match)
            if value is not None:
                found.append(Quantity(value, match.start(), match.end()))
                break
    if not found:
        return None
    # The earliest match wins; at the same position the longer one ("half a dozen" over "a").
    return min(found, key=lambda q: (q.start, -(q.end - q.start)))


def _value(kind: str, match: re.Match[str]) -> int | None:
    if kind == "six":
        return 6
    if kind == "two":
        return 2
    if kind == "three":
        return 3
    if kind == "dozen":
        count = match.group(1)
        return 12 * (1 if count.lower() == "a" else (_english_number(count) or 1))
    if kind == "times":
        return int(match.group(1) or match.group(2))
    if kind == "digits":
        return int(match.group(1))
    if kind == "kanji":
        return kanji_number(match.group(1))
    if kind == "native":
        return _NATIVE_COUNTS[match.group()]
    return _english_number(match.group(1))


def _english_number(word: str) -> int | None:
    word = word.lower().strip()
    if word.isdigit():
        return int(word)
    if word in _EN_UNITS:
        return _EN_UNITS[word]
    parts = _NUMBER_PARTS.split(word)
    tens = _EN_TENS.get(parts[0])
    if tens is None:
        return None
    return tens + (_EN_UNITS.get(parts[1], 0) if len(parts) > 1 else 0)


def kanji_number(text: str) -> int | None:
    """二 → 2, 十二 → 12, 三十 → 30, 二百五 → 205, 一〇 → 10; None when it is not a numeral."""
    if not text:
        return None
    if "十" not in text and "百" not in text:
        digits = [_KANJI_DIGITS.get(ch) for ch in text]
        if any(d is None for d in digits):
            return None
        return int("".join(str(d) for d in digits))
    total, current = 0, 0
    for ch in text:
        if ch in _KANJI_DIGITS:
            current = _KANJI_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current
