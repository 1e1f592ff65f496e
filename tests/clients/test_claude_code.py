"""Claude Code's CLI from the npm registry, run non-interactively (`claude -p ... --output-format json`)
with telemetry, updates and error reporting off, in a workspace holding notes.txt."""

from __future__ import annotations

import pytest

from .harness import Launcher, Run, Services, client_run, judge
from .matrix import cases

CLIENT = "claude-code"


@pytest.fixture(scope="module")
def run(launched: Launcher) -> Run:
    return client_run(launched, CLIENT)


@pytest.mark.parametrize(("scenario", "target"), cases(CLIENT))
def test_claude_code(scenario: str, target: str, run: Run, services: Services) -> None:
    judge(run, scenario, target, services)
