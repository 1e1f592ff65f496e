"""Whether OpenTelemetry has somewhere to send spans.

Until an application sets a tracer provider, OpenTelemetry's global one is a proxy whose spans
record nothing; building them (and their attributes) on every call is pure cost. The gateway's
spans and the `anthropic` SDK's call spans are made only when a provider is set, or given.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

try:
    from opentelemetry import trace
except ImportError:  # the SDK depends on opentelemetry-api; stay correct if it ever stops
    trace = None  # type: ignore[assignment]


def tracing_configured(provider: Any | None = None) -> bool:
    """True when spans would be recorded: a `provider` given, or a global one set."""
    if trace is None:
        return False
    return provider is not None or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


class Spans(Protocol):
    """Where the router opens its child spans (`classify`, `upstream <model>`): the gateway's
    tracer, or nothing. A span is yielded (None when nothing is traced) for its attributes."""

    def child(self, name: str, **attributes: str) -> AbstractContextManager[Any | None]: ...


NO_SPAN: AbstractContextManager[None] = nullcontext()  # reusable: it holds no state


class NoSpans:
    def child(self, name: str, **attributes: str) -> AbstractContextManager[None]:
        return NO_SPAN


NO_SPANS: Spans = NoSpans()
