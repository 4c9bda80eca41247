"""The items of a shopper message: which product words, how many, which one, what size.

This module only houses `find_items`, which splits a message into items ("two sencha and a mug",
"煎茶を2つとマグを1つ") and reads each one: a reference by position, price or pointing ("the
second one", "安い方", "それ"), a quantity ("a dozen", "3つ"), a garment size ("M", "Lサイズ",
"medium"), and what is left once intent words, politeness and particles are removed: the product
phrase, used for matching shown products and as the catalogue search query.

Limits: items split on "and", "plus", commas, "、", "それと" and "と" after a noun or count; one
quantity written with "each"/"ずつ" applies to every item; a phrase keeps words outside the shop
vocabulary, so an odd word ends up in the search query, where the search ignores what it does not
know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agent.offline.language import Quantity, find_quantity, words_of
from agent.offline.products import Reference, has_product_words
from tools.catalog.query import STOP_WORDS

__all__ = ["ItemRequest", "find_items"]

_QUERY_MAX = 100


@dataclass(frozen=True, slots=True)
class ItemRequest:
    """One product the shopper speaks of: its words, and how many, which one, which size."""

    phrase: str = ""
    quantity: int | None = None
    reference: Reference | None = None
    size: str | None = None

    @property
    def query(self) -> str:
        """What to search the catalogue for (the size is kept: the search understands it)."""
        query = f"{self.phrase} {self.size}".strip() if self.size else self.phrase
        # The tool takes at most 200 characters; no product name is anywhere near that long.
        return query[:_QUERY_MAX].strip()

    @property
    def names_something(self) -> bool:
        return bool(self.phrase) or self.reference is not None or self.size is not None



def _rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_SPLIT = _rx(
    r"\s*(?:,|、|;|&|＆|\band\b|\bplus\b|\balso\b|および|及び|それと)\s*"
    r"|(?<=[\u30a0-\u30ff\u3400-\u9fff0-9つ個本袋枚点])と(?!して|か|は)"
)
_SIZE_WORDS = _rx(
    r"(?<![A-Za-z0-9'’.])(XXL|XL|XS|LL|S|M|L)\s*サイズ|サイズ\s*[はがを:：]?\s*(XXL|XL|XS|LL|S|M|L)"
    r"(?![A-Za-z])|\bsize\s*[:=]?\s*(xxl|xl|xs|s|m|l)\b|\b(extra[- ]large|small|medium|large)\b"
)
_SIZE_BARE = re.compile(r"(?<![A-Za-z0-9'’.&-])(XXL|XL|XS|S|M|L)(?![A-Za-z0-9'’])")
_SIZE_NAMES = {"small": "S", "medium": "M", "large": "L", "extra-large": "XL", "extra large": "XL",
               "ll": "XL"}
_ORDINAL_WORDS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
                  "4th": 3, "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6,
                  "eighth": 7, "8th": 7}
_REFERENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (_rx(r"\b(?:the\s+)?(first|second|third|fourth|fifth|sixth|seventh|eighth|1st|2nd|3rd|4th|5th|6th"
         r"|7th|8th)(?:\s+(?:one|item|product|option))?\b"), "ordinal_en"),
    (_rx(r"(?:\bnumber|\bno\.|#)\s*([1-8])\b"), "ordinal_digit"),
    (_rx(r"([1-8一二三四五六七八])\s*(?:つ目|番目|個目)(?:の(?:もの|やつ|商品)?)?"), "ordinal_ja"),
    (_rx(r"最初の?(?:もの|やつ|商品)?|一番上の?(?:もの|やつ|商品)?"), "first"),
    (_rx(r"\b(?:the\s+)?last\s+(?:one|item|product|option)\b|最後の?(?:もの|やつ|商品)?|一番下の?"), "last"),
    (_rx(r"\b(?:the\s+)?(?:cheap(?:er|est)|less\s+expensive|least\s+expensive|lower[- ]priced|most"
         r"\s+affordable|inexpensive)(?:\s+(?:one|option|item))?\b|(?:一番|いちばん)?安い(?:方|ほう|の"
         r"|やつ)?|安価な?(?:方|ほう|の)?|お手頃な?(?:方|ほう|の)?"), "cheapest"),
    (_rx(r"\b(?:the\s+)?(?:more\s+expensive|most\s+expensive|pricier|priciest|expensive\s+one|premium"
         r"\s+one)(?:\s+(?:one|option|item))?\b|(?:一番|いちばん)?高い(?:方|ほう|の|やつ)"), "priciest"),
    (_rx(r"\b(?:the\s+)?(?:regular|normal|ordinary|standard|plain|usual)(?:\s+(?:ones?|kind|version"
         r"|type))?\b|普通の(?:もの|やつ|方|ほう)?|レギュラーの?(?:もの|やつ|方|ほう)?"), "regular"),
    (_rx(r"\b(?:that|this|it|them|those|these|the\s+same)(?:\s+one)?\b|それ|これ|あれ|その(?:商品|もの"
         r"|やつ)?|この(?:商品|もの|やつ)?|あの(?:商品|もの|やつ)?|同じ(?:もの|の|やつ)"), "this"),
)
_KANJI_ORDINAL = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "七": 6, "八": 7}
_JA_NOISE = re.compile(
    r"カートに|かごに|カゴに|バスケットに|を?入れて|いれて|追加(?:して|で|します|したい)?|くださいな?|下さい"
    r"|ちょうだい|頂戴|ほしい(?:です)?|欲しい(?:です)?|買います|買いたい(?:です)?|買う|購入(?:します|したい)?"
    r"|注文(?:します|したい)?|にします|にする|お願いします|おねがいします|お願い|ありますか|あります|ありません"
    r"|ある[?？]?|ないですか|探して(?:います|る|ます)?|さがして|見せて|みせて|見たい|はいくら(?:ですか)?"
    r"|いくら(?:ですか)?|何円|値段|価格|在庫(?:は|って)?|残り|売り切れ|まだ|詳しく|詳細|教えて(?:ください)?"
    r"|について|どんな(?:もの|商品)?|とは|削除(?:して)?|消して|外して|はずして|取り消(?:して|し)?|抜いて"
    r"|いらない(?:です)?|要らない|いりません|不要|やめ(?:る|ます|て|た)|キャンセル(?:して)?|なしで|やっぱり"
    r"|やはり|変更(?:して)?|変えて|減らして|増やして|にして|もう|追加で|とりあえず|じゃあ|では|それと|ですか"
    r"|です|ます|か[?？]|ね|よ|おすすめの?|オススメの?|人気の?|サイズ|数量|個数|だけ|置いて|売って|扱って|何か"
    r"|ずつ|こんにちは|こんばんは|おはよう(?:ございます)?|ありがとう(?:ございます|ございました)?|どうも"
    r"|はじめまして|(?:に|へ)?進(?:みます|みたい|む|めて|めます|んで|みたいです)|確定(?:したい|します|する|して)?"
    r"|よろしく(?:お願いします)?|すみません|すいません|[?？!！。、.,「」]"
)
_JA_PARTICLE_END = re.compile(r"(?:って|[をはがもにでとのへや])+(?=\s|$)")
_EN_PHRASE_STOP = STOP_WORDS | frozenset(words_of(
    "add put throw cart basket remove delete drop out off rid change make set update quantity qty "
    "instead actually just only please want like i'll i'd i'm ill id gimme give get grab buy order "
    "purchase also then now so yeah yes ok okay sure no not don't dont without price cost costs "
    "costing stock available left many details info information tell about describe what's whats "
    "sell carry looking search find show see recommend suggest popular best same again pcs pieces "
    "piece units unit per total take let's lets me us we in is are there can you it that this them "
    "those one ones more another how much size sized any some something anything please hi hello "
    "hey thanks thank cheap cheaper cheapest expensive available availability sold and or "
    "couple dozen few pair each apiece morning afternoon evening night day anymore longer pay paid "
    "paying payment use using via check hmm hm um umm uh er oh ah well lot pack packs packet "
    "packets sorry continue"))
_EACH = _rx(r"ずつ|\beach\b|\bapiece\b")
_PUNCTUATION = ".,!?;:\"'’()[]「」『』、。？！・…~"
_PARTICLES_ONLY = re.compile(r"[をはがもにでとのへや]+")



# "a mug", "an apron": the article is a count of one ("a few", "a dozen" are read as quantities).
_ARTICLE = _rx(r"^\s*(?:(?:and|so|ok|okay|oh|then|also|plus|just|maybe)\s+)*(?:a|an)\s+(?=[a-z])")
# "醤油せんべい 12枚を1個": a count inside the name, then the count wanted after を/の.
_COUNT_THEN_PARTICLE = re.compile(r"^\s*[をの]")


def find_items(t: str) -> tuple[ItemRequest, ...]:
    """The items of an (NFKC-folded) message, in the order written."""
    # With "each"/"ずつ" the one count written is for every item: "a" is then no count of its own.
    each = _EACH.search(t) is not None
    items = [item for segment in _SPLIT.split(t) if segment and (item := _item(segment, not each))]
    items = _joined_counts(items)
    counted = [item.quantity for item in items if item.quantity is not None]
    if each and len(counted) == 1:
        # "煎茶とマグを1つずつ", "a sencha and a mug, two each": the one count is for every item.
        items = [ItemRequest(i.phrase, counted[0], i.reference, i.size) for i in items]
    return tuple(items)


def _joined_counts(items: list[ItemRequest]) -> list[ItemRequest]:
    """ "The regular ones, two packs", "sencha, 3 please": a segment that is only a count belongs
    to the product named next to it (before it, else after it)."""
    joined: list[ItemRequest] = []
    for item in items:
        count_only = item.quantity is not None and not item.names_something
        previous = joined[-1] if joined else None
        if count_only and previous is not None and previous.quantity is None:
            joined[-1] = replace(previous, quantity=item.quantity)
        elif (previous is not None and previous.quantity is not None
              and not previous.names_something and item.quantity is None and item.names_something):
            joined[-1] = replace(item, quantity=previous.quantity)
        else:
            joined.append(item)
    return joined


def _item(segment: str, articles: bool = True) -> ItemRequest | None:
    # References first: "number 3" and "2つ目" are positions, not quantities.
    reference, work = _take_reference(segment)
    quantity = find_quantity(work)
    if quantity is not None and _COUNT_THEN_PARTICLE.match(work[quantity.end:]):
        wanted = find_quantity(work[quantity.end:])
        if wanted is not None:
            # The first count is part of the name ("12枚"); keep it in the phrase for matching.
            offset = quantity.end
            quantity = Quantity(wanted.value, wanted.start + offset, wanted.end + offset)
    article = articles and quantity is None and bool(_ARTICLE.match(work)) and not work.rstrip().endswith("?")
    if quantity is not None:
        work = work[:quantity.start] + " " + work[quantity.end:]
    size, work = _take_size(work)
    phrase = _clean_phrase(work)
    if phrase and not has_product_words(phrase):
        phrase = ""
    if article and phrase:
        quantity = Quantity(1, 0, 0)  # "a logo mug please", "and a notebook": one
    if not phrase and reference is None and quantity is None and size is None:
        return None
    return ItemRequest(phrase, quantity.value if quantity else None, reference, size)


def _take_reference(text: str) -> tuple[Reference | None, str]:
    for pattern, kind in _REFERENCES:
        match = pattern.search(text)
        if match is None:
            continue
        rest = text[:match.start()] + " " + text[match.end():]
        if kind == "ordinal_en":
            return Reference("ordinal", _ORDINAL_WORDS[match.group(1).lower()]), rest
        if kind == "ordinal_digit":
            return Reference("ordinal", int(match.group(1)) - 1), rest
        if kind == "ordinal_ja":
            digit = match.group(1)
            index = int(digit) - 1 if digit.isdigit() else _KANJI_ORDINAL[digit]
            return Reference("ordinal", index), rest
        if kind == "first":
            return Reference("ordinal", 0), rest
        if kind in ("last", "cheapest", "priciest", "this", "regular"):
            return Reference(kind), rest  # type: ignore[arg-type]
    return None, text


def _take_size(text: str) -> tuple[str | None, str]:
    match = _SIZE_WORDS.search(text) or _SIZE_BARE.search(text)
    if match is None:
        return None, text
    raw = next(group for group in match.groups() if group)
    size = _SIZE_NAMES.get(raw.lower().replace("-", " "), raw.upper())
    size = _SIZE_NAMES.get(size.lower(), size)
    return size, text[:match.start()] + " " + text[match.end():]


def _clean_phrase(text: str) -> str:
    """The product words of a segment: intent words, fillers and particles removed, order kept."""
    text = _JA_NOISE.sub(" ", text)
    text = _JA_PARTICLE_END.sub(" ", text)
    kept = []
    for raw in text.split():
        token = raw.strip(_PUNCTUATION)
        bare = token.lower()
        if not any(ch.isalnum() for ch in token) or bare in _EN_PHRASE_STOP:
            continue
        if bare.isdigit() or _PARTICLES_ONLY.fullmatch(token):
            continue
        kept.append(token)
    return " ".join(kept)
