"""Readiness: does every service a request needs answer? The ledger's database (and the keys'
when they live elsewhere), Redis when it holds the rate limits and budgets, and the upstream (the
API, or the embedded emulator). `/readyz` reports each one; `serve` checks them before it listens,
so a gateway never says it is ready while every request would get a 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import UnavailableError
from ..ledger.buffer import BufferedLedger
from ..ledger.engine import db_reason
from ..upstream import WireError
from .state import GatewayState

CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    """One dependency's answer: `detail` says why it failed ("ok" when it did not)."""

    name: str
    ok: bool
    detail: str = "ok"


async def check_dependencies(state: GatewayState, timeout_s: float = CHECK_TIMEOUT_S) -> list[Check]:
    """Every dependency of `state`, checked at once, each within `timeout_s`."""
    probes: dict[str, Awaitable[None]] = {}
    ledger = state.ledger
    ledger_engine = ledger.store.engine if isinstance(ledger, BufferedLedger) else None
    if isinstance(ledger, BufferedLedger):
        probes["ledger"] = _ledger(ledger)
    if state.keys is not None and state.keys.engine is not ledger_engine:
        probes["keys"] = _database(state.keys.engine)
    if state.shared is not None:
        probes["redis"] = _redis(state)
    probes["upstream"] = _upstream(state, timeout_s)
    names = list(probes)
    outcomes = await asyncio.gather(*(_timed(probes[n], timeout_s) for n in names), return_exceptions=True)
    return [_check(name, outcome, state) for name, outcome in zip(names, outcomes, strict=True)]


async def require_ready(state: GatewayState, timeout_s: float = CHECK_TIMEOUT_S) -> None:
    """`UnavailableError` naming each dependency that does not answer."""
    failed = [c for c in await check_dependencies(state, timeout_s) if not c.ok]
    if failed:
        raise UnavailableError("; ".join(f"{c.name}: {c.detail}" for c in failed))


async def _timed(probe: Awaitable[None], timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        await probe


async def _ledger(ledger: BufferedLedger) -> None:
    if ledger.failure is not None:  # its writer stopped: records would pile up unwritten
        raise ledger.failure
    await _database(ledger.store.engine)


async def _database(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _redis(state: GatewayState) -> None:
    assert state.shared is not None
    await state.shared.client.ping()


async def _upstream(state: GatewayState, timeout_s: float) -> None:
    await state.router.upstream.wire.probe(timeout_s)  # the relay's own client: no SDK loaded for it


def _check(name: str, outcome: BaseException | None, state: GatewayState) -> Check:
    if outcome is None:
        return Check(name, True)
    return Check(name, False, _reason(name, outcome, state))


def _reason(name: str, exc: BaseException, state: GatewayState) -> str:
    upstream = state.router.settings.upstream.base_url or "the API"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if name == "redis":
        where = urlsplit(state.settings.gateway.redis_url or "").netloc.rpartition("@")[2]
        return f"Redis at {where} ([gateway] redis_url): {exc or type(exc).__name__}"
    if isinstance(exc, WireError):
        return (
            f"cannot connect to {upstream}"
            if exc.status is None
            else f"{upstream} answered {exc.status}: {exc.message}"
        )
    engine = _engines(state).get(name)
    return db_reason(exc, engine.url.render_as_string(hide_password=False) if engine is not None else None)


def _engines(state: GatewayState) -> dict[str, AsyncEngine]:
    engines = {}
    if isinstance(state.ledger, BufferedLedger):
        engines["ledger"] = state.ledger.store.engine
    if state.keys is not None:
        engines["keys"] = state.keys.engine
    return engines


__all__ = ["CHECK_TIMEOUT_S", "Check", "check_dependencies", "require_ready"]
