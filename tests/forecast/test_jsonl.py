"""Forecasting requests never sent: token estimates, skipped lines, quality labels and the oracle."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic

from claude_router.classify.local import LocalClassifier
from claude_router.config import Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator
from claude_router.forecast import candidate_policies, read_jsonl, read_lines, replay
from claude_router.forecast.jsonl_source import output_estimates
from claude_router.pricing import PriceTable, Tier
from claude_router.types import Label

PRICES = PriceTable.default()
SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender.'"
COMPLEX = (
    "Analyse this contract clause and state which party carries more of the risk, whether the "
    "indemnification scope is unusual, and whether the limitation of liability is market-standard: "
    "'The Supplier shall indemnify the Customer against all losses arising from any breach.'"
)


def body(text: str, **extra: object) -> dict[str, object]:
    return {"model": "auto", "max_tokens": 2000, "messages": [{"role": "user", "content": text}], **extra}


async def test_prompt_estimates_match_the_emulators_count_tokens() -> None:
    bodies = [
        body(SIMPLE),
        body(COMPLEX, system="You are a careful lawyer."),
        body(
            "Look this up", tools=[{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}]
        ),
    ]
    workload = read_lines((json.dumps(b) for b in bodies), LocalClassifier.from_file(), PRICES, source="t")
    async with running_emulator(EmulatorConfig()) as url:
        client = anthropic.AsyncAnthropic(base_url=url, api_key="test-key")
        counted = 0
        for b in bodies:
            params = {**b, "model": "claude-haiku-4-5"}
            params.pop("max_tokens")
            counted += (await client.messages.count_tokens(**params)).input_tokens  # type: ignore[arg-type]
        await client.close()
    assert sum(c.usage.input_tokens for c in workload.cohorts.values()) == counted


def test_malformed_lines_are_reported_by_number_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    lines = [
        json.dumps(body(SIMPLE)),
        "{not json",
        json.dumps({"messages": []}),
        "",
        json.dumps(["a list"]),
        json.dumps({"params": body(COMPLEX), "quality_label": "complex", "tags": ["x"]}),
        json.dumps({"params": body(SIMPLE), "label": "enormous"}),
        json.dumps({"messages": [{"role": "user"}]}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    workload = read_jsonl(path, LocalClassifier.from_file(), PRICES)
    assert workload.requests == 2
    assert workload.skipped == 5
    numbers = [p.split(":")[0] for p in workload.problems]
    assert numbers == ["line 2", "line 3", "line 5", "line 7", "line 8"]
    assert "not JSON" in workload.problems[0]


def test_the_oracle_routes_by_quality_label_and_risk_counts_requests_below_it() -> None:
    # The classifier labels both simple; the quality labels say one of them needs Opus.
    lines = [
        json.dumps({"params": body(SIMPLE, max_tokens=10), "quality_label": "simple"}),
        json.dumps({"params": body(SIMPLE + " Please.", max_tokens=10), "quality_label": "complex"}),
        json.dumps({"params": body(SIMPLE + " Thanks.", max_tokens=10), "quality_label": "moderate"}),
    ]
    classifier = LocalClassifier.from_file()
    workload = read_lines(lines, classifier, PRICES, source="t")
    assert workload.has_quality_labels
    policies = candidate_policies(Settings(), [], PRICES)
    result = {r.name: r for r in replay(workload, policies, PRICES).policies}
    assert "recorded" not in result  # nothing was ever sent
    oracle = result["oracle"]
    assert [oracle.tier_requests[t] for t in (Tier.HAIKU, Tier.SONNET, Tier.OPUS)] == [1, 1, 1]
    assert oracle.at_risk == 0
    assert result["all-haiku"].at_risk == 2
    assert result["all-sonnet"].at_risk == 1
    labels = {c.key.label for c in workload.cohorts.values()}
    if labels == {Label.SIMPLE}:  # the classifier's view: everything on Haiku, two of three at risk
        assert result["current"].at_risk == 2
    # Output estimates are the label's typical length, capped by max_tokens.
    assert all(
        c.usage.output_tokens == min(10, output_estimates()[Label.SIMPLE]) * c.requests
        for c in workload.cohorts.values()
        if c.key.label is Label.SIMPLE
    )
