"""Dollar budgets per virtual key and per customer (day / month / total), enforced under concurrency.

At admission a request reserves its worst case (`WorstCase`) against every budget it is under:
its key's and its customer's. It is refused (429) when, for any of them, the period's spend plus
every open reservation plus its own would pass the budget. Its real cost is added when its record
is kept (`BudgetSink`, in front of the ledger), and only then is its reservation released, so at no
moment is money in flight uncounted: N concurrent requests against a nearly spent budget overspend
by at most what one admitted request could cost. A period's spend before the books were opened is
read once per budget and period from the ledger's `usage` table (`ledger_spend`).

A Message Batch's worst case counts as spent from its submission until its results are accounted
(or it is deleted): `ledger_spend` adds the batches held in `batch_owners`, and `adjust` moves the
books' running totals when a batch starts or stops holding.

`BudgetBook` keeps the books in this process; `RedisBudgetBook` (`redis_state`) keeps them in Redis
so that every gateway replica enforces the same budgets. Both answer to `Budgets`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import BudgetExceededError
from ..ledger.money import from_nano
from ..ledger.schema import usage
from ..routing.router import RecordSink
from ..types import ZERO, UsageRecord
from .key_schema import batch_owners
from .keys import CustomerBudget, KeyInfo, Period

KEY, CUSTOMER = "key", "customer"
SpentSince = Callable[[str, str, datetime | None], Awaitable[Decimal]]  # (kind, id, since) → USD
CENTS = Decimal("0.000001")


def period_start(period: Period, now: datetime) -> datetime | None:
    """The start of the budget period containing `now` (None: all time)."""
    if period is Period.DAY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.MONTH:
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


def period_end(period: Period, now: datetime) -> datetime | None:
    """When the budget period containing `now` ends (None: never)."""
    start = period_start(period, now)
    if start is None:
        return None
    if period is Period.DAY:
        return start + timedelta(days=1)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


@dataclass(frozen=True, slots=True)
class Budget:
    """One cap a request counts against: a key's or a customer's."""

    kind: str  # KEY | CUSTOMER
    ident: str  # the key id or the customer name
    limit: Decimal
    period: Period

    @property
    def scope(self) -> str:
        return f"{self.kind}:{self.ident}"

    def describe(self) -> str:
        whose = "this key's" if self.kind == KEY else f"customer {self.ident}'s"
        return f"{whose} budget of ${self.limit.normalize():f} per {self.period.value}"


def budgets_of(key: KeyInfo, customer: CustomerBudget | None) -> tuple[Budget, ...]:
    """Every budget a request made with `key` counts against."""
    found: list[Budget] = []
    if key.budget_usd is not None:
        found.append(Budget(KEY, key.key_id, key.budget_usd, key.period or Period.MONTH))
    if customer is not None:
        found.append(Budget(CUSTOMER, customer.customer, customer.budget_usd, customer.period))
    return tuple(found)


def record_scopes(record: UsageRecord) -> tuple[tuple[str, str], ...]:
    """The (kind, id) pairs a kept record's cost counts against."""
    scopes = []
    if record.key_id is not None:
        scopes.append((KEY, record.key_id))
    if record.customer is not None:
        scopes.append((CUSTOMER, record.customer))
    return tuple(scopes)


def ledger_spend(engine: AsyncEngine) -> SpentSince:
    """What a key or customer spent since a time: the ledger's `usage` rows, plus the worst case of
    their batches created since then that are neither accounted nor deleted."""
    columns = {KEY: usage.c.key_id, CUSTOMER: usage.c.customer}
    owners = {KEY: batch_owners.c.key_id, CUSTOMER: batch_owners.c.customer}
    b = batch_owners.c

    async def spent(kind: str, ident: str, since: datetime | None) -> Decimal:
        total = sa.func.coalesce(sa.func.sum(usage.c.cost_nusd + usage.c.classifier_cost_nusd), 0)
        used = sa.select(total).where(columns[kind] == ident)
        held = sa.select(sa.func.coalesce(sa.func.sum(b.worst_nusd), 0)).where(
            owners[kind] == ident, b.accounted_at.is_(None), b.deleted_at.is_(None)
        )
        if since is not None:
            used, held = used.where(usage.c.created_at >= since), held.where(b.created_at >= since)
        query = sa.select(used.scalar_subquery() + held.scalar_subquery())
        async with engine.connect() as conn:
            return from_nano(int((await conn.execute(query)).scalar_one()))

    return spent


def refusal(
    budget: Budget, committed: Decimal, amount: Decimal, spent: Decimal, now: datetime | None = None
) -> BudgetExceededError:
    """The 429 for `budget`. When what was spent leaves room for this request and only requests
    in flight hold the rest, it is `held` (worth retrying shortly); otherwise its retry-after is
    the time left in the budget's period."""
    if spent + amount <= budget.limit:
        return BudgetExceededError(
            f"{budget.describe()} is held by requests in flight: ${committed.quantize(CENTS)} spent "
            f"or reserved, and this request may cost up to ${amount.quantize(CENTS)}; retry shortly",
            held=True,
        )
    now = now or datetime.now(UTC)
    end = period_end(budget.period, now)
    return BudgetExceededError(
        f"{budget.describe()} would be exceeded: ${spent.quantize(CENTS)} spent, "
        f"and this request may cost up to ${amount.quantize(CENTS)}",
        retry_after_s=(end - now).total_seconds() if end is not None else None,
    )


class Reservation(Protocol):
    """Money held for one admitted request until its record is kept; `release` once done."""

    async def release(self) -> None: ...


class Budgets(Protocol):
    async def reserve(self, budgets: Sequence[Budget], amount: Decimal) -> Reservation:
        """Hold `amount` against every budget, or raise `BudgetExceededError` (429) holding nothing."""
        ...

    async def pressure(self, budgets: Sequence[Budget]) -> Decimal:
        """The largest share (spent + reserved) / limit among `budgets` (0 with none)."""
        ...

    async def spend(self, record: UsageRecord) -> None:
        """Count a kept record's cost against its key's and its customer's current periods."""
        ...

    async def adjust(self, scopes: Sequence[tuple[str, str]], amount: Decimal, at: datetime) -> None:
        """Add `amount` (negative: take it back) to what each (kind, id) scope has spent in the
        periods containing `at`, where the books already hold that spend: a batch's worst case as
        it starts or stops holding. Spend read from the ledger later sees it (`ledger_spend`)."""
        ...


@dataclass(slots=True)
class _Account:
    start: datetime | None
    spent: Decimal = ZERO
    reserved: Decimal = ZERO
    loaded: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class _Held:
    amount: Decimal
    accounts: tuple[_Account, ...]
    released: bool = False

    async def release(self) -> None:
        if not self.released:
            self.released = True
            for account in self.accounts:
                account.reserved -= self.amount


class BudgetBook:
    """The books in this process: one event loop owns them, so a check and its hold are atomic."""

    def __init__(self, spent_since: SpentSince, clock: Callable[[], datetime] | None = None) -> None:
        self._spent_since = spent_since
        self._clock = clock or (lambda: datetime.now(UTC))
        self._accounts: dict[str, _Account] = {}

    async def reserve(self, budgets: Sequence[Budget], amount: Decimal) -> Reservation:
        accounts = [await self._account(budget) for budget in budgets]
        # No await from here on: the checks and the holds see the same books.
        for budget, account in zip(budgets, accounts, strict=True):
            committed = account.spent + account.reserved
            if committed + amount > budget.limit:
                raise refusal(budget, committed, amount, account.spent)
        for account in accounts:
            account.reserved += amount
        return _Held(amount, tuple(accounts))

    async def pressure(self, budgets: Sequence[Budget]) -> Decimal:
        shares = [ZERO]
        for budget in budgets:
            account = await self._account(budget)
            shares.append((account.spent + account.reserved) / budget.limit)
        return max(shares)

    async def spend(self, record: UsageRecord) -> None:
        for kind, ident in record_scopes(record):
            account = self._accounts.get(f"{kind}:{ident}")
            if account is not None:
                account.spent += record.total_cost_usd

    async def adjust(self, scopes: Sequence[tuple[str, str]], amount: Decimal, at: datetime) -> None:
        for kind, ident in scopes:
            account = self._accounts.get(f"{kind}:{ident}")
            if account is None or (account.start is not None and at < account.start):
                continue  # not in the books, or from an earlier period than the one held
            if amount < 0 and not account.loaded.is_set():
                continue  # its ledger read, under way, may already leave it out: err toward counting
            account.spent += amount

    async def _account(self, budget: Budget) -> _Account:
        start = period_start(budget.period, self._clock())
        account = self._accounts.get(budget.scope)
        if account is None or account.start != start:
            account = self._accounts[budget.scope] = _Account(start)
            try:  # records kept meanwhile were already added by `spend`
                account.spent += await self._spent_since(budget.kind, budget.ident, start)
            except BaseException:
                del self._accounts[budget.scope]
                raise
            finally:
                account.loaded.set()
        else:
            await account.loaded.wait()
        return account


class BudgetSink:
    """A `RecordSink` in front of the ledger that also counts each record against its budgets."""

    def __init__(self, inner: RecordSink | None, book: Budgets) -> None:
        self._inner = inner
        self._book = book

    async def record(self, record: UsageRecord) -> None:
        await self._book.spend(record)
        if self._inner is not None:
            await self._inner.record(record)
