"""Failed jobs are not lost for good: `batch retry` queues a batch's failed requests again (on SQLite
and Redis), and a worker without working credentials refuses to start or stops at once, leaving
every job queued, instead of failing a whole batch in a second."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from claude_router.batch import JobError, JobQueue, MessageBatchRef, StatusCounts, open_queue
from claude_router.config import QueueSettings
from claude_router.emulator.config import EmulatorConfig, FaultConfig
from claude_router.emulator.server import emulator_thread
from cli_support import invoke

from .conftest import make_jobs


@pytest.fixture(params=["sqlite", "redis"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A queue on SQLite, or on the test Redis database (a stream of its own: nothing is flushed)."""
    if request.param == "sqlite":
        return str(tmp_path / "queue.db")
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
def name() -> str:
    return f"retry-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def queue(target: str, name: str) -> AsyncIterator[JobQueue]:
    opened = await open_queue(target, QueueSettings(name=name))
    yield opened
    await opened.close()


async def test_retry_queues_failed_and_parked_jobs_again_as_new(queue: JobQueue) -> None:
    await queue.submit("b1", make_jobs("b1", 4))
    await queue.submit("b2", make_jobs("b2", 1))
    claimed = {job.id: job for job in await queue.claim("w1", 10)}
    assert len(claimed) == 5
    await queue.record_message_batch("w1", {"b1-0": MessageBatchRef("msgbatch_1", "b1-0")})
    await queue.fail("b1-0", JobError("invalid_request_error", "no"), retry=False)
    await queue.fail("b1-1", JobError("overloaded_error", "busy"), retry=False)
    await queue.ack("b1-2", {"message": {}})
    await queue.fail("b2-0", JobError("invalid_request_error", "no"), retry=False)  # another batch

    assert await queue.retry("b1") == 2

    assert await queue.batch_status("b1") == StatusCounts(queued=2, leased=1, done=1)
    assert await queue.batch_status("b2") == StatusCounts(failed=1)
    again = {job.id: job for job in await queue.claim("w2", 10)}
    assert set(again) == {"b1-0", "b1-1"}
    assert {job.attempts for job in again.values()} == {1}  # counted afresh from 0
    assert again["b1-0"].message_batch is None  # sent afresh, not polled in the old Message Batch
    assert await queue.retry("b1") == 0  # nothing failed any more


def test_batch_retry_runs_failed_requests_again(tmp_path: Path, target: str, name: str) -> None:
    env = {"CLAUDE_ROUTER_QUEUE__NAME": name, "CLAUDE_ROUTER_QUEUE__MAX_ATTEMPTS": "1"}
    lines = [{"max_tokens": 16, "messages": [{"role": "user", "content": f"Is {i} even?"}]} for i in range(3)]
    source = tmp_path / "r.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    queue = ("--queue", target)

    submitted = invoke("batch", "submit", str(source), *queue, "--batch-id", "b1", home=tmp_path, **env)
    assert submitted.exit_code == 0, submitted.output
    failing = EmulatorConfig(faults=FaultConfig(api_error=1.0))  # every request: a 500
    with emulator_thread(failing) as url:
        upstream = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-emulator"}
        ran = invoke("worker", "--once", *queue, home=tmp_path, **env, **upstream)
    assert ran.exit_code == 0, ran.output
    status = json.loads(invoke("batch", "status", "b1", "--json", *queue, home=tmp_path, **env).output)
    assert (status["done"], status["failed"] + status["parked"]) == (0, 3)

    retried = invoke("batch", "retry", "b1", *queue, home=tmp_path, **env)
    assert retried.exit_code == 0, retried.output
    assert retried.output == "queued 3 failed requests of b1 again\n"
    with emulator_thread(EmulatorConfig()) as url:
        upstream = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "sk-emulator"}
        ran = invoke("worker", "--once", *queue, home=tmp_path, **env, **upstream)
    assert ran.exit_code == 0, ran.output
    status = json.loads(invoke("batch", "status", "b1", "--json", *queue, home=tmp_path, **env).output)
    assert (status["done"], status["failed"], status["parked"]) == (3, 0, 0)
    missing = invoke("batch", "retry", "nope", *queue, home=tmp_path, **env)
    assert (missing.exit_code, missing.output) == (2, "error: no batch 'nope' in this queue\n")


def submit_two(tmp_path: Path) -> None:
    lines = [{"max_tokens": 16, "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(2)]
    source = tmp_path / "r.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert invoke("batch", "submit", str(source), "--batch-id", "b1", home=tmp_path).exit_code == 0


def queued(tmp_path: Path) -> StatusCounts:
    status = json.loads(invoke("batch", "status", "b1", "--json", home=tmp_path).output)
    return StatusCounts.from_mapping(status)


def test_a_worker_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    submit_two(tmp_path)
    result = invoke("worker", "--once", home=tmp_path, ANTHROPIC_BASE_URL="http://127.0.0.1:9")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(
        "error: no API key for the upstream at http://127.0.0.1:9"
    )
    assert queued(tmp_path) == StatusCounts(queued=2)


def test_a_worker_whose_key_is_refused_stops_and_leaves_the_jobs_queued(tmp_path: Path) -> None:
    submit_two(tmp_path)
    locked = EmulatorConfig(require_api_key=True, api_keys=["sk-right"])
    with emulator_thread(locked) as url:
        result = invoke(
            "worker", "--once", home=tmp_path, ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-wrong-key"
        )
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("error: the API refused the key (401")
    assert "check ANTHROPIC_API_KEY" in result.output
    assert "sk-wrong-key" not in result.output
    assert queued(tmp_path) == StatusCounts(queued=2)
    jobs = [json.loads(line) for line in invoke("batch", "results", "b1", home=tmp_path).stdout.splitlines()]
    assert {job["result"]["type"] for job in jobs} == {"pending"}
