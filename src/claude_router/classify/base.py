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
    as text); `system` is the caller's system prompt as text. Cache keys hash exactly these.
    """

    text: str
    system: str | None = None
    has_tools: bool = False


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


def classifier_input(params: Mapping[str, Any]) -> ClassifierInput:
    """Pick out of a Messages API body what a classifier should read (the last user turn)."""
    text = ""
    for message in reversed(params.get("messages") or ()):
        if isinstance(message, Mapping) and message.get("role") == "user":
            text = _blocks_text(message.get("content"))
            break
    system = params.get("system")
    system_text = _blocks_text(system) if system is not None else None
    return ClassifierInput(text=text, system=system_text or None, has_tools=bool(params.get("tools")))


@runtime_checkable
class Classifier(Protocol):
    """Labels one request. Never raises for a bad upstream answer: it returns moderate instead."""

    #: Part of every cache key, so a changed prompt or model never serves stale labels.
    version: str

    async def classify(self, item: ClassifierInput) -> Decision: ...
