"""Shopper bearer tokens: one per conversation, stored only as a SHA-256 hash, compared in constant time.

The token is 256 bits from `secrets`, so a plain (unsalted) SHA-256 is enough: there is nothing to
brute-force, and the hash only keeps a database leak from turning into conversation access.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return bool(stored_hash) and hmac.compare_digest(hash_token(token), stored_hash)
