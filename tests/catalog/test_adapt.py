"""Adaptation: a body made fit for the model it is sent to, each change recorded; and every adapted
body passes the emulator's own request rules for its model (which refuse the unadapted ones)."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from claude_router.catalog.adapt import Adapter, adapt
from claude_router.catalog.models import Catalogue
from claude_router.emulator.errors import EmulatorError
from claude_router.emulator.rules import Context, check

CATALOGUE = Catalogue.default()
NEW, OLD = "2026-10-21", "2023-06-01"
ROOM = CATALOGUE.thinking_room
USER = [{"role": "user", "content": "Summarise the report."}]


def sent(model: str, version: str = NEW, betas: frozenset[str] = frozenset(), **body: Any) -> Any:
    params = {"max_tokens": 8192, "messages": USER, **body}
    return adapt(params, CATALOGUE.resolve(model), version=version, betas=betas, room=ROOM)


def effort(body: dict[str, Any]) -> str | None:
    return (body.get("output_config") or {}).get("effort")


# ---- each rule --------------------------------------------------------------------------------


def test_sampling_is_dropped_under_2026_10_21_and_where_the_model_refuses_it() -> None:
    assert sent("claude-sonnet-4-6", NEW, temperature=0.2, top_k=5).changes == ("sampling:dropped",)
    kept = sent("claude-sonnet-4-6", OLD, temperature=0.2)
    assert (kept.body["temperature"], kept.changes) == (0.2, ())
    dropped = sent("claude-haiku-5-5", OLD, temperature=0.2, top_p=0.9)
    assert ("temperature" in dropped.body, "top_p" in dropped.body) == (False, False)


def test_budgeted_thinking_becomes_adaptive_with_the_effort_its_budget_buys() -> None:
    out = sent("claude-haiku-5-5", thinking={"type": "enabled", "budget_tokens": 2000})
    assert out.body["thinking"] == {"type": "adaptive"}
    assert effort(out.body) == "medium"  # 2,000 tokens: more than low's room, within medium's
    assert out.changes == ("thinking:enabled>adaptive", "effort:medium")


def test_adaptive_thinking_becomes_a_budget_where_only_budgets_are_taken() -> None:
    thinking = {"type": "adaptive", "display": "summarized"}
    out = sent("claude-haiku-4-5", thinking=thinking, output_config={"effort": "high"})
    assert out.body["thinking"] == {"type": "enabled", "budget_tokens": ROOM["high"], "display": "summarized"}
    assert "output_config" not in out.body  # Haiku 4.5 has no effort parameter
    assert out.changes == ("thinking:adaptive>enabled", "effort:dropped")
    tight = sent("claude-haiku-4-5", thinking={"type": "adaptive"}, max_tokens=1000)
    assert "thinking" not in tight.body  # no budget of at least 1,024 fits under max_tokens


def test_disabled_thinking_follows_each_models_rule() -> None:
    sonnet = sent("claude-sonnet-5-5", thinking={"type": "disabled"})
    assert (sonnet.body["thinking"], sonnet.changes) == (
        {"type": "between_tools"},
        ("thinking:disabled>between_tools",),
    )
    opus = sent("claude-opus-5-5", thinking={"type": "disabled"})
    assert ("thinking" in opus.body, opus.changes) == (False, ("thinking:disabled>removed",))
    haiku = sent("claude-haiku-5-5", thinking={"type": "disabled"}, output_config={"effort": "max"})
    assert (haiku.body["thinking"], effort(haiku.body)) == ({"type": "disabled"}, "high")
    back = sent("claude-haiku-4-5", thinking={"type": "between_tools"})
    assert back.body["thinking"] == {"type": "disabled"}


def test_effort_is_clamped_to_the_models_levels_or_dropped() -> None:
    assert effort(sent("claude-sonnet-4-6", output_config={"effort": "xhigh"}).body) == "high"
    out = sent(
        "claude-opus-4-5", output_config={"effort": "low", "format": {"type": "json_schema", "schema": {}}}
    )
    assert out.body["output_config"] == {"format": {"type": "json_schema", "schema": {}}}


def test_forced_tool_choice_becomes_auto_where_refused_or_thinking_is_on() -> None:
    choice = {"type": "tool", "name": "lookup", "disable_parallel_tool_use": True}
    assert sent("claude-opus-5-5", tool_choice=choice).body["tool_choice"] == {
        "type": "auto",
        "disable_parallel_tool_use": True,
    }
    assert sent("claude-haiku-5-5", tool_choice=choice).body["tool_choice"] == choice
    thinking = sent("claude-haiku-5-5", tool_choice=choice, thinking={"type": "adaptive"})
    assert thinking.changes == ("tool_choice:auto",)


def test_max_tokens_is_clamped_to_the_models_ceiling() -> None:
    out = sent("claude-haiku-4-5", max_tokens=100_000)
    assert (out.body["max_tokens"], out.changes) == (64_000, ("max_tokens:64000",))


def test_system_turns_are_folded_into_system_where_refused() -> None:
    messages = [
        {"role": "user", "content": "Hello"},
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Bye"},
    ]
    old = sent("claude-haiku-4-5", system="Be brief.", messages=messages)
    assert old.body["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Answer in French."},
    ]
    assert [m["role"] for m in old.body["messages"]] == ["user", "user"]
    new = sent("claude-opus-5-5", messages=messages)
    assert (new.body["messages"], new.changes) == (messages, ())  # Opus 4.8 and later take them


def test_fields_a_model_does_not_take_are_dropped() -> None:
    out = sent("claude-haiku-4-5", context_management={"edits": []}, inference_geo="us", speed="fast")
    assert out.changes == ("context_management:dropped", "inference_geo:dropped", "speed:dropped")
    assert sent("claude-opus-5-5", speed="fast", inference_geo="us").changes == ()
    beta = "fast-mode-2026-02-01"
    assert sent("claude-opus-4-8", speed="fast").changes == ("speed:dropped",)
    assert sent("claude-opus-4-8", betas=frozenset({beta}), speed="fast").changes == ()


def test_a_small_max_tokens_turns_default_thinking_down_or_off() -> None:
    haiku = sent("claude-haiku-5-5", max_tokens=512)
    assert (haiku.body["thinking"], haiku.changes) == (
        {"type": "disabled"},
        ("thinking:disabled(max_tokens)",),
    )
    sonnet = sent("claude-sonnet-5-5", max_tokens=512)
    assert sonnet.body["thinking"] == {"type": "between_tools"}
    opus = sent("claude-opus-5-5", max_tokens=2000)  # always thinks: its default medium lowered
    assert (effort(opus.body), opus.changes) == ("low", ("effort:medium>low(max_tokens)",))
    asked = sent("claude-haiku-5-5", max_tokens=512, thinking={"type": "adaptive"})
    assert asked.changes == ()  # thinking the caller asked for is theirs
    assert sent("claude-haiku-5-5", max_tokens=4096).changes == ()


def test_the_version_and_betas_come_from_the_requests_own_headers() -> None:
    adapter = Adapter(CATALOGUE, version=NEW)
    body = {"max_tokens": 64, "messages": USER, "temperature": 0.5}
    assert adapter.body_for(body, "claude-sonnet-4-6").changes == ("sampling:dropped",)
    older = {**body, "extra_headers": {"anthropic-version": OLD}}
    assert adapter.body_for(older, "claude-sonnet-4-6").changes == ()
    unknown = adapter.body_for(body, "claude-imaginary-9")
    assert (unknown.body, unknown.changes) == (body, ())


# ---- against the emulator's rules ---------------------------------------------------------------

TOOLS = [{"name": "lookup", "description": "Look up.", "input_schema": {"type": "object"}}]
BODIES: list[dict[str, Any]] = [
    {"temperature": 0.7, "top_p": 0.9},
    {"thinking": {"type": "enabled", "budget_tokens": 4000}},
    {"thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}},
    {"thinking": {"type": "disabled"}, "output_config": {"effort": "max"}},
    {"thinking": {"type": "between_tools"}},
    {"tools": TOOLS, "tool_choice": {"type": "any"}},
    {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "lookup"}, "thinking": {"type": "adaptive"}},
    {"max_tokens": 300_000},
    {
        "messages": [
            *USER,
            {"role": "assistant", "content": "Sure."},
            {"role": "system", "content": "Be terse."},
            *USER,
        ]
    },
    {"messages": [{"role": "system", "content": "Be terse."}, *USER]},
    {"context_management": {"edits": []}, "inference_geo": "us", "speed": "fast"},
    {"max_tokens": 100, "output_config": {"effort": "max"}},
]
SERVED = [spec.id for spec in CATALOGUE if spec.lifecycle(date(2026, 12, 7)) != "retired"]


@pytest.mark.parametrize(("model", "version"), list(itertools.product(SERVED, (NEW, OLD))))
def test_every_adapted_body_passes_its_models_rules(model: str, version: str) -> None:
    spec = CATALOGUE.resolve(model)
    refused_as_written = 0
    for extra in BODIES:
        params = {"max_tokens": 8192, "messages": USER, **extra}
        try:
            check(params, spec, Context(version=version))
        except EmulatorError:
            refused_as_written += 1
        out = adapt(params, spec, version=version, room=ROOM)
        check(out.body, spec, Context(version=version))  # raises the API's 400 if still refused
        assert bool(out.changes) or out.body == params
    assert refused_as_written > 0  # every model refuses some of these as written
