"""What each HTTP attempt to the API did, seen from inside the SDK's retry loop.

The SDK runs its client middleware once per attempt, so one `AttemptObserver` on the client sees
every retry: status, timing, request id and the `anthropic-ratelimit-*` headers. It records them
on the `CallTrace` of the call in progress, found through a context variable: every asyncio task
has its own context, so concurrent calls never share a counter.

The observer also keeps the SDK from retrying a 429 that says a spend limit was reached (waiting
does not lift a monthly limit) by setting the `x-should-retry: false` header the SDK obeys first.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..types import NO_USAGE, TokenUsage
from .wire_error import WireError

if TYPE_CHECKING:  # the SDK is imported where it is used: a process that only relays never loads it
    import httpx2
    from anthropic import APIRequest, AsyncAPIResponse, AsyncCallNext

T = TypeVar("T")

RATE_LIMIT_PREFIX = "anthropic-ratelimit-"
OVERLOADED_STATUS = 529
# The API's stable codes (`error.details.error_code`) for a 429 that waiting will not lift.
SPEND_LIMIT_CODES = frozenset({"enforced_spend_limit_reached", "contract_spend_limit_reached"})
# Only for a 429 with neither retry-after nor an error code: the one documented case where the
# message is all there is to tell a spend limit from a rate limit.
SPEND_LIMIT_PHRASES = ("spend limit", "usage limit", "billing")
# `error.type` values, as a stream's error event carries them, that another model may not share.
FALLBACK_ERROR_TYPES = frozenset({"overloaded_error", "rate_limit_error", "api_error"})


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt. `status` is None when no response came (connection error, timeout)."""

    model: str | None
    status: int | None
    started_at: float  # time.perf_counter() when the attempt was sent
    duration_s: float
    request_id: str | None = None
    error: str | None = None  # the exception class of an attempt that got no response
    spend_limited: bool = False


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The `anthropic-ratelimit-*` headers of one response, for adapting concurrency to them.

    `kind` is one of the API's limit families: requests, tokens, input-tokens, output-tokens.
    """

    headers: Mapping[str, str]
    model: str | None = None
    retry_after_s: float | None = None

    @classmethod
    def from_response(cls, response: httpx2.Response, model: str | None) -> RateLimits | None:
        return cls.from_headers(response.headers, model)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], model: str | None) -> RateLimits | None:
        found = {k.lower(): v for k, v in headers.items() if k.lower().startswith(RATE_LIMIT_PREFIX)}
        if not found:
            return None
        return cls(headers=found, model=model, retry_after_s=_float(headers.get("retry-after")))

    def limit(self, kind: str = "requests") -> int | None:
        return _int(self.headers.get(f"{RATE_LIMIT_PREFIX}{kind}-limit"))

    def remaining(self, kind: str = "requests") -> int | None:
        return _int(self.headers.get(f"{RATE_LIMIT_PREFIX}{kind}-remaining"))

    def reset(self, kind: str = "requests") -> datetime | None:
        raw = self.headers.get(f"{RATE_LIMIT_PREFIX}{kind}-reset")
        try:
            return datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class UpstreamFailure:
    """What a failed call did before it raised: attached to the SDK exception it raised."""

    models_tried: tuple[str, ...]
    attempts: tuple[Attempt, ...]
    latency_s: float
    usage: TokenUsage = NO_USAGE  # tokens a stream consumed before it broke
    usage_model: str | None = None  # the model those tokens are priced at

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)


_FAILURE_ATTR = "_claude_router_failure"


def attach_failure(exc: BaseException, failure: UpstreamFailure) -> None:
    # The SDK's exception is raised unchanged in type; the facts ride along as an attribute.
    setattr(exc, _FAILURE_ATTR, failure)


def failure_of(exc: BaseException) -> UpstreamFailure | None:
    """The attempts, latency and partial usage of a failed upstream call, if it came from one."""
    failure = getattr(exc, _FAILURE_ATTR, None)
    return failure if isinstance(failure, UpstreamFailure) else None


class CallTrace:
    """The attempts of one logical call (every model of its fallback chain). One task owns it."""

    __slots__ = ("attempts", "models_tried", "rate_limits", "started_at")

    def __init__(self) -> None:
        self.started_at = time.perf_counter()
        self.attempts: list[Attempt] = []
        self.models_tried: list[str] = []
        self.rate_limits: RateLimits | None = None

    @contextmanager
    def active(self) -> Iterator[CallTrace]:
        """Make this the trace that attempts in the current task are recorded on."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def record(self, attempt: Attempt, rate_limits: RateLimits | None) -> None:
        self.attempts.append(attempt)
        if rate_limits is not None:
            self.rate_limits = rate_limits

    @property
    def retries(self) -> int:
        """Extra attempts beyond the first, the SDK's retries and the fallbacks' attempts alike."""
        return max(0, len(self.attempts) - 1)

    @property
    def spend_limited(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].spend_limited

    @property
    def request_id(self) -> str | None:
        return self.attempts[-1].request_id if self.attempts else None

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started_at

    def failure(self, usage: TokenUsage = NO_USAGE, usage_model: str | None = None) -> UpstreamFailure:
        return UpstreamFailure(
            models_tried=tuple(self.models_tried),
            attempts=tuple(self.attempts),
            latency_s=self.elapsed_s(),
            usage=usage,
            usage_model=usage_model,
        )


# Context variables belong at module level (their values are per task, not global state).
_CURRENT: ContextVar[CallTrace | None] = ContextVar("claude_router_call_trace", default=None)

AttemptHook = Callable[[Attempt, RateLimits | None], None]


class AttemptObserver:
    """Client middleware (an async callable, as the SDK takes one): records each attempt, stops
    retries of spend-limit 429s, reports to `hook`."""

    def __init__(self, hook: AttemptHook) -> None:
        self._hook = hook

    async def __call__(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
        import anthropic

        trace = _CURRENT.get()
        model = _model_of(request, trace)
        began = time.perf_counter()
        try:
            response = await call_next(request)
        except anthropic.APIConnectionError as exc:
            attempt = Attempt(model, None, began, time.perf_counter() - began, error=type(exc).__name__)
            self._observe(trace, attempt, None)
            raise
        http = response.http_response
        spend_limited = await is_spend_limit(http)
        if spend_limited:
            http.headers["x-should-retry"] = "false"
        attempt = Attempt(
            model=model,
            status=http.status_code,
            started_at=began,
            duration_s=time.perf_counter() - began,
            request_id=http.headers.get("request-id"),
            spend_limited=spend_limited,
        )
        self._observe(trace, attempt, RateLimits.from_response(http, model))
        return response

    def _observe(self, trace: CallTrace | None, attempt: Attempt, limits: RateLimits | None) -> None:
        if trace is not None:
            trace.record(attempt, limits)
        self._hook(attempt, limits)


def _model_of(request: APIRequest, trace: CallTrace | None) -> str | None:
    """The model an attempt asks for: from its JSON body, else (a body sent as bytes) the model
    its call is trying."""
    body = request.json
    model = body.get("model") if isinstance(body, Mapping) else None
    if model is None and trace is not None and trace.models_tried:
        model = trace.models_tried[-1]
    return model if isinstance(model, str) else None


async def is_spend_limit(response: httpx2.Response) -> bool:
    """Whether a response is a 429 that says a spend limit, not a rate limit, was reached."""
    if response.status_code != 429:
        return False
    import httpx2

    try:
        body = await response.aread()  # read here when the response is streamed
    except httpx2.HTTPError:
        body = b""
    return spend_limited(429, response.headers, body)


def spend_limited(status: int, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether an answer is a 429 that says a spend limit, not a rate limit, was reached."""
    if status != 429:
        return False
    error = _error_object(body)
    details = error.get("details")
    code = details.get("error_code") if isinstance(details, Mapping) else None
    if code is not None:
        return code in SPEND_LIMIT_CODES
    if "retry-after" in headers or "retry-after-ms" in headers:
        return False
    message = str(error.get("message", "")).lower()
    return any(phrase in message for phrase in SPEND_LIMIT_PHRASES)


def _error_object(body: bytes) -> Mapping[str, Any]:
    """The `error` object of an error body."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    error = parsed.get("error") if isinstance(parsed, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def upstream_errors() -> tuple[type[Exception], ...]:
    """What an upstream call raises: the relay's `WireError` (gateway face) and, once the SDK is
    loaded, its `APIError` (library face). An SDK never imported raised nothing, so a process that
    only relays catches without loading it (`except upstream_errors()`: evaluated only on a raise)."""
    anthropic = sys.modules.get("anthropic")
    return (WireError,) if anthropic is None else (WireError, anthropic.APIError)


def may_fall_back(exc: BaseException, *, spend_limited: bool) -> bool:
    """Whether another model might succeed where this failure's model did not.

    Yes for rate limits, server errors (529 overloaded included) and connection failures; never
    for a spend limit or a request the API refused (400, 401, 403, 404, 413, ...).
    """
    if spend_limited:
        return False
    if isinstance(exc, WireError):  # the gateway's relay: judged as the SDK's errors are
        if exc.status is None:
            return True
        if exc.status < 400:  # an error event inside a 200 stream
            return exc.type in FALLBACK_ERROR_TYPES
        return exc.status == 429 or exc.status >= 500
    import anthropic  # any other upstream failure is the SDK's, so it is loaded already

    if isinstance(exc, anthropic.APIConnectionError):
        return True
    if not isinstance(exc, anthropic.APIStatusError):
        return False
    if exc.status_code < 400:  # an error event inside a 200 stream: judge by its type
        return exc.type in FALLBACK_ERROR_TYPES
    return exc.status_code == 429 or exc.status_code >= 500


async def call_with_fallback(
    trace: CallTrace, models: Sequence[str], call: Callable[[str], Awaitable[T]]
) -> tuple[str, T]:
    """`call` each model in turn until one answers; move on only after a failure worth it.

    A failure that another model cannot fix (see `may_fall_back`), or the last model's failure,
    is raised unchanged with the trace's facts attached (`failure_of`).
    """
    last = len(models) - 1
    for index, model in enumerate(models):
        trace.models_tried.append(model)
        try:
            return model, await call(model)
        except upstream_errors() as exc:
            if index < last and may_fall_back(exc, spend_limited=trace.spend_limited):
                continue
            attach_failure(exc, trace.failure())
            raise
    raise ValueError("no model to call")
