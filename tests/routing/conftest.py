"""A Router on the emulator over real HTTP, with the real SDK underneath."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from claude_router.config import Settings
from claude_router.routing.router import Router

TEST_KEY = "sk-ant-router-test-0123456789"

RouterFactory = Callable[..., Router]


def settings_for(base_url: str, **sections: dict[str, Any]) -> Settings:
    """Settings pointed at `base_url`; `sections` override whole settings sections' fields."""
    upstream = {
        "base_url": base_url,
        "api_key": SecretStr(TEST_KEY),
        "max_retries": 1,
        **sections.pop("upstream", {}),
    }
    return Settings(upstream=upstream, **sections)  # type: ignore[arg-type]


@pytest.fixture
async def make_router(emulator_url: str) -> AsyncIterator[RouterFactory]:
    made: list[Router] = []

    def make(**kwargs: Any) -> Router:
        sections = {k: kwargs.pop(k) for k in ("policy", "classifier", "upstream") if k in kwargs}
        router = Router(settings_for(emulator_url, **sections), **kwargs)
        made.append(router)
        return router

    yield make
    for router in made:
        await router.aclose()


def ask(text: str, max_tokens: int = 64, **extra: Any) -> dict[str, Any]:
    return {
        "model": "auto",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender.'"
COMPLEX = (
    "Analyse this contract clause and state which party carries more of the risk, whether the "
    "indemnification scope is unusual, and whether the limitation of liability is market-standard: "
    "'The Supplier shall indemnify the Customer against all losses arising from any breach.'"
)
