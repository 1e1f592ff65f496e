"""Gateway overhead: added latency (p50, p99) and throughput against the bare Python floor.

    .venv/bin/python bench/gateway.py [--quick]

Five processes besides this one: a zero-latency upstream stub (`_wire.py`: raw asyncio, so the
stub and the load generator cost a few microseconds a request and leave the CPU to what is
measured), a bare uvicorn pass-through (the Python floor: read the body, forward it with one pooled
aiohttp session, return the bytes), the same pass-through through the official SDK's client (the
floor for anything that stays on it, on the SDK's aiohttp transport as the gateway uses it), the
gateway (one uvicorn worker, ledger on a temporary SQLite file, authentication off), and the load
generator. Each target is measured at concurrency 1 and 50, in rounds that take the targets in
turn (so a burst of load from elsewhere on the machine falls on all of them), and each figure is
the median over the rounds; "added" is a target's latency minus the upstream's own, measured in
the same round. Figures are printed as ratios to the pass-through, since absolute times on a
shared machine mislead.

Memory: 500 streams held open at once through a fresh gateway (the stub sends the first events,
then waits), the gateway process's resident set size read while they are all open, against its
own size at rest (most of which is the `anthropic` package's own import). The streams are opened
twice, each time through a fresh gateway: all 500 in the same instant, and 50 at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

from _common import HOST, free_port, instant_message

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


def serve_gateway(port: int, upstream: str, ledger: str) -> None:
    from claude_router.config import Settings
    from claude_router.gateway import create_app
    from claude_router.gateway.server import serve

    settings = Settings(
        upstream={"base_url": upstream, "api_key": KEY, "max_retries": 0},
        classifier={"kind": "local"},
        ledger={"url": ledger},
        gateway={"auth": False},
    )
    serve(create_app(settings), host=HOST, port=port, log_level="error")  # as `claude-router serve` runs


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer requests (a smoke run).")
    args = parser.parse_args()
    n1, n50 = (60, 300) if args.quick else (300, 2000)
    runs: dict[str, dict[int, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory() as scratch, process(serve_stub) as stub:
        ledger = str(Path(scratch) / "ledger.db")
        with (
            process(serve_passthrough, stub) as bare,
            process(serve_sdk_passthrough, stub) as sdk,
            process(serve_gateway, stub, ledger) as gateway,
        ):
            targets = {
                "upstream (direct)": (stub, HAIKU),
                "bare pass-through": (bare, HAIKU),
                "SDK pass-through": (sdk, HAIKU),
                "gateway, model id": (gateway, HAIKU),
                "gateway, auto (local)": (gateway, "auto"),
            }
            for _ in range(1 if args.quick else ROUNDS):
                for c in (1, 50):
                    for name, (url, model) in targets.items():
                        figures = measure(url, model, c, n1 if c == 1 else n50)
                        runs.setdefault(name, {}).setdefault(c, []).append(figures)
        # A fresh gateway for each: its memory owes nothing to the requests before.
        memory: dict[int, dict[str, float]] = {}
        for wave in WAVES:
            with started(serve_gateway, stub, str(Path(scratch) / f"streams-{wave}.db")) as (fresh, pid):
                memory[wave] = measure_streams(fresh, pid, STREAMS, wave)
    report(runs)
    print()
    for wave, figures in memory.items():
        how = "all at once" if wave >= STREAMS else f"{wave} at a time"
        print(
            f"{STREAMS} streams open ({how}): gateway RSS {figures['open']:.0f} MB "
            f"({figures['open'] / figures['rest']:.2f}x its {figures['rest']:.0f} MB at rest)"
        )


def report(runs: dict[str, dict[int, list[dict[str, float]]]]) -> None:
    """Per round, each target's added latency over the upstream's in that round; medians of rounds."""
    direct = runs["upstream (direct)"]

    def median(name: str, c: int, what: str, added: bool = False) -> float:
        values = [r[what] - (direct[c][i][what] if added else 0.0) for i, r in enumerate(runs[name][c])]
        return statistics.median(values)

    print(f"{'target':24} {'c':>3} {'added p50 x bare':>17} {'added p99 x bare':>17} {'req/s x bare':>13}")
    bare = "bare pass-through"
    for name in runs:
        if name == "upstream (direct)":
            continue
        for c in (1, 50):
            added50 = median(name, c, "p50", added=True) / median(bare, c, "p50", added=True)
            added99 = median(name, c, "p99", added=True) / median(bare, c, "p99", added=True)
            rps = median(name, c, "rps") / median(bare, c, "rps")
            print(f"{name:24} {c:>3} {added50:>17.2f} {added99:>17.2f} {rps:>13.2f}")
    print("\nabsolute, for orientation only (medians; added ms over the upstream, req/s):")
    for name in runs:
        for c in (1, 50):
            if name == "upstream (direct)":
                ms50, ms99 = median(name, c, "p50") * 1e3, median(name, c, "p99") * 1e3
                label = "p50"
            else:
                ms50 = median(name, c, "p50", added=True) * 1e3
                ms99 = median(name, c, "p99", added=True) * 1e3
                label = "+p50"
            rps = median(name, c, "rps")
            print(f"  {name:24} c={c:<3} {label:>4} {ms50:6.2f}  p99 {ms99:6.2f}  {rps:7.0f}/s")


if __name__ == "__main__":
    main()
