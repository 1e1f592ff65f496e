"""The gateway is no stricter than the API: the body, the API's headers and the query string go
upstream as the client sent them, and the upstream's answer (bytes, errors and their headers) comes
back as the upstream sent it, with the router's own headers added.

The upstream here is a recorder: it keeps what reached it and answers from a script.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from claude_router.config import HAIKU, Settings
from claude_router.gateway import create_app
from claude_router.gateway.errors import relayed_raw_headers
from claude_router.gateway.server import running_gateway

UPSTREAM_KEY = "sk-ant-passthrough-upstream-0123456789"
USAGE = {
    "input_tokens": 12,
    "output_tokens": 3,
    "cache_read_input_tokens": 0,
    "cache_creation_input_tokens": 0,
}
# Spacing and field order no serializer of ours would produce: relayed bytes must come back as is.
ANSWER = (
    '{"id":"msg_1", "type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",'
    '"content":[{"type":"text","text":"Positive."}],"stop_reason":"end_turn","stop_sequence":null,'
    f'"usage":{json.dumps(USAGE)},"new_field_of_2027":{{"a":1}}}}'
).encode()
EVENTS = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_2", "usage": USAGE}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"text": "Hi"}}),
    (
        "message_delta",
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
    ),
    ("message_stop", {"type": "message_stop"}),
]
STREAM = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in EVENTS).encode()
LIMITS = {"anthropic-ratelimit-requests-remaining": "99"}
REFUSED = (
    b'{"type":"error","error":{"type":"invalid_request_error","message":"context_management: needs a beta"}}'
)


@dataclass
class Recorder:
    seen: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False
    stream: bytes = STREAM

    async def messages(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw)
        seen = {"headers": dict(request.headers), "query": request.url.query, "body": body, "raw": raw}
        self.seen.append(seen)
        if self.refuse:
            headers = {"request-id": "req_up_400", "x-should-retry": "false", "x-upstream-note": "kept"}
            return Response(REFUSED, status_code=400, media_type="application/json", headers=headers)
        if body.get("stream"):
            headers = {"request-id": "req_up_s", **LIMITS}
            return Response(self.stream, media_type="text/event-stream", headers=headers)
        return Response(ANSWER, media_type="application/json", headers={"request-id": "req_up_1", **LIMITS})

    async def count_tokens(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.seen.append({"headers": dict(request.headers), "query": request.url.query, "body": body})
        return Response(b'{"input_tokens":42}', media_type="application/json")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=[False, True], ids=["relay", "through the SDK"])
def cache_aware(request: pytest.FixtureRequest) -> bool:
    """Cache-aware routing needs the parsed answer, so the gateway calls `Router.create` (the SDK)."""
    return bool(request.param)


@pytest.fixture
async def gateway_url(recorder: Recorder, tmp_path: Path, cache_aware: bool) -> AsyncIterator[str]:
    upstream = Starlette(
        routes=[
            Route("/v1/messages", recorder.messages, methods=["POST"]),
            Route("/v1/messages/count_tokens", recorder.count_tokens, methods=["POST"]),
        ]
    )
    async with running_gateway(upstream) as upstream_url:
        settings = Settings(
            upstream={"base_url": upstream_url, "api_key": SecretStr(UPSTREAM_KEY), "max_retries": 0},
            ledger={"url": str(tmp_path / "ledger.db")},
            gateway={"auth": False},
            policy={"cache_aware": cache_aware},
        )
        async with running_gateway(create_app(settings)) as url:
            yield url


CLAUDE_CODE_BODY = {
    "model": HAIKU,
    "max_tokens": 32000,
    "messages": [
        {"role": "user", "content": "hello"},
        {"role": "system", "content": "The user's working directory changed."},
        {"role": "user", "content": "and again"},
    ],
    "thinking": {"type": "adaptive", "display": "omitted"},
    "output_config": {"effort": "xhigh"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
    "metadata": {"user_id": "session_abc"},
    "a_field_no_one_has_seen": [1, {"b": None}],
}
CLIENT_HEADERS = {
    "anthropic-beta": "context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14",
    "anthropic-version": "2026-10-21",
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_the_request_goes_upstream_as_sent(
    gateway_url: str, recorder: Recorder, stream: bool, cache_aware: bool
) -> None:
    body = {**CLAUDE_CODE_BODY, "stream": stream}
    async with httpx2.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post("/v1/messages?beta=true", json=body, headers=CLIENT_HEADERS)
    assert response.status_code == 200
    if not cache_aware or stream:
        assert response.content == (STREAM if stream else ANSWER)  # the upstream's bytes, unchanged
    assert response.headers["x-router-model"] == HAIKU
    assert response.headers["request-id"] == ("req_up_s" if stream else "req_up_1")
    if not cache_aware or stream:  # the relay passes the upstream's headers on, its own added
        assert response.headers["anthropic-ratelimit-requests-remaining"] == "99"

    (sent,) = recorder.seen
    assert sent["query"] == "beta=true"
    assert sent["headers"]["anthropic-beta"] == CLIENT_HEADERS["anthropic-beta"]
    assert sent["headers"]["anthropic-version"] == "2026-10-21"
    assert UPSTREAM_KEY in (sent["headers"].get("x-api-key"), sent["headers"].get("authorization", "")[7:])
    # Every field, unknown ones and system turns included (`stream: false` is the default either way).
    assert {k: v for k, v in sent["body"].items() if k != "stream"} == CLAUDE_CODE_BODY
    assert sent["body"].get("stream", False) is stream


# Spacing, field order and escapes of the client's own: a body routed as written goes as these bytes.
HAND_WRITTEN = (
    b'{ "messages" : [ {"role":"user","content":"caf\\u00e9 \xe2\x98\x95"} ],\n'
    b'  "max_tokens":32, "model":"%s", "stream":%s }'
)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_a_body_routed_as_written_goes_as_the_clients_bytes(
    gateway_url: str, recorder: Recorder, stream: bool, cache_aware: bool
) -> None:
    raw = HAND_WRITTEN % (HAIKU.encode(), b"true" if stream else b"false")
    headers = {"content-type": "application/json", "anthropic-beta": "b1"}
    async with httpx2.AsyncClient(base_url=gateway_url, timeout=30) as http:
        named = await http.post("/v1/messages", content=raw, headers=headers)
        routed = await http.post("/v1/messages", content=raw.replace(HAIKU.encode(), b"auto"))
    assert named.status_code == routed.status_code == 200
    as_named, as_routed = recorder.seen
    if not cache_aware or stream:  # the relay (the SDK serialises the body itself)
        assert as_named["raw"] == raw
    assert as_named["body"]["messages"][0]["content"] == "caf\u00e9 \u2615"
    # Routed from "auto", the body names the model it goes to: encoded anew, every field kept.
    assert as_routed["raw"] != raw.replace(HAIKU.encode(), b"auto")
    assert as_routed["body"]["messages"] == as_named["body"]["messages"]
    assert as_routed["body"]["model"] == routed.headers["x-router-model"]


async def test_a_repeated_beta_header_goes_upstream_joined(gateway_url: str, recorder: Recorder) -> None:
    betas = [("anthropic-beta", "context-management-2025-06-27"), ("anthropic-beta", "b2")]
    async with httpx2.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post("/v1/messages", json=CLAUDE_CODE_BODY, headers=betas)
    assert response.status_code == 200
    (sent,) = recorder.seen
    assert sent["headers"]["anthropic-beta"] == "context-management-2025-06-27,b2"


async def test_a_client_without_a_version_gets_the_sdks(gateway_url: str, recorder: Recorder) -> None:
    async with httpx2.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post("/v1/messages", json={**CLAUDE_CODE_BODY})
    assert response.status_code == 200
    (sent,) = recorder.seen
    assert sent["headers"]["anthropic-version"] == "2026-10-21"  # as the SDK's client sends
    assert "anthropic-beta" not in sent["headers"]
    assert sent["query"] == ""


async def test_an_upstream_error_comes_back_unmodified(gateway_url: str, recorder: Recorder) -> None:
    recorder.refuse = True
    async with httpx2.AsyncClient(base_url=gateway_url, timeout=30) as http:
        plain = await http.post("/v1/messages", json=CLAUDE_CODE_BODY, headers=CLIENT_HEADERS)
        streamed = await http.post("/v1/messages", json={**CLAUDE_CODE_BODY, "stream": True})
    for response in (plain, streamed):
        assert response.status_code == 400
        assert response.content == REFUSED
        assert response.headers["request-id"] == "req_up_400"
        assert response.headers["x-should-retry"] == "false"
        assert response.headers["x-upstream-note"] == "kept"
    assert len(recorder.seen) == 2  # a 400 is not retried


async def test_count_tokens_forwards_the_betas_too(gateway_url: str, recorder: Recorder) -> None:
    body = {k: v for k, v in CLAUDE_CODE_BODY.items() if k != "max_tokens"}
    async with httpx2.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post("/v1/messages/count_tokens?beta=true", json=body, headers=CLIENT_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json() == {"input_tokens": 42}
    (sent,) = recorder.seen
    assert sent["query"] == "beta=true"
    assert sent["headers"]["anthropic-beta"] == CLIENT_HEADERS["anthropic-beta"]
    assert sent["headers"]["anthropic-version"] == "2026-10-21"
    assert sent["body"]["context_management"] == CLAUDE_CODE_BODY["context_management"]


OVERLOADED = (
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
)


async def test_an_error_event_midway_goes_through_as_sent(gateway_url: str, recorder: Recorder) -> None:
    """After the first event the client has seen output: the upstream's own error event reaches it
    unchanged (no model is tried instead, and the gateway adds no event of its own)."""
    midway = STREAM[: STREAM.index(b"event: message_delta")] + OVERLOADED
    recorder.stream = midway
    async with httpx2.AsyncClient(base_url=gateway_url, timeout=30) as http:
        response = await http.post("/v1/messages", json={**CLAUDE_CODE_BODY, "stream": True})
    assert response.status_code == 200
    assert response.content == midway
    assert len(recorder.seen) == 1


def test_relayed_headers_are_the_upstreams_bar_the_connections_with_the_routers_on_top() -> None:
    upstream = {
        "Content-Type": "application/json",
        "Request-Id": "req_up",
        "Content-Length": "12",
        "Connection": "keep-alive",
        "x-router-model": "from upstream",
    }
    raw = relayed_raw_headers(upstream, {"x-router-model": HAIKU}, content_type="text/plain")
    assert raw == [
        (b"content-type", b"application/json"),
        (b"request-id", b"req_up"),
        (b"x-router-model", HAIKU.encode()),
    ]
    untyped = relayed_raw_headers({"request-id": "r"}, {}, content_type="application/json")
    assert untyped == [(b"request-id", b"r"), (b"content-type", b"application/json")]
