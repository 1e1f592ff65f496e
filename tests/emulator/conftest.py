"""Fixtures: the emulator served over real HTTP, and official SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import emulator_thread

from .support import API_KEY, TODAY


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """The emulator on the tests' fixed date (a module may override this fixture)."""
    return EmulatorConfig(today=TODAY)


@pytest.fixture
async def sdk(emulator_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The async SDK, without retries (tests that exercise retries build their own)."""
    async with anthropic.AsyncAnthropic(base_url=emulator_url, api_key=API_KEY, max_retries=0) as client:
        yield client


@pytest.fixture
def sync_emulator_url(emulator_config: EmulatorConfig) -> Iterator[str]:
    with emulator_thread(emulator_config) as url:
        yield url


@pytest.fixture
def sync_sdk(sync_emulator_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=sync_emulator_url, api_key=API_KEY, max_retries=0) as client:
        yield client
