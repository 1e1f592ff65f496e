"""Injected faults: per request by header, and at random from a seed; delays and dropped connections."""

from __future__ import annotations

import time

import anthropic
import httpx2
import pytest

from claude_router.emulator.config import EmulatorConfig, FaultConfig
from claude_router.emulator.server import running_emulator

from .support import API_KEY, HAIKU, user

PROMPT = user("Write a short essay about rivers.")


def fault(kind: str, **more: str) -> dict[str, str]:
    return {"x-emulator-fault": kind, **more}


async def test_529_is_the_overloaded_error(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.OverloadedError) as caught:
        await sdk.messages.create(model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers=fault("529"))

    assert caught.value.status_code == 529
    assert caught.value.type == "overloaded_error"
    assert isinstance(caught.value, anthropic.InternalServerError)


async def test_500_is_an_internal_server_error(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as caught:
        await sdk.messages.create(model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers=fault("500"))

    assert caught.value.status_code == 500
    assert caught.value.type == "api_error"
    assert not isinstance(caught.value, anthropic.OverloadedError)


async def test_429_is_a_rate_limit_error_with_retry_after(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as caught:
        await sdk.messages.create(model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers=fault("429"))

    assert caught.value.type == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "1"


async def test_dropped_connection_is_a_connection_error(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.APIConnectionError):
        await sdk.messages.create(model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers=fault("drop"))


async def test_stream_dropped_after_the_first_delta(sdk: anthropic.AsyncAnthropic) -> None:
    seen: list[str] = []
    stream = await sdk.messages.create(
        model=HAIKU, max_tokens=300, messages=PROMPT, stream=True, extra_headers=fault("drop")
    )

    async def read_all() -> None:
        async for event in stream:
            seen.append(event.type)

    with pytest.raises(anthropic.APIConnectionError, match="incomplete chunked read"):
        await read_all()

    assert seen == ["message_start", "content_block_start", "content_block_delta"]


async def test_the_sdk_retries_a_fault_limited_to_the_first_attempt(emulator_url: str) -> None:
    headers = fault("529", **{"x-emulator-fault-attempts": "1"})
    async with anthropic.AsyncAnthropic(base_url=emulator_url, api_key=API_KEY, max_retries=2) as sdk:
        raw = await sdk.messages.with_raw_response.create(
            model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers=headers
        )
        message = await raw.parse()

    assert raw.retries_taken == 1
    assert message.type == "message"


async def test_delay_header_holds_the_answer(sdk: anthropic.AsyncAnthropic) -> None:
    started = time.perf_counter()
    await sdk.messages.create(
        model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers={"x-emulator-delay-ms": "250"}
    )

    assert time.perf_counter() - started >= 0.25


@pytest.mark.parametrize(
    ("header", "value"),
    [("x-emulator-fault", "418"), ("x-emulator-delay-ms", "soon"), ("x-emulator-delay-ms", "9" * 40)],
)
async def test_a_bad_fault_header_is_a_bad_request(
    sdk: anthropic.AsyncAnthropic, header: str, value: str
) -> None:
    with pytest.raises(anthropic.BadRequestError, match=header):
        await sdk.messages.create(model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers={header: value})


async def outcomes(config: EmulatorConfig, count: int) -> list[int]:
    """The status of `count` identical requests, in order."""
    async with running_emulator(config) as url, httpx2.AsyncClient(base_url=url) as http:
        body = {"model": HAIKU, "max_tokens": 5, "messages": PROMPT}
        statuses = []
        for _ in range(count):
            try:
                statuses.append((await http.post("/v1/messages", json=body)).status_code)
            except httpx2.RemoteProtocolError:
                statuses.append(0)  # dropped
        return statuses


async def test_random_faults_are_reproducible_from_the_seed() -> None:
    faults = FaultConfig(seed=7, overloaded=0.2, api_error=0.1, rate_limited=0.1, drop=0.1)
    first = await outcomes(EmulatorConfig(faults=faults), 60)
    again = await outcomes(EmulatorConfig(faults=faults), 60)
    reseeded = await outcomes(EmulatorConfig(faults=faults.model_copy(update={"seed": 8})), 60)

    assert first == again
    assert first != reseeded
    assert {200, 529, 500, 429, 0} == set(first)


async def test_certain_overload_fails_every_request() -> None:
    statuses = await outcomes(EmulatorConfig(faults=FaultConfig(overloaded=1.0)), 5)

    assert statuses == [529] * 5


def test_fault_probabilities_cannot_exceed_one() -> None:
    with pytest.raises(ValueError, match="exceed 1"):
        FaultConfig(overloaded=0.6, api_error=0.5)


async def test_random_delay_holds_answers() -> None:
    config = EmulatorConfig(faults=FaultConfig(delay=1.0, delay_ms=120))
    started = time.perf_counter()
    statuses = await outcomes(config, 2)

    assert statuses == [200, 200]
    assert time.perf_counter() - started >= 0.24


@pytest.mark.parametrize("reason", ["refusal", "pause_turn", "model_context_window_exceeded"])
async def test_a_stop_on_demand(sdk: anthropic.AsyncAnthropic, reason: str) -> None:
    headers = {"x-emulator-stop": reason}
    full = await sdk.messages.create(model=HAIKU, max_tokens=2_000, messages=PROMPT)
    stopped = await sdk.messages.create(model=HAIKU, max_tokens=2_000, messages=PROMPT, extra_headers=headers)
    async with sdk.messages.stream(
        model=HAIKU, max_tokens=2_000, messages=PROMPT, extra_headers=headers
    ) as stream:
        streamed = await stream.get_final_message()

    assert stopped.stop_reason == streamed.stop_reason == reason
    text, whole = stopped.content[0], full.content[0]
    assert text.type == whole.type == "text"
    assert whole.text.startswith(text.text)
    assert 0 < stopped.usage.output_tokens < full.usage.output_tokens
    assert streamed.usage.output_tokens == stopped.usage.output_tokens
    if reason == "refusal":
        assert stopped.stop_details is not None
        assert stopped.stop_details.type == "refusal"
        assert streamed.stop_details == stopped.stop_details
    else:
        assert stopped.stop_details is None


async def test_an_unknown_stop_is_a_bad_request(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="x-emulator-stop: must be one of"):
        await sdk.messages.create(
            model=HAIKU, max_tokens=20, messages=PROMPT, extra_headers={"x-emulator-stop": "later"}
        )
