"""claude-router: send each Claude request to the cheapest model that can do it, and prove the saving."""

from __future__ import annotations

from .errors import (
    BudgetExceededError,
    ConfigError,
    PricingError,
    QueueError,
    RateLimitedError,
    RouterError,
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

__version__ = "0.1.0"

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
    "RouterError",
    "TokenUsage",
    "UnknownModelError",
    "UsageRecord",
    "__version__",
]
