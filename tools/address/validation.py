"""Validation of the address form that the shopper submits in the chat.

This module only houses `AddressInput` (the fields of the API's `submit_address` action) and
`validate_address`, which turns a submitted form into a `ShippingAddress` or raises
`tools.errors.ValidationFailed` listing every field error at once, each in English and Japanese,
so the shopper can fix the whole form in one go.
"""

from __future__ import annotations

from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, ValidationError

from tools.address.locality import resolve_place
from tools.address.messages import FieldError, field_error
from tools.address.phone import Phone, parse_phone
from tools.address.postal import (
    InvalidPostalCode,
    PostalArea,
    lookup_postal_code,
    normalize_postal_code,
)
from tools.address.prefectures import Prefecture, find_prefecture
from tools.address.shipping_address import LINE_MAX, NAME_MAX, ShippingAddress
from tools.address.text import clean_street, clean_text, has_letter
from tools.errors import ValidationFailed

# A street line names a number (2-21-1, 二丁目十一番, 123番地): without one, no parcel arrives.
_NUMERALS = frozenset("0123456789〇一二三四五六七八九十百千")


class AddressInput(BaseModel):
    """The address form as submitted (`submit_address`): all text, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str
    postal_code: str
    prefecture: str = ""
    city: str = ""
    line1: str
    line2: str = ""
    phone: str
    email: str


_FORM_FIELDS = tuple(AddressInput.model_fields)


def validate_address(data: AddressInput | Mapping[str, object]) -> ShippingAddress:
    """The shipping address of a submitted form; raises `ValidationFailed` with all field errors.

    Prefecture and city are filled in from the postal code when left empty, and checked against it
    when typed. Text is width-normalised (ASCII half-width, katakana full-width); Japanese is kept
    as typed.
    """
    errors: dict[str, FieldError] = {}
    form = data if isinstance(data, AddressInput) else _read_form(data, errors)

    name = _check_name(form.name, errors)
    area = _check_postal_code(form.postal_code, errors)
    prefecture = _check_prefecture(form.prefecture, errors)
    city = clean_text(form.city)
    line1 = clean_street(form.line1)
    if not line1:
        _fail(errors, "line1", "required")

    place = None
    if area is not None:
        place, place_errors = resolve_place(area, prefecture=prefecture, city=city, line1=line1)
        for field, error in place_errors.items():
            errors.setdefault(field, error)
        if place is not None:
            line1 = place.line1
    _check_street(line1, errors)
    line2 = clean_street(form.line2)
    if len(line2) > LINE_MAX:
        _fail(errors, "line2", "too_long", max_length=LINE_MAX)
    phone = _check_phone(form.phone, errors)
    email = _check_email(form.email, errors)

    if errors or area is None or place is None or phone is None:
        order = {field: index for index, field in enumerate(_FORM_FIELDS)}
        ordered = dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))
        raise ValidationFailed(fields=ordered)
    return ShippingAddress(
        name=name,
        postal_code=area.postal_code,
        prefecture=place.prefecture,
        city=place.city,
        town=place.town,
        line1=line1,
        line2=line2,
        phone=phone.e164,
        phone_display=phone.display,
        email=email,
    )


def _fail(errors: dict[str, FieldError], field: str, code: str, **params: object) -> None:
    """Record the first error of a field; later checks of the same field are moot."""
    if field not in errors:
        errors[field] = field_error(field, code, **params)


def _read_form(data: Mapping[str, object], errors: dict[str, FieldError]) -> AddressInput:
    """The form from a mapping; a malformed or missing field becomes a field error and reads as
    empty, so the other fields are still checked."""
    try:
        return AddressInput.model_validate(dict(data))
    except ValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "form"
            if problem["type"] == "missing":
                _fail(errors, field, "required")
            elif problem["type"] == "extra_forbidden":
                _fail(errors, field, "unexpected_field")
            else:
                _fail(errors, field, "invalid_type")
    # Keep checking the well-formed fields, so the shopper sees every error at once.
    usable = {
        field: value
        for field in _FORM_FIELDS
        if field not in errors and isinstance(value := data.get(field, ""), str)
    }
    return AddressInput.model_validate(dict.fromkeys(_FORM_FIELDS, "") | usable)


def _check_name(raw: str, errors: dict[str, FieldError]) -> str:
    name = clean_text(raw)
    if not name:
        _fail(errors, "name", "required")
    elif len(name) > NAME_MAX:
        _fail(errors, "name", "too_long", max_length=NAME_MAX)
    elif not has_letter(name):
        _fail(errors, "name", "no_letters")
    return name


def _check_postal_code(raw: str, errors: dict[str, FieldError]) -> PostalArea | None:
    if not clean_text(raw):
        _fail(errors, "postal_code", "required")
        return None
    try:
        postal_code = normalize_postal_code(raw)
    except InvalidPostalCode:
        _fail(errors, "postal_code", "invalid_postal_code")
        return None
    area = lookup_postal_code(postal_code)
    if area is None:
        # Echoing the code is safe: it is the seven digits we normalised, not the shopper's text.
        _fail(errors, "postal_code", "unknown_postal_code", postal_code=postal_code)
    return area


def _check_prefecture(raw: str, errors: dict[str, FieldError]) -> Prefecture | None:
    typed = clean_text(raw)
    if not typed:
        return None
    prefecture = find_prefecture(typed)
    if prefecture is None:
        _fail(errors, "prefecture", "invalid_prefecture")
    return prefecture


def _check_street(line1: str, errors: dict[str, FieldError]) -> None:
    if "line1" in errors:
        return
    if not _NUMERALS.intersection(line1):
        _fail(errors, "line1", "missing_street_number")
    elif len(line1) > LINE_MAX:
        _fail(errors, "line1", "too_long", max_length=LINE_MAX)


def _check_phone(raw: str, errors: dict[str, FieldError]) -> Phone | None:
    if not clean_text(raw):
        _fail(errors, "phone", "required")
        return None
    phone = parse_phone(raw)
    if phone is None:
        _fail(errors, "phone", "invalid_phone")
    return phone


def _check_email(raw: str, errors: dict[str, FieldError]) -> str:
    typed = clean_text(raw)  # a Japanese IME gives ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ
    if not typed:
        _fail(errors, "email", "required")
        return ""
    try:
        # No network here, so no deliverability (DNS) check. Internationalised mailbox names are
        # refused: most Japanese mail systems cannot deliver to them, so the receipt would be lost.
        # It also enforces the 254-character limit, which is the column's width.
        checked = validate_email(typed, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        _fail(errors, "email", "invalid_email")
        return ""
    return checked.normalized
