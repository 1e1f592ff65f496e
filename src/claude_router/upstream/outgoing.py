"""The body one call sends to each model it tries: adapted to that model (`catalog/adapt.py`), or
as written when the caller named the model it goes to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..catalog.adapt import Adapted, Adapter


class Outgoing:
    """One call's bodies, built once per model tried; what was changed for each stays here."""

    __slots__ = ("_adapter", "_built", "_params")

    def __init__(self, params: Mapping[str, Any], adapter: Adapter | None) -> None:
        self._params = params
        self._adapter = adapter  # None: every model gets the body as written
        self._built: dict[str, Adapted] = {}

    def body(self, model: str) -> Mapping[str, Any]:
        return self._for(model).body

    def changes(self, model: str | None) -> tuple[str, ...]:
        return self._for(model).changes if model is not None else ()

    def effort(self, model: str | None) -> str | None:
        return self._for(model).effort if model is not None else None

    def _for(self, model: str) -> Adapted:
        built = self._built.get(model)
        if built is None:
            if self._adapter is None:
                built = Adapted(dict(self._params))
            else:
                built = self._adapter.body_for(self._params, model)
            self._built[model] = built
        return built


__all__ = ["Outgoing"]
