"""A shopper in a real browser: chat, widgets, the gateway's card frame, 3-D Secure, receipts.

Every step waits for something the shopper would see (a widget, a text, an enabled button) or for
the page to report that no request is in flight (`#log[aria-busy=false]`); nothing waits for time.
Each finished purchase leaves a screenshot in var/artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.web.conftest import PHONE, Server, require_browser

require_browser()
from playwright.sync_api import Page, Request, expect  # noqa: E402 - only once it is known present

CARD = "4242 4242 4242 4242"
ADDRESS = {
    "name": "Taro Yamada",
    "postal_code": "150-0002",
    "line1": "2-21-1",
    "phone": "090-1234-5678",
    "email": "taro@example.com",
}


# ---------------------------------------------------------------- what a shopper does


def open_chat(page: Page) -> Any:
    response = page.goto("/")
    idle(page)
    expect(page.locator(".row-assistant .bubble").first).to_be_visible()
    return response


def idle(page: Page) -> None:
    """Every request of the page has been answered and its events are on screen."""
    expect(page.locator("#log")).to_have_attribute("aria-busy", "false")


def say(page: Page, text: str) -> None:
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")
    idle(page)


def live(page: Page, kind: str) -> Any:
    """The current (not retired) widget of a kind."""
    return page.locator(f".widget-{kind}:not(.retired)").last


def add_from_search(page: Page, query: str, sku: str) -> None:
    say(page, query)
    page.locator(f'.product button[data-sku="{sku}"]').last.click()
    idle(page)
    expect(live(page, "cart")).to_be_visible()


def fill_address(page: Page, **fields: str) -> None:
    form = live(page, "address-form")
    for name, value in {**ADDRESS, **fields}.items():
        form.locator(f'input[name="{name}"]').fill(value)
    form.locator('button[type="submit"]').click()
    idle(page)


def enter_card(page: Page, number: str) -> None:
    """Type the card into the gateway's iframe, as a shopper would, and submit it there."""
    frame = page.frame_locator(".widget-card-form:not(.retired) iframe.card-frame")
    frame.locator("#number").fill(number)
    frame.locator("#exp").fill("12/30")
    frame.locator("#cvc").fill("123")
    frame.locator("#name").fill("TARO YAMADA")
    frame.locator("#submit").click()


def pay(page: Page, label: str) -> None:
    expect(live(page, "confirm")).to_be_visible()
    # By position, not by "not retired": the answer retires this very widget.
    confirms = page.locator(".widget-confirm")
    button = confirms.nth(confirms.count() - 1).locator("button.pay")
    expect(button).to_have_text(label)
    expect(button).to_be_enabled()
    button.click()
    expect(button).to_be_disabled()  # one click, one confirm: no double submit
    idle(page)


def checkout_to_card_form(page: Page) -> None:
    """From an open chat to the card frame: search, Add, Checkout, address, card."""
    add_from_search(page, "do you have green tea?", "TEA-SENCHA")
    live(page, "cart").get_by_role("button", name="Checkout").click()
    idle(page)
    fill_address(page)
    live(page, "payment-methods").locator('[data-method="card"]').click()
    idle(page)
    expect(page.frame_locator("iframe.card-frame").locator("#number")).to_be_visible()


def screenshot(page: Page, artifacts: Path, name: str) -> None:
    page.evaluate("document.getElementById('log').scrollTop = 1e9")
    page.screenshot(path=str(artifacts / f"{name}.png"))


# ---------------------------------------------------------------- the tests


def test_a_shopper_buys_green_tea_by_card_in_the_chat(new_page: Any, artifacts: Path) -> None:
    page = new_page()
    open_chat(page)
    say(page, "do you have green tea?")
    expect(page.locator(".product").filter(has_text="Sencha green tea")).to_be_visible()
    say(page, "two sencha please")
    cart = live(page, "cart")
    expect(cart.locator(".line")).to_contain_text("× 2")
    expect(cart.locator("dd.total")).to_have_text("¥3,000")

    say(page, "checkout")
    fill_address(page, phone="123")  # a typo: the field says what is wrong, nothing else is lost
    form = live(page, "address-form")
    expect(form.locator(".field-phone .field-error")).to_contain_text("phone number is not valid")
    expect(form.locator('input[name="email"]')).to_have_value(ADDRESS["email"])
    fill_address(page)
    expect(page.locator(".row-assistant").filter(has_text="we will deliver to")).to_contain_text(
        "150-0002"
    )

    live(page, "payment-methods").locator('[data-method="card"]').click()
    enter_card(page, CARD)
    expect(live(page, "confirm").locator(".facts")).to_contain_text("VISA •••• 4242")
    screenshot(page, artifacts, "card-purchase-confirm")
    pay(page, "Pay ¥3,000")

    receipt = live(page, "receipt")
    expect(receipt).to_contain_text("Payment complete")
    expect(receipt.locator(".badge")).to_have_text("Paid")
    expect(receipt.locator("dd.total")).to_have_text("¥3,000")
    screenshot(page, artifacts, "card-purchase-receipt")

    page.reload()  # the same chat comes back, with nothing left to pay
    idle(page)
    expect(live(page, "receipt").locator(".badge")).to_have_text("Paid")
    expect(page.locator("button.pay:enabled")).to_have_count(0)


def test_a_card_that_needs_3d_secure_is_verified_inside_the_chat(
    new_page: Any, artifacts: Path
) -> None:
    page = new_page()
    open_chat(page)
    checkout_to_card_form(page)
    enter_card(page, "4000 0025 0000 3155")
    pay(page, "Pay ¥1,800")

    challenge = page.frame_locator(".widget-threeds-challenge:not(.retired) iframe.threeds-frame")
    challenge.locator("#code").fill("123456")
    challenge.locator("#submit").click()

    receipt = live(page, "receipt")
    expect(receipt.locator(".badge")).to_have_text("Paid")
    expect(page.locator("iframe.threeds-frame")).to_have_count(0)
    screenshot(page, artifacts, "threeds-purchase-receipt")


def test_a_declined_card_then_a_good_one(new_page: Any, artifacts: Path) -> None:
    page = new_page()
    open_chat(page)
    checkout_to_card_form(page)
    enter_card(page, "4000 0000 0000 0002")
    pay(page, "Pay ¥1,800")

    expect(page.locator(".row-assistant .bubble").filter(has_text="declined")).to_contain_text(
        "nothing was charged"
    )
    expect(page.locator("iframe.card-frame")).to_have_count(1)  # a fresh form; the old one closed
    enter_card(page, CARD)
    pay(page, "Pay ¥1,800")

    expect(live(page, "receipt").locator(".badge")).to_have_text("Paid")
    screenshot(page, artifacts, "declined-then-paid-receipt")


def test_a_japanese_shopper_pays_after_delivery_on_a_phone(new_page: Any, artifacts: Path) -> None:
    page = new_page(viewport=PHONE)
    open_chat(page)
    page.get_by_role("button", name="日本語").click()
    idle(page)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator(".row-assistant .bubble").first).to_contain_text("いらっしゃいませ")

    say(page, "緑茶はありますか？")
    expect(page.locator(".product").filter(has_text="煎茶 100g")).to_be_visible()
    say(page, "煎茶を2つください")
    expect(live(page, "cart").locator("dd.total")).to_have_text("¥3,000")
    live(page, "cart").get_by_role("button", name="レジに進む").click()
    idle(page)
    expect(live(page, "address-form")).to_contain_text("郵便番号から自動で入力")
    fill_address(page, name="山田 太郎")

    after_delivery = live(page, "payment-methods").locator('[data-method="after_delivery"]')
    expect(after_delivery).to_contain_text("手数料 ¥250")
    after_delivery.click()
    idle(page)
    pay(page, "¥3,250 を支払う")

    receipt = live(page, "receipt")
    expect(receipt).to_contain_text("ご注文完了（後払い）")
    expect(receipt.locator(".badge")).to_have_text("後払い承認済み・請求書は商品に同封")
    expect(receipt.locator("dd.total")).to_have_text("¥3,250")
    screenshot(page, artifacts, "japanese-after-delivery-receipt")


def test_the_card_stays_in_the_gateway_frame(
    new_page: Any, server: Server, artifacts: Path
) -> None:
    page = new_page()
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))

    response = open_chat(page)
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        f"frame-src {server.gateway_url}",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"

    checkout_to_card_form(page)
    # The page's own script cannot look into the card frame: it is another origin.
    assert page.evaluate("document.querySelector('iframe.card-frame').contentDocument") is None
    blocked = page.evaluate("""() => {
        try { return document.querySelector('iframe.card-frame').contentWindow.document.title; }
        catch (err) { return err.name; } }""")
    assert blocked == "SecurityError"
    # A token "from" any other origin (here: the page itself) is ignored.
    page.evaluate("window.postMessage({type: 'chatpay.card_token', token: 'tok_forged'}, '*')")

    enter_card(page, CARD)
    pay(page, "Pay ¥1,800")
    expect(live(page, "receipt").locator(".badge")).to_have_text("Paid")
    screenshot(page, artifacts, "card-isolation-receipt")

    number = re.compile(r"4242[\s-]*4242[\s-]*4242[\s-]*4242")
    to_shop = [r for r in sent if r.url.startswith(server.url + "/")]
    to_gateway = [r for r in sent if r.url.startswith(server.gateway_url + "/")]
    assert to_shop and not [
        r.url for r in to_shop if number.search(r.url) or number.search(r.post_data or "")
    ]
    # The recording is not blind: the number did go out, to the gateway only.
    assert [
        r for r in to_gateway if r.url.endswith("/v1/tokens") and number.search(r.post_data or "")
    ]
    card_tokens = [
        r.post_data
        for r in to_shop
        if r.url.endswith("/actions") and '"card_token"' in (r.post_data or "")
    ]
    assert len(card_tokens) == 1 and "tok_forged" not in card_tokens[0]


def test_a_failed_send_keeps_the_words_for_a_retry(new_page: Any) -> None:
    page = new_page()
    open_chat(page)
    keys: list[str | None] = []
    page.on("request", lambda request: keys.append(request.headers.get("idempotency-key"))
            if request.url.endswith("/messages") else None)
    page.route("**/messages", lambda route: route.abort())
    say(page, "do you have green tea?")
    expect(page.locator(".notice")).to_contain_text("Could not reach the shop")
    expect(page.locator("#message")).to_have_value("do you have green tea?")
    expect(page.locator(".row-user")).to_have_count(0)

    page.unroute("**/messages")
    page.locator("#send").click()
    idle(page)
    expect(page.locator(".notice")).to_have_count(0)
    expect(page.locator(".row-user")).to_have_text("do you have green tea?")
    expect(page.locator(".product").first).to_be_visible()
    # The resend carried the first attempt's key: had that one reached the shop, the server
    # would have answered from it instead of taking the message twice.
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys


def test_the_reply_streams_into_the_chat_before_it_is_final(new_page: Any) -> None:
    """The page asks for server-sent events and shows the text while it arrives."""
    page = new_page()
    open_chat(page)
    page.evaluate("""() => {
        window.__streamed = [];
        new MutationObserver((records) => {
            for (const record of records) for (const node of record.addedNodes) {
                if (node.classList && node.classList.contains("streaming")) window.__streamed.push(node);
            }
        }).observe(document.getElementById("log"), { childList: true });
    }""")
    with page.expect_response("**/messages") as info:
        say(page, "hello, what can you do?")
    assert info.value.headers["content-type"].startswith("text/event-stream")
    assert page.evaluate("window.__streamed.length") >= 1
    # The preview is gone; the final reply is one ordinary assistant bubble with the whole text.
    expect(page.locator(".streaming")).to_have_count(0)
    expect(page.locator(".row-assistant .bubble").last).to_contain_text("checkout")
