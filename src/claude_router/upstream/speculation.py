"""The speculative leg: the cheap model answers while the classifier is still deciding.

The leg is streamed, not a plain call, so that cancelling it never loses its cost: a cancelled
plain call leaves no usage behind, but a stream has already said its input tokens
(`message_start`) and its output tokens so far (`message_delta`). Output generated after the last
delta and before the cancellation reaches the upstream is not reported by the API, so the
accounted output of a cancelled leg is a lower bound; its input is exact.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .attempts import CallTrace, attach_failure
from .streaming import StreamResult, StreamUsage, stream_result

if TYPE_CHECKING:  # a leg runs on the SDK's client, which has loaded the SDK by then
    import anthropic
    from anthropic.types import Message


class SpeculativeLeg:
    """One streamed call to `model`; `run()` gives its `Message`, `result()` its accounting."""

    def __init__(self, client: anthropic.AsyncAnthropic, kwargs: Mapping[str, Any], model: str) -> None:
        self.model = model
        self._client = client
        self._kwargs = kwargs  # for `client.messages.stream`, without the model
        self._trace = CallTrace()
        self._accounting = StreamUsage(self._trace.started_at)
        self._error: BaseException | None = None
        self._cancelled = False
        self._ended_at: float | None = None

    async def run(self) -> Message:
        import anthropic

        with self._trace.active():
            self._trace.models_tried.append(self.model)
            try:
                async with self._client.messages.stream(**self._kwargs, model=self.model) as stream:
                    async for event in stream:
                        self._accounting.observe(event)
                    return _plain(await stream.get_final_message())
            except asyncio.CancelledError:
                self._cancelled = True
                raise
            except anthropic.APIError as exc:
                self._error = exc
                attach_failure(exc, self._trace.failure(self._accounting.usage, self.model))
                raise
            finally:
                self._ended_at = time.perf_counter()

    @property
    def spend_limited(self) -> bool:
        return self._trace.spend_limited

    def result(self) -> StreamResult:
        return stream_result(
            self._trace,
            self._accounting,
            model_used=self.model,
            requested=self.model,
            ended_at=self._ended_at,
            cancelled=self._cancelled,
            error=self._error,
        )


def _plain(message: Message) -> Message:
    """`messages.stream`'s `ParsedMessage` as the `Message` a plain call returns (no parsed_output)."""
    from anthropic.types import Message

    return Message.model_validate(message.model_dump(exclude={"content": {"__all__": {"parsed_output"}}}))
