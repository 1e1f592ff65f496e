"""pydantic-ai's `Agent` on its `AnthropicModel` as a client program (run in the clients' virtualenv).

    python pydantic_ai_client.py < plan.json      (see common.py)

Each scenario builds the model on an `AsyncAnthropic` client of its own (the documented way to give
it a base URL and default headers). pydantic-ai has no model listing: that scenario is not
expressed. Batches go through its `BatchModelRequests` capability; token counting through the
model's `count_tokens`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from anthropic import AsyncAnthropic
from common import WEATHER_QUESTION, WEATHER_REPORT, WEATHER_SYSTEM, Plan, Target, run
from pydantic_ai import Agent, ModelRequest
from pydantic_ai.capabilities import BatchModelRequests
from pydantic_ai.messages import ModelResponse, TextPart, ThinkingPart, ToolCallPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

QUESTION = "Is this review positive or negative? 'Great blender, quiet and fast.'"
PARAGRAPH = "Write a short paragraph about the water cycle."
WHY = "Explain why the sky is blue in two sentences."


@asynccontextmanager
async def model(
    plan: Plan, target: Target, scenario: str, name: str, **options: Any
) -> AsyncIterator[AnthropicModel]:
    """The model on a client of its own, closed with the scenario."""
    options.setdefault("api_key", target.key)
    headers = {**plan.task(scenario), **options.pop("headers", {})}
    async with AsyncAnthropic(base_url=target.base_url, default_headers=headers, **options) as client:
        yield AnthropicModel(name, provider=AnthropicProvider(anthropic_client=client))


def response_out(response: ModelResponse) -> dict[str, Any]:
    parts = response.parts
    details = response.provider_details or {}
    usage = response.usage
    return {
        "model": response.model_name,
        "stop_reason": details.get("finish_reason"),
        "blocks": [_block_type(p) for p in parts],
        "text": "".join(p.content for p in parts if isinstance(p, TextPart)),
        "thinking": "".join(p.content for p in parts if isinstance(p, ThinkingPart)),
        "calls": [
            {"name": p.tool_name, "input": p.args_as_dict()} for p in parts if isinstance(p, ToolCallPart)
        ],
        "usage": {
            "input_tokens": usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cache_read_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens,
        },
    }


def _block_type(part: Any) -> str:
    return {TextPart: "text", ThinkingPart: "thinking", ToolCallPart: "tool_use"}.get(
        type(part), part.part_kind
    )


async def answer(
    plan: Plan,
    target: Target,
    scenario: str,
    name: str,
    prompt: str,
    settings: dict[str, Any],
    **options: Any,
) -> dict[str, Any]:
    """One agent run of `prompt` on model `name`, as `response_out`."""
    async with model(plan, target, scenario, name, **options) as llm:
        result = await Agent(llm).run(prompt, model_settings={"max_tokens": 512, **settings})  # type: ignore[typeddict-item]
    return response_out(result.response)


async def plain(plan: Plan, target: Target) -> dict[str, Any]:
    return await answer(plan, target, "plain", plan.models["plain"], QUESTION, {})


async def stream(plan: Plan, target: Target) -> dict[str, Any]:
    deltas = 0
    settings = {"max_tokens": 512}
    async with (
        model(plan, target, "stream", plan.models["plain"]) as llm,
        Agent(llm).run_stream(PARAGRAPH, model_settings=settings) as result,  # type: ignore[arg-type]
    ):
        async for _ in result.stream_text(delta=True, debounce_by=None):
            deltas += 1
        response = result.response
    return {**response_out(response), "deltas": deltas}


async def tools(plan: Plan, target: Target) -> dict[str, Any]:
    asked: list[str] = []
    async with model(plan, target, "tools", plan.models["plain"]) as llm:
        agent = Agent(llm, instructions=WEATHER_SYSTEM)

        @agent.tool_plain
        def get_weather(city: str) -> str:
            """Current weather for a city."""
            asked.append(city)
            return WEATHER_REPORT

        result = await agent.run(WEATHER_QUESTION, model_settings={"max_tokens": 512})
    responses = [m for m in result.all_messages() if isinstance(m, ModelResponse)]
    out = {"first": response_out(responses[0]), "asked": asked}
    if len(responses) > 1:
        out["final"] = response_out(responses[-1])
    return out


async def thinking_adaptive(plan: Plan, target: Target) -> dict[str, Any]:
    thinking = {"type": "adaptive", "display": "summarized"}
    settings = {"max_tokens": 4096, "anthropic_thinking": thinking}
    return await answer(plan, target, "thinking_adaptive", plan.models["adaptive"], WHY, settings)


async def thinking_budget(plan: Plan, target: Target) -> dict[str, Any]:
    settings = {"max_tokens": 4096, "anthropic_thinking": {"type": "enabled", "budget_tokens": 1024}}
    return await answer(plan, target, "thinking_budget", plan.models["budget"], WHY, settings)


async def effort(plan: Plan, target: Target) -> dict[str, Any]:
    out = {}
    for level in ("low", "high"):
        settings = {"max_tokens": 4096, "anthropic_effort": level}
        out[level] = await answer(plan, target, "effort", plan.models["effort"], WHY, settings)
    return out


async def betas(plan: Plan, target: Target) -> dict[str, Any]:
    settings = {"max_tokens": 256, "anthropic_speed": "fast", "anthropic_betas": ["fast-mode-2026-02-01"]}
    return await answer(plan, target, "betas", plan.models["fast"], QUESTION, settings)


async def count_tokens(plan: Plan, target: Target) -> dict[str, Any]:
    messages = [ModelRequest.user_text_prompt(WHY, instructions=WEATHER_SYSTEM)]
    async with model(plan, target, "count_tokens", plan.models["count"]) as llm:
        usage = await llm.count_tokens(messages, None, ModelRequestParameters())
    return {"input_tokens": usage.input_tokens}


async def batches(plan: Plan, target: Target) -> dict[str, Any]:
    batching = BatchModelRequests(
        max_requests=2, max_wait=timedelta(seconds=5), poll_interval=timedelta(seconds=0.2)
    )
    async with model(plan, target, "batches", plan.models["plain"]) as llm, batching:
        agent = Agent(llm, capabilities=[batching])
        results = await asyncio.gather(
            *(agent.run(prompt, model_settings={"max_tokens": 512}) for prompt in (QUESTION, WHY))
        )
    found = [r.response for r in results]
    tickets = [(r.provider_details or {}).get("batch") or {} for r in found]
    out = [
        {"type": "succeeded", "custom_id": t.get("custom_id"), **response_out(r)}
        for r, t in zip(found, tickets, strict=True)
    ]
    return {"id": tickets[0].get("id"), "status": "ended", "results": out}


async def auth_x_api_key(plan: Plan, target: Target) -> dict[str, Any]:
    options = {"api_key": None, "headers": {"x-api-key": target.key}}
    return await answer(plan, target, "auth_x_api_key", plan.models["plain"], QUESTION, {}, **options)


async def bad_key(plan: Plan, target: Target) -> dict[str, Any]:
    return await answer(plan, target, "bad_key", plan.models["plain"], QUESTION, {}, api_key=plan.bad_key)


async def auto(plan: Plan, target: Target) -> dict[str, Any]:
    return await answer(plan, target, "auto", "auto", QUESTION, {"max_tokens": 256})


if __name__ == "__main__":
    run(
        {
            "plain": plain,
            "stream": stream,
            "tools": tools,
            "thinking_adaptive": thinking_adaptive,
            "thinking_budget": thinking_budget,
            "effort": effort,
            "betas": betas,
            "count_tokens": count_tokens,
            "batches": batches,
            "auth_x_api_key": auth_x_api_key,
            "bad_key": bad_key,
            "auto": auto,
        }
    )
