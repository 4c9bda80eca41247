"""Schemathesis against the app's own OpenAPI schema, in-process (ASGI), on a real SQLite database.

Every operation is called with schema-generated and schema-violating data; the conversation routes
get a real conversation id and its bearer token, so they run past authentication into the agent,
the cart and checkout. The checks: no 5xx, every status code, content type, header and body as the
schema declares, schema-violating requests refused with a 4xx, and a missing token refused.
Examples are bounded (`MAX_EXAMPLES` per operation) so the module runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.settings import ServiceSettings
from tests.factories import make_small_catalog
from tests.security.merchant import MERCHANT_URL, mount_privacy, polite_model
from tests.shop_harness import GATEWAY_URL
from tools.payments.sandbox import SandboxGateway, SandboxSettings
from tools.payments.sandbox import create_app as create_sandbox_app
from tools.settings import CommerceSettings
from tools.store.db import Database

MAX_EXAMPLES = 25
# Not `ignored_auth`: it wants 401/403 for a wrong token, while this API answers a wrong token with
# the same 404 as an unknown id on purpose (no probing for other shoppers' conversations);
# tests/security/test_auth.py checks both answers.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]

#: (operation, generation mode, status) -> count of calls.
SEEN: Counter[tuple[str, str, int]] = Counter()


def _seed(url: str) -> None:
    async def run() -> None:
        database = Database(url)
        async with database.session() as session:
            await make_small_catalog(session)
            await session.commit()
        await database.dispose()

    asyncio.run(run())


@pytest.fixture(scope="module")
def merchant_schema(sqlite_template: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenApiSchema]:
    """The schema of a merchant app on its own SQLite copy, with the sandbox gateway in-process."""
    path = tmp_path_factory.mktemp("fuzz") / "chatpay.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    _seed(url)
    # Schemathesis runs the app on its own event-loop thread; without a pool, no connection
    # outlives the loop it was opened on.
    database = Database(url, poolclass=NullPool)
    sandbox = SandboxSettings(public_url=GATEWAY_URL, api_key="sk_test_fuzz",
                              webhook_secret="whsec_test_fuzz")

    async def drop_webhook(_event: Any) -> None:
        return None

    gateway = SandboxGateway(GATEWAY_URL, "sk_test_fuzz", "whsec_test_fuzz",
                             transport=httpx.ASGITransport(
                                 app=create_sandbox_app(sandbox, send_webhook=drop_webhook)))
    app = mount_privacy(create_app(
        database=database, gateway=gateway, model=polite_model(), gateway_url=GATEWAY_URL,
        commerce=CommerceSettings(),
        service=ServiceSettings(public_url=MERCHANT_URL, rate_limit_conversation=0,
                                rate_limit_client=0)))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asyncio.run(database.dispose())


def _new_conversation(schema: OpenApiSchema) -> tuple[str, str]:
    """A fresh conversation, started through the API under test."""
    start = schema["/api/conversations"]["POST"]
    response = start.Case(body={"locale": "en"}, media_type="application/json").call()
    assert response.status_code == 201, response.text
    body = response.json()
    return str(body["id"]), str(body["token"])


def _fuzz(schema: OpenApiSchema, operation: APIOperation[Any, Any, Any, Any],
          mode: GenerationMode) -> None:
    """Run `MAX_EXAMPLES` generated requests against one operation and check every response."""
    label = f"{operation.method.upper()} {operation.path}"
    overrides: dict[str, Any] = {}
    if "{conversation_id}" in operation.path:
        # A real conversation and its token, so the route runs past authentication. DELETE erases
        # its conversation, so it gets a fresh one for every example.
        shared = _new_conversation(schema)
        overrides = {"path_parameters": {"conversation_id": shared[0]},
                     "headers": {"Authorization": f"Bearer {shared[1]}"}}

    @given(case=operation.as_strategy(generation_mode=mode, **overrides))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    def run(case: Case[Any]) -> None:
        if case.method == "DELETE" and case.path_parameters and case.headers:
            cid, token = _new_conversation(schema)
            case.path_parameters["conversation_id"] = cid
            case.headers["Authorization"] = f"Bearer {token}"
        response = case.call()
        SEEN[(label, mode.value, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing in the request can be made invalid (no parameters, no body, or all fixed above).
        if mode is not GenerationMode.NEGATIVE:
            raise


def test_every_operation_conforms_and_never_fails(merchant_schema: OpenApiSchema) -> None:
    SEEN.clear()
    operations = [result.ok() for result in merchant_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 8
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(merchant_schema, operation, mode)

    calls = sum(SEEN.values())
    print(f"\nschemathesis: {len(operations)} operations, {calls} calls")
    for (label, generated, status), count in sorted(SEEN.items()):
        print(f"  {label} [{generated}] -> {status}: {count}")
    assert not [key for key in SEEN if key[2] >= 500]
    # Not vacuous: the conversation routes ran past authentication into the shop.
    for label in ("POST /api/conversations/{conversation_id}/messages",
                  "POST /api/conversations/{conversation_id}/actions",
                  "GET /api/conversations/{conversation_id}",
                  "DELETE /api/conversations/{conversation_id}"):
        assert any(200 <= status < 300 for (op, _, status) in SEEN if op == label), label
