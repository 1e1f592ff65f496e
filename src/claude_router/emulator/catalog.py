"""The model catalogue, read from `data/models.json`: ids, aliases, limits and the Models API objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .errors import EmulatorError

_DATA_FILE = "models.json"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    aliases: tuple[str, ...]
    display_name: str
    created_at: str
    line: str
    max_input_tokens: int
    max_tokens: int
    min_cache_tokens: int
    lifecycle: str
    info: dict[str, Any]  # the `ModelInfo` object GET /v1/models returns


class Catalog:
    """Every model the emulator serves, newest first, with aliases resolved."""

    def __init__(self, models: list[ModelSpec]) -> None:
        self.models = sorted(models, key=lambda m: m.created_at, reverse=True)
        self._by_name: dict[str, ModelSpec] = {}
        for spec in self.models:
            for name in (spec.id, *spec.aliases):
                self._by_name[name] = spec

    @classmethod
    def load(cls) -> Catalog:
        raw = json.loads(resources.files(__package__).joinpath("data", _DATA_FILE).read_text("utf-8"))
        profiles: dict[str, Any] = raw["capability_profiles"]
        return cls([_spec(entry, profiles) for entry in raw["models"]])

    def get(self, name: str) -> ModelSpec | None:
        return self._by_name.get(name)

    def resolve(self, name: str) -> ModelSpec:
        """The model a request names; 404 not_found_error for an unknown one, as the API answers."""
        spec = self._by_name.get(name)
        if spec is None or spec.lifecycle == "retired":
            raise EmulatorError(404, "not_found_error", f"model: {name}")
        return spec

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


def _spec(entry: dict[str, Any], profiles: dict[str, Any]) -> ModelSpec:
    lifecycle = entry.get("lifecycle", "active")
    info = {
        "type": "model",
        "id": entry["id"],
        "display_name": entry["display_name"],
        "created_at": entry["created_at"],
        "lifecycle": lifecycle,
        "deprecated_at": entry.get("deprecated_at"),
        "retires_at": entry.get("retires_at"),
        "line": entry["line"],
        "max_input_tokens": entry["max_input_tokens"],
        "max_tokens": entry["max_tokens"],
        "capabilities": profiles[entry["capabilities"]],
    }
    return ModelSpec(
        id=entry["id"],
        aliases=tuple(entry.get("aliases", ())),
        display_name=entry["display_name"],
        created_at=entry["created_at"],
        line=entry["line"],
        max_input_tokens=entry["max_input_tokens"],
        max_tokens=entry["max_tokens"],
        min_cache_tokens=entry["min_cache_tokens"],
        lifecycle=lifecycle,
        info=info,
    )
