"""A Message Batch's worst case against its key's and customer's budgets.

At submission the batch must fit (`admit`, a short reservation covering the upstream call); once
created, its worst case counts as spent (`hold`, recorded in its `batch_owners` row and added to the
budget books) until its results are accounted or it is deleted (`release`). A cancelled batch
keeps holding: its results may still hold succeeded requests.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ..ledger.money import from_nano
from ..types import ZERO, RequestMeta
from .batch_owners import BatchOwner
from .budgets import CUSTOMER, KEY, Reservation, budgets_of
from .keys import KeyInfo
from .state import GatewayState


def worst_case(
    state: GatewayState, key: KeyInfo | None, requests: list[dict[str, Any]], meta: RequestMeta
) -> Decimal:
    """The batch's worst case at its routed models and batch prices (0 with authentication off)."""
    if key is None or state.worst_case is None:
        return ZERO
    params = [item["params"] for item in requests]
    return sum((state.worst_case.cost(p, _size(p), meta, batch=True) for p in params), ZERO)


async def admit(state: GatewayState, key: KeyInfo | None, worst: Decimal) -> Reservation | None:
    """Reserve `worst` against the key's and its customer's budgets while the batch is submitted,
    or raise `BudgetExceededError` (a 429 naming the budget)."""
    book, keys = state.budgets, state.keys
    if key is None or book is None or keys is None:
        return None
    budgets = budgets_of(key, await keys.customer_budget(key.customer))
    return await book.reserve(budgets, worst) if budgets else None


async def hold(state: GatewayState, owner: BatchOwner) -> None:
    """Count a just-recorded batch's worst case as its owner's spend, on every replica's books."""
    await _adjust(state, owner, from_nano(owner.worst_nusd))


async def release(state: GatewayState, owner: BatchOwner) -> None:
    """Take the worst case back out: the batch's results were accounted, or it was deleted."""
    await _adjust(state, owner, -from_nano(owner.worst_nusd))


async def _adjust(state: GatewayState, owner: BatchOwner, amount: Decimal) -> None:
    if state.budgets is not None and amount:
        scopes = ((KEY, owner.key_id), (CUSTOMER, owner.customer))
        await state.budgets.adjust(scopes, amount, owner.created_at)


def _size(params: dict[str, Any]) -> int:
    """The request's size as JSON, for the worst case's input estimate."""
    return len(json.dumps(params).encode())
