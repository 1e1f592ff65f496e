"""Thinking as the emulated model does it: whether a request thinks, how much, how it is shown.

- A request thinks when it asks to (`adaptive`, or `enabled` with a budget) or, without a
  `thinking` parameter, when the model's catalogue default is adaptive (the 5.x models); models
  whose only modes think (Opus 5.5, Fable) always do. `disabled` and `between_tools` do not.
- How much: a deterministic number of tokens for the task's label at the request's effort (the
  model's default effort when none is given; "high" on models without an effort parameter),
  capped by `budget_tokens`. More effort, more thinking, and thinking is billed as output.
- Shown as a thinking block first: `display: "omitted"` gives empty text with a signature,
  `"summarized"` a short summary. The default is "omitted" on models that have dropped budgeted
  thinking (4.7 and later) and "summarized" on those that still take it.
- The signature names the model that wrote the block, so a later request can tell whether its
  model can read it (its own family's, and those the catalogue's `reads_thinking_from` lists).
  A block it cannot read is dropped before counting: never billed, never an error. With
  `opaque_signatures` the name is sealed (`seal`) as the real API's are: only the emulator reads it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from ..catalog.models import ModelSpec
from ..catalog.signatures import origin
from ..types import Label

Display = Literal["summarized", "omitted"]
_NO_EFFORT = "high"  # how hard a model without an effort parameter thinks

#: Thinking tokens per label and effort level.
THINKING_TOKENS: dict[Label, dict[str, int]] = {
    Label.SIMPLE: {"low": 16, "medium": 32, "high": 64, "xhigh": 128, "max": 192},
    Label.MODERATE: {"low": 48, "medium": 128, "high": 256, "xhigh": 512, "max": 768},
    Label.COMPLEX: {"low": 128, "medium": 384, "high": 768, "xhigh": 1536, "max": 2560},
}


@dataclass(frozen=True, slots=True)
class ThinkingPlan:
    on: bool
    display: Display
    effort: str
    budget: int | None = None
    # Text written between tool calls comes back as thinking blocks (the model has between_tools).
    between_tools: bool = False

    def tokens(self, label: Label) -> int:
        if not self.on:
            return 0
        tokens = THINKING_TOKENS[label][self.effort]
        return min(tokens, self.budget) if self.budget is not None else tokens


def plan(body: dict[str, Any], spec: ModelSpec) -> ThinkingPlan:
    """How `body` thinks on `spec` (the request has passed the rules)."""
    thinking = body.get("thinking")
    mode = thinking["type"] if thinking is not None else None
    on = mode in ("adaptive", "enabled") or (mode is None and spec.thinking.default == "adaptive")
    default_display: Display = "summarized" if "enabled" in spec.thinking.modes else "omitted"
    display = (thinking or {}).get("display") or default_display
    requested = (body.get("output_config") or {}).get("effort")
    effort = requested or spec.effort.default or _NO_EFFORT
    budget = int(thinking["budget_tokens"]) if thinking is not None and mode == "enabled" else None
    return ThinkingPlan(on, display, effort, budget, "between_tools" in spec.thinking.modes)


def readable(block: dict[str, Any], spec: ModelSpec) -> bool:
    """Whether `spec` reads a thinking block passed back in the conversation."""
    if block.get("type") != "thinking":
        return True
    sig = str(block.get("signature", ""))
    writer = origin(sig) or origin(unseal(sig))
    return writer == spec.id or writer in spec.reads_thinking_from


_SEAL_KEY = b"claude-router emulator seal"


def seal(sig: str) -> str:
    """`sig` enciphered with the emulator's own key: opaque to anyone else, as the API's are."""
    raw = sig.encode()
    return base64.b64encode(bytes(a ^ b for a, b in zip(raw, _keystream(len(raw)), strict=True))).decode()


def unseal(sig: str) -> str:
    """The signature `seal` enciphered ("" for one it did not make)."""
    try:
        raw = base64.b64decode(sig, validate=True)
        return bytes(a ^ b for a, b in zip(raw, _keystream(len(raw)), strict=True)).decode()
    except (binascii.Error, ValueError):
        return ""


def _keystream(size: int) -> bytes:
    return hashlib.shake_256(_SEAL_KEY).digest(size)


def without_unreadable(body: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """`body` with the thinking blocks its model cannot read dropped (the same body if none)."""
    messages = body["messages"]
    if not any(_drops(m, spec) for m in messages):
        return body
    kept = []
    for message in messages:
        if _drops(message, spec):
            content = [b for b in message["content"] if readable(b, spec)]
            message = {**message, "content": content}
        kept.append(message)
    return {**body, "messages": kept}


def _drops(message: dict[str, Any], spec: ModelSpec) -> bool:
    content = message["content"]
    return (
        message["role"] == "assistant"
        and isinstance(content, list)
        and not all(readable(b, spec) for b in content)
    )


def summary(request_text: str, label: Label) -> str:
    """The short summary `display: "summarized"` shows."""
    words = request_text.split()
    topic = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    depth = {
        Label.SIMPLE: "It is a short task: answer directly.",
        Label.MODERATE: "Work through the parts in order and keep the answer focused.",
        Label.COMPLEX: "Weigh each part, check the details against each other, then answer point by point.",
    }[label]
    return f"The request: {topic!r}. {depth}" if topic else depth
