"""Rate limits and budgets shared by every gateway replica, in Redis (`[gateway] redis_url`).

Each check-and-charge is one Lua script, so replicas never race: the token buckets of
`rate_admit.lua` (the server's clock, so replicas need not agree on theirs) and the budget holds
of `budget_reserve.lua`, in integer nano-dollars. Kept records' costs, and batches' worst cases
while they hold, go into each period's `spent` counter through `budget_spend.lua`. Key names live
in `redis_keys`. Redis being unreachable refuses the request (503) rather than letting it past a
limit unchecked.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any, Self

from redis import asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from ..errors import RateLimitedError
from ..ledger.money import from_nano, to_nano
from ..types import ZERO, UsageRecord
from . import redis_keys as rk
from .budgets import Budget, Reservation, SpentSince, period_start, record_scopes, refusal
from .errors import GatewayError
from .keys import KeyInfo

log = logging.getLogger(__name__)

SCRIPTS = ("rate_admit", "budget_reserve", "budget_spend")
UNAVAILABLE = "the gateway's shared state (Redis) is unavailable; try again shortly"
_LIMITS = (("rpm", "requests-per-minute"), ("tpm", "tokens-per-minute"))


def _load_scripts(client: aioredis.Redis) -> dict[str, AsyncScript]:
    folder = resources.files(__package__).joinpath("lua")
    return {
        name: client.register_script(folder.joinpath(f"{name}.lua").read_text(encoding="utf-8"))
        for name in SCRIPTS
    }


class SharedState:
    """One Redis connection pool and the scripts; `limiter` and `budgets` work through it."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = rk.PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self.scripts = _load_scripts(client)

    @classmethod
    def open(cls, url: str, *, prefix: str = rk.PREFIX) -> Self:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix=prefix)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await self.scripts[script](keys=list(keys), args=list(args))
        except RedisError:
            raise GatewayError(503, "api_error", UNAVAILABLE) from None


class RedisRateLimiter:
    """Per-key requests and tokens per minute, one token bucket each, shared by every replica."""

    def __init__(self, shared: SharedState) -> None:
        self._shared = shared

    async def check(self, key: KeyInfo, tokens: int) -> None:
        limits = [(kind, what, cap) for (kind, what), cap in zip(_LIMITS, (key.rpm, key.tpm), strict=True)]
        wanted = [(kind, what, cap) for kind, what, cap in limits if cap is not None]
        if not wanted:
            return
        keys = [rk.bucket_key(self._shared.prefix, key.key_id, kind) for kind, _, _ in wanted]
        args: list[Any] = [rk.BUCKET_TTL_MS]
        for kind, _, cap in wanted:
            args += [cap, 1 if kind == "rpm" else tokens]
        index, wait_ms = await self._shared.run("rate_admit", keys, args)
        if index:
            _, what, cap = wanted[int(index) - 1]
            raise RateLimitedError(f"this key's {what} limit ({cap} per minute) is reached", wait_ms / 1000)


@dataclass(slots=True)
class _Hold:
    shared: SharedState
    ident: str
    keys: tuple[tuple[str, str], ...]  # (held, expires) of each budget
    released: bool = False

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        try:
            async with self.shared.client.pipeline(transaction=False) as pipe:
                for held_key, expires_key in self.keys:
                    pipe.hdel(held_key, self.ident)
                    pipe.zrem(expires_key, self.ident)
                await pipe.execute()
        except RedisError:
            pass  # the hold lapses on its own after HOLD_TTL_MS


class RedisBudgetBook:
    """`Budgets` in Redis: every replica reserves from, and spends into, the same counters."""

    def __init__(
        self, shared: SharedState, spent_since: SpentSince, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._shared = shared
        self._spent_since = spent_since
        self._clock = clock or (lambda: datetime.now(UTC))

    def _keys(self, budget: Budget, now: datetime) -> tuple[str, str, str]:
        return rk.budget_keys(self._shared.prefix, budget.scope, rk.period_tag(budget.period, now))

    async def reserve(self, budgets: Sequence[Budget], amount: Decimal) -> Reservation:
        now = self._clock()
        keys = [k for budget in budgets for k in self._keys(budget, now)]
        ident = uuid.uuid4().hex
        args = [ident, to_nano(amount), rk.HOLD_TTL_MS, *(to_nano(b.limit) for b in budgets)]
        for _ in range(len(budgets) + 1):  # at most one seeding per budget
            index, committed, spent = await self._shared.run("budget_reserve", keys, args)
            if index >= 0:
                break
            await self._seed(budgets[-int(index) - 1], now)
        else:
            raise GatewayError(503, "api_error", UNAVAILABLE)
        if index:
            budget = budgets[int(index) - 1]
            raise refusal(budget, from_nano(int(committed)), amount, from_nano(int(spent)))
        return _Hold(self._shared, ident, tuple((keys[i + 1], keys[i + 2]) for i in range(0, len(keys), 3)))

    async def pressure(self, budgets: Sequence[Budget]) -> Decimal:
        now, shares = self._clock(), [ZERO]
        for budget in budgets:
            spent_key, held_key, _ = self._keys(budget, now)
            try:
                spent = await self._shared.client.get(spent_key)
                if spent is None:
                    await self._seed(budget, now)
                    spent = await self._shared.client.get(spent_key)
                held = await self._shared.client.hvals(held_key)
            except RedisError:
                raise GatewayError(503, "api_error", UNAVAILABLE) from None
            committed = int(spent or 0) + sum(int(value) for value in held)
            shares.append(from_nano(committed) / budget.limit)
        return max(shares)

    async def spend(self, record: UsageRecord) -> None:
        # On failure the ledger still gets the record; the next period's seed counts it.
        await self._count(record_scopes(record), record.total_cost_usd, self._clock(), "a record's cost")

    async def adjust(self, scopes: Sequence[tuple[str, str]], amount: Decimal, at: datetime) -> None:
        # On failure the batch's row still says whether it holds; the next period's seed reads it.
        await self._count(scopes, amount, at, "a batch's worst case")

    async def _count(
        self, scopes: Sequence[tuple[str, str]], amount: Decimal, at: datetime, what: str
    ) -> None:
        """Add `amount` to every seeded spent counter of the scopes' periods containing `at`, in
        one script; an unseeded counter is skipped, as its seed will read the ledger."""
        keys = [
            rk.budget_keys(self._shared.prefix, f"{kind}:{ident}", rk.period_tag(period, at))[0]
            for kind, ident in scopes
            for period in rk.PERIODS
        ]
        if keys and amount:
            try:
                await self._shared.run("budget_spend", keys, [to_nano(amount)])
            except GatewayError:
                log.warning("could not count %s in Redis: the shared state is unavailable", what)

    async def _seed(self, budget: Budget, now: datetime) -> None:
        """The period's spend so far, from the ledger, unless another replica seeded it first."""
        spent = await self._spent_since(budget.kind, budget.ident, period_start(budget.period, now))
        ttl = rk.SPENT_TTL_S.get(budget.period)
        try:
            await self._shared.client.set(self._keys(budget, now)[0], to_nano(spent), nx=True, ex=ttl)
        except RedisError:
            raise GatewayError(503, "api_error", UNAVAILABLE) from None
