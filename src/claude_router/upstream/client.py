"""The only code that talks to Anthropic: the official `AsyncAnthropic` client, wrapped.

    upstream = Upstream(settings.upstream)            # or Upstream(settings.upstream, client=...)
    result = await upstream.create(params, model="claude-opus-4-8", fallbacks=("claude-sonnet-4-6",))
    result.message      # the SDK's own `Message`
    result.model_used   # the model that answered (differs from `model` after a fallback)
    result.usage        # TokenUsage of every attempt that consumed tokens
    async with upstream.stream(params, model=..., fallbacks=...) as stream:
        async for event in stream: ...                # the SDK's RawMessageStreamEvents
    stream.result()     # usage from message_start/message_delta, ttft, retries, ...
    spec = await upstream.speculate(classifier.classify(item), params, cheap_model=..., route_for=...)
    await upstream.aclose()

Retries are the SDK's own (`max_retries`; retry-after honoured; 408, 409, 429, 5xx and timeouts).
On top of them: a fallback chain once retries are exhausted on a failure another model may not
share (rate limit, 5xx, 529 overloaded, connection error), a per-model cooldown after repeated
overloads, and no retry of a 429 that says a spend limit was reached. Every other failure (400,
401, 403, 404, 413, ...) is raised at once. Upstream errors are always the SDK's own exceptions,
unchanged; `failure_of(exc)` gives the attempts they took.

Each model a call tries gets `params` adapted to it (`catalog/adapt.py`: thinking modes, effort,
sampling, forced tool choice, `max_tokens` ceilings, ...), and the result says what was changed for
the model that answered. With `as_written=True` (a caller that named the model) everything other
than `model` and `stream` is sent as given, the SDK's `extra_headers` / `extra_body` / `timeout`
included.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..catalog.adapt import NO_SAMPLING_VERSION, Adapter
from ..catalog.models import Catalogue
from ..config import UpstreamSettings
from ..errors import ConfigError
from ..otel import tracing_configured
from ..types import Decision, Route, TokenUsage
from .attempts import (
    Attempt,
    AttemptObserver,
    CallTrace,
    RateLimits,
    UpstreamFailure,
    attach_failure,
    call_with_fallback,
    failure_of,
    may_fall_back,
)
from .cooldown import Cooldowns
from .outgoing import Outgoing
from .retry import DEFAULT_MAX_RETRIES
from .speculation import SpeculativeLeg
from .streaming import (
    EventSource,
    ItemT,
    OpenSource,
    StreamResult,
    StreamUsage,
    UpstreamStream,
)
from .wire import DEFAULT_VERSION, WireClient, WireConfig
from .wire_stream import WireStream

if TYPE_CHECKING:  # the SDK is loaded with the first call through it (`Upstream.client`)
    import anthropic
    import httpx2
    from anthropic import AsyncStream
    from anthropic.types import Message, RawMessageStreamEvent

__all__ = [
    "Attempt",
    "RateLimits",
    "RawUpstreamResult",
    "Speculation",
    "StreamResult",
    "Upstream",
    "UpstreamFailure",
    "UpstreamResult",
    "UpstreamStream",
    "failure_of",
    "routed_params",
    "with_cached_system",
]

EPHEMERAL = {"type": "ephemeral"}
# What the SDK's client reads when the settings name no key or address, and its default address.
API_KEY_ENV, BASE_URL_ENV = "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"
DEFAULT_BASE_URL = "https://api.anthropic.com"


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    """A call that produced a `Message`, and what it took.

    `retries` counts every attempt beyond the first: the SDK's retries and the attempts made on
    fallback models. Failed attempts consume no tokens, so `usage` is the answering call's.
    """

    message: Message
    model_used: str
    usage: TokenUsage
    retries: int = 0
    fallback: bool = False
    latency_s: float = 0.0
    request_id: str | None = None
    fallback_from: str | None = None  # the model asked for, when another one answered
    ttft_s: float | None = None  # known for streamed calls only
    rate_limits: RateLimits | None = None
    attempts: tuple[Attempt, ...] = ()
    adapted: tuple[str, ...] = ()  # what was changed in the body for `model_used`
    effort: str | None = None  # the effort `model_used` was sent


@dataclass(frozen=True, slots=True)
class RawUpstreamResult:
    """A call answered with the upstream's own JSON bytes, for relaying as is (`Upstream.relay`)."""

    body: bytes
    model_used: str
    usage: TokenUsage
    retries: int = 0
    fallback: bool = False
    latency_s: float = 0.0
    request_id: str | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)  # the answer's, as sent
    adapted: tuple[str, ...] = ()
    effort: str | None = None


@dataclass(frozen=True, slots=True)
class Speculation:
    """The outcome of `Upstream.speculate`.

    `answer` is the response for the caller. `discarded` is the speculative cheap call when its
    answer was not used (cancelled, or finished but superseded): its tokens were spent all the
    same and are priced at `discarded.model_used`.
    """

    decision: Decision
    route: Route
    answer: UpstreamResult
    kept: bool
    discarded: StreamResult | None = None


def with_cached_system(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with its system prompt marked as a prompt-cache breakpoint (`ephemeral`).

    A string becomes one text block with `cache_control`; a list of blocks gets it on its last
    block. A system prompt that already has a breakpoint anywhere is left as the caller set it.
    """
    system = params.get("system")
    if not system:
        return dict(params)
    if isinstance(system, str):
        blocks: list[Any] = [{"type": "text", "text": system, "cache_control": dict(EPHEMERAL)}]
    else:
        blocks = list(system)
        if any(isinstance(b, Mapping) and b.get("cache_control") for b in blocks):
            return dict(params)
        blocks[-1] = {**blocks[-1], "cache_control": dict(EPHEMERAL)}
    return {**params, "system": blocks}


def routed_params(params: Mapping[str, Any], route: Route) -> dict[str, Any]:
    """The body to send for `route`: its max_tokens (set only when the caller gave none), its
    effort (the caller's own, else the ladder step's) and caching."""
    body = dict(params)
    if route.max_tokens is not None:
        body["max_tokens"] = route.max_tokens
    if route.effort is not None:
        config = body.get("output_config")
        body["output_config"] = {**(config if isinstance(config, Mapping) else {}), "effort": route.effort}
    return with_cached_system(body) if route.cache_system else body


def routes_as_written(params: Mapping[str, Any], route: Route) -> bool:
    """Whether the route sends the body as the caller wrote it: it names the route's model, and
    the route sets nothing in it (no max_tokens, effort or cache breakpoint of its own)."""
    return (
        params.get("model") == route.model
        and route.max_tokens is None
        and route.effort is None
        and not route.cache_system
    )


def attempt_body(params: Mapping[str, Any], model: str, *, stream: bool = False) -> bytes:
    """The JSON bytes the relay sends to `model`: every field as the caller sent it, `model` and
    `stream` set. The one place the relay builds an attempt's body."""
    fields = {k: v for k, v in params.items() if k not in ("model", "stream")}
    if stream:
        fields["stream"] = True
    return json.dumps({**fields, "model": model}, ensure_ascii=False, separators=(",", ":")).encode()


def _http_client(kind: str) -> httpx2.AsyncClient | None:
    """The SDK's HTTP client for `[upstream] http_client` (None: its default, httpx)."""
    if kind != "aiohttp":
        return None
    import anthropic

    try:
        return anthropic.DefaultAioHttpClient()
    except RuntimeError as exc:  # the SDK's `aiohttp` extra is not installed
        raise ConfigError(
            "[upstream] http_client = 'aiohttp' needs aiohttp: pip install 'claude-router[gateway]'"
        ) from exc


class Upstream:
    """The official async client plus fallback, cooldown, streaming and speculation."""

    def __init__(
        self,
        settings: UpstreamSettings,
        *,
        client: anthropic.AsyncAnthropic | None = None,
        adapter: Adapter | None = None,
    ) -> None:
        self.settings = settings
        self.cooldowns = Cooldowns(settings.cooldown_after, settings.cooldown_s)
        self._limits: dict[str, RateLimits] = {}
        self._latest_limits: RateLimits | None = None
        self._given = client  # a caller's client: left open, its address and key used by the relay too
        self._client: anthropic.AsyncAnthropic | None = None
        self._wire: WireClient | None = None
        version = client.default_headers.get("anthropic-version") if client is not None else DEFAULT_VERSION
        # Bodies are adapted for the API version this client sends (a request's own header wins).
        self.adapter = adapter or Adapter(
            Catalogue.default(), version=version if isinstance(version, str) else NO_SAMPLING_VERSION
        )
        # The keyword arguments the SDK's methods take; other body fields travel in `extra_body`.
        self._create_args: frozenset[str] = frozenset()
        self._stream_args: frozenset[str] = frozenset()

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        """The SDK's client, built on first use (the SDK is imported then: a gateway that only
        relays never loads it); a caller's client is shared, with the attempt observer added."""
        if self._client is None:
            observer = AttemptObserver(self._on_attempt)
            given, settings = self._given, self.settings
            if given is not None:
                client = given.with_options(middleware=[*given.middleware, observer])
            else:
                import anthropic

                client = anthropic.AsyncAnthropic(
                    api_key=settings.api_key.get_secret_value() if settings.api_key else None,
                    base_url=settings.base_url,
                    max_retries=settings.max_retries,
                    timeout=settings.timeout_s,
                    middleware=[observer],
                    http_client=_http_client(settings.http_client),
                    open_telemetry=None if tracing_configured() else False,
                )
            self._create_args = frozenset(inspect.signature(client.messages.create).parameters)
            self._stream_args = frozenset(inspect.signature(client.messages.stream).parameters)
            self._client = client
        return self._client

    @property
    def wire(self) -> WireClient:
        """The relay's HTTP client (`relay`, `relay_stream`): the SDK client's address, key, retries
        and default headers, without the SDK on the way."""
        if self._wire is None:
            self._wire = WireClient(self._wire_config(), on_attempt=self._on_attempt)
        return self._wire

    def _wire_config(self) -> WireConfig:
        """A caller's client's address, key, retries and default headers; else what the SDK's own
        client would take from the settings and the SDK's environment variables."""
        timeout_s = self.settings.timeout_s
        if self._given is None:
            settings = self.settings
            key = settings.api_key.get_secret_value() if settings.api_key else os.environ.get(API_KEY_ENV)
            return WireConfig(
                base_url=settings.base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
                api_key=key,
                max_retries=settings.max_retries,
                timeout_s=timeout_s,
            )
        client = self.client
        return WireConfig(
            base_url=str(client.base_url),
            api_key=client.api_key,
            max_retries=client.max_retries if client.max_retries is not None else DEFAULT_MAX_RETRIES,
            timeout_s=timeout_s,
            headers={k: v for k, v in client._custom_headers.items() if isinstance(v, str)},
        )

    async def relay(
        self,
        params: Mapping[str, Any],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        query: str = "",
        as_written: bool = False,
        raw: bytes | None = None,
    ) -> RawUpstreamResult:
        """As `create`, for a proxy that relays the answer: the body goes out as JSON bytes over the
        relay's own client (`wire.py`: the SDK's retry contract, none of its per-field handling of
        either side, which costs more CPU than the rest of the call), with the client's `headers`
        (`anthropic-beta`, `anthropic-version`) and `query` as it sent them; the answer's bytes come
        back as the upstream sent them, read only for their `usage`. `raw`: the body's own bytes
        for `model` (a client's, routed as written), sent as they are; a fallback's are built."""
        wire, sent = self.wire, headers or {}
        outgoing = self.outgoing(params, as_written=as_written)
        trace = CallTrace()

        async def call(candidate: str) -> tuple[bytes, Mapping[str, str]]:
            if raw is not None and candidate == model and not outgoing.changes(candidate):
                body = raw  # the client's own bytes: routing and adaptation changed nothing in them
            else:
                body = attempt_body(outgoing.body(candidate), candidate)
            return await wire.fetch(trace, candidate, body, sent, query)

        used, (content, got) = await call_with_fallback(trace, self.candidates(model, fallbacks), call)
        return RawUpstreamResult(
            body=content,
            headers=got,
            model_used=used,
            usage=usage_of(content),
            retries=trace.retries,
            fallback=used != model,
            latency_s=trace.elapsed_s(),
            request_id=trace.request_id,
            adapted=outgoing.changes(used),
            effort=outgoing.effort(used),
        )

    def relay_stream(
        self,
        params: Mapping[str, Any],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
        query: str = "",
        as_written: bool = False,
        raw: bytes | None = None,
    ) -> WireStream:
        """A streamed `relay`: the upstream's bytes as they come (see `WireStream`)."""
        outgoing = self.outgoing(params, as_written=as_written)

        def body_for(candidate: str) -> bytes:
            if raw is not None and candidate == model and not outgoing.changes(candidate):
                return raw
            return attempt_body(outgoing.body(candidate), candidate, stream=True)

        return WireStream(
            self.wire,
            body_for,
            self.candidates(model, fallbacks),
            requested=model,
            headers=headers or {},
            query=query,
            on_overload=self.cooldowns.overloaded,
            outgoing=outgoing,
        )

    def rate_limits(self, model: str | None = None) -> RateLimits | None:
        """The latest `anthropic-ratelimit-*` headers seen (for `model`, or from any model)."""
        return self._latest_limits if model is None else self._limits.get(model)

    def candidates(self, model: str, fallbacks: Sequence[str] = ()) -> tuple[str, ...]:
        """The models a call would try, in order: cooling models skipped unless all are cooling."""
        return self.cooldowns.usable(tuple(dict.fromkeys((model, *fallbacks))))

    def outgoing(self, params: Mapping[str, Any], *, as_written: bool = False) -> Outgoing:
        """The bodies one call sends, each adapted to its model unless `as_written`."""
        return Outgoing(params, None if as_written else self.adapter)

    async def create(
        self,
        params: Mapping[str, Any],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        as_written: bool = False,
    ) -> UpstreamResult:
        client = self.client  # built first: building it reads the SDK's argument names
        outgoing = self.outgoing(params, as_written=as_written)

        async def call(candidate: str) -> Message:
            body = _sdk_kwargs(outgoing.body(candidate), self._create_args)
            message: Message = await client.messages.create(**body, model=candidate, stream=False)
            return message

        trace = CallTrace()
        with trace.active():
            used, message = await call_with_fallback(trace, self.candidates(model, fallbacks), call)
        return _result(message, used, model, trace, outgoing)

    def stream(
        self,
        params: Mapping[str, Any],
        *,
        model: str,
        fallbacks: Sequence[str] = (),
        as_written: bool = False,
    ) -> UpstreamStream[RawMessageStreamEvent]:
        """An async context manager over the SDK's raw stream events (see `UpstreamStream`)."""
        client = self.client  # built first: building it reads the SDK's argument names
        outgoing = self.outgoing(params, as_written=as_written)

        async def open_events(candidate: str, accounting: StreamUsage) -> EventSource:
            body = _sdk_kwargs(outgoing.body(candidate), self._create_args)
            raw: AsyncStream[RawMessageStreamEvent] = await client.messages.create(
                **body, model=candidate, stream=True
            )
            return EventSource(raw, accounting)

        return self._stream(open_events, model, fallbacks, outgoing)

    def _stream(
        self, open_source: OpenSource[ItemT], model: str, fallbacks: Sequence[str], outgoing: Outgoing
    ) -> UpstreamStream[ItemT]:
        return UpstreamStream(
            open_source,
            self.candidates(model, fallbacks),
            requested=model,
            on_overload=self.cooldowns.overloaded,
            outgoing=outgoing,
        )

    async def speculate(
        self,
        classify: Awaitable[Decision],
        params: Mapping[str, Any],
        *,
        cheap_model: str,
        route_for: Callable[[Decision], Route],
    ) -> Speculation:
        """Race the classifier against a call to `cheap_model`, then keep or replace its answer.

        `params` is sent to `cheap_model` as given (the body the cheap route would send). When the
        route for the decision is `cheap_model`, its answer is kept; otherwise the cheap call is
        cancelled (its tokens so far are in `discarded`) and the routed model answers.
        """
        client = self.client  # built first: building it reads the SDK's argument names
        cheap = self.adapter.body_for(params, cheap_model)
        leg = SpeculativeLeg(client, _sdk_kwargs(cheap.body, self._stream_args), cheap_model)
        task = asyncio.create_task(leg.run(), name=f"speculative {cheap_model}")
        try:
            decision = await classify
        except BaseException:
            await _cancel(task)
            raise
        route = route_for(decision)
        if route.model == cheap_model:
            kept = await self._keep(task, leg, decision, route, params)
            if kept.kept:
                answer = dataclasses.replace(kept.answer, adapted=cheap.changes, effort=cheap.effort)
                kept = dataclasses.replace(kept, answer=answer)
            return kept
        await _cancel(task)
        answer = await self._routed(params, route, route.model, route.fallbacks, leg)
        return Speculation(decision, route, answer, kept=False, discarded=leg.result())

    async def _keep(
        self,
        task: asyncio.Task[Message],
        leg: SpeculativeLeg,
        decision: Decision,
        route: Route,
        params: Mapping[str, Any],
    ) -> Speculation:
        import anthropic

        try:
            message = await task
        except anthropic.APIError as exc:
            if not (route.fallbacks and may_fall_back(exc, spend_limited=leg.spend_limited)):
                raise
            answer = await self._routed(params, route, route.fallbacks[0], route.fallbacks[1:], leg)
            answer = dataclasses.replace(answer, fallback=True, fallback_from=route.model)
            return Speculation(decision, route, answer, kept=False, discarded=leg.result())
        spent = leg.result()
        answer = UpstreamResult(
            message=message,
            model_used=leg.model,
            usage=spent.usage,
            retries=spent.retries,
            latency_s=spent.latency_s,
            request_id=spent.request_id,
            ttft_s=spent.ttft_s,
            rate_limits=spent.rate_limits,
            attempts=spent.attempts,
        )
        return Speculation(decision, route, answer, kept=True)

    async def _routed(
        self,
        params: Mapping[str, Any],
        route: Route,
        model: str,
        fallbacks: Sequence[str],
        leg: SpeculativeLeg,
    ) -> UpstreamResult:
        """The routed call; if it fails, its exception also carries the speculative leg's tokens."""
        import anthropic

        try:
            return await self.create(routed_params(params, route), model=model, fallbacks=fallbacks)
        except anthropic.APIError as exc:
            failure = failure_of(exc)
            if failure is not None:
                spent = leg.result()
                attach_failure(exc, dataclasses.replace(failure, usage=spent.usage, usage_model=leg.model))
            raise

    async def aclose(self) -> None:
        """Close the client's connections (a client passed in is left to its owner)."""
        if self._wire is not None:
            await self._wire.aclose()
        if self._given is None and self._client is not None:
            await self._client.close()

    def _on_attempt(self, attempt: Attempt, limits: RateLimits | None) -> None:
        model = attempt.model
        if model is None:
            return
        if attempt.status == 529:
            self.cooldowns.overloaded(model)
        elif attempt.error is None and attempt.status is not None and 200 <= attempt.status < 300:
            self.cooldowns.succeeded(model)
        if limits is not None:
            self._limits[model] = limits
            self._latest_limits = limits


def _sdk_kwargs(params: Mapping[str, Any], accepted: frozenset[str]) -> dict[str, Any]:
    """The caller's body as keyword arguments for an SDK method, without `model` and `stream`.

    Body fields the SDK method does not name (`temperature`, `top_p`, `top_k`, newer API fields)
    go in `extra_body`, so the request carries them exactly as the caller sent them.
    """
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("model", "stream"):
            continue
        (kwargs if key in accepted else extra)[key] = value
    if extra:
        kwargs["extra_body"] = {**extra, **(kwargs.get("extra_body") or {})}
    return kwargs


_USAGE_KEY = b'"usage":'
_JSON_SPACE = b" \t\r\n"
_SPACE = _JSON_SPACE.decode()
_DECODER = json.JSONDecoder()


def usage_of(content: bytes) -> TokenUsage:
    """The `usage` of an answer's JSON bytes. The API writes it as the message's last field, so
    it is read from the tail when the bytes end with it (a long answer is not parsed for a few
    counts), else from the whole document."""
    usage = _trailing_usage(content)
    if usage is None:
        payload = json.loads(content)
        usage = payload.get("usage") if isinstance(payload, dict) else None
    return TokenUsage.from_api(usage)


def _trailing_usage(content: bytes) -> Any:
    """The value of a `"usage"` key that is the outermost object's last field, or None. A key it
    is: in a JSON string its quotes would be escaped, so `{"usage":` or `,"usage":` (spaces
    aside) only opens a key; the outermost object's: after its value only that object closes."""
    at = content.rfind(_USAGE_KEY)
    before = at - 1
    while before >= 0 and content[before] in _JSON_SPACE:
        before -= 1
    if before < 0 or content[before] not in b",{":
        return None
    try:
        tail = content[at + len(_USAGE_KEY) :].decode().lstrip(_SPACE)
        value, end = _DECODER.raw_decode(tail)
    except ValueError:  # not UTF-8, or not JSON
        return None
    return value if isinstance(value, dict) and tail[end:].strip(_SPACE) == "}" else None


def _result(
    message: Message, used: str, requested: str, trace: CallTrace, outgoing: Outgoing
) -> UpstreamResult:
    fell_back = used != requested
    return UpstreamResult(
        message=message,
        model_used=used,
        usage=TokenUsage.from_api(message.usage),
        retries=trace.retries,
        fallback=fell_back,
        latency_s=trace.elapsed_s(),
        request_id=trace.request_id,
        fallback_from=requested if fell_back else None,
        rate_limits=trace.rate_limits,
        attempts=tuple(trace.attempts),
        adapted=outgoing.changes(used),
        effort=outgoing.effort(used),
    )


async def _cancel(task: asyncio.Task[Message]) -> None:
    """Cancel `task` and wait for it to end; its outcome is in the leg's own accounting."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it as lost
