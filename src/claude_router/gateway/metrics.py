"""Prometheus metrics for one gateway app, in its own registry (never the process-global one).

claude_router_requests_total{endpoint,model,label,status}
claude_router_tokens_total{kind}                 input, output, cache_write, cache_read,
                                                 classifier_input, classifier_output
claude_router_cost_usd_total{model}              routed calls and classifier, in USD
claude_router_classifier_decisions_total{source} where each request's label came from: local,
                                                 llm, cache, fallback (bypass: a model was named)
claude_router_request_duration_seconds{endpoint} arrival to last byte
claude_router_classifier_duration_seconds
claude_router_upstream_duration_seconds          the routed call(s), without the classifier
claude_router_time_to_first_token_seconds        streams only
claude_router_in_flight_requests

Under `serve --workers N` each worker's values go to files in a directory the workers share
(prometheus-client's multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`), and `/metrics`, whichever
worker answers it, sums them all.
"""

from __future__ import annotations

import os
from functools import cache
from time import perf_counter

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from ..types import Decision, UsageRecord
from .tracing import Span, end_span

__all__ = ["CONTENT_TYPE_LATEST", "MULTIPROCESS_DIR", "GatewayMetrics", "Observation"]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client when it is imported

PREFIX = "claude_router"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
NONE = "none"  # label value when a request never got that far


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"{PREFIX}_requests",
            "Requests answered, by endpoint, model that answered, label and HTTP status.",
            ["endpoint", "model", "label", "status"],
            registry=registry,
        )
        self.tokens = Counter(f"{PREFIX}_tokens", "Tokens consumed, by kind.", ["kind"], registry=registry)
        self.cost = Counter(
            f"{PREFIX}_cost_usd",
            "Spend in US dollars (routed calls and classifier).",
            ["model"],
            registry=registry,
        )
        self.decisions = Counter(
            f"{PREFIX}_classifier_decisions",
            "Requests by where their label came from: local model, LLM classifier, cache, fallback "
            "(bypass: a concrete model was asked for).",
            ["source"],
            registry=registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_request_duration_seconds",
            "Time from a request's arrival to its last byte.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.classifier_latency = Histogram(
            f"{PREFIX}_classifier_duration_seconds",
            "Time the classifier took.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.upstream_latency = Histogram(
            f"{PREFIX}_upstream_duration_seconds",
            "Time the routed upstream call(s) took, retries and fallbacks included.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.ttft = Histogram(
            f"{PREFIX}_time_to_first_token_seconds",
            "Time to the first content of a streamed answer.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            f"{PREFIX}_in_flight_requests",
            "Requests being handled.",
            registry=registry,
            multiprocess_mode="livesum",  # several workers: the live ones' values, summed
        )
        # Each labelled child looked up once: `labels()` checks and joins its values under a lock
        # on every call. As many as the registry keeps anyway (one per combination seen).
        self.requests_for = cache(self.requests.labels)
        self.tokens_for = cache(self.tokens.labels)
        self.cost_for = cache(self.cost.labels)
        self.decisions_for = cache(self.decisions.labels)
        self.latency_for = cache(self.latency.labels)

    def start(self, endpoint: str) -> Observation:
        return Observation(self, endpoint)

    def render(self) -> bytes:
        shared = os.environ.get(MULTIPROCESS_DIR)
        if shared is None:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, shared)  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)


class Observation:
    """One request's metrics: counted in flight from creation until `finish` (once)."""

    def __init__(self, metrics: GatewayMetrics, endpoint: str) -> None:
        self._metrics = metrics
        self._endpoint = endpoint
        self._started = perf_counter()
        self._done = False
        self.record: UsageRecord | None = None
        self.decision: Decision | None = None
        self.deferred = False  # a stream: finished when its last byte is sent
        self.span: Span | None = None  # the request's trace span, ended with the observation
        metrics.in_flight.inc()

    @property
    def elapsed_s(self) -> float:
        """Seconds since the request came in."""
        return perf_counter() - self._started

    def finish(self, status: int) -> None:
        if self._done:
            return
        self._done = True
        m, record, decision = self._metrics, self.record, self.decision
        end_span(self.span, record, decision, status)
        m.in_flight.dec()
        m.latency_for(self._endpoint).observe(perf_counter() - self._started)
        model = (record.model_used if record else None) or NONE
        label = record.label.value if record is not None and record.label is not None else NONE
        m.requests_for(self._endpoint, model, label, str(status)).inc()
        if decision is not None and decision.latency_s > 0:
            m.classifier_latency.observe(decision.latency_s)
        if record is None:
            return
        m.decisions_for(record.classifier_source.value).inc()
        usage, classifier = record.usage, record.classifier_usage
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_write", usage.cache_write_tokens),
            ("cache_read", usage.cache_read_tokens),
            ("classifier_input", classifier.input_tokens),
            ("classifier_output", classifier.output_tokens),
        ):
            if count:
                m.tokens_for(kind).inc(count)
        m.cost_for(model).inc(float(record.total_cost_usd))  # display only: the ledger keeps Decimal
        if record.model_used is not None:
            classifier_s = decision.latency_s if decision is not None else 0.0
            m.upstream_latency.observe(max(0.0, record.latency_s - classifier_s))
        if record.ttft_s is not None:
            m.ttft.observe(record.ttft_s)
