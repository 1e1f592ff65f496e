"""A streamed call relayed as the upstream's bytes, its usage read from them as they pass.

    stream = WireStream(wire, body_for, models, requested=model, headers=..., query=...)
    await stream.open()                  # retries and fallback, up to the first whole event
    async for chunk in stream.chunks():  # the upstream's bytes, unchanged
        ...
    await stream.aclose()
    stream.result()                      # usage, retries, fallback, ttft: a `StreamResult`

Until the first event the call is as safe to redo as any: an error status, a dropped connection
or an `error` event in its place falls back to the next model (`attempts.call_with_fallback`).
After it the client has seen output: an `error` event the upstream sends is relayed as it came,
and a broken connection raises `WireError` for the relay to end the stream with an error event;
either way the usage the events reported so far stays on `result()` and on the error
(`failure_of`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

import aiohttp

from .attempts import CallTrace, attach_failure, call_with_fallback
from .outgoing import Outgoing
from .sse_tap import SSETap
from .streaming import StreamResult, stream_result
from .wire import WireClient
from .wire_error import WireError

OVERLOADED = "overloaded_error"
_BROKEN = (aiohttp.ClientError, TimeoutError)


class WireStream:
    def __init__(
        self,
        wire: WireClient,
        body_for: Callable[[str], bytes],
        models: Sequence[str],
        *,
        requested: str,
        headers: Mapping[str, str],
        query: str = "",
        on_overload: Callable[[str], None] = lambda model: None,
        outgoing: Outgoing | None = None,
    ) -> None:
        self._wire = wire
        self._outgoing = outgoing  # what was changed in each model's body, for the result
        self._body_for = body_for
        self._models = tuple(models)
        self._requested = requested
        self._headers = headers
        self._query = query
        self._on_overload = on_overload
        self._trace = CallTrace()
        self._tap = SSETap(self._trace.started_at)
        self._response: aiohttp.ClientResponse | None = None
        self._first = b""
        self._model_used: str | None = None
        self._error: BaseException | None = None
        self._ended_at: float | None = None
        self._cancelled = False

    @property
    def model_used(self) -> str | None:
        return self._model_used

    @property
    def request_id(self) -> str | None:
        return self._trace.request_id

    @property
    def headers(self) -> Mapping[str, str]:
        """The answering response's headers, as the upstream sent them (none before `open`)."""
        return self._response.headers if self._response is not None else {}

    async def open(self) -> None:
        """Send, with retries and fallback, and read up to the first whole event."""
        self._model_used, (self._response, self._tap, self._first) = await call_with_fallback(
            self._trace, self._models, self._open
        )

    async def _open(self, model: str) -> tuple[aiohttp.ClientResponse, SSETap, bytes]:
        body = self._body_for(model)
        response = await self._wire.send(self._trace, model, body, self._headers, self._query)
        tap = SSETap(self._trace.started_at)
        first = b""
        try:
            while tap.events == 0:
                chunk = await response.content.readany()
                if not chunk:
                    tap.flush()
                    if tap.events == 0:
                        raise WireError(None, message="The stream ended before its first event.")
                    break
                tap.feed(chunk)
                first += chunk
            if tap.error_type is not None and not tap.started:  # an error event in place of an answer
                if tap.error_type == OVERLOADED:
                    self._on_overload(model)
                raise WireError(200, tap.error_data, response.headers, error_type=tap.error_type)
        except _BROKEN as exc:
            response.close()
            raise WireError(None, message="The stream broke before its first event.") from exc
        except BaseException:
            response.close()
            raise
        return response, tap, first

    async def chunks(self) -> AsyncIterator[bytes]:
        """The response's bytes as they arrive, the first event's included."""
        response, tap = self._response, self._tap
        assert response is not None, "open() first"
        first, self._first = self._first, b""  # held no longer than the stream needs it
        yield first
        try:
            while chunk := await response.content.readany():
                tap.feed(chunk)
                yield chunk
        except _BROKEN as exc:
            tap.broke()
            raise self._fail(WireError(None, message="The upstream stream broke.")) from exc
        tap.flush()
        self._ended_at = time.perf_counter()
        if tap.error_type is not None:  # relayed as the upstream sent it
            if tap.error_type == OVERLOADED and self._model_used is not None:
                self._on_overload(self._model_used)
            self._fail(WireError(200, tap.error_data, error_type=tap.error_type))
        elif not tap.accounting.completed:
            raise self._fail(WireError(None, message="The stream ended before message_stop."))

    def _fail(self, exc: WireError) -> WireError:
        self._error = exc
        self._ended_at = self._ended_at or time.perf_counter()
        attach_failure(exc, self._trace.failure(self._tap.usage, self._model_used))
        return exc

    async def aclose(self, exc: BaseException | None = None) -> None:
        """Release the response; one not read to its end is closed (which stops the generation)."""
        if self._ended_at is None:
            self._cancelled = True
            self._ended_at = time.perf_counter()
        if self._response is not None:
            if self._tap.accounting.completed and self._error is None:
                self._response.release()
            else:
                self._response.close()

    def result(self) -> StreamResult:
        result = stream_result(
            self._trace,
            self._tap.accounting,
            model_used=self._model_used,
            requested=self._requested,
            ended_at=self._ended_at,
            cancelled=self._cancelled,
            error=self._error,
        )
        used = self._model_used
        if self._outgoing is None or used is None:
            return result
        return dataclasses.replace(
            result, adapted=self._outgoing.changes(used), effort=self._outgoing.effort(used)
        )
