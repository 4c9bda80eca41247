"""pass^k against hand-computed values, and token counts for a model that reports none."""

from __future__ import annotations

import pytest

from agent.testing import text
from evals.capture import ModelExchange, RecordingModel
from evals.metrics import (
    count_completion_tokens,
    count_prompt_tokens,
    count_text,
    pass_hat_k,
    pass_hat_ks,
    tokenizer_name,
)

# Three scenarios, four runs each: 3, 4 and 1 passes.
OUTCOMES = [(4, 3), (4, 4), (4, 1)]


@pytest.mark.parametrize(("k", "expected"), [
    (1, (3 / 4 + 1 + 1 / 4) / 3),        # the plain pass rate: 2/3
    (2, (3 / 6 + 1 + 0 / 6) / 3),        # C(3,2)/C(4,2) = 3/6, C(4,2)/C(4,2) = 1, C(1,2) = 0
    (3, (1 / 4 + 1 + 0) / 3),            # C(3,3)/C(4,3) = 1/4
    (4, (0 + 1 + 0) / 3),                # only the always-passing scenario
])
def test_pass_hat_k_matches_hand_computed_values(k: int, expected: float) -> None:
    assert pass_hat_k(OUTCOMES, k) == pytest.approx(expected)


def test_pass_hat_k_falls_as_k_grows_and_is_reported_per_k() -> None:
    figures = pass_hat_ks(OUTCOMES, 4)
    assert figures == {"1": 0.6667, "2": 0.5, "3": 0.4167, "4": 0.3333}
    assert pass_hat_ks([(1, 1), (1, 0)], 1) == {"1": 0.5}


def test_pass_hat_k_refuses_impossible_inputs() -> None:
    with pytest.raises(ValueError, match="at least 3 runs"):
        pass_hat_k([(2, 2)], 3)
    with pytest.raises(ValueError, match="between 0 and runs"):
        pass_hat_k([(2, 3)], 1)
    with pytest.raises(ValueError, match="at least 1"):
        pass_hat_k([(2, 2)], 0)


def test_tokens_are_counted_with_the_o200k_vocabulary() -> None:
    assert tokenizer_name() == "bpe-openai:o200k_base"
    assert count_text("hello world") == 2
    # 3 to prime the answer + 3 per message + "user" (1) + "hello world" (2)
    assert count_prompt_tokens([{"role": "user", "content": "hello world"}], []) == 9
    call = {"id": "c1", "type": "function", "function": {"name": "view_cart", "arguments": "{}"}}
    assert count_completion_tokens(None, [call]) == 3 + count_text("view_cart") + count_text("{}")


async def test_usage_is_counted_only_when_the_model_reports_none() -> None:
    silent = RecordingModel(_Fixed(text("hi there")))  # test models report no usage
    await silent.request([{"role": "user", "content": "hello world"}], [])
    prompt, completion, counted = silent.exchanges[0].tokens()
    assert (prompt, completion, counted) == (9, count_text("hi there"), True)

    reported = ModelExchange(messages=[{"role": "user", "content": "hello world"}], tools=[],
                             content="hi", reported_prompt_tokens=900,
                             reported_completion_tokens=20)
    assert reported.tokens() == (900, 20, False)


class _Fixed:
    """Answers every request with one response (and reports no usage)."""

    name = "fixed"

    def __init__(self, response: object) -> None:
        self.response = response

    async def request(self, messages: object, tools: object, *, settings: object = None) -> object:
        return self.response
