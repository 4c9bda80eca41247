"""Reading a shipping address that the shopper typed into the chat as free text.

This module only houses `read_address`: it finds the e-mail address, the phone number and the postal
code by their patterns (with or without labels such as "name:", "電話", "〒"), then takes the street
part (the chunk with the block number) as `line1`, a building or room as `line2`, and what remains
that looks like a person's name as `name`. Prefecture and city are left empty on purpose: the shop
fills them in from the postal code and checks what the shopper typed against it, which is more
reliable than any guess here. Validation is the tool's job; this only has to find the pieces.

Limits of the rules: one address per message; a name is found only when it is its own chunk
(separated by a comma, a space in Japanese, or a label) or follows the street number directly
("渋谷2-21-1山田太郎"); a romaji name made of a single word, or a name that is also a place name
("Shibuya"), is not recognised without a label; foreign addresses are read as Japanese ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.offline.language import nfkc, words_of

__all__ = ["AddressText", "mentions_address", "read_address"]


@dataclass(frozen=True, slots=True)
class AddressText:
    """The address fields found in a message ("" where nothing was found)."""

    name: str = ""
    postal_code: str = ""
    line1: str = ""
    line2: str = ""
    phone: str = ""
    email: str = ""

    @property
    def found(self) -> int:
        """How many of the required fields were found (name, postal code, street, phone, e-mail)."""
        return sum(1 for value in (self.name, self.postal_code, self.line1, self.phone, self.email)
                   if value)

    def arguments(self) -> dict[str, str]:
        """The `set_shipping_address` arguments; every required key is present, maybe empty, so a
        missing field comes back from the tool as a field error the shopper can fix in the form."""
        return {"name": self.name, "postal_code": self.postal_code, "line1": self.line1,
                "line2": self.line2, "phone": self.phone, "email": self.email}


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(
    r"\+81[ -]?\(?0?\d{1,4}\)?[ -]?\d{1,4}[ -]?\d{4}(?!\d)"
    r"|(?<![\d-])\(0\d{1,4}\)[ -]?\d{1,4}-?\d{4}(?!\d)"
    r"|(?<![\d-])0\d{1,4}-\d{1,4}-\d{4}(?![\d-])"
    r"|(?<![\d-])0\d{9,10}(?![\d-])"
)
_POSTAL = re.compile(r"〒\s*(\d{3})-?(\d{4})(?!\d)|(?<![\d-])(\d{3})-(\d{4})(?![\d-])"
                     r"|(?<![\d-])(\d{7})(?![\d-])")
_WRITTEN_POSTAL = re.compile(r"〒\s*\d{3}-?\d{4}|(?<![\d-])\d{3}-\d{4}(?![\d-])")
_LABEL = re.compile(
    r"(?P<label>full\s+name|name|氏名|お名前|名前|宛名|受取人|postal\s+code|post\s*code|zip(?:\s+code)?"
    r"|郵便番号|address|住所|phone(?:\s+number)?|tel|telephone|mobile|電話番号|電話|携帯|e-?mail"
    r"|メールアドレス|メール|building|建物名?|line\s*2)\s*(?:[:：=]|は)\s*",
    re.IGNORECASE,
)
_LABEL_FIELDS = (
    ("name", re.compile(r"name|氏名|名前|宛名|受取人", re.IGNORECASE)),
    ("postal_code", re.compile(r"postal|post|zip|郵便", re.IGNORECASE)),
    ("phone", re.compile(r"phone|tel|mobile|電話|携帯", re.IGNORECASE)),
    ("email", re.compile(r"mail|メール", re.IGNORECASE)),
    ("line2", re.compile(r"building|建物|line", re.IGNORECASE)),
    ("line1", re.compile(r"address|住所", re.IGNORECASE)),
)
# Words around an address that are not part of it.
_LEAD_IN = re.compile(
    r"(?:(?:could|can|would|will)\s+you\s+)?(?:please\s+)?(?:ship|deliver|send)(?:\s+it|\s+them"
    r"|\s+the\s+order)?\s+to\b|my\s+address\s+is"
    r"|my\s+name\s+is|i'?m\b|i\s+am\b|this\s+is\b|address\b|checkout|check\s+out|and\s+pay.*$"
    r"|お届け先は?|届け先は?|送り先は?|宛先は?|住所は|配送先は?|名前は|です|でお願いします|お願いします"
    r"|に送って(?:ください)?|まで(?:お願いします)?",
    re.IGNORECASE,
)
_CHUNK_SPLIT = re.compile(r"[,;\n、，；/|]+")
# The end of a sentence before the address ("checkout please. Taro Yamada", "会計します。山田太郎"):
# a full stop after a word of two or more letters (not "Apt." or "St."), a question or exclamation
# mark after anything ("… 1-1-3? My phone is …"), or a Japanese 。！？.
_SENTENCE_END = re.compile(r"(?<=[A-Za-z]{2})\s*[.!?]+\s+(?=[A-Z])|\s*[!?]+(?:\s+|$)|[。！？]+")
_ABBREVIATION_END = re.compile(r"\b(?:apt|bldg|st|no|mr|mrs|ms|dr|rd|ave|blvd)$", re.IGNORECASE)
# A Japanese chunk ending like a sentence ("会計します") is talk, not a name.
_JA_SENTENCE_END = re.compile(r"(?:ます|です|ました|でした|ません|ください|下さい|たい|して|しました)$")
_BUILDING = re.compile(
    r"ビル|マンション|アパート|ハイツ|コーポ|レジデンス|タワー|号室|\d+\s*階|\d+F\b|\bapt\.?|apartment|\broom\b"
    r"|suite|\bbldg\.?|building|#\s*\d+|\bunit\b",
    re.IGNORECASE,
)
_JA_PLACE_END = re.compile(r"(?:都|道|府|県|市|区|町|村|郡)$")
_JA_PLACE_PART = re.compile(r"丁目|番地|都(?=.)|道(?=.)|府(?=.)|県(?=.)|区(?=.)|郡(?=.)")
_EN_PLACE_WORDS = frozenset(words_of(
    "tokyo osaka kyoto yokohama nagoya sapporo fukuoka kobe sendai shibuya shinjuku minato chiyoda "
    "chuo setagaya meguro japan city ward prefecture pref ku shi cho machi chome street st avenue "
    "ave road rd town village ken to fu"))
_PLACE_SUFFIXES = frozenset(words_of("ken to fu shi ku cho machi"))
_NOT_NAME_WORDS = frozenset(words_of(
    "ship deliver send to please the my address and pay card checkout thanks thank you with by "
    "order it them via konbini later delivery credit ok okay yes yeah sure sorry oops wait no "
    "actually hi hello hey wrong new correct correction instead"))
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z.'-]*(?:\s+[A-Za-z][A-Za-z.'-]*){0,3}$")
_JA_NAME = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\u3005ー・ ]{2,20}$")
_HONORIFIC = re.compile(r"(?:様|さま|さん|殿)$")
# A Japanese street chunk followed directly by a name or building: 渋谷2-21-1山田太郎.
_JA_STREET_THEN_REST = re.compile(r"^(\D*\d+(?:-\d+)*(?:番地|番|号)?)(\D.*)$")
_DIGIT = re.compile(r"\d")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_VALUE_END = re.compile(r"[\n;,、，；。]")
_LATIN_STREET_THEN_BUILDING = re.compile(
    r"^([^\u3040-\u30ff\u3400-\u9fff]*?\d+(?:-\d+)+)[\s,]+(.*(?:bldg|building|apt|apartment|room"
    r"|suite|unit|#|\d+F\b|floor).*)$", re.IGNORECASE)


def read_address(text: str) -> AddressText:
    """The address fields in a free-text message (see the module docstring for how)."""
    work = nfkc(text)
    labeled = _labeled_values(work)
    email = labeled.get("email") or _first(_EMAIL, work)
    work = work.replace(email, " ") if email else work
    phone = labeled.get("phone") or _first(_PHONE, work)
    work = work.replace(phone, " ") if phone else work
    postal_code = _postal(labeled.get("postal_code") or work)
    work = _POSTAL.sub(" ", work)
    for value in labeled.values():
        work = work.replace(value, " ")
    work = _LABEL.sub(" ", work)
    work = _LEAD_IN.sub(" ", work)
    name, line1, line2 = _split_chunks(work)
    street_label = _LEAD_IN.sub(" ", _POSTAL.sub(" ", labeled.get("line1", ""))).strip(" .")
    if street_label:
        line1, building = _street_and_building(street_label)
        line2 = line2 or building
    return AddressText(
        name=labeled.get("name") or name,
        postal_code=postal_code,
        line1=line1,
        line2=labeled.get("line2") or line2,
        phone=phone.strip(),
        email=email,
    )


def mentions_address(text: str) -> bool:
    """Whether a message carries an address: a postal code written as one ("〒1500002",
    "150-0002"), or two of postal code (seven bare digits)/phone/e-mail/street."""
    found = read_address(text)
    if found.postal_code and _WRITTEN_POSTAL.search(nfkc(text)):
        return True
    return sum(1 for value in (found.postal_code, found.phone, found.email, found.line1)
               if value) >= 2


def _first(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group() if match else ""


def _postal(text: str) -> str:
    match = _POSTAL.search(text)
    if match is None:
        return ""
    digits = "".join(group for group in match.groups() if group)
    return f"{digits[:3]}-{digits[3:]}"


def _labeled_values(text: str) -> dict[str, str]:
    """Values after labels ("name: Taro Yamada", "電話：090-…"), each up to the next label."""
    matches = list(_LABEL.finditer(text))
    values: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        value = text[match.end():end].strip().strip(",;、，；").strip()
        # A value runs to the end of its line or its comma-separated part.
        value = _VALUE_END.split(value, maxsplit=1)[0].strip()
        field = next(f for f, pattern in _LABEL_FIELDS if pattern.search(match.group("label")))
        if value and field not in values:
            if field == "name":
                value = _HONORIFIC.sub("", value).strip()
            values[field] = value
    return values


def _split_chunks(text: str) -> tuple[str, str, str]:
    """(name, line1, line2) from what is left once the patterned fields are cut out."""
    chunks: list[str] = []
    for part in (piece for chunk in _CHUNK_SPLIT.split(text) for piece in _sentences(chunk)):
        part = part.strip(" .:：")
        if not part:
            continue
        # Japanese writes no commas between the parts of an address line: split on spaces, but keep
        # a romaji chunk ("Shibuya 2-21-1", "Taro Yamada") whole.
        if _JAPANESE.search(part):
            chunks.extend(piece for piece in part.split() if piece)
        else:
            chunks.append(part)
    names: list[str] = []
    places: list[str] = []
    streets: list[str] = []
    buildings: list[str] = []
    for chunk in chunks:
        if _DIGIT.search(chunk) and not _BUILDING.search(chunk):
            street, rest = _street_and_rest(chunk)
            streets.append(street)
            if rest:
                (buildings if _BUILDING.search(rest) else names).append(rest)
        elif _DIGIT.search(chunk) and not streets:
            street, building = _street_and_building(chunk)
            (streets if _DIGIT.search(street) and building else buildings).append(street)
            if building:
                buildings.append(building)
        elif _BUILDING.search(chunk):
            buildings.append(chunk)
        elif _is_name(chunk):
            names.append(chunk)
        elif _JA_PLACE_END.search(chunk) or _JA_PLACE_PART.search(chunk):
            places.append(chunk)
    line1 = ""
    if streets:
        street = streets[0]
        japanese = bool(_JAPANESE.search(street))
        # A Japanese prefecture/city written apart from the street goes in front of it (the shop
        # strips what the postal code already says); English city names are simply left out.
        line1 = ("".join(places) + street) if japanese else street
    name = _HONORIFIC.sub("", " ".join(names[:2])).strip()
    return name, line1, " ".join(buildings)


def _sentences(chunk: str) -> list[str]:
    """A chunk cut at sentence ends; an abbreviation's full stop ("Bldg. 5F") is not one."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(chunk):
        before = chunk[start:match.start()]
        if match.group().strip().startswith(".") and _ABBREVIATION_END.search(before):
            continue
        pieces.append(before)
        start = match.end()
    pieces.append(chunk[start:])
    return pieces


def _street_and_building(value: str) -> tuple[str, str]:
    """A street line split from the building after it ("Shibuya 2-21-1 Shibuya Bldg 5F")."""
    if _JAPANESE.search(value):
        streets: list[str] = []
        buildings: list[str] = []
        for piece in value.split():
            street, rest = _street_and_rest(piece)
            if rest and _BUILDING.search(rest):
                streets.append(street)
                buildings.append(rest)
            else:
                (buildings if _BUILDING.search(piece) else streets).append(piece)
        street = "".join(streets)
        return (street, " ".join(buildings)) if street else (value, "")
    match = _LATIN_STREET_THEN_BUILDING.match(value)
    if match is None:
        return value, ""
    return match.group(1).strip(), match.group(2).strip()


def _street_and_rest(chunk: str) -> tuple[str, str]:
    if not _JAPANESE.search(chunk):
        return chunk, ""
    match = _JA_STREET_THEN_REST.match(chunk)
    if match is None:
        return chunk, ""
    rest = match.group(2).strip()
    # Only a building ("渋谷ビル5F") or a name ("山田太郎") is split off; "丁目21番1号" is street.
    if _BUILDING.search(rest) or (not _DIGIT.search(rest) and _is_name(rest)):
        return match.group(1), rest
    return chunk, ""


def _is_name(chunk: str) -> bool:
    if _LATIN_NAME.match(chunk):
        words = [word.strip(".'").lower() for word in chunk.split()]
        # "Ken", "To" and "Fu" end a place ("Kanagawa ken") but begin a name ("Ken Ito").
        places = [w for i, w in enumerate(words) if w in _EN_PLACE_WORDS
                  and not (i == 0 and w in _PLACE_SUFFIXES and len(words) > 1)]
        if places or any(w in _NOT_NAME_WORDS for w in words):
            return False
        if any(w.endswith(("-ku", "-shi", "-cho", "-machi", "-ken")) for w in words):
            return False
        # A lone lower-case word is a word, not a name ("hello", "thanks").
        return len(words) >= 2 or chunk[:1].isupper()
    if _JA_NAME.match(chunk) and not _JA_SENTENCE_END.search(chunk):
        bare = _HONORIFIC.sub("", chunk)
        return not _JA_PLACE_END.search(bare) and not _JA_PLACE_PART.search(bare)
    return False
