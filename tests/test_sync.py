"""`SyncRouter`: the router for synchronous scripts, on the emulator over real HTTP."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import SecretStr

from claude_router.config import HAIKU, OPUS, SONNET, ClassifierSettings, Settings, UpstreamSettings
from claude_router.emulator.server import emulator_thread
from claude_router.errors import UnknownModelError
from claude_router.routing.router import RoutedError, RoutedResponse, RouterRequest
from claude_router.sync import EventLoopThread, LoopClosedError, SyncRouter
from claude_router.types import ClassifierSource, Label, RequestMeta

KEY = "sk-ant-test-sync"
SIMPLE = "Is this review positive? 'Great blender, works fine.'"
MODERATE = "Write a Python function that merges two sorted lists."
COMPLEX = "Analyze the indemnification clause of this contract and identify the legal risks."


def ask(text: str) -> dict[str, Any]:
    return {"model": "auto", "max_tokens": 200, "messages": [{"role": "user", "content": text}]}


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "claude-router"]


@pytest.fixture
def emulator_url() -> Iterator[str]:
    with emulator_thread() as url:
        yield url


@pytest.fixture
def settings(emulator_url: str) -> Settings:
    upstream = UpstreamSettings(api_key=SecretStr(KEY), base_url=emulator_url, max_retries=0)
    return Settings(upstream=upstream, classifier=ClassifierSettings(kind="llm"))


def test_create_classify_and_map_block_and_return_the_routers_results(settings: Settings) -> None:
    with SyncRouter(settings) as router:
        routed = router.create(meta=RequestMeta(task_id="one"), **ask(COMPLEX))
        decision = router.classify(ask(MODERATE))
        results = router.map(
            [RouterRequest(ask(text), RequestMeta(task_id=text[:8])) for text in (SIMPLE, MODERATE)]
            + [ask(SIMPLE) | {"model": "router:nope"}],
            concurrency=2,
        )
    assert isinstance(routed, RoutedResponse)
    assert routed.task_id == "one"
    assert routed.label is Label.COMPLEX
    assert routed.model_used == OPUS
    assert routed.cost_usd > 0
    assert decision.label is Label.MODERATE
    assert decision.source is ClassifierSource.LLM
    first, second, failed = results
    assert isinstance(first, RoutedResponse)
    assert isinstance(second, RoutedResponse)
    assert (first.model_used, second.model_used) == (HAIKU, SONNET)
    assert isinstance(failed, RoutedError)
    assert isinstance(failed.error, UnknownModelError)


def test_errors_reach_the_caller_with_their_type(settings: Settings) -> None:
    with SyncRouter(settings) as router, pytest.raises(UnknownModelError, match="router:nope"):
        router.create(**(ask(SIMPLE) | {"model": "router:nope"}))


def test_threads_share_one_router(settings: Settings) -> None:
    with SyncRouter(settings) as router, ThreadPoolExecutor(4) as pool:
        routed = list(pool.map(lambda text: router.create(**ask(text)), [SIMPLE, MODERATE, COMPLEX] * 2))
        recorded = len(router.router.recent)
    assert [r.model_used for r in routed] == [HAIKU, SONNET, OPUS] * 2
    assert recorded == 6


def test_close_stops_the_thread_and_refuses_more_work(settings: Settings) -> None:
    before = len(loop_threads())
    router = SyncRouter(settings)
    assert len(loop_threads()) == before + 1
    router.create(**ask(SIMPLE))
    router.close()
    router.close()  # idempotent
    assert router.closed
    assert len(loop_threads()) == before
    with pytest.raises(LoopClosedError):
        router.create(**ask(SIMPLE))


def test_leaving_the_block_on_an_error_closes_it(settings: Settings) -> None:
    before = len(loop_threads())
    with pytest.raises(RuntimeError, match="boom"), SyncRouter(settings) as router:
        raise RuntimeError("boom")
    assert router.closed
    assert len(loop_threads()) == before


def test_a_router_dropped_without_close_is_closed(settings: Settings) -> None:
    router = SyncRouter(settings)
    router.create(**ask(SIMPLE))  # opens connections the finaliser must close
    thread = router.loop_thread.thread
    del router
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_loop_thread_refuses_to_block_on_itself() -> None:
    worker = EventLoopThread()
    try:

        async def nested() -> None:
            async def inner() -> int:
                return 1

            worker.run(inner())

        with pytest.raises(RuntimeError, match="deadlock"):
            worker.run(nested())
    finally:
        worker.close()
    assert worker.closed
