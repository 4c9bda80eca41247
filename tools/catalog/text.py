"""Text folding shared by the search index and the query parser.

This module only houses `normalize` and the word splitter. Both sides of a search (the catalogue's
names and tags, and the shopper's words) go through the same folding, so that a match never depends
on how a shopper's keyboard or IME happened to write a character:

- NFKC: full-width ASCII and digits become half-width ("ｃｏｆｆｅｅ" -> "coffee"), half-width
  katakana becomes full-width ("ｺｰﾋｰ" -> "コーヒー"), compatibility forms are unfolded;
- case folding;
- every dash after a kana or kanji becomes the long-vowel mark ー (IMEs and fonts produce -, ‐,
  ―, −, ～ ... for it); every other dash becomes "-";
- katakana is folded to hiragana with jaconv ("マグ" and "まぐ" are one word), so the folded text is
  for matching only, never for display;
- runs of whitespace collapse to one space.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

# Dashes that stand for the long-vowel mark when they follow kana or kanji. NFKC has already turned
# the half-width ｰ into ー and the full-width －/～ into -/~.
_LONG_VOWEL_RE = re.compile(
    r"(?<=[\u3040-\u30ff\u3400-\u9fff\u3005])[-~\u2010-\u2015\u2212\u301c\u30fc]+"
)
_OTHER_DASH_RE = re.compile(r"[\u2010-\u2015\u2212]")
_SPACE_RE = re.compile(r"\s+")
# A word: letters/digits (any script), joined by inner hyphens, apostrophes or decimal points,
# so "t-shirt", "men's" and "0.5mm" stay whole.
_WORD_RE = re.compile(r"[^\W_]+(?:(?:['-]|(?<=\d)\.(?=\d))[^\W_]+)*")

CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\u3005]")


def fold_width_and_case(text: str) -> str:
    """NFKC, casefold and dash unification: all of `normalize` except the kana folding."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _LONG_VOWEL_RE.sub("ー", text)
    return _OTHER_DASH_RE.sub("-", text)


def fold_kana(text: str) -> str:
    """Katakana to hiragana, and whitespace collapsed; expects `fold_width_and_case` output."""
    return _SPACE_RE.sub(" ", jaconv.kata2hira(text)).strip()


def normalize(text: str) -> str:
    """The matching form of `text`: width, case, dashes and kana script folded; spaces collapsed."""
    return fold_kana(fold_width_and_case(text))


def words(normalized: str) -> list[str]:
    """The words of normalised text (a run of Japanese without spaces is one word)."""
    return _WORD_RE.findall(normalized)


def has_cjk(text: str) -> bool:
    """Whether `text` contains kana or kanji (such text has no spaces between words)."""
    return CJK_RE.search(text) is not None
