"""The operator dashboard's pages: login, logout, the session cookie, CSP, 401 and 404.

The app is the real one (`create_app`) with the dashboard router mounted on it; a probe route
behind `OperatorDep` stands for the operator JSON APIs, so these tests show that the cookie the
login sets is exactly what those APIs accept. The pages touch no table, so the database is an
unmigrated SQLite file that is never queried.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from agent.testing import FunctionModel, text
from api.app import create_app
from api.operator import pages
from api.operator.auth import COOKIE, OperatorDep, session_value
from api.settings import ServiceSettings
from tools.store.db import Database

KEY = "operator-key-for-tests-0123456789"
STATIC = Path(pages.__file__).resolve().parents[1] / "static"

AppFactory = Callable[..., FastAPI]


def _probe_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/operator/probe")
    async def probe(_: OperatorDep) -> dict[str, bool]:
        return {"ok": True}

    return router


@pytest.fixture
async def app_factory(tmp_path: Path) -> AsyncIterator[AppFactory]:
    databases: list[Database] = []

    def build(*, key: str | None = KEY, public_url: str = "http://127.0.0.1:8000") -> FastAPI:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
        databases.append(database)
        app = create_app(
            database=database,
            model=FunctionModel(lambda _m, _t: text("Noted.")),
            gateway_url="http://127.0.0.1:9000",
            service=ServiceSettings(operator_key=key, public_url=public_url),
        )
        app.include_router(_probe_router())
        return app

    yield build
    for database in databases:
        await database.dispose()


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def view_of(page: httpx.Response) -> str | None:
    found = re.search(r'<body data-view="(\w+)"', page.text)
    return found.group(1) if found else None


def set_cookie_attributes(response: httpx.Response) -> tuple[str, set[str]]:
    """(value, lower-cased attribute names and name=value pairs) of the operator Set-Cookie."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    first, *attributes = [part.strip() for part in headers[0].split(";")]
    return first.partition("=")[2].strip('"'), {a.lower() for a in attributes}


async def login(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/operator/login", json={"key": key})


async def test_without_a_configured_key_the_dashboard_does_not_exist(
    app_factory: AppFactory,
) -> None:
    async with client_of(app_factory(key=None)) as client:
        answers = [
            await client.get("/operator"),
            await client.get("/operator/static/operator.js"),
            await login(client, KEY),
            await client.post("/operator/logout"),
        ]
        assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
        assert not [a for a in answers if a.headers.get_list("set-cookie")]


async def test_a_visitor_gets_the_login_form_and_never_the_dashboard(
    app_factory: AppFactory,
) -> None:
    async with client_of(app_factory()) as client:
        page = await client.get("/operator")
        assert page.status_code == 200 and view_of(page) == "login"
        assert 'id="login"' in page.text and 'type="password"' in page.text
        assert 'id="funnel-chart"' not in page.text
        assert page.headers["cache-control"] == "no-store"
        for wrong in ({COOKIE: "0" * 64}, {COOKIE: KEY}):  # the raw key is not a session
            client.cookies.clear()
            client.cookies.update(wrong)
            assert view_of(await client.get("/operator")) == "login"
            assert (await client.get("/api/operator/probe")).status_code == 401


async def test_a_wrong_key_shows_the_form_again_with_an_error_and_no_cookie(
    app_factory: AppFactory,
) -> None:
    async with client_of(app_factory()) as client:
        for attempt in ("", KEY[:-1], KEY + "x", KEY.upper()):
            answer = await login(client, attempt)
            assert answer.status_code == 401, attempt
            assert view_of(answer) == "login"
            assert 'data-error="wrong_key"' in answer.text
            assert (
                "That key is not right." in answer.text
                and "キーが正しくありません。" in answer.text
            )
            assert not answer.headers.get_list("set-cookie")
        for body in ({"key": 12345}, {"password": KEY}, [KEY]):  # not a key: also just wrong
            assert (await client.post("/operator/login", json=body)).status_code == 401


async def test_the_right_key_sets_a_strict_http_only_session_cookie(
    app_factory: AppFactory,
) -> None:
    async with client_of(app_factory()) as client:
        answer = await login(client, KEY)
        assert answer.status_code == 303 and answer.headers["location"] == "/operator"
        value, attributes = set_cookie_attributes(answer)
        assert value == session_value(KEY) and KEY not in answer.headers["set-cookie"]
        assert {"httponly", "samesite=strict", "path=/"} <= attributes
        assert "secure" not in attributes  # the service is plain http here (a local deployment)

        page = await client.get("/operator")  # the client keeps the cookie, as a browser does
        assert page.status_code == 200 and view_of(page) == "dashboard"
        assert 'id="funnel-chart"' in page.text and 'id="conversation-table"' in page.text
        assert (await client.get("/api/operator/probe")).json() == {"ok": True}


async def test_behind_https_the_cookie_is_secure(app_factory: AppFactory) -> None:
    async with client_of(app_factory(public_url="https://shop.example.jp")) as client:
        _, attributes = set_cookie_attributes(await login(client, KEY))
        assert {"secure", "httponly", "samesite=strict"} <= attributes


async def test_logout_clears_the_cookie(app_factory: AppFactory) -> None:
    async with client_of(app_factory()) as client:
        await login(client, KEY)
        assert view_of(await client.get("/operator")) == "dashboard"
        answer = await client.post("/operator/logout")
        assert answer.status_code == 303 and answer.headers["location"] == "/operator"
        value, attributes = set_cookie_attributes(answer)
        assert value == "" and "max-age=0" in attributes and "httponly" in attributes
        assert COOKIE not in client.cookies
        assert view_of(await client.get("/operator")) == "login"
        assert (await client.get("/api/operator/probe")).status_code == 401


async def test_a_bearer_key_opens_the_dashboard_too(app_factory: AppFactory) -> None:
    async with client_of(app_factory()) as client:
        page = await client.get("/operator", headers={"Authorization": f"Bearer {KEY}"})
        assert view_of(page) == "dashboard"


async def test_login_attempts_are_rate_limited_per_client(app_factory: AppFactory) -> None:
    async with client_of(app_factory()) as client:
        for _ in range(pages.LOGIN_ATTEMPTS_PER_MINUTE):
            assert (await login(client, "guess-" * 5)).status_code == 401
        answer = await login(client, KEY)  # even the right key waits: the limit is on attempts
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1
        assert view_of(answer) == "login" and 'data-error="rate_limited"' in answer.text
        assert not answer.headers.get_list("set-cookie")


async def test_a_login_must_be_json_like_every_request_body(app_factory: AppFactory) -> None:
    # The guard middleware refuses other media types; that also keeps cross-site HTML forms out.
    async with client_of(app_factory()) as client:
        answer = await client.post("/operator/login", data={"key": KEY})
        assert answer.status_code == 415 and not answer.headers.get_list("set-cookie")


class _Markup(HTMLParser):
    """Every tag with its attributes, and the text inside <script> and <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._open = None


async def test_both_pages_load_only_their_own_files_under_a_strict_csp(
    app_factory: AppFactory,
) -> None:
    async with client_of(app_factory()) as client:
        login_page = await client.get("/operator")
        await login(client, KEY)
        dashboard = await client.get("/operator")
        for page in (login_page, dashboard):
            csp = dict(
                part.strip().split(" ", 1)
                for part in page.headers["content-security-policy"].split(";")
            )
            assert csp["script-src"] == csp["style-src"] == csp["connect-src"] == "'self'"
            assert csp["default-src"] == csp["frame-src"] == "'none'"
            assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
            markup = _Markup()
            markup.feed(page.text)
            assert not markup.inline, "inline script or style"
            scripts = [attrs.get("src") for tag, attrs in markup.tags if tag == "script"]
            sheets = [
                attrs.get("href")
                for tag, attrs in markup.tags
                if tag == "link" and attrs.get("rel") == "stylesheet"
            ]
            assert scripts == ["/operator/static/operator.js"]
            assert sheets == ["/operator/static/operator.css"]
            handlers = [
                (tag, name)
                for tag, attrs in markup.tags
                for name in attrs
                if name.startswith("on") or name == "style"
            ]
            assert not handlers, handlers

        for name, media in (("operator.js", "text/javascript"), ("operator.css", "text/css")):
            served = await client.get(f"/operator/static/{name}")
            assert served.status_code == 200 and served.headers["content-type"].startswith(media)
            assert served.text == (STATIC / name).read_text(encoding="utf-8")
        for other in ("chat.js", "operator.html", "operator-login.html", "..%2Fapp.py", "x.js"):
            assert (await client.get(f"/operator/static/{other}")).status_code == 404, other


def test_the_script_uses_no_other_origin_and_never_parses_html() -> None:
    script = (STATIC / "operator.js").read_text(encoding="utf-8")
    sheet = (STATIC / "operator.css").read_text(encoding="utf-8")
    urls = set(re.findall(r"https?://[^\s\"')]+", script + sheet))
    assert urls == {"http://www.w3.org/2000/svg"}  # an XML namespace name, never fetched
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ):
        assert sink not in script, sink
