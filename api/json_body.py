"""The strict JSON rules every API request body must meet before any route sees it.

This module only houses `check_json_body`, which the guard middleware runs on the raw bytes. FastAPI
parses with `json.loads`, which is lenient where it hurts: a repeated key silently keeps the last
value (so what a reviewer or a log sees is not what the route acts on), `NaN`/`Infinity` and `1e309`
become non-finite floats, UTF-16/32 bodies are accepted, and strings may carry NUL or lone surrogates
that PostgreSQL and UTF-8 encoders refuse much later with a 500. Refusing all of that at the door
with one clear 400 keeps "bad input never reaches the database" true for every route at once.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

#: Nothing in the API nests deeper than an action's address form (3 levels); 32 leaves room.
MAX_DEPTH = 32

# NUL (PostgreSQL text cannot hold it) and UTF-16 surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class BodyProblem:
    """Why a body was refused: the HTTP status, a machine code and a message for the client."""

    status: int
    code: str
    message: str


class _Refused(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused("an object has the same key twice")
        result[key] = value
    return result


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused("a number is too large")
    return value


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _check_tree(document: Any) -> None:
    """Depth and string content, walked without recursion (the input chooses the depth)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                raise _Refused("a string holds a NUL or an unpaired surrogate character")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise _Refused(f"the body nests deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                stack.append((key, depth))
                stack.append((item, depth + 1))


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or a `+json` type, parameters (charset) allowed."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def check_json_body(body: bytes, content_type: str | None) -> BodyProblem | None:
    """None when `body` is an acceptable JSON request body (or empty), else why not."""
    if not body:
        return None  # routes decide whether a body is required (422 when it is)
    if content_type is None or not is_json_media_type(content_type):
        return BodyProblem(415, "unsupported_media_type",
                           "Request bodies must be JSON (Content-Type: application/json).")
    try:
        text = body.decode("utf-8")  # RFC 8259: JSON exchanged between systems is UTF-8
    except UnicodeDecodeError:
        return BodyProblem(400, "invalid_json", "The request body is not valid UTF-8.")
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_finite,
                              parse_constant=_no_constant)
        _check_tree(document)
    except _Refused as exc:
        return BodyProblem(400, "invalid_json", f"The request body is refused: {exc}.")
    except (ValueError, RecursionError):
        # Syntax errors, integers past Python's digit limit, nesting past the parser's own limit.
        return BodyProblem(400, "invalid_json", "The request body is not valid JSON.")
    return None
