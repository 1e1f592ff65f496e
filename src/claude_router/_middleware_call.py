"""One logical Messages API call as the SDK middleware sees it: many HTTP attempts, one record.

The SDK runs its middleware once per HTTP attempt, inside its own retry loop. `RoutedCall` is
the state those attempts share: the decision and route made on the first attempt, the models
still to try, the attempt count. It decides, after each attempt, what happens next (`Verdict`)
by the SDK's own retry rules, and builds the one `UsageRecord` the call ends with. It does no
I/O, so the async and the sync middleware drive the same object.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from time import perf_counter
from typing import Any

import httpx2
from anthropic import APIRequest

from .routing.accounting import Outcome, new_record
from .routing.router import Router
from .types import NO_USAGE, ClassifierSource, Decision, RequestMeta, Route, TokenUsage, UsageRecord
from .upstream.outgoing import Outgoing

# What the router adds to every response it routed.
HEADER_REQUEST_ID = "x-router-request-id"
HEADER_LABEL = "x-router-label"
HEADER_MODEL = "x-router-model"
HEADER_COST = "x-router-cost-usd"
HEADER_CONFIDENCE = "x-router-confidence"
HEADER_SOURCE = "x-router-classifier-source"

# What a caller may add to a request for the router alone (removed before it is sent).
META_TASK_ID = "x-router-task-id"
META_CUSTOMER = "x-router-customer"
META_TAGS = "x-router-tags"  # comma-separated
META_HEADERS = frozenset({META_TASK_ID, META_CUSTOMER, META_TAGS})

SHOULD_RETRY = "x-should-retry"  # the header the SDK obeys before its own status rules
OVERLOADED = 529
# The statuses the SDK retries when the server does not say (`x-should-retry`).
SDK_RETRIED_STATUSES = frozenset({408, 409, 429})


class Verdict(Enum):
    """What follows an attempt."""

    ANSWERED = "answered"  # a 2xx: the call is done
    RETRY = "retry"  # the SDK will retry it: nothing to do yet
    FALL_BACK = "fall_back"  # the SDK gives up, another model may not: send to the next one now
    FAILED = "failed"  # the SDK gives up and no model is left: the call is done


@dataclass(slots=True)
class RoutedCall:
    """The shared state of one logical call's attempts."""

    owner: object  # the middleware that made it (several may sit on one client)
    key: str | None  # the SDK's idempotency key: the same on every attempt of one call
    request_id: str
    model_requested: str
    meta: RequestMeta
    decision: Decision | None
    route: Route
    outgoing: Outgoing  # the routed body, adapted per model tried; `model` is set per attempt
    models: tuple[str, ...]  # the routed model, then its fallbacks
    created_at: datetime
    started: float
    index: int = 0  # into `models`
    attempts: int = 0

    @property
    def model(self) -> str:
        return self.models[self.index]

    def belongs_to(self, owner: object, request: APIRequest) -> bool:
        return self.owner is owner and self.key == request.options.idempotency_key

    def next_request(self, request: APIRequest) -> APIRequest:
        """The SDK's attempt, sent to the current model with the routed body."""
        self.attempts += 1
        body = {**self.outgoing.body(self.model), "model": self.model}
        return request.copy(body=body, headers=outgoing_headers(request))

    def after_response(self, http: httpx2.Response, retries_left: int, *, spend_limited: bool) -> Verdict:
        """What follows a response, given how many retries the SDK has left after this attempt."""
        if http.is_success:
            return Verdict.ANSWERED
        if spend_limited:  # waiting does not lift a spend limit, nor does another model
            http.headers[SHOULD_RETRY] = "false"
        elif retries_left > 0 and sdk_retries(http):
            return Verdict.RETRY
        if not spend_limited and worth_falling_back(http.status_code) and self._advance():
            return Verdict.FALL_BACK
        return Verdict.FAILED

    def after_connection_error(self, retries_left: int) -> Verdict:
        if retries_left > 0:
            return Verdict.RETRY
        return Verdict.FALL_BACK if self._advance() else Verdict.FAILED

    def _advance(self) -> bool:
        if self.index + 1 >= len(self.models):
            return False
        self.index += 1
        return True

    def stamp(self, headers: httpx2.Headers, cost: Decimal | None = None) -> None:
        """Put the routing facts in the response headers the caller sees."""
        headers[HEADER_REQUEST_ID] = self.request_id
        headers[HEADER_MODEL] = self.model
        decision = self.decision
        headers[HEADER_SOURCE] = (decision.source if decision else ClassifierSource.BYPASS).value
        if self.route.label is not None:
            headers[HEADER_LABEL] = self.route.label.value
        if decision is not None:
            headers[HEADER_CONFIDENCE] = f"{decision.confidence:.3f}"
        if cost is not None:
            headers[HEADER_COST] = f"{cost:f}"

    def record(
        self,
        router: Router,
        *,
        answered_by: str | None,
        usage: TokenUsage = NO_USAGE,
        error_type: str | None = None,
        ttft_s: float | None = None,
    ) -> UsageRecord:
        """The call's one record. `answered_by` is the model whose tokens `usage` are, if any."""
        outcome = Outcome(
            model_used=answered_by,
            answer=usage,
            retries=max(0, self.attempts - 1),
            fallback=self.index > 0 or self.model != self.route.model,
            latency_s=perf_counter() - self.started,
            ttft_s=ttft_s,
            error_type=error_type,
            adapted=self.outgoing.changes(answered_by),
            effort=self.outgoing.effort(answered_by),
        )
        return new_record(
            router.prices,
            request_id=self.request_id,
            model_requested=self.model_requested,
            meta=self.meta,
            decision=self.decision,
            route=self.route,
            outcome=outcome,
            created_at=self.created_at,
            baseline=router.baseline,
        )


def request_id_for(key: str | None) -> str:
    """The record's id: derived from the SDK's idempotency key, so every attempt agrees on it."""
    value = uuid.uuid5(uuid.NAMESPACE_URL, key) if key else uuid.uuid4()
    return f"req_{value.hex}"


def request_meta(request: APIRequest) -> RequestMeta:
    """What the caller told the router in `x-router-*` request headers."""
    headers = {str(k).lower(): v for k, v in request.headers.items() if isinstance(v, str)}
    tags = frozenset(t.strip() for t in headers.get(META_TAGS, "").split(",") if t.strip())
    return RequestMeta(task_id=headers.get(META_TASK_ID), customer=headers.get(META_CUSTOMER), tags=tags)


def outgoing_headers(request: APIRequest) -> dict[str, Any]:
    """The request's headers without the ones meant for the router alone."""
    return {k: v for k, v in request.headers.items() if str(k).lower() not in META_HEADERS}


def sdk_retries(http: httpx2.Response) -> bool:
    """Whether the SDK retries this response when it has retries left (its `_should_retry` rule)."""
    said = http.headers.get(SHOULD_RETRY)
    if said in ("true", "false"):
        return said == "true"
    return http.status_code in SDK_RETRIED_STATUSES or http.status_code >= 500


def worth_falling_back(status: int) -> bool:
    """A failure another model may not share: a rate limit or a server error (529 included).

    The same rule as the upstream's fallback chain, by status (no exception exists yet here).
    """
    return status == 429 or status >= 500


def error_type_of(content: bytes, status: int) -> str:
    """The Anthropic error type of an error body (`overloaded_error`, ...), else `http_<status>`."""
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, Mapping) else None
    kind = error.get("type") if isinstance(error, Mapping) else None
    return kind if isinstance(kind, str) and kind else f"http_{status}"


def answer_usage(content: bytes) -> TokenUsage:
    """The `usage` of a Message body (zero when the body has none)."""
    try:
        body = json.loads(content)
    except ValueError:
        return NO_USAGE
    return TokenUsage.from_api(body.get("usage")) if isinstance(body, Mapping) else NO_USAGE
