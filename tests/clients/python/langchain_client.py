"""langchain-anthropic's `ChatAnthropic` as a client program (run in the clients' virtualenv).

    python langchain_client.py < plan.json      (see common.py)

LangChain has no model listing and no Message Batches: those scenarios are not expressed. It
always sends the key as `Authorization: Bearer`; for `x-api-key` it is given the key in that header
as well (the server reads x-api-key first), since an empty `api_key` is not a valid header.
"""

from __future__ import annotations

from typing import Any

from common import (
    WEATHER_QUESTION,
    WEATHER_REPORT,
    WEATHER_SYSTEM,
    WEATHER_TOOL,
    Plan,
    Target,
    run,
)
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

QUESTION = "Is this review positive or negative? 'Great blender, quiet and fast.'"
PARAGRAPH = "Write a short paragraph about the water cycle."
WHY = "Explain why the sky is blue in two sentences."


def chat(plan: Plan, target: Target, scenario: str, model: str, **options: Any) -> ChatAnthropic:
    options.setdefault("api_key", target.key)
    options.setdefault("max_tokens", 512)
    headers = {**plan.task(scenario), **options.pop("headers", {})}
    return ChatAnthropic(model=model, base_url=target.base_url, default_headers=headers, **options)


def message_out(message: BaseMessage) -> dict[str, Any]:
    content = (
        message.content if isinstance(message.content, list) else [{"type": "text", "text": message.content}]
    )
    blocks = [b for b in content if isinstance(b, dict)]
    metadata = message.response_metadata
    return {
        "model": metadata.get("model_name") or metadata.get("model"),
        "stop_reason": metadata.get("stop_reason"),
        "blocks": [b.get("type") for b in blocks],
        "text": message.text,
        "thinking": "".join(str(b.get("thinking", "")) for b in blocks if b.get("type") == "thinking"),
        "calls": [{"name": c["name"], "input": c["args"]} for c in getattr(message, "tool_calls", [])],
        "usage": _usage(message),
    }


def _usage(message: BaseMessage) -> dict[str, Any]:
    """The API's usage when the response carries it, else LangChain's own totals."""
    raw = message.response_metadata.get("usage")
    if isinstance(raw, dict) and "output_tokens" in raw:
        return raw
    summary = getattr(message, "usage_metadata", None) or {}
    details = summary.get("input_token_details") or {}
    cached = int(details.get("cache_read") or 0) + int(details.get("cache_creation") or 0)
    return {
        "input_tokens": int(summary.get("input_tokens", 0)) - cached,
        "output_tokens": int(summary.get("output_tokens", 0)),
        "cache_read_input_tokens": int(details.get("cache_read") or 0),
        "cache_creation_input_tokens": int(details.get("cache_creation") or 0),
    }


def plain(plan: Plan, target: Target) -> dict[str, Any]:
    return message_out(chat(plan, target, "plain", plan.models["plain"]).invoke(QUESTION))


def stream(plan: Plan, target: Target) -> dict[str, Any]:
    model = chat(plan, target, "stream", plan.models["plain"])
    total: Any = None
    deltas = 0
    for chunk in model.stream(PARAGRAPH):
        deltas += 1 if chunk.text else 0
        total = chunk if total is None else total + chunk
    return {**message_out(total), "deltas": deltas}


def tools(plan: Plan, target: Target) -> dict[str, Any]:
    model = chat(plan, target, "tools", plan.models["plain"]).bind_tools([WEATHER_TOOL])
    messages: list[BaseMessage] = [SystemMessage(WEATHER_SYSTEM), HumanMessage(WEATHER_QUESTION)]
    first = model.invoke(messages)
    assert isinstance(first, AIMessage)
    if not first.tool_calls:
        return {"first": message_out(first)}
    messages.append(first)
    messages += [ToolMessage(WEATHER_REPORT, tool_call_id=str(c["id"])) for c in first.tool_calls]
    final = model.invoke(messages)
    return {"first": message_out(first), "final": message_out(final)}


def thinking_adaptive(plan: Plan, target: Target) -> dict[str, Any]:
    thinking = {"type": "adaptive", "display": "summarized"}
    model = chat(
        plan, target, "thinking_adaptive", plan.models["adaptive"], max_tokens=4096, thinking=thinking
    )
    return message_out(model.invoke(WHY))


def thinking_budget(plan: Plan, target: Target) -> dict[str, Any]:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    model = chat(plan, target, "thinking_budget", plan.models["budget"], max_tokens=4096, thinking=thinking)
    return message_out(model.invoke(WHY))


def effort(plan: Plan, target: Target) -> dict[str, Any]:
    out = {}
    for level in ("low", "high"):
        model = chat(plan, target, "effort", plan.models["effort"], max_tokens=4096, effort=level)
        out[level] = message_out(model.invoke(WHY))
    return out


def betas(plan: Plan, target: Target) -> dict[str, Any]:
    model = chat(
        plan,
        target,
        "betas",
        plan.models["fast"],
        max_tokens=256,
        betas=["fast-mode-2026-02-01"],
        model_kwargs={"speed": "fast"},
    )
    return message_out(model.invoke(QUESTION))


def count_tokens(plan: Plan, target: Target) -> dict[str, Any]:
    model = chat(plan, target, "count_tokens", plan.models["count"])
    counted = model.get_num_tokens_from_messages([SystemMessage(WEATHER_SYSTEM), HumanMessage(WHY)])
    return {"input_tokens": counted}


def auth_x_api_key(plan: Plan, target: Target) -> dict[str, Any]:
    model = chat(
        plan,
        target,
        "auth_x_api_key",
        plan.models["plain"],
        api_key="sk-unused-bearer",
        headers={"x-api-key": target.key},
    )
    return message_out(model.invoke(QUESTION))


def bad_key(plan: Plan, target: Target) -> dict[str, Any]:
    return message_out(
        chat(plan, target, "bad_key", plan.models["plain"], api_key=plan.bad_key).invoke(QUESTION)
    )


def auto(plan: Plan, target: Target) -> dict[str, Any]:
    return message_out(chat(plan, target, "auto", "auto", max_tokens=256).invoke(QUESTION))


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
            "auth_x_api_key": auth_x_api_key,
            "bad_key": bad_key,
            "auto": auto,
        }
    )
