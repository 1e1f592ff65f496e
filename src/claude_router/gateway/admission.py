"""Admission of a Messages request with a virtual key: rate limits, then budgets.

Budget-aware routing (opt-in, `[gateway] budget_downgrade_at`): once any of the request's budgets
is that full (spent plus reserved), or when its worst case at the routed tier would no longer fit,
the request is routed one tier lower (never below a floor) and reserves that tier's worst case.
Only when even that does not fit is it refused, with a 429 naming the budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..errors import BudgetExceededError
from ..types import RequestMeta
from .budgets import Reservation, budgets_of
from .keys import KeyInfo
from .limits import estimated_tokens
from .state import GatewayState

DOWNGRADE_TIERS = 1


async def admit(
    state: GatewayState, key: KeyInfo | None, body: Mapping[str, Any], size: int, meta: RequestMeta
) -> tuple[RequestMeta, Reservation | None]:
    """The request's meta (downgraded under budget pressure) and its reservation, or a 429."""
    if key is None:
        return meta, None
    await state.limiter.check(key, estimated_tokens(size, body.get("max_tokens")))
    book, worst_case, keys = state.budgets, state.worst_case, state.keys
    if book is None or worst_case is None or keys is None:
        return meta, None
    budgets = budgets_of(key, await keys.customer_budget(key.customer))
    if not budgets:
        return meta, None
    threshold = state.settings.gateway.budget_downgrade_at
    if threshold is None:
        return meta, await book.reserve(budgets, worst_case.cost(body, size, meta))
    lower = replace(meta, downgrade=DOWNGRADE_TIERS)
    if await book.pressure(budgets) >= Decimal(str(threshold)):
        return lower, await book.reserve(budgets, worst_case.cost(body, size, lower))
    try:
        return meta, await book.reserve(budgets, worst_case.cost(body, size, meta))
    except BudgetExceededError:
        return lower, await book.reserve(budgets, worst_case.cost(body, size, lower))
