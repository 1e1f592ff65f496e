"""Job: validation, compact JSON round trips, error records, status counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from claude_router.batch import Job, JobError, JobMode, JobStatus, StatusCounts, new_batch_id, new_job_id
from claude_router.errors import InvalidJobError, QueueError

PARAMS = {"model": "auto", "max_tokens": 16, "messages": [{"role": "user", "content": "¿qué tal?"}]}


def test_a_job_round_trips_through_compact_json() -> None:
    job = Job(
        id="j1",
        batch_id="b1",
        position=4,
        params=PARAMS,
        customer="acme",
        tags=("a", "b"),
        deadline=datetime(2030, 5, 6, 7, 8, tzinfo=timezone(timedelta(hours=2))),
        mode=JobMode.BATCHES_API,
        attempts=2,
        last_error=JobError("overloaded_error", "Overloaded"),
        status=JobStatus.PARKED,
        result=JobError("overloaded_error", "Overloaded").to_record(),
    )
    text = job.to_json()
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)  # compact
    assert "¿qué tal?" in text  # not escaped
    assert Job.from_json(text) == job
    assert job.deadline == datetime(2030, 5, 6, 5, 8, tzinfo=UTC)  # normalised to UTC
    assert json.loads(job.spec_json()).keys() == {
        "id",
        "batch_id",
        "position",
        "params",
        "customer",
        "tags",
        "deadline",
        "mode",
        "created_at",
    }


def test_a_job_rebuilds_from_stored_spec_and_state() -> None:
    job = Job(id="j1", batch_id="b1", position=0, params=PARAMS)
    error = JobError("api_error", "boom").to_record()
    stored = Job.from_stored(
        job.spec_json(), status="failed", attempts=3, last_error=json.dumps(error), result=json.dumps(error)
    )
    assert (stored.status, stored.attempts, stored.last_error, stored.result) == (
        JobStatus.FAILED,
        3,
        JobError("api_error", "boom"),
        error,
    )
    assert stored.params == PARAMS


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": ""}, "job id must be a non-empty string"),
        ({"id": "x" * 257}, "at most 256"),
        ({"id": "a\nb"}, "control characters"),
        ({"batch_id": ""}, "batch id"),
        ({"position": -1}, "position must be a non-negative integer"),
        ({"position": True}, "position must be a non-negative integer"),
        ({"params": ["not", "a", "body"]}, "params must be a JSON object"),
        ({"deadline": datetime(2030, 1, 1)}, "deadline must carry a time zone"),
    ],
)
def test_a_malformed_job_is_refused_with_a_clear_error(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"id": "j1", "batch_id": "b1", "position": 0, "params": PARAMS}
    with pytest.raises(InvalidJobError, match=message) as caught:
        Job(**{**base, **fields})  # type: ignore[arg-type]
    assert isinstance(caught.value, QueueError)
    assert caught.value.status_code == 400
    assert caught.value.error_type == "invalid_request_error"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'later' is not a valid JobMode"):
        Job(id="j1", batch_id="b1", position=0, params=PARAMS, mode="later")  # type: ignore[arg-type]


def test_error_records_are_anthropic_shaped() -> None:
    error = JobError("rate_limit_error", "slow down")
    assert error.to_record() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    assert JobError.from_record(error.to_record()) == error
    with pytest.raises(InvalidJobError, match="not an error record"):
        JobError.from_record({"type": "message"})


def test_status_counts() -> None:
    counts = StatusCounts.from_mapping({"queued": "2", "leased": 1, "done": 4, "unknown": 9})
    assert (counts.total, counts.pending, counts.finished) == (7, 3, False)
    assert StatusCounts(done=1, parked=1).finished
    assert not StatusCounts().finished
    assert counts.as_dict() == {"queued": 2, "leased": 1, "done": 4, "failed": 0, "parked": 0, "canceled": 0}


def test_generated_ids_are_unique() -> None:
    assert len({new_job_id() for _ in range(1000)}) == 1000
    assert new_batch_id().startswith("batch_")
