"""Normalisation of what shoppers type into the address form.

This module only houses character-level clean-up shared by the address modules: character width
(full-width Latin letters and digits typed with a Japanese IME, half-width katakana), the many dash
look-alikes that stand in for "-", whitespace and invisible characters, and the folding of romaji
so that "Tōkyō", "Toukyou" and "Tokyo" compare equal. Nothing here knows about postal codes.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

# Characters shoppers (or their IME) type where they mean "-". The katakana prolonged sound mark
# "ー" is the usual culprit: a Japanese IME produces it for "-" in kana mode.
DASHES = (
    "-"  # hyphen-minus
    "\u2010"  # hyphen
    "\u2011"  # non-breaking hyphen
    "\u2012"  # figure dash
    "\u2013"  # en dash
    "\u2014"  # em dash
    "\u2015"  # horizontal bar
    "\u2043"  # hyphen bullet
    "\u2212"  # minus sign
    "\u30fc"  # katakana prolonged sound mark ー
    "\ufe63"  # small hyphen-minus
    "\uff0d"  # full-width hyphen-minus
    "\uff70"  # half-width prolonged sound mark
)

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_DASH_BETWEEN_DIGITS = re.compile(rf"(?<=[0-9])\s*[{re.escape(DASHES)}]\s*(?=[0-9])")
# Long vowels as shoppers spell them in romaji (Tōkyō is caught earlier: NFKD drops the macron).
_LONG_VOWELS = re.compile(r"ou|oo|uu|oh(?=[^aeiouy]|$)")
_NOT_LATIN_LETTER = re.compile(r"[^a-z]+")


def ascii_digits(text: str) -> str:
    """Full-width digits to ASCII; nothing else changes."""
    return text.translate(_FULLWIDTH_DIGITS)


def clean_text(text: str) -> str:
    """Width-normalised, single-spaced text without control or invisible characters.

    Full-width ASCII becomes ASCII and half-width katakana becomes full-width, which is how labels
    and carriers' systems expect them. Kanji are left alone on purpose: NFKC would also rewrite CJK
    compatibility ideographs, silently changing how some family names are written.
    """
    text = jaconv.z2h(text, kana=False, ascii=True, digit=True)
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace():
            kept.append(" ")
        elif category in ("Cc", "Cf", "Cs"):
            # Zero-width spaces, bidi overrides and lone surrogates are invisible on screen but end
            # up on the label (or make the row unencodable as UTF-8).
            continue
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


def clean_street(text: str) -> str:
    """`clean_text`, plus any dash between two numbers written as "-" (2ー21ー1 → 2-21-1)."""
    return _DASH_BETWEEN_DIGITS.sub("-", clean_text(text))


def has_letter(text: str) -> bool:
    """Whether the text holds at least one letter of any script (kanji and kana count)."""
    return any(unicodedata.category(char).startswith("L") for char in text)


def is_latin(text: str) -> bool:
    """Whether every letter in the text is Latin (romaji), and there is at least one."""
    letters = [char for char in text if unicodedata.category(char).startswith("L")]
    return bool(letters) and all("LATIN" in unicodedata.name(char, "") for char in letters)


def fold_romaji(text: str) -> str:
    """Lower-case Latin letters only, accents dropped and long vowels shortened (Tōkyō → tokyo).

    Shoppers write long vowels as ō, ô, ou, oo or oh, or not at all; folding every spelling to the
    short one lets two romaji spellings of one name compare equal.
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = _NOT_LATIN_LETTER.sub(
        "", "".join(c for c in decomposed if not unicodedata.combining(c))
    )
    previous = None
    while previous != letters:
        previous, letters = letters, _LONG_VOWELS.sub(lambda m: m.group(0)[0], letters)
    return letters


def romaji_words(text: str) -> list[str]:
    """The folded words of a romaji text ("Shibuya-ku, Tokyo" → ["shibuya", "ku", "tokyo"])."""
    words = re.split(r"[^A-Za-z\u00c0-\u024f]+", unicodedata.normalize("NFC", text))
    return [folded for word in words if (folded := fold_romaji(word))]


def kana_to_romaji(kana: str) -> str:
    """Folded romaji of a kana reading (シブヤク → shibuyaku), for comparison only."""
    return fold_romaji(str(jaconv.kana2alphabet(jaconv.kata2hira(kana))))


def katakana(text: str) -> str:
    """Hiragana and half-width katakana as full-width katakana, without spaces."""
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    return str(jaconv.hira2kata(text)).replace(" ", "").replace("\u3000", "")
