"""Helpers shared by the benchmarks: an emulator in its own process, percentiles, ratio cells.

    with emulator_process(EmulatorConfig.realistic()) as base_url:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key=BENCH_KEY)

The emulator runs in a spawned process (one uvicorn worker) so its CPU time never lands in the
process being measured.
"""

from __future__ import annotations

import math
import multiprocessing
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # kept out of the import: processes that import this module stay lean
    from claude_router.emulator.config import EmulatorConfig

HOST = "127.0.0.1"
BENCH_KEY = "sk-ant-bench-0123456789"
STARTUP_TIMEOUT_S = 30.0


def instant_message(model: str, *, input_tokens: int, output_tokens: int, id: str) -> dict[str, Any]:
    """A finished one-word answer, as a zero-latency upstream stand-in returns it."""
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "simple"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _serve(config: EmulatorConfig | None, port: int) -> None:
    from claude_router.emulator.server import serve

    serve(config, HOST, port, log_level="warning")


def _wait_ready(port: int, process: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"the emulator process exited during startup (code {process.exitcode})")
        try:
            with socket.create_connection((HOST, port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the emulator on port {port} did not start within {STARTUP_TIMEOUT_S:g} s")


@contextmanager
def emulator_process(config: EmulatorConfig | None = None) -> Iterator[str]:
    """The emulator served by a separate process on a free port; yields its base URL."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(config, port), daemon=True)
    process.start()
    try:
        _wait_ready(port, process)
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        process.join(10)


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100), linearly interpolated between the nearest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(at), math.ceil(at)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def ratio(value: float, baseline: float) -> float:
    """`value / baseline`, NaN when the baseline is zero (printed as "n/a")."""
    return value / baseline if baseline else math.nan


def fmt_ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"
