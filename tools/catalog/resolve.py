"""Deciding which one product a shopper's words mean, or that they do not pin one down.

This module only houses `resolve_product` and its three typed answers (`Resolved`, `Ambiguous`,
`NotFound`). It lets `add_to_cart` take the shopper's words for a product the conversation never
showed, so a model does not need a search call first; it must therefore never guess.

The rule, on the scores of `search_products` (0-100, see `tools.catalog.search`): the words resolve
to the best hit only when

* its score is at least `RESOLVE_MIN_SCORE` (95): every informative word is a whole word of the
  product's name (95), its whole name or sku (100), or better. A tag or the category alone (90:
  "green tea", "stationery", "drip bag") names a kind of product or a synonym, and partial or
  misspelt words (80 and below: "porcel", "sencah") are guesses; and
* the runner-up, if any, scores at least `RESOLVE_MARGIN` (10) less. Products that share the words
  tie or nearly so: every tea at 99 for "tea", the green teas at 97/97/97/95 for "green tea", every
  size of one T-shirt at 95 for "logo t-shirt". 10 points is more than the multi-field bonus can
  add (2 per extra kind of field), so a bonus alone never decides ("マグ": 99 against 92 stays
  ambiguous), while a word of one product's name leaves the rest far behind ("sencha" 95 against
  45, "hasami mug" 98 against 49.5).

A sized product named without a size ties across its sizes and is ambiguous; a size in the words
("logo t-shirt M") pushes the other sizes 20 points down (95 against 75), so it resolves. Ambiguous
answers carry the best `CANDIDATE_LIMIT` hits, which also covers a lone weak hit ("sencah"): the
shopper is shown it and asked, never given it unasked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tools.catalog.search import ProductSnapshot, search_products

__all__ = [
    "CANDIDATE_LIMIT",
    "RESOLVE_MARGIN",
    "RESOLVE_MIN_SCORE",
    "Ambiguous",
    "NotFound",
    "Resolution",
    "Resolved",
    "resolve_product",
]

RESOLVE_MIN_SCORE = 95.0
RESOLVE_MARGIN = 10.0
#: How many products an ambiguous answer offers to choose from (as many as a search shows).
CANDIDATE_LIMIT = 5


@dataclass(frozen=True, slots=True)
class Resolved:
    """The words mean this one product."""

    product: ProductSnapshot
    score: float


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """The words fit several products, or one only weakly: the shopper must choose (best first)."""

    candidates: tuple[ProductSnapshot, ...]


@dataclass(frozen=True, slots=True)
class NotFound:
    """No active product matches the words."""

    words: str


Resolution = Resolved | Ambiguous | NotFound


async def resolve_product(session: AsyncSession, words: str) -> Resolution:
    """The one product `words` clearly mean, the candidates to choose from, or nothing found."""
    hits = await search_products(session, words, limit=CANDIDATE_LIMIT)
    if not hits:
        return NotFound(words)
    best = hits[0]
    runner_up = hits[1].score if len(hits) > 1 else None
    if best.score >= RESOLVE_MIN_SCORE and (
        runner_up is None or best.score - runner_up >= RESOLVE_MARGIN
    ):
        return Resolved(best.product, best.score)
    return Ambiguous(tuple(hit.product for hit in hits))
