"""Running the client programs against the three targets, and judging each of their outcomes.

All the selected clients' programs start together, as soon as the services are up (`Launcher`): each
runs every scenario it has against the emulator and both gateways, and most of their time is spent
waiting on the network and on their own start-up, so side by side they take little longer than the
slowest of them. A test module then waits for its own client (`Launcher.finish`) and judges each
scenario on each target (`judge`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

import pytest

from claude_router.types import UsageRecord

from . import matrix
from .runtimes import HERE, NodeRuntime, PythonRuntime, Runtime, Unavailable, node_runtime, python_runtime
from .scenarios import EMULATOR, MODELS, TARGETS, Context, check
from .servers import Gateway, Upstream

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BAD_KEY = "sk-ant-real-clients-not-a-key"
PROGRAM_TIMEOUT_S = 240
LEDGER_QUIET_S = 0.5
LEDGER_WAIT_S = 10.0
CLAUDE_CODE_CONCURRENCY = 4  # CLI runs at once
NODE_CLIENTS = frozenset({"typescript-sdk", "claude-code"})
VENV_CLIENTS = frozenset({"langchain", "pydantic-ai"})


@dataclass
class Services:
    upstream: Upstream
    gateways: dict[str, Gateway]
    workspace: Path

    def endpoint(self, target: str) -> dict[str, Any]:
        if target == EMULATOR:
            return {"base_url": self.upstream.url, "key": self.upstream.key, "gateway": False}
        gateway = self.gateways[target]
        return {"base_url": gateway.url, "key": gateway.key or "sk-no-virtual-key", "gateway": True}


def plan(client: str, services: Services, **extra: Any) -> dict[str, Any]:
    targets = [{"name": t, **services.endpoint(t), "scenarios": matrix.planned(client, t)} for t in TARGETS]
    return {"client": client, "bad_key": BAD_KEY, "models": MODELS, "targets": targets, **extra}


@dataclass
class Run:
    """A client program's outcomes, and each gateway's ledger once its requests were written."""

    client: str
    outcomes: dict[str, Any]
    ledgers: dict[str, list[UsageRecord]]


@dataclass
class _Program:
    client: str
    process: subprocess.Popen[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    run: Run | None = None


@dataclass
class Launcher:
    services: Services
    scratch: Path
    notes: list[str] = field(default_factory=list)  # what each runtime took: cached or installed
    _programs: dict[str, _Program] = field(default_factory=dict)
    _unavailable: dict[str, str] = field(default_factory=dict)

    def start(self, clients: set[str]) -> None:
        """Install (or find cached) the runtimes `clients` need, then start every program."""
        runtimes = self._runtimes(clients)
        for client in sorted(clients):
            try:
                command, env, extra = self._command(client, runtimes)
            except Unavailable as exc:
                self._unavailable[client] = str(exc)
                continue
            self._programs[client] = self._spawn(client, command, env, plan(client, self.services, **extra))

    def finish(self, client: str) -> Run:
        """The client's outcomes (waiting for its program), or `Unavailable` with the reason."""
        if client in self._unavailable:
            raise Unavailable(self._unavailable[client])
        program = self._programs[client]
        if program.run is None:
            program.run = self._collect(program)
        return program.run

    def close(self) -> None:
        for program in self._programs.values():
            if program.process.poll() is None:
                program.process.kill()
                program.process.wait()
            program.stdout.close()
            program.stderr.close()

    # ---- starting -------------------------------------------------------------------------------

    def _runtimes(self, clients: set[str]) -> dict[str, Runtime | Unavailable]:
        """The Node and Python runtimes the clients need, installed side by side when not cached."""
        wanted: dict[str, Callable[[], Runtime]] = {}
        if clients & NODE_CLIENTS:
            wanted["node"] = node_runtime
        if clients & VENV_CLIENTS:
            wanted["python"] = python_runtime
        found: dict[str, Runtime | Unavailable] = {}

        def get(kind: str) -> None:
            try:
                runtime = wanted[kind]()
            except Unavailable as exc:
                found[kind] = exc
                self.notes.append(f"{kind} clients unavailable: {exc}")
                return
            found[kind] = runtime
            self.notes.append(runtime.describe())

        threads = [threading.Thread(target=get, args=(kind,)) for kind in wanted]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return found

    def _command(
        self, client: str, runtimes: dict[str, Runtime | Unavailable]
    ) -> tuple[list[str], dict[str, str], dict[str, Any]]:
        if client == "python-sdk":  # the project's own dependency, in the project's interpreter
            return [sys.executable, str(HERE / "python" / "anthropic_sdk.py")], {}, {}
        kind = "node" if client in NODE_CLIENTS else "python"
        runtime = runtimes[kind]
        if isinstance(runtime, Unavailable):
            raise runtime
        if isinstance(runtime, PythonRuntime):
            script = "langchain_client.py" if client == "langchain" else "pydantic_ai_client.py"
            return [str(runtime.python), str(HERE / "python" / script)], {}, {}
        assert isinstance(runtime, NodeRuntime)
        env = {"NODE_PATH": str(runtime.modules)}
        if client == "typescript-sdk":
            return [str(runtime.node), str(HERE / "node" / "typescript_sdk.cjs")], env, {}
        extra = {
            "claude": str(runtime.claude),
            "workspace": str(self.services.workspace),
            "concurrency": CLAUDE_CODE_CONCURRENCY,
        }
        return [str(runtime.node), str(HERE / "node" / "claude_code.cjs")], env, extra

    def _spawn(self, client: str, command: list[str], env: dict[str, str], plan_: dict[str, Any]) -> _Program:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
        stdin = self.scratch / f"{client}.plan.json"
        stdin.write_text(json.dumps(plan_), encoding="utf-8")
        stdout = (self.scratch / f"{client}.out.json").open("w+b")
        stderr = (self.scratch / f"{client}.err.txt").open("w+b")
        with stdin.open("rb") as given:
            process = subprocess.Popen(
                command, stdin=given, stdout=stdout, stderr=stderr, env={**clean, **env}
            )
        return _Program(client, process, stdout, stderr)

    # ---- collecting -----------------------------------------------------------------------------

    def _collect(self, program: _Program) -> Run:
        try:
            code = program.process.wait(PROGRAM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            program.process.kill()
            code = program.process.wait()
        program.stdout.seek(0)
        program.stderr.seek(0)
        out = program.stdout.read().decode("utf-8", "replace").strip()
        if code != 0 or not out:
            error = program.stderr.read().decode("utf-8", "replace")[-3000:]
            raise RuntimeError(f"the {program.client} program exited with {code}: {error}")
        outcomes: dict[str, Any] = json.loads(out.splitlines()[-1])
        return Run(program.client, outcomes, self._ledgers(program.client))

    def _ledgers(self, client: str) -> dict[str, list[UsageRecord]]:
        """Each gateway's ledger once the rows of this client's requests stop arriving (a gateway
        writes a row a moment after it answers; batch rows when their results are fetched)."""
        found: dict[str, list[UsageRecord]] = {}
        for name, gateway in self.services.gateways.items():
            count = gateway.count(f"{client}/")
            deadline = time.monotonic() + LEDGER_WAIT_S
            while time.monotonic() < deadline:
                time.sleep(LEDGER_QUIET_S)
                now = gateway.count(f"{client}/")
                if now == count:
                    break
                count = now
            found[name] = gateway.rows()
        return found


def judge(run: Run, scenario: str, target: str, services: Services) -> None:
    """Check one scenario's outcome, with the gateway's ledger and what reached the upstream."""
    ctx = Context(run.client, scenario, target, upstream=services.upstream.requests())
    if ctx.gateway:
        ctx.ledger = run.ledgers[target]
    check(run.outcomes.get(target, {}).get(scenario), ctx)


def client_run(launched: Launcher, client: str) -> Run:
    """A client's outcomes; skips (fails under CI=true) when the client cannot be run here."""
    try:
        return launched.finish(client)
    except Unavailable as exc:
        unavailable(f"{client} is unavailable: {exc}")


def unavailable(reason: str) -> NoReturn:
    """Skip for `reason`; under CI=true, fail: there the real clients are required."""
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true requires the real clients", pytrace=False)
    pytest.skip(reason)
