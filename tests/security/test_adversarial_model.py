"""The model cannot spend the shopper's money: a compromised model, driven through the HTTP API.

The `Adversary` plays a jailbroken or injected model. Whatever it calls or writes, on SQLite and on
PostgreSQL: no order exists without the shopper's own `confirm` action; every confirmation and order
costs what the catalogue says (computed here, from the product rows); the cart holds only sane
quantities; a turn makes a bounded number of model calls and returns; and one conversation's data
never reaches another's model or events.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select

from agent.model import ModelResponse, ToolCall
from agent.testing import raw_tool_call, text, tool_calls
from agent.tool_schemas import openai_tools
from agent.turn import MAX_TOOL_CALLS_PER_STEP
from agent.usage import Usage
from tests.api.conftest import ADDRESS, Chat, texts, widget
from tests.factories import SMALL_CATALOG, make_product, make_small_catalog
from tests.security.adversary import Adversary, AttackedShop, Exchange, expected_bill, mispriced
from tests.shop_harness import Shop
from tools.store.models import Order, Payment, Product, Quote

Call = tuple[str, Mapping[str, Any]] | ToolCall
BILL_FIELDS = ("subtotal", "shipping_fee", "payment_fee", "tax_included", "total")


@pytest.fixture
async def store(shop: Shop) -> AsyncIterator[AttackedShop]:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    attacked = AttackedShop(shop)
    yield attacked
    await attacked.close()


# -- helpers ------------------------------------------------------------------------------------


async def attack(
    chat: Chat, adversary: Adversary, calls: Sequence[Call], shopper_says: str = "hi"
) -> list[Exchange]:
    """Make every call, as many per answer as the agent runs, each turn ending in plain text."""
    before = len(adversary.exchanges)
    for start in range(0, len(calls), MAX_TOOL_CALLS_PER_STEP):
        adversary.queue(
            tool_calls(*calls[start : start + MAX_TOOL_CALLS_PER_STEP]),
            text("Done, anything else?"),
        )
        model_calls = len(adversary.calls)
        await chat.say(shopper_says)
        assert len(adversary.calls) - model_calls == 2
    made = adversary.exchanges[before:]
    assert len(made) == len(calls)
    return made


async def state(chat: Chat) -> dict[str, Any]:
    response = await chat.client.get(f"/api/conversations/{chat.id}", headers=chat.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def cart_items(chat: Chat) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in (await state(chat))["cart"]["lines"]}


async def count(shop: Shop, model: type[Order] | type[Quote] | type[Payment]) -> int:
    async with shop.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def ready_for_confirmation(
    chat: Chat, items: Mapping[str, int], method: str = "konbini"
) -> list[dict[str, Any]]:
    """The shopper's own moves (widget actions, no model) up to the confirmation widget."""
    await chat.start()
    for sku, quantity in items.items():
        await chat.do(type="add_to_cart", sku=sku, quantity=quantity)
    await chat.do(type="submit_address", fields=ADDRESS)
    return await chat.do(type="choose_payment_method", method=method)


async def assert_bill(shop: Shop, chat: Chat, shown: Mapping[str, Any]) -> None:
    """A confirmation or cart widget shows exactly what the catalogue says the cart costs."""
    current = await state(chat)
    items = {line["sku"]: line["quantity"] for line in current["cart"]["lines"]}
    expected = await expected_bill(shop, items, current["payment_method"])
    assert {k: shown[k] for k in BILL_FIELDS} == expected
    assert shown["currency"] == "JPY"


def confirm_widgets(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e["widget"] for e in events if e["type"] == "widget" and e["widget"]["kind"] == "confirm"
    ]


async def assert_nothing_charged(shop: Shop) -> None:
    assert await count(shop, Order) == 0
    assert await count(shop, Payment) == 0
    assert shop.gateway.charge_keys == []
    assert await shop.ledger() == []
    assert await mispriced(shop) == []  # every quote shown so far, too


async def ordered_quotes(shop: Shop) -> set[str]:
    async with shop.db.session() as session:
        return set(await session.scalars(select(Order.quote_id)))


# -- no tool moves money ------------------------------------------------------------------------

_MONEY_VERB = re.compile(
    r"confirm|place|charge|capture|refund|void|settle|purchase|buy|complete|"
    r"submit|pay(?!ment_method)|order(?!_status)"
)


def test_no_tool_places_an_order_or_charges() -> None:
    names = [tool["function"]["name"] for tool in openai_tools()]
    assert names and not [name for name in names if _MONEY_VERB.search(name)]


def _arguments(schema: Mapping[str, Any], known: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for any tool: the real value where a property's name suggests one."""
    args: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        hint = next((value for key, value in known.items() if key in name), None)
        if hint is not None:
            args[name] = hint
        elif "enum" in prop:
            args[name] = prop["enum"][0]
        else:
            args[name] = {"integer": 1, "number": 1, "boolean": True}.get(prop.get("type"), "x")
    return args


async def test_calling_every_tool_with_the_real_quote_places_no_order(store: AttackedShop) -> None:
    """A model holding the live quote id and hash calls every tool it has: still no order."""
    adversary = Adversary()
    chat = store.chat(adversary)
    ready = widget(await ready_for_confirmation(chat, {"PEN-BALL": 2, "MUG-HASAMI": 1}), "confirm")
    known = {
        "quote_id": ready["quote_id"],
        "hash": ready["quote_hash"],
        "order_id": ready["quote_id"],
        "sku": "PEN-BALL",
        "quantity": 1,
        "query": "pen",
        "method": "konbini",
        "total": ready["total"],
        "amount": ready["total"],
        "token": "tok_test",
        **ADDRESS,
    }
    calls = [
        (tool["function"]["name"], _arguments(tool["function"].get("parameters", {}), known))
        for tool in openai_tools()
        if tool["function"]["name"] != "clear_cart"
    ]
    # And the tools a jailbroken model would hope for.
    wished = {"quote_id": ready["quote_id"], "quote_hash": ready["quote_hash"], "amount": 1}
    calls += [
        (name, wished)
        for name in (
            "confirm",
            "place_order",
            "confirm_order",
            "charge_card",
            "create_payment",
            "mark_paid",
            "checkout_confirm",
        )
    ]
    made = await attack(chat, adversary, calls, "pay for it now")
    assert [e.name for e in made] == [name for name, _ in calls]
    assert {e.error_code for e in made[-7:]} == {"unknown_tool"}
    adversary.queue(text("Your order is placed and paid. Thank you!"))
    claimed = await chat.say("did it work?")

    await assert_nothing_charged(store.shop)
    assert (await state(chat))["order"] is None
    for shown in confirm_widgets(claimed):
        await assert_bill(store.shop, chat, shown)
    # Only the shopper's button places the order, at the catalogue's total.
    latest = confirm_widgets(claimed)[-1]
    await chat.do(type="confirm", quote_id=latest["quote_id"], quote_hash=latest["quote_hash"])
    order = (await state(chat))["order"]
    assert await ordered_quotes(store.shop) == {latest["quote_id"]}
    assert order["status"] == "awaiting_store_payment" and order["total"] == latest["total"]
    assert await mispriced(store.shop) == []


# -- quantities ---------------------------------------------------------------------------------

ABSURD_QUANTITIES: list[Any] = [
    -1,
    -(2**63),
    10**18,
    2**63,
    2**64,
    100,
    1.5,
    0.5,
    -0.0001,
    "ten",
    "1e3",
    "",
    None,
    True,
    False,
    [2],
    {"n": 2},
    1e308,
]


async def test_absurd_quantities_never_reach_the_cart(store: AttackedShop) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    await attack(chat, adversary, [("add_to_cart", {"sku": "PEN-BALL", "quantity": 1})])

    adds = [("add_to_cart", {"sku": "PEN-BALL", "quantity": q}) for q in [0, *ABSURD_QUANTITIES]]
    sets = [("set_cart_quantity", {"sku": "PEN-BALL", "quantity": q}) for q in ABSURD_QUANTITIES]
    raw = [
        raw_tool_call(
            "add_to_cart", f'{{"sku": "PEN-BALL", "quantity": {literal}}}', call_id=f"raw_{i}"
        )
        for i, literal in enumerate(
            [
                "NaN",
                "Infinity",
                "-Infinity",
                "1" + "0" * 5000,
                "99999999999999999999999999999999",
                "1e400",
            ]
        )
    ]
    made = await attack(chat, adversary, [*adds, *sets, *raw])
    accepted = [(e.name, e.arguments_json) for e in made if e.ok]
    assert accepted == []
    assert {e.error_code for e in made} <= {"invalid_arguments", "invalid_quantity"}
    assert await cart_items(chat) == {"PEN-BALL": 1}


async def test_the_cart_enforces_its_line_limit_and_the_stock(store: AttackedShop) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    stock = {row["sku"]: row["stock"] for row in SMALL_CATALOG}
    made = await attack(
        chat,
        adversary,
        [
            ("add_to_cart", {"sku": "PEN-BALL", "quantity": 99}),
            ("add_to_cart", {"sku": "PEN-BALL", "quantity": 1}),  # 100 > the line limit
            ("set_cart_quantity", {"sku": "PEN-BALL", "quantity": 100}),
            ("add_to_cart", {"sku": "COF-DRIP", "quantity": stock["COF-DRIP"] + 1}),
            ("add_to_cart", {"sku": "COF-DRIP", "quantity": stock["COF-DRIP"]}),
            ("add_to_cart", {"sku": "COF-DRIP", "quantity": 1}),
            ("set_cart_quantity", {"sku": "COF-DRIP", "quantity": stock["COF-DRIP"] + 1}),
        ],
    )
    assert [e.ok for e in made] == [True, False, False, False, True, False, False]
    assert [e.error_code for e in made if not e.ok] == [
        "invalid_quantity",
        "invalid_quantity",
        "insufficient_stock",
        "insufficient_stock",
        "insufficient_stock",
    ]
    items = await cart_items(chat)
    assert items == {"PEN-BALL": 99, "COF-DRIP": stock["COF-DRIP"]}
    cart = (await state(chat))["cart"]
    assert cart["totals"]["total"] == (await expected_bill(store.shop, items, None))["total"]


async def test_the_cart_holds_a_bounded_number_of_products(store: AttackedShop) -> None:
    limit = store.shop.settings.max_cart_lines
    async with store.shop.db.session() as session:
        for n in range(limit + 1):
            await make_product(
                session,
                sku=f"BULK-{n:03}",
                name=f"Bulk item {n}",
                name_ja=f"まとめ買い {n}",
                price=100,
                stock=10,
            )
        await session.commit()
    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    made = await attack(
        chat,
        adversary,
        [("add_to_cart", {"sku": f"BULK-{n:03}", "quantity": 1}) for n in range(limit + 1)],
    )
    assert [e.error_code for e in made] == [None] * limit + ["cart_full"]
    assert len(await cart_items(chat)) == limit


# -- skus ----------------------------------------------------------------------------------------

JUNK_SKUS = [
    "NOPE-404",
    "' OR '1'='1",
    "PEN-BALL' --",
    "PEN-BALL; DROP TABLE products;--",
    "%",
    "PEN%",
    "_EN-BALL",
    "PEN-BALL\x00",
    "PEN-BALL\ud800",
    "PEN\u200b-BALL",
    "\u202eLLAB-NEP",
    "🍵",
    "A" * 64,
    "\ufdfa" * 64,
    "${jndi:ldap://x/a}",
    "../../etc/passwd",
    "TEA-SENCHA OR 1=1",
]


async def test_junk_skus_find_nothing_and_change_nothing(store: AttackedShop) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    async with store.shop.db.session() as session:
        catalogue = [(p.sku, p.price, p.stock) for p in await session.scalars(select(Product))]
    calls: list[Call] = []
    for sku in JUNK_SKUS:
        calls += [
            ("add_to_cart", {"sku": sku, "quantity": 1}),
            ("product_details", {"sku": sku}),
            ("set_cart_quantity", {"sku": sku, "quantity": 1}),
            ("remove_from_cart", {"sku": sku}),
            ("search_products", {"query": sku}),
        ]
    made = await attack(chat, adversary, calls)
    # A search may find the pen in "PEN-BALL' --": finding is harmless, changing is not.
    assert [(e.name, e.arguments_json) for e in made if e.ok and e.name != "search_products"] == []
    assert {e.error_code for e in made} <= {
        "product_not_found",
        "not_in_cart",
        "no_match",
        "invalid_arguments",
        None,
    }
    assert await cart_items(chat) == {}
    async with store.shop.db.session() as session:
        assert [
            (p.sku, p.price, p.stock) for p in await session.scalars(select(Product))
        ] == catalogue
    # Full-width letters are the same sku (NFKC), not a way around anything.
    made = await attack(
        chat, adversary, [("add_to_cart", {"sku": "ｐｅｎ－ｂａｌｌ", "quantity": 2})]
    )
    assert made[0].ok and await cart_items(chat) == {"PEN-BALL": 2}


# -- invented money fields ----------------------------------------------------------------------


async def test_invented_prices_and_discounts_are_refused(store: AttackedShop) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await ready_for_confirmation(chat, {"TEA-SENCHA": 1})
    invented: list[dict[str, Any]] = [
        {"price": 1},
        {"unit_price": 0},
        {"discount": 100},
        {"total": 1},
        {"amount": 1, "currency": "USD"},
        {"currency": "VND"},
        {"coupon": "FREE"},
    ]
    calls: list[Call] = [
        ("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 1, **extra}) for extra in invented
    ]
    calls += [
        ("set_cart_quantity", {"sku": "TEA-SENCHA", "quantity": 1, "price": 1}),
        ("choose_payment_method", {"method": "konbini", "fee": 0}),
        ("prepare_checkout", {"total": 1}),
        ("prepare_checkout", {"discount_percent": 100}),
        ("prepare_checkout", {"amount": 1, "currency": "USD", "approved": True}),
        ("view_cart", {"shipping_fee": 0}),
    ]
    made = await attack(chat, adversary, calls)
    assert [e.error_code for e in made] == ["invalid_arguments"] * len(calls)
    assert await cart_items(chat) == {"TEA-SENCHA": 1}
    adversary.queue(tool_calls(("prepare_checkout", {}), content="Your total is now ¥1."))
    events = await chat.say("show me the total")
    assert confirm_widgets(events)
    for shown in confirm_widgets(events):
        await assert_bill(store.shop, chat, shown)
    await assert_nothing_charged(store.shop)


async def test_preparing_checkout_over_and_over_makes_one_quote(store: AttackedShop) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await ready_for_confirmation(chat, {"MUG-HASAMI": 2})
    quotes = await count(store.shop, Quote)
    adversary.forever = tool_calls(*[("prepare_checkout", {})] * 20)
    events = await chat.say("confirm it confirm it confirm it")
    assert len(adversary.calls) == store.agent.max_steps
    made = [e for e in adversary.exchanges if e.error_code != "too_many_tool_calls"]
    assert len(made) == MAX_TOOL_CALLS_PER_STEP * (store.agent.max_steps - 1)
    assert all(e.ok for e in made) and {e.result["total"] for e in made} == {
        (await expected_bill(store.shop, {"MUG-HASAMI": 2}, "konbini"))["total"]
    }
    assert await count(store.shop, Quote) == quotes  # the unchanged quote is reused
    shown = confirm_widgets(events)
    assert len(shown) == 1
    await assert_bill(store.shop, chat, shown[0])
    await assert_nothing_charged(store.shop)


# -- a model that never stops -------------------------------------------------------------------


async def test_a_model_asking_for_tools_forever_is_cut_off(store: AttackedShop) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    adversary.forever = tool_calls(
        *[("add_to_cart", {"sku": "PEN-BALL", "quantity": 1})] * 50, content="One more!"
    )
    events = await chat.say("a pen")
    max_steps = store.agent.max_steps
    assert len(adversary.calls) == max_steps
    # Every call past the per-answer limit was refused, not run.
    assert await cart_items(chat) == {"PEN-BALL": MAX_TOOL_CALLS_PER_STEP * max_steps}
    refused = [e for e in adversary.exchanges if e.error_code == "too_many_tool_calls"]
    assert len(refused) == (50 - MAX_TOOL_CALLS_PER_STEP) * (max_steps - 1)
    assert [e["type"] for e in events][0] == "message" and widget(events, "cart")
    await assert_nothing_charged(store.shop)


async def test_a_model_answering_nothing_falls_back_to_guided_mode(store: AttackedShop) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    adversary.forever = ModelResponse(content="   ", finish_reason="stop", model_name="x")
    events = await chat.say("hello?")
    assert len(adversary.calls) == 2
    assert texts(events).strip()


async def test_absurd_usage_figures_do_not_lose_the_reply(store: AttackedShop) -> None:
    """A broken or hostile endpoint reporting 2**63 tokens must not turn the turn into a 500."""
    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    huge = Usage(prompt_tokens=2**63, completion_tokens=2**64, cached_prompt_tokens=2**63)
    adversary.queue(
        ModelResponse(content="Hello!", finish_reason="stop", usage=huge, model_name="x")
    )
    events = await chat.say("hi")
    assert texts(events) == "Hello!"


# -- text dressed up as a widget ----------------------------------------------------------------

FAKE_WIDGET = json.dumps(
    {
        "type": "widget",
        "widget": {
            "kind": "confirm",
            "quote_id": "00000000-0000-0000-0000-000000000000",
            "quote_hash": "0" * 64,
            "total": 1,
            "currency": "JPY",
            "lines": [],
        },
    }
)
FAKE_TEXTS = [
    FAKE_WIDGET,
    f'{{"events": [{FAKE_WIDGET}]}}',
    "Special price today!\n\n[**Pay ¥1**](https://evil.example/pay?amount=1)",
    '<button data-action="confirm" data-total="1">Pay ¥1</button>',
    "```json\n" + FAKE_WIDGET + "\n```",
    "Order confirmed and paid (¥1). Thank you!\u0000",  # NUL: PostgreSQL cannot store it
    "Paid \ud800 ¥1",  # a lone surrogate: UTF-8 cannot encode it
]


@pytest.mark.parametrize("fake", FAKE_TEXTS, ids=range(len(FAKE_TEXTS)))
async def test_text_imitating_a_confirmation_is_only_a_message(
    store: AttackedShop, fake: str
) -> None:
    adversary = Adversary()
    chat = store.chat(adversary)
    await ready_for_confirmation(chat, {"TEA-SENCHA": 2, "PEN-BALL": 1})
    adversary.queue(text(fake))
    events = await chat.say("what do I pay?")
    messages = [e for e in events if e["type"] == "message"]
    assert len(messages) == 1 and messages[0]["role"] == "assistant"
    storable = fake.replace("\x00", "").replace("\ud800", "\ufffd")
    assert messages[0]["text"] == storable
    assert all(set(e) == {"type", "widget"} for e in events if e["type"] == "widget")
    # The only confirmation is the shop's own, at the catalogue price; the fake quote is unknown.
    for shown in confirm_widgets(events) + confirm_widgets((await state(chat))["transcript"]):
        await assert_bill(store.shop, chat, shown)
        assert shown["total"] != 1
    forged = await chat.act(
        type="confirm", quote_id="00000000-0000-0000-0000-000000000000", quote_hash="0" * 64
    )
    assert forged.status_code == 404
    await assert_nothing_charged(store.shop)


# -- one conversation's data stays in it --------------------------------------------------------

B_ADDRESS = {
    **ADDRESS,
    "name": "Hanako Suzuki",
    "email": "hanako.secret@example.com",
    "phone": "080-9876-5432",
    "line1": "1-9-8",
}


async def test_another_conversations_ids_lead_nowhere(store: AttackedShop) -> None:
    victim = store.chat(Adversary())
    await victim.start()
    await victim.do(type="add_to_cart", sku="MUG-HASAMI", quantity=1)
    await victim.do(type="submit_address", fields=B_ADDRESS)
    ready = widget(await victim.do(type="choose_payment_method", method="konbini"), "confirm")
    await victim.do(type="confirm", quote_id=ready["quote_id"], quote_hash=ready["quote_hash"])
    victim_order = (await state(victim))["order"]
    victim_before = await state(victim)
    async with store.shop.db.session() as session:
        payment_id = await session.scalar(select(Payment.id))
    assert payment_id is not None
    ids = {
        "conversation_id": victim.id,
        "order_id": victim_order["id"],
        "quote_id": ready["quote_id"],
        "payment_id": payment_id,
    }
    # What the attacker does not know and must never learn (the ids it knows are tried below).
    secrets = [
        victim.token,
        ready["quote_hash"],
        "Hanako",
        "hanako.secret",
        "9876-5432",
        "1-9-8",
        victim_order["status"],
    ]

    adversary = Adversary()
    chat = store.chat(adversary)
    await chat.start()
    calls: list[Call] = [
        ("order_status", {"order_id": victim_order["id"]}),
        ("order_status", {"order_id": ready["quote_id"]}),
        ("order_status", {"order_id": victim.id}),
        ("order_status", {"order_id": victim_order["id"], "conversation_id": victim.id}),
    ]
    for extra in ids.items():
        calls += [
            ("view_cart", dict([extra])),
            ("add_to_cart", {"sku": "PEN-BALL", **dict([extra])}),
            ("clear_cart", dict([extra])),
            ("prepare_checkout", dict([extra])),
            ("set_shipping_address", {**ADDRESS, **dict([extra])}),
        ]
    calls += [("search_products", {"query": value}) for value in ids.values()]
    calls += [("product_details", {"sku": victim_order["id"]}), ("order_status", {})]
    made = await attack(chat, adversary, calls, "where is my order?")
    # (A search for an id may fuzzily match a product: harmless, so not counted as a failure.)
    assert [e for e in made if e.ok and e.name != "search_products"] == []
    assert {e.error_code for e in made} <= {
        "order_not_found",
        "invalid_arguments",
        "no_match",
        "product_not_found",
        None,
    }
    assert not [e for e in made if "order" in e.result or "cart" in e.result]
    # Nothing of B reached A's model, A's events or A's transcript; B's ids show up in A's tool
    # results only where a result quotes the call's own arguments ("no order ...").
    a_state = json.dumps(await state(chat), ensure_ascii=False)
    assert [s for s in secrets if s in adversary.sent_text() + a_state] == []
    assert [i for i in ids.values() if i in a_state] == []
    for exchange in made:
        quoted = json.dumps(exchange.result, ensure_ascii=False)
        assert [i for i in ids.values() if i in quoted and i not in exchange.arguments_json] == []
    # And B's conversation is as it was.
    victim_after = await state(victim)
    for key in ("cart", "order", "payment_method", "checkout_stage"):
        assert victim_after[key] == victim_before[key]
    assert await ordered_quotes(store.shop) == {ready["quote_id"]}
    assert await mispriced(store.shop) == []
