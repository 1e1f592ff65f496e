"""`batch submit|status|results|cancel` and `worker`, run as a user runs them, through the
console entry point (in this process: `cli_runner`), on the embedded defaults (SQLite queue and
ledger in CLAUDE_ROUTER_HOME, the built-in emulator). Real worker processes, stopped by signals
and killed, are in test_worker_processes.py and test_worker_stop.py."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Ran, run_cli


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def request(text: str, **extra: Any) -> dict[str, Any]:
    return {"max_tokens": 32, "messages": [{"role": "user", "content": text}], **extra}


def ok(done: Ran) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_submit_then_worker_then_results_in_input_order_with_one_ledger_row_each(tmp_path: Path) -> None:
    lines = [request(f"What is {i} times {i}?", custom_id=f"q{i}") for i in range(12)]
    lines.insert(5, request("anything", model="claude-nope", custom_id="bad"))
    lines.append(request("no custom id"))
    source = write_jsonl(tmp_path / "requests.jsonl", lines)

    batch_id = ok(run_cli("batch", "submit", str(source), home=tmp_path)).strip()
    assert batch_id.startswith("batch_")
    status = json.loads(ok(run_cli("batch", "status", batch_id, "--json", home=tmp_path)))
    assert status["queued"] == 14

    worker = run_cli("worker", "--once", home=tmp_path)
    assert worker.returncode == 0, worker.stderr
    assert "done 13, failed 1" in worker.stderr
    assert "jobs" in worker.stderr  # the progress bar's last frame

    status = json.loads(ok(run_cli("batch", "status", batch_id, "--json", home=tmp_path)))
    assert (status["done"], status["failed"], status["finished"]) == (13, 1, True)
    out = tmp_path / "results.jsonl"
    ok(run_cli("batch", "results", batch_id, "--out", str(out), home=tmp_path))
    results = [json.loads(line) for line in out.read_text().splitlines()]
    expected_ids = [f"q{i}" for i in range(12)]
    expected_ids.insert(5, "bad")
    assert [r["custom_id"] for r in results] == [*expected_ids, "line-14"]
    bad = results[5]["result"]
    assert bad["type"] == "errored"
    assert bad["error"]["error"]["type"] == "not_found_error"
    good = [r for i, r in enumerate(results) if i != 5]
    assert {r["result"]["type"] for r in good} == {"succeeded"}
    assert all(r["result"]["message"]["content"][0]["text"] for r in good)

    with sqlite3.connect(tmp_path / "ledger.db") as db:
        rows = dict(db.execute("SELECT request_id, status FROM usage").fetchall())
    assert set(rows) == {f"{batch_id}:{r['custom_id']}" for r in results}
    assert rows[f"{batch_id}:bad"] == "not_found_error"


def test_a_malformed_line_is_reported_by_number_and_nothing_is_enqueued(tmp_path: Path) -> None:
    lines: list[Any] = [
        request("fine"),
        "{not json",
        request("fine again"),
        {"max_tokens": 10},
        request("dup", custom_id="x"),
        request("dup", custom_id="x"),
    ]
    source = write_jsonl(tmp_path / "requests.jsonl", lines)

    done = run_cli("batch", "submit", str(source), home=tmp_path)

    assert done.returncode == 2
    said = " ".join(done.stderr.split())  # as one line, whatever the terminal wrapping
    assert "line 2: not valid JSON" in said
    assert "line 4: messages" in said
    assert "line 6: duplicate custom_id 'x' (first on line 5)" in said
    assert "Nothing was enqueued" in said
    assert "Traceback" not in said
    queue = json.loads(ok(run_cli("batch", "status", "--json", home=tmp_path)))
    assert queue["queued"] == 0


def test_resubmitting_a_named_batch_is_a_no_op(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [request(f"q{i}") for i in range(3)])
    args = ("batch", "submit", str(source), "--batch-id", "nightly-1", "--json")

    first = json.loads(ok(run_cli(*args, home=tmp_path)))
    again = json.loads(ok(run_cli(*args, home=tmp_path)))

    assert (first["batch_id"], first["accepted"]) == ("nightly-1", 3)
    assert (again["jobs"], again["accepted"]) == (3, 0)
    status = json.loads(ok(run_cli("batch", "status", "nightly-1", "--json", home=tmp_path)))
    assert status["queued"] == 3


@pytest.mark.parametrize(
    ("options", "mode"),
    [
        ((), "realtime"),  # no deadline: nothing says it can wait
        (("--deadline", "6h"), "realtime"),  # too soon for a 24 h window
        (("--deadline", "2d"), "batches-api"),
        (("--deadline", "25h", "--margin", "30m"), "batches-api"),
        (("--deadline", "25h", "--margin", "2h"), "realtime"),
        (("--deadline", "6h", "--mode", "batches-api"), "batches-api"),
    ],
)
def test_auto_mode_follows_the_deadline_and_the_margin(
    tmp_path: Path, options: tuple[str, ...], mode: str
) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [request("q1"), request("q2")])
    result = json.loads(ok(run_cli("batch", "submit", str(source), "--json", *options, home=tmp_path)))
    assert result["modes"] == {mode: 2}


@pytest.mark.parametrize(
    ("options", "mode"),
    [
        ((), "realtime"),  # 25 h against 24 h plus the configured 2 h (the default 1 h would fit)
        (("--margin", "30m"), "batches-api"),  # the option overrides the setting
    ],
)
def test_the_margin_comes_from_the_queue_settings_unless_given(
    tmp_path: Path, options: tuple[str, ...], mode: str
) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [request("q1")])
    env = {"CLAUDE_ROUTER_QUEUE__BATCHES_API_MARGIN_S": "7200"}
    args = ("batch", "submit", str(source), "--json", "--deadline", "25h", *options)
    result = json.loads(ok(run_cli(*args, home=tmp_path, env_extra=env)))
    assert result["modes"] == {mode: 1}


def test_cancel_stops_what_has_not_run_and_results_say_so(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [request(f"q{i}") for i in range(4)])
    batch_id = ok(run_cli("batch", "submit", str(source), home=tmp_path)).strip()

    assert (
        ok(run_cli("batch", "cancel", batch_id, home=tmp_path)).strip()
        == f"canceled 4 requests of {batch_id}"
    )

    results = [
        json.loads(line) for line in ok(run_cli("batch", "results", batch_id, home=tmp_path)).splitlines()
    ]
    assert [r["result"]["type"] for r in results] == ["canceled"] * 4
    missing = run_cli("batch", "cancel", "batch_nope", home=tmp_path)
    assert missing.returncode == 2
    assert "no batch 'batch_nope'" in " ".join(missing.stderr.split())


def test_a_bad_deadline_is_one_clear_line(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [request("q")])
    done = run_cli("batch", "submit", str(source), "--deadline", "tomorrow", home=tmp_path)
    assert done.returncode == 2
    assert "not a deadline: 'tomorrow'" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_the_pipeline_on_a_redis_queue(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "r.jsonl", [request(f"What is {i}+1?", custom_id=f"q{i}") for i in range(6)]
    )
    env = {
        "CLAUDE_ROUTER_QUEUE__URL": redis_url,
        "CLAUDE_ROUTER_QUEUE__NAME": f"cli-{uuid.uuid4().hex[:8]}",
        "CLAUDE_ROUTER_QUEUE__REDIS_PREFIX": f"{redis_prefix}:queue",
    }

    batch_id = ok(run_cli("batch", "submit", str(source), home=tmp_path, env_extra=env)).strip()
    worker = run_cli("worker", "--once", home=tmp_path, env_extra=env)
    assert worker.returncode == 0, worker.stderr
    lines = ok(run_cli("batch", "results", batch_id, home=tmp_path, env_extra=env)).splitlines()

    results = [json.loads(line) for line in lines]
    assert [r["custom_id"] for r in results] == [f"q{i}" for i in range(6)]
    assert {r["result"]["type"] for r in results} == {"succeeded"}
    assert not (tmp_path / "queue.db").exists()  # nothing went to the embedded queue
