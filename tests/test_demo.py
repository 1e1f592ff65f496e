"""`claude-router demo` as a user meets it: each answer printed the moment it is in, Ctrl-C that
stops it within a second with one line, and a non-zero exit when requests failed."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from claude_router.emulator.config import EmulatorConfig, TierLatency
from claude_router.emulator.server import running_emulator
from cli_support import cli_env, invoke

OPUS_S = 2.0


@pytest.fixture
async def slow_opus_url() -> AsyncIterator[str]:
    """An emulator whose Opus answers take OPUS_S seconds and everything else none."""
    async with running_emulator(EmulatorConfig(latency={"opus": TierLatency(ttft_s=OPUS_S)})) as url:
        yield url


async def start_demo(home: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "claude_router.cli", "demo", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(home, PYTHONUNBUFFERED="1", **env),
    )


async def test_each_answer_is_printed_as_soon_as_it_is_in(slow_opus_url: str, tmp_path: Path) -> None:
    demo = await start_demo(tmp_path, ANTHROPIC_BASE_URL=slow_opus_url, ANTHROPIC_API_KEY="sk-emulator")
    seen: dict[str, float] = {}
    assert demo.stdout is not None
    async with asyncio.timeout(60):
        async for raw in demo.stdout:
            line = raw.decode()
            if " routed to " in line:
                seen[line.split("]")[0].lstrip("[")] = time.monotonic()
        assert await demo.wait() == 0
    # The Haiku answers were on screen while the Opus one was still being written.
    assert seen["doc-analysis-005"] - seen["sentiment-001"] > OPUS_S / 2
    assert len(seen) == 8


async def test_ctrl_c_stops_it_within_a_second_with_one_line(tmp_path: Path) -> None:
    demo = await start_demo(tmp_path)  # the built-in emulator, with its realistic latency
    assert demo.stdout is not None
    assert demo.stderr is not None
    async with asyncio.timeout(60):
        while b"Processing 8 requests" not in await demo.stdout.readline():
            pass
    await asyncio.sleep(0.3)  # requests in flight
    demo.send_signal(signal.SIGINT)
    started = time.monotonic()
    async with asyncio.timeout(5):
        _, err = await demo.communicate()
    assert time.monotonic() - started < 1.0
    assert demo.returncode == 130
    assert err.decode() == "interrupted\n"


def test_the_demo_fails_when_its_requests_fail(tmp_path: Path) -> None:
    key = "sk-ant-api03-secret-0123456789"
    result = invoke(
        "demo",
        "--no-latency",
        home=tmp_path,
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",  # nothing listens there
        ANTHROPIC_API_KEY=key,
        CLAUDE_ROUTER_UPSTREAM__MAX_RETRIES="0",
        CLAUDE_ROUTER_UPSTREAM__FALLBACK_CHAIN="[]",
    )
    said = " ".join(result.output.split())  # whatever the terminal's wrapping
    assert result.exit_code == 1
    assert "8 of 8 requests failed" in said
    assert said.count("failed: cannot reach the API at 127.0.0.1:9 (All connection attempts failed)") == 8
    assert "Traceback" not in result.output
    assert key not in result.output
