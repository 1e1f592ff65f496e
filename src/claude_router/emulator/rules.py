"""The request rules that differ per model and per API version, checked as the API checks them.

Each rule reads the model's rules from the shared catalogue (`ModelSpec`): which thinking modes it
takes and up to which effort, its effort levels, sampling, prefill, forced tool choice, system
messages, context management, `inference_geo`, fast mode and its output ceiling. A refused request
is a 400 invalid_request_error worded like the API's. No rule names a model.

    check(body, spec, Context(version="2026-10-21", betas=frozenset()), count=False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..catalog.models import ModelSpec
from .errors import EmulatorError

#: From this API version on, temperature / top_p / top_k are refused on every model.
NO_SAMPLING_VERSION = "2026-10-21"
DEFAULT_VERSION = "2023-06-01"
#: The beta that lets a Message Batch request ask for more output than `max_output`.
BATCH_OUTPUT_BETA = "output-300k-2026-03-24"
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")
MIN_THINKING_BUDGET = 1024


@dataclass(frozen=True, slots=True)
class Context:
    """What a request says beside its body: the API version, the betas, and whether it is batched."""

    version: str = DEFAULT_VERSION
    betas: frozenset[str] = field(default_factory=frozenset)
    batch: bool = False

    @classmethod
    def from_headers(cls, headers: Any, *, batch: bool = False) -> Context:
        betas = ",".join(headers.getlist("anthropic-beta")) if hasattr(headers, "getlist") else ""
        if not betas:
            betas = str(headers.get("anthropic-beta") or "")
        return cls(
            version=str(headers.get("anthropic-version") or DEFAULT_VERSION).strip(),
            betas=frozenset(b.strip() for b in betas.split(",") if b.strip()),
            batch=batch,
        )

    @property
    def sampling_removed(self) -> bool:
        return self.version >= NO_SAMPLING_VERSION


#: A request with no version header, no betas, not batched.
NO_CONTEXT = Context()


def invalid(message: str) -> EmulatorError:
    return EmulatorError(400, "invalid_request_error", message)


def effort_of(body: dict[str, Any]) -> str | None:
    config = body.get("output_config") or {}
    effort = config.get("effort")
    return str(effort) if effort is not None else None


# ---- the rules: each returns the API's message, or None --------------------------------------

Rule = Callable[[dict[str, Any], ModelSpec, Context], str | None]


def _sampling(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    for name in SAMPLING_PARAMETERS:
        if body.get(name) is None:
            continue
        if ctx.sampling_removed:
            return f"`{name}` is not supported in API version {ctx.version}."
        if not spec.sampling:
            return f"`{name}` is deprecated for this model."
    return None


def _thinking_mode(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    thinking = body.get("thinking")
    if thinking is None:
        return None
    mode = thinking["type"]
    if mode not in spec.thinking.modes:
        accepted = " or ".join(f'"thinking.type.{m}"' for m in sorted(spec.thinking.modes))
        if mode == "enabled" and spec.effort.supported:
            return (
                f'"thinking.type.enabled" is not supported for this model. Use {accepted} '
                'and "output_config.effort" to control thinking behavior.'
            )
        return f'"thinking.type.{mode}" is not supported for this model. Use {accepted}.'
    effort = effort_of(body) or spec.effort.default
    if not spec.thinking.accepts(mode, effort):
        ceiling = spec.thinking.max_effort[mode]
        return (
            f'"thinking.type.{mode}" is not supported with output_config.effort "{effort}" on this '
            f'model; use effort "{ceiling}" or lower.'
        )
    return None


def _thinking_budget(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    thinking = body.get("thinking")
    if thinking is None or thinking["type"] != "enabled":
        return None
    budget = thinking["budget_tokens"]
    if budget < MIN_THINKING_BUDGET:
        return (
            f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}"
        )
    if "max_tokens" in body and body["max_tokens"] <= budget:
        return "`max_tokens` must be greater than `thinking.budget_tokens`."
    return None


def _effort(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    effort = effort_of(body)
    if effort is None:
        return None
    if not spec.effort.supported:
        return "This model does not support the effort parameter."
    if effort not in spec.effort.levels:
        return f'output_config.effort: "{effort}" is not supported for this model.'
    return None


def _forced_tool_choice(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    choice = body.get("tool_choice")
    if choice is not None and choice["type"] in ("any", "tool") and not spec.forced_tool_choice:
        return 'tool_choice: type "tool" and "any" are not supported for this model.'
    return None


def _system_messages(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    for index, message in enumerate(body["messages"]):
        if message["role"] != "system":
            continue
        if not spec.system_messages:
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        if index == 0:
            return f"messages.{index}: use the top-level 'system' parameter for the initial system prompt"
    return None


def _prefill(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    messages = body["messages"]
    if messages and messages[-1]["role"] == "assistant" and not spec.prefill:
        return (
            "This model does not support assistant message prefill. "
            "The conversation must end with a user message."
        )
    return None


def _max_tokens(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    max_tokens = body["max_tokens"]
    ceiling = spec.max_output
    if ctx.batch and BATCH_OUTPUT_BETA in ctx.betas:
        ceiling = spec.max_output_batch
    if max_tokens > ceiling:
        return (
            f"max_tokens: {max_tokens} > {ceiling}, which is the maximum allowed number of "
            f"output tokens for {spec.snapshot}"
        )
    return None


def _context_management(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    if body.get("context_management") is not None and not spec.context_management:
        return "context_management: context management is not supported for this model."
    return None


def _inference_geo(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    if body.get("inference_geo") is not None and not spec.inference_geo:
        return "inference_geo: this model does not support the inference_geo parameter."
    return None


def _speed(body: dict[str, Any], spec: ModelSpec, ctx: Context) -> str | None:
    if body.get("speed") != "fast":
        return None
    if not spec.fast:
        return 'speed: "fast" is not supported for this model.'
    if ctx.batch:
        return 'speed: "fast" is not available in Message Batches.'
    if spec.fast_beta is not None and spec.fast_beta not in ctx.betas:
        return f'speed: "fast" requires the anthropic-beta header "{spec.fast_beta}" for this model.'
    return None


#: Checked in this order on POST /v1/messages (and each batch request); the first refusal wins. Each
#: rule names the body fields it reads (None: it always runs), so a plain body skips most of them.
CREATE_RULES: tuple[tuple[frozenset[str] | None, Rule], ...] = (
    (None, _max_tokens),
    (frozenset(SAMPLING_PARAMETERS), _sampling),
    (None, _system_messages),
    (frozenset({"thinking", "output_config"}), _thinking_mode),
    (frozenset({"thinking"}), _thinking_budget),
    (frozenset({"output_config"}), _effort),
    (frozenset({"tool_choice"}), _forced_tool_choice),
    (None, _prefill),
    (frozenset({"context_management"}), _context_management),
    (frozenset({"inference_geo"}), _inference_geo),
    (frozenset({"speed"}), _speed),
)
#: POST /v1/messages/count_tokens takes no generation parameters, but the same request shape.
COUNT_RULES: tuple[tuple[frozenset[str] | None, Rule], ...] = tuple(
    (keys, rule)
    for keys, rule in CREATE_RULES
    if rule in (_system_messages, _thinking_mode, _effort, _forced_tool_choice, _context_management, _speed)
)
_READ = frozenset().union(*(keys for keys, _ in CREATE_RULES if keys is not None))


def check(body: dict[str, Any], spec: ModelSpec, ctx: Context, *, count: bool = False) -> None:
    """Raise the API's 400 for the first rule of `spec` that `body` breaks."""
    _first(CREATE_RULES if not count else COUNT_RULES, body, spec, ctx)


def _first(
    rules: Iterable[tuple[frozenset[str] | None, Rule]], body: dict[str, Any], spec: ModelSpec, ctx: Context
) -> None:
    present = _READ.intersection(body)
    for keys, rule in rules:
        if keys is not None and keys.isdisjoint(present):
            continue
        message = rule(body, spec, ctx)
        if message is not None:
            raise invalid(message)
