"""Dollar budgets per virtual key (day / month / total), enforced under concurrency in this process.

At admission a request reserves its worst case: its input (estimated from the body's size) and
its `max_tokens` (else the largest ceiling) priced at the most expensive model it could be routed
to, plus the classifier's own worst case. A request is refused (429) when the period's spend plus
every open reservation plus its own would pass the budget. Its real cost is added when its record
is kept (`BudgetSink`, in front of the ledger), and only then is its reservation released, so at no
moment is money in flight uncounted: N concurrent requests against a nearly spent budget overspend
by at most what one admitted request could cost. The period's spend before this process started
is read once per key and period from the ledger's `usage` table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import Settings
from ..errors import BudgetExceededError
from ..ledger.money import from_nano
from ..ledger.schema import usage
from ..policy import ModelArgKind, Policy
from ..pricing import PriceTable
from ..router import RecordSink
from ..types import ZERO, RequestMeta, TokenUsage, UsageRecord
from .keys import KeyInfo, Period
from .limits import CHARS_PER_TOKEN

SpentSince = Callable[[str, datetime | None], Awaitable[Decimal]]


def period_start(period: Period, now: datetime) -> datetime | None:
    """The start of the budget period containing `now` (None: all time)."""
    if period is Period.DAY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.MONTH:
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


def ledger_spend(engine: AsyncEngine) -> SpentSince:
    """What a key spent since a time, from the ledger's `usage` rows."""

    async def spent(key_id: str, since: datetime | None) -> Decimal:
        total = sa.func.coalesce(sa.func.sum(usage.c.cost_nusd + usage.c.classifier_cost_nusd), 0)
        query = sa.select(total).where(usage.c.key_id == key_id)
        if since is not None:
            query = query.where(usage.c.created_at >= since)
        async with engine.connect() as conn:
            return from_nano(int((await conn.execute(query)).scalar_one()))

    return spent


class WorstCase:
    """The most a request can cost, before it is classified or routed."""

    def __init__(self, settings: Settings, policy: Policy, prices: PriceTable) -> None:
        self._prices = prices
        self._policy = policy
        self._classifier_model = settings.classifier.model
        self._classifier_tokens = settings.classifier.max_tokens
        policy_settings = settings.policy
        candidates = {*policy_settings.label_models.values(), *settings.upstream.fallback_chain}
        candidates |= {rule.model for rule in policy_settings.rules}
        for alias in policy_settings.aliases.values():
            candidates |= set(alias.label_models.values())
            candidates |= {alias.force_model} if alias.force_model else set()
        self._dearest = max(candidates, key=lambda m: self._unit_price(m))
        self._ceiling = max(
            [*policy_settings.max_tokens.values()]
            + [n for alias in policy_settings.aliases.values() for n in alias.max_tokens.values()]
        )

    def _unit_price(self, model: str) -> Decimal:
        return self._prices.cost(model, TokenUsage(input_tokens=1_000, output_tokens=1_000))

    def cost(self, body: Mapping[str, Any], body_bytes: int, meta: RequestMeta) -> Decimal:
        arg = self._policy.resolve_model_arg(body.get("model"))
        concrete = arg.kind is ModelArgKind.CONCRETE
        model = meta.force_model or (arg.model if concrete else self._dearest)
        max_tokens = body.get("max_tokens") or self._ceiling
        input_tokens = body_bytes // CHARS_PER_TOKEN
        total = self._prices.cost(model, TokenUsage(input_tokens=input_tokens, output_tokens=max_tokens))
        if not concrete and meta.force_model is None:
            classifier = TokenUsage(input_tokens=input_tokens, output_tokens=self._classifier_tokens)
            total += self._prices.cost(self._classifier_model, classifier)
        return total


@dataclass(slots=True)
class _Account:
    start: datetime | None
    spent: Decimal = ZERO
    reserved: Decimal = ZERO
    loaded: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class Reservation:
    """Money held for one admitted request until its record is kept; `release` once done."""

    key_id: str
    amount: Decimal
    account: _Account | None
    released: bool = False

    def release(self) -> None:
        if not self.released and self.account is not None:
            self.account.reserved -= self.amount
        self.released = True


class BudgetBook:
    def __init__(self, spent_since: SpentSince, clock: Callable[[], datetime] | None = None) -> None:
        self._spent_since = spent_since
        self._clock = clock or (lambda: datetime.now(UTC))
        self._accounts: dict[str, _Account] = {}

    async def reserve(self, key: KeyInfo, amount: Decimal) -> Reservation:
        """Hold `amount` against `key`'s budget, or raise `BudgetExceededError` (429)."""
        if key.budget_usd is None:
            return Reservation(key.key_id, amount, None)
        account = await self._account(key)
        committed = account.spent + account.reserved
        if committed + amount > key.budget_usd:
            period = key.period.value if key.period else "total"
            raise BudgetExceededError(
                f"this key's budget of ${key.budget_usd} per {period} would be exceeded: "
                f"${committed.quantize(Decimal('0.000001'))} spent or reserved, and this request "
                f"may cost up to ${amount.quantize(Decimal('0.000001'))}"
            )
        account.reserved += amount
        return Reservation(key.key_id, amount, account)

    def spend(self, key_id: str, amount: Decimal) -> None:
        """Count a kept record's cost against its key's current period."""
        account = self._accounts.get(key_id)
        if account is not None:
            account.spent += amount

    async def _account(self, key: KeyInfo) -> _Account:
        start = period_start(key.period or Period.TOTAL, self._clock())
        account = self._accounts.get(key.key_id)
        if account is None or account.start != start:
            account = self._accounts[key.key_id] = _Account(start)
            try:  # records kept meanwhile were already added by `spend`
                account.spent += await self._spent_since(key.key_id, start)
            except BaseException:
                del self._accounts[key.key_id]
                raise
            finally:
                account.loaded.set()
        else:
            await account.loaded.wait()
        return account


class BudgetSink:
    """A `RecordSink` in front of the ledger that also counts each record against its key's budget."""

    def __init__(self, inner: RecordSink | None, book: BudgetBook) -> None:
        self._inner = inner
        self._book = book

    async def record(self, record: UsageRecord) -> None:
        if record.key_id is not None:
            self._book.spend(record.key_id, record.total_cost_usd)
        if self._inner is not None:
            await self._inner.record(record)
