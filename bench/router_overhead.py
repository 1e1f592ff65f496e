"""Router overhead: what `Router.create` adds to a direct SDK call, and what speculation saves.

    .venv/bin/python bench/router_overhead.py [--json] [--profile]

Three measurements in one run, each as a ratio to a baseline measured alongside it:

1. Over HTTP: `Router.create` against a direct `client.messages.create`, on the zero-latency
   emulator served by another process. The variants alternate in blocks (rotating order) so the
   machine's noise hits all of them; the client process's CPU per request is shown too.
2. In process, on a classifier cache hit: the router's own work per request, target <= 50 µs.
   a. Router.create over an in-memory Upstream stand-in that returns a pre-built result at once,
      against a bare `await` of that stand-in (CPU time of alternating blocks; median of rounds).
   b. Router.create over the real Upstream and SDK on an in-memory HTTP transport, with the time
      spent inside `Upstream.create` measured and subtracted per request.
   c. The layers against a direct SDK call on that transport: the SDK, plus the router's attempt
      observer middleware, plus `Upstream.create`, plus `Router.create`.
   d. Adaptation (the body made fit for the model it is sent to): `Adapter.body_for` for a plain
      body and for a Claude Code-like one that needs changes, against `Policy.route` for the same
      request (the route without it); and `Upstream.create` with and without it.
3. Speculative execution against plain routing under the realistic latency model (emulator in
   another process), classifier cache off so each request pays the Haiku classifier call. Every
   prompt text is sent once plainly and once speculatively, in shuffled order, at bounded
   concurrency; no two pairs share a text.

With `--json` the figures go to stdout as JSON and the table to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import anthropic
import httpx2
from anthropic.types import Message
from pydantic import SecretStr

from _common import BENCH_KEY, emulator_process, fmt_ratio, instant_message, median, percentile, ratio
from claude_router.config import HAIKU, OPUS, ClassifierSettings, Settings, UpstreamSettings
from claude_router.emulator.config import EmulatorConfig
from claude_router.routing.router import RoutedResponse, Router
from claude_router.types import ClassifierSource, Decision, Label, RequestMeta, TokenUsage
from claude_router.upstream import Upstream, UpstreamResult, routed_params

TARGET_US = 50.0
SIMPLE = "Is the sentiment of this review positive or negative? 'Great blender, quiet and quick.'"
ADJECTIVES = ("Great", "Awful", "Decent", "Lovely", "Broken", "Superb", "Flimsy", "Sturdy")
COMPLEX = (
    "Analyse clause {i} of this supply contract and state which party carries more of the risk, "
    "whether the indemnification scope is unusual, and whether the limitation of liability is "
    "market-standard: 'The Supplier shall indemnify the Customer against all losses arising from "
    "any breach of section {i}.'"
)

Call = Callable[[], Awaitable[object]]


def ask(text: str, max_tokens: int, model: str = "auto") -> dict[str, Any]:
    return {"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": text}]}


def simple_text(i: int) -> str:
    adjective = ADJECTIVES[i % len(ADJECTIVES)]
    return f"Is the sentiment of review #{i} positive or negative? '{adjective} blender, order {i}.'"


def settings_for(base_url: str, *, cache: Literal["memory", "none"] = "memory") -> Settings:
    """Settings on `base_url` with the LLM classifier (Haiku), whatever the default kind is."""
    return Settings(
        upstream=UpstreamSettings(base_url=base_url, api_key=SecretStr(BENCH_KEY)),
        classifier=ClassifierSettings(kind="llm", cache=cache),
    )


def expect_cache_hit(routed: RoutedResponse) -> None:
    if routed.classifier_source is not ClassifierSource.CACHE:
        raise RuntimeError(f"expected a classifier cache hit, got {routed.classifier_source}")


# ---- 1. over HTTP, zero-latency emulator -------------------------------------------------------


@dataclass
class Series:
    latencies_s: list[float] = field(default_factory=list)
    cpu_s: float = 0.0

    def summary(self) -> dict[str, float]:
        n = len(self.latencies_s)
        return {
            "mean_ms": statistics.fmean(self.latencies_s) * 1e3,
            "p50_ms": median(self.latencies_s) * 1e3,
            "client_cpu_us": self.cpu_s / n * 1e6,
        }


async def timed_block(call: Call, n: int, series: Series) -> None:
    cpu = time.process_time()
    for _ in range(n):
        began = time.perf_counter()
        await call()
        series.latencies_s.append(time.perf_counter() - began)
    series.cpu_s += time.process_time() - cpu


async def alternate(calls: Mapping[str, Call], rounds: int, per_block: int) -> dict[str, Series]:
    """Blocks of each call in turn, the order rotated every round; after a warm-up of each."""
    names = list(calls)
    for name in names:
        await timed_block(calls[name], min(per_block, 20), Series())
    series = {name: Series() for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            await timed_block(calls[name], per_block, series[name])
    return series


async def http_overhead(base_url: str, rounds: int, per_block: int) -> dict[str, Any]:
    direct_params, auto_params = ask(SIMPLE, 64, model=HAIKU), ask(SIMPLE, 64)
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key=BENCH_KEY)
    cached = Router(settings_for(base_url))
    uncached = Router(settings_for(base_url, cache="none"))
    try:
        await cached.create(**auto_params)  # the miss that fills the cache
        expect_cache_hit(await cached.create(**auto_params))
        calls: dict[str, Call] = {
            "direct SDK call (baseline)": lambda: client.messages.create(**direct_params),
            "router, model id (no classifier)": lambda: cached.create(**direct_params),
            "router, auto, classifier cache hit": lambda: cached.create(**auto_params),
            "router, auto, no cache (2 calls)": lambda: uncached.create(**auto_params),
        }
        series = await alternate(calls, rounds, per_block)
    finally:
        await client.close()
        await cached.aclose()
        await uncached.aclose()
    rows = {name: s.summary() for name, s in series.items()}
    base = rows["direct SDK call (baseline)"]
    for row in rows.values():
        row["ratio_mean"] = ratio(row["mean_ms"], base["mean_ms"])
        row["ratio_p50"] = ratio(row["p50_ms"], base["p50_ms"])
        row["ratio_cpu"] = ratio(row["client_cpu_us"], base["client_cpu_us"])
    return {"requests_per_variant": rounds * per_block, "variants": rows}


# ---- 2. in process, classifier cache hit -------------------------------------------------------

ANSWER = Message.model_validate(
    instant_message(HAIKU, input_tokens=24, output_tokens=2, id="msg_01BenchInstantAnswer0000")
)
ANSWER_BYTES = json.dumps(ANSWER.model_dump(mode="json")).encode()
IN_MEMORY_URL = "http://upstream.invalid"


class InstantUpstream(Upstream):
    """Answers every call at once with the same pre-built result (the classifier's "simple" too)."""

    result = UpstreamResult(ANSWER, HAIKU, TokenUsage.from_api(ANSWER.usage))

    async def create(
        self,
        params: Mapping[str, Any],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        as_written: bool = False,
    ) -> UpstreamResult:
        return self.result


class TimedUpstream(Upstream):
    """The real Upstream, adding up the CPU time (this thread's) spent inside `create`."""

    inside_s = 0.0

    async def create(
        self,
        params: Mapping[str, Any],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        as_written: bool = False,
    ) -> UpstreamResult:
        began = time.thread_time()
        try:
            return await super().create(params, model=model, fallbacks=fallbacks, as_written=as_written)
        finally:
            self.inside_s += time.thread_time() - began


def in_memory_client() -> anthropic.AsyncAnthropic:
    """The real SDK whose HTTP transport answers in memory with the pre-built message."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "application/json", "request-id": "req_bench"}
        return httpx2.Response(200, content=ANSWER_BYTES, headers=headers)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    return anthropic.AsyncAnthropic(base_url=IN_MEMORY_URL, api_key=BENCH_KEY, http_client=http)


async def cpu_per_call(calls: Mapping[str, Call], rounds: int, per_block: int) -> dict[str, float]:
    """CPU µs per call of each, median over rounds of alternating blocks (after a warm-up)."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(-1, rounds):
        for name, call in calls.items():
            began = time.process_time()
            for _ in range(per_block):
                await call()
            if r >= 0:
                samples[name].append((time.process_time() - began) / per_block * 1e6)
    return {name: median(values) for name, values in samples.items()}


async def core_overhead(rounds: int, per_block: int) -> dict[str, Any]:
    """2a: Router.create over the instant stand-in against a bare await of the stand-in."""
    params = ask(SIMPLE, 64)
    upstream = InstantUpstream(settings_for(IN_MEMORY_URL).upstream)
    async with Router(settings_for(IN_MEMORY_URL), upstream=upstream) as router:
        await router.create(**params)  # the miss that fills the cache
        hit = await router.create(**params)
        expect_cache_hit(hit)
        body, route = routed_params(params, hit.route), hit.route
        cpu = await cpu_per_call(
            {
                "router": lambda: router.create(**params),
                "bare": lambda: upstream.create(body, model=route.model, fallbacks=route.fallbacks),
            },
            rounds,
            per_block,
        )
    overhead = cpu["router"] - cpu["bare"]
    return {
        "router_us": cpu["router"],
        "bare_await_us": cpu["bare"],
        "overhead_us": overhead,
        "overhead_to_bare_await": ratio(overhead, cpu["bare"]),
        "target_us": TARGET_US,
        "meets_target": overhead <= TARGET_US,
    }


async def subtracted_overhead(requests: int) -> dict[str, float]:
    """2b: Router.create on the real SDK (in-memory transport) minus the time inside Upstream.create.

    Thread CPU time, so other processes taking the core do not count; garbage collection does.
    """
    params = ask(SIMPLE, 64)
    settings = settings_for(IN_MEMORY_URL)
    upstream = TimedUpstream(settings.upstream, client=in_memory_client())
    own: list[float] = []
    async with Router(settings, upstream=upstream) as router:
        for _ in range(requests // 10 + 1):  # warm-up, and the miss that fills the cache
            await router.create(**params)
        for _ in range(requests):
            began, inside = time.thread_time(), upstream.inside_s
            expect_cache_hit(await router.create(**params))
            own.append(time.thread_time() - began - (upstream.inside_s - inside))
        await upstream.client.close()
    return {
        "p50_us": median(own) * 1e6,
        "mean_us": statistics.fmean(own) * 1e6,
        "p90_us": percentile(own, 90) * 1e6,
    }


async def layers(rounds: int, per_block: int) -> dict[str, dict[str, float]]:
    """2c: each layer's CPU per call on the in-memory transport, and what it adds to the one below."""
    params, direct_params = ask(SIMPLE, 64), ask(SIMPLE, 64, model=HAIKU)
    body = {k: v for k, v in direct_params.items() if k != "model"}
    client = in_memory_client()
    settings = settings_for(IN_MEMORY_URL)
    upstream = Upstream(settings.upstream, client=client)
    async with Router(settings, upstream=upstream) as router:
        await router.create(**params)
        expect_cache_hit(await router.create(**params))
        cpu = await cpu_per_call(
            {
                "direct SDK call (baseline)": lambda: client.messages.create(**direct_params),
                "+ attempt observer middleware": lambda: upstream.client.messages.create(**direct_params),
                "+ Upstream.create": lambda: upstream.create(body, model=HAIKU),
                "+ Router.create (cache hit)": lambda: router.create(**params),
            },
            rounds,
            per_block,
        )
    await client.close()
    out: dict[str, dict[str, float]] = {}
    base, below = next(iter(cpu.values())), None
    for name, us in cpu.items():
        out[name] = {"cpu_us": us, "added_us": 0.0 if below is None else us - below, "ratio": ratio(us, base)}
        below = us
    return out


# A body as Claude Code sends it, routed to a model that takes little of it as written (Haiku 4.5).
CLAUDE_CODE_LIKE: dict[str, Any] = {
    "model": "auto",
    "max_tokens": 32_000,
    "system": [{"type": "text", "text": "You are a coding agent."}],
    "messages": [
        {"role": "user", "content": SIMPLE},
        {"role": "assistant", "content": "Reading the file."},
        {"role": "system", "content": "The user prefers short answers."},
        {"role": "user", "content": "Go on."},
    ],
    "thinking": {"type": "adaptive", "display": "omitted"},
    "output_config": {"effort": "xhigh"},
    "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    "temperature": 1,
}


def adaptation_cost(rounds: int, per_block: int) -> dict[str, Any]:
    """2d: CPU µs of adapting one body, against routing the same request (`Policy.route`)."""
    router = Router(
        settings_for(IN_MEMORY_URL), upstream=InstantUpstream(settings_for(IN_MEMORY_URL).upstream)
    )
    adapter, policy = router.upstream.adapter, router.policy
    decision = Decision(Label.SIMPLE, 1.0, ClassifierSource.LOCAL)
    plain, coded = ask(SIMPLE, 64), CLAUDE_CODE_LIKE
    calls: dict[str, Callable[[], object]] = {
        "route (baseline)": lambda: policy.route(decision, RequestMeta(), plain),
        "adapt a plain body (Haiku 5.5)": lambda: adapter.body_for(plain, HAIKU),
        "route a Claude Code body": lambda: policy.route(decision, RequestMeta(), coded),
        "adapt it (Haiku 4.5)": lambda: adapter.body_for(coded, "claude-haiku-4-5"),
    }
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(-1, rounds):
        for name, call in calls.items():
            began = time.process_time()
            for _ in range(per_block):
                call()
            if r >= 0:
                samples[name].append((time.process_time() - began) / per_block * 1e6)
    cpu = {name: median(values) for name, values in samples.items()}
    changes = adapter.body_for(coded, "claude-haiku-4-5").changes
    route_plain, route_coded = cpu["route (baseline)"], cpu["route a Claude Code body"]
    return {
        "cpu_us": cpu,
        "plain_to_route": ratio(cpu["adapt a plain body (Haiku 5.5)"], route_plain),
        "claude_code_to_route": ratio(cpu["adapt it (Haiku 4.5)"], route_coded),
        "claude_code_changes": list(changes),
    }


async def upstream_with_adaptation(rounds: int, per_block: int) -> dict[str, float]:
    """2d: Upstream.create on the in-memory transport with the body adapted, and as written."""
    client = in_memory_client()
    upstream = Upstream(settings_for(IN_MEMORY_URL).upstream, client=client)
    body = {k: v for k, v in ask(SIMPLE, 64).items() if k != "model"}
    cpu = await cpu_per_call(
        {
            "as written": lambda: upstream.create(body, model=HAIKU, as_written=True),
            "adapted": lambda: upstream.create(body, model=HAIKU),
        },
        rounds,
        per_block,
    )
    await client.close()
    return {**cpu, "ratio": ratio(cpu["adapted"], cpu["as written"])}


def profile_cache_hit(requests: int, top: int) -> str:
    """cProfile of cache hits on the real SDK (in-memory transport): the package's functions by own time.

    Times are inflated by the profiler; read them as shares.
    """
    params = ask(SIMPLE, 64)

    async def run(profiler: cProfile.Profile) -> None:
        settings = settings_for(IN_MEMORY_URL)
        client = in_memory_client()
        async with Router(settings, upstream=Upstream(settings.upstream, client=client)) as router:
            for _ in range(200):
                await router.create(**params)
            profiler.enable()
            for _ in range(requests):
                await router.create(**params)
            profiler.disable()
        await client.close()

    profiler = cProfile.Profile()
    asyncio.run(run(profiler))
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values())
    ours = sorted(
        ((row[2], row[3], row[1], where) for where, row in stats.items() if "claude_router" in where[0]),
        reverse=True,
    )
    lines = [
        f"   all code: {total / requests * 1e6:.0f} µs/request profiled; the package's own code: "
        f"{sum(r[0] for r in ours) / requests * 1e6:.0f} µs ({ratio(sum(r[0] for r in ours), total):.0%})",
        f"   {'own µs':>8}{'cum µs':>9}{'calls':>7}  function",
    ]
    for own, cum, calls, (path, line, name) in ours[:top]:
        where = f"{path.split('claude_router/')[-1]}:{line} {name}"
        lines.append(
            f"   {own / requests * 1e6:>8.2f}{cum / requests * 1e6:>9.2f}{calls / requests:>7.1f}  {where}"
        )
    return "\n".join(lines)


# ---- 3. speculation under realistic latency ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecRun:
    kind: str  # "simple" | "complex"
    speculative: bool
    latency_s: float
    cost: Decimal
    discarded: TokenUsage  # tokens of a cancelled speculative leg


async def speculation_runs(base_url: str, pairs: Mapping[str, int], concurrency: int) -> list[SpecRun]:
    expected = {"simple": HAIKU, "complex": OPUS}
    jobs = [(kind, i, spec) for kind, n in pairs.items() for i in range(n) for spec in (False, True)]
    random.Random(7).shuffle(jobs)
    gate = asyncio.Semaphore(concurrency)

    async def one(router: Router, kind: str, i: int, spec: bool) -> SpecRun:
        # a complex request leaves room for Opus 5.5's thinking (a 64-token one would go to Sonnet)
        params = ask(simple_text(i), 64) if kind == "simple" else ask(COMPLEX.format(i=i), 1024)
        async with gate:
            began = time.perf_counter()
            routed = await router.create(**params, meta=RequestMeta(speculative=spec))
            latency = time.perf_counter() - began
        if routed.model_used != expected[kind] or routed.classifier_source is not ClassifierSource.LLM:
            raise RuntimeError(f"{kind} request {i} went to {routed.model_used} ({routed.classifier_source})")
        answer = TokenUsage.from_api(routed.message.usage)
        discarded = TokenUsage(
            routed.record.usage.input_tokens - answer.input_tokens,
            routed.record.usage.output_tokens - answer.output_tokens,
        )
        return SpecRun(kind, spec, latency, routed.cost_usd, discarded)

    async with Router(settings_for(base_url, cache="none")) as router:
        await one(router, "simple", 10_000, False)  # connections and imports warmed
        return list(await asyncio.gather(*(one(router, *job) for job in jobs)))


def speculation_summary(runs: Sequence[SpecRun]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("simple", "complex"):
        mine = [run for run in runs if run.kind == kind]
        plain = [run for run in mine if not run.speculative]
        spec = [run for run in mine if run.speculative]
        if not plain:
            continue
        p = {q: percentile([r.latency_s for r in plain], q) * 1e3 for q in (50, 90)}
        s = {q: percentile([r.latency_s for r in spec], q) * 1e3 for q in (50, 90)}
        plain_cost, spec_cost = sum(r.cost for r in plain), sum(r.cost for r in spec)
        out[kind] = {
            "pairs": len(plain),
            "plain_p50_ms": p[50],
            "plain_p90_ms": p[90],
            "speculative_p50_ms": s[50],
            "speculative_p90_ms": s[90],
            "ratio_p50": ratio(s[50], p[50]),
            "ratio_p90": ratio(s[90], p[90]),
            "cost_ratio": float(spec_cost / plain_cost) if plain_cost else float("nan"),
            "discarded_haiku_input_tokens_mean": statistics.fmean(r.discarded.input_tokens for r in spec),
            "discarded_haiku_output_tokens_mean": statistics.fmean(r.discarded.output_tokens for r in spec),
        }
    return out


# ---- output ------------------------------------------------------------------------------------


def http_table(http: Mapping[str, Any]) -> list[str]:
    lines = [
        f"1. Router.create vs direct SDK call, zero-latency emulator in another process "
        f"({http['requests_per_variant']} sequential requests each, alternating blocks)",
        f"   {'variant':<38}{'mean ms':>9}{'p50 ms':>9}{'CPU µs':>9}{'mean':>8}{'p50':>8}{'CPU':>8}",
    ]
    for name, row in http["variants"].items():
        lines.append(
            f"   {name:<38}{row['mean_ms']:>9.3f}{row['p50_ms']:>9.3f}{row['client_cpu_us']:>9.0f}"
            f"{fmt_ratio(row['ratio_mean']):>8}{fmt_ratio(row['ratio_p50']):>8}{fmt_ratio(row['ratio_cpu']):>8}"
        )
    return lines


def in_process_table(
    core: Mapping[str, Any],
    sub: Mapping[str, float],
    layer: Mapping[str, Any],
    adapting: Mapping[str, Any],
    adapted_call: Mapping[str, float],
) -> list[str]:
    verdict = "meets" if core["meets_target"] else "MISSES"
    lines = [
        "2. In-process time added on a classifier cache hit (CPU time; target <= 50 µs)",
        f"   a. over an instant Upstream stand-in: router {core['router_us']:.1f} µs, bare await "
        f"{core['bare_await_us']:.2f} µs -> overhead {core['overhead_us']:.1f} µs/request "
        f"({fmt_ratio(core['overhead_to_bare_await'])} a bare await; {verdict} target, "
        f"{core['overhead_us'] / TARGET_US:.2f}x of it)",
        f"   b. real SDK on an in-memory transport, Upstream.create subtracted: p50 {sub['p50_us']:.1f} µs "
        f"({sub['p50_us'] / TARGET_US:.2f}x target), mean {sub['mean_us']:.1f} µs "
        f"({sub['mean_us'] / TARGET_US:.2f}x), p90 {sub['p90_us']:.1f} µs",
        f"   c. {'layer (in-memory transport)':<36}{'CPU µs':>9}{'added µs':>10}{'vs SDK':>9}",
    ]
    for name, row in layer.items():
        lines.append(
            f"      {name:<36}{row['cpu_us']:>9.1f}{row['added_us']:>10.1f}{fmt_ratio(row['ratio']):>9}"
        )
    cpu = adapting["cpu_us"]
    lines.append(f"   d. {'adaptation, per request':<36}{'CPU µs':>9}")
    for name, us in cpu.items():
        lines.append(f"      {name:<36}{us:>9.1f}")
    lines.append(
        f"      adapting costs {fmt_ratio(adapting['plain_to_route'])} the route for a plain body, "
        f"{fmt_ratio(adapting['claude_code_to_route'])} for the Claude Code one "
        f"({', '.join(adapting['claude_code_changes'])})"
    )
    lines.append(
        f"      Upstream.create adapted {adapted_call['adapted']:.1f} µs vs as written "
        f"{adapted_call['as written']:.1f} µs ({fmt_ratio(adapted_call['ratio'])})"
    )
    return lines


def speculation_table(spec: Mapping[str, Any]) -> list[str]:
    lines = [
        "3. Speculative vs plain routing, realistic latency, classifier cache off",
        f"   {'requests':<10}{'pairs':>6}{'plain p50':>11}{'spec p50':>10}{'ratio':>8}"
        f"{'plain p90':>11}{'spec p90':>10}{'ratio':>8}{'cost ratio':>12}{'Haiku in/out wasted':>21}",
    ]
    for kind, row in spec.items():
        wasted = (
            f"{row['discarded_haiku_input_tokens_mean']:.0f}/{row['discarded_haiku_output_tokens_mean']:.1f}"
        )
        lines.append(
            f"   {kind:<10}{row['pairs']:>6}{row['plain_p50_ms']:>9.0f}ms{row['speculative_p50_ms']:>8.0f}ms"
            f"{fmt_ratio(row['ratio_p50']):>8}{row['plain_p90_ms']:>9.0f}ms{row['speculative_p90_ms']:>8.0f}ms"
            f"{fmt_ratio(row['ratio_p90']):>8}{fmt_ratio(row['cost_ratio']):>12}{wasted:>21}"
        )
    return lines


# ---- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="figures as JSON on stdout (table on stderr)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the cache-hit path")
    parser.add_argument("--rounds", type=int, default=120, help="HTTP rounds of alternating blocks")
    parser.add_argument("--block", type=int, default=5, help="requests per HTTP block")
    parser.add_argument("--simple-pairs", type=int, default=40)
    parser.add_argument("--complex-pairs", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=12, help="speculation runs in flight")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    with emulator_process(EmulatorConfig()) as url:
        http = asyncio.run(http_overhead(url, args.rounds, args.block))
    core = asyncio.run(core_overhead(rounds=15, per_block=2_000))
    sub = asyncio.run(subtracted_overhead(requests=3_000))
    layer = asyncio.run(layers(rounds=9, per_block=200))
    adapting = adaptation_cost(rounds=9, per_block=2_000)
    adapted_call = asyncio.run(upstream_with_adaptation(rounds=9, per_block=200))
    pairs = {"simple": args.simple_pairs, "complex": args.complex_pairs}
    with emulator_process(EmulatorConfig.realistic()) as url:
        spec = speculation_summary(asyncio.run(speculation_runs(url, pairs, args.concurrency)))
    lines = ["router overhead benchmark (ratios against baselines measured in this run)"]
    lines += [*http_table(http), *in_process_table(core, sub, layer, adapting, adapted_call)]
    lines += speculation_table(spec)
    if args.profile or not (core["meets_target"] and sub["p50_us"] <= TARGET_US):
        lines.append("where a cache hit's time goes (cProfile, real SDK on the in-memory transport):")
        lines.append(profile_cache_hit(3_000, 20))
    figures = {
        "http": http,
        "in_process": {
            "core": core,
            "subtracted": sub,
            "layers": layer,
            "adaptation": adapting,
            "upstream_adapted": adapted_call,
        },
        "speculation": spec,
        "elapsed_s": time.perf_counter() - started,
    }
    lines.append(f"done in {figures['elapsed_s']:.0f} s")
    if args.json:
        print("\n".join(lines), file=sys.stderr)
        print(json.dumps(figures, indent=2))
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
