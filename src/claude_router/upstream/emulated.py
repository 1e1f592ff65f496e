"""Where calls go when no upstream is configured: the built-in emulator, started in-process.

Every face (the demo, the gateway, the batch worker, evaluation) asks this one function, so "no key
and no base URL" means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from ..config import Settings

EMULATOR_KEY = "sk-emulator-demo"  # the emulator accepts any key; this one is only a placeholder


@asynccontextmanager
async def upstream_settings(
    settings: Settings, *, realistic: bool = True
) -> AsyncIterator[tuple[Settings, bool]]:
    """`settings` as they are when they name an upstream, else pointed at an in-process emulator.

    Yields the settings and whether the emulator is in use.
    """
    if settings.upstream.api_key is not None or settings.upstream.base_url is not None:
        yield settings, False
        return
    from ..emulator.config import EmulatorConfig
    from ..emulator.server import running_emulator

    config = EmulatorConfig.realistic() if realistic else EmulatorConfig()
    async with running_emulator(config) as base_url:
        upstream = settings.upstream.model_copy(
            update={"base_url": base_url, "api_key": SecretStr(EMULATOR_KEY)}
        )
        yield settings.model_copy(update={"upstream": upstream}), True
