"""The catalogue: the shipped demo products, loading catalogue files into the database, and search.

This package only houses what a shopper's product questions need: `schema` (the catalogue-file
format), `loader` (files to `Product` rows), `text` and `query` (folding and reading a shopper's
words), `search` (the index and `search_products`) and `resolve` (the one product a shopper's
words clearly mean, if any).
"""

from tools.catalog.loader import (
    DEMO_CATALOG_PATH,
    CatalogFormatError,
    EntryError,
    LoadReport,
    load_catalog,
    load_demo_entries,
    parse_catalog,
    read_catalog_file,
)
from tools.catalog.resolve import Ambiguous, NotFound, Resolution, Resolved, resolve_product
from tools.catalog.schema import CatalogEntry
from tools.catalog.search import (
    ProductSnapshot,
    SearchHit,
    SearchIndex,
    invalidate_search_index,
    normalize,
    search_products,
)

__all__ = [
    "DEMO_CATALOG_PATH",
    "Ambiguous",
    "CatalogEntry",
    "CatalogFormatError",
    "EntryError",
    "LoadReport",
    "NotFound",
    "ProductSnapshot",
    "Resolution",
    "Resolved",
    "SearchHit",
    "SearchIndex",
    "invalidate_search_index",
    "load_catalog",
    "load_demo_entries",
    "normalize",
    "parse_catalog",
    "read_catalog_file",
    "resolve_product",
    "search_products",
]
