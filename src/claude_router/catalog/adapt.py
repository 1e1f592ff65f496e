"""A request adapted to the model it is actually sent to.

A body written for one model can be a 400 on another: the router moves requests between tiers
(the routed tier, each fallback, a downgrade, a speculative leg), so each gets the body its model
takes. Every rule reads the catalogue (`ModelSpec`, the `[thinking_room]` table); none names a
model. Each change leaves a short code, kept in the ledger's `adapted` column and sent back in the
`x-router-adapted` header:

    adapter = Adapter(Catalogue.default(), version="2026-10-21")
    sent = adapter.body_for(params, "claude-haiku-4-5")
    sent.body, sent.changes          # {...}, ("thinking:adaptive>enabled", "effort:dropped")

The rules, in order: sampling parameters dropped where the API version or the model refuses them;
`role: "system"` turns folded into `system`; `max_tokens` clamped to the model's ceiling; the
thinking mode mapped to one the model takes (`enabled` + budget ↔ `adaptive` + effort, `disabled`
→ `between_tools` or removed); effort clamped to the model's levels (or dropped); a model's default
thinking turned down or off when the caller's `max_tokens` leaves no room for an answer; a forced
tool choice made `auto` where refused; `context_management`, `inference_geo` and fast mode dropped
where unsupported. A request sent to the model it names is not adapted: that is the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .models import EFFORT_LEVELS, Catalogue, ModelSpec

EFFORT_DROPPED = "effort:dropped"  # the code of an effort the model takes none of

#: From this API version on, temperature / top_p / top_k are refused on every model.
NO_SAMPLING_VERSION = "2026-10-21"
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")
MIN_THINKING_BUDGET = 1024  # the API's least `budget_tokens`
_NO_EFFORT = "high"  # how hard a model without an effort parameter is taken to think


@dataclass(frozen=True, slots=True)
class Adapted:
    """The body for one model and what was changed to make it (empty: sent as written)."""

    body: dict[str, Any]
    changes: tuple[str, ...] = ()

    @property
    def effort(self) -> str | None:
        """The `output_config.effort` the body is sent with."""
        return _effort(self.body)


class Adapter:
    """`body_for(params, model)` under one catalogue; `version` is the API version the upstream
    client sends, unless the request's own `extra_headers` name another."""

    def __init__(self, catalogue: Catalogue, *, version: str) -> None:
        self.catalogue = catalogue
        self.version = version

    def body_for(self, params: Mapping[str, Any], model: str) -> Adapted:
        spec = self.catalogue.get(model)
        if spec is None:  # a model the catalogue does not know: nothing to adapt to
            return Adapted(dict(params))
        headers = params.get("extra_headers")
        headers = headers if isinstance(headers, Mapping) else {}
        version = str(headers.get("anthropic-version") or self.version)
        betas = {b.strip() for b in str(headers.get("anthropic-beta") or "").split(",") if b.strip()}
        betas.update(str(b) for b in params.get("betas") or ())
        return adapt(params, spec, version=version, betas=frozenset(betas), room=self.catalogue.thinking_room)


def adapt(
    params: Mapping[str, Any],
    spec: ModelSpec,
    *,
    version: str,
    betas: frozenset[str] = frozenset(),
    room: Mapping[str, int] | None = None,
) -> Adapted:
    """`params` as `spec` takes them under API `version`; `room`: thinking tokens per effort."""
    body = dict(params)
    changes: list[str] = []
    room = room or {}
    _sampling(body, spec, version, changes)
    _system_messages(body, spec, changes)
    _max_tokens(body, spec, changes)
    _thinking(body, spec, room, changes)
    _effort_levels(body, spec, changes)
    if "thinking" not in params:
        _room_to_answer(body, spec, room, changes)
    _tool_choice(body, spec, changes)
    _unsupported(body, spec, betas, changes)
    return Adapted(body, tuple(changes))


# ---- the rules: each edits `body` (a copy: nested values are replaced, never changed) ----------


def _sampling(body: dict[str, Any], spec: ModelSpec, version: str, changes: list[str]) -> None:
    if version < NO_SAMPLING_VERSION and spec.sampling:
        return
    dropped = [name for name in SAMPLING_PARAMETERS if body.pop(name, None) is not None]
    if dropped:
        changes.append("sampling:dropped")


def _system_messages(body: dict[str, Any], spec: ModelSpec, changes: list[str]) -> None:
    """Fold `role: "system"` turns into `system`: all of them for a model that refuses them, else a
    leading one (the API wants the first system prompt at the top level)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(_is_system(m) for m in messages):
        return
    folded: list[dict[str, Any]] = []
    kept: list[Any] = []
    for message in messages:
        if _is_system(message) and (not spec.system_messages or not kept):
            folded.extend(_text_blocks(message.get("content")))
        else:
            kept.append(message)
    if not folded:
        return
    system = body.get("system")
    if system is None or isinstance(system, str):
        head = [{"type": "text", "text": system}] if system else []
        body["system"] = head + folded
    else:
        body["system"] = [*system, *folded]
    body["messages"] = kept
    changes.append("system_messages:folded")


def _max_tokens(body: dict[str, Any], spec: ModelSpec, changes: list[str]) -> None:
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > spec.max_output:
        body["max_tokens"] = spec.max_output
        changes.append(f"max_tokens:{spec.max_output}")


def _thinking(body: dict[str, Any], spec: ModelSpec, room: Mapping[str, int], changes: list[str]) -> None:
    thinking = body.get("thinking")
    if not isinstance(thinking, Mapping):
        return
    mode = thinking.get("type")
    effort = _effort(body) or spec.effort.default or _NO_EFFORT
    if mode in spec.thinking.modes:
        if not spec.thinking.accepts(str(mode), effort):  # the mode, but only at a lower effort
            _set_effort(body, spec.thinking.max_effort[str(mode)], changes, was=effort)
        elif mode == "enabled":
            _fit_budget(body, thinking, changes)
        return
    if mode == "enabled" and "adaptive" in spec.thinking.modes:
        body["thinking"] = _shown({"type": "adaptive"}, thinking)
        changes.append("thinking:enabled>adaptive")
        if _effort(body) is None and spec.effort.supported:
            _set_effort(body, _effort_for_budget(thinking.get("budget_tokens"), room), changes)
    elif mode == "adaptive" and "enabled" in spec.thinking.modes:
        budget = room.get(effort, MIN_THINKING_BUDGET)
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int):
            budget = min(budget, max_tokens - 1)  # a budget stays below max_tokens
        if budget < MIN_THINKING_BUDGET:
            del body["thinking"]
            changes.append("thinking:adaptive>removed(max_tokens)")
        else:
            body["thinking"] = _shown({"type": "enabled", "budget_tokens": budget}, thinking)
            changes.append("thinking:adaptive>enabled")
    elif mode in ("disabled", "between_tools"):
        for lighter in ("disabled", "between_tools"):
            if lighter in spec.thinking.modes:
                body["thinking"] = {"type": lighter}
                changes.append(f"thinking:{mode}>{lighter}")
                if not spec.thinking.accepts(lighter, effort):
                    _set_effort(body, spec.thinking.max_effort[lighter], changes, was=effort)
                return
        del body["thinking"]  # thinking is always on: the model's default is the nearest
        changes.append(f"thinking:{mode}>removed")
    else:
        del body["thinking"]
        changes.append(f"thinking:{mode}>removed")


def _effort_levels(body: dict[str, Any], spec: ModelSpec, changes: list[str]) -> None:
    effort = _effort(body)
    if effort is None or effort in spec.effort.levels:
        return
    if not spec.effort.supported:
        _drop_effort(body)
        changes.append(EFFORT_DROPPED)
    elif effort in EFFORT_LEVELS:
        _set_effort(body, spec.effort.clamp(effort) or effort, changes, was=effort)


def _room_to_answer(
    body: dict[str, Any], spec: ModelSpec, room: Mapping[str, int], changes: list[str]
) -> None:
    """The model thinks by default and the caller's `max_tokens` is within what thinking may take
    at this effort: think less, or not at all, so the answer has room."""
    max_tokens = body.get("max_tokens")
    effort = _effort(body) or spec.effort.default or _NO_EFFORT
    needed = room.get(effort)
    if spec.thinking.default != "adaptive" or not isinstance(max_tokens, int) or needed is None:
        return
    if max_tokens > needed:
        return
    for mode in ("disabled", "between_tools"):
        if spec.thinking.accepts(mode, effort):
            body["thinking"] = {"type": mode}
            changes.append(f"thinking:{mode}(max_tokens)")
            return
    if spec.effort.supported:
        fits = [lv for lv in spec.effort.levels if room.get(lv, 0) < max_tokens]
        lower = fits[-1] if fits else spec.effort.levels[0]
        if lower != effort:
            _set_effort(body, lower, changes, was=effort, why="(max_tokens)")


def _tool_choice(body: dict[str, Any], spec: ModelSpec, changes: list[str]) -> None:
    choice = body.get("tool_choice")
    if not isinstance(choice, Mapping) or choice.get("type") not in ("any", "tool"):
        return
    thinking = body.get("thinking")
    thinks = isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")
    if spec.forced_tool_choice and not thinks:  # the API takes no forced tool with thinking on
        return
    relaxed = {"type": "auto"}
    if "disable_parallel_tool_use" in choice:
        relaxed["disable_parallel_tool_use"] = choice["disable_parallel_tool_use"]
    body["tool_choice"] = relaxed
    changes.append("tool_choice:auto")


def _unsupported(body: dict[str, Any], spec: ModelSpec, betas: frozenset[str], changes: list[str]) -> None:
    if body.get("context_management") is not None and not spec.context_management:
        del body["context_management"]
        changes.append("context_management:dropped")
    if body.get("inference_geo") is not None and not spec.inference_geo:
        del body["inference_geo"]
        changes.append("inference_geo:dropped")
    if body.get("speed") == "fast" and (not spec.fast or (spec.fast_beta and spec.fast_beta not in betas)):
        del body["speed"]
        changes.append("speed:dropped")


# ---- helpers ---------------------------------------------------------------------------------


def _is_system(message: object) -> bool:
    # Bodies are JSON: plain dicts (an ABC check per turn would cost more than reading the turn).
    return isinstance(message, dict) and message.get("role") == "system"


def _text_blocks(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [dict(b) for b in content if isinstance(b, Mapping) and b.get("type") == "text"]
    return []


def _shown(thinking: dict[str, Any], original: Mapping[str, Any]) -> dict[str, Any]:
    """`thinking` with the caller's `display` choice kept."""
    if "display" in original:
        thinking["display"] = original["display"]
    return thinking


def _effort(body: Mapping[str, Any]) -> str | None:
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, Mapping) else None
    return effort if isinstance(effort, str) else None


def _set_effort(
    body: dict[str, Any], level: str, changes: list[str], *, was: str | None = None, why: str = ""
) -> None:
    config = body.get("output_config")
    body["output_config"] = {**(config if isinstance(config, Mapping) else {}), "effort": level}
    changes.append(f"effort:{was}>{level}{why}" if was is not None else f"effort:{level}")


def _drop_effort(body: dict[str, Any]) -> None:
    config = {k: v for k, v in body["output_config"].items() if k != "effort"}
    if config:
        body["output_config"] = config
    else:
        del body["output_config"]


def _effort_for_budget(budget: object, room: Mapping[str, int]) -> str:
    """The least effort whose thinking room holds a `budget_tokens` (the highest when none does)."""
    if not isinstance(budget, int) or not room:
        return _NO_EFFORT
    for level in EFFORT_LEVELS:
        if level in room and budget <= room[level]:
            return level
    return EFFORT_LEVELS[-1]


def _fit_budget(body: dict[str, Any], thinking: Mapping[str, Any], changes: list[str]) -> None:
    """A budget must stay below `max_tokens`; thinking too small to be worth a budget is dropped."""
    budget, max_tokens = thinking.get("budget_tokens"), body.get("max_tokens")
    if not isinstance(budget, int) or not isinstance(max_tokens, int) or budget < max_tokens:
        return
    if max_tokens - 1 >= MIN_THINKING_BUDGET:
        body["thinking"] = {**thinking, "budget_tokens": max_tokens - 1}
        changes.append(f"thinking.budget_tokens:{max_tokens - 1}")
    else:
        del body["thinking"]
        changes.append("thinking:enabled>removed(max_tokens)")


__all__ = ["EFFORT_DROPPED", "NO_SAMPLING_VERSION", "Adapted", "Adapter", "adapt"]
