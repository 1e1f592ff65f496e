"""Routing metadata shared by every room: labels, decisions, routes, token usage and usage records.

Nothing here imports the rest of the package. Money is `Decimal` (US dollars); token counts are
`int`; durations are seconds as `float`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from random import getrandbits
from typing import Any

ZERO = Decimal(0)


def new_request_id() -> str:
    """A fresh request id, as the ledger keys its rows: `req_` and 128 random bits in hex. Drawn
    from the process's own generator (seeded from the OS, reseeded in a forked child) rather than
    `uuid4`, whose `os.urandom` is a system call on every request that hands the interpreter to
    any other thread waiting for it (the ledger's writer)."""
    return f"req_{getrandbits(128):032x}"


class Label(StrEnum):
    """How hard a request is. The order (simple < moderate < complex) is meaningful."""

    SIMPLE = "simple"
    MODERATE = "moderate"
    COMPLEX = "complex"

    @property
    def rank(self) -> int:
        return _LABEL_RANK[self]


_LABEL_RANK = {Label.SIMPLE: 0, Label.MODERATE: 1, Label.COMPLEX: 2}
LABELS: tuple[Label, ...] = (Label.SIMPLE, Label.MODERATE, Label.COMPLEX)


class ClassifierSource(StrEnum):
    """Where a `Decision` came from."""

    LLM = "llm"  # a classifier call to a model (Haiku by default)
    LOCAL = "local"  # the zero-cost local model
    CACHE = "cache"  # a classifier cache hit: zero tokens
    FALLBACK = "fallback"  # the classifier failed; moderate was assumed
    BYPASS = "bypass"  # a concrete model was asked for: nothing was classified


def _int(value: Any) -> int:
    return int(value) if value else 0


def _reader(obj: Any) -> Callable[[str], Any]:
    """A field getter for a mapping or an object, decided once (usage is read on every request).
    An SDK model's fields are read from its `__dict__` (a missing one is None, not a slow
    AttributeError), with the fields its class does not declare that pydantic kept as extras."""
    if isinstance(obj, Mapping):
        return obj.get
    fields = getattr(obj, "__dict__", None)
    if isinstance(fields, dict):
        extra = getattr(obj, "__pydantic_extra__", None)
        return {**extra, **fields}.get if extra else fields.get
    return lambda name: getattr(obj, name, None)


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """The tokens one or more API calls consumed, cache writes split by TTL. Sums with `+`.

    `inference_geo` and `speed` are as the API reported them (they change the price), and
    `iterations` the billed calls of a response that made several (beta `usage.iterations`). A
    sum keeps only the counts (and geo / speed where both sides agree): price each call's usage,
    then add the prices.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    inference_geo: str | None = None  # "us", "global", "not_available"...; None: not reported
    speed: str | None = None  # "fast" or "standard"; None: not reported (standard)
    iterations: tuple[Iteration, ...] = ()

    @classmethod
    def from_api(cls, usage: Any) -> TokenUsage:
        """Read the API's `usage` (an SDK `Usage`, `BetaUsage`, `MessageDeltaUsage` or a mapping).

        Absent or null fields count as 0. Cache writes are split by the `cache_creation`
        breakdown; where it is absent, every cache-creation token is a 5-minute write. With
        `iterations`, the counts are the sum over them: each is a billed call, and compaction
        tokens are not in the top-level fields.
        """
        if usage is None:
            return cls()
        get = _reader(usage)
        geo = get("inference_geo")
        speed = get("speed")
        raw = get("iterations")
        if raw:
            iterations = tuple(Iteration.from_api(item) for item in raw)
            total = _counts(iterations)
            return cls(*total, inference_geo=geo, speed=speed, iterations=iterations)
        return cls(*_read_counts(get), inference_geo=geo, speed=speed)

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def total_input_tokens(self) -> int:
        """Every prompt token, whether billed fresh, written to or read from the cache."""
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write_5m_tokens + other.cache_write_5m_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.inference_geo if self.inference_geo == other.inference_geo else None,
            self.speed if self.speed == other.speed else None,
        )


@dataclass(frozen=True, slots=True)
class Iteration:
    """One billed call of a response's `usage.iterations`: `message` and `compaction` entries run
    on the answering model (`model` None unless stated); `advisor_message` and
    `fallback_message` entries name their own model."""

    type: str
    model: str | None
    usage: TokenUsage

    @classmethod
    def from_api(cls, item: Any) -> Iteration:
        get = _reader(item)
        kind, model = get("type"), get("model")
        return cls(
            kind if isinstance(kind, str) else "message",
            model if isinstance(model, str) and model else None,
            TokenUsage(*_read_counts(get)),
        )


def _read_counts(get: Callable[[str], Any]) -> tuple[int, int, int, int, int]:
    created = _int(get("cache_creation_input_tokens"))
    breakdown = get("cache_creation")
    if breakdown is not None:
        of = _reader(breakdown)
        w5 = _int(of("ephemeral_5m_input_tokens"))
        w1h = _int(of("ephemeral_1h_input_tokens"))
        if w5 + w1h < created:  # a partial breakdown: the rest is 5-minute writes
            w5 = created - w1h
    else:
        w5, w1h = created, 0
    return (
        _int(get("input_tokens")),
        _int(get("output_tokens")),
        w5,
        w1h,
        _int(get("cache_read_input_tokens")),
    )


def _counts(iterations: tuple[Iteration, ...]) -> tuple[int, int, int, int, int]:
    total = TokenUsage()
    for item in iterations:
        total = total + item.usage
    return (
        total.input_tokens,
        total.output_tokens,
        total.cache_write_5m_tokens,
        total.cache_write_1h_tokens,
        total.cache_read_tokens,
    )


NO_USAGE = TokenUsage()


@dataclass(frozen=True, slots=True)
class Decision:
    """A classifier's verdict on one request, and what reaching it cost."""

    label: Label
    confidence: float
    source: ClassifierSource
    usage: TokenUsage = NO_USAGE  # the classifier's own tokens (zero on a cache hit)
    model: str | None = None  # the model the classifier called, for costing its tokens
    error: str | None = None  # why the classifier fell back to moderate
    latency_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What a caller says about a request beyond the Messages API body."""

    task_id: str | None = None
    request_id: str | None = None  # idempotency key for the ledger; generated when absent
    customer: str | None = None
    key_id: str | None = None
    tags: frozenset[str] = frozenset()
    force_model: str | None = None  # call exactly this model, whatever the label
    floor: Label | None = None  # never route below this tier
    speculative: bool | None = None  # None: as the policy says
    cache_system: bool | None = None  # wrap the system prompt in a cache block; None: as the policy says
    deadline: datetime | None = None
    session: str | None = None  # conversation id: sticky routing, the ledger, `report --by session`
    downgrade: int = 0  # tiers to step down from the label (budget pressure), never below a floor


@dataclass(frozen=True, slots=True)
class Route:
    """The policy's answer: which model to call first, what to fall back to, and how."""

    model: str
    fallbacks: tuple[str, ...] = ()
    label: Label | None = None
    max_tokens: int | None = None  # set only when the caller gave none
    speculative: bool = False
    cache_system: bool = False
    alias: str | None = None
    # label | downgrade:<n> | force_model | concrete_model | floor:<why> | rule:<name> |
    # thinking_history:<model>; then ";needs:<what>" when a tier that could not serve it was skipped
    reason: str = "label"
    effort: str | None = None  # output_config.effort to send; None: the request's own or the default
    as_written: bool = False  # the caller named the model: its body is sent unadapted


@dataclass(slots=True)
class UsageRecord:
    """One routed request, exactly as the ledger stores it (one row per request id).

    `cost_usd` is what the routed call(s) cost, including retried fallbacks and a cancelled
    speculative call; `classifier_cost_usd` is the classifier's own; `total_cost_usd` is both.
    The what-if columns price the answering call's tokens at another tier.
    """

    request_id: str
    created_at: datetime
    model_requested: str
    model_used: str | None = None
    task_id: str | None = None
    customer: str | None = None
    key_id: str | None = None
    tags: tuple[str, ...] = ()
    label: Label | None = None
    confidence: float | None = None
    classifier_source: ClassifierSource = ClassifierSource.BYPASS
    fallback: bool = False
    retries: int = 0
    status: str = "ok"  # "ok" or the error type (e.g. overloaded_error)
    error_type: str | None = None
    batch: bool = False
    usage: TokenUsage = field(default_factory=TokenUsage)
    classifier_usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: Decimal = ZERO
    classifier_cost_usd: Decimal = ZERO
    cost_if_opus_usd: Decimal = ZERO
    cost_if_sonnet_usd: Decimal = ZERO
    latency_s: float = 0.0
    ttft_s: float | None = None
    speculative: bool = False
    escalated: bool = False
    effort: str | None = None  # the effort the answering call was sent with
    adapted: tuple[str, ...] = ()  # what was changed in the body for the model it was sent to
    priced: bool = True  # False: a model the catalogue does not know; its cost columns are not a price
    session: str | None = None  # the conversation (Claude Code's session id): `routing/session.py`

    @property
    def total_cost_usd(self) -> Decimal:
        return self.cost_usd + self.classifier_cost_usd

    @property
    def ok(self) -> bool:
        return self.status == "ok"
