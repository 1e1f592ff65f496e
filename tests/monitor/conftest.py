"""Quality monitoring on the emulator over real HTTP, with verdicts in a real SQLite or PostgreSQL ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from claude_router.config import MonitorSettings
from claude_router.ledger import SqlLedger
from claude_router.ledger.verdicts import VerdictStore
from claude_router.monitor import QualityMonitor, attach_monitor
from claude_router.routing.router import Router
from routing.conftest import settings_for

MonitoredRouter = Callable[..., tuple[Router, QualityMonitor]]


@pytest.fixture
async def store(ledger_url: str) -> AsyncIterator[SqlLedger]:
    ledger = await SqlLedger.open(ledger_url)
    yield ledger
    await ledger.close()


@pytest.fixture
def verdicts(store: SqlLedger) -> VerdictStore:
    return VerdictStore(store.engine)


@pytest.fixture
async def monitored(emulator_url: str, verdicts: VerdictStore) -> AsyncIterator[MonitoredRouter]:
    """Build routers on the emulator with a monitor attached (closed after the test)."""
    made: list[Router] = []

    def make(*, sink: Any = None, judge: Any = None, **monitor: Any) -> tuple[Router, QualityMonitor]:
        settings = MonitorSettings(enabled=True, **{"sample_rate": 1.0, **monitor})
        router = Router(settings_for(emulator_url, classifier={"kind": "local"}))
        made.append(router)
        attached = attach_monitor(router, sink or verdicts, settings=settings, judge=judge)
        assert attached is not None
        return router, attached

    yield make
    for router in made:
        await router.aclose()
