"""Gateway overhead: added latency (p50, p99) and throughput against the bare Python floor.

    .venv/bin/python bench/gateway.py [--quick]

Four processes besides this one: a zero-latency upstream stub, a bare uvicorn pass-through (the
Python floor: read the body, forward it with one pooled HTTP client, return the bytes), the
gateway (one uvicorn worker, ledger on a temporary SQLite file, authentication off), and the load
generator. Each target is measured at concurrency 1 and 50; "added" is a target's latency minus
the upstream's own, measured in the same run. Figures are printed as ratios to the pass-through,
since absolute times on a shared machine mislead.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
KEY = "sk-ant-bench-gateway"
HAIKU = "claude-haiku-4-5"
MESSAGE = {
    "id": "msg_bench",
    "type": "message",
    "role": "assistant",
    "model": HAIKU,
    "content": [{"type": "text", "text": "simple"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 1},
}
BODY = {"model": HAIKU, "max_tokens": 16, "messages": [{"role": "user", "content": "Say hi."}]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _uvicorn(app: Any, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=HOST, port=port, log_level="error", access_log=False, lifespan="on")


def serve_stub(port: int) -> None:
    """The upstream: a fixed Message, at once."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    payload = json.dumps(MESSAGE).encode()

    async def messages(request: Request) -> Response:
        await request.body()
        return Response(payload, media_type="application/json", headers={"request-id": "req_bench"})

    _uvicorn(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]), port)


def serve_passthrough(port: int, upstream: str) -> None:
    """The floor: the least a Python proxy on uvicorn can do."""
    import httpx2
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = httpx2.AsyncClient(base_url=upstream, limits=httpx2.Limits(max_connections=100))

    async def messages(request: Request) -> Response:
        upstream_response = await client.post(
            "/v1/messages", content=await request.body(), headers={"content-type": "application/json"}
        )
        return Response(
            upstream_response.content, upstream_response.status_code, media_type="application/json"
        )

    _uvicorn(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]), port)


def serve_gateway(port: int, upstream: str, ledger: str) -> None:
    from claude_router.config import Settings
    from claude_router.gateway import create_app

    settings = Settings(
        upstream={"base_url": upstream, "api_key": KEY, "max_retries": 0},
        classifier={"kind": "local"},
        ledger={"url": ledger},
        gateway={"auth": False},
    )
    _uvicorn(create_app(settings), port)


@contextmanager
def process(target: Callable[..., None], *args: Any) -> Iterator[str]:
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
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        proc.join(10)


# ---- the load generator (its own process) -------------------------------------------------------


def load(url: str, model: str, concurrency: int, requests: int, out: Any) -> None:
    out.send(asyncio.run(_load(url, model, concurrency, requests)))


async def _load(url: str, model: str, concurrency: int, requests: int) -> dict[str, float]:
    import httpx2

    body = json.dumps({**BODY, "model": model}).encode()
    headers = {"content-type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01"}
    latencies: list[float] = []
    remaining = requests
    async with httpx2.AsyncClient(base_url=url, limits=httpx2.Limits(max_connections=concurrency)) as http:
        for _ in range(min(20, requests)):  # warm-up: connections, caches
            await http.post("/v1/messages", content=body, headers=headers)

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await http.post("/v1/messages", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": len(latencies) / elapsed,
    }


def measure(url: str, model: str, concurrency: int, requests: int) -> dict[str, float]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    proc = multiprocessing.get_context("spawn").Process(
        target=load, args=(url, model, concurrency, requests, child)
    )
    proc.start()
    result: dict[str, float] = parent.recv()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer requests (a smoke run).")
    args = parser.parse_args()
    n1, n50 = (100, 500) if args.quick else (400, 3000)
    with tempfile.TemporaryDirectory() as scratch, process(serve_stub) as stub:
        ledger = str(Path(scratch) / "ledger.db")
        with process(serve_passthrough, stub) as bare, process(serve_gateway, stub, ledger) as gateway:
            targets = {
                "upstream (direct)": (stub, HAIKU),
                "bare pass-through": (bare, HAIKU),
                "gateway, model id": (gateway, HAIKU),
                "gateway, auto (local)": (gateway, "auto"),
            }
            results = {
                name: {c: measure(url, model, c, n1 if c == 1 else n50) for c in (1, 50)}
                for name, (url, model) in targets.items()
            }
    report(results)


def report(results: dict[str, dict[int, dict[str, float]]]) -> None:
    direct, bare = results["upstream (direct)"], results["bare pass-through"]
    print(f"{'target':24} {'c':>3} {'added p50 x bare':>17} {'added p99 x bare':>17} {'req/s x bare':>13}")
    for name, by_c in results.items():
        if name == "upstream (direct)":
            continue
        for c, figures in by_c.items():
            added50 = figures["p50"] - direct[c]["p50"]
            added99 = figures["p99"] - direct[c]["p99"]
            bare50 = bare[c]["p50"] - direct[c]["p50"]
            bare99 = bare[c]["p99"] - direct[c]["p99"]
            print(
                f"{name:24} {c:>3} {added50 / bare50:>17.2f} {added99 / bare99:>17.2f} "
                f"{figures['rps'] / bare[c]['rps']:>13.2f}"
            )
    print("\nabsolute, for orientation only (ms, req/s):")
    for name, by_c in results.items():
        for c, f in by_c.items():
            ms50, ms99 = f["p50"] * 1e3, f["p99"] * 1e3
            print(f"  {name:24} c={c:<3} p50 {ms50:6.2f}  p99 {ms99:6.2f}  {f['rps']:7.0f}/s")


if __name__ == "__main__":
    main()
