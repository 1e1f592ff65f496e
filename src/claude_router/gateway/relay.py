"""A routed request relayed without re-parsing: classify, route, call, account; the answer's bytes
go back as the upstream sent them.

`Relay` holds what both relays share (routing and exactly one record per request, answered or
failed); `PlainRelay` is the non-streaming one, `streaming.SSERelay` the streamed one. Both send
through the upstream's own byte client (`Upstream.relay`, `Upstream.relay_stream`: aiohttp, the
SDK's retry contract, no SDK objects), with the client's `anthropic-beta`, `anthropic-version`
and query string (`Forward`). The plain relay serves a request when nothing needs the parsed
`Message` (`relays_raw`): no quality cascade, cache-aware routing, response observers or
speculation; otherwise `Router.create` does. Streams heed cache-aware routing as `Router.stream`
does.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers

from ..catalog.signatures import in_answer
from ..routing.accounting import Outcome
from ..routing.policy import ModelArgKind
from ..routing.router import Router, failure_outcome
from ..types import Decision, RequestMeta, Route, UsageRecord
from ..upstream import RawUpstreamResult, routed_params, routes_as_written, upstream_errors
from .tracing import NO_TRACING, Span, Tracing

FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version")
_FORWARDED = frozenset(name.encode() for name in FORWARDED_HEADERS)


@dataclass(frozen=True, slots=True)
class Forward:
    """What of the client's request goes upstream besides its body: the API's own headers, and
    the query string (Claude Code's `?beta=true`), as the client sent them."""

    headers: Mapping[str, str] = field(default_factory=dict)
    query: str = ""

    @classmethod
    def of(cls, headers: Headers, query: bytes) -> Forward:
        """From the request's headers and raw query string, in one pass over the headers (their
        names arrive lower-cased). Repeated ones are joined as HTTP allows (`anthropic-beta` takes
        a comma-separated list)."""
        found: dict[str, str] = {}
        for raw_name, raw_value in headers.raw:
            if raw_name in _FORWARDED:
                name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
                found[name] = f"{found[name]},{value}" if name in found else value
        return cls(found, query.decode("latin-1"))

    def sdk_options(self) -> dict[str, Any]:
        """The same for a call through the SDK's client (`Router.create`): its request options."""
        options: dict[str, Any] = {}
        if self.headers:
            options["extra_headers"] = dict(self.headers)
        if self.query:
            options["extra_query"] = dict(parse_qsl(self.query, keep_blank_values=True))
        return options


NO_FORWARD = Forward()


def relays_raw(router: Router, params: Mapping[str, Any], meta: RequestMeta) -> bool:
    """Whether `PlainRelay` gives what `Router.create` would: nothing needs the parsed answer."""
    if router.quality is not None or router.cache_affinity is not None or router.observers:
        return False
    arg = router.policy.resolve_model_arg(params.get("model"))
    return arg.kind is ModelArgKind.CONCRETE or router.policy.speculative_model(meta, alias=arg.alias) is None


class Relay:
    def __init__(
        self,
        router: Router,
        params: Mapping[str, Any],
        meta: RequestMeta,
        request_id: str,
        tracing: Tracing | None = None,
        forward: Forward = NO_FORWARD,
        raw: bytes | None = None,
    ) -> None:
        self._router = router
        self._raw = raw  # the client's body as it came: `params` and its `stream` field
        self._forward = forward
        self._tracing = tracing or Tracing(NO_TRACING)
        self._params = params
        self._meta = meta
        self._request_id = request_id
        self._arg = router.policy.resolve_model_arg(params.get("model"))
        self._started = perf_counter()
        self._now = datetime.now(UTC)
        self.decision: Decision | None = None
        self.route: Route | None = None
        self.record: UsageRecord | None = None

    async def _routed(self) -> Route:
        """Classify (unless a model id was asked for) and route, under the request's downgrade."""
        self.decision, self.route = await self._router.plan(self._params, self._meta, self._arg, self._now)
        return self.route

    def _body(self, route: Route) -> dict[str, Any]:
        return routed_params(self._params, route)

    def _raw_body(self, route: Route) -> bytes | None:
        """The client's own bytes, when the route sends its body as written: no re-encoding (a
        `"stream": false` in them asks what its absence does)."""
        return self._raw if self._raw is not None and routes_as_written(self._params, route) else None

    def _upstream_span(self, route: Route) -> AbstractContextManager[Span | None]:
        """The child span of the routed upstream call (the SDK's own spans nest under it)."""
        return self._tracing.child(f"upstream {route.model}", **{"gen_ai.request.model": route.model})

    async def _record_failure(self, exc: BaseException) -> None:
        await self._keep(failure_outcome(exc, self._started))

    async def _keep(self, outcome: Outcome, *, answered: bool = False) -> None:
        """Account the request (`Router.settle`); an `answered` call also tells cache-aware
        routing where its prompt's cache now is."""
        sent = self._body(self.route) if answered and self.route is not None else None
        self.record = await self._router.settle(
            outcome,
            request_id=self._request_id,
            model_requested=self._arg.model,
            meta=self._meta,
            decision=self.decision,
            route=self.route,
            created_at=self._now,
            sent=sent,
        )


class PlainRelay(Relay):
    """One non-streamed request: `await relay.run()` gives the upstream's bytes, already accounted."""

    async def run(self) -> RawUpstreamResult:
        forward = self._forward
        try:
            route = await self._routed()
            with self._upstream_span(route):
                result = await self._router.upstream.relay(
                    self._body(route),
                    model=route.model,
                    fallbacks=route.fallbacks,
                    headers=forward.headers,
                    query=forward.query,
                    as_written=route.as_written,
                    raw=self._raw_body(route),
                )
        except upstream_errors() as exc:
            await self._record_failure(exc)
            raise
        outcome = Outcome(
            model_used=result.model_used,
            answer=result.usage,
            retries=result.retries,
            fallback=result.fallback,
            latency_s=perf_counter() - self._started,
            adapted=result.adapted,
            effort=result.effort,
            signatures=in_answer(result.body),
        )
        await self._keep(outcome)
        return result
