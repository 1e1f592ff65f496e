"""The `Classifier` protocol and the one function that says what a classifier reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..types import Decision


@dataclass(frozen=True, slots=True)
class ClassifierInput:
    """Exactly what a classifier reads from a Messages API request.

    `text` is the last user turn's text (text blocks joined by newlines; tool results included
    as text); `system` is the caller's system prompt as text. The other fields describe the rest
    of the request, which says as much as the words about the work asked for: an agent step
    carries tools, tool results and a long history; a caller who wants deep work may ask for a
    thinking budget or a high effort, and one who wants a label caps `max_tokens` low. All of
    them default to "a single plain message", so `ClassifierInput(text)` still means that.
    Cache keys hash every field.
    """

    text: str
    system: str | None = None
    has_tools: bool = False
    tool_count: int = 0  # tool definitions offered (`tools`); has_tools without a count means some
    tool_results: int = 0  # tool_result blocks in the last user turn: the request is an agent step
    turns: int = 1  # messages in the conversation
    context_chars: int = 0  # characters of text in every message and the system prompt
    thinking_tokens: int = 0  # extended thinking budget asked for (1 when enabled with no budget)
    effort: str | None = None  # `output_config.effort` when given ("low", "medium", "high")
    max_tokens: int = 0  # the caller's ceiling on the answer (0: not given)

    @property
    def tools(self) -> int:
        """How many tools the request offers (at least 1 when `has_tools`)."""
        return max(self.tool_count, 1) if self.has_tools else self.tool_count


def _blocks_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "tool_result":
            parts.append(_blocks_text(block.get("content")))
    return "\n".join(p for p in parts if p)


def _tool_results(content: Any) -> int:
    if isinstance(content, str):
        return 0
    return sum(1 for b in content or () if isinstance(b, Mapping) and b.get("type") == "tool_result")


def _thinking(value: Any) -> int:
    """The thinking budget asked for: 0 when off or absent, at least 1 when on."""
    if not isinstance(value, Mapping) or value.get("type") in (None, "disabled"):
        return 0
    budget = value.get("budget_tokens")
    return max(budget, 1) if isinstance(budget, int) and not isinstance(budget, bool) else 1


def _effort(params: Mapping[str, Any]) -> str | None:
    config = params.get("output_config")
    effort = config.get("effort") if isinstance(config, Mapping) else None
    return str(effort).lower() if effort else None


def classifier_input(params: Mapping[str, Any]) -> ClassifierInput:
    """Pick out of a Messages API body what a classifier should read (the last user turn, and the
    request's shape: tools, history, context size, thinking, effort and answer ceiling)."""
    messages = [m for m in params.get("messages") or () if isinstance(m, Mapping)]
    text = ""
    results = 0
    for message in reversed(messages):
        if message.get("role") == "user":
            text = _blocks_text(message.get("content"))
            results = _tool_results(message.get("content"))
            break
    system = params.get("system")
    system_text = (_blocks_text(system) if system is not None else None) or None
    tools = params.get("tools")
    tool_count = len(tools) if isinstance(tools, list | tuple) else 0
    context = sum(len(_blocks_text(m.get("content"))) for m in messages) + len(system_text or "")
    max_tokens = params.get("max_tokens")
    return ClassifierInput(
        text=text,
        system=system_text,
        has_tools=bool(tools),
        tool_count=tool_count,
        tool_results=results,
        turns=max(len(messages), 1),
        context_chars=context,
        thinking_tokens=_thinking(params.get("thinking")),
        effort=_effort(params),
        max_tokens=max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else 0,
    )


@runtime_checkable
class Classifier(Protocol):
    """Labels one request. Never raises for a bad upstream answer: it returns moderate instead."""

    #: Part of every cache key, so a changed prompt or model never serves stale labels.
    version: str

    async def classify(self, item: ClassifierInput) -> Decision: ...
