"""Prompt templates as text files, one per purpose and locale, identified by a content hash.

Layout of a prompt directory (the shipped one is this package; an operator points
`CHATPAY_PROMPT_DIR` at a copy to try a variant):

    en/system.txt   ja/system.txt

Templates use `$name` placeholders (string.Template), filled from shop settings only — never from
per-request data — so a rendered system prompt is byte-identical across the calls of a conversation
and providers' prompt caches hit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Literal

Locale = Literal["en", "ja"]
LOCALES: tuple[Locale, ...] = ("en", "ja")
PURPOSES = ("system",)
SHIPPED_DIR = Path(__file__).parent


@dataclass(frozen=True)
class PromptSet:
    """The templates of one prompt directory and their content hash."""

    directory: Path
    templates: dict[tuple[str, Locale], str]
    hash: str  # sha256 over every template file (name and bytes), in a fixed order

    def render(self, purpose: str, locale: Locale, **variables: object) -> str:
        """The template filled in; a missing variable is an error, not a silent blank."""
        return Template(self.templates[(purpose, locale)]).substitute(
            {key: str(value) for key, value in variables.items()})


@lru_cache(maxsize=16)
def load_prompts(directory: Path | None = None) -> PromptSet:
    """Read a prompt directory once (cached per path); every purpose and locale must exist."""
    root = (directory or SHIPPED_DIR).resolve()
    digest = hashlib.sha256()
    templates: dict[tuple[str, Locale], str] = {}
    for purpose in PURPOSES:
        for locale in LOCALES:
            path = root / locale / f"{purpose}.txt"
            if not path.is_file():
                raise FileNotFoundError(f"prompt directory {root} lacks {locale}/{purpose}.txt")
            data = path.read_bytes()
            digest.update(f"{locale}/{purpose}.txt\0".encode() + data + b"\0")
            templates[(purpose, locale)] = data.decode("utf-8")
    return PromptSet(directory=root, templates=templates, hash=digest.hexdigest())
