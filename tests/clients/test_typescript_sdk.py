"""The TypeScript SDK (@anthropic-ai/sdk) from the npm registry, as a Node program."""

from __future__ import annotations

import pytest

from .harness import Launcher, Run, Services, client_run, judge
from .matrix import cases

CLIENT = "typescript-sdk"


@pytest.fixture(scope="module")
def run(launched: Launcher) -> Run:
    return client_run(launched, CLIENT)


@pytest.mark.parametrize(("scenario", "target"), cases(CLIENT))
def test_typescript_sdk(scenario: str, target: str, run: Run, services: Services) -> None:
    judge(run, scenario, target, services)
