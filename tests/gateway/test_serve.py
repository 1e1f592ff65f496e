"""`claude-router serve` as a user runs it: its own process, the embedded emulator, loud warnings,
and the address it listens on."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from subprocess import PIPE

import anthropic
import httpx2
import pytest

from .conftest import SIMPLE, ask

pytestmark = pytest.mark.slow  # starts processes

STARTUP_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    env["CLAUDE_ROUTER_HOME"] = str(tmp_path)
    port = free_port()
    command = ["-m", "claude_router.cli", "serve", "--port", str(port), "--no-auth"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, env=env, stdout=PIPE, stderr=PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx2.AsyncClient(base_url=url) as http:
            for _ in range(int(STARTUP_S / 0.1)):
                if process.returncode is not None:
                    break
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                await asyncio.sleep(0.1)
        yield url, process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.communicate()


async def test_serve_without_a_key_uses_the_emulator_and_says_so(
    served: tuple[str, asyncio.subprocess.Process],
) -> None:
    url, process = served
    async with anthropic.AsyncAnthropic(base_url=url, api_key="unused", max_retries=0) as client:
        raw = await client.messages.with_raw_response.create(**ask(SIMPLE))
    assert raw.headers["x-router-label"] == "simple"
    async with httpx2.AsyncClient(base_url=url) as http:
        ready = (await http.get("/readyz")).json()
    assert ready["emulated"] is True
    process.terminate()
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    text = " ".join(stderr.decode().split())
    assert "EMULATOR" in text
    assert "authentication is OFF" in text
    assert f"gateway listening on {url} (upstream: the built-in emulator at http://127.0.0.1:" in text
    assert process.returncode in (0, -signal.SIGTERM)  # uvicorn stops cleanly, then re-raises the signal
    assert "Traceback" not in text


async def test_ctrl_c_stops_it_within_a_second_with_one_line(
    served: tuple[str, asyncio.subprocess.Process],
) -> None:
    _, process = served
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert time.monotonic() - started < 1.0
    assert process.returncode == 130
    text = stderr.decode()
    assert text.splitlines()[-1] == "interrupted"
    assert "Traceback" not in text
