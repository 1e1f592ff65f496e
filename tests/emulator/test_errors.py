"""Errors: the API's JSON shape and status, mapped by the SDK to its typed exceptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import Message

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator

from .support import API_KEY, HAIKU, SONNET, user

GOOD: dict[str, Any] = {"model": HAIKU, "max_tokens": 10, "messages": user("Hi")}
LONG_TEXT = "cacheable words " * 400


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != key}


def breakpoint_block(text: str, ttl: str = "5m") -> dict[str, Any]:
    return {"type": "text", "text": text, "cache_control": {"type": "ephemeral", "ttl": ttl}}


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("missing model", without("model"), "model: Field required"),
    ("ill-typed model", with_(model=123), "model: Input should be a valid string"),
    ("missing max_tokens", without("max_tokens"), "max_tokens: Field required"),
    ("string max_tokens", with_(max_tokens="10"), "max_tokens: Input should be a valid integer"),
    ("float max_tokens", with_(max_tokens=10.5), "max_tokens: Input should be a valid integer"),
    ("negative max_tokens", with_(max_tokens=-1), "max_tokens: Input should be greater than or equal to 0"),
    ("max_tokens over the model's", with_(max_tokens=10**7), "maximum allowed number of output tokens"),
    ("missing messages", without("messages"), "messages: Field required"),
    ("messages not a list", with_(messages="Hi"), "messages: Input should be a valid list"),
    ("no messages", with_(messages=[]), "messages: at least one message is required"),
    ("bad role", with_(messages=[{"role": "system", "content": "Hi"}]), "messages.0.role: Input should be"),
    ("missing content", with_(messages=[{"role": "user"}]), "messages.0.content: Field required"),
    (
        "empty content",
        with_(messages=[{"role": "user", "content": ""}]),
        "messages.0: all messages must have",
    ),
    ("empty block list", with_(messages=[{"role": "user", "content": []}]), "messages.0: all messages must"),
    (
        "empty text block",
        with_(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
        "messages.0.content.0.text: text content blocks must be non-empty",
    ),
    (
        "unknown block type",
        with_(messages=[{"role": "user", "content": [{"type": "video", "url": "x"}]}]),
        "messages.0.content.0: Input tag 'video' found using 'type' does not match",
    ),
    (
        "block without its field",
        with_(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "messages.0.content.0.text: Field required",
    ),
    ("unknown field", with_(colour="blue"), "colour: Extra inputs are not permitted"),
    ("blank stop sequence", with_(stop_sequences=["  "]), "stop_sequences.0: stop sequences must contain"),
    ("temperature out of range", with_(temperature=1.5), "temperature: Input should be between 0 and 1"),
    ("tool_choice without tools", with_(tool_choice={"type": "any"}), "tool_choice may only be specified"),
    (
        "tool_choice naming no tool",
        with_(
            tools=[{"name": "a", "input_schema": {"type": "object"}}],
            tool_choice={"type": "tool", "name": "b"},
        ),
        "tool_choice.name: Tool 'b' not found",
    ),
    ("custom tool without schema", with_(tools=[{"name": "a"}]), "tools.0.input_schema: Field required"),
    (
        "duplicate tool names",
        with_(tools=[{"name": "a", "input_schema": {}}, {"name": "a", "input_schema": {}}]),
        "Tool names must be unique",
    ),
    (
        "five cache breakpoints",
        with_(system=[breakpoint_block(f"part {i}") for i in range(5)]),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    (
        "1h breakpoint after a 5m one",
        with_(system=[breakpoint_block("a", "5m"), breakpoint_block("b", "1h")]),
        "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block",
    ),
    (
        "unknown cache_control type",
        with_(system=[{"type": "text", "text": "a", "cache_control": {"type": "forever"}}]),
        "system.0.cache_control.type: Input should be 'ephemeral'",
    ),
    (
        "empty system block",
        with_(system=[{"type": "text", "text": ""}]),
        "system.0.text: text content blocks",
    ),
    (
        "prefill ending in whitespace",
        with_(messages=[*user("Hi"), {"role": "assistant", "content": "Sure "}]),
        "final assistant content cannot end with trailing whitespace",
    ),
    ("prompt over the context window", with_(messages=user("x" * 4_000_100)), "prompt is too long"),
]


@pytest.mark.parametrize(
    ("body", "expected"), [case[1:] for case in MALFORMED], ids=[c[0] for c in MALFORMED]
)
async def test_malformed_body_is_a_bad_request(
    sdk: anthropic.AsyncAnthropic, body: dict[str, Any], expected: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await sdk.post("/v1/messages", cast_to=Message, body=body)

    error = caught.value
    assert error.status_code == 400
    assert error.type == "invalid_request_error"
    assert expected in (error.api_message or "")
    assert error.request_id is not None
    assert error.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": error.api_message},
        "request_id": error.request_id,
    }


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"not json", b"[1, 2]", b"null", b'"text"', b"\xff\xfe", b'{"model": NaN}'],
    ids=["empty", "truncated", "text", "array", "null", "string", "bad utf-8", "nan"],
)
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(emulator_url: str, raw: bytes) -> None:
    async with httpx2.AsyncClient(base_url=emulator_url) as http:
        response = await http.post("/v1/messages", content=raw, headers={"content-type": "application/json"})

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["request_id"] == response.headers["request-id"]


async def test_unknown_model_is_not_found(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        await sdk.messages.create(model="claude-nonexistent-9", max_tokens=10, messages=user("Hi"))

    assert caught.value.type == "not_found_error"
    assert caught.value.api_message == "model: claude-nonexistent-9"


async def test_unknown_path_and_method_answer_in_the_api_shape(emulator_url: str) -> None:
    async with httpx2.AsyncClient(base_url=emulator_url) as http:
        missing = await http.get("/v1/nothing-here")
        wrong_method = await http.get("/v1/messages")

    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "invalid_request_error"
    assert missing.headers["request-id"] != wrong_method.headers["request-id"]


@pytest.fixture
async def guarded_url() -> AsyncIterator[str]:
    async with running_emulator(EmulatorConfig(require_api_key=True, api_keys=[API_KEY])) as url:
        yield url


async def test_a_wrong_key_is_an_authentication_error(guarded_url: str) -> None:
    async with anthropic.AsyncAnthropic(
        base_url=guarded_url, api_key="sk-wrong-secret", max_retries=0
    ) as sdk:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await sdk.messages.create(**GOOD)

    assert caught.value.type == "authentication_error"
    assert "sk-wrong-secret" not in str(caught.value.body)


async def test_a_missing_key_is_an_authentication_error(guarded_url: str) -> None:
    async with httpx2.AsyncClient(base_url=guarded_url) as http:
        response = await http.post("/v1/messages", json=GOOD)

    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "authentication_error",
        "message": "x-api-key header is required",
    }
    assert response.headers["request-id"].startswith("req_")


async def test_the_right_key_or_bearer_token_is_accepted(guarded_url: str) -> None:
    async with anthropic.AsyncAnthropic(base_url=guarded_url, api_key=API_KEY, max_retries=0) as sdk:
        message = await sdk.messages.create(**GOOD)
    async with anthropic.AsyncAnthropic(base_url=guarded_url, auth_token=API_KEY, max_retries=0) as bearer:
        models = await bearer.models.list()

    assert message.type == "message"
    assert models.data


async def test_a_body_over_the_limit_is_too_large() -> None:
    async with (
        running_emulator(EmulatorConfig(max_body_bytes=2_000)) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        ok = await sdk.messages.create(**GOOD)
        with pytest.raises(anthropic.ContentTooLargeError) as caught:
            await sdk.messages.create(model=SONNET, max_tokens=10, messages=user("x" * 3_000))

    assert ok.type == "message"
    assert caught.value.status_code == 413
    assert caught.value.type == "request_too_large"  # type: ignore[comparison-overlap]


async def test_a_broken_labeler_plug_in_is_a_server_error() -> None:
    config = EmulatorConfig(labeler=lambda text: "impossible")
    body = with_(max_tokens=8, system="Answer with one word: simple, moderate or complex.")
    async with (
        running_emulator(config) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        with pytest.raises(anthropic.InternalServerError) as caught:
            await sdk.messages.create(**body)

    assert caught.value.status_code == 500
    assert caught.value.type == "api_error"
    assert caught.value.request_id is not None


async def test_x_api_key_wins_over_a_bearer_token(guarded_url: str) -> None:
    async with httpx2.AsyncClient(base_url=guarded_url) as http:
        key_first = await http.post(
            "/v1/messages", json=GOOD, headers={"x-api-key": API_KEY, "authorization": "Bearer sk-wrong"}
        )
        wrong_key = await http.post(
            "/v1/messages", json=GOOD, headers={"x-api-key": "sk-wrong", "authorization": f"Bearer {API_KEY}"}
        )
        bearer_only = await http.post(
            "/v1/messages", json=GOOD, headers={"authorization": f"Bearer {API_KEY}"}
        )

    assert key_first.status_code == 200
    assert wrong_key.status_code == 401
    assert bearer_only.status_code == 200
