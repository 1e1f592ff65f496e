"""A validated request, ready to answer: its model, token segments and what the answer depends on.

`build_prompt` runs the rules the API checks beyond the body's shape (non-empty content, at most four
cache breakpoints, tool_choice naming a tool, ...) and the model's own request rules (`rules`:
thinking, effort, sampling, prefill, max_tokens, ...), and raises 400 / 404 `EmulatorError`s worded
like the API's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..catalog.models import ModelSpec
from . import rules, thinking
from .catalog import Catalog, ServedModel
from .errors import EmulatorError
from .rules import NO_CONTEXT, Context
from .thinking import ThinkingPlan
from .tokens import Segment, segments, total_tokens

MAX_BREAKPOINTS = 4
_TTL_RANK = {"1h": 0, "5m": 1}
_SEED_KEYS = ("system", "messages", "tools", "tool_choice")


def invalid(message: str) -> EmulatorError:
    return EmulatorError(400, "invalid_request_error", message)


@dataclass(frozen=True, slots=True)
class Prompt:
    body: dict[str, Any]
    model: ServedModel
    segments: list[Segment]
    input_tokens: int
    breakpoints: tuple[tuple[int, str], ...]  # (segment index, ttl), in prefix order
    seed: int  # the answer's seed: the conversation, not max_tokens or stop_sequences
    thinking: ThinkingPlan
    context: Context = NO_CONTEXT

    @property
    def spec(self) -> ModelSpec:
        return self.model.spec

    @property
    def ratio(self) -> Fraction:
        """Tokens of the model's tokenizer per token of Haiku 4.5's."""
        return self.model.ratio

    @property
    def max_tokens(self) -> int:
        return int(self.body.get("max_tokens", 0))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream", False))

    @property
    def speed(self) -> str:
        return "fast" if self.body.get("speed") == "fast" else "standard"

    @property
    def inference_geo(self) -> str:
        """Where the answer is said to be computed: as asked, else the default region."""
        if not self.spec.inference_geo:
            return "not_available"
        return str(self.body.get("inference_geo") or "global")

    @property
    def output_schema(self) -> dict[str, Any] | None:
        format_ = (self.body.get("output_config") or {}).get("format")
        return format_["schema"] if format_ else None


def build_prompt(
    body: dict[str, Any], catalog: Catalog, context: Context | None = None, *, for_count: bool = False
) -> Prompt:
    context = context or NO_CONTEXT
    model = catalog.resolve(body["model"])
    spec = model.spec
    _check_messages(body["messages"])
    _check_system(body.get("system"))
    _check_tools(body)
    if not for_count:
        _check_generation(body)
    rules.check(body, spec, context, count=for_count)
    counted = thinking.without_unreadable(body, spec)
    parts = segments(counted, model.ratio)
    breakpoints = _breakpoints(parts, counted)
    input_tokens = total_tokens(parts)
    if input_tokens > spec.context:
        raise invalid(f"prompt is too long: {input_tokens} tokens > {spec.context} maximum")
    plan = thinking.plan(body, spec)
    return Prompt(body, model, parts, input_tokens, breakpoints, _seed(body, model.id), plan, context)


def _check_messages(messages: list[dict[str, Any]]) -> None:
    if not messages:
        raise invalid("messages: at least one message is required")
    last = len(messages) - 1
    for index, message in enumerate(messages):
        content = message["content"]
        final_assistant = index == last and message["role"] == "assistant"
        if not content and not final_assistant:
            raise invalid(
                f"messages.{index}: all messages must have non-empty content except for the optional "
                "final assistant message"
            )
        if isinstance(content, list):
            for block_index, block in enumerate(content):
                if block["type"] == "text" and not block["text"]:
                    raise invalid(
                        f"messages.{index}.content.{block_index}.text: text content blocks must be non-empty"
                    )
        if final_assistant and _ends_with_whitespace(content):
            raise invalid("messages: final assistant content cannot end with trailing whitespace")


def _ends_with_whitespace(content: str | list[dict[str, Any]]) -> bool:
    if isinstance(content, str):
        return content != content.rstrip()
    last = content[-1] if content else None
    return bool(last and last["type"] == "text" and last["text"] != last["text"].rstrip())


def _check_system(system: str | list[dict[str, Any]] | None) -> None:
    if isinstance(system, list):
        for index, block in enumerate(system):
            if not block["text"]:
                raise invalid(f"system.{index}.text: text content blocks must be non-empty")


def _check_tools(body: dict[str, Any]) -> None:
    tools = body.get("tools") or []
    names: set[str] = set()
    for index, tool in enumerate(tools):
        if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
            raise invalid(f"tools.{index}.input_schema: Field required")
        if tool["name"] in names:
            raise invalid(f"tools: Tool names must be unique, found duplicate {tool['name']!r}")
        names.add(tool["name"])
    choice = body.get("tool_choice")
    if choice is None or choice["type"] == "none":
        return
    if not tools:
        raise invalid("tool_choice: tool_choice may only be specified while providing tools")
    if choice["type"] == "tool" and choice["name"] not in names:
        raise invalid(f"tool_choice.name: Tool {choice['name']!r} not found in the provided tools")


def _check_generation(body: dict[str, Any]) -> None:
    max_tokens = body["max_tokens"]
    if max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    for name, low, high in (("temperature", 0.0, 1.0), ("top_p", 0.0, 1.0)):
        value = body.get(name)
        if value is not None and not low <= value <= high:
            raise invalid(f"{name}: Input should be between {low:g} and {high:g}")
    if body.get("top_k", 0) < 0:
        raise invalid("top_k: Input should be greater than or equal to 0")
    for index, sequence in enumerate(body.get("stop_sequences") or ()):
        if not sequence.strip():
            raise invalid(f"stop_sequences.{index}: stop sequences must contain non-whitespace characters")


def _breakpoints(parts: list[Segment], body: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    found = [(index, part.cache_ttl) for index, part in enumerate(parts) if part.cache_ttl is not None]
    automatic = body.get("cache_control")
    if automatic is not None and parts and (not found or found[-1][0] != len(parts) - 1):
        # Top-level cache_control places a breakpoint on the last cacheable block.
        found.append((len(parts) - 1, automatic.get("ttl", "5m")))
    if len(found) > MAX_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(found)}."
        )
    ranks = [_TTL_RANK[ttl] for _, ttl in found]
    if ranks != sorted(ranks):
        raise invalid(
            "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block "
            "(the prefix order is tools, system, messages)"
        )
    return tuple((index, str(ttl)) for index, ttl in found)


def _seed(body: dict[str, Any], model_id: str) -> int:
    material = json.dumps([model_id, *(body.get(k) for k in _SEED_KEYS)], sort_keys=True, default=str)
    return int.from_bytes(hashlib.blake2b(material.encode(), digest_size=8).digest(), "big")
