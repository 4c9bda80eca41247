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


def shown_before_flush(text: str) -> str:
    guard = RedactingStream()
    return "".join(guard.feed(char) for char in text)


@pytest.mark.parametrize(("text", "secret"), [
    ("Thanks. 123 is your CVC, keep it safe.", "123"),  # a code before its word
    ("Noted 12/29 as the expiry date of it.", "12/29"),  # a date before its word
    ("セキュリティコードは一二三です。", "一二"),  # kanji digits
    ("番号は四一一一一一一一一一一一一一一一です。", "一一一一"),
    ("card 4111\\u200b1111\\u200b1111\\u200b1111 ok", "1111"),  # an escaped zero-width space
    ("card 4111\x001111\x001111\x001111 ok", "1111"),  # NUL, which storing strips
    ("x" * 400 + " 123" + "\u200b" * 500 + " is your CVC.", "123"),  # padded with invisibles
])
def test_digits_a_later_piece_makes_card_data_are_never_shown(text: str, secret: str) -> None:
    assert secret not in shown_before_flush(text)
    result = run(list(text))
    assert secret not in result and "removed]" in result


def test_text_far_enough_after_a_digit_is_released() -> None:
    text = "We have 3 green teas. " + "They are all organic and come in tins. " * 4
    shown = shown_before_flush(text)
    assert shown.startswith("We have 3 green teas.")
    assert run(list(text)) == text
