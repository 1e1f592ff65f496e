"""A scripted Claude Code session replayed through the router, unrouted and under the agent policy.

    .venv/bin/python bench/agent_session.py [--sessions 2]

The session is what Claude Code sends (see docs/claude-code.md): main turns with its tools, a long
cached system prompt and a conversation that grows with every tool result, thinking adaptively at
an effort, streamed, its session id in `metadata.user_id`; between them the side calls it makes
with no tools and a short answer (a title for the session, a safety check of each shell command,
a summary at the end). Each turn's answer comes from the emulator (realistic latency, a fresh
process per run so every run starts with a cold prompt cache) and goes back into the conversation
as Claude Code would send it, tool calls answered with scripted tool results.

Runs, all on the 5.x ladder (simple: Haiku 5.5, moderate: Sonnet 5.5, complex: Opus 5.5):

- unrouted (the baseline): every request on claude-opus-5-5, the model Claude Code asks for;
- agent policy, Claude Code as installed: every request names claude-opus-5-5; the policy sends
  the side calls to Haiku 5.5, the main turns go where they ask;
- agent policy, `ANTHROPIC_MODEL=auto`: main turns classified, each session held on the tier of
  its warm cache; side calls to Haiku 5.5;
- the same with `[agent_traffic] sticky = false`: side calls routed, main turns by price alone;
- `auto` with cache-aware routing alone (no agent policy), for comparison.

Costs are the records' exact figures (answers and classifier); "cache saved" prices each cache
read at the input rate of the model that read it, minus what it was billed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from _common import BENCH_KEY, emulator_process
from claude_router.config import Settings
from claude_router.emulator.config import EmulatorConfig
from claude_router.report.summary import cache_savings, tier_name
from claude_router.routing.router import Router
from claude_router.types import Label, RequestMeta, TokenUsage, UsageRecord

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
LADDER = {Label.SIMPLE: HAIKU, Label.MODERATE: SONNET, Label.COMPLEX: OPUS}
EPHEMERAL = {"type": "ephemeral"}
MAX_STEPS = 4  # tool round trips per prompt, at most

# About 15,000 tokens of instructions, as Claude Code's system prompt is.
_RULES = " ".join(
    f"Rule {i}: read the code before changing it, keep each change small, run the tests after it, "
    f"and report what changed in plain words (guideline {i})."
    for i in range(480)
)
SYSTEM = [
    {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332; cc_entrypoint=cli;"},
    {"type": "text", "text": "You are Claude Code, Anthropic's CLI for coding.", "cache_control": EPHEMERAL},
    {"type": "text", "text": _RULES, "cache_control": EPHEMERAL},
]


def _tool(name: str, what: str, **props: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {k: {"type": "string", "description": v} for k, v in props.items()},
    }
    return {"name": name, "description": what + " " + "Use it with care. " * 60, "input_schema": schema}


TOOLS = [
    _tool("Bash", "Run a shell command in the workspace and return its output.", command="the command"),
    _tool("Read", "Read a file of the workspace.", file_path="the file"),
    _tool("Edit", "Replace text in a file.", file_path="the file", old_string="old", new_string="new"),
    _tool("Write", "Write a file.", file_path="the file", content="its content"),
    _tool("Grep", "Search the workspace for a pattern.", pattern="the pattern"),
    _tool("Glob", "List files matching a pattern.", pattern="the pattern"),
]

# What the user types, and what the tools return (each result grows the conversation).
PROMPTS = [
    "Read the file src/login.py and explain what check_password does.",
    "Run the tests with pytest in the shell and tell me what fails.",
    "Search the code for every call of check_password.",
    "Read the file tests/test_login.py.",
    "Edit src/login.py so that check_password compares digests in constant time.",
    "Run the tests again in the shell.",
    "Thanks, that's all.",
]
_CODE = "\n".join(f"def helper_{i}(value):\n    return hash(value) % {i + 7}\n" for i in range(120))
TOOL_OUTPUT = {
    "Read": _CODE,
    "Bash": "\n".join(f"tests/test_login.py::test_case_{i} PASSED" for i in range(150)) + "\n1 failed",
    "Grep": "\n".join(f"src/module_{i}.py:{i * 3}: check_password(user, secret)" for i in range(60)),
    "Edit": "The file src/login.py has been updated.",
    "Write": "File written.",
    "Glob": "\n".join(f"src/module_{i}.py" for i in range(80)),
}
SIDE_SYSTEMS = {
    "title": "Write a 3-7 word title for this coding session. Reply with the title only.",
    "command": "Check this shell command for command injection. Reply with the command prefix only.",
    "summary": "Summarize this coding session in two sentences for the user who was away.",
}


@dataclass
class Run:
    name: str
    records: list[UsageRecord] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)  # why each request went where it did
    seconds: float = 0.0

    @property
    def cost(self) -> Decimal:
        return sum((r.total_cost_usd for r in self.records), Decimal(0))

    @property
    def cache_saved(self) -> Decimal:
        return sum(
            (
                cache_savings(
                    r.model_used, TokenUsage(cache_read_tokens=r.usage.cache_read_tokens), batch=False
                )
                for r in self.records
            ),
            Decimal(0),
        )

    @property
    def cache_read_share(self) -> float:
        reads = sum(r.usage.cache_read_tokens for r in self.records)
        prompt = sum(r.usage.total_input_tokens for r in self.records)
        return reads / prompt if prompt else 0.0

    @property
    def tiers(self) -> str:
        mix = Counter(tier_name(r.model_used) for r in self.records)
        return " ".join(f"{tier} {mix[tier]}" for tier in ("haiku", "sonnet", "opus", "failed") if mix[tier])


def _with_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with one cache breakpoint on its last block, as Claude Code marks it."""
    out = [dict(m) for m in messages]
    last = out[-1]
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
    blocks[-1] = {**blocks[-1], "cache_control": EPHEMERAL}
    out[-1] = {**last, "content": blocks}
    return out


def _main_turn(model: str, user_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 32_000,
        "system": SYSTEM,
        "tools": TOOLS,
        "messages": _with_breakpoint(messages),
        "metadata": {"user_id": user_id},
        "thinking": {"type": "adaptive", "display": "omitted"},
        "output_config": {"effort": "medium"},
    }


def _side_call(model: str, user_id: str, kind: str, text: str) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 1024,
        "system": SIDE_SYSTEMS[kind],
        "messages": [{"role": "user", "content": text}],
        "metadata": {"user_id": user_id},
    }


async def _send(router: Router, params: dict[str, Any], run: Run, session: str) -> list[dict[str, Any]]:
    """One request; the answer's content blocks as Claude Code sends them back. (Claude Code streams:
    the bill is the same either way.)"""
    routed = await router.create(meta=RequestMeta(session=session), **params)
    run.records.append(routed.record)
    run.reasons[routed.route.reason] += 1
    return [block.model_dump(exclude_none=True) for block in routed.message.content]


async def session(router: Router, run: Run, main_model: str, side_model: str, number: int) -> None:
    session_id = f"5a0c1f2e-0000-4000-8000-{number:012d}"
    user_id = json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": session_id})
    messages: list[dict[str, Any]] = []
    for turn, prompt in enumerate(PROMPTS):
        messages.append({"role": "user", "content": prompt})
        for _ in range(MAX_STEPS):
            content = await _send(router, _main_turn(main_model, user_id, messages), run, session_id)
            messages.append({"role": "assistant", "content": content})
            calls = [b for b in content if b.get("type") == "tool_use"]
            if not calls:
                break
            results = []
            for call in calls:
                if call["name"] == "Bash":  # Claude Code checks a command before it runs it
                    command = json.dumps(call.get("input", {}))
                    await _send(router, _side_call(side_model, user_id, "command", command), run, session_id)
                output = TOOL_OUTPUT.get(call["name"], "done")
                results.append({"type": "tool_result", "tool_use_id": call["id"], "content": output})
            messages.append({"role": "user", "content": results})
        if turn == 0:
            await _send(router, _side_call(side_model, user_id, "title", prompt), run, session_id)
    await _send(router, _side_call(side_model, user_id, "summary", " ".join(PROMPTS)), run, session_id)


async def measure(
    name: str, policy: dict[str, Any], main_model: str, sessions: int, agent: dict[str, Any] | None = None
) -> Run:
    run = Run(name)
    config = EmulatorConfig.realistic()
    with emulator_process(config) as url:
        settings = Settings(
            upstream={
                "base_url": url,
                "api_key": SecretStr(BENCH_KEY),
                "max_retries": 0,
                "fallback_chain": [OPUS, SONNET, HAIKU],
            },
            policy={"label_models": LADDER, **policy},
            agent_traffic=agent or {},
        )  # type: ignore[arg-type]
        started = time.perf_counter()
        async with Router(settings) as router:
            await asyncio.gather(*(session(router, run, main_model, main_model, n) for n in range(sessions)))
        run.seconds = time.perf_counter() - started
    return run


async def main(args: argparse.Namespace) -> int:
    agent = {"agent_traffic": True}
    plans = [
        ("unrouted: every request on Opus 5.5", {}, OPUS, None),
        ("agent policy, Claude Code as installed (names Opus 5.5)", agent, OPUS, None),
        ("agent policy, ANTHROPIC_MODEL=auto", agent, "auto", None),
        ("agent policy, ANTHROPIC_MODEL=auto, sticky = false", agent, "auto", {"sticky": False}),
        ("auto, cache-aware routing alone", {"cache_aware": True}, "auto", None),
    ]
    runs = await asyncio.gather(
        *(measure(name, policy, model, args.sessions, extra) for name, policy, model, extra in plans)
    )
    base = runs[0]
    print(
        f"{args.sessions} scripted Claude Code session(s): {len(PROMPTS)} prompts, tool round trips and side "
        f"calls each, on the emulator with realistic latency and the 5.x ladder"
    )
    print(
        f"{'run':58} {'requests':>8} {'cost':>9} {'x base':>7} {'cache saved':>11} {'read share':>10}  tiers"
    )
    for run in runs:
        print(
            f"{run.name:58} {len(run.records):8} ${run.cost:8.4f} {run.cost / base.cost:6.2f}x "
            f"${run.cache_saved:10.4f} {run.cache_read_share:9.0%}  {run.tiers}"
        )
    for run in runs:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(run.reasons.items()))
        print(f"  {run.name}: {reasons}; {run.seconds:.0f} s")
    for run in runs[1:]:
        saved = base.cost - run.cost
        print(f"{run.name}: saves {saved / base.cost:.0%} of the unrouted session's cost")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=2, help="concurrent sessions per run")
    sys.exit(asyncio.run(main(parser.parse_args())))
