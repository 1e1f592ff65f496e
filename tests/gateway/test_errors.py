"""Every failure Anthropic-shaped with the right status: our own, the router's and the upstream's."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import pytest

from claude_router.config import HAIKU
from claude_router.emulator.config import EmulatorConfig, FaultConfig

from .conftest import SIMPLE, UPSTREAM_KEY, Gateway, ask


def assert_error(response: httpx2.Response, status: int, error_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert UPSTREAM_KEY not in response.text
    return body


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'{"model": "auto", "max_tokens": 10}', "messages"),
        (b'{"model": 7, "max_tokens": 10, "messages": []}', "model"),
        (b'{"model": "auto", "max_tokens": "ten", "messages": []}', "max_tokens"),
        (b'{"model": "auto", "max_tokens": true, "messages": []}', "max_tokens"),
        (b'{"model": "auto", "messages": [{"role": "robot", "content": "x"}]}', "role"),
        (b'{"model": "auto", "stream": "yes", "messages": []}', "stream"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_bad_bodies_are_400(gateway: Gateway, content: bytes, fragment: str) -> None:
    async with httpx2.AsyncClient(base_url=gateway.url) as http:
        response = await http.post(
            "/v1/messages", content=content, headers={"content-type": "application/json"}
        )
    body = assert_error(response, 400, "invalid_request_error")
    assert fragment in body["error"]["message"]


async def test_bad_router_header_is_400(gateway: Gateway) -> None:
    async with gateway.client(default_headers={"x-router-floor": "genius"}) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(**ask(SIMPLE))
    assert "x-router-floor" in caught.value.message


@pytest.mark.parametrize("model", ["router:nope", "claude-imaginary-9", "gpt-4o"])
async def test_unknown_alias_or_model_is_404(gateway: Gateway, model: str) -> None:
    async with gateway.client() as client:
        with pytest.raises(anthropic.NotFoundError) as caught:
            await client.messages.create(**ask(SIMPLE, model=model))
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "not_found_error"
    assert model in caught.value.message


async def test_unknown_forced_model_is_404(gateway: Gateway) -> None:
    async with gateway.client(default_headers={"x-router-force-model": "claude-nope"}) as client:
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.create(**ask(SIMPLE))


@pytest.fixture
def gateway_sections() -> dict[str, Any]:
    return {"gateway": {"auth": False, "max_body_bytes": 2048}}


async def test_oversize_body_is_413(gateway: Gateway) -> None:
    async with gateway.client() as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(**ask("x" * 4096))
    assert caught.value.status_code == 413
    assert caught.value.type == "request_too_large"


async def test_chunked_oversize_body_is_413(gateway: Gateway) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b" " * 1024

    async with httpx2.AsyncClient(base_url=gateway.url) as http:
        response = await http.post("/v1/messages", content=chunks())
    assert_error(response, 413, "request_too_large")


async def test_upstream_400_is_relayed_with_its_body(gateway: Gateway) -> None:
    async with gateway.client() as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            # a request naming its model goes as written (a routed one would have it adapted)
            await client.messages.create(**ask(SIMPLE, model=HAIKU, extra_body={"temperature": "hot"}))
    assert caught.value.type == "invalid_request_error"
    assert "temperature" in caught.value.message
    assert caught.value.request_id is not None


async def test_unknown_route_and_method_are_anthropic_shaped(gateway: Gateway) -> None:
    async with httpx2.AsyncClient(base_url=gateway.url) as http:
        missing = await http.get("/v1/nothing")
        wrong = await http.get("/v1/messages")
    assert_error(missing, 404, "not_found_error")
    assert_error(wrong, 405, "invalid_request_error")


class TestUpstreamFailures:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(faults=FaultConfig(overloaded=1.0))

    async def test_overloaded_upstream_is_relayed_as_529(self, gateway: Gateway) -> None:
        async with gateway.client() as client:
            with pytest.raises(anthropic.APIStatusError) as caught:
                await client.messages.create(**ask(SIMPLE))
            with pytest.raises(anthropic.APIStatusError) as streamed:
                await client.messages.create(**ask(SIMPLE), stream=True)
        assert caught.value.status_code == streamed.value.status_code == 529
        assert caught.value.type == "overloaded_error"
        failed = [r for r in gateway.state.router.recent if not r.ok]
        assert len(failed) == 2


class TestUpstreamRejectsOurKey:
    @pytest.fixture
    def emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(require_api_key=True, api_keys=["sk-ant-some-other-key"])

    async def test_upstream_401_is_relayed_without_the_key(self, gateway: Gateway) -> None:
        async with httpx2.AsyncClient(base_url=gateway.url) as http:
            response = await http.post("/v1/messages", json={**ask(SIMPLE), "model": "claude-haiku-4-5"})
        assert_error(response, 401, "authentication_error")


class TestUnreachableUpstream:
    @pytest.fixture
    def gateway_sections(self) -> dict[str, Any]:
        return {"gateway": {"auth": False}, "upstream": {"base_url": "http://127.0.0.1:9", "timeout_s": 2}}

    async def test_connection_failure_is_502(self, gateway: Gateway) -> None:
        async with httpx2.AsyncClient(base_url=gateway.url) as http:
            response = await http.post("/v1/messages", json={**ask(SIMPLE), "model": "claude-haiku-4-5"})
        assert_error(response, 502, "api_error")
