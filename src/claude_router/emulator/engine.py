"""The emulator's core: validate a Messages API body and produce the deterministic answer.

Used by the HTTP routes and by the batch processor:

    engine = Engine(config)
    message: dict = await engine.complete(body)   # a full Message JSON object
    # raises EmulatorError for a bad body (400/404) exactly as POST /v1/messages would

The HTTP route takes the same steps one at a time, so that rate limits and faults can refuse a
request before it touches the prompt cache:

    prompt = engine.parse(raw_bytes, context)      # 400 / 404 (context: API version and betas)
    plan = engine.cache.plan(prompt)               # what the prompt cache would read and write
    completion = await engine.answer(prompt, plan) # commits the plan, writes the answer
    completion.message                             # the Message object (streaming replays it)

The models served, and their lifecycle, are the shared catalogue's on `config.today`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..catalog.models import Catalogue
from .answer import Answer, Writer
from .catalog import Catalog
from .config import EmulatorConfig
from .ids import IdFactory
from .prompt import Prompt, build_prompt
from .prompt_cache import CachePlan, PromptCache
from .rules import Context
from .schema import parse_count, parse_create

SERVICE_TIER = "standard"


@dataclass(frozen=True, slots=True)
class Completion:
    prompt: Prompt
    answer: Answer
    cache: CachePlan
    message: dict[str, Any]


class Engine:
    def __init__(self, config: EmulatorConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.catalog = Catalog(Catalogue.default(), config.today or date.today())
        self.cache = PromptCache(config.prompt_cache_entries, clock)
        self.ids = IdFactory()
        self.writer = Writer(config.labeler, self.ids, opaque_signatures=config.opaque_signatures)

    def parse(self, body: bytes | dict[str, Any], context: Context | None = None) -> Prompt:
        """A POST /v1/messages body, validated; raises a 400 or 404 `EmulatorError`."""
        return build_prompt(parse_create(body), self.catalog, context)

    async def answer(
        self, prompt: Prompt, plan: CachePlan | None = None, *, stop: str | None = None
    ) -> Completion:
        """Answer `prompt`; `stop` forces an early stop_reason (refusal, pause_turn, ...)."""
        plan = self.cache.plan(prompt) if plan is None else plan
        self.cache.commit(plan)
        answer = await self.writer.answer(prompt, stop)
        return Completion(prompt, answer, plan, self._message(prompt, answer, plan))

    async def complete(self, body: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        return (await self.answer(self.parse(body, context))).message

    def count_tokens(self, body: bytes | dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        """POST /v1/messages/count_tokens: the same estimate `usage` reports, before any caching."""
        prompt = build_prompt(parse_count(body), self.catalog, context, for_count=True)
        return {"input_tokens": prompt.input_tokens}

    def _message(self, prompt: Prompt, answer: Answer, plan: CachePlan) -> dict[str, Any]:
        uncached = prompt.input_tokens - plan.read_tokens - plan.write_tokens
        return {
            "id": self.ids.new("msg"),
            "type": "message",
            "role": "assistant",
            "model": prompt.model.id,
            "content": answer.content,
            "stop_reason": answer.stop_reason,
            "stop_sequence": answer.stop_sequence,
            "stop_details": answer.stop_details,
            "usage": {
                "input_tokens": uncached,
                "cache_creation_input_tokens": plan.write_tokens,
                "cache_read_input_tokens": plan.read_tokens,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": plan.write_5m_tokens,
                    "ephemeral_1h_input_tokens": plan.write_1h_tokens,
                },
                "output_tokens": answer.output_tokens,
                "output_tokens_details": {"thinking_tokens": answer.thinking_tokens},
                "service_tier": SERVICE_TIER,
                "inference_geo": prompt.inference_geo,
                "speed": prompt.speed,
            },
        }
