"""GMO Payment Gateway's wire format (the "protocol type" API of PGマルチペイメントサービス).

This module only houses the encoding of request bodies, the decoding of reply bodies and of result
notifications, and the ErrCode/ErrInfo pairs. It knows nothing about payments.

What the public client code and recorded exchanges show (t-k/gmo-payment-ruby's VCR cassettes,
pepabo/gmopg, ahy4/gmopg, the gem's `http_services.rb`):

- requests are `application/x-www-form-urlencoded` POSTs whose values are Shift_JIS, percent-encoded
  (the Ruby gem converts with `NKF -s` before `CGI.escape`); we use Windows-31J (`cp932`), the
  superset of Shift_JIS that GMO names in its replies;
- replies are `text/plain;charset=Windows-31J` (newer cassettes: `charset=shift_jis`) bodies of
  `Key=Value&Key=Value` whose values are *not* percent-encoded: a token may contain `+` and `/`,
  and a 3-D Secure 2.0 `RedirectUrl` carries its own unescaped `&t=...` query, which the Node and
  Ruby clients glue back onto the URL;
- errors come as `ErrCode=E01|E01&ErrInfo=E01050002|E01060006`: the n-th ErrCode pairs with the n-th
  ErrInfo;
- result notifications (結果通知プログラム) are ordinary percent-encoded form posts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import zip_longest
from urllib.parse import parse_qsl, quote_plus

#: Windows-31J: what GMO declares in its replies; a superset of the Shift_JIS requests must use.
GMO_CHARSET = "cp932"

_SHIFT_JIS_ALIASES = {"shift_jis", "shift-jis", "sjis", "x-sjis", "windows-31j", "cp932", "ms932"}
_CHARSET_PARAM = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)\"?", re.IGNORECASE)
# GMO's own field names are PascalCase (AccessID, RedirectUrl, ErrInfo). A segment that does not
# look like one, right after a URL-valued field, is part of that URL's query string, not a field.
_GMO_KEY = re.compile(r"[A-Z][A-Za-z0-9_]*")


class FormEncodingError(ValueError):
    """A request value Shift_JIS cannot carry. Names the field, never the value (it may be PII)."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"field {field_name!r} has characters that Shift_JIS cannot represent")
        self.field_name = field_name


class MalformedReply(ValueError):
    """A reply that is not GMO's `Key=Value&...` format (an HTML error page, garbage, empty)."""


@dataclass(frozen=True)
class ErrorPair:
    """One error of a reply: the coarse ErrCode (`E01`, `42G`) and the detailed ErrInfo."""

    code: str
    info: str


@dataclass(frozen=True)
class Reply:
    """A decoded reply: its fields and its errors (empty when the call succeeded)."""

    fields: Mapping[str, str]
    errors: tuple[ErrorPair, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    def get(self, key: str) -> str:
        """The field's value, or '' when absent (GMO itself sends empty values as `Key=`)."""
        return self.fields.get(key, "")


def charset_of(content_type: str | None) -> str:
    """The codec for a body with this Content-Type; Windows-31J when absent or a Shift_JIS alias."""
    if content_type:
        match = _CHARSET_PARAM.search(content_type)
        if match:
            declared = match.group(1).lower()
            if declared in _SHIFT_JIS_ALIASES:
                return GMO_CHARSET
            if declared in {"utf-8", "utf8", "us-ascii", "ascii"}:
                return "utf-8"
    return GMO_CHARSET


def encode_form(params: Mapping[str, str]) -> bytes:
    """A request body: `Key=Value&...`, values Shift_JIS and percent-encoded, in the given order."""
    parts = []
    for key, value in params.items():
        try:
            encoded = quote_plus(value, safe="", encoding=GMO_CHARSET, errors="strict")
        except UnicodeEncodeError:
            raise FormEncodingError(key) from None
        parts.append(f"{quote_plus(key)}={encoded}")
    return "&".join(parts).encode("ascii")


def parse_errors(fields: Mapping[str, str]) -> tuple[ErrorPair, ...]:
    """The ErrCode/ErrInfo pairs of a reply or notification (pipe-separated, paired by position)."""
    codes = fields["ErrCode"].split("|") if fields.get("ErrCode") else []
    infos = fields["ErrInfo"].split("|") if fields.get("ErrInfo") else []
    return tuple(ErrorPair(code=c, info=i)
                 for c, i in zip_longest(codes, infos, fillvalue="") if c or i)


def decode_reply(body: bytes, content_type: str | None = None) -> Reply:
    """Decode a reply body. Raises MalformedReply when it is not GMO's format."""
    try:
        text = body.decode(charset_of(content_type))
    except UnicodeDecodeError:
        raise MalformedReply("reply is not in the declared charset") from None
    text = text.strip()
    if not text:
        raise MalformedReply("empty reply")
    fields: dict[str, str] = {}
    previous: str | None = None
    for segment in text.split("&"):
        key, sep, value = segment.partition("=")
        if previous is not None and previous.lower().endswith("url") and not (
            sep and _GMO_KEY.fullmatch(key)
        ):
            fields[previous] += "&" + segment
            continue
        if not sep or not _GMO_KEY.fullmatch(key):
            raise MalformedReply("reply is not Key=Value&Key=Value")
        fields[key] = value
        previous = key
    return Reply(fields=fields, errors=parse_errors(fields))


def decode_notification(body: bytes, content_type: str | None = None) -> dict[str, str]:
    """Decode a result-notification form post. Raises MalformedReply (also on repeated keys)."""
    charset = charset_of(content_type)
    try:
        text = body.decode(charset)
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding=charset,
                          errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise MalformedReply("notification is not a form post") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            # Two values for one key leave it to the reader which one counts: refuse instead.
            raise MalformedReply(f"repeated field {key!r}")
        fields[key] = value
    return fields
