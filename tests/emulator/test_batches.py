"""The emulator's Message Batches API, driven over real HTTP by the official SDK (async and sync)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import anthropic
import pytest
from anthropic.types import Message
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse

from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import running_emulator

from .support import API_KEY, HAIKU, user

POLL_SECONDS = 0.01
WAIT_LIMIT_SECONDS = 20.0


def params(text: str = "Say hello.", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": HAIKU, "max_tokens": 64, "messages": user(text)}
    body.update(overrides)
    return body


# Batch bodies are typed `list[Any]`: several tests send deliberately malformed ones.
def requests_of(count: int, prefix: str = "req") -> list[Any]:
    return [{"custom_id": f"{prefix}-{i}", "params": params(f"Question {i}?")} for i in range(count)]


async def wait_until_ended(sdk: anthropic.AsyncAnthropic, batch_id: str) -> MessageBatch:
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while True:
        batch = await sdk.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert time.monotonic() < deadline, f"batch still {batch.processing_status}"
        await asyncio.sleep(POLL_SECONDS)


async def results_of(sdk: anthropic.AsyncAnthropic, batch_id: str) -> dict[str, Any]:
    decoder = await sdk.messages.batches.results(batch_id)
    return {line.custom_id: line.result async for line in decoder}


def slow(seconds_per_request: float = 0.1, **fields: Any) -> pytest.MarkDecorator:
    """Serve a configuration whose batches stay in progress for a while."""
    config = EmulatorConfig(batch_seconds_per_request=seconds_per_request, **fields)
    return pytest.mark.parametrize("emulator_config", [config], ids=["slow"])


# --- create, retrieve, results ------------------------------------------------------------------


async def test_a_new_batch_is_in_progress_with_every_request_processing(
    sdk: anthropic.AsyncAnthropic,
) -> None:
    raw = await sdk.messages.batches.with_raw_response.create(requests=requests_of(3))
    batch = await raw.parse()

    assert set(raw.http_response.json()) == set(MessageBatch.model_fields)
    assert batch.id.startswith("msgbatch_")
    assert batch.type == "message_batch"
    assert batch.processing_status == "in_progress"
    assert batch.request_counts.model_dump() == {
        "processing": 3,
        "succeeded": 0,
        "errored": 0,
        "canceled": 0,
        "expired": 0,
    }
    assert batch.expires_at - batch.created_at == timedelta(hours=24)
    assert batch.created_at.utcoffset() == timedelta(0)
    assert (batch.ended_at, batch.cancel_initiated_at, batch.archived_at, batch.results_url) == (
        None,
        None,
        None,
        None,
    )


async def test_an_ended_batch_tallies_its_results_and_serves_them(sdk: anthropic.AsyncAnthropic) -> None:
    requests: list[Any] = [
        {"custom_id": "good-1", "params": params("What is 2 + 2?")},
        {"custom_id": "no-messages", "params": {"model": HAIKU, "max_tokens": 16}},
        {"custom_id": "streaming", "params": params(stream=True)},
        {"custom_id": "no-tokens", "params": params(max_tokens=0)},
        {"custom_id": "good_2", "params": params("Name a colour.")},
    ]
    created = await sdk.messages.batches.create(requests=requests)
    ended = await wait_until_ended(sdk, created.id)

    assert ended.id == created.id
    assert ended.created_at == created.created_at
    assert ended.ended_at is not None
    assert ended.ended_at >= ended.created_at
    assert ended.request_counts.model_dump() == {
        "processing": 0,
        "succeeded": 2,
        "errored": 3,
        "canceled": 0,
        "expired": 0,
    }
    assert ended.results_url is not None
    assert ended.results_url.endswith(f"/v1/messages/batches/{ended.id}/results")

    results = await results_of(sdk, ended.id)
    assert set(results) == {"good-1", "no-messages", "streaming", "no-tokens", "good_2"}
    for custom_id in ("good-1", "good_2"):
        result = results[custom_id]
        assert result.type == "succeeded"
        assert isinstance(result.message, Message)
        assert result.message.usage.service_tier == "batch"
        assert result.message.usage.output_tokens > 0
    for custom_id in ("no-messages", "streaming", "no-tokens"):
        result = results[custom_id]
        assert result.type == "errored"
        assert result.error.type == "error"
        assert result.error.error.type == "invalid_request_error"
        assert result.error.error.message


async def test_an_unknown_model_errors_only_its_own_request(sdk: anthropic.AsyncAnthropic) -> None:
    requests: list[Any] = [
        {"custom_id": "known", "params": params()},
        {"custom_id": "unknown", "params": params(model="claude-no-such-model")},
    ]
    batch = await wait_until_ended(sdk, (await sdk.messages.batches.create(requests=requests)).id)

    assert (batch.request_counts.succeeded, batch.request_counts.errored) == (1, 1)
    results = await results_of(sdk, batch.id)
    assert results["known"].type == "succeeded"
    assert results["unknown"].type == "errored"
    assert results["unknown"].error.error.type == "not_found_error"


async def test_results_are_jsonl_lines_the_sdk_types_exactly(sdk: anthropic.AsyncAnthropic) -> None:
    batch = await wait_until_ended(sdk, (await sdk.messages.batches.create(requests=requests_of(2))).id)
    decoder = await sdk.messages.batches.results(batch.id)
    lines = [line async for line in decoder]

    assert decoder.http_response.headers["content-type"].startswith("application/x-jsonl")
    assert all(isinstance(line, MessageBatchIndividualResponse) for line in lines)
    assert sorted(line.custom_id for line in lines) == ["req-0", "req-1"]
    raw = await sdk.get(f"/v1/messages/batches/{batch.id}/results", cast_to=str)
    assert raw.endswith("\n")
    assert [set(json.loads(line)) for line in raw.splitlines()] == [{"custom_id", "result"}] * 2


# --- cancel, delete, results before the end -----------------------------------------------------


@slow()
async def test_cancel_goes_through_canceling_to_ended_with_the_rest_canceled(
    sdk: anthropic.AsyncAnthropic,
) -> None:
    batch = await sdk.messages.batches.create(requests=requests_of(30))
    canceling = await sdk.messages.batches.cancel(batch.id)

    assert canceling.processing_status == "canceling"
    assert canceling.cancel_initiated_at is not None
    assert canceling.request_counts.processing == 30
    assert (await sdk.messages.batches.cancel(batch.id)).processing_status in {"canceling", "ended"}

    ended = await wait_until_ended(sdk, batch.id)
    counts = ended.request_counts
    assert counts.canceled > 0
    assert counts.succeeded + counts.canceled == 30
    assert (counts.processing, counts.errored, counts.expired) == (0, 0, 0)
    assert ended.cancel_initiated_at == canceling.cancel_initiated_at

    results = await results_of(sdk, batch.id)
    assert sum(result.type == "canceled" for result in results.values()) == counts.canceled
    with pytest.raises(anthropic.BadRequestError):
        await sdk.messages.batches.cancel(batch.id)


@slow()
async def test_delete_and_results_wait_for_the_end(sdk: anthropic.AsyncAnthropic) -> None:
    batch = await sdk.messages.batches.create(requests=requests_of(30))

    with pytest.raises(anthropic.BadRequestError) as refused:
        await sdk.messages.batches.delete(batch.id)
    assert refused.value.response.json()["error"]["type"] == "invalid_request_error"
    still = await sdk.messages.batches.retrieve(batch.id)
    assert (still.processing_status, still.request_counts.processing, still.results_url) == (
        "in_progress",
        30,
        None,
    )
    with pytest.raises(anthropic.AnthropicError, match="results_url"):
        await sdk.messages.batches.results(batch.id)
    with pytest.raises(anthropic.BadRequestError):
        await sdk.get(f"/v1/messages/batches/{batch.id}/results", cast_to=str)

    await sdk.messages.batches.cancel(batch.id)
    await wait_until_ended(sdk, batch.id)
    deleted = await sdk.messages.batches.delete(batch.id)

    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    batches = sdk.messages.batches
    with pytest.raises(anthropic.NotFoundError):
        await batches.retrieve(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        await batches.delete(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        await batches.cancel(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        await sdk.get(f"/v1/messages/batches/{batch.id}/results", cast_to=str)


@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(require_api_key=True, api_keys=[API_KEY])], ids=["keys"]
)
async def test_batches_refuse_an_unknown_api_key(emulator_url: str) -> None:
    async with anthropic.AsyncAnthropic(
        base_url=emulator_url, api_key="not-a-key", max_retries=0
    ) as stranger:
        with pytest.raises(anthropic.AuthenticationError):
            await stranger.messages.batches.create(requests=requests_of(1))
        with pytest.raises(anthropic.AuthenticationError):
            await stranger.messages.batches.list()
    async with anthropic.AsyncAnthropic(base_url=emulator_url, api_key=API_KEY, max_retries=0) as known:
        assert (await known.messages.batches.list()).data == []


async def test_unknown_batch_ids_are_not_found(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        await sdk.messages.batches.retrieve("msgbatch_01NoSuchBatch")
    assert missing.value.response.json()["error"]["type"] == "not_found_error"


# --- expiry --------------------------------------------------------------------------------------


@slow(seconds_per_request=0.05, batch_expiry_seconds=0.3)
async def test_requests_left_at_expiry_are_expired(sdk: anthropic.AsyncAnthropic) -> None:
    batch = await sdk.messages.batches.create(requests=requests_of(40))
    assert batch.expires_at - batch.created_at == timedelta(seconds=0.3)

    ended = await wait_until_ended(sdk, batch.id)
    counts = ended.request_counts
    assert counts.expired > 0
    assert counts.succeeded + counts.expired == 40
    assert ended.cancel_initiated_at is None

    results = await results_of(sdk, batch.id)
    kinds = [results[f"req-{i}"].type for i in range(40)]
    # Requests run in order, so the answered ones are a prefix and the rest expired.
    assert kinds == ["succeeded"] * counts.succeeded + ["expired"] * counts.expired


# --- list ----------------------------------------------------------------------------------------


async def test_list_pages_newest_first_and_auto_paginates(sdk: anthropic.AsyncAnthropic) -> None:
    empty = await sdk.messages.batches.list()
    assert (empty.data, empty.has_more, empty.first_id, empty.last_id) == ([], False, None, None)

    created = [(await sdk.messages.batches.create(requests=requests_of(1))).id for _ in range(7)]
    newest_first = created[::-1]

    first = await sdk.messages.batches.list(limit=3)
    assert [b.id for b in first.data] == newest_first[:3]
    assert (first.has_more, first.first_id, first.last_id) == (True, newest_first[0], newest_first[2])

    second = await sdk.messages.batches.list(limit=3, after_id=newest_first[2])
    assert ([b.id for b in second.data], second.has_more) == (newest_first[3:6], True)
    last = await sdk.messages.batches.list(limit=3, after_id=newest_first[5])
    assert ([b.id for b in last.data], last.has_more) == (newest_first[6:], False)

    back = await sdk.messages.batches.list(limit=3, before_id=newest_first[3])
    assert ([b.id for b in back.data], back.has_more) == (newest_first[:3], False)
    back_one = await sdk.messages.batches.list(limit=2, before_id=newest_first[3])
    assert ([b.id for b in back_one.data], back_one.has_more) == (newest_first[1:3], True)

    assert [b.id async for b in sdk.messages.batches.list(limit=2)] == newest_first


async def test_a_cursor_survives_the_deletion_of_its_batch(sdk: anthropic.AsyncAnthropic) -> None:
    created = [(await sdk.messages.batches.create(requests=requests_of(1))).id for _ in range(3)]
    await wait_until_ended(sdk, created[1])
    await sdk.messages.batches.delete(created[1])

    page = await sdk.messages.batches.list(after_id=created[1])
    assert [b.id for b in page.data] == [created[0]]


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 1001}, {"limit": "many"}, {"after_id": "msgbatch_01Unknown"}],
    ids=["limit-0", "limit-1001", "limit-not-int", "unknown-cursor"],
)
async def test_bad_list_queries_are_refused(sdk: anthropic.AsyncAnthropic, query: dict[str, Any]) -> None:
    with pytest.raises(anthropic.BadRequestError):
        await sdk.messages.batches.list(extra_query=query)


# --- the batch body and its limits --------------------------------------------------------------


@pytest.mark.parametrize(
    "requests",
    [
        [{"custom_id": "twice", "params": params()}, {"custom_id": "twice", "params": params()}],
        [{"custom_id": "has space", "params": params()}],
        [{"custom_id": "x" * 65, "params": params()}],
        [{"custom_id": "", "params": params()}],
        [{"custom_id": "no-params"}],
        [{"custom_id": "params-not-object", "params": ["model"]}],
        [],
    ],
    ids=["duplicate", "bad-char", "too-long", "empty-id", "no-params", "params-list", "no-requests"],
)
async def test_a_bad_batch_body_is_a_bad_request(sdk: anthropic.AsyncAnthropic, requests: list[Any]) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        await sdk.messages.batches.create(requests=requests)
    error = refused.value.response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert (await sdk.messages.batches.list()).data == []


async def test_a_body_that_is_not_json_is_a_bad_request(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError):
        await sdk.post(
            "/v1/messages/batches",
            cast_to=str,
            content=b"{not json",
            options={"headers": {"content-type": "application/json"}},
        )


async def test_more_than_100000_requests_are_refused(sdk: anthropic.AsyncAnthropic) -> None:
    requests: list[Any] = [{"custom_id": f"r{i}", "params": {}} for i in range(100_001)]
    with pytest.raises(anthropic.BadRequestError, match="100000"):
        await sdk.messages.batches.create(requests=requests)


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(batch_max_bytes=4_000)], ids=["4kB"])
async def test_a_body_over_the_byte_limit_is_too_large(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.ContentTooLargeError) as refused:
        await sdk.messages.batches.create(requests=requests_of(100))
    assert refused.value.response.json()["error"]["type"] == "request_too_large"
    assert (await sdk.messages.batches.create(requests=requests_of(2))).request_counts.processing == 2


# --- the sync client, and shutdown --------------------------------------------------------------


def test_the_sync_client_runs_the_whole_lifecycle(sync_sdk: anthropic.Anthropic) -> None:
    batches = sync_sdk.messages.batches
    batch = batches.create(requests=requests_of(3, prefix="sync"))
    assert batch.processing_status == "in_progress"
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while (batch := batches.retrieve(batch.id)).processing_status != "ended":
        assert time.monotonic() < deadline, f"batch still {batch.processing_status}"
        time.sleep(POLL_SECONDS)
    assert batch.request_counts.succeeded == 3

    results = {line.custom_id: line.result.type for line in batches.results(batch.id)}
    assert results == {"sync-0": "succeeded", "sync-1": "succeeded", "sync-2": "succeeded"}
    assert [b.id for b in batches.list(limit=1)] == [batch.id]
    assert batches.delete(batch.id).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        batches.retrieve(batch.id)


async def test_the_server_stops_cleanly_while_a_batch_is_processing() -> None:
    config = EmulatorConfig(batch_seconds_per_request=30.0)
    async with (
        running_emulator(config) as url,
        anthropic.AsyncAnthropic(base_url=url, api_key=API_KEY, max_retries=0) as sdk,
    ):
        batch = await sdk.messages.batches.create(requests=requests_of(5))
        assert batch.processing_status == "in_progress"
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert pending == []


@pytest.mark.parametrize("beta", [None, "output-300k-2026-03-24"])
async def test_the_batch_output_ceiling_takes_its_beta(
    sdk: anthropic.AsyncAnthropic, beta: str | None
) -> None:
    big = {"custom_id": "big", "params": params(model="claude-sonnet-5-5", max_tokens=300_000)}
    fast = {"custom_id": "fast", "params": params(model="claude-opus-5-5", speed="fast")}
    headers = {"anthropic-beta": beta} if beta else {}
    batch = await sdk.messages.batches.create(requests=[big, fast], extra_headers=headers)
    await wait_until_ended(sdk, batch.id)
    results = await results_of(sdk, batch.id)

    assert results["big"].type == ("succeeded" if beta else "errored")
    assert results["fast"].type == "errored"
    assert results["fast"].error.error.message == 'speed: "fast" is not available in Message Batches.'
