"""Run the official `anthropic` SDK's own API tests against the emulator and against the gateway.

    python3 scripts/sdk_tests.py [--target emulator|gateway|both]

The SDK's source distribution (`anthropic==2.17.0`, from PyPI) carries `tests/api_resources`: one
test per endpoint and parameter set, written to run against a mock server at `TEST_API_BASE_URL`.
This script downloads the sdist once into `.cache/sdk-tests/`, builds a separate virtualenv there
with the SDK and the test suite's own tools (pinned from the sdist's `requirements-dev.lock`, none of
them the project's dependencies), and runs the Messages, Message Batches and Models tests (the beta
variants too) with the suite's conventions:

- emulator: `claude-router emulate` on a free port;
- gateway:  `claude-router serve --no-auth` on a free port, its upstream the emulator.

A mock server answers any id; a real API does not. The cases that only a mock server can pass
(placeholder ids such as `message_batch_id`, or a model the SDK still lists that is retired today)
are listed in `scripts/sdk_tests_expected.txt`, one per line with its reason. The run fails when any
other case fails, or when a listed case passes (the list is then out of date).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SDK_VERSION = "2.17.0"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "sdk-tests"
EXPECTED = Path(__file__).with_name("sdk_tests_expected.txt")
PROJECT_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
#: The SDK's test modules that exercise what the emulator serves.
TEST_PATHS = (
    "tests/api_resources/test_messages.py",
    "tests/api_resources/test_models.py",
    "tests/api_resources/messages",
    "tests/api_resources/beta/test_messages.py",
    "tests/api_resources/beta/test_models.py",
    "tests/api_resources/beta/messages",
)
#: What the SDK's conftest and these tests import, at the versions of the sdist's lock file.
TEST_TOOLS = ("pytest", "pytest-asyncio", "respx", "inline-snapshot", "http-snapshot", "dirty-equals")


def log(message: str) -> None:
    print(f"sdk-tests: {message}", flush=True)


# ---- the SDK's sources and a virtualenv to run them ---------------------------------------------


def sdk_source() -> Path:
    """The unpacked sdist (downloaded on first use)."""
    unpacked = CACHE / f"anthropic-{SDK_VERSION}"
    if (unpacked / "tests" / "api_resources").is_dir():
        return unpacked
    dist = CACHE / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    archive = dist / f"anthropic-{SDK_VERSION}.tar.gz"
    if not archive.exists():
        log(f"downloading the anthropic {SDK_VERSION} sdist")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                f"anthropic=={SDK_VERSION}",
                "--no-binary",
                ":all:",
                "--no-deps",
                "-d",
                str(dist),
            ],
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    return unpacked


def locked_versions(source: Path, names: tuple[str, ...]) -> list[str]:
    """`name==version` for each of `names`, as the SDK's own lock file pins it."""
    lock = (source / "requirements-dev.lock").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", lock, re.MULTILINE))
    normal = {k.lower().replace("_", "-"): v for k, v in pins.items()}
    return [f"{name}=={normal[name]}" if name in normal else name for name in names]


def test_venv(source: Path) -> Path:
    """A virtualenv with the SDK (and its aiohttp extra) and the test suite's tools."""
    venv = CACHE / "venv"
    python = venv / "bin" / "python"
    stamp = venv / f".installed-{SDK_VERSION}"
    if stamp.exists():
        return python
    log("building the test virtualenv")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    tools = locked_versions(source, TEST_TOOLS)
    tools = [
        t.replace("http-snapshot", "http-snapshot[httpx]", 1) if t.startswith("http-snapshot") else t
        for t in tools
    ]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"anthropic[aiohttp]=={SDK_VERSION}", *tools],
        check=True,
    )
    stamp.touch()
    return python


# ---- the servers under test ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"sdk-tests: {what} exited with {process.returncode}")
        try:
            with socket.create_connection((HOST, port), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"sdk-tests: {what} did not start listening on {port}")


@contextmanager
def serving(args: list[str], env: dict[str, str], what: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(PROJECT_BIN / "claude-router"), *args, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port, process, what)
        yield f"http://{HOST}:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def target(name: str, home: Path) -> Iterator[str]:
    env = {**os.environ, "CLAUDE_ROUTER_HOME": str(home)}
    env = {k: v for k, v in env.items() if not k.startswith("ANTHROPIC_")}
    with serving(["emulate", "--host", HOST], env, "the emulator") as emulator:
        if name == "emulator":
            yield emulator
            return
        gateway_env = {
            **env,
            "CLAUDE_ROUTER_UPSTREAM__BASE_URL": emulator,
            "CLAUDE_ROUTER_UPSTREAM__API_KEY": "sk-sdk-tests",
        }
        with serving(
            ["serve", "--no-auth", "--host", HOST, "--log-level", "warning"], gateway_env, "the gateway"
        ) as url:
            yield url


# ---- running and judging ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    target: str
    pattern: str
    reason: str

    def matches(self, name: str, node: str) -> bool:
        """Patterns name a test without its parameters (`[loose]`, `[aiohttp]`): every variant matches."""
        return self.target in (name, "*") and fnmatch.fnmatchcase(node.split("[", 1)[0], self.pattern)


def expected_failures() -> list[Expected]:
    """`<target> <node id pattern>  # <reason>` per line of the expected-failures file."""
    found = []
    for raw in EXPECTED.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _, reason = line.partition("#")
        target_name, pattern = head.split(None, 1)
        if not reason.strip():
            raise SystemExit(f"sdk-tests: {EXPECTED.name}: no reason given for {pattern.strip()}")
        found.append(Expected(target_name, pattern.strip(), reason.strip()))
    return found


def outcomes(report: Path) -> dict[str, str]:
    """Node id -> passed / failed / skipped, from pytest's JUnit XML."""
    results: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)
        path = module[0].replace(".", "/") + ".py"
        node = f"{path}::{module[1]}::{case.get('name')}" if len(module) == 2 else case.get("name", "")
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                state = "failed"
            elif child.tag == "skipped":
                state = "skipped"
        results[node] = state
    return results


def run(name: str, python: Path, source: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="sdk-tests-") as scratch, target(name, Path(scratch)) as url:
        report = Path(scratch) / "report.xml"
        log(f"{name}: running the SDK's api_resources tests against {url}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        subprocess.run(
            [
                str(python),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                "-p",
                "tests._alias_httpx",
                "--tb=line",
                f"--junitxml={report}",
                *TEST_PATHS,
            ],
            cwd=source,
            env={**env, "TEST_API_BASE_URL": url},
            stdout=subprocess.DEVNULL,
            check=False,
        )
        results = outcomes(report)
    return judge(name, results, expected_failures())


def judge(name: str, results: dict[str, str], expected: list[Expected]) -> bool:
    listed = [e for e in expected if e.target in (name, "*")]
    unexpected: list[str] = []
    fixed: list[str] = []
    known: list[Expected] = []
    for node, state in sorted(results.items()):
        entry = next((e for e in listed if e.matches(name, node)), None)
        if state == "failed" and entry is None:
            unexpected.append(node)
        elif state == "failed" and entry is not None:
            known.append(entry)
        elif state == "passed" and entry is not None:
            fixed.append(node)
    counts = {s: sum(1 for v in results.values() if v == s) for s in ("passed", "failed", "skipped")}
    log(
        f"{name}: {counts['passed']} passed, {counts['failed']} failed "
        f"({len(known)} expected, {len(unexpected)} unexpected), {counts['skipped']} skipped"
    )
    reasons: dict[str, int] = {}
    for entry in known:
        reasons[entry.reason] = reasons.get(entry.reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        log(f"{name}:   expected x{count}: {reason}")
    for node in unexpected:
        log(f"{name}: UNEXPECTED FAILURE {node}")
    for node in fixed:
        log(f"{name}: NOW PASSES (remove it from {EXPECTED.name}): {node}")
    return not unexpected and not fixed and bool(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=("emulator", "gateway", "both"), default="both")
    args = parser.parse_args()
    source = sdk_source()
    python = test_venv(source)
    names = ("emulator", "gateway") if args.target == "both" else (args.target,)
    ok = [run(name, python, source) for name in names]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
