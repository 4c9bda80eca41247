"""GMO OrderIDs derived from idempotency keys: the reason a retry can never charge twice.

This module only houses the derivation. GMO refuses a second EntryTran with an OrderID the shop has
already used (E01040010), and a GMO transaction carries at most one authorisation. So if the OrderID
is a pure function of the idempotency key, every retry under that key lands on the same GMO
transaction: the adapter finds it (SearchTrade) instead of creating another.

Format: `<prefix><kind><hex>`, exactly 27 characters (GMO's maximum), letters and digits only (GMO
allows letters, digits and `-`). `kind` keeps a card charge and a convenience-store slip made under
the same key apart. The hex part is the start of SHA-256(kind + ":" + key): at least 72 bits with
the longest (8-character) prefix, so two keys meeting on one OrderID is not a practical concern.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

ORDER_ID_LENGTH = 27


class OrderKind(StrEnum):
    CARD = "C"
    KONBINI = "K"


def order_id_for(idempotency_key: str, kind: OrderKind, prefix: str = "") -> str:
    """The GMO OrderID for this key and kind (stable across processes and restarts)."""
    if not idempotency_key:
        raise ValueError("an idempotency key is required")
    digest = hashlib.sha256(f"{kind.value}:{idempotency_key}".encode()).hexdigest()
    body = ORDER_ID_LENGTH - len(prefix) - len(kind.value)
    return f"{prefix}{kind.value}{digest[:body]}"


def kind_of(gmo_order_id: str, prefix: str = "") -> OrderKind | None:
    """Which kind of OrderID this is; None when this adapter (with this prefix) did not make it."""
    if len(gmo_order_id) != ORDER_ID_LENGTH or not gmo_order_id.startswith(prefix):
        return None
    rest = gmo_order_id[len(prefix):]
    for kind in OrderKind:
        if rest.startswith(kind.value) and all(c in "0123456789abcdef" for c in rest[1:]):
            return kind
    return None
