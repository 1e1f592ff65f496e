"""The real clients, installed once and cached under `.cache/clients/` (gitignored).

- Node: Claude Code's CLI and the TypeScript SDK, `npm ci` from the committed `node/package.json`
  and `node/package-lock.json` into `.cache/clients/node/<hash of both>/`.
- Python: langchain-anthropic and pydantic-ai, a virtualenv built from the committed, fully pinned
  `python/requirements.txt` into `.cache/clients/python/<hash of it and the interpreter>/`; none
  of them is a dependency of the project.

A cache directory whose stamp file exists is used as it is, with no network at all; a changed
lock file gets a new directory, and the older ones are removed once it is complete. A missing
tool (node, npm) or a failed install raises `Unavailable` with its reason: the tests that need it
skip, or fail under CI.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".cache" / "clients"
NODE_SOURCES = (HERE / "node" / "package.json", HERE / "node" / "package-lock.json")
PYTHON_REQUIREMENTS = HERE / "python" / "requirements.txt"
STAMP = ".installed"
INSTALL_TIMEOUT_S = 900
MIN_NODE_MAJOR = 18


class Unavailable(Exception):
    """A runtime that cannot be had here, and why."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """An installed set of clients: where it is, and whether this run had to install it."""

    kind: str
    home: Path
    installed: bool  # True: installed by this run (network); False: taken from the cache
    seconds: float

    def describe(self) -> str:
        if self.installed:
            return f"{self.kind} clients installed into {self.home} ({self.seconds:.0f} s, network)"
        return f"{self.kind} clients reused from {self.home} (cached: no install, no network)"


@dataclass(frozen=True, slots=True)
class NodeRuntime(Runtime):
    node: Path = Path()

    @property
    def modules(self) -> Path:
        return self.home / "node_modules"

    @property
    def claude(self) -> Path:
        """Claude Code's native binary, from the platform package npm picked for this machine (the
        wrapper's postinstall, which copies it into place, is not run)."""
        found = sorted(self.modules.glob("@anthropic-ai/claude-code-*/claude"))
        return next((p for p in found if os.access(p, os.X_OK)), self.modules / ".bin" / "claude")


@dataclass(frozen=True, slots=True)
class PythonRuntime(Runtime):
    @property
    def python(self) -> Path:
        return self.home / "venv" / "bin" / "python"


def digest(*parts: bytes) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(hashlib.sha256(part).digest())
    return hashed.hexdigest()[:16]


def node_runtime() -> NodeRuntime:
    """Claude Code and the TypeScript SDK, from the cache or installed now."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise Unavailable("node and npm are not on PATH")
    major = _node_major(node)
    if major < MIN_NODE_MAJOR:
        raise Unavailable(f"node {major} is too old (the clients need {MIN_NODE_MAJOR} or later)")
    key = digest(*(path.read_bytes() for path in NODE_SOURCES))
    home = CACHE / "node" / key

    def install(target: Path) -> None:
        for source in NODE_SOURCES:
            shutil.copy2(source, target / source.name)
        # No install scripts: Claude Code's binary comes ready in its platform package.
        _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], target)

    runtime = _cached("node", home, install)
    return NodeRuntime(runtime.kind, runtime.home, runtime.installed, runtime.seconds, Path(node))


def python_runtime() -> PythonRuntime:
    """A virtualenv with langchain-anthropic and pydantic-ai, from the cache or built now."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}".encode()
    key = digest(PYTHON_REQUIREMENTS.read_bytes(), version)
    home = CACHE / "python" / key

    def install(target: Path) -> None:
        venv = target / "venv"
        _run([sys.executable, "-m", "venv", str(venv)], target)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _run([*pip, "-r", str(PYTHON_REQUIREMENTS)], target)

    runtime = _cached("python", home, install)
    return PythonRuntime(runtime.kind, runtime.home, runtime.installed, runtime.seconds)


def _cached(kind: str, home: Path, install: Callable[[Path], None]) -> Runtime:
    """`home` as it is when its stamp exists, else emptied, built by `install(home)` and stamped."""
    if (home / STAMP).exists():
        return Runtime(kind, home, installed=False, seconds=0.0)
    home.parent.mkdir(parents=True, exist_ok=True)
    with _locked(home.parent / ".lock"):
        if (home / STAMP).exists():  # another run finished it while this one waited
            return Runtime(kind, home, installed=False, seconds=0.0)
        started = time.monotonic()
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        try:
            install(home)
        except Unavailable:
            shutil.rmtree(home, ignore_errors=True)
            raise
        (home / STAMP).write_text(f"installed in {time.monotonic() - started:.1f} s\n", encoding="utf-8")
        for stale in home.parent.iterdir():  # earlier lock files' installs
            if stale.is_dir() and stale != home:
                shutil.rmtree(stale, ignore_errors=True)
        return Runtime(kind, home, installed=True, seconds=time.monotonic() - started)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_REQUIRE_VIRTUALENV", "NODE_ENV"))}
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{' '.join(command[:3])} failed: {exc}") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise Unavailable(f"{' '.join(command[:3])} exited with {done.returncode}: {tail}")


def _node_major(node: str) -> int:
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        return int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0
