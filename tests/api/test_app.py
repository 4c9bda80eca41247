"""The merchant app as a browser or probe sees it: health, readiness, catalogue API and page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent.testing import ScriptedModel
from api.app import create_app
from tools.catalog.loader import load_catalog, load_demo_entries
from tools.payments.sandbox import SandboxGateway
from tools.settings import CommerceSettings
from tools.store.db import Database


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with db.session() as session:
        await load_catalog(session, load_demo_entries())
        await session.commit()
    gateway = SandboxGateway("http://127.0.0.1:8001", "sk_test", "whsec_test")
    app = create_app(commerce=CommerceSettings(database_url=db.url), database=db, gateway=gateway,
                     model=ScriptedModel([]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_readiness_reports_an_unreachable_database() -> None:
    database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    gateway = SandboxGateway("http://127.0.0.1:8001", "sk_test", "whsec_test")
    app = create_app(commerce=CommerceSettings(), database=database, gateway=gateway,
                     model=ScriptedModel([]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        response = await client.get("/readyz")
    await database.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"


async def test_products_search_in_both_languages(client: httpx.AsyncClient) -> None:
    english = (await client.get("/api/products", params={"q": "green tea"})).json()
    assert "TEA-SENCHA" in [p["sku"] for p in english[:3]]
    japanese = (await client.get("/api/products", params={"q": "緑茶"})).json()
    assert "TEA-SENCHA" in [p["sku"] for p in japanese[:3]]
    assert all(p["currency"] == "JPY" and isinstance(p["price"], int) for p in english)


async def test_products_list_and_bad_parameters(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/api/products", params={"limit": 100})).json()
    assert len(listed) >= 40
    assert (await client.get("/api/products", params={"limit": 0})).status_code == 422
    assert (await client.get("/api/products", params={"q": "x" * 201})).status_code == 422


async def test_page_is_served_with_security_headers(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "chatpay" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    script = await client.get("/static/chat.js")
    assert script.headers["content-type"].startswith("text/javascript")
