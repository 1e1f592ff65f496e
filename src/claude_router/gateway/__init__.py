"""The Anthropic-compatible HTTP gateway (Starlette): `create_app(settings)`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

# Loaded on first use: importing a module of this package (its commands) stays light.
_LAZY = {
    "create_app": "app",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = ["create_app"]
