"""Shopper-facing messages of the address form, in English and Japanese.

This module only houses the wording of field errors. Every error is a small dict
`{"code": ..., "en": ..., "ja": ...}`, the shape `tools.errors.ValidationFailed` carries per field,
so the API can show it under the field and the agent can hand it to the model. Messages never repeat
what the shopper typed: the form can receive anything, even a card number pasted in the wrong field.
"""

from __future__ import annotations

from typing import Final

#: One field's error: machine code plus the English and Japanese message.
FieldError = dict[str, str]

# How each field is called in a sentence.
FIELD_LABELS: Final[dict[str, tuple[str, str]]] = {
    "name": ("The name", "お名前"),
    "postal_code": ("The postal code", "郵便番号"),
    "prefecture": ("The prefecture", "都道府県"),
    "city": ("The city", "市区町村"),
    "line1": ("The street address", "番地"),
    "line2": ("The building and room", "建物名・部屋番号"),
    "phone": ("The phone number", "電話番号"),
    "email": ("The e-mail address", "メールアドレス"),
}

# Messages that read best written for one field, keyed by (field, code).
_FIELD_MESSAGES: Final[dict[tuple[str, str], tuple[str, str]]] = {
    ("name", "required"): (
        "Please enter the recipient's name.",
        "お届け先のお名前を入力してください。",
    ),
    ("name", "no_letters"): (
        "Please enter the name in letters, not only numbers or symbols.",
        "お名前は数字や記号だけでなく、文字で入力してください。",
    ),
    ("postal_code", "required"): (
        "Please enter the postal code, for example 150-0002.",
        "郵便番号を入力してください（例：150-0002）。",
    ),
    ("postal_code", "invalid_postal_code"): (
        "Please enter a 7-digit postal code, for example 150-0002.",
        "郵便番号は7桁の数字で入力してください（例：150-0002）。",
    ),
    ("postal_code", "unknown_postal_code"): (
        "Postal code {postal_code} was not found. Please check the 7 digits.",
        "郵便番号「{postal_code}」が見つかりません。7桁の番号をご確認ください。",
    ),
    ("prefecture", "invalid_prefecture"): (
        "This is not a prefecture of Japan. Please enter it as, for example, Tokyo or 東京都.",
        "都道府県名を確認できませんでした。「東京都」のように入力してください。",
    ),
    ("prefecture", "prefecture_mismatch"): (
        "Postal code {postal_code} is in {expected_en}, not {typed_en}. "
        "Please check the postal code or the prefecture.",
        "郵便番号「{postal_code}」は{expected_ja}の番号です（入力された都道府県：{typed_ja}）。"
        "郵便番号または都道府県をご確認ください。",
    ),
    ("prefecture", "prefecture_ambiguous"): (
        "Postal code {postal_code} is used in more than one prefecture ({choices_en}). "
        "Please enter the prefecture.",
        "郵便番号「{postal_code}」は複数の都道府県（{choices_ja}）で使われています。"
        "都道府県を入力してください。",
    ),
    ("city", "city_mismatch"): (
        "Postal code {postal_code} is for {expected}, which does not match the city you entered. "
        "Please check it, or leave the city empty to fill it in from the postal code.",
        "郵便番号「{postal_code}」の市区町村は「{expected}」で、入力された市区町村と一致しません。"
        "ご確認いただくか、空欄にして郵便番号から自動入力してください。",
    ),
    ("city", "city_ambiguous"): (
        "Postal code {postal_code} is used in more than one city ({choices}). "
        "Please enter the city.",
        "郵便番号「{postal_code}」は複数の市区町村（{choices}）で使われています。"
        "市区町村を入力してください。",
    ),
    ("line1", "required"): (
        "Please enter the street address (chome and number), for example 2-21-1.",
        "番地（丁目・番地・号）を入力してください（例：2-21-1）。",
    ),
    ("line1", "missing_street_number"): (
        "Please include the street number (chome and number), for example 2-21-1.",
        "番地（例：2-21-1）まで入力してください。",
    ),
    ("phone", "required"): (
        "Please enter a phone number, for example 090-1234-5678.",
        "電話番号を入力してください（例：090-1234-5678）。",
    ),
    ("phone", "invalid_phone"): (
        "This phone number is not valid. Please enter it with the area code, "
        "for example 090-1234-5678 or 03-1234-5678.",
        "電話番号が正しくありません。市外局番から入力してください"
        "（例：090-1234-5678、03-1234-5678）。",
    ),
    ("email", "required"): (
        "Please enter an e-mail address for the order confirmation.",
        "ご注文確認用のメールアドレスを入力してください。",
    ),
    ("email", "invalid_email"): (
        "This e-mail address is not valid. Please check it, for example taro@example.com.",
        "メールアドレスの形式が正しくありません。ご確認ください（例：taro@example.com）。",
    ),
}

# Messages that fit any field, with its label filled in.
_GENERIC_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "required": ("{label_en} is required.", "{label_ja}を入力してください。"),
    "too_long": (
        "{label_en} is too long: please use at most {max_length} characters.",
        "{label_ja}は{max_length}文字以内で入力してください。",
    ),
    "invalid_type": ("{label_en} must be text.", "{label_ja}は文字で入力してください。"),
    "unexpected_field": (
        "This field is not part of the address form.",
        "この項目は住所の入力欄にはありません。",
    ),
}


def field_error(field: str, code: str, **params: object) -> FieldError:
    """The error `code` of `field`, worded in English and Japanese with `params` filled in."""
    label_en, label_ja = FIELD_LABELS.get(field, (field, field))
    templates = _FIELD_MESSAGES.get((field, code)) or _GENERIC_MESSAGES.get(code)
    if templates is None:
        raise KeyError(f"no message for {field}/{code}")  # a programming error, caught by the tests
    en, ja = templates
    values = {"label_en": label_en, "label_ja": label_ja, **params}
    return {"code": code, "en": en.format(**values), "ja": ja.format(**values)}
