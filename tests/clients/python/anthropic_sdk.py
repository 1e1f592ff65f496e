"""The official Python SDK (the project's own dependency, its newest release) as a client program.

    python anthropic_sdk.py < plan.json      (see common.py)

Every scenario uses the SDK the way its documentation shows: `messages.create` and `stream`, a
tool round trip, thinking, effort, a beta through `client.beta`, token counting, the paged model
list, a Message Batch. The SDK sends the key as `Authorization: Bearer` unless told otherwise.
"""

from __future__ import annotations

import time
from typing import Any

import anthropic
from common import (
    WEATHER_QUESTION,
    WEATHER_REPORT,
    WEATHER_SYSTEM,
    WEATHER_TOOL,
    Plan,
    Target,
    run,
    usage_dict,
)

QUESTION = "Is this review positive or negative? 'Great blender, quiet and fast.'"
PARAGRAPH = "Write a short paragraph about the water cycle."
WHY = "Explain why the sky is blue in two sentences."
BATCH_WAIT_S = 30.0


_CLIENTS: dict[str, anthropic.Anthropic] = {}


def client(plan: Plan, target: Target, scenario: str, **options: Any) -> anthropic.Anthropic:
    """A client for one scenario: the target's client with the scenario's options (sharing its
    connection pool, as `with_options` does), or a new one for another key."""
    base = _CLIENTS.get(target.name)
    if base is None:
        base = _CLIENTS[target.name] = anthropic.Anthropic(base_url=target.base_url, api_key=target.key)
    return base.with_options(default_headers=plan.task(scenario), **options)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def message_out(message: Any) -> dict[str, Any]:
    blocks = message.content
    return {
        "model": message.model,
        "stop_reason": message.stop_reason,
        "blocks": [b.type for b in blocks],
        "text": "".join(b.text for b in blocks if b.type == "text"),
        "thinking": "".join(b.thinking for b in blocks if b.type == "thinking"),
        "calls": [{"name": b.name, "input": b.input} for b in blocks if b.type == "tool_use"],
        "usage": usage_dict(message.usage),
    }


def plain(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "plain")
    return message_out(
        sdk.messages.create(model=plan.models["plain"], max_tokens=256, messages=user(QUESTION))
    )


def stream(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "stream")
    with sdk.messages.stream(model=plan.models["plain"], max_tokens=512, messages=user(PARAGRAPH)) as events:
        deltas = sum(1 for _ in events.text_stream)
        final = events.get_final_message()
    return {**message_out(final), "deltas": deltas}


def tools(plan: Plan, target: Target) -> dict[str, Any]:
    messages = user(WEATHER_QUESTION)
    ask = {
        "model": plan.models["plain"],
        "max_tokens": 512,
        "system": WEATHER_SYSTEM,
        "tools": [WEATHER_TOOL],
    }
    sdk = client(plan, target, "tools")
    first = sdk.messages.create(**ask, messages=messages)
    calls = [b for b in first.content if b.type == "tool_use"]
    if not calls:
        return {"first": message_out(first)}
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": c.id, "content": WEATHER_REPORT} for c in calls
            ],
        },
    ]
    final = sdk.messages.create(**ask, messages=messages)
    return {"first": message_out(first), "final": message_out(final)}


def thinking_adaptive(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "thinking_adaptive")
    message = sdk.messages.create(
        model=plan.models["adaptive"],
        max_tokens=4096,
        thinking={"type": "adaptive", "display": "summarized"},
        messages=user(WHY),
    )
    return message_out(message)


def thinking_budget(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "thinking_budget")
    message = sdk.messages.create(
        model=plan.models["budget"],
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=user(WHY),
    )
    return message_out(message)


def effort(plan: Plan, target: Target) -> dict[str, Any]:
    out = {}
    sdk = client(plan, target, "effort")
    for level in ("low", "high"):
        message = sdk.messages.create(
            model=plan.models["effort"],
            max_tokens=4096,
            output_config={"effort": level},
            messages=user(WHY),
        )
        out[level] = message_out(message)
    return out


def betas(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "betas")
    message = sdk.beta.messages.create(
        model=plan.models["fast"],
        max_tokens=256,
        speed="fast",
        betas=["fast-mode-2026-02-01"],
        messages=user(QUESTION),
    )
    return message_out(message)


def count_tokens(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "count_tokens")
    counted = sdk.messages.count_tokens(model=plan.models["count"], system=WEATHER_SYSTEM, messages=user(WHY))
    return {"input_tokens": counted.input_tokens}


def models(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "models")
    page = first = sdk.models.list(limit=3)
    pages, ids = 1, [m.id for m in page.data]
    while page.has_next_page() and pages < 100:
        page = page.get_next_page()
        pages += 1
        ids += [m.id for m in page.data]
    return {"first_page": [m.id for m in first.data], "has_more": first.has_more, "pages": pages, "ids": ids}


def batches(plan: Plan, target: Target) -> dict[str, Any]:
    params = {"model": plan.models["plain"], "max_tokens": 512}
    requests = [
        {"custom_id": "review", "params": {**params, "messages": user(QUESTION)}},
        {"custom_id": "sky", "params": {**params, "messages": user(WHY)}},
    ]
    sdk = client(plan, target, "batches")
    batch = sdk.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    deadline = time.monotonic() + BATCH_WAIT_S
    while batch.processing_status != "ended" and time.monotonic() < deadline:
        time.sleep(0.2)
        batch = sdk.messages.batches.retrieve(batch.id)
    results = []
    for entry in sdk.messages.batches.results(batch.id):
        result: dict[str, Any] = {"custom_id": entry.custom_id, "type": entry.result.type}
        if entry.result.type == "succeeded":
            result.update(message_out(entry.result.message))
        results.append(result)
    return {"id": batch.id, "status": batch.processing_status, "results": results}


def auth_x_api_key(plan: Plan, target: Target) -> dict[str, Any]:
    headers = {"x-api-key": target.key, **plan.task("auth_x_api_key")}
    with anthropic.Anthropic(base_url=target.base_url, api_key=None, default_headers=headers) as sdk:
        message = sdk.messages.create(model=plan.models["plain"], max_tokens=256, messages=user(QUESTION))
    return message_out(message)


def bad_key(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "bad_key", api_key=plan.bad_key)
    message = sdk.messages.create(model=plan.models["plain"], max_tokens=64, messages=user(QUESTION))
    return message_out(message)


def auto(plan: Plan, target: Target) -> dict[str, Any]:
    sdk = client(plan, target, "auto")
    raw = sdk.messages.with_raw_response.create(model="auto", max_tokens=256, messages=user(QUESTION))
    return {
        **message_out(raw.parse()),
        "router_model": raw.headers.get("x-router-model"),
        "router_label": raw.headers.get("x-router-label"),
    }


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
            "models": models,
            "batches": batches,
            "auth_x_api_key": auth_x_api_key,
            "bad_key": bad_key,
            "auto": auto,
        }
    )
