"""OpenTelemetry spans for `POST /v1/messages`, after the GenAI semantic conventions.

One span per request (`chat <model>`, kind SERVER) with the classifier (`classify`) and each
routed upstream call (`upstream <model>`: a quality check's second call is a second one) as
children; the router opens them through `Router.spans`, so every path has them but speculation's
race, which is one child-less request span. The `anthropic` SDK's own call spans, when it traces
to the same provider, nest under these.

The request span carries `gen_ai.system` / `gen_ai.provider.name` ("anthropic"),
`gen_ai.request.model` (as asked: "auto", an alias or a model id), `gen_ai.response.model` (the
model that answered), `gen_ai.usage.input_tokens` / `output_tokens`, and the router's own
`claude_router.label`, `claude_router.reason`, `claude_router.cost_usd`.

The spans go to the tracer provider given to `create_app`, else OpenTelemetry's global one when
an application has set one by the time the gateway starts (`opentelemetry-instrument` does);
otherwise, and without the `otel` extra, nothing is traced and no span is built.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..otel import NO_SPAN, tracing_configured
from ..types import Decision, UsageRecord

if TYPE_CHECKING:
    from opentelemetry.trace import Span
else:
    Span = Any

try:
    from opentelemetry import trace as otel
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # the `otel` extra is not installed: tracing is off
    otel = None  # type: ignore[assignment]

__all__ = ["NO_TRACING", "Span", "Tracing", "end_span"]

INSTRUMENTATION = "claude_router.gateway"
PROVIDER = "anthropic"
OPERATION = "chat"
NO_TRACING = False  # `Tracing(NO_TRACING)`: a tracer that traces nothing


class Tracing:
    """The gateway's tracer; every method is a no-op when tracing is off."""

    def __init__(self, provider: Any | None = None) -> None:
        """Spans go to `provider`, else the global provider; `NO_TRACING` turns them off."""
        enabled = otel is not None and provider is not NO_TRACING and tracing_configured(provider)
        self._tracer = otel.get_tracer(INSTRUMENTATION, tracer_provider=provider) if enabled else None

    def request(self, model: object) -> Span | None:
        """Start a request's span (ended by `end`); None when tracing is off."""
        if self._tracer is None:
            return None
        requested = model if isinstance(model, str) else "unknown"
        return self._tracer.start_span(
            f"{OPERATION} {requested}",
            kind=SpanKind.SERVER,
            attributes={
                "gen_ai.operation.name": OPERATION,
                "gen_ai.system": PROVIDER,
                "gen_ai.provider.name": PROVIDER,
                "gen_ai.request.model": requested,
            },
        )

    def current(self, span: Span | None) -> AbstractContextManager[Any]:
        """Make `span` the parent of the spans started inside (the SDK's included); with tracing
        off, a shared context that does nothing (no generator or span built per request)."""
        if span is None or otel is None:
            return NO_SPAN
        return otel.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False)

    def child(self, name: str, **attributes: str) -> AbstractContextManager[Span | None]:
        """A child span of the current one, ended on exit (an error marks it failed)."""
        if self._tracer is None:
            return NO_SPAN
        return self._tracer.start_as_current_span(name, attributes=attributes)


def end_span(span: Span | None, record: UsageRecord | None, decision: Decision | None, status: int) -> None:
    """Put what routing and accounting learned on the request's span, and end it."""
    if span is None:
        return
    span.set_attribute("http.response.status_code", status)
    if record is not None:
        usage = record.usage
        if record.model_used is not None:
            span.set_attribute("gen_ai.response.model", record.model_used)
        span.set_attribute("gen_ai.usage.input_tokens", usage.total_input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
        span.set_attribute("claude_router.cost_usd", float(record.total_cost_usd))  # display only
        span.set_attribute("claude_router.request_id", record.request_id)
        if record.error_type is not None:
            span.set_attribute("error.type", record.error_type)
    if decision is not None:
        span.set_attribute("claude_router.label", decision.label.value)
        span.set_attribute("claude_router.classifier_source", decision.source.value)
    if status >= 400:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
