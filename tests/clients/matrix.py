"""Which scenario each client runs on which target, and the gateway cases expected to fail today.

Every cell is one of: run and pass; run and fail for a stated reason (`pytest.mark.xfail(strict=True)`:
the day the gateway passes it, the suite fails until the mark is removed); or not applicable, with
the reason (no test is made). `docs/real-clients.md` shows the whole matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .scenarios import EMULATOR, KEYED, OPEN, TARGETS

CLIENTS = ("python-sdk", "typescript-sdk", "langchain", "pydantic-ai", "claude-code")
SDK_SCENARIOS = (
    "plain",
    "stream",
    "tools",
    "thinking_adaptive",
    "thinking_budget",
    "effort",
    "betas",
    "count_tokens",
    "models",
    "batches",
    "auth_x_api_key",
    "bad_key",
    "auto",
)
CLAUDE_CODE_SCENARIOS = ("hello", "shell", "read_file", "auth_bearer", "bad_key", "auto", "session")

# ---- what a client cannot express ----------------------------------------------------------------

NOT_EXPRESSED: dict[tuple[str, str], str] = {
    ("langchain", "models"): "ChatAnthropic has no model listing",
    ("langchain", "batches"): "LangChain has no Message Batches API",
    ("pydantic-ai", "models"): "pydantic-ai has no model listing",
}

# ---- what a target cannot serve ------------------------------------------------------------------

NOT_SERVED: dict[tuple[str, str], str] = {
    ("auto", EMULATOR): "`auto` is the gateway's name; the emulator serves model ids",
    ("bad_key", OPEN): "--no-auth accepts any key",
}

# ---- the gateway today: cases expected to fail, and why ------------------------------------------

SDK_CLIENTS = ("python-sdk", "typescript-sdk", "langchain", "pydantic-ai")
GATEWAYS = (KEYED, OPEN)
#: (reason, clients, scenarios, targets): each combination is expected to fail today, for that reason.
GAPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = ()


def gap(client: str, scenario: str, target: str) -> str:
    """Why this case is expected to fail today; empty when it is expected to pass."""
    return next((why for why, cs, ss, ts in GAPS if client in cs and scenario in ss and target in ts), "")


@dataclass(frozen=True, slots=True)
class Cell:
    client: str
    scenario: str
    target: str
    runs: bool
    reason: str = ""  # why it is not run, or why it is expected to fail

    @property
    def expected_to_fail(self) -> bool:
        return self.runs and bool(self.reason)


def scenarios(client: str) -> tuple[str, ...]:
    return CLAUDE_CODE_SCENARIOS if client == "claude-code" else SDK_SCENARIOS


def cell(client: str, scenario: str, target: str) -> Cell:
    reason = NOT_EXPRESSED.get((client, scenario)) or NOT_SERVED.get((scenario, target))
    if reason:
        return Cell(client, scenario, target, runs=False, reason=reason)
    return Cell(client, scenario, target, runs=True, reason=gap(client, scenario, target))


def cells(client: str) -> list[Cell]:
    return [cell(client, s, t) for s in scenarios(client) for t in TARGETS]


def planned(client: str, target: str) -> list[str]:
    """The scenarios a client program runs against a target."""
    return [c.scenario for c in cells(client) if c.target == target and c.runs]


def cases(client: str) -> list[object]:
    """pytest parameters (scenario, target) for a client's test, the expected failures marked."""
    params = []
    for found in cells(client):
        if not found.runs:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=found.reason)] if found.expected_to_fail else []
        params.append(
            pytest.param(found.scenario, found.target, marks=marks, id=f"{found.scenario}-{found.target}")
        )
    return params
