"""What a request needs from the model that answers it, read once before a tier is picked.

    needs = Needs.of(params)                 # thinking mode, effort, context, prefill, betas, ...
    needs = Needs.of(params, writers=known)  # ... and the writers of opaque signatures, by digest
    needs.unmet(spec)                        # None, or why `spec` cannot serve it as written
    needs.unmet(spec, adaptable=False)       # only what adaptation cannot fix (prefill, size)

A model "cannot serve" a request when the API would refuse it there as written, or when its
context window is too small for the prompt counted in that model's tokens. Some needs adaptation
can meet on any model (a thinking mode mapped to another, an effort clamped, a forced tool choice
relaxed): routing prefers a model that needs none of that, but only a prefill and the prompt's
size are worth leaving the ladder for. The rules are the catalogue's (`ModelSpec`), none names a
model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .models import ModelSpec
from .signatures import digest, in_history, origin

_THINKING_ON = frozenset({"adaptive", "enabled"})  # modes that think
CHARS_PER_TOKEN = 4  # Haiku 4.5's tokens from a body's text: an estimate, enough to compare windows


@dataclass(frozen=True, slots=True)
class Needs:
    """A request's needs. `tokens` is the prompt's size in Haiku 4.5 tokens (scaled per model)."""

    thinking: str | None = None  # the `thinking.type` asked for
    effort: str | None = None  # `output_config.effort`
    tokens: int = 0
    max_tokens: int | None = None
    forced_tool: bool = False  # `tool_choice` of type any / tool
    prefill: bool = False  # the last turn is the assistant's
    system_messages: bool = False  # `role: "system"` turns inside `messages`
    thinking_from: str | None = None  # the model whose signed thinking blocks the history holds
    # No `thinking` asked for and a max_tokens at or under the catalogue's `short_answer_tokens`:
    # a model that always thinks could spend it all on thinking and answer nothing.
    short_answer: bool = False
    context_management: bool = False  # a `context_management` field
    inference_geo: bool = False  # an `inference_geo` field
    fast: bool = False  # `speed: "fast"`
    betas: frozenset[str] = frozenset()  # `betas`, and an `anthropic-beta` header among extra_headers

    @classmethod
    def of(
        cls,
        params: Mapping[str, Any],
        *,
        short_answer_tokens: int = 0,
        writers: Mapping[str, str] | None = None,
    ) -> Needs:
        """`writers`: the model that wrote each signature the history holds that names none, by
        `signatures.digest` (what the router remembers of the answers it passed on)."""
        if "messages" not in params:  # no request body to read (a replay routes labels alone)
            return cls()
        messages = params.get("messages") or ()
        thinking = params.get("thinking")
        config = params.get("output_config")
        choice = params.get("tool_choice")
        last = messages[-1] if messages else None
        max_tokens = params.get("max_tokens")
        short = thinking is None and isinstance(max_tokens, int) and max_tokens <= short_answer_tokens
        return cls(
            thinking=_str(thinking.get("type")) if isinstance(thinking, Mapping) else None,
            effort=_str(config.get("effort")) if isinstance(config, Mapping) else None,
            tokens=_size(params) // CHARS_PER_TOKEN,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            forced_tool=isinstance(choice, Mapping) and choice.get("type") in ("any", "tool"),
            prefill=isinstance(last, Mapping) and last.get("role") == "assistant",
            system_messages=any(isinstance(m, dict) and m.get("role") == "system" for m in messages),
            thinking_from=_thinking_origin(messages, writers or {}),
            short_answer=short,
            context_management=params.get("context_management") is not None,
            inference_geo=params.get("inference_geo") is not None,
            fast=params.get("speed") == "fast",
            betas=_betas(params),
        )

    def unmet(self, spec: ModelSpec, *, adaptable: bool = True) -> str | None:
        """Why `spec` cannot serve the request as written (a short code), or None if it can.
        With `adaptable=False`, only the needs no adaptation can meet."""
        if self.prefill and not spec.prefill:
            return "prefill"
        if int(self.tokens * spec.token_ratio) + (self.max_tokens or 0) > spec.context:
            return "context"
        if not adaptable:
            return None
        if self.thinking is not None and not spec.thinking.accepts(self.thinking, self.effort):
            return f"thinking.{self.thinking}"
        if self.effort is not None and self.effort not in spec.effort.levels:
            return f"effort.{self.effort}"
        if self.max_tokens is not None and self.max_tokens > spec.max_output:
            return "max_tokens"
        if self.short_answer and spec.thinking.modes <= _THINKING_ON:
            return "thinking.always_on"
        if self.forced_tool and not spec.forced_tool_choice:
            return "tool_choice"
        if self.system_messages and not spec.system_messages:
            return "system_messages"
        if self.fast and (not spec.fast or (spec.fast_beta and spec.fast_beta not in self.betas)):
            return "speed.fast"
        if self.context_management and not spec.context_management:
            return "context_management"
        if self.inference_geo and not spec.inference_geo:
            return "inference_geo"
        return None


def _betas(params: Mapping[str, Any]) -> frozenset[str]:
    """The betas a request turns on: the SDK's `betas` argument and an `anthropic-beta` header."""
    found = {b for b in params.get("betas") or () if isinstance(b, str)}
    headers = params.get("extra_headers")
    header = headers.get("anthropic-beta") if isinstance(headers, Mapping) else None
    if isinstance(header, str):
        found.update(b.strip() for b in header.split(",") if b.strip())
    return frozenset(found)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _size(params: Mapping[str, Any]) -> int:
    """Characters of prompt text: the system prompt, the messages and the tools, roughly (their
    text, read without serialising the whole conversation, which costs milliseconds on long ones)."""
    size = _chars(params.get("system")) + len(str(params.get("tools") or ""))
    for message in params.get("messages") or ():
        if isinstance(message, dict):
            size += _chars(message.get("content"))
    return size


# Bodies are JSON: plain dicts (an ABC check per block would cost more than reading the block).
def _chars(content: object) -> int:
    if isinstance(content, str):
        return len(content)
    if not isinstance(content, list):
        return 0
    size = 0
    for block in content:
        if not isinstance(block, dict):
            continue
        text = block.get("text") or block.get("thinking")
        if isinstance(text, str):
            size += len(text)
        elif "content" in block:  # a tool result
            size += _chars(block["content"])
        elif "input" in block:  # a tool call
            size += len(str(block["input"]))
        else:  # an image, a document: its source counts roughly
            size += len(str(block.get("source") or ""))
    return size


def _thinking_origin(messages: Any, writers: Mapping[str, str]) -> str | None:
    """The model that wrote the latest thinking block of the history whose writer is known: named
    by its signature, else remembered (None: no such block)."""
    for sig in in_history(messages):
        writer = origin(sig) or (writers.get(digest(sig)) if writers else None)
        if writer is not None:
            return writer
    return None


__all__ = ["Needs"]
