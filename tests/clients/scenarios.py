"""The scenarios every real client runs, what each must get back, and what the ledger must say.

A client program (see `python/common.py`) reports one outcome per target and scenario; `check`
judges it: the answer the client got, and, through a gateway, the ledger rows its requests left
(one per request: status, model, tokens, cost) and, where the client's requests can be told apart
(Claude Code's session id), what reached the upstream.

The matrix of which scenario runs where, and which gateway cases are expected to fail today (and
why), is `matrix.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from claude_router.catalog.pricing import PriceTable
from claude_router.emulator import EmulatorConfig, Engine
from claude_router.types import TokenUsage, UsageRecord

from .servers import CUSTOMER, Seen

EMULATOR, KEYED, OPEN = "emulator", "gateway-key", "gateway-no-key"
TARGETS = (EMULATOR, KEYED, OPEN)

#: The models the SDK-style scenarios ask for, each chosen for what it takes.
MODELS = {
    "plain": "claude-haiku-4-5",  # no thinking by default: a plain answer
    "adaptive": "claude-sonnet-5-5",  # adaptive thinking, summarized on request
    "budget": "claude-haiku-4-5",  # thinking with budget_tokens
    "effort": "claude-opus-5-5",  # output_config.effort
    "fast": "claude-opus-4-8",  # speed "fast" needs the beta fast-mode-2026-02-01
    "count": "claude-sonnet-5-5",
}
WEATHER_REPORT = "18°C and sunny"  # what the clients' get_weather tool answers (python/common.py)
WEATHER_SYSTEM = "You are a travel assistant. Use the tools you are given."
WHY = "Explain why the sky is blue in two sentences."
NOTES = "remember the milk"  # notes.txt in Claude Code's workspace
FAST_BETA = "fast-mode-2026-02-01"


@dataclass
class Context:
    """What one check looks at besides the outcome."""

    client: str
    scenario: str
    target: str
    ledger: list[UsageRecord] = field(default_factory=list)  # the gateway's whole ledger, oldest first
    upstream: list[Seen] = field(default_factory=list)  # every /v1/messages request upstream saw

    @property
    def gateway(self) -> bool:
        return self.target != EMULATOR

    @property
    def rows(self) -> list[UsageRecord]:
        """The rows of this scenario's requests: each client names them with x-router-task-id."""
        task = f"{self.client}/{self.scenario}"
        return [r for r in self.ledger if r.task_id == task]


Check = Callable[[dict[str, Any], Context], None]


def check(outcome: dict[str, Any] | None, ctx: Context) -> None:
    assert outcome is not None, f"{ctx.client} reported no outcome for {ctx.scenario} on {ctx.target}"
    CHECKS[ctx.client if ctx.client == "claude-code" else "sdk"][ctx.scenario](outcome, ctx)


# ---- the answer ---------------------------------------------------------------------------------


def succeeded(outcome: dict[str, Any]) -> None:
    assert outcome.get("ok"), f"the request failed: {outcome.get('error')}"


def answered(message: dict[str, Any], model: str, stop: str = "end_turn") -> None:
    assert message["model"].startswith(model), message["model"]
    assert message["stop_reason"] == stop
    assert message["usage"]["output_tokens"] > 0
    if stop == "end_turn":
        assert message["text"].strip()


def speed(message: dict[str, Any]) -> str | None:
    return message.get("speed") or message["usage"].get("speed")


# ---- the ledger ---------------------------------------------------------------------------------

PRICES = PriceTable.default()


def ledger(
    ctx: Context,
    messages: list[dict[str, Any]],
    *,
    requested: str,
    rows: list[UsageRecord] | None = None,
    batch: bool = False,
) -> None:
    """Through a gateway: one row per answered request, in order, with its model, tokens and cost."""
    if not ctx.gateway:
        return
    rows = ctx.rows if rows is None else rows
    assert len(rows) == len(messages), f"{len(rows)} ledger rows for {len(messages)} requests"
    for row, message in zip(rows, messages, strict=True):
        assert row.status == "ok"
        assert row.batch is batch
        assert row.model_requested is not None
        assert row.model_requested.startswith(requested)  # a batch row names the snapshot that answered
        assert message["model"].startswith(row.model_used) or row.model_used.startswith(message["model"])
        assert _tokens(row.usage) == _tokens(TokenUsage.from_api(message["usage"]))
        priced = PRICES.cost(row.model_used, row.usage, batch=batch)
        assert row.cost_usd == priced > 0, (row.cost_usd, priced)
        assert row.customer == (CUSTOMER if ctx.target == KEYED else None)
        assert (row.key_id is not None) is (ctx.target == KEYED)


def no_ledger_rows(ctx: Context) -> None:
    assert ctx.rows == [], f"nothing billable was asked, yet the ledger holds {len(ctx.rows)} rows"


def refusal_rows(ctx: Context, attempts: int | None = None) -> None:
    """A gateway keeps one row, without cost, for each attempt it refused (none on the emulator)."""
    if not ctx.gateway:
        no_ledger_rows(ctx)
        return
    assert ctx.rows, "the gateway kept no row of the refused attempt"
    assert attempts is None or len(ctx.rows) == attempts, f"{len(ctx.rows)} rows for {attempts} attempts"
    assert {(r.status, r.total_cost_usd) for r in ctx.rows} == {("authentication_error", 0)}


def _tokens(usage: TokenUsage) -> tuple[int, int, int]:
    """Input (uncached and cached alike), output, and cache reads: what every client can report."""
    return (usage.total_input_tokens, usage.output_tokens, usage.cache_read_tokens)


# ---- the SDK-style scenarios (Python SDK, TypeScript SDK, LangChain, pydantic-ai) ----------------


def sent(ctx: Context) -> set[str]:
    """The auth headers the client's requests carried, as the emulator received them (a gateway
    does not pass the client's headers on)."""
    task = f"{ctx.client}/{ctx.scenario}"
    seen = [s for s in ctx.upstream if s.headers.get("x-router-task-id") == task]
    assert seen, f"no request of {task} reached the emulator"
    return {h for s in seen for h in ("authorization", "x-api-key") if h in s.headers}


def plain(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    answered(outcome, MODELS["plain"])
    if not ctx.gateway:
        assert sent(ctx) == {"authorization"}  # today's SDKs send the key as a Bearer token
    ledger(ctx, [outcome], requested=MODELS["plain"])


def stream(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    answered(outcome, MODELS["plain"])
    assert outcome["deltas"] >= 2, "the text came in one piece: not streamed"
    ledger(ctx, [outcome], requested=MODELS["plain"])
    if ctx.gateway:
        assert ctx.rows[0].ttft_s is not None


def tools(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    first = outcome["first"]
    answered(first, MODELS["plain"], stop="tool_use")
    assert first["calls"] == [{"name": "get_weather", "input": {"city": "Paris"}}]
    assert "final" in outcome, "the tool was never answered"
    final = outcome["final"]
    answered(final, MODELS["plain"])
    assert final["calls"] == []
    assert WEATHER_REPORT in final["text"]
    ledger(ctx, [first, final], requested=MODELS["plain"])


def thinking_adaptive(outcome: dict[str, Any], ctx: Context) -> None:
    thought(outcome, ctx, MODELS["adaptive"])


def thinking_budget(outcome: dict[str, Any], ctx: Context) -> None:
    thought(outcome, ctx, MODELS["budget"])


def thought(outcome: dict[str, Any], ctx: Context, model: str) -> None:
    succeeded(outcome)
    answered(outcome, model)
    assert outcome["blocks"][0] == "thinking"
    assert outcome["thinking"].strip(), "display: summarized shows the thinking"
    ledger(ctx, [outcome], requested=model)


def effort(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    low, high = outcome["low"], outcome["high"]
    answered(low, MODELS["effort"])
    answered(high, MODELS["effort"])
    assert low["usage"]["output_tokens"] < high["usage"]["output_tokens"], "more effort thinks longer"
    ledger(ctx, [low, high], requested=MODELS["effort"])


def betas(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    answered(outcome, MODELS["fast"])
    if speed(outcome) is not None:
        assert speed(outcome) == "fast"
    if ctx.gateway:  # fast mode is billed at its own rates
        (row,) = ctx.rows
        assert row.status == "ok"
        assert row.model_requested == MODELS["fast"]
        # The API reported fast speed (its beta went upstream), and it is priced at fast rates.
        assert row.usage.speed == "fast"
        standard = PRICES.cost(row.model_used, replace(row.usage, speed="standard"))
        assert row.cost_usd == PRICES.cost(row.model_used, row.usage) > standard


def count_tokens(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    body = {
        "model": MODELS["count"],
        "system": WEATHER_SYSTEM,
        "messages": [{"role": "user", "content": WHY}],
    }
    assert outcome["input_tokens"] == Engine(EmulatorConfig()).count_tokens(body)["input_tokens"]
    no_ledger_rows(ctx)


def models(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert len(outcome["first_page"]) == 3, "limit=3 gives a page of three"
    assert outcome["has_more"] is True
    ids = outcome["ids"]
    assert outcome["pages"] >= 2
    assert len(ids) == len(set(ids)), "a model listed on two pages"
    assert "claude-opus-5-5" in ids
    if ctx.gateway:
        assert "auto" in ids
    no_ledger_rows(ctx)


def batches(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert outcome["status"] == "ended"
    results = outcome["results"]
    assert [r["type"] for r in results] == ["succeeded", "succeeded"]
    for result in results:
        answered(result, MODELS["plain"])
    # Batch rows are kept when the results are fetched, each named after its batch and custom id.
    rows = [r for r in ctx.ledger if r.request_id.startswith(f"batch:{outcome['id']}:")]
    ledger(
        ctx,
        sorted(results, key=lambda r: r["custom_id"]),
        requested=MODELS["plain"],
        rows=sorted(rows, key=lambda r: r.request_id),
        batch=True,
    )


def auth_x_api_key(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    answered(outcome, MODELS["plain"])
    if not ctx.gateway:  # LangChain sends a placeholder Bearer token beside it: x-api-key wins
        assert "x-api-key" in sent(ctx)
        assert ctx.client == "langchain" or sent(ctx) == {"x-api-key"}
    ledger(ctx, [outcome], requested=MODELS["plain"])


def bad_key(outcome: dict[str, Any], ctx: Context) -> None:
    assert not outcome.get("ok"), "a key the server does not know was accepted"
    error = outcome["error"]
    assert error["status"] == 401
    if not ctx.gateway:  # one attempt: the 401's x-should-retry: false stopped the SDK's retries
        task = f"{ctx.client}/{ctx.scenario}"
        tries = [s for s in ctx.upstream if s.headers.get("x-router-task-id") == task]
        assert len(tries) == 1, f"the refused key was sent {len(tries)} times"
    if "should_retry" in error:  # the clients that expose the response's headers
        assert error["should_retry"] == "false"
    refusal_rows(ctx, attempts=1)


def auto(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert outcome["model"].startswith("claude-"), outcome["model"]
    assert outcome["stop_reason"] == "end_turn"
    assert outcome["text"].strip()
    if outcome.get("router_model"):
        assert outcome["model"].startswith(outcome["router_model"])
    (row,) = ctx.rows
    assert row.status == "ok"
    assert row.model_requested == "auto"
    assert row.label is not None
    assert outcome["model"].startswith(row.model_used)
    assert _tokens(row.usage) == _tokens(TokenUsage.from_api(outcome["usage"]))
    assert row.cost_usd == PRICES.cost(row.model_used, row.usage) > 0


# ---- Claude Code ----------------------------------------------------------------------------------


def session(ctx: Context, outcome: dict[str, Any]) -> list[Seen]:
    """The requests upstream saw for this run (Claude Code names its session in metadata.user_id)."""
    wanted = outcome.get("session_id")
    found = []
    for seen in ctx.upstream:
        user_id = ((seen.body or {}).get("metadata") or {}).get("user_id") or "{}"
        try:
            if json.loads(user_id).get("session_id") == wanted:
                found.append(seen)
        except ValueError:
            continue
    return found


def as_sent(ctx: Context, outcome: dict[str, Any], turns: int, *, known_model: bool = True) -> list[Seen]:
    """Each turn reached the upstream once, as Claude Code sends it: `?beta=true`, its API version and
    betas (per-turn control among them), its system turn, streamed, thinking adaptively at an effort."""
    seen = session(ctx, outcome)
    assert len(seen) == turns, f"{len(seen)} upstream requests for {turns} turns (a refused request retried?)"
    for request in seen:
        body = request.body
        assert request.path == "/v1/messages?beta=true"
        assert request.headers.get("anthropic-version") == "2023-06-01"
        betas = request.headers.get("anthropic-beta", "").split(",")
        assert "claude-code-20250219" in betas
        assert ("per-turn-control-2026-07-01" in betas) is known_model
        assert any(m["role"] == "system" for m in body["messages"]), "the system turn was folded away"
        assert body["stream"] is True
        assert body["thinking"]["type"] == "adaptive"
        assert body["output_config"]["effort"]
    return seen


def claude_ledger(ctx: Context, outcome: dict[str, Any], turns: int, *, requested: str) -> None:
    if not ctx.gateway:
        return
    assert len(ctx.rows) == turns, f"{len(ctx.rows)} ledger rows for {turns} turns"
    for row in ctx.rows:
        assert row.status == "ok"
        assert row.model_requested == requested
        assert row.cost_usd == PRICES.cost(row.model_used, row.usage) > 0
        assert row.customer == (CUSTOMER if ctx.target == KEYED else None)
    assert {row.session for row in ctx.rows} == {outcome["session_id"]}
    usage = outcome["usage"]  # the CLI's total over the turns
    assert sum(r.usage.output_tokens for r in ctx.rows) == usage["output_tokens"]
    assert sum(r.usage.cache_read_tokens for r in ctx.rows) == usage["cache_read_input_tokens"]


def cc_hello(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert outcome["result"].startswith("Hello")
    assert outcome["num_turns"] == 1
    assert outcome["subagents"] == 0
    (request,) = as_sent(ctx, outcome, 1)
    if not ctx.gateway:
        assert request.headers.get("x-api-key")
    claude_ledger(ctx, outcome, 1, requested="claude-opus-5-5")


def cc_shell(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert outcome["num_turns"] == 2
    assert outcome["result"] == "The command `echo hi` printed:\n\n```\nhi\n```"
    _, second = as_sent(ctx, outcome, 2)
    results = [b for b in second.body["messages"][-1]["content"] if b.get("type") == "tool_result"]
    assert len(results) == 1
    assert "hi" in json.dumps(results[0].get("content"))
    claude_ledger(ctx, outcome, 2, requested="claude-opus-5-5")


def cc_read_file(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert outcome["num_turns"] == 2
    assert NOTES in outcome["result"]
    as_sent(ctx, outcome, 2)
    claude_ledger(ctx, outcome, 2, requested="claude-opus-5-5")


def cc_auth_bearer(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert outcome["result"].startswith("Hello")
    (request,) = as_sent(ctx, outcome, 1)
    if not ctx.gateway:
        assert request.headers.get("authorization", "").startswith("Bearer ")
        assert "x-api-key" not in request.headers
    claude_ledger(ctx, outcome, 1, requested="claude-opus-5-5")


def cc_bad_key(outcome: dict[str, Any], ctx: Context) -> None:
    assert outcome.get("signal") is None, f"still retrying after {outcome['seconds']} s: stopped"
    assert outcome["is_error"] is True, outcome.get("result")
    assert outcome["api_error_status"] == 401
    if not ctx.gateway:  # one attempt: the 401's x-should-retry: false stopped Claude Code's retries
        tries = session(ctx, outcome)
        assert len(tries) == 1, f"the refused key was sent {len(tries)} times"
    refusal_rows(ctx)


def cc_auto(outcome: dict[str, Any], ctx: Context) -> None:
    succeeded(outcome)
    assert outcome["result"].startswith("Hello")
    assert outcome["num_turns"] == 1
    # Claude Code adds a model's own betas (per-turn control) only for a model id it knows
    (request,) = as_sent(ctx, outcome, 1, known_model=False)
    assert request.body["model"] != "auto", "the gateway sent a concrete model upstream"
    claude_ledger(ctx, outcome, 1, requested="auto")
    assert ctx.rows[0].label is not None


def cc_session(outcome: dict[str, Any], ctx: Context) -> None:
    """Every request of the run names its session, and through a gateway every ledger row of the run
    (a refused request Claude Code retried among them) carries it: `report --by session` sums them."""
    succeeded(outcome)
    assert NOTES in outcome["result"]
    wanted = outcome["session_id"]
    seen = session(ctx, outcome)
    assert seen, "no request of the run reached the upstream"
    if not ctx.gateway:
        assert {s.headers.get("x-claude-code-session-id") for s in seen} == {wanted}
        return
    assert ctx.rows, "the run left no ledger rows"
    assert {row.session for row in ctx.rows} == {wanted}
    assert any(row.status == "ok" for row in ctx.rows)
    of_session = [r for r in ctx.ledger if r.session == wanted]
    assert {r.request_id for r in ctx.rows} <= {r.request_id for r in of_session}
    # beyond the run's own rows, only the gateway's refusals (which carry no task id) name it
    assert all(r.status != "ok" and r.task_id is None for r in of_session if r not in ctx.rows)


CHECKS: dict[str, dict[str, Check]] = {
    "sdk": {
        "plain": plain,
        "stream": stream,
        "tools": tools,
        "thinking_adaptive": thinking_adaptive,
        "thinking_budget": thinking_budget,
        "effort": effort,
        "betas": betas,
        "count_tokens": count_tokens,
        "models": models,
        "batches": batches,
        "auth_x_api_key": auth_x_api_key,
        "bad_key": bad_key,
        "auto": auto,
    },
    "claude-code": {
        "hello": cc_hello,
        "shell": cc_shell,
        "read_file": cc_read_file,
        "auth_bearer": cc_auth_bearer,
        "bad_key": cc_bad_key,
        "auto": cc_auto,
        "session": cc_session,
    },
}
