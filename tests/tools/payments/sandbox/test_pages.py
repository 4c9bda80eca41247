"""The hosted pages: card form and 3-D Secure challenge (headers, origin checks, postMessage)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.tools.payments.sandbox.conftest import MERCHANT_ORIGIN, Shopper
from tools.payments.gateway import ChargeStatus, LookupStatus
from tools.payments.sandbox import SandboxGateway


def _csp(response: httpx.Response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in directives}


async def test_card_form_renders_for_an_allowed_origin_with_strict_headers(
    browser: httpx.AsyncClient,
) -> None:
    response = await browser.get(
        "/card-form", params={"origin": MERCHANT_ORIGIN, "locale": "en", "session": "s-1"}
    )
    assert response.status_code == 200
    csp = _csp(response)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == MERCHANT_ORIGIN
    assert csp["form-action"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


async def test_card_form_fields_autocomplete_and_carry_no_name(browser: httpx.AsyncClient) -> None:
    html = (await browser.get("/card-form", params={"origin": MERCHANT_ORIGIN})).text
    for token in ("cc-number", "cc-exp", "cc-csc", "cc-name"):
        assert f'autocomplete="{token}"' in html
    # Unnamed inputs: even a native submit could never put the number in a URL.
    inputs = re.findall(r"<input[^>]*>", html)
    assert len(inputs) == 4
    assert not [tag for tag in inputs if " name=" in tag]
    assert "<script>" not in html and "style=" not in html  # nothing inline for CSP to allow
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # no external resources


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://127.0.0.1:8000/path", "*", "null", ""]
)
async def test_card_form_refuses_an_unlisted_origin(
    browser: httpx.AsyncClient, origin: str
) -> None:
    response = await browser.get("/card-form", params={"origin": origin})
    assert response.status_code == 400
    assert _csp(response)["frame-ancestors"] == "'none'"


async def test_card_form_requires_an_origin(browser: httpx.AsyncClient) -> None:
    assert (await browser.get("/card-form")).status_code == 400


async def test_card_form_posts_the_token_to_the_given_origin_only(
    browser: httpx.AsyncClient,
) -> None:
    html = (await browser.get("/card-form", params={"origin": "http://LOCALHOST:8000/"})).text
    assert 'data-parent-origin="http://localhost:8000"' in html

    script = await browser.get("/assets/card_form.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    js = script.text
    assert "postMessage(" in js
    assert re.search(r'type: "chatpay\.card_token"', js)
    assert re.search(r"\}, parentOrigin\);", js)  # the target is the validated origin
    assert "parentOrigin = form.dataset.parentOrigin" in js
    assert '"*"' not in js and "'*'" not in js
    assert 'fetch("/v1/tokens"' in js  # its own origin only


async def test_card_form_speaks_japanese(browser: httpx.AsyncClient) -> None:
    html = (
        await browser.get("/card-form", params={"origin": MERCHANT_ORIGIN, "locale": "ja"})
    ).text
    assert '<html lang="ja">' in html
    assert "カード番号" in html and "セキュリティコード" in html


async def test_query_values_are_escaped(browser: httpx.AsyncClient) -> None:
    html = (
        await browser.get(
            "/card-form", params={"origin": MERCHANT_ORIGIN, "session": '"><script>x</script>'}
        )
    ).text
    assert "<script>x" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


async def test_unknown_asset_is_404(browser: httpx.AsyncClient) -> None:
    assert (await browser.get("/assets/../settings.py")).status_code == 404
    assert (await browser.get("/assets/app.py")).status_code == 404


async def _challenge(
    shopper: Shopper, gateway: SandboxGateway, return_url: str | None = None
) -> str:
    token = await shopper.token("4000002500003155")
    result = await gateway.charge(
        order_id="o-1",
        amount=3300,
        currency="JPY",
        token=token.token,
        idempotency_key="k-1",
        return_url=return_url,
    )
    assert result.status is ChargeStatus.REQUIRES_ACTION and result.gateway_ref
    return result.gateway_ref


async def test_3ds_correct_code_approves(
    shopper: Shopper, gateway: SandboxGateway, browser: httpx.AsyncClient
) -> None:
    ref = await _challenge(shopper, gateway, return_url="http://127.0.0.1:8000/chat/c-1")
    assert (await gateway.complete_3ds(gateway_ref=ref)).status is ChargeStatus.REQUIRES_ACTION

    page = await browser.get(f"/3ds/{ref}", params={"origin": MERCHANT_ORIGIN})
    assert page.status_code == 200
    assert _csp(page)["frame-ancestors"] == MERCHANT_ORIGIN
    assert f'data-payment-ref="{ref}"' in page.text
    assert 'autocomplete="one-time-code"' in page.text

    done = await browser.post(f"/3ds/{ref}", json={"code": "123456"})
    assert done.json() == {
        "payment_ref": ref,
        "status": "approved",
        "reason_code": None,
        "return_url": "http://127.0.0.1:8000/chat/c-1",
    }
    result = await gateway.complete_3ds(gateway_ref=ref)
    assert (result.status, result.gateway_ref, result.amount) == (ChargeStatus.APPROVED, ref, 3300)
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.APPROVED
    )
    # The challenge is closed; a second code changes nothing.
    again = await browser.post(f"/3ds/{ref}", json={"code": "000000"})
    assert again.json()["status"] == "approved"
    assert (await browser.get(f"/3ds/{ref}")).status_code == 409


async def test_3ds_wrong_code_declines(
    shopper: Shopper, gateway: SandboxGateway, browser: httpx.AsyncClient
) -> None:
    ref = await _challenge(shopper, gateway)
    done = await browser.post(f"/3ds/{ref}", json={"code": "654321"})
    assert (done.json()["status"], done.json()["reason_code"]) == ("declined", "threeds_failed")
    result = await gateway.complete_3ds(gateway_ref=ref)
    assert (result.status, result.reason_code) == (ChargeStatus.DECLINED, "threeds_failed")
    # Replaying the charge's key reports the settled outcome, not the old challenge.
    token_again = await gateway.lookup(order_id="o-1", idempotency_key="k-1")
    assert token_again.status is LookupStatus.DECLINED


async def test_3ds_page_posts_done_to_the_given_origin(
    shopper: Shopper, gateway: SandboxGateway, browser: httpx.AsyncClient
) -> None:
    ref = await _challenge(shopper, gateway)
    refused = await browser.get(f"/3ds/{ref}", params={"origin": "https://evil.example"})
    assert refused.status_code == 400
    top_level = await browser.get(f"/3ds/{ref}")
    assert _csp(top_level)["frame-ancestors"] == "'none'"

    js = (await browser.get("/assets/threeds.js")).text
    assert 'type: "chatpay.threeds_done"' in js
    assert re.search(r"\}, parentOrigin\);", js)
    assert '"*"' not in js and "'*'" not in js
    assert "window.location.assign(result.return_url)" in js


async def test_3ds_unknown_charge_is_404(browser: httpx.AsyncClient) -> None:
    assert (await browser.get("/3ds/ch_missing")).status_code == 404
    response = await browser.post("/3ds/ch_missing", json={"code": "123456"})
    assert response.status_code == 404
