"""`Router`: classify → policy → upstream → account, for one request or many.

    async with Router(settings) as router:
        routed = await router.create(model="auto", max_tokens=256, messages=[...])
        routed.message          # the SDK's own Message
        routed.label, routed.model_used, routed.cost_usd, routed.cost_if_opus_usd, ...

`create` mirrors `client.messages.create`: `model="auto"` (or a `router:<alias>`) is classified
and routed; a concrete model id skips the classifier but is still accounted. Router-specific
facts about a request ride in `meta=RequestMeta(...)`. Every request, answered or failed, leaves
exactly one `UsageRecord`, handed to the ledger when one is attached. Upstream API errors reach
the caller as the SDK's own exceptions, unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from ..catalog.pricing import Baseline, PriceTable
from ..catalog.signatures import in_content
from ..classify import Classifier, classifier_input
from ..classify.factory import build_classifier
from ..config import Settings
from ..errors import RouterError
from ..otel import NO_SPANS, Spans
from ..types import (
    NO_USAGE,
    ClassifierSource,
    Decision,
    Label,
    RequestMeta,
    Route,
    UsageRecord,
    new_request_id,
)
from ..upstream import (
    StreamResult,
    Upstream,
    UpstreamResult,
    UpstreamStream,
    WireError,
    failure_of,
    routed_params,
)
from .accounting import Leg, Outcome, new_record
from .agent_traffic import SIDE_CALL_DECISION, AgentTraffic
from .cache_affinity import CacheAffinity
from .policy import THINKING_HISTORY, ModelArg, ModelArgKind, Policy
from .quality_cascade import Checked, QualityCascade
from .session import with_session
from .thinking_writers import ThinkingWriters

if TYPE_CHECKING:  # the SDK is imported where it is used
    import anthropic
    from anthropic.types import Message, RawMessageStreamEvent

logger = logging.getLogger(__name__)

NO_META = RequestMeta()
RECENT_RECORDS = 1_000


class RecordSink(Protocol):
    """Where finished `UsageRecord`s go (the ledger implements it)."""

    async def record(self, record: UsageRecord) -> None: ...


class ResponseObserver(Protocol):
    """Told of every answered `create` (e.g. quality monitoring). `observe` must return at once and
    never raise: slow work belongs in its own task. `aclose` runs before the router closes."""

    def observe(self, params: Mapping[str, Any], routed: RoutedResponse) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RoutedResponse:
    """The SDK's `Message` and everything routing and accounting learned about it."""

    message: Message
    record: UsageRecord
    route: Route
    decision: Decision | None = None

    @property
    def text(self) -> str:
        return "".join(block.text for block in self.message.content if block.type == "text")

    @property
    def task_id(self) -> str | None:
        return self.record.task_id

    @property
    def label(self) -> Label | None:
        return self.record.label

    @property
    def confidence(self) -> float | None:
        return self.record.confidence

    @property
    def classifier_source(self) -> ClassifierSource:
        return self.record.classifier_source

    @property
    def model_used(self) -> str:
        return self.record.model_used or self.route.model

    @property
    def fallback(self) -> bool:
        return self.record.fallback

    @property
    def retries(self) -> int:
        return self.record.retries

    @property
    def latency_s(self) -> float:
        return self.record.latency_s

    @property
    def cost_usd(self) -> Decimal:
        """What the request cost in all: the routed call(s) and the classifier."""
        return self.record.total_cost_usd

    @property
    def classifier_cost_usd(self) -> Decimal:
        return self.record.classifier_cost_usd

    @property
    def cost_if_opus_usd(self) -> Decimal:
        return self.record.cost_if_opus_usd


@dataclass(frozen=True, slots=True)
class RoutedError:
    """A request of `Router.map` that failed; the others went on."""

    error: BaseException
    task_id: str | None = None
    record: UsageRecord | None = None


@dataclass(frozen=True, slots=True)
class RouterRequest:
    """One item for `Router.map`: a Messages API body plus what the router should know of it."""

    params: Mapping[str, Any]
    meta: RequestMeta = field(default=NO_META)


class Router:
    """The core. Build it once, share it across tasks; close it (or use `async with`) at the end."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        upstream: Upstream | None = None,
        classifier: Classifier | None = None,
        ledger: RecordSink | None = None,
        prices: PriceTable | None = None,
        clock: Callable[[], datetime] | None = None,
        cache_affinity: CacheAffinity | None = None,
        thinking_writers: ThinkingWriters | None = None,
    ) -> None:
        self.settings = settings = settings if settings is not None else Settings.load()
        prices = prices if prices is not None else PriceTable.load(settings.catalog.path)
        self.prices = prices.for_ladder(settings.policy.label_models)  # tiers as this ladder has them
        self.policy = Policy(settings.policy, self.prices, fallback_chain=settings.upstream.fallback_chain)
        self.baseline = Baseline.of_ladder(settings.policy.label_models)  # what-ifs: the ladder's top
        self.upstream = upstream if upstream is not None else Upstream(settings.upstream)
        self.classifier = (
            classifier if classifier is not None else build_classifier(settings.classifier, self.upstream)
        )
        self.ledger = ledger
        self.spans: Spans = NO_SPANS  # the gateway sets its tracer here
        self.observers: list[ResponseObserver] = []
        self.recent: deque[UsageRecord] = deque(maxlen=RECENT_RECORDS)
        self._clock = clock or _utcnow
        if cache_affinity is None and (settings.policy.cache_aware or settings.policy.agent_traffic):
            cache_affinity = CacheAffinity(self.prices, settings.cache_affinity)
        self.cache_affinity = cache_affinity  # None: routing ignores prompt caches
        # who wrote the opaque thinking signatures passed on (in process unless shared)
        self.thinking_writers = thinking_writers if thinking_writers is not None else ThinkingWriters()
        self.agent: AgentTraffic | None = None  # None: agents' sessions are routed like any request
        if cache_affinity is not None and settings.policy.agent_traffic:
            self.agent = AgentTraffic(self.policy, self.prices, cache_affinity, settings.agent_traffic)
        quality = settings.quality
        enabled = quality.auto or quality.aliases
        # None: answers are returned unchecked
        self.quality = QualityCascade(quality, self.prices, self.upstream) if enabled else None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for observer in self.observers:
            await observer.aclose()
        close = getattr(self.classifier, "aclose", None)
        if close is not None:
            await close()
        if self.cache_affinity is not None:
            await self.cache_affinity.aclose()
        await self.thinking_writers.aclose()
        await self.upstream.aclose()

    # ---- one request -------------------------------------------------------------------------

    async def create(self, *, meta: RequestMeta | None = None, **params: Any) -> RoutedResponse:
        """Route and send one Messages API request; `UnknownModelError` before any call if `model` is."""
        import anthropic

        meta = with_session(meta or NO_META, params)
        arg = self.policy.resolve_model_arg(params.get("model"))
        started = perf_counter()
        request_id = meta.request_id or new_request_id()
        now = self._clock()
        decision: Decision | None = None
        route: Route | None = None
        extra: tuple[Leg, ...] = ()
        checked: Checked | None = None
        try:
            writers = await self.thinking_writers.known(params)
            if (
                arg.kind is not ModelArgKind.CONCRETE
                and (
                    cheap := self.policy.speculative_model(
                        meta, alias=arg.alias, now=now, params=params, writers=writers
                    )
                )
                is not None
                and not (self.agent is not None and self.agent.side_call(params, meta))
            ):
                decision, route, result, extra = await self._speculate(params, meta, arg, cheap, now, writers)
            else:
                decision, route = await self.plan(params, meta, arg, now, writers=writers)
                result = await self._send(params, route)
                if self.quality is not None and self.quality.applies(arg):
                    checked = await self.quality.check(params, route, result, self._send)
                    result = checked.result
        except anthropic.APIError as exc:
            await self._record_failure(exc, request_id, arg, meta, decision, route, started, now)
            raise
        outcome = Outcome(
            model_used=result.model_used,
            answer=result.usage,
            extra_legs=extra + checked.legs if checked is not None else extra,
            retries=result.retries,
            fallback=result.fallback,
            latency_s=perf_counter() - started,
            ttft_s=result.ttft_s,
            speculative=bool(extra) or route.speculative,
            adapted=result.adapted,
            effort=result.effort,
            signatures=in_content(result.message.content),
        )
        record = await self.settle(
            outcome,
            request_id=request_id,
            model_requested=arg.model,
            meta=meta,
            decision=decision,
            route=route,
            created_at=now,
            sent=routed_params(params, route),
            escalated=checked is not None and checked.escalated,
        )
        routed = RoutedResponse(result.message, record, route, decision)
        for observer in self.observers:
            observer.observe(params, routed)
        return routed

    async def plan(
        self,
        params: Mapping[str, Any],
        meta: RequestMeta,
        arg: ModelArg,
        now: datetime,
        *,
        writers: Mapping[str, str] | None = None,
    ) -> tuple[Decision | None, Route]:
        """The decision (None: nothing classified) and the route for one request, the prompt caches,
        the thinking it holds and the agent-traffic policy considered: the one routing step of
        `create`, `stream` and the gateway's relays (speculation aside). `writers`: what
        `thinking_writers.known` gave for `params` (None: asked here)."""
        if self.agent is not None and self.agent.side_call(params, meta):
            return SIDE_CALL_DECISION, self.agent.side_call_route(params, meta, alias=arg.alias, now=now)
        if arg.kind is ModelArgKind.CONCRETE:
            return None, self.policy.route(None, meta, params, now=now)
        if writers is None:
            writers = await self.thinking_writers.known(params)
        if self.agent is not None and (
            held := await self.agent.held(params, meta, alias=arg.alias, now=now, writers=writers)
        ):
            return None, held
        decision = await self.classify(params)
        route = self.policy.route(
            decision, meta, params, alias=arg.alias, now=now, downgrade=meta.downgrade, writers=writers
        )
        if route.reason.startswith(THINKING_HISTORY):  # kept with the model that wrote its thinking
            return decision, route
        if self.cache_affinity is not None:  # stay on a tier whose prompt cache is warm
            route = await self.cache_affinity.adjust(route, params, meta)
        if self.agent is not None:
            route = await self.agent.stick(route, meta)
        return decision, route

    async def classify(self, params: Mapping[str, Any]) -> Decision:
        """The classifier's decision for a Messages API body (what `create` would route on)."""
        with self.spans.child("classify") as span:
            decision = await self.classifier.classify(classifier_input(params))
            if span is not None:
                span.set_attribute("claude_router.label", decision.label.value)
                span.set_attribute("claude_router.classifier_source", decision.source.value)
        return decision

    def route(
        self,
        params: Mapping[str, Any],
        decision: Decision | None,
        meta: RequestMeta = NO_META,
        *,
        writers: Mapping[str, str] | None = None,
    ) -> Route:
        """The route `create` would take for `params` given `decision` (None for a concrete model);
        `writers` as `thinking_writers.known` gives them."""
        arg = self.policy.resolve_model_arg(params.get("model"))
        return self.policy.route(
            decision,
            meta,
            params,
            alias=arg.alias,
            now=self._clock(),
            downgrade=meta.downgrade,
            writers=writers,
        )

    async def settle(
        self,
        outcome: Outcome,
        *,
        request_id: str,
        model_requested: str,
        meta: RequestMeta,
        decision: Decision | None,
        route: Route | None,
        created_at: datetime,
        sent: Mapping[str, Any] | None = None,
        escalated: bool = False,
    ) -> UsageRecord:
        """Price `outcome` into the request's record, tell cache-aware routing which tier now holds
        the prompt's cache (`sent`: the routed body of an answered call) and keep the record: the
        one accounting step of `create`, `stream` and the gateway's relays."""
        record = new_record(
            self.prices,
            request_id=request_id,
            model_requested=model_requested,
            meta=meta,
            decision=decision,
            route=route,
            outcome=outcome,
            created_at=created_at,
            baseline=self.baseline,
        )
        record.escalated = escalated
        if sent is not None and self.cache_affinity is not None and outcome.model_used is not None:
            await self.cache_affinity.observe(sent, meta, outcome.model_used, outcome.answer)
        if outcome.signatures and outcome.model_used is not None:  # the conversation's next turn stays
            await self.thinking_writers.learn(outcome.signatures, outcome.model_used)
        await self._keep(record)
        return record

    async def keep_record(self, record: UsageRecord, *, signatures: tuple[str, ...] = ()) -> None:
        """Keep a record accounted outside `create` / `stream` (the SDK middleware's): recent and
        ledger; `signatures`: those of the answer's thinking blocks, which its model wrote."""
        if signatures and record.model_used:
            await self.thinking_writers.learn(signatures, record.model_used)
        await self._keep(record)

    def add_observer(self, observer: ResponseObserver) -> None:
        """Tell `observer` of every request `create` answers, after its record is kept."""
        self.observers.append(observer)

    def stream(self, *, meta: RequestMeta | None = None, **params: Any) -> RoutedStream:
        """Classify, then stream from the routed model: `async with router.stream(...) as s`."""
        return RoutedStream(self, params, with_session(meta or NO_META, params))

    # ---- many requests -----------------------------------------------------------------------

    async def map(
        self, requests: Iterable[RouterRequest | Mapping[str, Any]], *, concurrency: int = 5
    ) -> list[RoutedResponse | RoutedError]:
        """Route many requests, at most `concurrency` at a time; results in input order.

        A failed request yields a `RoutedError` in its place and never sinks the others.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        gate = asyncio.Semaphore(concurrency)

        async def one(item: RouterRequest | Mapping[str, Any]) -> RoutedResponse | RoutedError:
            import anthropic

            request = item if isinstance(item, RouterRequest) else RouterRequest(item)
            async with gate:
                try:
                    return await self.create(meta=request.meta, **request.params)
                except (anthropic.APIError, RouterError, ValueError, TypeError) as exc:
                    return RoutedError(exc, request.meta.task_id, _failure_record(exc))
                except Exception as exc:  # one request's bug must not sink the batch: logged here
                    logger.exception("request %s failed unexpectedly", request.meta.task_id or "(no task id)")
                    return RoutedError(exc, request.meta.task_id)

        return list(await asyncio.gather(*(one(item) for item in requests)))

    # ---- internals ---------------------------------------------------------------------------

    async def _send(self, params: Mapping[str, Any], route: Route) -> UpstreamResult:
        with self.spans.child(f"upstream {route.model}", **{"gen_ai.request.model": route.model}):
            return await self.upstream.create(
                routed_params(params, route),
                model=route.model,
                fallbacks=route.fallbacks,
                as_written=route.as_written,
            )

    async def _speculate(
        self,
        params: Mapping[str, Any],
        meta: RequestMeta,
        arg: ModelArg,
        cheap: str,
        now: datetime,
        writers: Mapping[str, str],
    ) -> tuple[Decision, Route, UpstreamResult, tuple[Leg, ...]]:
        def route_for(decision: Decision) -> Route:
            return self.policy.route(
                decision, meta, params, alias=arg.alias, now=now, downgrade=meta.downgrade, writers=writers
            )

        # The cheap leg sends exactly what a simple-labelled route would send.
        cheap_route = route_for(Decision(Label.SIMPLE, 1.0, ClassifierSource.LOCAL))
        spec = await self.upstream.speculate(
            self.classify(params), routed_params(params, cheap_route), cheap_model=cheap, route_for=route_for
        )
        extra: tuple[Leg, ...] = ()
        if spec.discarded is not None and spec.discarded.model_used is not None:
            extra = (Leg(spec.discarded.model_used, spec.discarded.usage),)
        return spec.decision, spec.route, spec.answer, extra

    async def _record_failure(
        self,
        exc: anthropic.APIError,
        request_id: str,
        arg: ModelArg,
        meta: RequestMeta,
        decision: Decision | None,
        route: Route | None,
        started: float,
        now: datetime,
    ) -> None:
        record = new_record(
            self.prices,
            request_id=request_id,
            model_requested=arg.model,
            meta=meta,
            decision=decision,
            route=route,
            outcome=failure_outcome(exc, started),
            created_at=now,
            baseline=self.baseline,
        )
        _attach_record(exc, record)
        await self._keep(record)

    async def _keep(self, record: UsageRecord) -> None:
        self.recent.append(record)
        if self.ledger is not None:
            await self.ledger.record(record)


class RoutedStream:
    """`async with router.stream(...) as stream: async for event in stream: ...`

    Entering classifies, routes and opens the upstream stream (a retryable failure before the
    first event falls back like a non-streamed call). The items are the SDK's raw stream events.
    Leaving records the usage the events reported, also when the consumer stopped early.
    """

    def __init__(self, router: Router, params: Mapping[str, Any], meta: RequestMeta) -> None:
        self._router = router
        self._params = params
        self._meta = meta
        self._arg = router.policy.resolve_model_arg(params.get("model"))
        self._request_id = meta.request_id or new_request_id()
        self.decision: Decision | None = None
        self.route: Route | None = None
        self.record: UsageRecord | None = None
        self._upstream: UpstreamStream[RawMessageStreamEvent] | None = None
        self._started = 0.0
        self._now = _utcnow()

    async def __aenter__(self) -> Self:
        import anthropic

        router, params = self._router, self._params
        self._started, self._now = perf_counter(), router._clock()
        try:
            self.decision, self.route = await router.plan(params, self._meta, self._arg, self._now)
            route = self.route
            self._upstream = router.upstream.stream(
                routed_params(params, route),
                model=route.model,
                fallbacks=route.fallbacks,
                as_written=route.as_written,
            )
            await self._upstream.__aenter__()
        except anthropic.APIError as exc:
            await router._record_failure(
                exc,
                self._request_id,
                self._arg,
                self._meta,
                self.decision,
                self.route,
                self._started,
                self._now,
            )
            raise
        return self

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RawMessageStreamEvent:
        assert self._upstream is not None, "use `async with router.stream(...)`"
        return await self._upstream.__anext__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._upstream is None:
            return
        try:
            await self._upstream.__aexit__(exc_type, exc, tb)
        finally:
            await self._account(self._upstream.result())

    async def _account(self, result: StreamResult) -> None:
        self.record = await self._router.settle(
            stream_outcome(result, self._started),
            request_id=self._request_id,
            model_requested=self._arg.model,
            meta=self._meta,
            decision=self.decision,
            route=self.route,
            created_at=self._now,
            sent=routed_params(self._params, self.route) if self.route is not None else None,
        )


def failure_outcome(exc: BaseException, started: float) -> Outcome:
    """The outcome of a call that failed: no answer, but the tokens any attempt spent."""
    failure = failure_of(exc)
    legs = (Leg(failure.usage_model, failure.usage),) if failure and failure.usage_model else ()
    return Outcome(
        model_used=None,
        answer=NO_USAGE,
        extra_legs=legs,
        retries=failure.retries if failure else 0,
        fallback=bool(failure and len(failure.models_tried) > 1),
        latency_s=perf_counter() - started,
        error_type=error_type(exc),
    )


def stream_outcome(result: StreamResult, started: float) -> Outcome:
    """The outcome of a stream, finished, failed midway or cancelled by its consumer."""
    error = result.error
    return Outcome(
        model_used=result.model_used,
        answer=result.usage,
        retries=result.retries,
        fallback=result.fallback,
        latency_s=perf_counter() - started,
        ttft_s=result.ttft_s,
        error_type=error_type(error) if error is not None else ("cancelled" if result.cancelled else None),
        adapted=result.adapted,
        effort=result.effort,
        signatures=result.signatures,
    )


def error_type(exc: BaseException) -> str:
    """The Anthropic error type of an upstream failure (`overloaded_error`, `timeout_error`, ...)."""
    if isinstance(exc, WireError):
        return exc.type
    import anthropic  # any other upstream failure is the SDK's, so it is loaded already

    if isinstance(exc, anthropic.APIStatusError):
        return exc.type or f"http_{exc.status_code}"
    if isinstance(exc, anthropic.APITimeoutError):
        return "timeout_error"
    if isinstance(exc, anthropic.APIConnectionError):
        return "connection_error"
    return type(exc).__name__


_RECORD_ATTR = "_claude_router_record"


def _attach_record(exc: BaseException, record: UsageRecord) -> None:
    setattr(exc, _RECORD_ATTR, record)


def _failure_record(exc: BaseException) -> UsageRecord | None:
    record = getattr(exc, _RECORD_ATTR, None)
    return record if isinstance(record, UsageRecord) else None


def _utcnow() -> datetime:
    return datetime.now(UTC)
