"""Whether OpenTelemetry has somewhere to send spans.

Until an application sets a tracer provider, OpenTelemetry's global one is a proxy whose spans
record nothing; building them (and their attributes) on every call is pure cost. The gateway's
spans and the `anthropic` SDK's call spans are made only when a provider is set, or given.
"""

from __future__ import annotations

from typing import Any

try:
    from opentelemetry import trace
except ImportError:  # the SDK depends on opentelemetry-api; stay correct if it ever stops
    trace = None  # type: ignore[assignment]


def tracing_configured(provider: Any | None = None) -> bool:
    """True when spans would be recorded: a `provider` given, or a global one set."""
    if trace is None:
        return False
    return provider is not None or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
