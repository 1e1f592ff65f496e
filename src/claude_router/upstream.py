"""The only code that talks to Anthropic: the official `AsyncAnthropic` client, wrapped.

Interface (stable; the implementation grows fallbacks, cooldowns, speculation and streaming):

    upstream = Upstream(settings.upstream)            # or Upstream(settings.upstream, client=...)
    result = await upstream.create(params, model="claude-haiku-4-5", fallbacks=("...",))
    result.message      # the SDK's own `Message`
    result.model_used   # the model that answered (differs from `model` after a fallback)
    result.usage        # TokenUsage of every attempt that consumed tokens
    await upstream.aclose()

Upstream API errors are raised as the SDK's own exceptions, unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anthropic
from anthropic.types import Message

from .config import UpstreamSettings
from .types import TokenUsage


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    message: Message
    model_used: str
    usage: TokenUsage
    retries: int = 0
    fallback: bool = False
    latency_s: float = 0.0
    request_id: str | None = None


class Upstream:
    def __init__(self, settings: UpstreamSettings, *, client: anthropic.AsyncAnthropic | None = None) -> None:
        self.settings = settings
        self.client = client or anthropic.AsyncAnthropic(
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            timeout=settings.timeout_s,
        )

    async def create(
        self, params: Mapping[str, Any], *, model: str, fallbacks: Sequence[str] = ()
    ) -> UpstreamResult:
        started = time.perf_counter()
        message = await self.client.messages.create(**{**params, "model": model, "stream": False})
        return UpstreamResult(
            message=message,
            model_used=model,
            usage=TokenUsage.from_api(message.usage),
            latency_s=time.perf_counter() - started,
            request_id=message._request_id,
        )

    async def aclose(self) -> None:
        await self.client.close()
