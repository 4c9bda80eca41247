"""The registry of prompt variants served in production, and the weighted choice among them.

This module only houses the registry (the `prompt_variants` table) and the choice. An operator
registers prompt directories under names with integer traffic weights (`chatpay prompts add`);
each new conversation draws one name at random in proportion to the weights and records it on
`Conversation.prompt_variant` for good, so a shopper never sees the prompt change mid-chat and
the funnel can compare variants. A weight of 0 takes a variant out of the draw while the
conversations that already have it keep it. With nothing registered (or every weight 0) no
variant is drawn and the configured prompt directory serves, exactly as without a registry.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from prompts import PromptSet, load_prompts
from tools.store.models import PromptVariant

#: Names end up in funnel keys, URLs and CLI arguments (`NAME=W`): keep them plain.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: The draw is a traffic split, not a secret: a seeded `random.Random` in tests, this otherwise.
_DEFAULT_RNG = random.Random()  # noqa: S311 - not used for security


class VariantError(ValueError):
    """An operator's registry request that cannot be done (the message says why)."""


async def list_variants(session: AsyncSession) -> list[PromptVariant]:
    """Every registered variant, by name."""
    return list(await session.scalars(select(PromptVariant).order_by(PromptVariant.name)))


async def add_variant(session: AsyncSession, name: str, directory: Path,
                      weight: int = 0) -> PromptVariant:
    """Register `directory` (a complete prompt set) as `name`; the name must be new."""
    if not NAME_PATTERN.fullmatch(name):
        raise VariantError(f"invalid variant name {name!r}: letters, digits, '_', '.', '-' "
                           "(at most 64, starting with a letter or digit)")
    _check_weight(name, weight)
    try:
        prompt_set = load_prompts(directory)
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise VariantError(f"not a prompt directory: {exc}") from None
    if await session.get(PromptVariant, name) is not None:
        # A recorded name must keep meaning the same prompts: no re-pointing an existing one.
        raise VariantError(f"variant {name!r} exists already; register the new directory under "
                           "another name and set the old one's weight to 0")
    variant = PromptVariant(name=name, directory=str(prompt_set.directory),
                            prompt_hash=prompt_set.hash, weight=weight)
    session.add(variant)
    await session.flush()
    return variant


async def set_weights(session: AsyncSession, weights: Mapping[str, int]) -> list[PromptVariant]:
    """Set the weights of registered variants (all or nothing); returns the whole registry."""
    for name, weight in weights.items():
        _check_weight(name, weight)
    rows = {row.name: row for row in await list_variants(session)}
    unknown = sorted(set(weights) - set(rows))
    if unknown:
        raise VariantError(f"no such variant: {', '.join(unknown)}")
    for name, weight in weights.items():
        rows[name].weight = weight
    await session.flush()
    return list(rows.values())


def choose(variants: Sequence[PromptVariant], rng: random.Random | None = None) -> str | None:
    """A variant name drawn in proportion to the weights; None when no weight is positive."""
    drawn = [v for v in variants if v.weight > 0]
    if not drawn:
        return None
    return (rng or _DEFAULT_RNG).choices([v.name for v in drawn],
                                         weights=[v.weight for v in drawn], k=1)[0]


async def choose_variant(session: AsyncSession, rng: random.Random | None = None) -> str | None:
    """The variant for a new conversation, read from the registry as it is now."""
    rows = await session.scalars(select(PromptVariant).where(PromptVariant.weight > 0)
                                 .order_by(PromptVariant.name))
    return choose(list(rows), rng)


async def variant_prompts(session: AsyncSession, name: str) -> PromptSet | None:
    """The prompt set a conversation's recorded variant stands for (None if gone or unreadable)."""
    variant = await session.get(PromptVariant, name)
    if variant is None:
        return None
    try:
        return load_prompts(Path(variant.directory))
    except (FileNotFoundError, UnicodeDecodeError):
        # A directory deleted under a running service must not turn every reply into a 500.
        return None


async def names_by_hash(session: AsyncSession) -> dict[str, list[str]]:
    """Registered names per prompt hash (as registered), to label eval runs of the same prompts."""
    found: dict[str, list[str]] = {}
    for variant in await list_variants(session):
        found.setdefault(variant.prompt_hash, []).append(variant.name)
    return found


def _check_weight(name: str, weight: int) -> None:
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
        raise VariantError(f"weight of {name!r} must be a non-negative integer, not {weight!r}")
