"""Redacting assistant text while it streams.

This module only houses `RedactingStream`. The model never sees a card number, but the reply is
still its text, and a streamed reply reaches the shopper's screen piece by piece, before the turn
can look at the whole. So the same `redact` that guards everything else runs over the text received
so far, and only text whose redaction no later piece can change is shown:

* a trailing run that could still grow into a card number (digits, separators, invisible
  characters) waits for the next piece to show what it is;
* anything from a digit on (any script: the view `redact` reads folds them to ASCII; kanji digits
  next to another or at the end; a backslash or percent sign that may begin an escaped digit) waits
  until `_SETTLED_AFTER` characters follow it. A later word can still make digits card data: "123
  is your CVC" (a code or date up to 24 characters before its word), or a number read as a card
  only with card words within 60 characters after it.

Nothing shown is ever taken back: should redacting a longer text still change what was already
sent, the stream stops forwarding and the turn's final events, redacted as a whole, carry the reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.redaction import redact
from agent.redaction.normalized import normalize

#: A tail that may be the start of a card number, security code or expiry date.
_OPEN_TAIL = re.compile(r"[\d\s\-‐‑‒–—―ー－.．・/／_\u200b-\u200d\u2060\ufeff]+\Z")
_KANJI = "〇零一二三四五六七八九"
#: In the normalised view: a digit, a kanji digit that a run of them may continue ("一つ" cannot
#: become card data, "一二三" can), or the start of an escape that may stand for a digit.
_DIGIT_LIKE = re.compile(rf"[0-9\\%]|[{_KANJI}](?=[\s\-./_+ーｰ・･·,、､]*(?:[{_KANJI}]|\Z))")
#: How far past a digit (view characters) a later word may still change its redaction: card words
#: within 60 characters, or a code 24 characters before its word, plus the longest such word.
_SETTLED_AFTER = 100


@dataclass
class RedactingStream:
    """Feed it text deltas; it returns what may be shown now."""

    _received: str = ""
    _sent: str = ""
    _stopped: bool = False

    def feed(self, delta: str) -> str:
        """The newly safe text after `delta` arrived ("" when everything new is held back)."""
        self._received += delta
        ready = self._received[: self._settled_end()]
        tail = _OPEN_TAIL.search(ready)
        return self._release(ready[: tail.start()] if tail else ready)

    def flush(self) -> str:
        """Whatever is left once the model has finished."""
        return self._release(self._received)

    def _settled_end(self) -> int:
        """Where the text ends that no later piece can redact differently (an original index)."""
        # Only the tail matters; normalising it alone keeps each delta's cost flat. Its first
        # characters may read differently (an escape cut in half), so at least another
        # `_SETTLED_AFTER` characters of view must lie before the ones searched.
        start = max(0, len(self._received) - 4 * _SETTLED_AFTER)
        view = normalize(self._received[start:])
        if start and len(view.text) < 2 * _SETTLED_AFTER:  # mostly invisible characters
            start, view = 0, normalize(self._received)
        digit = _DIGIT_LIKE.search(view.text, max(0, len(view.text) - _SETTLED_AFTER))
        if digit is None:
            return len(self._received)
        return start + view.to_original(digit.start(), digit.start())[0]

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
