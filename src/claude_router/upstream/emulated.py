"""Where calls go when no upstream is configured: the built-in emulator, started in-process.

Every face (the demo, the gateway, the batch worker, evaluation) asks this one function, so "no key
and no base URL" means the same thing everywhere.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from ..config import Settings
from ..errors import ConfigError

EMULATOR_KEY = "sk-emulator-demo"  # the emulator accepts any key; this one is only a placeholder
AUTH_TOKEN_ENV = "ANTHROPIC_AUTH_TOKEN"  # the SDK's other credential (a bearer token)


@asynccontextmanager
async def upstream_settings(
    settings: Settings, *, realistic: bool = True
) -> AsyncIterator[tuple[Settings, bool]]:
    """`settings` as they are when they name an upstream, else pointed at an in-process emulator.

    Yields the settings and whether the emulator is in use; `ConfigError` for an upstream named
    without a credential, which every call would fail on.
    """
    upstream = settings.upstream
    if upstream.base_url is not None and upstream.api_key is None and not os.environ.get(AUTH_TOKEN_ENV):
        # The SDK would refuse every call ("Could not resolve authentication method"): say so once.
        raise ConfigError(
            f"no API key for the upstream at {upstream.base_url}: set ANTHROPIC_API_KEY (any value for an"
            " emulator), or unset ANTHROPIC_BASE_URL to use the built-in emulator"
        )
    if upstream.api_key is not None or upstream.base_url is not None:
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
