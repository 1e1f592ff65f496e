"""The `Ledger` protocol and the shapes its read side returns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from ..types import ZERO, TokenUsage, UsageRecord
from .money import from_nano


class Dimension(StrEnum):
    """What a report can group by."""

    DAY = "day"
    MODEL = "model"  # the model that answered ('' for requests that never got an answer)
    LABEL = "label"
    CUSTOMER = "customer"
    TAG = "tag"  # a request with several tags counts once per tag; one with none, under None
    BATCH = "batch"
    EFFORT = "effort"  # output_config.effort the answering call was sent with (None: not set)
    SESSION = "session"  # the conversation (None: none named); read from `usage`, never rolled up


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over a set of requests. Money is exact `Decimal` USD."""

    requests: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    classifier_input_tokens: int = 0
    classifier_output_tokens: int = 0
    cost_usd: Decimal = ZERO
    classifier_cost_usd: Decimal = ZERO
    cost_if_opus_usd: Decimal = ZERO
    cost_if_sonnet_usd: Decimal = ZERO
    retries: int = 0
    fallbacks: int = 0
    errors: int = 0
    escalations: int = 0
    speculatives: int = 0
    unpriced: int = 0  # requests on a model the price sheet does not know: not in the money columns
    latency_s: float = 0.0  # summed; see `mean_latency_s`

    @property
    def total_cost_usd(self) -> Decimal:
        """What was actually paid: the routed calls plus the classifier."""
        return self.cost_usd + self.classifier_cost_usd

    @property
    def mean_latency_s(self) -> float:
        return self.latency_s / self.requests if self.requests else 0.0

    @classmethod
    def from_sums(cls, sums: Mapping[str, Any]) -> Totals:
        """From a row of the ledger's measures (token counts, nano-dollar sums, counters)."""
        return cls(
            requests=int(sums["requests"]),
            usage=TokenUsage(
                int(sums["input_tokens"]),
                int(sums["output_tokens"]),
                int(sums["cache_write_5m_tokens"]),
                int(sums["cache_write_1h_tokens"]),
                int(sums["cache_read_tokens"]),
            ),
            classifier_input_tokens=int(sums["classifier_input_tokens"]),
            classifier_output_tokens=int(sums["classifier_output_tokens"]),
            cost_usd=from_nano(int(sums["cost_nusd"])),
            classifier_cost_usd=from_nano(int(sums["classifier_cost_nusd"])),
            cost_if_opus_usd=from_nano(int(sums["cost_if_opus_nusd"])),
            cost_if_sonnet_usd=from_nano(int(sums["cost_if_sonnet_nusd"])),
            retries=int(sums["retries"]),
            fallbacks=int(sums["fallbacks"]),
            errors=int(sums["errors"]),
            escalations=int(sums["escalations"]),
            speculatives=int(sums["speculatives"]),
            unpriced=int(sums["unpriced"]),
            latency_s=float(sums["latency_s"]),
        )

    @classmethod
    def of(cls, records: Iterable[UsageRecord]) -> Totals:
        """Sums over records in memory (e.g. a run's records, read back from the ledger)."""
        total = cls()
        for r in records:
            total = total + cls(
                requests=1,
                usage=r.usage,
                classifier_input_tokens=r.classifier_usage.input_tokens,
                classifier_output_tokens=r.classifier_usage.output_tokens,
                cost_usd=r.cost_usd,
                classifier_cost_usd=r.classifier_cost_usd,
                cost_if_opus_usd=r.cost_if_opus_usd,
                cost_if_sonnet_usd=r.cost_if_sonnet_usd,
                retries=r.retries,
                fallbacks=int(r.fallback),
                errors=int(not r.ok),
                escalations=int(r.escalated),
                speculatives=int(r.speculative),
                unpriced=int(not r.priced),
                latency_s=r.latency_s,
            )
        return total

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.requests + other.requests,
            self.usage + other.usage,
            self.classifier_input_tokens + other.classifier_input_tokens,
            self.classifier_output_tokens + other.classifier_output_tokens,
            self.cost_usd + other.cost_usd,
            self.classifier_cost_usd + other.classifier_cost_usd,
            self.cost_if_opus_usd + other.cost_if_opus_usd,
            self.cost_if_sonnet_usd + other.cost_if_sonnet_usd,
            self.retries + other.retries,
            self.fallbacks + other.fallbacks,
            self.errors + other.errors,
            self.escalations + other.escalations,
            self.speculatives + other.speculatives,
            self.unpriced + other.unpriced,
            self.latency_s + other.latency_s,
        )


Key = str | date | bool | None


@dataclass(frozen=True, slots=True)
class Group:
    """Totals for one combination of dimension values (None: no customer / label / model)."""

    key: Mapping[Dimension, Key]
    totals: Totals


def merge_groups(groups: Iterable[Group]) -> Totals:
    """The sum of every group's totals."""
    total = Totals()
    for group in groups:
        total = total + group.totals
    return total


@runtime_checkable
class Ledger(Protocol):
    """Where every routed request is recorded, exactly once per request id."""

    async def record(self, rec: UsageRecord) -> None:
        """Queue (or write) one record. A second record with the same request id is ignored."""
        ...

    async def flush(self) -> None:
        """Return once every record accepted so far is in the database."""
        ...

    async def close(self) -> None:
        """Flush, then release the database."""
        ...

    async def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        customer: str | None = None,
        request_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[UsageRecord]:
        """Records, newest first, filtered by time window, customer and/or request ids."""
        ...

    async def totals(
        self,
        by: Sequence[Dimension] = (),
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        customer: str | None = None,
    ) -> list[Group]:
        """Sums grouped by `by` (one group with an empty key when `by` is empty)."""
        ...
