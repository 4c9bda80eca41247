"""The `Model` implementation for every OpenAI-compatible Chat Completions endpoint.

This module only houses `OpenAIChatModel` (an `openai.AsyncOpenAI` client wrapped with the retry
policy, usage recording and a lenient response parser) and `create_model`, which builds it from
`AgentSettings`. The embedded offline model is not a different class: it is the same client pointed
at an in-process ASGI app, so the offline path exercises exactly the wire format a real model sees.

Compatibility rules (OpenAI, Azure OpenAI's v1 endpoint via base_url, vLLM, Ollama, llama.cpp):
- optional parameters are sent only when set, and `tools`, `tool_choice`, `parallel_tool_calls`
  only when there are tools, because several servers reject them otherwise;
- `max_tokens` rather than `max_completion_tokens`: the older name is the one all of them accept;
- the body is parsed by hand from JSON rather than through the SDK's types, accepting the small
  deviations seen in the wild (missing ids, arguments sent as an object) and refusing, with
  `ModelResponseInvalid`, bodies that are not Chat Completions at all.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from copy import deepcopy
from dataclasses import replace
from typing import Any, cast

import httpx
import openai

from agent.errors import (
    ModelConfigurationError,
    ModelHTTPError,
    ModelResponseInvalid,
    ModelUnavailable,
)
from agent.model import (
    Message,
    ModelRequestSettings,
    ModelResponse,
    TextSink,
    ToolCall,
    ToolSchema,
)
from agent.retries import Clock, RetryPolicy, Sleep, call_with_retries
from agent.settings import AgentSettings
from agent.stream_chunks import ChunkAccumulator
from agent.usage import Outcome, Usage, UsageRecord, UsageRecorder, deliver

OFFLINE_BASE_URL = "http://offline.chatpay.invalid/v1"
OFFLINE_API_KEY = "offline"
# Sent to key-less local servers (vLLM, Ollama, llama.cpp): the SDK insists on some key, and
# letting it fall back to the environment would break "settings are read once, in one place".
NO_API_KEY = "no-key"


class OpenAIChatModel:
    """A Chat Completions endpoint behind the `Model` interface, with one retry layer (ours)."""

    def __init__(
        self,
        model_name: str,
        *,
        client: openai.AsyncOpenAI | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 20.0,
        recorder: UsageRecorder | None = None,
        record_content: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        connection = (api_key, base_url, http_client)
        if client is not None and any(part is not None for part in connection):
            raise ModelConfigurationError("pass either `client` or api_key/base_url/http_client")
        self._owns_client = client is None
        if client is not None:
            # The SDK's own retries would multiply ours (4 x 3 attempts, two back-off schedules)
            # and hide the attempt count, so a client passed in is copied with them turned off.
            client = client.with_options(max_retries=0)
        else:
            if api_key is None:
                raise ModelConfigurationError(
                    f"model {model_name!r} needs an api_key (any value for a key-less local server)"
                )
            client = openai.AsyncOpenAI(
                api_key=api_key,
                base_url=base_url,
                # openai 3.x types this as httpx2.AsyncClient but accepts a legacy httpx client
                # (checked at runtime); httpx is what ASGITransport and respx work with.
                http_client=cast(Any, http_client),
                timeout=timeout_s,
                max_retries=0,
            )
        self._client = client
        self.name = model_name
        self._retry = retry or RetryPolicy()
        self._timeout_s = timeout_s
        self._recorder = recorder
        self._record_content = record_content
        self._clock = clock
        self._sleep = sleep

    async def aclose(self) -> None:
        """Close the HTTP connections of a client this model created (not of one passed in)."""
        if self._owns_client:
            await self._client.close()

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        *,
        settings: ModelRequestSettings | None = None,
    ) -> ModelResponse:
        """One Chat Completions call, retried under the policy; records usage whatever happens."""
        chosen = settings or ModelRequestSettings()

        async def attempt(seconds_left: float) -> ModelResponse:
            return await self._attempt(messages, tools, chosen, seconds_left)

        return await self._with_retries(messages, attempt)

    async def request_stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        *,
        on_text: TextSink,
        settings: ModelRequestSettings | None = None,
    ) -> ModelResponse:
        """The same call with `stream=True`: text deltas go to `on_text` as they arrive.

        The chunks are put back together into one Chat Completions body and parsed by the same
        lenient parser as a plain answer, so both paths accept and refuse exactly the same things.
        """
        chosen = settings or ModelRequestSettings()
        shown = False

        async def forward(delta: str) -> None:
            nonlocal shown
            shown = True
            await on_text(delta)

        async def attempt(seconds_left: float) -> ModelResponse:
            try:
                return await self._attempt_stream(messages, tools, chosen, seconds_left, forward)
            except (openai.APIError, httpx.HTTPError, ModelResponseInvalid) as exc:
                if not shown:
                    raise  # nothing reached the shopper yet: the retry policy decides
                # Text already on the shopper's screen cannot be taken back by a retry that
                # might say something else: give up, and let guided mode answer.
                raise ModelUnavailable(
                    model_name=self.name, attempts=1, last_status_code=None,
                    last_error=f"stream broke after text was shown: {type(exc).__name__}",
                ) from exc

        return await self._with_retries(messages, attempt)

    async def _with_retries(
        self,
        messages: Sequence[Message],
        attempt: Callable[[float], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        started = self._clock()
        attempts = 0

        async def counted(seconds_left: float) -> ModelResponse:
            nonlocal attempts
            attempts += 1
            return await attempt(seconds_left)

        try:
            response, _ = await call_with_retries(
                counted, self._retry, model_name=self.name, clock=self._clock, sleep=self._sleep
            )
        except ModelUnavailable as exc:
            self._record_failure("unavailable", started, attempts, exc.last_status_code, messages)
            raise
        except ModelResponseInvalid as exc:
            self._record_failure("invalid", started, attempts, exc.status_code, messages)
            raise
        except openai.APIStatusError as exc:
            self._record_failure("refused", started, attempts, exc.status_code, messages)
            raise ModelHTTPError(
                model_name=self.name, status_code=exc.status_code, code=exc.code,
                body=exc.response.text,
            ) from exc
        response = replace(response, latency_ms=self._elapsed_ms(started), attempts=attempts)
        deliver(self._recorder, UsageRecord(
            model_name=response.model_name, outcome="ok", usage=response.usage,
            latency_ms=response.latency_ms, attempts=attempts,
            finish_reason=response.finish_reason,
            tool_names=tuple(call.name for call in response.tool_calls),
            content=self._content(messages, response),
        ))
        return response

    def _create_args(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        settings: ModelRequestSettings,
        seconds_left: float,
    ) -> dict[str, Any]:
        """The arguments of one `chat.completions.create` call, streamed or not."""
        omit = openai.omit
        # Messages and tools go out as given: the agent built them as plain JSON so the prompt
        # prefix is byte-identical from call to call. They travel in `extra_body`, which the SDK
        # merges into the body as is, because its typed-parameter transform walks every message
        # and tool recursively (about two thirds of a call's client-side cost, measured with the
        # offline model) only to hand back the same dicts. The `messages` argument it requires is
        # replaced by the merge.
        body: dict[str, Any] = {"messages": list(messages)}
        if tools:
            body["tools"] = list(tools)
        return {
            "model": self.name,
            "messages": [],
            "extra_body": body,
            "tool_choice": "auto" if tools else omit,
            "parallel_tool_calls": (settings.parallel_tool_calls
                                    if tools and settings.parallel_tool_calls is not None
                                    else omit),
            "temperature": settings.temperature if settings.temperature is not None else omit,
            "max_tokens": settings.max_tokens if settings.max_tokens is not None else omit,
            "timeout": min(settings.timeout_s or self._timeout_s, max(seconds_left, 0.001)),
        }

    async def _attempt(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        settings: ModelRequestSettings,
        seconds_left: float,
    ) -> ModelResponse:
        raw = await self._client.chat.completions.with_raw_response.create(
            **self._create_args(messages, tools, settings, seconds_left))
        return parse_chat_completion(
            raw.text, model_name=self.name, status_code=raw.http_response.status_code
        )

    async def _attempt_stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        settings: ModelRequestSettings,
        seconds_left: float,
        on_text: TextSink,
    ) -> ModelResponse:
        stream = await self._client.chat.completions.create(
            **self._create_args(messages, tools, settings, seconds_left),
            # Usage arrives in a last chunk only when asked for; without it a streamed turn
            # would cost "0 tokens" in every report.
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = ChunkAccumulator()
        try:
            async for chunk in stream:
                delta = chunks.add(chunk.to_dict())
                if delta:
                    await on_text(delta)
        finally:
            await stream.close()
        return parse_chat_completion(json.dumps(chunks.body(self.name)), model_name=self.name)

    def _elapsed_ms(self, started: float) -> float:
        return (self._clock() - started) * 1000

    def _content(
        self, messages: Sequence[Message], response: ModelResponse | None
    ) -> dict[str, Any] | None:
        if not self._record_content:
            return None
        return {
            "messages": deepcopy(list(messages)),
            "response": response.to_message() if response is not None else None,
        }

    def _record_failure(
        self,
        outcome: Outcome,
        started: float,
        attempts: int,
        status_code: int | None,
        messages: Sequence[Message],
    ) -> None:
        deliver(self._recorder, UsageRecord(
            model_name=self.name, outcome=outcome, usage=Usage(),
            latency_ms=self._elapsed_ms(started), attempts=attempts, status_code=status_code,
            content=self._content(messages, None),
        ))


def parse_chat_completion(text: str, *, model_name: str, status_code: int = 200) -> ModelResponse:
    """A `ModelResponse` from a Chat Completions body; `ModelResponseInvalid` if it is not one."""

    def invalid(reason: str) -> ModelResponseInvalid:
        return ModelResponseInvalid(
            model_name=model_name, reason=reason, body=text, status_code=status_code
        )

    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise invalid("body is not JSON") from None
    if not isinstance(body, dict):
        raise invalid("body is not a JSON object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        # Some servers answer 200 with {"error": {...}} instead of an error status.
        error = body.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise invalid(f"error object in a {status_code} body: {message}")
        raise invalid("no choices")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise invalid("choices[0].message is missing")
    finish_reason = choice.get("finish_reason")
    served_model = body.get("model")
    return ModelResponse(
        content=_content(message, invalid),
        tool_calls=_tool_calls(message.get("tool_calls"), invalid),
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        usage=_usage(body.get("usage")),
        model_name=served_model if isinstance(served_model, str) and served_model else model_name,
    )


def _content(message: dict[str, Any], invalid: Callable[[str], ModelResponseInvalid]) -> str | None:
    content = message.get("content")
    if content is None or isinstance(content, str):
        if content is None and isinstance(message.get("refusal"), str):
            # A safety refusal has no content; its text is the only answer there is to show.
            return cast(str, message["refusal"])
        return content
    if isinstance(content, list):
        # Content parts, as some servers send them: keep the text parts in order.
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        if all(isinstance(part_text, str) for part_text in texts):
            return "".join(cast(list[str], texts))
    raise invalid("message.content is neither a string nor text parts")


def _tool_calls(
    raw: object, invalid: Callable[[str], ModelResponseInvalid]
) -> list[ToolCall]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("message.tool_calls is not a list")
    calls: list[ToolCall] = []
    for index, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict):
            raise invalid(f"tool_calls[{index}].function is missing")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise invalid(f"tool_calls[{index}].function.name is missing")
        call_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(call_id, str) or not call_id:
            # Older llama.cpp builds omit ids; the tool result must still name the call it answers.
            call_id = f"call_{index}"
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            calls.append(ToolCall.from_json(call_id, name, arguments))
        elif arguments is None:
            calls.append(ToolCall.from_json(call_id, name, ""))
        elif isinstance(arguments, dict):
            # Ollama has sent arguments as an object rather than a JSON string.
            calls.append(ToolCall(id=call_id, name=name, arguments=arguments,
                                  arguments_json=json.dumps(arguments, ensure_ascii=False)))
        else:
            calls.append(ToolCall(
                id=call_id, name=name, arguments=None,
                arguments_json=json.dumps(arguments, ensure_ascii=False),
                parse_error="arguments must be a JSON object",
            ))
    return calls


def _count(value: object) -> int:
    # bool is an int in Python; a token count of `true` is garbage, not 1.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _usage(raw: object) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        prompt_tokens=_count(raw.get("prompt_tokens")),
        completion_tokens=_count(raw.get("completion_tokens")),
        cached_prompt_tokens=_count(cached),
    )


def create_model(
    settings: AgentSettings,
    *,
    offline_transport: httpx.AsyncBaseTransport | None = None,
    http_client: httpx.AsyncClient | None = None,
    recorder: UsageRecorder | None = None,
) -> OpenAIChatModel:
    """The model the settings ask for: the embedded offline model or a real endpoint.

    `offline_transport` replaces the offline ASGI app (tests hand in their own transport);
    `http_client` is used for a real endpoint (a proxy, a private CA, a client respx can see).
    """
    retry = RetryPolicy(
        max_attempts=settings.model_max_attempts, max_total_s=settings.model_max_retry_seconds
    )
    common: dict[str, Any] = {
        "retry": retry, "timeout_s": settings.model_timeout_s, "recorder": recorder,
        "record_content": settings.record_model_content,
    }
    if settings.is_offline:
        transport = offline_transport or httpx.ASGITransport(app=_offline_app())
        return OpenAIChatModel(
            settings.model, api_key=OFFLINE_API_KEY, base_url=OFFLINE_BASE_URL,
            http_client=httpx.AsyncClient(transport=transport), **common,
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else NO_API_KEY
    return OpenAIChatModel(
        settings.model, api_key=key, base_url=settings.openai_base_url, http_client=http_client,
        **common,
    )


def _offline_app() -> Any:
    # Imported here, not at the top: the offline model is optional weight for a deployment that
    # talks to a real endpoint, and it lives in a module this layer must not depend on to import.
    try:
        module = importlib.import_module("agent.offline.app")
    except ImportError as exc:
        raise ModelConfigurationError(
            'CHATPAY_MODEL="offline" needs agent.offline.app (create_offline_app), which could '
            f"not be imported: {exc}. Set CHATPAY_MODEL to a real model to run without it."
        ) from exc
    create_offline_app = getattr(module, "create_offline_app", None)
    if not callable(create_offline_app):
        raise ModelConfigurationError("agent.offline.app has no create_offline_app()")
    return create_offline_app()
