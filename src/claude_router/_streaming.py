"""A streamed call: the SDK's raw events, relayed as they come, with their tokens accounted.

Until the first event arrives a stream is as safe to redo as any call, so a retryable failure
then (a 529, an overloaded error event, a dropped connection) falls back to the next model just
like a non-streaming call. After the first event the caller has seen output: a failure is an
error, and the usage seen so far (input tokens from `message_start`, output tokens from the last
`message_delta`) stays on the stream and on the exception (`failure_of`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import anthropic
import httpx2
from anthropic import AsyncStream
from anthropic.lib.streaming import ParsedMessageStreamEvent
from anthropic.types import RawMessageStreamEvent

from ._attempts import Attempt, CallTrace, RateLimits, attach_failure, call_with_fallback
from .types import NO_USAGE, TokenUsage

OpenStream = Callable[[str], Awaitable[AsyncStream[RawMessageStreamEvent]]]


@dataclass(frozen=True, slots=True)
class StreamResult:
    """The accounting of one streamed call, complete or not.

    `usage` is what the API reported so far: exact input tokens once `message_start` arrived, and
    output tokens as of the last `message_delta` (a stream cut short before its final delta may
    have produced more output than it reported).
    """

    model_used: str | None
    usage: TokenUsage
    retries: int = 0
    fallback: bool = False
    fallback_from: str | None = None
    latency_s: float = 0.0
    ttft_s: float | None = None
    request_id: str | None = None
    completed: bool = False  # message_stop arrived
    cancelled: bool = False  # the consumer stopped or was cancelled before the end
    error: BaseException | None = None
    stop_reason: str | None = None
    rate_limits: RateLimits | None = None
    attempts: tuple[Attempt, ...] = ()


class StreamUsage:
    """Usage and timing read from stream events (`message_start`, `message_delta`)."""

    def __init__(self, started_at: float) -> None:
        self._started_at = started_at
        self._fields: dict[str, Any] = {}
        self.ttft_s: float | None = None
        self.stop_reason: str | None = None
        self.completed = False

    def observe(self, event: RawMessageStreamEvent | ParsedMessageStreamEvent[Any]) -> None:
        if event.type == "message_start":
            self._fields = event.message.usage.model_dump()
        elif event.type == "content_block_delta":
            if self.ttft_s is None:
                self.ttft_s = time.perf_counter() - self._started_at
        elif event.type == "message_delta":
            # Delta counts are cumulative; an absent one keeps the message_start value.
            self._fields.update(event.usage.model_dump(exclude_none=True))
            self.stop_reason = event.delta.stop_reason
        elif event.type == "message_stop":
            self.completed = True

    @property
    def usage(self) -> TokenUsage:
        return TokenUsage.from_api(self._fields) if self._fields else NO_USAGE


async def next_event(raw: AsyncStream[RawMessageStreamEvent]) -> RawMessageStreamEvent | None:
    """The next event, None at the end; a broken connection becomes the SDK's own error."""
    try:
        return await raw.__anext__()
    except StopAsyncIteration:
        return None
    except httpx2.TransportError as err:
        raise anthropic.APIConnectionError(request=raw.response.request) from err


class UpstreamStream:
    """`async with upstream.stream(...) as stream: async for event in stream: ...`

    Entering opens the stream (with retries and fallback) and waits for the first event; the
    events are the SDK's `RawMessageStreamEvent`s. Leaving closes the HTTP response, whether the
    stream ended, failed, or the consumer stopped early or was cancelled; `result()` then holds
    the accounting.
    """

    def __init__(
        self,
        open_stream: OpenStream,
        models: Sequence[str],
        *,
        requested: str,
        on_overload: Callable[[str], None],
    ) -> None:
        self._open_stream = open_stream
        self._models = tuple(models)
        self._requested = requested
        self._on_overload = on_overload
        self._trace = CallTrace()
        self._accounting = StreamUsage(self._trace.started_at)
        self._raw: AsyncStream[RawMessageStreamEvent] | None = None
        self._pending: RawMessageStreamEvent | None = None
        self._model_used: str | None = None
        self._error: BaseException | None = None
        self._cancelled = False
        self._ended_at: float | None = None

    async def __aenter__(self) -> Self:
        with self._trace.active():
            model, (raw, first) = await call_with_fallback(self._trace, self._models, self._open)
        self._model_used, self._raw, self._pending = model, raw, first
        return self

    async def _open(self, model: str) -> tuple[AsyncStream[RawMessageStreamEvent], RawMessageStreamEvent]:
        raw = await self._open_stream(model)
        try:
            first = await next_event(raw)
        except anthropic.APIStatusError as exc:
            if exc.type == "overloaded_error":
                self._on_overload(model)
            await raw.close()
            raise
        except BaseException:
            await raw.close()
            raise
        if first is None:
            raise anthropic.APIConnectionError(
                message="The stream ended before its first event.", request=raw.response.request
            )
        self._accounting.observe(first)
        return raw, first

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RawMessageStreamEvent:
        if self._pending is not None:
            first, self._pending = self._pending, None
            return first
        if self._raw is None or self._ended_at is not None:
            raise StopAsyncIteration
        try:
            event = await next_event(self._raw)
        except anthropic.APIError as exc:
            self._fail(exc)
            raise
        if event is None:
            if not self._accounting.completed:  # the body ended without message_stop
                cut = anthropic.APIConnectionError(
                    message="The stream ended before message_stop.", request=self._raw.response.request
                )
                self._fail(cut)
                raise cut
            self._ended_at = time.perf_counter()
            raise StopAsyncIteration
        self._accounting.observe(event)
        return event

    def _fail(self, exc: anthropic.APIError) -> None:
        self._error = exc
        self._ended_at = time.perf_counter()
        if isinstance(exc, anthropic.APIStatusError) and exc.type == "overloaded_error" and self._model_used:
            self._on_overload(self._model_used)
        attach_failure(exc, self._trace.failure(self._accounting.usage, self._model_used))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ended_at is None:
            self._cancelled = not self._accounting.completed or isinstance(exc, asyncio.CancelledError)
            self._ended_at = time.perf_counter()
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP response (and so stop the generation upstream)."""
        if self._raw is not None:
            await self._raw.close()

    @property
    def model_used(self) -> str | None:
        return self._model_used

    @property
    def usage(self) -> TokenUsage:
        return self._accounting.usage

    def result(self) -> StreamResult:
        ended = self._ended_at if self._ended_at is not None else time.perf_counter()
        fell_back = self._model_used is not None and self._model_used != self._requested
        return StreamResult(
            model_used=self._model_used,
            usage=self._accounting.usage,
            retries=self._trace.retries,
            fallback=fell_back,
            fallback_from=self._requested if fell_back else None,
            latency_s=ended - self._trace.started_at,
            ttft_s=self._accounting.ttft_s,
            request_id=self._trace.request_id,
            completed=self._accounting.completed,
            cancelled=self._cancelled,
            error=self._error,
            stop_reason=self._accounting.stop_reason,
            rate_limits=self._trace.rate_limits,
            attempts=tuple(self._trace.attempts),
        )
