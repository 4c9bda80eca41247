"""`RedactingStream`: streamed assistant text never shows a card number, whatever the split."""

from __future__ import annotations

import pytest

from agent.stream_guard import RedactingStream

CARD = "4111 1111 1111 1111"


def run(pieces: list[str]) -> str:
    guard = RedactingStream()
    shown = "".join(guard.feed(piece) for piece in pieces)
    return shown + guard.flush()


def test_plain_text_comes_through_whole() -> None:
    text = "We have 3 green teas from ¥1,200; delivery takes 2-3 days."
    pieces = [text[i:i + 5] for i in range(0, len(text), 5)]
    assert run(pieces) == text


def test_plain_text_is_released_as_it_arrives() -> None:
    guard = RedactingStream()
    assert guard.feed("Hello ") == "Hello"  # the trailing space waits for the next piece
    assert guard.feed("there.") == " there"  # a dot may be a separator inside a number
    assert guard.flush() == "."


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 11])
def test_a_card_number_split_anywhere_is_never_shown(size: int) -> None:
    text = f"Your card {CARD} expires 12/29, CVC 123. Thanks!"
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    guard = RedactingStream()
    shown = []
    for piece in pieces:
        shown.append(guard.feed(piece))
        assert "1111" not in "".join(shown)
    shown.append(guard.flush())
    result = "".join(shown)
    assert "4111" not in result and "1111" not in result
    assert result.startswith("Your card [card number removed]")


def test_full_width_digits_are_held_too() -> None:
    text = "カード番号は４１１１　１１１１　１１１１　１１１１です"
    result = run([text[i:i + 3] for i in range(0, len(text), 3)])
    assert "１１１１" not in result and "[card number removed]" in result
