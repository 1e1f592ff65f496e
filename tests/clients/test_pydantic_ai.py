"""pydantic-ai's Agent on AnthropicModel, from PyPI into the clients' own virtualenv, as a program."""

from __future__ import annotations

import pytest

from .harness import Launcher, Run, Services, client_run, judge
from .matrix import cases

CLIENT = "pydantic-ai"


@pytest.fixture(scope="module")
def run(launched: Launcher) -> Run:
    return client_run(launched, CLIENT)


@pytest.mark.parametrize(("scenario", "target"), cases(CLIENT))
def test_pydantic_ai(scenario: str, target: str, run: Run, services: Services) -> None:
    judge(run, scenario, target, services)
