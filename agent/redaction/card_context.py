"""Security codes and expiry dates: found only next to card words or right after a card number.

This module only houses the context rules; card numbers themselves are `card_number`'s job. Both
work on the normalised view (`agent.redaction.normalized`), so full-width and zero-width tricks are
already undone here.

A 3-4 digit number or a date is harmless on its own ("3 items", "deliver on 12/30"). It is removed
when

* it follows a removed card number directly, with nothing but spaces, punctuation and card labels
  in between ("4242…4242 12/30 123", "…4242、有効期限は12/30、セキュリティコードは123"); up to three
  such items are taken after each card (a 4-digit group reads as MMYY when it can, except after an
  American Express number, whose security code has 4 digits: either way it is removed);
* it follows a security-code word (cvc, cvv, cvv2, csc, cvn, cid, security code, PIN, 3-digit code,
  セキュリティコード, 裏の3桁, 暗証番号 ...) or an expiry word (exp, expiry, expires, valid thru,
  MM/YY, 有効期限, 有効年月 ...) within 20 characters, with no other digit and no sentence end
  (。 ! ? line break) in between ("cvc: 123", "セキュリティコードは１２３です");
* or precedes such a word within 12 characters under the same conditions ("123 is my cvv",
  "123がセキュリティコードです").

A PIN (暗証番号) is treated as a security code: it must never be stored either. Codes may be written
in kanji digits (一二三). The windows never reach across a removal token, so redacting a text twice
changes nothing.

Dates are MM/YY, MM/YYYY, MM-YY, MM.YY, YYYY/MM, "2030年12月", "30年12月", "12月2030年", and next
to an expiry word also "MM YY" and compact "MMYY"; months must be 1-12 and four-digit years 2000-2099.

Limits: "card" alone is not context for codes and dates (it would remove the delivery date from
"pay by card, deliver 12/30"); a code or date further away than the windows above, separated from
its word by another number or a sentence end is kept; words spelled with look-alike letters
(Cyrillic "сvс") are not recognised.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from agent.redaction.kinds import EXPIRY, SECURITY_CODE, TOKENS

__all__ = ["CardContext", "Span"]

_K = "〇零一二三四五六七八九"

# Word lists for the lower-cased view. Every alternative begins with a literal character, so the
# regex engine can skip ahead to candidate characters instead of trying every position (ten times
# faster on long messages); a letter right before an English word is checked in `_words`.
_CVC_WORDS = (
    r"cvv2(?![0-9])",
    r"cvv",
    r"cvc2(?![0-9])",
    r"cvc",
    r"csc",
    r"cvn",
    r"cid",  # American Express's name for its 4-digit code
    r"security\s*code",
    r"security\s*number",
    r"card\s*security\s*code",
    r"card\s*code",
    r"card\s*verification(?:\s*(?:code|value|number))?",
    r"3[-\s]?digits?(?:\s*security)?\s*(?:code|number)",
    r"4[-\s]?digits?(?:\s*security)?\s*(?:code|number)",
    r"three[-\s]?digits?(?:\s*security)?\s*(?:code|number)",
    r"four[-\s]?digits?(?:\s*security)?\s*(?:code|number)",
    r"code\s+on\s+the\s+back",
    r"digits\s+on\s+the\s+back",
    r"number\s+on\s+the\s+back",
    r"pin(?:\s*(?:code|number))?",
    r"セキュリティ[ーｰ-]?(?:コード|番号)",
    r"裏面?の?[34三四]桁(?:の(?:数字|番号|コード))?",
    r"3桁の(?:数字|番号|コード)",
    r"4桁の(?:数字|番号|コード)",
    r"三桁の(?:数字|番号|コード)",
    r"四桁の(?:数字|番号|コード)",
    r"暗証番号",
)
_EXPIRY_WORDS = (
    r"expiration(?:\s*date)?",
    r"expiry(?:\s*date)?",
    r"expires",
    r"expired",
    r"expire",
    r"exp\.?(?:\s*date)?",
    r"valid\s*(?:thru|through|until|till)",
    r"good\s*(?:thru|through)",
    r"mm\s*/\s*yy(?:yy)?",
    r"有効期限",
    r"有効期間",
    r"有効年月",
    r"カードの期限",
)
_CARD_WORDS = (
    r"cards?",
    r"credit",
    r"debit",
    r"visa",
    r"master\s*card",
    r"amex",
    r"american\s*express",
    r"jcb",
    r"diners",
    r"union\s*pay",
    r"カード",
    r"クレカ",
    r"クレジット",
    r"デビット",
)


def _alternatives(*words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(w for group in words for w in group) + ")(?![a-z])"


# Labels that make a GTIN-valid number a barcode even when card words are near.
_BARCODE_WORDS = (
    r"jan",
    r"ean",
    r"upc",
    r"isbn",
    r"gtin",
    r"barcode",
    r"bar\s+code",
    r"バーコード",
    r"商品コード",
    r"janコード",
)
_BARCODE_LABEL = re.compile(
    "(?<![a-z])(?:"
    + "|".join(_BARCODE_WORDS)
    + r")(?:\s*(?:code|no\.?|number|番号))?[\s:：#=はの]{0,3}\Z"
)
_CVC_WORD = re.compile(_alternatives(_CVC_WORDS))
_EXPIRY_WORD = re.compile(_alternatives(_EXPIRY_WORDS))
_ANY_CARD_WORD = re.compile(_alternatives(_CVC_WORDS, _EXPIRY_WORDS, _CARD_WORDS))

# A code: 3-4 digits of one script, not part of a longer number ("1234-5678" is not a code).
_CODE = rf"(?:[0-9]{{3,4}}|[{_K}]{{3,4}})(?![0-9{_K}])(?![-./][0-9])"
# Separated dates; the trailing guard keeps "12/30/2026" (a calendar date) out.
_DATE = (
    r"(?:(?P<y1>(?:20)?[0-9]{2})\s*年\s*(?P<m1>[0-9]{1,2})\s*月"
    r"|(?P<m2>[0-9]{1,2})\s*月\s*(?P<y2>(?:20)?[0-9]{2})\s*年"
    r"|(?P<y3>20[0-9]{2})\s*[-/.]\s*(?P<m3>[0-9]{1,2})(?![0-9])"
    r"|(?P<m4>[0-9]{1,2})\s*[-/.]\s*(?P<y4>(?:20)?[0-9]{2})(?![0-9]))(?![-/.][0-9])"
)
# Only next to an expiry word: "exp 12 30", "exp 1230".
_LOOSE_DATE = r"(?:(?P<m5>[0-9]{1,2}) (?P<y5>[0-9]{2})|(?P<m6>[0-9]{2})(?P<y6>[0-9]{2}))(?![0-9])"

_STOP = r"\n。!?！？"
_REMOVED = "(?:" + "|".join(re.escape(token) for token in TOKENS.values()) + ")"
# Up to 20 characters between word and value, never across a removal token: redacting an
# already redacted text must change nothing.
_CODE_AFTER = re.compile(rf"(?:(?!{_REMOVED})[^0-9{_K}{_STOP}]){{0,20}}?(?P<v>{_CODE})")
_DATE_AFTER = re.compile(rf"(?:(?!{_REMOVED})[^0-9{_STOP}]){{0,20}}?(?P<v>{_DATE}|{_LOOSE_DATE})")
_BEFORE_WINDOW = 24
# A word already followed by a removal token has had its value removed (redacting twice must
# change nothing), so the window before it is not searched.
_TOKEN_AFTER = re.compile(rf"[^0-9{_STOP}]{{0,20}}?{_REMOVED}")
_CODE_BEFORE = re.compile(
    rf"(?<![0-9{_K}])(?<![0-9][-./])(?P<v>{_CODE})[^0-9{_K}{_STOP}]{{0,12}}\Z"
)
_DATE_BEFORE = re.compile(
    rf"(?<![0-9])(?<![0-9][-./])(?P<v>{_DATE}|{_LOOSE_DATE})[^0-9{_STOP}]{{0,12}}\Z"
)

# What may sit between a card number and its code or date: spaces, punctuation, labels.
_GLUE = re.compile(
    r"(?:[\s,;:|()\[\]（）【】「」『』、，=*#/-]|and|&|with|code|は|が|で|と|も|です|番号|"
    + "|".join(_EXPIRY_WORDS + _CVC_WORDS)
    + ")*+"
)
_MAX_GLUE = 40
_MAX_ITEMS_AFTER_CARD = 3
_DATE_AT = re.compile(_DATE)
# Right after a card number, "12 30" is an expiry too.
_SPACED_DATE_AT = re.compile(r"(?P<m1>[0-9]{1,2}) (?P<y1>20[0-9]{2}|[0-9]{2})(?![0-9])")
_CODE_AT = re.compile(_CODE)
_NEAR_CARD_WORDS = 60
_HEX_LETTERS = frozenset("abcdef")
_HEX_WINDOW = 8
_HEX_MIN_AROUND = 6
_ALNUM_BEFORE = re.compile(r"[0-9a-z]*\Z")
_ALNUM_AFTER = re.compile(r"[0-9a-z]*")
_HEX = re.compile(r"[0-9a-f]*")
#: A dashed UUID (8-4-4-4-12 hex digits) standing on its own.
_UUID = re.compile(r"(?<![0-9a-z-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                   r"(?![0-9a-z-])")
_DIGIT = re.compile(f"[0-9{_K}]")


@dataclass(frozen=True, slots=True)
class Span:
    """A security code or expiry date in the view."""

    start: int
    end: int
    kind: str


def _month_year_groups(pattern: re.Pattern[str]) -> tuple[tuple[int, int], ...]:
    names = pattern.groupindex
    return tuple((names[f"m{n}"], names[f"y{n}"]) for n in range(1, 7) if f"m{n}" in names)


_MONTH_YEAR = {
    p: _month_year_groups(p) for p in (_DATE_AT, _SPACED_DATE_AT, _DATE_AFTER, _DATE_BEFORE)
}


def _is_date(match: re.Match[str]) -> bool:
    """Whether a date match has a month 1-12 and, if four digits, a year 2000-2099."""
    for month_group, year_group in _MONTH_YEAR[match.re]:
        month = match.group(month_group)
        if month is not None:
            year = match.group(year_group)
            return 1 <= int(month) <= 12 and (len(year) == 2 or 2000 <= int(year) <= 2099)
    return False


class CardContext:
    """The card, security-code and expiry words of one view, and what they make removable."""

    __slots__ = ("_word_starts", "view")

    def __init__(self, view: str) -> None:
        self.view = view
        self._word_starts: list[int] | None = None

    def _words(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        view = self.view
        return [m for m in pattern.finditer(view) if self._is_word(m)]

    def _is_word(self, match: re.Match[str]) -> bool:
        view, start = self.view, match.start()
        # An English word must start a word: "xcvc" and "spin" are not context.
        if "a" <= view[start] <= "z" and start > 0 and "a" <= view[start - 1] <= "z":
            return False
        # The words inside a removal token ("[expiry removed]") are not context either.
        return not (
            start > 0 and view[start - 1] == "[" and view.startswith(" removed]", match.end())
        )

    def near_card_words(self, start: int, end: int) -> bool:
        """Whether card, security-code or expiry words are within 60 characters of a span."""
        if self._word_starts is None:
            self._word_starts = [m.start() for m in self._words(_ANY_CARD_WORD)]
        index = bisect_left(self._word_starts, start - _NEAR_CARD_WORDS)
        return index < len(self._word_starts) and self._word_starts[index] <= end + _NEAR_CARD_WORDS

    def labelled_barcode(self, start: int) -> bool:
        """A barcode label ("JAN", "barcode", "バーコード" ...) comes right before `start`."""
        return _BARCODE_LABEL.search(self.view, max(0, start - 24), start) is not None

    def inside_identifier(self, start: int, end: int) -> bool:
        """The span is glued into a hexadecimal identifier ("…e4ba8b38553895264590f").

        Only a neighbour that is a hex letter counts, and only if the (up to eight) characters on
        each side are all hexadecimal, at least six, and mix letters with digits, as random
        identifiers do: "card4242…", "4242…exp", "4242…ab" and "4242…deadbeef" stay card numbers.
        """
        view = self.view
        if self._in_uuid(start, end):
            return True
        glued = (start > 0 and view[start - 1] in _HEX_LETTERS) or (
            end < len(view) and view[end] in _HEX_LETTERS
        )
        if not glued:
            return False
        before = _ALNUM_BEFORE.search(view, max(0, start - _HEX_WINDOW), start)
        after = _ALNUM_AFTER.match(view, end, end + _HEX_WINDOW)
        around = (before.group() if before else "") + (after.group() if after else "")
        return (
            len(around) >= _HEX_MIN_AROUND
            and _HEX.fullmatch(around) is not None
            and not around.isdigit()
            and not around.isalpha()
        )

    def _in_uuid(self, start: int, end: int) -> bool:
        """The span lies inside a dashed UUID with a hex letter in it (a quote or order id).

        One UUID in about 2,000 begins with 16 digits in its 8-4-4 groups, and a tenth of those
        pass Luhn: read as a card, a shopper's confirm carrying the quote id was refused. The
        dashes keep such a span from counting as glued to the letters after it.
        """
        for match in _UUID.finditer(self.view, max(0, start - 36), min(len(self.view), end + 36)):
            if match.start() <= start and end <= match.end():
                return not match.group().replace("-", "").isdigit()
        return False

    def items_after_card(self, card_end: int, brand: str, limit: int) -> list[Span]:
        """Codes and dates that directly follow a card number ending at `card_end`, before `limit`."""
        view = self.view
        items: list[Span] = []
        position = card_end
        while len(items) < _MAX_ITEMS_AFTER_CARD:
            glue = _GLUE.match(view, position, min(limit, position + _MAX_GLUE))
            if glue is None:
                break
            position = glue.end()
            date = _DATE_AT.match(view, position, limit)
            if date is None or not _is_date(date):
                date = _SPACED_DATE_AT.match(view, position, limit)
            if date is not None and _is_date(date):
                items.append(Span(position, date.end(), EXPIRY))
                position = date.end()
                continue
            code = _CODE_AT.match(view, position, limit)
            if code is None:
                break
            value = code.group()
            # A 4-digit group after a card is an expiry when it reads as MMYY, except for American
            # Express, whose security code has 4 digits, unless an expiry word says so ("exp
            # 0827"). Either way it is removed.
            reads_as_mmyy = value[0] in "01" and 1 <= int(value[:2]) <= 12
            labelled = _EXPIRY_WORD.search(glue.group()) is not None
            kind = (
                EXPIRY
                if len(value) == 4 and reads_as_mmyy and (brand != "amex" or labelled)
                else SECURITY_CODE
            )
            items.append(Span(position, code.end(), kind))
            position = code.end()
        return items

    def codes_and_dates_near_words(self) -> list[Span]:
        """Security codes next to security-code words and dates next to expiry words."""
        view = self.view
        spans: list[Span] = []
        for words, after, before, kind in (
            (_CVC_WORD, _CODE_AFTER, _CODE_BEFORE, SECURITY_CODE),
            (_EXPIRY_WORD, _DATE_AFTER, _DATE_BEFORE, EXPIRY),
        ):
            for word in self._words(words):
                # Most words have no digit nearby; one scan of the windows settles those.
                if _DIGIT.search(view, word.start() - _BEFORE_WINDOW, word.end() + 21) is None:
                    continue
                found = after.match(view, word.end())
                if found is None and _TOKEN_AFTER.match(view, word.end()):
                    continue
                if found is None or (kind == EXPIRY and not _is_date(found)):
                    window = max(0, word.start() - _BEFORE_WINDOW)
                    found = before.search(view, window, word.start())
                    if found is not None and kind == EXPIRY and not _is_date(found):
                        found = None
                if found is not None:
                    spans.append(Span(found.start("v"), found.end("v"), kind))
        return spans
