"""Turning a shopper's words into search terms.

This module only houses `parse_query`: it strips what carries no product meaning (English filler and
stop words, Japanese request phrases and particles), picks out a garment size ("M", "Lサイズ",
"large"), and returns the remaining words in normalised form. It knows nothing about the catalogue;
whether two adjacent terms are really one word ("hoji cha", "柿の種") is decided by the index, which
is why each gap between terms keeps the text that was removed there (`glues`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.catalog.text import fold_kana, fold_width_and_case, words

# Words that never identify a product. They are removed on both sides (catalogue descriptions are
# indexed without them too), so "something for tea" and "tea for two" cannot match on "for".
_STOP_WORDS_TEXT = """
    a an the and or of to in on at by for with from into about as is are am be was were been it its
    this that these those there here what which who how much many do does did you your yours i i'd
    i'm im me my we our us have has had got get getting any some something anything someone please
    pls want wanted wanna would like looking look find search need needs buy purchase order can
    could may might will shall should show give tell sell sold stock one ones thing things kind sort
    type item items product products size sizes hi hello hey thanks thank just also too maybe more
    very really good nice new other another else
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

# Japanese request phrases, with the particle that usually precedes them ("緑茶はありますか").
# They are matched before kana folding, so they are written the way an IME produces them.
_JA_FILLER_RE = re.compile(
    r"[はがをもの]?"
    r"(?:ありますか|あります|ありませんか|ある(?=[?？\s]|$)|ないですか|ない(?=[?？\s]|$)"
    r"|くださいませ|ください|下さい|ちょうだい|ほしいです|欲しいです|ほしい|欲しい"
    r"|探しています|探してます|探してる|さがしています|さがしてる|見たいです|見たい|見せて"
    r"|みせて|買いたいです|買いたい|かいたい|お願いします|おねがいします|お願い|いくらですか"
    r"|いくら|おすすめ|オススメ|お勧め|なにか|何か|ですか|です|ますか)"
    r"[?？!！。、.,]*"
)
# A particle right after a content character (kanji, katakana, Latin, digit) ends a word:
# "緑茶は", "マグカップが", "Tシャツの". Inside hiragana it is usually part of a word (はがき,
# のり), so there it stays.
_JA_PARTICLE_RE = re.compile(r"(?<=[\u30a0-\u30ff\u3400-\u9fff\u3005a-z0-9])[はがをにでともやの]")
_GLUE_SPLIT_RE = re.compile(r"(\x00[^\x00]\x00)")
_POSSESSIVE_RE = re.compile(r"'s\b")
_EXTRA_LARGE_RE = re.compile(r"\b(?:extra|x)[- ]?large\b")

_SIZES: dict[str, str] = {
    "xs": "XS", "s": "S", "m": "M", "l": "L", "xl": "XL", "xxl": "XXL",
    "ll": "XL", "2l": "XL", "3l": "XXL",
    "small": "S", "medium": "M", "large": "L", "xlarge": "XL",
}  # fmt: skip
_SIZE_CODE = r"(xxl|xl|xs|ll|2l|3l|s|m|l)"
# "lさいず" / "さいずl" (サイズ after kana folding), standalone or glued to the garment word.
_JA_SIZE_RE = re.compile(rf"(?<![a-z0-9]){_SIZE_CODE}さいず|さいず{_SIZE_CODE}(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """Normalised terms of a query; `glues[i]` is what separated `terms[i]` and `terms[i + 1]`."""

    terms: tuple[str, ...]
    glues: tuple[str, ...]
    size: str | None = None


def parse_query(query: str) -> ParsedQuery:
    """Terms, gaps and size of a shopper's query (empty terms: nothing searchable was said)."""
    text = fold_width_and_case(query)
    text = _POSSESSIVE_RE.sub("", text)
    text = _EXTRA_LARGE_RE.sub(" xl ", text)
    text = _JA_FILLER_RE.sub(" ", text)
    # Mark particle boundaries with a control character that survives folding but is not a word.
    text = _JA_PARTICLE_RE.sub(lambda m: f"\x00{m.group()}\x00", text)
    text = fold_kana(text)

    size: str | None = None
    terms: list[str] = []
    glues: list[str] = []
    pending_glue = ""
    for piece in _GLUE_SPLIT_RE.split(text):
        if piece.startswith("\x00"):
            pending_glue = piece[1]
            continue
        for word in words(piece):
            word, found = _take_size(word)
            size = found or size
            if not word or word in STOP_WORDS:
                pending_glue = " "
                continue
            if terms:
                glues.append(pending_glue or " ")
            terms.append(word)
            pending_glue = " "
    return ParsedQuery(terms=tuple(terms), glues=tuple(glues), size=size)


def _take_size(word: str) -> tuple[str, str | None]:
    """(`word` without a size mention, the size) — a bare "m" or "large" is all size."""
    if word in _SIZES:
        return "", _SIZES[word]
    match = _JA_SIZE_RE.search(word)
    if match is None:
        return word, None
    code = match.group(1) or match.group(2)
    return word[: match.start()] + word[match.end() :], _SIZES[code]
