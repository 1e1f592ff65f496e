"""A streamed call: the SDK's raw events, relayed as they come, with their tokens accounted.

Until the first event arrives a stream is as safe to redo as any call, so a retryable failure
then (a 529, an overloaded error event, a dropped connection) falls back to the next model just
like a non-streaming call. After the first event the caller has seen output: a failure is an
error, and the usage seen so far (input tokens from `message_start`, output tokens from the last
`message_delta`) stays on the stream and on the exception (`failure_of`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from ..types import NO_USAGE, TokenUsage
from .attempts import Attempt, CallTrace, RateLimits, attach_failure, call_with_fallback
from .outgoing import Outgoing

if TYPE_CHECKING:  # the SDK's streams load it; the relay's usage (`observe_wire`) does not
    import anthropic
    import httpx2
    from anthropic import AsyncStream
    from anthropic.lib.streaming import ParsedMessageStreamEvent
    from anthropic.types import RawMessageStreamEvent


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
    adapted: tuple[str, ...] = ()  # what was changed in the body for `model_used`
    effort: str | None = None  # the effort `model_used` was sent
    signatures: tuple[str, ...] = ()  # of the thinking blocks streamed, in order


# Events that can carry a thinking block's signature, and the text that says one does.
_SIGNED = {"content_block_delta": b'"signature_delta"', "content_block_start": b'"redacted_thinking"'}


class StreamUsage:
    """Usage and timing read from stream events (`message_start`, `message_delta`)."""

    def __init__(self, started_at: float) -> None:
        self._started_at = started_at
        self._fields: dict[str, Any] = {}
        self.ttft_s: float | None = None
        self.stop_reason: str | None = None
        self.completed = False
        self.signatures: list[str] = []  # of thinking blocks (`signature_delta`, redacted blocks' data)

    def observe(self, event: RawMessageStreamEvent | ParsedMessageStreamEvent[Any]) -> None:
        if event.type == "message_start":
            self._started(event.message.usage.model_dump())
        elif event.type == "message_delta":
            self._delta(event.usage.model_dump(), event.delta.stop_reason)
        else:
            if event.type == "content_block_delta" and event.delta.type == "signature_delta":
                self.signatures.append(event.delta.signature)
            elif event.type == "content_block_start" and event.content_block.type == "redacted_thinking":
                self.signatures.append(event.content_block.data)
            self._other(event.type)

    def observe_wire(self, event: str, data: bytes) -> None:
        """The same, from an event's name and undecoded data: only message_start and message_delta
        are parsed, and an event that carries a thinking signature."""
        if event == "message_start":
            self._started(json.loads(data)["message"]["usage"])
        elif event == "message_delta":
            fields = json.loads(data)
            self._delta(fields.get("usage") or {}, (fields.get("delta") or {}).get("stop_reason"))
        elif event:
            if event in _SIGNED and _SIGNED[event] in data:  # parsed only when it signs
                self._signed(json.loads(data))
            self._other(event)

    def _signed(self, data: Mapping[str, Any]) -> None:
        part = data.get("delta") or data.get("content_block") or {}
        sig = part.get("signature") if part.get("type") == "signature_delta" else part.get("data")
        if isinstance(sig, str) and sig:
            self.signatures.append(sig)

    def _started(self, usage: Mapping[str, Any]) -> None:
        self._fields = dict(usage)

    def _delta(self, usage: Mapping[str, Any], stop_reason: str | None) -> None:
        # Delta counts are cumulative; an absent or null one keeps the message_start value.
        self._fields.update({k: v for k, v in usage.items() if v is not None})
        self.stop_reason = stop_reason

    def _other(self, event_type: str) -> None:
        if event_type == "content_block_delta" and self.ttft_s is None:
            self.ttft_s = time.perf_counter() - self._started_at
        elif event_type == "message_stop":
            self.completed = True

    @property
    def usage(self) -> TokenUsage:
        return TokenUsage.from_api(self._fields) if self._fields else NO_USAGE

    @property
    def started(self) -> bool:
        """Whether `message_start` arrived."""
        return bool(self._fields)


class EventSource:
    """The SDK's typed events of one response."""

    def __init__(self, raw: AsyncStream[RawMessageStreamEvent], accounting: StreamUsage) -> None:
        self._raw = raw
        self._accounting = accounting
        self.request = raw.response.request

    async def next(self) -> RawMessageStreamEvent | None:
        """The next event, None at the end; a broken connection becomes the SDK's own error."""
        import anthropic
        import httpx2

        try:
            event = await self._raw.__anext__()
        except StopAsyncIteration:
            return None
        except httpx2.TransportError as err:
            raise anthropic.APIConnectionError(request=self.request) from err
        self._accounting.observe(event)
        return event

    @property
    def closed(self) -> bool:
        return self._raw.response.is_closed

    async def close(self) -> None:
        await self._raw.close()


ItemT = TypeVar("ItemT")
ItemT_co = TypeVar("ItemT_co", covariant=True)


class Source(Protocol[ItemT_co]):
    """Where a stream's items come from."""

    @property
    def request(self) -> httpx2.Request: ...

    @property
    def closed(self) -> bool: ...

    async def next(self) -> ItemT_co | None: ...

    async def close(self) -> None: ...


OpenSource = Callable[[str, StreamUsage], Awaitable[Source[ItemT]]]


class UpstreamStream(Generic[ItemT]):
    """`async with upstream.stream(...) as stream: async for event in stream: ...`

    Entering opens the stream (with retries and fallback) and waits for the first event. The
    items are the SDK's `RawMessageStreamEvent`s (`Upstream.stream`). Leaving closes the HTTP
    response, whether the stream ended, failed, or the consumer stopped early or was cancelled;
    `result()` then holds the accounting.
    """

    def __init__(
        self,
        open_source: OpenSource[ItemT],
        models: Sequence[str],
        *,
        requested: str,
        on_overload: Callable[[str], None],
        outgoing: Outgoing | None = None,
    ) -> None:
        self._open_source = open_source
        self._outgoing = outgoing
        self._models = tuple(models)
        self._requested = requested
        self._on_overload = on_overload
        self._trace = CallTrace()
        self._accounting = StreamUsage(self._trace.started_at)
        self._source: Source[ItemT] | None = None
        self._pending: ItemT | None = None
        self._model_used: str | None = None
        self._error: BaseException | None = None
        self._cancelled = False
        self._ended_at: float | None = None

    async def __aenter__(self) -> Self:
        with self._trace.active():
            model, (source, first) = await call_with_fallback(self._trace, self._models, self._open)
        self._model_used, self._source, self._pending = model, source, first
        return self

    async def _open(self, model: str) -> tuple[Source[ItemT], ItemT]:
        import anthropic  # the sources are the SDK's

        source = await self._open_source(model, self._accounting)
        try:
            first = await source.next()
            if first is None:
                raise anthropic.APIConnectionError(
                    message="The stream ended before its first event.", request=source.request
                )
        except BaseException as exc:
            await source.close()
            if isinstance(exc, anthropic.APIStatusError) and exc.type == "overloaded_error":
                self._on_overload(model)
            raise
        return source, first

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ItemT:
        import anthropic

        if self._pending is not None:
            first, self._pending = self._pending, None
            return first
        if self._source is None or self._ended_at is not None:
            raise StopAsyncIteration
        try:
            item = await self._source.next()
            if item is None and not self._accounting.completed:
                raise anthropic.APIConnectionError(
                    message="The stream ended before message_stop.", request=self._source.request
                )
        except anthropic.APIError as exc:
            self._fail(exc)
            raise
        if item is None:
            self._ended_at = time.perf_counter()
            raise StopAsyncIteration
        return item

    def _fail(self, exc: anthropic.APIError) -> None:
        import anthropic

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
        if self._source is not None:
            await self._source.close()

    @property
    def closed(self) -> bool:
        """Whether the HTTP response is closed (True before the stream was opened, too)."""
        return self._source is None or self._source.closed

    @property
    def model_used(self) -> str | None:
        return self._model_used

    @property
    def usage(self) -> TokenUsage:
        return self._accounting.usage

    def result(self) -> StreamResult:
        result = stream_result(
            self._trace,
            self._accounting,
            model_used=self._model_used,
            requested=self._requested,
            ended_at=self._ended_at,
            cancelled=self._cancelled,
            error=self._error,
        )
        if self._outgoing is None or self._model_used is None:
            return result
        used = self._model_used
        return dataclasses.replace(
            result, adapted=self._outgoing.changes(used), effort=self._outgoing.effort(used)
        )


def stream_result(
    trace: CallTrace,
    accounting: StreamUsage,
    *,
    model_used: str | None,
    requested: str | None,
    ended_at: float | None,
    cancelled: bool,
    error: BaseException | None,
) -> StreamResult:
    """The accounting of a streamed call from its trace and the usage its events reported."""
    ended = ended_at if ended_at is not None else time.perf_counter()
    fell_back = model_used is not None and requested is not None and model_used != requested
    return StreamResult(
        model_used=model_used,
        usage=accounting.usage,
        retries=trace.retries,
        fallback=fell_back,
        fallback_from=requested if fell_back else None,
        latency_s=ended - trace.started_at,
        ttft_s=accounting.ttft_s,
        request_id=trace.request_id,
        completed=accounting.completed,
        cancelled=cancelled,
        error=error,
        stop_reason=accounting.stop_reason,
        rate_limits=trace.rate_limits,
        attempts=tuple(trace.attempts),
        signatures=tuple(accounting.signatures),
    )
