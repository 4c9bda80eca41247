"""The offline model as an OpenAI-compatible ASGI app.

This module only houses `create_offline_app`: a Starlette app serving `POST /v1/chat/completions`
(Chat Completions with tools, plain or streamed as server-sent events), `GET /v1/models` and
`GET /v1/models/{id}`. The agent reaches it in-process through `httpx.ASGITransport` with the real
`openai` client; `python -m agent.offline` serves it over HTTP for any other client.

A bad request body gets a 400 in OpenAI's error shape, as the real API answers; unknown paths and
methods get 404/405 in the same shape. The model only calls tools the request offers, and none
when `tool_choice` is "none".
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agent.offline import tokens
from agent.offline.conversation import Conversation, read_conversation
from agent.offline.decision import Decision
from agent.offline.language import detect_language
from agent.offline.policy import decide
from agent.offline.protocol import (
    FIXED_CREATED,
    ChatCompletionRequest,
    completion_body,
    completion_chunks,
    error_body,
    request_digest,
    tool_call_dicts,
)
from agent.offline.replies import say

__all__ = ["DEFAULT_MODEL_NAME", "create_offline_app"]

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "offline"
_MAX_BODY_BYTES = 2_000_000


def create_offline_app(*, model_name: str = DEFAULT_MODEL_NAME,
                       clock: Callable[[], float] | None = None) -> Starlette:
    """The offline model's ASGI app. `clock` sets `created` (fixed by default: reproducible)."""

    async def chat_completions(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > _MAX_BODY_BYTES:
            return _error(413, "The request body is too large.")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        try:
            parsed = ChatCompletionRequest.model_validate(body)
        except ValidationError as exc:
            problem = exc.errors(include_url=False, include_input=False)[0]
            param = ".".join(str(part) for part in problem["loc"]) or None
            return _error(400, f"Invalid request: {param}: {problem['msg']}", param=param)
        messages = parsed.message_dicts()
        conversation = read_conversation(messages)
        decision = _fit_to_tools(_safe_decide(conversation), parsed, conversation)
        digest = request_digest(body)
        tool_calls = tool_call_dicts(digest, decision.calls)
        if not tokens.is_loaded():
            # Loading the vocabulary takes about half a second: not on the event loop.
            await anyio.to_thread.run_sync(tokens.tokenizer_name)
        usage = (tokens.prompt_tokens(messages, parsed.tools),
                 tokens.completion_tokens(decision.text, tool_calls))
        created = int(clock()) if clock is not None else FIXED_CREATED
        body = completion_body(digest=digest, model=parsed.model, created=created,
                               decision=decision, tool_calls=tool_calls, usage=usage)
        if parsed.stream:
            return StreamingResponse(_sse(completion_chunks(body, include_usage=_wants_usage(parsed))),
                                     media_type="text/event-stream")
        return JSONResponse(body)

    async def list_models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [_model_card(model_name)]})

    async def get_model(request: Request) -> JSONResponse:
        wanted = request.path_params["model_id"]
        if wanted != model_name:
            return _error(404, f"The model '{wanted}' does not exist.", param="model",
                          code="model_not_found")
        return JSONResponse(_model_card(model_name))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = "Not found." if status == 404 else ("Method not allowed." if status == 405
                                                      else "The request failed.")
        return _error(status, message)

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", get_model, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )


def _wants_usage(request: ChatCompletionRequest) -> bool:
    options = (request.model_extra or {}).get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


async def _sse(chunks: list[dict[str, Any]]) -> AsyncIterator[str]:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def _model_card(model_name: str) -> dict[str, Any]:
    return {"id": model_name, "object": "model", "created": FIXED_CREATED, "owned_by": "chatpay"}


def _error(status: int, message: str, *, param: str | None = None,
           code: str | None = None) -> JSONResponse:
    error_type = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(error_body(message, param=param, code=code, error_type=error_type),
                        status_code=status)


def _safe_decide(conversation: Conversation) -> Decision:
    """The policy's decision; a rule that breaks on odd input answers politely, never with a 500."""
    try:
        return decide(conversation)
    except Exception:  # noqa: BLE001 - any bug in the rules must not take the chat down
        # The request body holds shopper text (addresses, names): log where, not what.
        log.exception("offline model: the rules failed on a request")
        lang = detect_language(conversation.user_text, conversation.locale)
        return Decision(say("error_generic", lang))


def _fit_to_tools(decision: Decision, request: ChatCompletionRequest,
                  conversation: Conversation) -> Decision:
    """Keep only calls to tools the request offers (none for tool_choice "none")."""
    offered = request.offered_tools()
    choice = request.tool_choice
    if choice == "none":
        offered = set()
    elif isinstance(choice, dict):
        function = choice.get("function")
        forced = function.get("name") if isinstance(function, dict) else None
        offered = {forced} & offered if isinstance(forced, str) else offered
    calls = tuple(planned for planned in decision.calls if planned.name in offered)
    if calls == decision.calls:
        return decision
    text = decision.text
    if not text:
        lang = detect_language(conversation.user_text, conversation.locale)
        text = say("no_tools", lang)
    return Decision(text, calls)
