"""Resolving what product a shopper means, among the products the conversation has on the table.

This module only houses product references: a small bilingual vocabulary of shop words (what a
language model knows about "sencha", "緑茶" and "マグ" being the same things in either language),
matching a phrase against candidate products (the state's `recent_products`, the cart lines, and
search results of the current turn), and references by position or price ("the first one", "the
cheaper one", "安い方", "それ").

It never reads the catalogue or the database: a product it has not been shown is found by asking
the `search_products` tool, exactly as a real model would.

Limits of the rules: the vocabulary covers everyday words for tea, coffee, snacks, tableware,
kitchen tools, stationery and clothes; an unknown word still matches when it appears in a product's
name (so "porcelain" finds "Hasami porcelain mug"), but misspellings do not. Colours and materials only
match through the name. "That one" means the product the assistant last named on its own, or the
only product shown; after a list of several it is asked back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from agent.offline.language import fold_for_matching, words_of

__all__ = [
    "Candidate",
    "Reference",
    "best_matches",
    "concepts_in",
    "has_product_words",
    "is_generic",
    "only_shop_words",
    "resolve_reference",
]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A product the conversation can refer to; `stock` is None when it is unknown (a cart line)."""

    sku: str
    name: str
    price: int
    stock: int | None = None
    category: str = ""
    size: str = ""
    in_cart: int = 0


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference by position or price: "the second one" is `Reference("ordinal", 1)`."""

    kind: Literal["ordinal", "last", "cheapest", "priciest", "this", "regular"]
    index: int = 0


@dataclass(frozen=True, slots=True)
class _Concept:
    key: str
    surfaces: tuple[str, ...]
    implies: tuple[str, ...] = ()
    home: str = ""  # the category where this word means the product itself (matcha → tea)
    generic: bool = field(default=False)  # a whole category word ("tea", "mug"), not one product


def _c(key: str, surfaces: str, implies: str = "", home: str = "", generic: bool = False
       ) -> _Concept:
    return _Concept(key, tuple(surfaces.split("|")), tuple(implies.split()) if implies else (),
                    home, generic)


# Words are matched after folding (width, case, katakana → hiragana), longest first, so "green tea"
# is one concept and not "green" + "tea". `implies` lets "緑茶" find "煎茶 100g" and "sencha" find
# "Sencha green tea" whatever language the names are in.
_VOCABULARY: tuple[_Concept, ...] = (
    _c("tea", "tea|teas|お茶|おちゃ|茶|日本茶|tea bags|ティーバッグ", home="tea", generic=True),
    _c("green_tea", "green tea|緑茶|りょくちゃ", "tea", "tea", generic=True),
    _c("black_tea", "black tea|紅茶|こうちゃ|english tea", "tea", "tea", generic=True),
    _c("sencha", "sencha|煎茶|せんちゃ", "green_tea tea", "tea"),
    _c("gyokuro", "gyokuro|玉露|ぎょくろ", "green_tea tea", "tea"),
    _c("genmaicha", "genmaicha|玄米茶|げんまいちゃ|rice tea|brown rice tea", "green_tea tea", "tea"),
    _c("hojicha", "hojicha|houjicha|hoji cha|ほうじ茶|焙じ茶|ほうじちゃ|roasted tea|roasted green tea",
       "tea", "tea"),
    _c("matcha", "matcha|抹茶|まっちゃ|powdered tea|粉末茶", "green_tea", "tea"),
    _c("mugicha", "mugicha|麦茶|むぎちゃ|barley tea|barley", "tea", "tea"),
    _c("earl_grey", "earl grey|earlgrey|アールグレイ|bergamot", "black_tea tea", "tea"),
    _c("wakocha", "wakocha|和紅茶|japanese black tea", "black_tea tea", "tea"),
    _c("coffee", "coffee|coffees|コーヒー|珈琲|こーひー", home="coffee", generic=True),
    _c("drip_bag", "drip bag|drip bags|drip coffee|ドリップコーヒー|ドリップバッグ", "coffee", "coffee"),
    _c("beans", "beans|bean|coffee beans|whole bean|コーヒー豆|豆", "coffee", "coffee"),
    _c("brazil", "brazil|brazilian|ブラジル", "coffee", "coffee"),
    _c("ethiopia", "ethiopia|ethiopian|yirgacheffe|エチオピア|イルガチェフェ", "coffee", "coffee"),
    _c("ground", "ground coffee|ground|コーヒー粉|粉|挽き", "coffee", "coffee"),
    _c("decaf", "decaf|decaffeinated|caffeine free|caffeine-free|デカフェ|カフェインレス|ノンカフェイン",
       home="coffee"),
    _c("canned", "canned|缶|缶コーヒー", home="coffee"),
    _c("instant", "instant|インスタント", "coffee", "coffee"),
    _c("snack", "snack|snacks|sweets|お菓子|菓子|おやつ|スナック|treats", home="snacks", generic=True),
    _c("senbei", "senbei|rice cracker|rice crackers|せんべい|煎餅", "snack", "snacks"),
    _c("wafer", "wafer|wafers|ウエハース|ウェハース", "snack", "snacks"),
    _c("chocolate", "chocolate|choco|チョコ|チョコレート", "snack", "snacks"),
    _c("yokan", "yokan|羊羹|ようかん|red bean jelly", "snack wagashi", "snacks"),
    _c("dorayaki", "dorayaki|どら焼き|どらやき|ドラ焼き", "snack wagashi", "snacks"),
    _c("wagashi", "wagashi|和菓子|わがし|japanese sweets", "snack", "snacks", generic=True),
    _c("kakinotane", "kaki no tane|kakinotane|柿の種|かきのたね|peanuts", "snack", "snacks"),
    _c("konpeito", "konpeito|金平糖|こんぺいとう|sugar candy|candy", "snack", "snacks"),
    _c("castella", "castella|カステラ|sponge cake|cake|ケーキ", "snack", "snacks"),
    _c("nori", "nori|seaweed|のり天|海苔|のり", "snack", "snacks"),
    _c("mug", "mug|mugs|マグ|マグカップ|まぐ", "cup", "mugs", generic=True),
    _c("cup", "cup|cups|カップ", home="mugs", generic=True),
    _c("yunomi", "yunomi|teacup|tea cup|湯呑み|湯呑|湯のみ|ゆのみ", "cup", "mugs"),
    _c("hasami", "hasami|波佐見|波佐見焼", home="mugs"),
    _c("mino", "mino|美濃|美濃焼", home="mugs"),
    _c("enamel", "enamel|camping|ホーロー|琺瑯|アウトドア|キャンプ", home="mugs"),
    _c("glass", "glass|double-wall|double wall|グラス|ガラス|耐熱", home="mugs"),
    _c("logo", "logo|ロゴ", ""),
    _c("teapot", "teapot|tea pot|kyusu|急須|きゅうす|ティーポット", "", "kitchenware"),
    _c("whisk", "whisk|chasen|茶筅|茶せん|ちゃせん|matcha whisk", "", "kitchenware"),
    _c("dripper", "dripper|pour over|pour-over|ドリッパー", "", "kitchenware"),
    _c("filter", "filter|filters|paper filter|フィルター|ペーパーフィルター", "", "kitchenware"),
    _c("kettle", "kettle|ケトル|やかん|薬缶", "", "kitchenware"),
    _c("chopsticks", "chopsticks|chopstick|箸|お箸|夫婦箸", "", "kitchenware"),
    _c("bento", "bento|bento box|lunch box|lunchbox|弁当箱|お弁当箱|弁当|べんとう|曲げわっぱ",
       "", "kitchenware"),
    _c("pen", "pen|pens|ペン", "", "stationery", generic=True),
    _c("ballpoint", "ballpoint|ball pen|ballpoint pen|ボールペン", "pen", "stationery"),
    _c("fountain_pen", "fountain pen|fountain|万年筆|まんねんひつ", "pen", "stationery"),
    _c("brush_pen", "brush pen|筆ペン|ふでぺん|calligraphy", "pen", "stationery"),
    _c("notebook", "notebook|note book|journal|ノート|手帳", "", "stationery"),
    _c("washi_tape", "washi tape|masking tape|tape|マスキングテープ|マステ|和紙テープ", "",
       "stationery"),
    _c("postcard", "postcard|postcards|post card|ポストカード|はがき|葉書|絵はがき|ukiyo-e|ukiyoe|浮世絵",
       "", "stationery"),
    _c("eraser", "eraser|rubber|消しゴム|けしごむ", "", "stationery"),
    _c("tshirt", "t-shirt|t-shirts|tshirt|tee|tees|t shirt|shirt|shirts|tシャツ|ティーシャツ|シャツ",
       "", "apparel"),
    _c("socks", "socks|sock|tabi|ソックス|靴下|くつした|足袋", "", "apparel"),
    _c("apron", "apron|エプロン|前掛け", "", "apparel"),
    _c("tenugui", "tenugui|towel|hand towel|手ぬぐい|手拭い|てぬぐい|タオル", "", "apparel"),
    _c("stationery", "stationery|文房具|文具", home="stationery", generic=True),
    _c("kitchenware", "kitchenware|kitchen|キッチン用品|台所用品|キッチン", home="kitchenware",
       generic=True),
    _c("apparel", "apparel|clothes|clothing|服|衣類", home="apparel", generic=True),
)
_BY_KEY = {concept.key: concept for concept in _VOCABULARY}
# Kinds that set a product apart from the regular one ("the regular ones" are not these).
_SPECIAL_KINDS = frozenset({"decaf", "instant", "canned"})
# The category names the shop uses (`recent_products[].category`), as concepts.
_CATEGORY_CONCEPTS = {"tea": "tea", "coffee": "coffee", "snacks": "snack", "mugs": "mug",
                      "kitchenware": "kitchenware", "stationery": "stationery",
                      "apparel": "apparel"}


def _surface_table() -> tuple[dict[str, str], re.Pattern[str]]:
    """Folded surface → concept key, and one alternation of all surfaces, longest first."""
    keys: dict[str, str] = {}
    for concept in _VOCABULARY:
        for surface in concept.surfaces:
            keys.setdefault(fold_for_matching(surface), concept.key)
    parts = []
    for surface in sorted(keys, key=len, reverse=True):
        escaped = re.escape(surface)
        # Latin words need word boundaries ("tea" is not in "steak"); Japanese has no spaces.
        parts.append(rf"(?<![a-z0-9]){escaped}(?![a-z])" if surface.isascii() else escaped)
    return keys, re.compile("|".join(parts))


_SURFACE_KEYS, _SURFACES = _surface_table()
_LATIN_TOKEN = re.compile(r"[a-z][a-z'-]{2,}")
_NUMBERED_TOKEN = re.compile(r"[^\s]*\d[^\s]*")
_KANJI_KATAKANA_RUN = re.compile(r"[\u30a0-\u30ff\u3400-\u9fff\u3005\uff66-\uff9f]+")
# Words that say nothing about which product is meant.
_IGNORED_TOKENS = frozenset(words_of(
    "the and for with one ones that this those these them some any something anything please "
    "want like need have take give get add put buy order cart basket size item items product "
    "products thing things kind sort type more another other else also just only too very really "
    "good nice new cheap cheaper cheapest expensive first second third last how much many what "
    "which does sell carry stock available left there here you your our its it's"))


def _expand(keys: Iterable[str]) -> frozenset[str]:
    result: set[str] = set()
    pending = list(keys)
    while pending:
        key = pending.pop()
        if key in result:
            continue
        result.add(key)
        pending.extend(_BY_KEY[key].implies if key in _BY_KEY else ())
    return frozenset(result)


def concepts_in(text: str) -> frozenset[str]:
    """The vocabulary concepts named in a text (without what they imply)."""
    return frozenset(_SURFACE_KEYS[m.group()] for m in _SURFACES.finditer(fold_for_matching(text)))


def _unknown_tokens(phrase: str) -> tuple[list[str], list[str]]:
    """Content words outside the vocabulary: (Latin words of 3+ letters, Japanese words).

    Japanese words are runs of kanji or katakana (product names are written with them); a run of
    hiragana is grammar left over from the sentence ("したい", "ございました"), so it is skipped.
    """
    folded = fold_for_matching(phrase)
    rest = _SURFACES.sub(" ", folded)
    latin = [t for t in _LATIN_TOKEN.findall(rest) if t not in _IGNORED_TOKENS]
    japanese: list[str] = []
    for run in _KANJI_KATAKANA_RUN.findall(phrase):
        leftover = _SURFACES.sub(" ", fold_for_matching(run))
        japanese.extend(word for word in leftover.split() if len(word) >= 2)
    return latin, japanese


def only_shop_words(phrase: str) -> bool:
    """Whether a phrase is made of vocabulary words alone ("美濃焼の湯呑み", not "continue English
    bag Brazil coffee beans"), so it can stand for a product's name in a reply."""
    latin, japanese = _unknown_tokens(phrase)
    return bool(_SURFACES.search(fold_for_matching(phrase))) and not latin and not japanese


def has_product_words(phrase: str) -> bool:
    """Whether a cleaned phrase names something (a known concept or an unknown content word)."""
    latin, japanese = _unknown_tokens(phrase)
    return bool(_SURFACES.search(fold_for_matching(phrase)) or latin or japanese)


@lru_cache(maxsize=1024)
def _product_concepts(candidate: Candidate) -> frozenset[str]:
    keys = set(concepts_in(candidate.name))
    category = _CATEGORY_CONCEPTS.get(candidate.category)
    if category:
        keys.add(category)
    return _expand(keys)


def _score(wanted: frozenset[str], unknown: Sequence[str], candidate: Candidate) -> float:
    """How well a candidate fits a phrase: 1.0 and above is a match, 0 is none.

    Every vocabulary concept of the phrase must be the product's; words outside the vocabulary
    ("porcelain", "blue") only add when the name has them, so an unknown adjective narrows a choice
    but never hides the product. Without any known concept, an unknown word must be in the name.
    """
    have = _product_concepts(candidate)
    if any(key not in have for key in wanted):
        return 0.0
    folded_name = fold_for_matching(candidate.name)
    token_hits = sum(1 for token in unknown if token in folded_name)
    if not wanted and token_hits == 0:
        return 0.0
    score = 1.0 + 0.1 * token_hits
    # Named by the product's own name (or implied by it), not only by its category.
    named = _expand(concepts_in(candidate.name))
    # Among matches prefer the product the words are most about: "matcha" is the tea before the
    # matcha wafers, "mug" a mug before a teacup.
    for key in wanted:
        concept = _BY_KEY.get(key)
        if concept is not None and concept.home and concept.home == candidate.category:
            score += 0.05
        if key in named:
            score += 0.02
    return score


def best_matches(phrase: str, candidates: Sequence[Candidate], *, size: str | None = None
                 ) -> list[Candidate]:
    """The candidates that fit the phrase best (ties kept, in the given order); [] if none fits.

    Only full matches count (every concept of the phrase is in the product); a size, when given,
    must be the product's size if it has one.
    """
    wanted = frozenset(concepts_in(phrase))
    latin, japanese = _unknown_tokens(phrase)
    pool = [c for c in candidates if size is None or not c.size or c.size == size]
    if not wanted and not latin and not japanese:
        # Only a size was said ("M", "Lサイズ"): the products of that size, if any.
        return [c for c in candidates if size is not None and c.size == size]
    # A pack size or weight written with the name ("x10", "12枚", "100g") picks that product.
    numbered = _NUMBERED_TOKEN.findall(fold_for_matching(phrase))
    scored = [(round(_score(wanted, [*latin, *japanese, *numbered], c), 4), c) for c in pool]
    full = [(s, c) for s, c in scored if s >= 1.0]
    if not full:
        return []
    top = max(s for s, _ in full)
    return unique_by_sku([c for s, c in full if s == top])


def unique_by_sku(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates in order, each product once."""
    seen: set[str] = set()
    kept = []
    for candidate in candidates:
        if candidate.sku not in seen:
            seen.add(candidate.sku)
            kept.append(candidate)
    return kept


def is_generic(phrase: str) -> bool:
    """Whether the phrase names only a whole kind of product ("tea", "a mug"), not one product."""
    found = concepts_in(phrase)
    latin, _ = _unknown_tokens(phrase)
    return bool(found) and all(_BY_KEY[key].generic for key in found) and not latin


def resolve_reference(reference: Reference, shown: Sequence[Candidate],
                      focus: Candidate | None) -> Candidate | None:
    """The product a positional, price or demonstrative reference points at, or None."""
    if reference.kind == "this":
        # "That one" after a list of several, with none singled out, is a question to ask back.
        return focus or (shown[0] if len(shown) == 1 else None)
    if not shown:
        return None
    if reference.kind == "ordinal":
        return shown[reference.index] if reference.index < len(shown) else None
    if reference.kind == "last":
        return shown[-1]
    if reference.kind == "regular":
        return _regular_one(shown)
    if reference.kind == "cheapest":
        return min(shown, key=lambda c: c.price)
    return max(shown, key=lambda c: c.price)


def _regular_one(shown: Sequence[Candidate]) -> Candidate | None:
    """ "The regular ones": the shown product that a special kind (decaf, instant) is a variant of
    ("Drip coffee bags" beside "Decaf drip coffee bags"); with no special kind shown, the only
    product shown; None (ask back) when that does not single one out."""
    kinds = [(c, _expand(concepts_in(c.name))) for c in shown]
    special = [have - _SPECIAL_KINDS for _, have in kinds if have & _SPECIAL_KINDS]
    plain = [(c, have) for c, have in kinds if not have & _SPECIAL_KINDS]
    counterparts = [c for c, have in plain if have and any(have <= other for other in special)]
    if len(counterparts) == 1:
        return counterparts[0]
    return plain[0][0] if len(plain) == 1 and not special else None
