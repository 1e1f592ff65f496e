"""claude-router: send each Claude request to the cheapest model that can do it, and prove the saving."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    BudgetExceededError,
    ConfigError,
    PricingError,
    QueueError,
    RateLimitedError,
    RouterError,
    UnavailableError,
    UnknownModelError,
)
from .types import (
    ClassifierSource,
    Decision,
    Label,
    RequestMeta,
    Route,
    TokenUsage,
    UsageRecord,
)

if TYPE_CHECKING:
    from .config import Settings
    from .middleware import router_middleware
    from .routing.router import RoutedResponse, Router
    from .sync import SyncRouter

__version__ = "0.1.0"

# The library face, imported on first use: `import claude_router` (and the CLI's start) stays free
# of the SDK and the drivers.
_LAZY = {
    "Router": "routing.router",
    "RoutedResponse": "routing.router",
    "SyncRouter": "sync",
    "router_middleware": "middleware",
    "Settings": "config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BudgetExceededError",
    "ClassifierSource",
    "ConfigError",
    "Decision",
    "Label",
    "PricingError",
    "QueueError",
    "RateLimitedError",
    "RequestMeta",
    "Route",
    "RoutedResponse",
    "Router",
    "RouterError",
    "Settings",
    "SyncRouter",
    "TokenUsage",
    "UnavailableError",
    "UnknownModelError",
    "UsageRecord",
    "__version__",
    "router_middleware",
]
