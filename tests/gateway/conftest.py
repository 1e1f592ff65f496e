"""A gateway served by uvicorn on a free port, in front of the emulator on another, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from claude_router.config import Settings
from claude_router.gateway import create_app
from claude_router.gateway.server import running_gateway
from claude_router.gateway.state import GatewayState

UPSTREAM_KEY = "sk-ant-gateway-upstream-secret-0123456789"
SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender.'"
COMPLEX = (
    "Analyse this contract clause and state which party carries more of the risk, whether the "
    "indemnification scope is unusual, and whether the limitation of liability is market-standard: "
    "'The Supplier shall indemnify the Customer against all losses arising from any breach.'"
)


def ask(text: str, max_tokens: int = 1024, **extra: Any) -> dict[str, Any]:
    return {
        "model": "auto",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


@dataclass
class Gateway:
    url: str
    app: Starlette

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.state.gateway
        return state

    def client(self, **options: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.url, api_key="unused", max_retries=0, **options)

    def sync_client(self, **options: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key="unused", max_retries=0, **options)


@pytest.fixture
def gateway_sections() -> dict[str, Any]:
    """Override in a module to change settings sections (e.g. `gateway`, `policy`)."""
    return {"gateway": {"auth": False}}


@pytest.fixture
def settings(emulator_url: str, tmp_path: Path, gateway_sections: dict[str, Any]) -> Settings:
    sections = dict(gateway_sections)
    upstream = {"base_url": emulator_url, "api_key": SecretStr(UPSTREAM_KEY), "max_retries": 0}
    upstream.update(sections.pop("upstream", {}))
    ledger = {"url": str(tmp_path / "ledger.db"), **sections.pop("ledger", {})}
    return Settings(upstream=upstream, ledger=ledger, **sections)  # type: ignore[arg-type]


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    async with running_gateway(app) as url:
        yield Gateway(url, app)
