"""The ways a shopper may paste card data into the chat: the canary's inputs.

This module only houses the list of pasted-card cases and how each is built. Every case is one
conversation: one or two shopper messages holding a card number (sometimes with its security code
and expiry), and the data that must never come out of the merchant app again:

* `pan`: the card number's digits. A sink leaks it when its text, reduced to digits, holds them in
  a row (so every regrouping, width and invisible-character trick is covered at once);
* `typed`: strings exactly as the shopper typed them (the card as written, each half of a number
  split over two messages, "cvv 837"-style phrases), looked for verbatim.

Each case gets its own card number (a brand prefix, digits derived from the case name, a Luhn
check digit), so a leak found anywhere names the one format that caused it. The known split-with-
dot case keeps the sandbox's 3-D Secure card 4000 0025 0000 3155, as in the eval scenario.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CASES", "PastedCard", "luhn_valid"]


def luhn_valid(digits: str) -> bool:
    """The Luhn check, written here again so the canary does not trust the code under test."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_number(prefix: str, length: int, name: str) -> str:
    """A Luhn-valid number of `length` digits starting with `prefix`, unique to `name`."""
    seed = hashlib.sha256(name.encode()).hexdigest()
    body = prefix + "".join(str(int(c, 16) % 10) for c in seed)[: length - len(prefix) - 1]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@dataclass(frozen=True)
class PastedCard:
    """One way of pasting a card: the messages sent and what must never appear again."""

    name: str
    messages: tuple[str, ...]
    pan: str
    brand: str
    typed: tuple[str, ...] = ()
    locale: str = "en"
    # Strings of the first message that reach the model and the logs before the second message
    # of a split number arrives (nothing can know it is card data yet): they must be gone from
    # storage afterwards, but are not searched in what was sent before.
    first_half: tuple[str, ...] = field(default=())


def grouped(pan: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, position = [], 0
    for size in sizes:
        if position >= len(pan):
            break
        parts.append(pan[position : position + size])
        position += size
    if position < len(pan):
        parts.append(pan[position:])
    return separator.join(parts)


def four(pan: str, separator: str) -> str:
    return grouped(pan, (4, 4, 4, 4), separator)


_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")
_KANJI = str.maketrans("0123456789", "〇一二三四五六七八九")


def wide(text: str) -> str:
    return text.translate(_WIDE)


def _visa(name: str) -> str:
    return card_number("4", 16, name)


# (name, how the Visa number is written): one message, the number alone.
_SEPARATORS: list[tuple[str, Callable[[str], str]]] = [
    ("compact", str),
    ("spaces", lambda n: four(n, " ")),
    ("hyphens", lambda n: four(n, "-")),
    ("dots", lambda n: four(n, ".")),
    ("slashes", lambda n: four(n, "/")),
    ("underscores", lambda n: four(n, "_")),
    ("mixed separators", lambda n: f"{n[:4]} {n[4:8]}-{n[8:12]}.{n[12:]}"),
    ("mixed space and hyphen", lambda n: f"{n[:4]}-{n[4:8]} {n[8:12]}-{n[12:]}"),
    ("two spaces", lambda n: four(n, "  ")),
    ("three spaces", lambda n: four(n, "   ")),
    ("tabs", lambda n: four(n, "\t")),
    ("newlines", lambda n: four(n, "\n")),
    ("crlf newlines", lambda n: four(n, "\r\n")),
    ("spaced hyphens", lambda n: four(n, " - ")),
    ("full-width digits", wide),
    ("full-width digits, ideographic spaces", lambda n: wide(four(n, "\u3000"))),
    ("full-width digits and hyphens", lambda n: wide(four(n, "－"))),
    ("mixed width", lambda n: "".join(wide(c) if i % 2 else c for i, c in enumerate(n))),
    ("mixed width groups", lambda n: four(n[:8], " ") + " " + wide(four(n[8:], " "))),
    ("zero-width spaces U+200B", lambda n: "\u200b".join(n)),
    ("zero-width non-joiners U+200C", lambda n: four(n, " ").replace("4", "4\u200c")),
    ("zero-width joiners U+200D", lambda n: "\u200d".join(four(n, "-"))),
    ("word joiners U+2060", lambda n: "\u2060".join(n)),
    ("byte-order marks U+FEFF", lambda n: four(n, "\ufeff")),
    ("every zero-width kind", lambda n: "\u200b\u200c\u200d\u2060\ufeff".join(n)),
    ("katakana long-vowel mark ー", lambda n: four(n, "ー")),
    ("full-width hyphen －", lambda n: four(n, "－")),
    ("ideographic comma 、", lambda n: four(n, "、")),
    ("full-width comma ，", lambda n: wide(four(n, "，"))),
    ("nakaguro ・", lambda n: four(n, "・")),
    ("em dashes", lambda n: four(n, "\u2014")),
    ("minus signs", lambda n: four(n, "\u2212")),
    ("full-width slashes", lambda n: wide(four(n, "／"))),
    ("no-break spaces", lambda n: four(n, "\u00a0")),
    ("spelled digit by digit", lambda n: " ".join(n)),
    ("irregular 8-8", lambda n: grouped(n, (8, 8), " ")),
    ("kanji digits", lambda n: n.translate(_KANJI)),
    ("arabic-indic digits", lambda n: "".join(chr(0x0660 + int(c)) for c in n)),
]


def _separator_cases() -> list[PastedCard]:
    cases = []
    for name, write in _SEPARATORS:
        pan = _visa(name)
        text = write(pan)
        cases.append(PastedCard(name, (text,), pan, "visa", typed=(text,)))
    return cases


def _brand_cases() -> list[PastedCard]:
    """Every brand, grouped as printed on the card, inside a sentence."""
    specs = [
        ("mastercard 5-series", "mastercard", "53", 16, (4, 4, 4, 4)),
        ("mastercard 2-series", "mastercard", "2223", 16, (4, 4, 4, 4)),
        ("amex 4-6-5", "amex", "37", 15, (4, 6, 5)),
        ("jcb", "jcb", "3566", 16, (4, 4, 4, 4)),
        ("diners 14 digits 4-6-4", "diners", "36", 14, (4, 6, 4)),
        ("diners 300-305", "diners", "305", 14, (4, 6, 4)),
        ("discover 6011", "discover", "6011", 16, (4, 4, 4, 4)),
        ("discover 65", "discover", "65", 16, (4, 4, 4, 4)),
        ("unionpay 19 digits", "unionpay", "62", 19, (4, 4, 4, 4, 3)),
        ("visa 13 digits", "visa", "4", 13, (13,)),
        ("visa 19 digits", "visa", "4", 19, (4, 4, 4, 4, 3)),
    ]
    cases = []
    for name, brand, prefix, length, sizes in specs:
        pan = card_number(prefix, length, name)
        written = grouped(pan, sizes, " ")
        cases.append(
            PastedCard(
                name,
                (f"can I pay with my {brand} {written} please?",),
                pan,
                brand,
                typed=(written,),
            )
        )
    return cases


def _context_cases() -> list[PastedCard]:
    """Security codes, expiry dates, longer sentences, Japanese text."""
    cases = []

    def add(
        name: str, text: str, pan: str, brand: str, typed: tuple[str, ...], locale: str = "en"
    ) -> None:
        cases.append(PastedCard(name, (text,), pan, brand, typed=typed, locale=locale))

    n = _visa("with code and expiry")
    add(
        "with code and expiry",
        f"card {four(n, ' ')} exp 11/29 cvv 837",
        n,
        "visa",
        (four(n, " "), "exp 11/29", "cvv 837"),
    )
    n = _visa("trailing expiry and code")
    add(
        "trailing expiry and code",
        f"{four(n, ' ')} 09/28 614",
        n,
        "visa",
        (four(n, " "), "09/28 614"),
    )
    n = card_number("37", 15, "amex with 4-digit code")
    add(
        "amex with 4-digit code",
        f"amex {grouped(n, (4, 6, 5), '-')} cid 7392, exp 0827",
        n,
        "amex",
        (grouped(n, (4, 6, 5), "-"), "cid 7392", "exp 0827"),
    )
    n = _visa("inside a longer sentence")
    add(
        "inside a longer sentence",
        "Hi! I'd like two bags of sencha and the drip coffee. To save time, here is my card "
        f"{four(n, '-')}, valid thru 03/30, and the code on the back is 552. Thanks a lot!",
        n,
        "visa",
        (four(n, "-"), "valid thru 03/30", "is 552"),
    )
    n = _visa("no surrounding words, code and date")
    add("no surrounding words, code and date", f"{n} 1229 418", n, "visa", (f"{n} 1229 418",))
    n = _visa("markdown code span")
    add("markdown code span", f"`{four(n, ' ')}`", n, "visa", (four(n, " "),))
    n = _visa("json-looking paste")
    add(
        "json-looking paste",
        f'{{"number": "{n}", "cvc": "291", "exp": "10/31"}}',
        n,
        "visa",
        (n, '"cvc": "291"', '"exp": "10/31"'),
    )
    n = card_number("3540", 16, "japanese sentence, full-width")
    text = wide(four(n, "－"))
    add("japanese sentence, full-width", f"カード番号は{text}です。", n, "jcb", (text,), "ja")
    n = _visa("japanese with expiry and code")
    add(
        "japanese with expiry and code",
        f"このカードで払います：{four(n, ' ')}、有効期限は１１／２９、セキュリティコードは８３７です",
        n,
        "visa",
        (four(n, " "), "有効期限は１１／２９", "セキュリティコードは８３７"),
        "ja",
    )
    n = card_number("53", 16, "japanese glued particles")
    add(
        "japanese glued particles",
        f"カード{n}で一括払いでお願いします",
        n,
        "mastercard",
        (n,),
        "ja",
    )
    n = _visa("japanese long-vowel separators in sentence")
    text = wide(four(n, "ー"))
    add(
        "japanese long-vowel separators in sentence",
        f"クレカは{text}、裏の3桁は４０２です",
        n,
        "visa",
        (text, "裏の3桁は４０２"),
        "ja",
    )
    n = _visa("japanese zero-width in sentence")
    text = "\u200b".join(wide(n))
    add("japanese zero-width in sentence", f"番号：{text} でお願いします", n, "visa", (text,), "ja")
    n = _visa("card on its own line after address")
    add(
        "card on its own line after address",
        f"Taro Yamada, 150-0002, 090-1234-5678\n{four(n, ' ')}\n12/30 771",
        n,
        "visa",
        (four(n, " "), "12/30 771"),
    )
    return cases


def _split_cases() -> list[PastedCard]:
    """A number pasted in two consecutive messages."""
    cases = []

    def add(
        name: str,
        first: str,
        second: str,
        pan: str,
        brand: str,
        halves: tuple[str, str],
        locale: str = "en",
    ) -> None:
        # A half of fewer than six digits would match unrelated digits (ids, hashes) verbatim:
        # it is covered by the whole number's search, not on its own.
        typed = tuple(half for half in halves if sum(c.isdigit() for c in half) >= 6)
        cases.append(
            PastedCard(
                name,
                (first, second),
                pan,
                brand,
                typed=typed,
                locale=locale,
                first_half=(halves[0],),
            )
        )

    # The known gap: dots in the first half, spaces in the second (evals/pending scenario).
    pan = "4000002500003155"
    add(
        "split: dots then spaces",
        "my card number is 4000.0025",
        "0000 3155 thanks",
        pan,
        "visa",
        ("4000.0025", "0000 3155"),
    )
    n = _visa("split: spaces 8 + 8")
    add(
        "split: spaces 8 + 8",
        f"my card is {four(n[:8], ' ')}",
        f"{four(n[8:], ' ')} thanks",
        n,
        "visa",
        (four(n[:8], " "), four(n[8:], " ")),
    )
    n = _visa("split: 12 + 4")
    add(
        "split: 12 + 4",
        f"card {grouped(n[:12], (4, 4, 4), ' ')}",
        n[12:],
        n,
        "visa",
        (grouped(n[:12], (4, 4, 4), " "), n[12:]),
    )
    n = card_number("55", 16, "split: hyphens, trailing hyphen")
    add(
        "split: hyphens, trailing hyphen",
        f"{four(n[:8], '-')}-",
        f"{four(n[8:], '-')} ok?",
        n,
        "mastercard",
        (four(n[:8], "-"), four(n[8:], "-")),
    )
    n = card_number("37", 15, "split: amex 4-6 + 5")
    add(
        "split: amex 4-6 + 5",
        f"amex {n[:4]} {n[4:10]}",
        n[10:],
        n,
        "amex",
        (f"{n[:4]} {n[4:10]}", n[10:]),
    )
    n = _visa("split: full-width, japanese")
    add(
        "split: full-width, japanese",
        f"カード番号は{wide(four(n[:8], '　'))}",
        f"{wide(four(n[8:], '　'))}です",
        n,
        "visa",
        (wide(four(n[:8], "　")), wide(four(n[8:], "　"))),
        "ja",
    )
    n = _visa("split: dots both halves")
    add(
        "split: dots both halves",
        f"{four(n[:8], '.')}.",
        f"{four(n[8:], '.')}",
        n,
        "visa",
        (four(n[:8], "."), four(n[8:], ".")),
    )
    n = _visa("split: hyphens then dots")
    add(
        "split: hyphens then dots",
        f"number {four(n[:8], '-')}",
        f"{four(n[8:], '.')} please",
        n,
        "visa",
        (four(n[:8], "-"), four(n[8:], ".")),
    )
    n = card_number("2223", 16, "split: compact halves with words")
    add(
        "split: compact halves with words",
        f"the first half is {n[:8]}",
        f"{n[8:]} is the rest",
        n,
        "mastercard",
        (n[:8], n[8:]),
    )
    return cases


CASES: tuple[PastedCard, ...] = (
    *_separator_cases(),
    *_brand_cases(),
    *_context_cases(),
    *_split_cases(),
)

_names = [case.name for case in CASES]
assert len(set(_names)) == len(_names), "case names must be unique"
assert len({case.pan for case in CASES}) == len(CASES), "each case has its own number"
assert all(luhn_valid(case.pan) for case in CASES)
# Typed strings are searched verbatim in every sink: short ones would match unrelated text.
assert all(len(typed) >= 6 for case in CASES for typed in case.typed)
