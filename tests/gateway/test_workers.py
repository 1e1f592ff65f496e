"""`claude-router serve --workers 2`: two processes on one port, sharing limits and budgets in Redis.

The server runs as a user runs it (its own process, its workers spawned by uvicorn's supervisor),
in front of the emulator; which worker holds a connection is read from /proc."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from subprocess import PIPE

import httpx2
import pytest

from claude_router.config import Settings
from claude_router.gateway.budgets import KEY, ledger_spend
from claude_router.gateway.commands import shared_by_workers
from claude_router.gateway.keys import KeyStore, NewKey, Period
from claude_router.gateway.worst_case import WorstCase
from claude_router.routing.router import Router
from claude_router.types import RequestMeta
from cli_runner import run_cli

from .conftest import SIMPLE, UPSTREAM_KEY, ask
from .test_serve import STARTUP_S, free_port

BODY = ask(SIMPLE, max_tokens=64)
CONNECTIONS = 16


@dataclass
class Served:
    url: str
    port: int
    process: asyncio.subprocess.Process
    ledger: str

    def workers(self) -> list[int]:
        """The worker processes (uvicorn's spawned children, not multiprocessing's tracker)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]

    async def ready(self) -> bool:
        """Both workers serving (each of 4 fresh connections answered, whichever worker took it)."""
        statuses = []
        for _ in range(4):
            async with httpx2.AsyncClient(base_url=self.url, timeout=30) as fresh:
                statuses.append((await fresh.get("/readyz")).status_code)
        return statuses == [200] * 4 and len(self.workers()) == 2

    def connections_held(self, pid: int) -> int:
        """Established connections to the gateway's port among `pid`'s open sockets."""
        fds = Path(f"/proc/{pid}/fd")
        sockets = {os.readlink(fd) for fd in fds.iterdir()}
        held = 0
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
            if local_port == self.port and state == "01" and f"socket:[{inode}]" in sockets:
                held += 1
        return held


@pytest.fixture
async def served(
    tmp_path: Path, emulator_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Served]:
    ledger = str(tmp_path / "ledger.db")
    await (await KeyStore.open(ledger)).close()  # created and migrated before the keys are written
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    env |= {
        "CLAUDE_ROUTER_HOME": str(tmp_path),
        "CLAUDE_ROUTER_LEDGER__URL": ledger,
        "CLAUDE_ROUTER_UPSTREAM__BASE_URL": emulator_url,
        "CLAUDE_ROUTER_UPSTREAM__API_KEY": UPSTREAM_KEY,
        "CLAUDE_ROUTER_UPSTREAM__MAX_RETRIES": "0",
        "CLAUDE_ROUTER_GATEWAY__REDIS_URL": redis_url,
        "CLAUDE_ROUTER_GATEWAY__REDIS_PREFIX": f"{redis_prefix}:gw",
    }
    port = free_port()
    command = ["-m", "claude_router.cli", "serve", "--port", str(port), "--workers", "2"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, env=env, stdout=PIPE, stderr=PIPE, start_new_session=True
    )  # a session of its own: Ctrl-C is a SIGINT to its whole process group, as a terminal sends it
    url = f"http://127.0.0.1:{port}"
    served = Served(url, port, process, ledger)
    try:
        for _ in range(int(STARTUP_S / 0.1)):
            if process.returncode is not None:
                break
            try:
                if await served.ready():
                    break
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.1)
        yield served
    finally:
        if process.returncode is None:
            process.terminate()
            await process.communicate()


def answered(metrics: str) -> int:
    """The Messages requests `/metrics` counts, whatever their model, label and status."""
    counted = 0.0
    for line in metrics.splitlines():
        if line.startswith("claude_router_requests_total{") and 'endpoint="messages"' in line:
            counted += float(line.rsplit(" ", 1)[1])
    return int(counted)


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def new_key(ledger: str, **limits: object) -> NewKey:
    store = await KeyStore.open(ledger)
    try:
        return await store.create("acme", **limits)  # type: ignore[arg-type]
    finally:
        await store.close()


def worst_case(ledger: str) -> Decimal:
    """What the gateway reserves for `BODY`: the budget's unit."""
    router = Router(Settings(ledger={"url": ledger}))
    size = len(httpx2.Request("POST", "http://x", json=BODY).content)
    return WorstCase(router.settings, router.policy, router.prices).cost(BODY, size, RequestMeta())


async def stop(served: Served) -> str:
    served.process.terminate()
    _, stderr = await asyncio.wait_for(served.process.communicate(), 30)
    return stderr.decode()


@pytest.mark.slow
@pytest.mark.redis
async def test_both_workers_answer_and_sigterm_stops_them_all(served: Served) -> None:
    workers = served.workers()
    assert len(workers) == 2
    key = await new_key(served.ledger)
    limits = httpx2.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx2.AsyncClient(base_url=served.url, timeout=30, limits=limits) as http:
        headers = {"x-api-key": key.key}
        answers = await asyncio.gather(
            *(http.post("/v1/messages", json=BODY, headers=headers) for _ in range(48))
        )
        assert [r.status_code for r in answers] == [200] * 48
        held = [served.connections_held(pid) for pid in workers]  # the client's connections, still open
        metrics = [(await http.get("/metrics")).text for _ in range(4)]
    assert all(n > 0 for n in held), held
    assert [answered(text) for text in metrics] == [48] * 4  # whichever worker answers, it sums both

    text = await stop(served)
    assert served.process.returncode == 0
    assert "Traceback" not in text
    assert "2 workers" in text
    assert not any(running(pid) for pid in workers)  # the supervisor waited for each


@pytest.mark.slow
@pytest.mark.redis
async def test_a_budget_holds_across_both_workers(served: Served) -> None:
    worst = worst_case(served.ledger)
    budget = (worst * Decimal("2.5")).quantize(Decimal("0.000001"))
    spender = await new_key(served.ledger, budget_usd=budget, period=Period.DAY)
    limits = httpx2.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx2.AsyncClient(base_url=served.url, timeout=30, limits=limits) as http:
        headers = {"x-api-key": spender.key}
        answers = await asyncio.gather(
            *(http.post("/v1/messages", json=BODY, headers=headers) for _ in range(30))
        )
        held = [served.connections_held(pid) for pid in served.workers()]
    assert all(n > 0 for n in held), held  # both workers took requests
    ok = [r for r in answers if r.status_code == 200]
    assert 2 <= len(ok) < 30
    assert all(r.status_code == 429 for r in answers if r.status_code != 200)

    await stop(served)  # each worker flushes its ledger rows as it stops
    store = await KeyStore.open(served.ledger)
    try:
        spent = await ledger_spend(store.engine)(KEY, spender.info.key_id, None)
    finally:
        await store.close()
    assert Decimal(0) < spent <= budget


def test_more_than_one_worker_without_redis_is_refused_in_one_line(tmp_path: Path) -> None:
    ran = run_cli("serve", "--workers", "2", "--port", str(free_port()), home=tmp_path)
    assert ran.returncode != 0
    lines = ran.stderr.strip().splitlines()
    assert lines[-1] == (
        "error: --workers 2 needs gateway.redis_url (CLAUDE_ROUTER_GATEWAY__REDIS_URL): "
        "the workers share their rate limits and budgets there"
    )
    assert "Traceback" not in ran.stderr
    assert not (tmp_path / "ledger.db").exists()  # refused before opening anything


@pytest.mark.slow
@pytest.mark.redis
async def test_a_worker_that_dies_is_replaced_and_ctrl_c_stops_them_all(served: Served) -> None:
    first, second = served.workers()
    os.kill(first, signal.SIGKILL)
    for _ in range(int(STARTUP_S / 0.2)):
        workers = served.workers()
        if first not in workers and len(workers) == 2 and await served.ready():
            break
        await asyncio.sleep(0.2)
    workers = served.workers()
    assert first not in workers
    assert second in workers
    assert len(workers) == 2

    os.killpg(served.process.pid, signal.SIGINT)  # Ctrl-C: the supervisor and both workers get it
    _, stderr = await asyncio.wait_for(served.process.communicate(), 30)
    text = stderr.decode()
    assert served.process.returncode == 130
    assert text.splitlines()[-1] == "interrupted"
    assert "Traceback" not in text
    assert not any(running(pid) for pid in workers)


def test_workers_share_cache_affinity_at_the_gateways_redis_unless_told_otherwise() -> None:
    redis = "redis://127.0.0.1:6379/15"
    one = Settings(gateway={"redis_url": redis})
    assert shared_by_workers(one) == one
    two = shared_by_workers(Settings(gateway={"workers": 2, "redis_url": redis, "redis_prefix": "acme:gw"}))
    assert two.cache_affinity.redis_url == redis
    assert two.cache_affinity.redis_prefix == "acme:gw:affinity:"
    unprefixed = shared_by_workers(Settings(gateway={"workers": 2, "redis_url": redis}))
    assert unprefixed.cache_affinity.redis_prefix is None  # the component's own default prefix
    elsewhere = Settings(
        gateway={"workers": 2, "redis_url": redis}, cache_affinity={"redis_url": "redis://other/0"}
    )
    assert shared_by_workers(elsewhere) == elsewhere
