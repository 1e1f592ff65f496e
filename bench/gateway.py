"""Gateway overhead against LiteLLM's proxy and the bare Python floor, as ratios measured in one run.

    .venv/bin/python bench/gateway.py [--runs 3] [--quick] [--no-litellm] [--no-memory]

Processes besides this one: a zero-latency upstream stub (`_wire.py`: raw asyncio, so the stub and
the load generator cost a few microseconds a request and leave the CPU to what is measured); a
bare uvicorn pass-through (the Python floor: read the body, forward it with one pooled aiohttp
session, return the bytes); the same pass-through through the official SDK's client; LiteLLM's
proxy (`_litellm.py`: installed on first use into an environment of its own under .cache/, one
worker, an Anthropic-format pass-through to the same stub, no database, callbacks or logging);
the gateway as `claude-router serve --no-auth` runs it (one worker, and two with `--workers 2`;
ledger on a temporary SQLite file); and the load generator. Each target is measured at
concurrency 1 and 50 (the gateways also at 100), in rounds that take the targets in turn (so a
burst of load from elsewhere on the machine falls on all of them); each figure is the median over
the rounds; "added" is a target's latency minus the upstream's own in the same round. Every run
prints its ratios, then the headline ones, which the last lines repeat for every run as a table.

Memory: 500 streams held open at once through a fresh one-worker gateway (the stub sends the first
events, then waits), the gateway process's resident set size read while they are all open, against
its own size at rest. The streams are opened twice, each time through a fresh gateway: all 500 in
the same instant, and 50 at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import HOST, free_port, instant_message
from _litellm import installed_version, litellm_python, proxy_command

KEY = "sk-ant-bench-gateway"
HAIKU = "claude-haiku-4-5"
MESSAGE = instant_message(HAIKU, input_tokens=12, output_tokens=1, id="msg_bench")
BODY = {"model": HAIKU, "max_tokens": 16, "messages": [{"role": "user", "content": "Say hi."}]}
STREAMS = 500
# Opened all in the same instant, and in waves: a burst's requests are all in flight together
# before their first byte, and the allocator keeps much of that peak after it has passed.
WAVES = (STREAMS, 50)
STREAM_HOLD_S = 60.0  # how long the stub keeps a stream open after its first events
ROUNDS = 3
REDIS_URL = "redis://127.0.0.1:6379/15"
GATEWAY = "gateway, model id"
GATEWAY_2 = "gateway, 2 workers"
LITELLM = "LiteLLM proxy"
BARE = "bare pass-through"
DIRECT = "upstream (direct)"


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events() -> tuple[bytes, bytes]:
    """A streamed answer in two parts: what is sent at once, and what only after the hold."""
    start = {**MESSAGE, "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    head = sse("message_start", {"type": "message_start", "message": start}) + sse(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    tail = (
        sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 1},
            },
        )
        + sse("message_stop", {"type": "message_stop"})
    )
    return head, tail


def _uvicorn(app: Any, port: int) -> None:
    """Serve a baseline as `claude-router serve` serves the gateway (start-up objects frozen)."""
    import gc

    import uvicorn

    gc.freeze()

    uvicorn.run(app, host=HOST, port=port, log_level="error", access_log=False, lifespan="on")


def serve_stub(port: int) -> None:
    """The upstream: a fixed Message at once, or a stream held open after its first events."""
    from _wire import StubAnswers
    from _wire import serve_stub as serve

    head, tail = stream_events()
    serve(HOST, port, StubAnswers(json.dumps(MESSAGE).encode(), head, tail, STREAM_HOLD_S))


def serve_passthrough(port: int, upstream: str) -> None:
    """The floor: the least a Python proxy on uvicorn can do (aiohttp, the fastest common client)."""
    import aiohttp
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    session: aiohttp.ClientSession | None = None
    url = f"{upstream}/v1/messages"

    async def messages(request: Request) -> Response:
        nonlocal session
        if session is None:  # bound to the server's event loop
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        body = await request.body()
        async with session.post(url, data=body, headers={"content-type": "application/json"}) as answer:
            content = await answer.read()
        return Response(content, answer.status, media_type="application/json")

    _uvicorn(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]), port)


def serve_sdk_passthrough(port: int, upstream: str) -> None:
    """The official SDK's floor: the same pass-through through `AsyncAnthropic`'s own request path
    in raw-response mode (the body sent as the bytes received), on the transport the gateway uses
    (aiohttp) and without the SDK's no-op spans, as the gateway calls it."""
    import anthropic
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = anthropic.AsyncAnthropic(
        base_url=upstream,
        api_key=KEY,
        max_retries=0,
        open_telemetry=False,
        http_client=anthropic.DefaultAioHttpClient(),
    )

    options: anthropic.RequestOptions = {"headers": {"content-type": "application/json"}}

    async def messages(request: Request) -> Response:
        raw = await client.post(
            "/v1/messages",
            content=await request.body(),
            options=options,
            cast_to=anthropic.AsyncAPIResponse[bytes],
        )
        return Response(raw.http_response.content, media_type="application/json")

    _uvicorn(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]), port)


def gateway_command(port: int, upstream: str, ledger: str, workers: int) -> tuple[list[str], dict[str, str]]:
    """`claude-router serve` as a user runs it: authentication off, the local classifier, no retries.
    Two workers need a Redis URL (the tests' default server; with authentication off, nothing is
    written there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    env |= {
        "CLAUDE_ROUTER_HOME": str(Path(ledger).parent),
        "CLAUDE_ROUTER_UPSTREAM__BASE_URL": upstream,
        "CLAUDE_ROUTER_UPSTREAM__API_KEY": KEY,
        "CLAUDE_ROUTER_UPSTREAM__MAX_RETRIES": "0",
        "CLAUDE_ROUTER_CLASSIFIER__KIND": "local",
        "CLAUDE_ROUTER_LEDGER__URL": ledger,
        "CLAUDE_ROUTER_GATEWAY__REDIS_URL": os.environ.get("CLAUDE_ROUTER_TEST_REDIS_URL", REDIS_URL),
        "CLAUDE_ROUTER_GATEWAY__REDIS_PREFIX": "claude-router-bench:gw",
    }
    args = ["serve", "--no-auth", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    return [sys.executable, "-m", "claude_router.cli", *args, "--log-level", "warning"], env


@contextmanager
def program(
    command: list[str], env: dict[str, str], port: int, ready: str, log: Path
) -> Iterator[tuple[str, int]]:
    """`command` (a server on `port`) running until the block ends: its URL and process id, once
    `ready` (a path) answered on 8 fresh connections, so that every worker of it is serving."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 120
        answered = 0
        while answered < 8:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:]
                raise RuntimeError(f"{command[0]} {' '.join(command[1:3])} did not start:\n{tail}")
            try:
                with urllib.request.urlopen(url + ready, timeout=30):
                    answered += 1
            except OSError:
                answered = 0
                time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def gateway(upstream: str, scratch: Path, name: str, workers: int = 1) -> Iterator[tuple[str, int]]:
    port = free_port()
    folder = scratch / name
    folder.mkdir()
    command, env = gateway_command(port, upstream, str(folder / "ledger.db"), workers)
    with program(command, env, port, "/readyz", folder / "serve.log") as served:
        yield served


@contextmanager
def process(target: Callable[..., None], *args: Any) -> Iterator[str]:
    with started(target, *args) as (url, _):
        yield url


@contextmanager
def started(target: Callable[..., None], *args: Any) -> Iterator[tuple[str, int]]:
    """`target(port, *args)` in its own process, once it listens: its URL and process id."""
    port = free_port()
    proc = multiprocessing.get_context("spawn").Process(target=target, args=(port, *args), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, port), 0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{target.__name__} did not start")
        time.sleep(0.3)  # the lifespan (ledger, router) finishes after the socket opens
        assert proc.pid is not None
        yield f"http://{HOST}:{port}", proc.pid
    finally:
        proc.terminate()
        proc.join(10)


# ---- the load generator (its own process) -------------------------------------------------------


def load(url: str, model: str, concurrency: int, requests: int, out: Any) -> None:
    from _wire import request_bytes, run_load

    body = json.dumps({**BODY, "model": model}).encode()
    headers = {"content-type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01"}
    wire = request_bytes(url, "/v1/messages", body, headers)
    out.send(run_load(url, wire, concurrency, requests).as_dict())


def measure(url: str, model: str, concurrency: int, requests: int) -> dict[str, float]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    proc = multiprocessing.get_context("spawn").Process(
        target=load, args=(url, model, concurrency, requests, child)
    )
    proc.start()
    while not parent.poll(1.0):
        if not proc.is_alive():
            raise RuntimeError(f"the load generator against {url} failed (exit code {proc.exitcode})")
    result: dict[str, float] = parent.recv()
    proc.join()
    return result


def hold_streams(url: str, count: int, wave: int, conn: Any) -> None:
    asyncio.run(_hold_streams(url, count, wave, conn))


async def _hold_streams(url: str, count: int, wave: int, conn: Any) -> None:
    """Open `count` streams, `wave` at a time (each wave's first events in before the next wave
    starts), tell the parent once all are open, hold them until told to stop."""
    import httpx2

    body = json.dumps({**BODY, "stream": True}).encode()
    headers = {"content-type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01"}
    limits = httpx2.Limits(max_connections=count + 10)
    async with (
        httpx2.AsyncClient(base_url=url, limits=limits, timeout=120) as http,
        AsyncExitStack() as stack,
    ):

        async def open_one() -> None:
            response = await stack.enter_async_context(
                http.stream("POST", "/v1/messages", content=body, headers=headers)
            )
            await anext(response.aiter_raw())

        for opened in range(0, count, wave):
            await asyncio.gather(*(open_one() for _ in range(min(wave, count - opened))))
        conn.send("open")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def measure_streams(url: str, pid: int, count: int, wave: int) -> dict[str, float]:
    """The gateway's RSS at rest, then with `count` streams open through it."""
    at_rest = rss_mb(pid)
    parent, child = multiprocessing.get_context("spawn").Pipe()
    proc = multiprocessing.get_context("spawn").Process(target=hold_streams, args=(url, count, wave, child))
    proc.start()
    try:
        if not parent.poll(STREAM_HOLD_S):
            raise RuntimeError("the streams did not all open")
        parent.recv()
        busy = rss_mb(pid)
        parent.send("stop")
    finally:
        proc.join(30)
    return {"rest": at_rest, "open": busy}


COLUMNS = (
    "added p50 c=1 / LiteLLM",
    "req/s c=50 / LiteLLM",
    "added p99 c=50 / bare",
    "req/s c=100, 2 / 1 workers",
)
Runs = dict[str, dict[int, list[dict[str, float]]]]  # target -> concurrency -> one figure per round


@dataclass(frozen=True)
class Headline:
    """The run's figures the gateway is held to, each a ratio measured in that run."""

    p50_vs_litellm: float  # added p50 at c=1, gateway / LiteLLM's proxy (target <= 0.1)
    rps_vs_litellm: float  # requests per second at c=50, gateway / LiteLLM's proxy (target >= 10)
    p99_vs_bare: float  # added p99 at c=50, gateway / the bare pass-through (target <= 2)
    two_workers: float  # requests per second at c=100, 2 workers / 1 worker

    def lines(self) -> list[str]:
        return [
            f"  added p50 at c=1, gateway / LiteLLM proxy:      {self.p50_vs_litellm:6.3f}  (target <= 0.1)",
            f"  req/s at c=50, gateway / LiteLLM proxy:         {self.rps_vs_litellm:6.2f}  (target >= 10)",
            f"  added p99 at c=50, gateway / bare pass-through: {self.p99_vs_bare:6.2f}  (target <= 2)",
            f"  req/s at c=100, gateway 2 workers / 1 worker:   {self.two_workers:6.2f}",
        ]


def median(runs: Runs, name: str, c: int, what: str, added: bool = False) -> float:
    """A target's median over the rounds; `added`: minus the upstream's own figure in each round."""
    direct = runs[DIRECT][c]
    values = [r[what] - (direct[i][what] if added else 0.0) for i, r in enumerate(runs[name][c])]
    return statistics.median(values)


def measure_run(targets: dict[str, tuple[str, str, tuple[int, ...]]], rounds: int, quick: bool) -> Runs:
    counts = {1: 60, 50: 300, 100: 600} if quick else {1: 300, 50: 2000, 100: 4000}
    runs: Runs = {}
    for _ in range(rounds):
        for c in (1, 50, 100):
            for name, (url, model, levels) in targets.items():
                if c in levels:
                    runs.setdefault(name, {}).setdefault(c, []).append(measure(url, model, c, counts[c]))
    return runs


def headline(runs: Runs) -> Headline | None:
    if LITELLM not in runs or GATEWAY_2 not in runs:
        return None
    return Headline(
        p50_vs_litellm=median(runs, GATEWAY, 1, "p50", True) / median(runs, LITELLM, 1, "p50", True),
        rps_vs_litellm=median(runs, GATEWAY, 50, "rps") / median(runs, LITELLM, 50, "rps"),
        p99_vs_bare=median(runs, GATEWAY, 50, "p99", True) / median(runs, BARE, 50, "p99", True),
        two_workers=median(runs, GATEWAY_2, 100, "rps") / median(runs, GATEWAY, 100, "rps"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="Consecutive runs, each with its own ratios.")
    parser.add_argument("--quick", action="store_true", help="Fewer requests and one round (a smoke run).")
    parser.add_argument("--no-litellm", action="store_true", help="Leave LiteLLM's proxy out.")
    parser.add_argument("--no-memory", action="store_true", help="Leave the 500-stream memory probe out.")
    args = parser.parse_args()
    python = None if args.no_litellm else litellm_python()
    version = installed_version(python) if python else None
    if version:
        print(f"LiteLLM {version} (its proxy: one worker, no database, callbacks or logging)", flush=True)
    headlines: list[Headline] = []
    with tempfile.TemporaryDirectory() as scratch_dir, process(serve_stub) as stub:
        scratch = Path(scratch_dir)
        with ExitStack() as stack:
            bare = stack.enter_context(process(serve_passthrough, stub))
            sdk = stack.enter_context(process(serve_sdk_passthrough, stub))
            one, _ = stack.enter_context(gateway(stub, scratch, "one"))
            two, _ = stack.enter_context(gateway(stub, scratch, "two", workers=2))
            targets = {
                DIRECT: (stub, HAIKU, (1, 50, 100)),
                BARE: (bare, HAIKU, (1, 50)),
                "SDK pass-through": (sdk, HAIKU, (1, 50)),
                GATEWAY: (one, HAIKU, (1, 50, 100)),
                "gateway, auto (local)": (one, "auto", (1, 50)),
                GATEWAY_2: (two, HAIKU, (100,)),
            }
            if python is not None:
                port = free_port()
                command, env = proxy_command(python, port, stub, HAIKU, KEY, scratch)
                ready = "/health/liveliness"
                proxy, _ = stack.enter_context(program(command, env, port, ready, scratch / "litellm.log"))
                targets[LITELLM] = (proxy, HAIKU, (1, 50))
            for run in range(args.runs):
                runs = measure_run(targets, 1 if args.quick else ROUNDS, args.quick)
                print(f"\n--- run {run + 1} of {args.runs} ---")
                report(runs)
                found = headline(runs)
                if found is not None:
                    headlines.append(found)
                    print("\nheadline (ratios in this run):")
                    print("\n".join(found.lines()), flush=True)
        memory: dict[int, dict[str, float]] = {}
        if not args.no_memory:
            # A fresh gateway for each: its memory owes nothing to the requests before.
            for wave in WAVES:
                with gateway(stub, scratch, f"streams-{wave}") as (fresh, pid):
                    memory[wave] = measure_streams(fresh, pid, STREAMS, wave)
    print()
    for wave, figures in memory.items():
        how = "all at once" if wave >= STREAMS else f"{wave} at a time"
        print(
            f"{STREAMS} streams open ({how}): gateway RSS {figures['open']:.0f} MB "
            f"({figures['open'] / figures['rest']:.2f}x its {figures['rest']:.0f} MB at rest)"
        )
    if headlines:
        print(f"\nfor the docs (LiteLLM {version}; gateway, model id, one worker unless said):\n")
        print("| run | " + " | ".join(COLUMNS) + " |")
        print("|---" * (len(COLUMNS) + 1) + "|")
        for i, h in enumerate(headlines, 1):
            cells = (
                f"{h.p50_vs_litellm:.3f}",
                f"{h.rps_vs_litellm:.1f}x",
                f"{h.p99_vs_bare:.2f}x",
                f"{h.two_workers:.2f}x",
            )
            print(f"| {i} | " + " | ".join(cells) + " |")


def report(runs: Runs) -> None:
    """Per round, each target's added latency over the upstream's in that round; medians of rounds."""
    print(f"{'target':24} {'c':>3} {'added p50 x bare':>17} {'added p99 x bare':>17} {'req/s x bare':>13}")
    for name in runs:
        if name == DIRECT:
            continue
        for c in runs[name]:
            if c not in runs[BARE]:
                continue
            added50 = median(runs, name, c, "p50", True) / median(runs, BARE, c, "p50", True)
            added99 = median(runs, name, c, "p99", True) / median(runs, BARE, c, "p99", True)
            rps = median(runs, name, c, "rps") / median(runs, BARE, c, "rps")
            print(f"{name:24} {c:>3} {added50:>17.2f} {added99:>17.2f} {rps:>13.2f}")
    print("\nabsolute, for orientation only (medians; added ms over the upstream, req/s):")
    for name in runs:
        for c in runs[name]:
            if name == DIRECT:
                ms50, ms99 = median(runs, name, c, "p50") * 1e3, median(runs, name, c, "p99") * 1e3
                label = "p50"
            else:
                ms50 = median(runs, name, c, "p50", True) * 1e3
                ms99 = median(runs, name, c, "p99", True) * 1e3
                label = "+p50"
            rps = median(runs, name, c, "rps")
            print(f"  {name:24} c={c:<3} {label:>4} {ms50:6.2f}  p99 {ms99:6.2f}  {rps:7.0f}/s")


if __name__ == "__main__":
    main()
