"""The offline model: a deterministic, rule-based stand-in for an LLM, the embedded default.

It speaks the OpenAI Chat Completions protocol (`create_offline_app`, an ASGI app reached in-process
through `httpx.ASGITransport`, or served with `python -m agent.offline`) and decides only from the
messages it is sent: the system prompt, the history, this turn's tool results and the checkout
state block. It never reads the database, so it proves that the prompt and the tool results carry
what a real model would need. It understands core shopping talk in English and Japanese.

The package, one concept per module:

* `app`            - the ASGI app (routes, 400s in OpenAI's error shape, tool filtering)
* `protocol`       - request/response shapes, ids from a hash of the request
* `tokens`         - `usage` token counts (o200k_base via bpe-openai, or an estimate)
* `conversation`   - reading messages, state block and tool results
* `language`       - en/ja detection, text folding, quantities ("two", "3つ", "二個")
* `intents`        - one message → intent (priority-ordered rules) and its entities
* `entities`       - the items of a message: product phrase, quantity, reference, size
* `products`       - shop vocabulary and product references ("the cheaper one", "それ")
* `address_text`   - a free-text address → `set_shipping_address` fields
* `decision`       - the answer type and the turn context
* `policy`         - intent + state → text and/or tool calls (routing and turn rules)
* `shopping`, `questions`, `checkout_flow`, `recovery` - the plans, by topic
* `replies`        - bilingual reply texts
"""

from agent.offline.app import DEFAULT_MODEL_NAME, create_offline_app
from agent.offline.conversation import Conversation, read_conversation
from agent.offline.decision import Decision, PlannedCall
from agent.offline.policy import decide

__all__ = [
    "DEFAULT_MODEL_NAME",
    "Conversation",
    "Decision",
    "PlannedCall",
    "create_offline_app",
    "decide",
    "read_conversation",
]
