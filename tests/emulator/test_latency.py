"""The latency model: time to first token and output speed per model line; none by default."""

from __future__ import annotations

import time

import anthropic

import claude_router.emulator as emulator
from claude_router.emulator.config import REALISTIC_LATENCY, EmulatorConfig, TierLatency
from claude_router.emulator.server import running_emulator

from .support import API_KEY, HAIKU, OPUS, user

PROMPT = user("Summarize the plot of a long novel.")
CONFIG = EmulatorConfig(
    latency={
        "haiku": TierLatency(ttft_s=0.05, output_tokens_per_s=2_000),
        "opus": TierLatency(ttft_s=0.3, output_tokens_per_s=1_000),
    }
)


async def first_text_after(sdk: anthropic.AsyncAnthropic, model: str) -> tuple[float, float, int]:
    """Seconds to the first text delta and to the end of the stream, and the output tokens."""
    started = time.perf_counter()
    first = 0.0
    async with sdk.messages.stream(model=model, max_tokens=300, messages=PROMPT) as stream:
        async for _ in stream.text_stream:
            first = first or time.perf_counter() - started
        final = await stream.get_final_message()
    return first, time.perf_counter() - started, final.usage.output_tokens


async def test_streams_keep_each_lines_pace() -> None:
    async with (
        running_emulator(CONFIG) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        haiku = await first_text_after(sdk, HAIKU)
        opus = await first_text_after(sdk, OPUS)

    assert haiku[0] >= 0.05
    assert opus[0] >= 0.3
    assert opus[1] >= 0.3 + opus[2] / 1_000  # the last token arrives at ttft + tokens / rate


async def test_a_whole_answer_waits_for_its_last_token() -> None:
    async with (
        running_emulator(CONFIG) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        started = time.perf_counter()
        message = await sdk.messages.create(model=OPUS, max_tokens=300, messages=PROMPT)
        elapsed = time.perf_counter() - started

    assert elapsed >= 0.3 + message.usage.output_tokens / 1_000


def test_latency_is_zero_unless_configured() -> None:
    assert EmulatorConfig().latency_for("opus").total_s(1_000) == 0.0
    assert CONFIG.latency_for("sonnet").total_s(1_000) == 0.0


def test_the_realistic_preset_orders_the_lines() -> None:
    preset = EmulatorConfig.realistic()
    haiku, sonnet, opus = (preset.latency_for(line) for line in ("haiku", "sonnet", "opus"))

    assert preset.latency == REALISTIC_LATENCY
    assert haiku.ttft_s < sonnet.ttft_s < opus.ttft_s
    assert haiku.output_tokens_per_s > sonnet.output_tokens_per_s > opus.output_tokens_per_s
    assert haiku.total_s(5) < 0.5  # a one-word label
    assert 1.5 <= sonnet.total_s(250) <= 3.5
    assert 3.5 <= opus.total_s(300) <= 8.0


def test_the_public_surface() -> None:
    exported = {name for name in dir(emulator) if not name.startswith("_")}

    assert set(emulator.__all__) <= exported
    assert {"EmulatorConfig", "Engine", "EmulatorError", "running_emulator", "serve", "create_app"} <= set(
        emulator.__all__
    )


def test_fast_mode_writes_output_faster() -> None:
    config = EmulatorConfig(latency={"opus": TierLatency(ttft_s=0.5, output_tokens_per_s=100.0)})

    standard = config.latency_for("opus").total_s(1_000)
    fast = config.latency_for("opus", fast=True).total_s(1_000)

    assert standard == 0.5 + 10.0
    assert fast == 0.5 + 4.0
