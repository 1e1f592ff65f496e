"""`examples/agent_loop.py`: each step of a tool-using loop routed and accounted on its own."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import SecretStr

from claude_router.catalog.pricing import PriceTable
from claude_router.config import HAIKU, OPUS, SONNET, ClassifierSettings, Settings, UpstreamSettings
from claude_router.emulator.server import running_emulator
from claude_router.types import ClassifierSource, Label

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "agent_loop.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agent_loop_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def settings() -> AsyncIterator[Settings]:
    async with running_emulator() as url:
        upstream = UpstreamSettings(api_key=SecretStr("sk-ant-test-agent"), base_url=url)
        yield Settings(upstream=upstream, classifier=ClassifierSettings(kind="llm"))


async def test_later_steps_stay_with_the_thinking_of_the_planner_by_default(
    example: ModuleType, settings: Settings
) -> None:
    steps = await example.run_agent(settings)
    assert [s.routed.model_used for s in steps] == [SONNET, SONNET, OPUS, OPUS]
    assert [s.routed.route.reason for s in steps][1::2] == [
        f"thinking_history:{SONNET}",
        f"thinking_history:{OPUS}",
    ]


async def test_each_step_is_routed_on_its_own(example: ModuleType, settings: Settings) -> None:
    steps = await example.run_agent(example.per_step(settings))
    by_ticket = [[s for s in steps if s.ticket == t.id] for t in example.TICKETS]
    for ticket_steps in by_ticket:
        planning, *rest = ticket_steps
        assert planning.stop_reason == "tool_use"  # the loop ran a tool, then asked again
        assert rest
        assert rest[-1].stop_reason == "end_turn"
        for later in rest:  # turning a tool's result into words routes below the planning step
            assert later.routed.label.rank < planning.routed.label.rank
    assert [s.routed.label for s in steps] == [Label.MODERATE, Label.SIMPLE, Label.COMPLEX, Label.SIMPLE]
    assert [s.routed.model_used for s in steps] == [SONNET, HAIKU, OPUS, HAIKU]


async def test_each_step_is_accounted(example: ModuleType, settings: Settings) -> None:
    steps = await example.run_agent(settings)
    prices = PriceTable.default()
    records = [s.routed.record for s in steps]
    assert len({r.request_id for r in records}) == len(steps)
    assert [r.task_id for r in records] == [f"{s.ticket}/{s.number}" for s in steps]
    for step, record in zip(steps, records, strict=True):
        message = step.routed.message
        assert record.ok
        assert record.cost_usd == prices.cost(record.model_used, message.usage) > 0
        assert record.classifier_source is ClassifierSource.LLM
        assert record.classifier_cost_usd > 0
        # No max_tokens was given: each step got its label's ceiling.
        assert record.label is not None
        assert step.routed.route.max_tokens == settings.policy.max_tokens[record.label]
        assert message.usage.output_tokens <= step.routed.route.max_tokens
    total = sum((s.routed.cost_usd for s in steps), Decimal(0))
    assert f"{len(steps)} steps: ${total:.6f} routed" in example.report(steps)


@pytest.mark.slow
async def test_the_example_runs_as_a_script_on_the_emulator() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_")) or k == "CLAUDE_ROUTER_HOME"
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=50)
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "(emulator)" in text
    for model in (SONNET, HAIKU, OPUS):
        assert model in text
    assert "4 steps: $" in text
    assert "all on Opus" in text
