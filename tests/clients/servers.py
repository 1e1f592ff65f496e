"""What the real clients talk to: the emulator, and `claude-router serve` in front of it.

- `Upstream`: the project's emulator on a free port, in a thread of the test process, keys
  required (the bad-key scenarios need a key it refuses). It records every request it receives
  (path with query, headers, JSON body), so a test can see what reached the upstream through a
  gateway: the betas, the API version, the turns.
- `Gateway`: `claude-router serve` as its own process on a free port, upstream the emulator, with
  its own data directory (ledger and keys); with authentication on, one virtual key made by
  `claude-router keys create`. `rows()` reads its ledger with the project's ledger API.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claude_router.emulator import EmulatorConfig, create_app
from claude_router.ledger import SqlLedger
from claude_router.types import UsageRecord

HOST = "127.0.0.1"
STARTUP_S = 30.0
UPSTREAM_KEY = "sk-ant-real-clients-upstream"
CUSTOMER = "real-clients"


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the upstream received it."""

    method: str
    path: str  # with its query string
    headers: dict[str, str]
    body: Any


class _Recorder:
    """ASGI middleware: keeps each HTTP request (its body re-sent to the app unchanged)."""

    def __init__(self, app: ASGIApp, seen: list[Seen]) -> None:
        self.app = app
        self.seen = seen
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = scope["path"] + (f"?{query}" if query else "")
        with self._lock:
            self.seen.append(Seen(scope["method"], path, headers, body))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


@dataclass
class Upstream:
    url: str
    key: str
    seen: list[Seen] = field(default_factory=list)

    def requests(self, path_prefix: str = "/v1/messages") -> list[Seen]:
        return [s for s in list(self.seen) if s.path.startswith(path_prefix)]


@contextmanager
def upstream() -> Iterator[Upstream]:
    """The emulator (today's API, keys required) on a free port, in a background thread."""
    found = Upstream("", UPSTREAM_KEY)
    app = _Recorder(create_app(EmulatorConfig(require_api_key=True, api_keys=[UPSTREAM_KEY])), found.seen)
    with _serving(app) as url:
        found.url = url
        yield found


@contextmanager
def _serving(app: ASGIApp) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    ready: queue.Queue[BaseException | None] = queue.Queue()

    async def main() -> None:
        try:
            config.load()
            server.lifespan = config.lifespan_class(config)
            await server.startup(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - a thread boundary: handed to the caller
            ready.put(exc)
            return
        ready.put(None)
        await server.main_loop()
        await server.shutdown(sockets=[sock])

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    failed = ready.get(timeout=STARTUP_S)
    try:
        if failed is not None:
            raise failed
        yield f"http://{HOST}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_S)
        sock.close()


@dataclass
class Gateway:
    url: str
    home: Path
    key: str | None  # the virtual key; None: --no-auth
    process: subprocess.Popen[bytes]
    log: Any = None  # the open log file

    def rows(self, task_ids: set[str] | None = None) -> list[UsageRecord]:
        """The ledger's records (of these task ids), oldest first."""
        path = self.home / "ledger.db"
        return asyncio.run(_read_rows(path, task_ids)) if path.exists() else []

    def count(self, task_prefix: str) -> int:
        """Rows whose task id starts with `task_prefix`, plus batch rows (they carry no task id): a
        cheap read, for waiting until a client's rows are all written."""
        path = self.home / "ledger.db"
        if not path.exists():
            return 0
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            query = "SELECT count(*) FROM usage WHERE task_id LIKE ? OR batch"
            (found,) = db.execute(query, (task_prefix.replace("%", "") + "%",)).fetchone()
        return int(found)


async def _read_rows(path: Path, task_ids: set[str] | None) -> list[UsageRecord]:
    store = await SqlLedger.open(path)
    try:
        rows = await store.rows()
    finally:
        await store.close()
    return sorted((r for r in rows if task_ids is None or r.task_id in task_ids), key=lambda r: r.created_at)


def cli(*args: str) -> list[str]:
    """The project's command, as installed beside this interpreter."""
    return [str(Path(sys.executable).with_name("claude-router")), *args]


def gateway_env(home: Path, upstream_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_ROUTER_"))}
    env.update(
        CLAUDE_ROUTER_HOME=str(home),
        CLAUDE_ROUTER_UPSTREAM__BASE_URL=upstream_url,
        CLAUDE_ROUTER_UPSTREAM__API_KEY=UPSTREAM_KEY,
    )
    return env


def create_key(home: Path, upstream_url: str) -> str:
    """A virtual key, made as a user makes one: `claude-router keys create --json`."""
    done = subprocess.run(
        cli("keys", "create", "--customer", CUSTOMER, "--json"),
        env=gateway_env(home, upstream_url),
        capture_output=True,
        text=True,
        timeout=STARTUP_S,
        check=True,
    )
    key: str = json.loads(done.stdout)["key"]
    return key


def start_gateway(home: Path, upstream_url: str, *, auth: bool) -> Gateway:
    """`claude-router serve` on a free port, ready when its /readyz answers."""
    home.mkdir(parents=True, exist_ok=True)
    key = create_key(home, upstream_url) if auth else None
    port = free_port()
    args = ["serve", "--host", HOST, "--port", str(port), "--log-level", "warning"]
    log = (home / "gateway.log").open("wb")
    process = subprocess.Popen(
        cli(*args, *([] if auth else ["--no-auth"])),
        env=gateway_env(home, upstream_url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    gateway = Gateway(f"http://{HOST}:{port}", home, key, process, log)
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _ready(port):
            return gateway
        time.sleep(0.1)
    stop_gateway(gateway)
    tail = (home / "gateway.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"claude-router serve did not become ready: {tail}")


def stop_gateway(gateway: Gateway) -> None:
    if gateway.process.poll() is None:
        gateway.process.terminate()
        try:
            gateway.process.wait(STARTUP_S)
        except subprocess.TimeoutExpired:
            gateway.process.kill()
            gateway.process.wait()
    if gateway.log is not None:
        gateway.log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), 0.5) as sock:
            sock.sendall(f"GET /readyz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
