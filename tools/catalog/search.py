"""Finding products from a shopper's words, in English or Japanese.

This module only houses the search index (`SearchIndex`, `SearchHit`), the read-only product copies
the database-backed index holds (`ProductSnapshot`), and the process-wide cached index behind
`search_products` (rebuilt when the catalogue changes; `invalidate_search_index` forces it).

How a product scores against one query term (0-100), best first:
  100  the whole name, or the sku           "hasami porcelain mug", "mug-hasami"
   95  a whole word of the name             "mug", "煎茶"
   90  a tag or the category (or synonym)   "green tea", "緑茶", "stationery", "文房具"
   80  a word of a multi-word tag           "green" (of "green tea")
60-80  part of a name word or tag           "porcel", "ほうじ", a Japanese word inside a phrase
56-70  a typo of a name word or tag         "sencah", "cofee" (rapidfuzz ratio x 0.7)
   45  a word of the description            "bergamot"
A term matching several kinds of field (name and tags and category) gains 2 per extra kind. A
product's score is the mean over the query's informative terms (terms that match some product);
terms that match nothing are dropped, so "cheap green tea" still finds green tea, and a query of
only unknown words ("zzqx", "ignore previous instructions") finds nothing. A size named in the
query ("M", "Lサイズ") pushes the other sizes of a sized product down. Ties go to in-stock
products, then to the catalogue's own order (the merchant lists the flagship first).

Everything that depends only on the catalogue is computed once when the index is built; a search
is a few dict lookups and substring scans over a vocabulary of a few thousand short strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.catalog.query import STOP_WORDS, ParsedQuery, parse_query
from tools.catalog.text import has_cjk, normalize, words
from tools.store.models import Product

__all__ = [
    "CATEGORY_SYNONYMS",
    "MIN_SCORE",
    "ProductSnapshot",
    "SearchHit",
    "SearchIndex",
    "SearchableProduct",
    "invalidate_search_index",
    "normalize",
    "search_products",
]

# (score, field group) of each kind of exact match; the group decides the multi-field bonus.
_NAME = (100.0, 0)
_NAME_WORD = (95.0, 0)
_TAG = (90.0, 1)
_TAG_WORD = (80.0, 1)
_CATEGORY = (90.0, 2)
_DESCRIPTION = (45.0, 3)
_Kind = tuple[float, int]
# Field groups that count towards the multi-field bonus: name, tags, category. Not descriptions,
# whose wording would otherwise decide the order among equally good products.
_BONUS_GROUPS = 0b0111

FIELD_BONUS = 2.0
PARTIAL_MIN, PARTIAL_SPAN = 60.0, 20.0
# Reverse containment (a catalogue word inside a longer Japanese query word) keeps this share of the
# word's score, plus the rest in proportion to how much of the query word it explains.
COVER_BASE, COVER_SPAN = 0.55, 0.45
FUZZY_CUTOFF = 80.0  # rapidfuzz ratio; 80 lets one typo through in a 6-letter word, not a new word
FUZZY_WEIGHT = 0.7
# Fuzzy matching is only tried for a term whose best literal match is weaker than this (a typo).
FUZZY_WHEN_BELOW = 75.0
SIZE_MISMATCH_PENALTY = 20.0
MIN_SCORE = 40.0
SIZE_ONLY_SCORE = 50.0
_TERM_CACHE_SIZE = 4096
_KANJI_RE = re.compile(r"[\u3400-\u9fff\u3005]")

# The store's fixed category taxonomy, with the words shoppers use for each. Product-specific
# synonyms belong in the product's tags, not here.
CATEGORY_SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "coffee": ("coffee", "コーヒー", "珈琲"),
        "tea": ("tea", "teas", "お茶", "おちゃ", "茶", "日本茶"),
        "snacks": ("snacks", "snack", "sweets", "お菓子", "菓子", "おやつ", "スナック"),
        "mugs": ("mugs", "mug", "cups", "cup", "マグ", "マグカップ", "カップ", "食器"),
        "kitchenware": (
            "kitchenware",
            "kitchen",
            "キッチン用品",
            "台所用品",
            "調理器具",
            "キッチン",
        ),
        "stationery": ("stationery", "文房具", "文具", "ステーショナリー"),
        "apparel": ("apparel", "clothes", "clothing", "wear", "服", "衣類", "衣料品", "アパレル"),
    }
)


class SearchableProduct(Protocol):
    """What the index needs of a product: an ORM row, a `CatalogEntry` or a `ProductSnapshot`."""

    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def name_ja(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def description_ja(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def category(self) -> str: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...
    @property
    def price(self) -> int: ...
    @property
    def stock(self) -> int: ...
    @property
    def active(self) -> bool: ...


P = TypeVar("P", bound=SearchableProduct)


@dataclass(frozen=True, slots=True)
class SearchHit(Generic[P]):
    """A product found by a query; `score` is 0-100 (see the module docstring for the scale)."""

    sku: str
    score: float
    product: P


@dataclass(frozen=True, slots=True)
class ProductSnapshot:
    """A read-only copy of a product row, taken when the cached index was built.

    The cached index outlives the session that read it, so it must not hold ORM rows (they would be
    detached and stale). To change a product, load the row by `id` in your own session.
    """

    id: int
    sku: str
    name: str
    name_ja: str
    description: str
    description_ja: str
    tags: tuple[str, ...]
    category: str
    attributes: Mapping[str, Any]
    price: int
    tax_rate: int
    stock: int
    active: bool

    @classmethod
    def from_row(cls, product: Product) -> ProductSnapshot:
        return cls(
            id=product.id,
            sku=product.sku,
            name=product.name,
            name_ja=product.name_ja,
            description=product.description or "",
            description_ja=product.description_ja or "",
            tags=tuple(str(tag) for tag in product.tags or ()),
            category=product.category or "",
            attributes=MappingProxyType(dict(product.attributes or {})),
            price=product.price,
            tax_rate=product.tax_rate,
            stock=product.stock,
            active=product.active,
        )


def _word_forms(word: str) -> list[str]:
    """`word` and the forms a shopper may type for it: "t-shirt" -> tshirt, shirt; "cups" -> cup."""
    forms = [word]
    if "-" in word or "'" in word:
        forms.append(word.replace("-", "").replace("'", ""))
        forms.extend(part for part in word.replace("'", "-").split("-") if part)
    if word.isascii() and word.isalpha() and len(word) > 3 and word.endswith("s"):
        if not word.endswith("ss"):
            forms.append(word[:-1])
        if word.endswith("ies"):
            forms.append(word[:-3] + "y")
        elif word.endswith(("ches", "shes", "xes", "sses")):
            forms.append(word[:-2])
    return forms


def _product_keys(product: SearchableProduct) -> Iterable[tuple[str, _Kind]]:
    """Every normalised string under which `product` can be found, with the kind of match."""
    for name in (product.name, product.name_ja):
        folded = normalize(name)
        yield folded, _NAME
        yield folded.replace(" ", ""), _NAME
        name_words = words(folded)
        for word in name_words:
            for form in _word_forms(word):
                yield form, _NAME_WORD
        # Adjacent words typed together ("greentea") or split oddly ("hoji cha") must still meet.
        for first, second in pairwise(name_words):
            # Not with one-letter words: "logo t-shirt s" must not make "t-shirts" the S size.
            if len(first) > 1 and len(second) > 1:
                yield first + second, _NAME_WORD
    for tag in product.tags:
        folded = normalize(tag)
        yield folded, _TAG
        yield folded.replace(" ", ""), _TAG
        tag_words = words(folded)
        for word in tag_words:
            forms = _word_forms(word)
            if len(tag_words) == 1:
                yield from ((form, _TAG) for form in forms[1:])
            else:
                yield from ((form, _TAG_WORD) for form in forms)
    if product.category:
        synonyms = CATEGORY_SYNONYMS.get(product.category, ())
        for synonym in (product.category, *synonyms):
            yield normalize(synonym), _CATEGORY
    for text in (product.description, product.description_ja):
        for word in words(normalize(text)):
            # Japanese descriptions are long unspaced runs: they are searched by substring instead.
            if len(word) > 1 and word not in STOP_WORDS and not has_cjk(word):
                for form in _word_forms(word):
                    yield form, _DESCRIPTION


class SearchIndex(Generic[P]):
    """An immutable search index over the active products it was built from."""

    def __init__(self, products: Iterable[P]) -> None:
        self._products: list[P] = [product for product in products if product.active]
        self._in_stock: list[bool] = [product.stock > 0 for product in self._products]
        self._sizes: list[str | None] = [
            str(product.attributes["size"]).upper() if "size" in product.attributes else None
            for product in self._products
        ]
        # key -> {product position: (best score, bit set of field groups)}
        self._postings: dict[str, dict[int, tuple[float, int]]] = {}
        for position, product in enumerate(self._products):
            for key, (score, group) in _product_keys(product):
                if not key:
                    continue
                by_product = self._postings.setdefault(key, {})
                best, groups = by_product.get(position, (0.0, 0))
                by_product[position] = (max(best, score), groups | (1 << group))

        # Keys of names, tags and categories (not descriptions): the vocabulary for partial and
        # fuzzy matching, split by script so an English term never scans Japanese keys.
        match_keys = [
            key
            for key, by_product in self._postings.items()
            if any(groups & _BONUS_GROUPS for _, groups in by_product.values())
        ]
        self._match_keys = frozenset(match_keys)
        self._ascii_keys: list[str] = [key for key in match_keys if not has_cjk(key)]
        self._cjk_keys: list[str] = [key for key in match_keys if has_cjk(key)]
        self._fuzzy_ascii_keys = [key for key in self._ascii_keys if len(key) >= 3]
        self._fuzzy_cjk_keys = [key for key in self._cjk_keys if len(key) >= 3]
        self._match_postings: dict[str, dict[int, tuple[float, int]]] = {
            key: {
                position: (score, groups & _BONUS_GROUPS)
                for position, (score, groups) in self._postings[key].items()
                if groups & _BONUS_GROUPS
            }
            for key in match_keys
        }
        self._ja_descriptions: list[tuple[int, str]] = [
            (position, normalize(f"{product.description_ja} {product.description}"))
            for position, product in enumerate(self._products)
        ]
        # A sku is found only whole ("tea-sencha"): its parts ("tea") would match every tea.
        self._sku_positions: dict[str, int] = {
            normalize(product.sku): position for position, product in enumerate(self._products)
        }
        self._term_cache: dict[str, dict[int, float]] = {}

    def __len__(self) -> int:
        return len(self._products)

    def search(self, query: str, *, limit: int = 5) -> list[SearchHit[P]]:
        """The best `limit` products for `query`, best first; [] when nothing matches."""
        return self.search_parsed(parse_query(query), limit=limit)

    def search_parsed(self, parsed: ParsedQuery, *, limit: int = 5) -> list[SearchHit[P]]:
        """As `search`, for a query already parsed with `parse_query`."""
        if limit <= 0:
            return []
        informative = [
            scores for scores in map(self._term_scores, self._join_terms(parsed)) if scores
        ]
        totals: dict[int, float] = {}
        if informative:
            for scores in informative:
                for position, score in scores.items():
                    totals[position] = totals.get(position, 0.0) + score
            totals = {position: total / len(informative) for position, total in totals.items()}
        elif parsed.size is not None:
            # Only a size was said ("M"): offer what comes in that size.
            totals = {
                position: SIZE_ONLY_SCORE
                for position, size in enumerate(self._sizes)
                if size == parsed.size
            }
        if parsed.size is not None:
            for position in totals:
                size = self._sizes[position]
                if size is not None and size != parsed.size:
                    totals[position] -= SIZE_MISMATCH_PENALTY

        ranked = sorted(
            (position for position, total in totals.items() if total >= MIN_SCORE),
            key=lambda position: (
                -round(totals[position], 6),
                not self._in_stock[position],
                position,
            ),
        )
        return [
            SearchHit(
                sku=self._products[position].sku,
                score=round(min(totals[position], 100.0), 1),
                product=self._products[position],
            )
            for position in ranked[:limit]
        ]

    def _join_terms(self, parsed: ParsedQuery) -> list[str]:
        """Merge adjacent terms that the catalogue knows as one word ("hoji cha", "柿の種")."""
        terms = parsed.terms
        joined: list[str] = []
        index = 0
        while index < len(terms):
            if index + 1 < len(terms):
                glue = parsed.glues[index].strip()
                candidate = terms[index] + glue + terms[index + 1]
                if candidate in self._match_keys:
                    joined.append(candidate)
                    index += 2
                    continue
            term = terms[index]
            # A lone Latin letter or kana left over ("t" of "t shirt") says nothing; a kanji does.
            if len(term) > 1 or _KANJI_RE.fullmatch(term):
                joined.append(term)
            index += 1
        return joined

    def _term_scores(self, term: str) -> dict[int, float]:
        """{product position: score} for one term; cached, since shoppers repeat words."""
        cached = self._term_cache.get(term)
        if cached is not None:
            return cached
        scores = self._compute_term_scores(term)
        if len(self._term_cache) >= _TERM_CACHE_SIZE:
            self._term_cache.clear()
        self._term_cache[term] = scores
        return scores

    def _compute_term_scores(self, term: str) -> dict[int, float]:
        best: dict[int, float] = {}
        # Which of name / tags / category matched the term outright, for the multi-field bonus.
        fields: dict[int, int] = {}

        def offer(position: int, score: float, groups: int = 0) -> None:
            if score > best.get(position, 0.0):
                best[position] = score
            if groups:
                fields[position] = fields.get(position, 0) | groups

        forms = [term]
        if term.isascii() and term.endswith("s") and len(term) > 3:
            forms.append(term[:-1])  # "mugs" -> "mug"; the index holds singulars of its plurals
        for form in forms:
            for position, (score, groups) in self._postings.get(form, {}).items():
                offer(position, score, groups & _BONUS_GROUPS)
        sku_position = self._sku_positions.get(term)
        if sku_position is not None:
            offer(sku_position, _NAME[0])

        cjk = has_cjk(term)
        # Digits alone ("2", "100") are quantities far more often than product words; a lone
        # kanji inside longer words is noise ("日" of "父の日" is not 日本茶).
        if not term.isdigit() and len(term) >= (2 if cjk else 3):
            for key in self._cjk_keys if cjk else self._ascii_keys:
                if term not in key or term == key:
                    continue
                # Japanese compounds end with their head noun, so a term ending a Japanese word
                # is that word's kind of match: "マグカップ" ends "波佐見焼マグカップ" (a mug),
                # while "コーヒードリッパー" merely starts with "コーヒー" (not coffee).
                head_noun = cjk and len(term) >= 2 and key.endswith(term)
                partial = PARTIAL_MIN + PARTIAL_SPAN * len(term) / len(key)
                for position, (score, groups) in self._match_postings[key].items():
                    if head_noun:
                        offer(position, min(score, _NAME_WORD[0]), groups)
                    else:
                        offer(position, partial)
        if cjk:
            for position, score in self._contained_word_scores(term).items():
                offer(position, score)
            if len(term) >= 2:
                for position, description in self._ja_descriptions:
                    if term in description:
                        offer(position, _DESCRIPTION[0])

        if max(best.values(), default=0.0) < FUZZY_WHEN_BELOW and not term.isdigit():
            keys = self._fuzzy_cjk_keys if cjk else self._fuzzy_ascii_keys
            if len(term) >= (3 if cjk else 4):
                for key, ratio, _ in process.extract(
                    term, keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=8
                ):
                    for position in self._match_postings[key]:
                        offer(position, FUZZY_WEIGHT * ratio)

        return {
            position: min(
                100.0, score + FIELD_BONUS * max(0, fields.get(position, 0).bit_count() - 1)
            )
            for position, score in best.items()
        }

    def _contained_word_scores(self, term: str) -> dict[int, float]:
        """Products whose words appear inside a longer Japanese query word ("安い緑茶")."""
        covered: dict[int, tuple[float, set[int]]] = {}
        # Unspaced Japanese queries are short, so looking up each substring beats scanning keys.
        for start in range(len(term)):
            for end in range(start + 2, len(term) + (0 if start == 0 else 1)):
                by_product = self._match_postings.get(term[start:end])
                if by_product is None:
                    continue
                for position, (score, _) in by_product.items():
                    top, chars = covered.get(position, (0.0, set()))
                    chars.update(range(start, end))
                    covered[position] = (max(top, score), chars)
        return {
            position: top * (COVER_BASE + COVER_SPAN * len(chars) / len(term))
            for position, (top, chars) in covered.items()
        }


# ------------------------------------------------------------------ the database-backed index


@dataclass(frozen=True, slots=True)
class _CachedIndex:
    database: str
    fingerprint: tuple[int, datetime | None]
    index: SearchIndex[ProductSnapshot]


class _IndexCache:
    """Holds the one process-wide index; a plain object so tests and loaders can reset it."""

    def __init__(self) -> None:
        self.entry: _CachedIndex | None = None


_cache = _IndexCache()


def invalidate_search_index() -> None:
    """Forget the cached index; the next `search_products` rebuilds it."""
    _cache.entry = None


async def search_products(
    session: AsyncSession, query: str, *, limit: int = 5
) -> list[SearchHit[ProductSnapshot]]:
    """Search the active products of the session's database (index cached between calls)."""
    parsed = parse_query(query)
    if not parsed.terms and parsed.size is None:
        return []
    index = await _current_index(session)
    hits = index.search_parsed(parsed, limit=limit)
    if not hits:
        return hits
    # Orders move stock without touching updated_at (so the index is not rebuilt after every
    # sale: tools.checkout.orders): the hits' stock is read now, by primary key.
    rows = await session.execute(
        select(Product.id, Product.stock).where(Product.id.in_([h.product.id for h in hits])))
    fresh: dict[int, int] = {product_id: stock for product_id, stock in rows}
    return [hit if fresh.get(hit.product.id, hit.product.stock) == hit.product.stock
            else SearchHit(hit.sku, hit.score, replace(hit.product, stock=fresh[hit.product.id]))
            for hit in hits]


async def _current_index(session: AsyncSession) -> SearchIndex[ProductSnapshot]:
    # The fingerprint (row count, last catalogue edit) is one cheap aggregate query. It also
    # notices changes made by other processes sharing the database, which an in-process
    # invalidation cannot. Stock taken or returned by orders keeps updated_at (see
    # tools.checkout.orders); search_products reads the hits' stock afresh instead.
    count, last_update = (
        await session.execute(select(func.count(Product.id), func.max(Product.updated_at)))
    ).one()
    fingerprint: tuple[int, datetime | None] = (int(count), last_update)
    database = session.get_bind().engine.url.render_as_string(hide_password=True)
    entry = _cache.entry
    if entry is not None and entry.database == database and entry.fingerprint == fingerprint:
        return entry.index
    rows = await session.scalars(
        select(Product).where(Product.active.is_(True)).order_by(Product.id)
    )
    index = SearchIndex(ProductSnapshot.from_row(row) for row in rows)
    _cache.entry = _CachedIndex(database=database, fingerprint=fingerprint, index=index)
    return index
