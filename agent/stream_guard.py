"""Redacting assistant text while it streams.

This module only houses `RedactingStream`. The model never sees a card number, but the reply is
still its text, and a streamed reply reaches the shopper's screen piece by piece, before the turn
can look at the whole. So the same `redact` that guards everything else runs over the text received
so far, and a trailing run that could still grow into a card number (digits, full-width digits,
separators, invisible characters) is held back until the next piece shows what it is. Nothing
shown is ever taken back: should redacting a longer text change what was already sent, the stream
stops forwarding and the turn's final events, redacted as a whole, carry the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.redaction import redact

#: A tail that may be the start of a card number, security code or expiry date.
_OPEN_TAIL = re.compile(r"[\d\s\-‐‑‒–—―ー－.．・/／_\u200b-\u200d\u2060\ufeff]+\Z")


@dataclass
class RedactingStream:
    """Feed it text deltas; it returns what may be shown now."""

    _received: str = ""
    _sent: str = ""
    _stopped: bool = False

    def feed(self, delta: str) -> str:
        """The newly safe text after `delta` arrived ("" when everything new is held back)."""
        self._received += delta
        tail = _OPEN_TAIL.search(self._received)
        return self._release(self._received[: tail.start()] if tail else self._received)

    def flush(self) -> str:
        """Whatever is left once the model has finished."""
        return self._release(self._received)

    def _release(self, ready: str) -> str:
        if self._stopped:
            return ""
        safe = redact(ready).text
        if not safe.startswith(self._sent):
            self._stopped = True  # would rewrite shown text: leave the rest to the final events
            return ""
        new = safe[len(self._sent):]
        self._sent = safe
        return new
