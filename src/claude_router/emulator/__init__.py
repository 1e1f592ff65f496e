"""An offline emulator of the Anthropic API, faithful enough that the official SDK cannot tell.

It shares no state with the router: it is a separate program that happens to live in the package.

    from . import EmulatorConfig, running_emulator

    async with running_emulator(EmulatorConfig.realistic()) as base_url:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="any")

Serves POST /v1/messages (JSON and SSE), POST /v1/messages/count_tokens, GET /v1/models[/{id}]
and the Message Batches API, with a simulated prompt cache, rate limits, injected faults and stops,
and a per-model-line latency model; see `config.EmulatorConfig`. The models are the shared
catalogue's (`claude_router.catalog`), each with its lifecycle on the emulator's date and its own
request rules (`rules`), thinking (`thinking`) and tokenizer.
"""

from __future__ import annotations

from .app import create_app
from .config import EmulatorConfig, FaultConfig, RateLimits, TierLatency
from .engine import Completion, Engine
from .errors import EmulatorError
from .labeler import RuleLabeler
from .server import emulator_thread, running_emulator, serve

__all__ = [
    "Completion",
    "EmulatorConfig",
    "EmulatorError",
    "Engine",
    "FaultConfig",
    "RateLimits",
    "RuleLabeler",
    "TierLatency",
    "create_app",
    "emulator_thread",
    "running_emulator",
    "serve",
]
