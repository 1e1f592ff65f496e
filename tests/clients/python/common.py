"""What every Python client program shares (standard library only: each runs in its client's venv).

A program reads its plan as JSON on standard input:

    {"client": "langchain", "bad_key": "...", "models": {"plain": "claude-haiku-4-5", ...},
     "targets": [{"name": "emulator", "base_url": "...", "key": "...", "gateway": false,
                  "scenarios": ["plain", "stream", ...]}, ...]}

runs each of a target's scenarios that it can express, and prints one JSON object:
`{target name: {scenario: outcome}}`. An outcome is what came back (`ok`, the scenario's own
fields) or what went wrong (`error`: its class, HTTP status, message, the x-should-retry header),
with the seconds it took. A scenario the client cannot express is simply absent.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

TASK_HEADER = "x-router-task-id"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city, e.g. Paris."}},
        "required": ["city"],
    },
}
WEATHER_SYSTEM = "You are a travel assistant. Use the tools you are given."
WEATHER_QUESTION = "What's the weather in Paris today?"
WEATHER_REPORT = "18°C and sunny"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    base_url: str
    key: str
    gateway: bool
    scenarios: list[str]


@dataclass(frozen=True, slots=True)
class Plan:
    client: str
    targets: list[Target]
    bad_key: str
    models: dict[str, str]

    def task(self, scenario: str) -> dict[str, str]:
        """The header that names this scenario's requests in the gateway's ledger."""
        return {TASK_HEADER: f"{self.client}/{scenario}"}


Scenario = Callable[[Plan, Target], dict[str, Any] | Awaitable[dict[str, Any]]]


def read_plan() -> Plan:
    raw = json.load(sys.stdin)
    return Plan(
        raw["client"],
        [Target(**t) for t in raw["targets"]],
        raw["bad_key"],
        dict(raw["models"]),
    )


def describe(exc: BaseException) -> dict[str, Any]:
    """An error as data: the first status code and response headers found along its causes."""
    found: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:500], "status": None}
    seen: BaseException | None = exc
    while seen is not None and (found["status"] is None or "should_retry" not in found):
        status = getattr(seen, "status_code", None) or getattr(seen, "status", None)
        if isinstance(status, int) and found["status"] is None:
            found["status"] = status
        response = getattr(seen, "response", None)
        headers = getattr(response, "headers", None)
        if headers is not None and "should_retry" not in found:
            found["should_retry"] = headers.get("x-should-retry")
        seen = seen.__cause__ or seen.__context__
    return found


def run(scenarios: dict[str, Scenario]) -> None:
    """Run the plan's scenarios that `scenarios` expresses (async ones on one event loop, as an
    async application runs them); print the outcomes as JSON."""
    plan = read_plan()
    loop = asyncio.new_event_loop()
    out: dict[str, dict[str, Any]] = {}
    for target in plan.targets:
        results = out.setdefault(target.name, {})
        for name in target.scenarios:
            scenario = scenarios.get(name)
            if scenario is None:
                continue
            started = time.monotonic()
            try:
                found = scenario(plan, target)
                if inspect.isawaitable(found):
                    found = loop.run_until_complete(found)
                outcome = {"ok": True, **found}
            except Exception as exc:  # noqa: BLE001 - the program's boundary: the outcome says what failed
                outcome = {"ok": False, "error": describe(exc)}
            outcome["seconds"] = round(time.monotonic() - started, 3)
            results[name] = outcome
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def usage_dict(usage: Any) -> dict[str, Any]:
    """An SDK usage object (or mapping) as the API's JSON."""
    if usage is None:
        return {}
    if isinstance(usage, dict):
        return usage
    dump = getattr(usage, "model_dump", None)
    return dict(dump(mode="json")) if dump is not None else dict(vars(usage))
