"""The models the emulator serves: the shared model catalogue (`claude_router.catalog`) as the
Models API presents it on the emulator's date.

Every model of the catalogue is listed with its lifecycle on that date. A retired model stays in
the Models API (`lifecycle=retired`, as the historical record) but a request naming it is a 404,
as on the API; a deprecated one still answers. `ModelInfo.capabilities` is derived from the
catalogue's request rules; the few capabilities the catalogue does not describe (citations,
images, PDFs, structured outputs, server tools) are ones every served model has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from ..catalog.models import EFFORT_LEVELS, THINKING_MODES, Catalogue, Lifecycle, ModelSpec
from .errors import EmulatorError

_SUPPORTED = {"supported": True}
_CONTEXT_STRATEGIES = ("clear_thinking_20251015", "clear_tool_uses_20250919")


@dataclass(frozen=True, slots=True)
class ServedModel:
    """One model as served on the emulator's date."""

    spec: ModelSpec
    lifecycle: Lifecycle
    info: dict[str, Any]  # the `ModelInfo` object GET /v1/models returns
    # Tokens of this model's tokenizer per token of Haiku 4.5's, as an exact fraction.
    ratio: Fraction = field(default=Fraction(1))

    @property
    def id(self) -> str:
        """The id the API lists and answers with (a dated snapshot id for older models)."""
        return self.spec.snapshot

    @property
    def line(self) -> str:
        return self.spec.line


class Catalog:
    """Every model the catalogue knows, newest first, with aliases resolved, on one date."""

    def __init__(self, catalogue: Catalogue, today: date) -> None:
        self.today = today
        self.models = [_served(spec, today) for spec in catalogue.models]
        self._by_name: dict[str, ServedModel] = {}
        for model in self.models:
            for name in (model.spec.id, *model.spec.ids):
                self._by_name[name] = model

    def get(self, name: str) -> ServedModel | None:
        return self._by_name.get(name)

    def resolve(self, name: str) -> ServedModel:
        """The model a request names; 404 not_found_error for an unknown or retired one, as the API."""
        model = self._by_name.get(name)
        if model is None or model.lifecycle == "retired":
            raise EmulatorError(404, "not_found_error", f"model: {name}")
        return model

    def describe(self, name: str) -> dict[str, Any]:
        """GET /v1/models/{id}: any model the catalogue holds, retired ones included."""
        model = self._by_name.get(name)
        if model is None:
            raise EmulatorError(404, "not_found_error", f"model: {name}")
        return model.info

    def page(
        self, limit: int, before_id: str | None, after_id: str | None, lifecycles: frozenset[str]
    ) -> dict[str, Any]:
        """One page of GET /v1/models: `data`, `has_more`, `first_id`, `last_id` (newest first)."""
        listed = [m for m in self.models if m.lifecycle in lifecycles]
        ids = [m.id for m in listed]
        if after_id is not None:
            start = _position(ids, after_id) + 1
            chunk = listed[start : start + limit]
            has_more = start + limit < len(listed)
        elif before_id is not None:
            end = _position(ids, before_id)
            chunk = listed[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            chunk = listed[:limit]
            has_more = limit < len(listed)
        return {
            "data": [m.info for m in chunk],
            "has_more": has_more,
            "first_id": chunk[0].id if chunk else None,
            "last_id": chunk[-1].id if chunk else None,
        }


def _position(ids: list[str], model_id: str) -> int:
    try:
        return ids.index(model_id)
    except ValueError:
        raise EmulatorError(404, "not_found_error", f"model: {model_id}") from None


def _timestamp(day: date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def _served(spec: ModelSpec, today: date) -> ServedModel:
    lifecycle = spec.lifecycle(today)
    scheduled = lifecycle != "active"  # the API shows the schedule once a model is deprecated
    info = {
        "type": "model",
        "id": spec.snapshot,
        "display_name": spec.name,
        "created_at": _timestamp(spec.released),
        "lifecycle": lifecycle,
        "deprecated_at": _timestamp(spec.deprecated) if scheduled else None,
        "retires_at": _timestamp(spec.retires) if scheduled else None,
        "line": spec.line,
        "max_input_tokens": spec.context,
        "max_tokens": spec.max_output,
        "capabilities": capabilities(spec),
    }
    return ServedModel(spec, lifecycle, info, Fraction(spec.token_ratio))


def _support(flag: bool) -> dict[str, bool]:
    return {"supported": flag}


def capabilities(spec: ModelSpec) -> dict[str, Any]:
    """The Models API's `capabilities` object, from the catalogue's request rules."""
    # Programmatic tool calling and compaction came with the 4.6 generation, the same models that
    # take `inference_geo`.
    newer = spec.inference_geo
    context = spec.context_management
    return {
        "batch": _SUPPORTED,
        "citations": _SUPPORTED,
        "code_execution": _support(newer),
        "context_management": {
            "supported": context,
            **{name: _support(context) for name in _CONTEXT_STRATEGIES},
            "compact_20260112": _support(context and newer),
        },
        "effort": {
            "supported": spec.effort.supported,
            **{level: _support(level in spec.effort.levels) for level in EFFORT_LEVELS},
        },
        "image_input": _SUPPORTED,
        "pdf_input": _SUPPORTED,
        "server_tools": {"supported": True, "code_execution": _SUPPORTED, "web_search": _SUPPORTED},
        "structured_outputs": _SUPPORTED,
        "thinking": {
            "supported": True,
            "types": {mode: _support(mode in spec.thinking.modes) for mode in THINKING_MODES},
        },
    }
