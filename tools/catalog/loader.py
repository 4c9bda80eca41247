"""Reading catalogue files and writing their products into the merchant database.

This module only houses the path from a catalogue (a file, or data embedded in an eval scenario)
to `Product` rows: parsing with per-entry error reports (`parse_catalog`, `read_catalog_file`), the
shipped demo catalogue (`DEMO_CATALOG_PATH`, `load_demo_entries`), and the upsert (`load_catalog`).

Loading never deletes a product: orders and cart lines reference products, so a product that left
the catalogue is only deactivated (and only when asked to).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.catalog.schema import CatalogEntry
from tools.catalog.search import invalidate_search_index
from tools.store.models import Product

DEMO_CATALOG_PATH: Path = Path(__file__).parent / "data" / "demo_catalog.yaml"

_ENTRY_FIELDS = tuple(CatalogEntry.model_fields)


@dataclass(frozen=True, slots=True)
class EntryError:
    """One problem with one catalogue entry (`index` is 0-based; `sku` as written, if readable)."""

    index: int | None
    sku: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = "catalogue" if self.index is None else f"products[{self.index}]"
        if self.sku:
            where += f" (sku {self.sku})"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class CatalogFormatError(ValueError):
    """A catalogue that cannot be loaded; `errors` lists every bad entry, not only the first."""

    def __init__(self, source: str, errors: Sequence[EntryError]) -> None:
        self.source = source
        self.errors: tuple[EntryError, ...] = tuple(errors)
        count = len(self.errors)
        heading = f"{source}: {count} problem{'s' if count != 1 else ''} in the catalogue"
        super().__init__("\n  ".join([heading, *(str(error) for error in self.errors)]))


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What `load_catalog` did, in counts of products."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0


def _entry_errors(index: int, raw: Mapping[str, Any], exc: ValidationError) -> list[EntryError]:
    sku = raw.get("sku")
    sku_text = sku.strip() if isinstance(sku, str) else None
    return [_describe(index, sku_text, detail) for detail in exc.errors(include_url=False)]


def _describe(index: int, sku: str | None, detail: ErrorDetails) -> EntryError:
    field = ".".join(str(part) for part in detail["loc"])
    kind = detail["type"]
    if kind == "extra_forbidden":
        # The usual cause is a typo (`prce`), so suggest the field that was probably meant.
        close = difflib.get_close_matches(str(detail["loc"][0]), _ENTRY_FIELDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        message = f"unknown field{hint}; allowed fields: {', '.join(_ENTRY_FIELDS)}"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = detail["msg"]
    return EntryError(index=index, sku=sku, field=field, message=message)


def parse_catalog(data: object, *, source: str = "<inline>") -> list[CatalogEntry]:
    """Validate catalogue data: `{"products": [...]}` or a bare list of product mappings."""
    if isinstance(data, Mapping):
        unknown = sorted(str(key) for key in data if key != "products")
        if "products" not in data or unknown:
            detail = f"unexpected top-level keys {unknown}; " if unknown else ""
            raise CatalogFormatError(
                source, [EntryError(None, None, "", f"{detail}expected a 'products' list")]
            )
        raw_entries = data["products"]
    else:
        raw_entries = data
    if not isinstance(raw_entries, list):
        raise CatalogFormatError(
            source,
            [EntryError(None, None, "", f"expected a list of products, got {type(data).__name__}")],
        )

    entries: list[CatalogEntry] = []
    errors: list[EntryError] = []
    first_index_of: dict[str, int] = {}
    for index, raw in enumerate(raw_entries):
        if not isinstance(raw, Mapping):
            message = f"expected a mapping of fields, got {type(raw).__name__}"
            errors.append(EntryError(index, None, "", message))
            continue
        try:
            entry = CatalogEntry.model_validate(raw)
        except ValidationError as exc:
            errors.extend(_entry_errors(index, raw, exc))
            continue
        if entry.sku in first_index_of:
            message = f"duplicate sku (case-insensitive) of products[{first_index_of[entry.sku]}]"
            errors.append(EntryError(index, entry.sku, "sku", message))
            continue
        first_index_of[entry.sku] = index
        entries.append(entry)
    if errors:
        raise CatalogFormatError(source, errors)
    return entries


def read_catalog_file(path: str | Path) -> list[CatalogEntry]:
    """Read and validate a catalogue file (.yaml / .yml / .json)."""
    path = Path(path)
    source = str(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = exc.problem or exc.context or "invalid YAML"
            raise CatalogFormatError(source, [EntryError(None, None, "", where + problem)]) from exc
        except yaml.YAMLError as exc:
            raise CatalogFormatError(source, [EntryError(None, None, "", str(exc))]) from exc
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
            raise CatalogFormatError(source, [EntryError(None, None, "", message)]) from exc
    else:
        message = f"unsupported file type {suffix or '(none)'!r}; use .yaml, .yml or .json"
        raise CatalogFormatError(source, [EntryError(None, None, "", message)])
    return parse_catalog(data, source=source)


@lru_cache(maxsize=1)
def _demo_entries() -> tuple[CatalogEntry, ...]:
    return tuple(read_catalog_file(DEMO_CATALOG_PATH))


def load_demo_entries() -> list[CatalogEntry]:
    """The shipped demo catalogue (parsed once per process; entries are immutable)."""
    return list(_demo_entries())


def _row_values(entry: CatalogEntry) -> dict[str, Any]:
    """Column values for `entry`; fresh list/dict objects so JSON column changes are detected."""
    return {
        "name": entry.name,
        "name_ja": entry.name_ja,
        "description": entry.description,
        "description_ja": entry.description_ja,
        "tags": list(entry.tags),
        "category": entry.category,
        "price": entry.price,
        "tax_rate": entry.tax_rate,
        "stock": entry.stock,
        "attributes": dict(entry.attributes),
        "active": entry.active,
    }


async def load_catalog(
    session: AsyncSession, entries: Sequence[CatalogEntry], *, deactivate_missing: bool = False
) -> LoadReport:
    """Upsert `entries` into `products` by sku; flushes, the caller commits.

    Stock is taken from the file like every other field: the file is the source of truth when it
    is loaded. With `deactivate_missing`, products absent from `entries` are deactivated (never
    deleted: orders reference them).
    """
    skus = [entry.sku.upper() for entry in entries]
    if len(set(skus)) != len(skus):
        # parse_catalog already refuses these; entries built in code could still repeat a sku.
        duplicates = sorted({sku for sku in skus if skus.count(sku) > 1})
        raise ValueError(f"duplicate skus in catalogue entries: {duplicates}")

    # One query for everything: a catalogue is small, and this also finds the rows to deactivate.
    existing = {product.sku.upper(): product for product in await session.scalars(select(Product))}

    created = updated = unchanged = deactivated = 0
    for sku, entry in zip(skus, entries, strict=True):
        values = _row_values(entry)
        product = existing.get(sku)
        if product is None:
            session.add(Product(sku=sku, **values))
            created += 1
            continue
        changed = {key: value for key, value in values.items() if getattr(product, key) != value}
        if changed:
            for key, value in changed.items():
                setattr(product, key, value)
            updated += 1
        else:
            unchanged += 1

    if deactivate_missing:
        listed = set(skus)
        for sku, product in existing.items():
            if sku not in listed and product.active:
                product.active = False
                deactivated += 1

    await session.flush()
    invalidate_search_index()
    return LoadReport(
        created=created, updated=updated, unchanged=unchanged, deactivated=deactivated
    )
