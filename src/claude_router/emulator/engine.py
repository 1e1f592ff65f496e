"""The emulator's core: validate a Messages API body and produce the deterministic answer.

Contract used by the HTTP routes and by the batch processor:

    engine = Engine(config)
    message: dict = await engine.complete(body)      # a full Message JSON object
    raises EmulatorError for a bad body (400/404) exactly as POST /v1/messages would

(Implementation lands with the emulator; this stub fixes the interface.)
"""

from __future__ import annotations

from typing import Any

from .config import EmulatorConfig


class Engine:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError
