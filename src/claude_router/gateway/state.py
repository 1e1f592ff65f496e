"""What the gateway's handlers share for the life of the app: router, ledger, metrics, secrets."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..config import Settings
from ..routing.router import RecordSink, Router
from .budgets import BudgetBook, Budgets, BudgetSink, ledger_spend
from .keys import KeyInfo, KeyStore
from .limits import RateLimiter, RateLimits
from .metrics import GatewayMetrics, Observation
from .tracing import Tracing
from .worst_case import WorstCase

if TYPE_CHECKING:
    from .redis_state import SharedState


@dataclass(slots=True)
class GatewayState:
    settings: Settings
    router: Router
    ledger: RecordSink | None
    metrics: GatewayMetrics
    keys: KeyStore | None = None  # None: client authentication is off
    emulated: bool = False
    #: Strings that must never leave the process (the upstream API key).
    secrets: tuple[str, ...] = ()
    limiter: RateLimits = field(default_factory=RateLimiter)
    budgets: Budgets | None = None  # None: no budgets (authentication off)
    worst_case: WorstCase | None = None
    tracing: Tracing = field(default_factory=Tracing)
    shared: SharedState | None = None  # Redis, when it holds the rate limits and budgets
    _count_tokens_args: frozenset[str] | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        router: Router,
        ledger: RecordSink | None,
        metrics: GatewayMetrics,
        keys: KeyStore | None,
        *,
        emulated: bool,
        shared: SharedState | None = None,
    ) -> GatewayState:
        """With `shared` (Redis), rate limits and budgets are enforced across every replica."""
        key = router.settings.upstream.api_key
        secrets = tuple(s for s in (key.get_secret_value() if key else None,) if s)
        state = cls(settings, router, ledger, metrics, keys, emulated, secrets)
        if keys is not None:
            spent = ledger_spend(keys.engine)
            book: Budgets = BudgetBook(spent)
            if shared is not None:
                from .redis_state import RedisBudgetBook, RedisRateLimiter  # the optional `redis` extra

                state.limiter, book = RedisRateLimiter(shared), RedisBudgetBook(shared, spent)
                state.shared = shared
            state.budgets = book
            state.worst_case = WorstCase(router.settings, router.policy, router.prices)
            router.ledger = BudgetSink(router.ledger, book)  # every kept record counts against its key
        return state

    @property
    def count_tokens_args(self) -> frozenset[str]:
        """Keyword arguments the SDK's `messages.count_tokens` names (other body fields go in
        `extra_body`); read on the first count, which builds the SDK's client anyway."""
        if self._count_tokens_args is None:
            method = self.router.upstream.client.messages.count_tokens
            self._count_tokens_args = frozenset(inspect.signature(method).parameters)
        return self._count_tokens_args

    @property
    def max_body_bytes(self) -> int:
        return self.settings.gateway.max_body_bytes


@dataclass(frozen=True, slots=True)
class RequestScope:
    """What a handler needs of its request's context, read once at its start: the app's state, the
    virtual key (None: authentication is off) and the request's metrics (None: not measured)."""

    state: GatewayState
    key: KeyInfo | None
    seen: Observation | None


def request_scope(request: Request) -> RequestScope:
    """The scope `app.guarded` set for the request once it was authenticated."""
    scope: RequestScope = request.state.scope
    return scope


def gateway_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


def request_key(request: Request) -> KeyInfo | None:
    """The virtual key the request authenticated with (None when authentication is off)."""
    key: KeyInfo | None = getattr(request.state, "key", None)
    return key


def observation(request: Request) -> Observation | None:
    """This request's metrics, when the endpoint is measured."""
    found: Observation | None = getattr(request.state, "observation", None)
    return found
