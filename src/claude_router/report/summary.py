"""A cost report's numbers, computed by the ledger in SQL (a few GROUP BY queries over daily
rollups), never by looping over requests in Python.

The savings are measured against the ledger's what-if columns: every request's tokens priced on
the top (and middle) model of the ladder the router ran with (`Baseline`). Requests on a model the
price sheet does not know are counted as unpriced and left out of every money figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from ..catalog.pricing import TIERS, Baseline, PriceTable
from ..errors import UnknownModelError
from ..ledger import Dimension, Group, Key, Ledger, Totals, merge_groups
from ..ledger.verdicts import VerdictStore
from ..types import ZERO, TokenUsage
from .quality import DEFAULT_FLAG_SHARE, QualitySummary, build_quality
from .sources import SourcesSummary, build_sources

TOP_CUSTOMERS = 10
_CORE = (Dimension.DAY, Dimension.MODEL, Dimension.LABEL, Dimension.BATCH, Dimension.EFFORT)


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """`part` as a percentage of `whole` (0 when `whole` is 0)."""
    return (part / whole * 100) if whole else ZERO


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything a cost report shows, for one time window."""

    ledger: str
    since: datetime | None
    until: datetime | None
    customer: str | None
    generated_at: datetime
    totals: Totals
    by_model: list[Group]  # biggest spend first
    by_label: list[Group]
    by_tier: list[Group]  # key: Dimension.MODEL holds the tier name
    by_day_model: list[Group]
    top_customers: list[Group]
    breakdown: list[Group]  # grouped by `by`
    baseline: Baseline  # the models the what-if columns priced every request on
    by_model_effort: list[Group] = field(default_factory=list)  # only where the ledger has effort
    by: tuple[Dimension, ...] = ()
    cache_savings_usd: Decimal = ZERO
    days: list[date] = field(default_factory=list)
    quality: QualitySummary | None = None  # when a verdict store was given
    sources: SourcesSummary | None = None  # where labels came from, when the ledger can say
    sessions: list[SessionLine] | None = None  # with `--by session`: each session's tier mix and cache

    @property
    def actual_usd(self) -> Decimal:
        return self.totals.total_cost_usd

    @property
    def savings_vs_opus_usd(self) -> Decimal:
        return self.totals.cost_if_opus_usd - self.actual_usd

    @property
    def savings_vs_opus_pct(self) -> Decimal:
        return percent(self.savings_vs_opus_usd, self.totals.cost_if_opus_usd)

    @property
    def savings_vs_sonnet_usd(self) -> Decimal:
        return self.totals.cost_if_sonnet_usd - self.actual_usd

    @property
    def savings_vs_sonnet_pct(self) -> Decimal:
        return percent(self.savings_vs_sonnet_usd, self.totals.cost_if_sonnet_usd)

    @property
    def classifier_share_pct(self) -> Decimal:
        return percent(self.totals.classifier_cost_usd, self.actual_usd)

    @property
    def cache_hit_rate_pct(self) -> Decimal:
        return cache_hit_rate(self.totals.usage)


def cache_hit_rate(usage: TokenUsage) -> Decimal:
    """Share of prompt tokens served from the cache."""
    return percent(Decimal(usage.cache_read_tokens), Decimal(usage.total_input_tokens))


def cache_savings(
    model: str | None, usage: TokenUsage, *, batch: bool, prices: PriceTable | None = None
) -> Decimal:
    """What cache writes and reads saved against sending the same prompt tokens fresh (negative
    when writes were never read back). Today's base rates; 0 for a model missing from the sheet."""
    if not model:
        return ZERO
    try:
        price = (prices or PriceTable.default()).resolve(model)
    except UnknownModelError:
        return ZERO
    rates = price.batch_rates if batch else price.rates
    cached = usage.cache_write_5m_tokens + usage.cache_write_1h_tokens + usage.cache_read_tokens
    paid = (
        usage.cache_write_5m_tokens * rates.cache_write_5m
        + usage.cache_write_1h_tokens * rates.cache_write_1h
        + usage.cache_read_tokens * rates.cache_read
    )
    return cached * rates.input - paid


FAILED = "failed"  # the tier of requests that no model answered: failed or refused


def tier_name(model: str | None, prices: PriceTable | None = None) -> str:
    if not model:
        return FAILED
    try:
        return (prices or PriceTable.default()).tier_of(model).value
    except UnknownModelError:
        return "other"


def model_family(model: str | None, prices: PriceTable | None = None) -> str | None:
    """The family id of a model (`claude-haiku-4-5` for `claude-haiku-4-5-20251001`), so that one
    model is one row whichever of its ids answered; a model the price sheet lacks stays as it is."""
    if not model:
        return model
    try:
        return (prices or PriceTable.default()).resolve(model).family
    except UnknownModelError:
        return model


def by_family(groups: Sequence[Group], prices: PriceTable | None = None) -> list[Group]:
    """`groups` with every model key made its family, and the groups that then coincide merged."""
    if not groups or Dimension.MODEL not in groups[0].key:
        return list(groups)
    merged: dict[tuple[Key, ...], Group] = {}
    for g in groups:
        key = {
            d: model_family(v, prices) if d is Dimension.MODEL and isinstance(v, str) else v
            for d, v in g.key.items()
        }
        slot = tuple(key.values())
        merged[slot] = Group(key, merged[slot].totals + g.totals) if slot in merged else Group(key, g.totals)
    return list(merged.values())


def text_key(group: Group, dim: Dimension) -> str | None:
    """A string-valued key (model, label, customer, tag) of a group."""
    value = group.key[dim]
    return value if isinstance(value, str) else None


def regroup(groups: Sequence[Group], dims: Sequence[Dimension]) -> list[Group]:
    """Sum finer groups into coarser ones (small inputs: rows of a GROUP BY)."""
    sums: dict[tuple[Key, ...], Totals] = {}
    for g in groups:
        key = tuple(g.key[d] for d in dims)
        sums[key] = sums.get(key, Totals()) + g.totals
    return [Group(dict(zip(dims, key, strict=True)), t) for key, t in sums.items()]


def by_cost(groups: list[Group]) -> list[Group]:
    return sorted(
        groups, key=lambda g: (-g.totals.total_cost_usd, -g.totals.requests, str(list(g.key.values())))
    )


def _tiers(by_model: Sequence[Group], prices: PriceTable) -> list[Group]:
    sums: dict[str, Totals] = {}
    for g in by_model:
        tier = tier_name(text_key(g, Dimension.MODEL), prices)
        sums[tier] = sums.get(tier, Totals()) + g.totals
    order = {t.value: i for i, t in enumerate(TIERS)}
    return [Group({Dimension.MODEL: t}, sums[t]) for t in sorted(sums, key=lambda t: order.get(t, 9))]


async def build_summary(
    ledger: Ledger,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    customer: str | None = None,
    by: Sequence[Dimension] = (Dimension.MODEL,),
    top: int = TOP_CUSTOMERS,
    name: str = "",
    verdicts: VerdictStore | None = None,
    flag_share: float = DEFAULT_FLAG_SHARE,
    prices: PriceTable | None = None,
    baseline: Baseline | None = None,
) -> Summary:
    """The report for [since, until), optionally for one customer. `baseline` names the models the
    what-ifs were priced on (None: the catalogue's tiers); `prices` the sheet (None: packaged)."""
    prices = prices or PriceTable.default()
    core = by_family(await ledger.totals(_CORE, since=since, until=until, customer=customer), prices)
    customers = by_cost(
        await ledger.totals([Dimension.CUSTOMER], since=since, until=until, customer=customer)
    )
    dims = tuple(dict.fromkeys(by))
    sessions = None
    if Dimension.SESSION in dims:  # one scan of `usage`, which the plain breakdown by session reuses
        sessions = await _sessions(ledger, since=since, until=until, customer=customer, prices=prices)
    if set(dims) <= set(_CORE):
        breakdown = regroup(core, dims)
    elif dims == (Dimension.CUSTOMER,):
        breakdown = customers
    elif dims == (Dimension.SESSION,) and sessions is not None:
        breakdown = [Group({Dimension.SESSION: line.session}, line.totals) for line in sessions]
    else:
        breakdown = by_family(await ledger.totals(dims, since=since, until=until, customer=customer), prices)
    by_model = by_cost(regroup(core, [Dimension.MODEL]))
    saved = sum(
        (
            cache_savings(
                text_key(g, Dimension.MODEL),
                g.totals.usage,
                batch=g.key[Dimension.BATCH] is True,
                prices=prices,
            )
            for g in regroup(core, [Dimension.MODEL, Dimension.BATCH])
        ),
        ZERO,
    )
    by_day_model = sorted(
        regroup(core, [Dimension.DAY, Dimension.MODEL]), key=lambda g: str(g.key[Dimension.DAY])
    )
    quality = None
    if verdicts is not None:
        quality = await build_quality(verdicts, since=since, until=until, flag_share=flag_share)
    sources = await build_sources(ledger, since=since, until=until, customer=customer)
    return Summary(
        ledger=name,
        since=since,
        until=until,
        customer=customer,
        generated_at=datetime.now(UTC),
        totals=merge_groups(core),
        by_model=by_model,
        by_label=sorted(regroup(core, [Dimension.LABEL]), key=lambda g: _label_order(g.key[Dimension.LABEL])),
        by_tier=_tiers(by_model, prices),
        by_day_model=by_day_model,
        top_customers=customers[:top],
        breakdown=_sorted_breakdown(breakdown, dims),
        baseline=baseline or Baseline.of_catalogue(prices),
        by_model_effort=_model_effort(core),
        by=dims,
        cache_savings_usd=saved,
        days=sorted({day for g in core if isinstance(day := g.key[Dimension.DAY], date)}),
        quality=quality,
        sources=sources,
        sessions=sessions,
    )


_TIER_ORDER = (*(t.value for t in TIERS), "other", FAILED)


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One session's requests, by tier, and its cache savings."""

    session: str | None
    totals: Totals
    tiers: dict[str, int] = field(default_factory=dict)  # requests per tier, cheapest first
    cache_read_saved_usd: Decimal = ZERO  # cache reads priced uncached minus as billed
    cache_net_saved_usd: Decimal = ZERO  # the same, less what cache writes cost above the input rate

    @property
    def tier_mix(self) -> str:
        """ "haiku 3 · opus 9": requests per tier that answered."""
        return " · ".join(f"{tier} {n}" for tier, n in self.tiers.items())


async def _sessions(
    ledger: Ledger,
    *,
    since: datetime | None,
    until: datetime | None,
    customer: str | None,
    prices: PriceTable,
) -> list[SessionLine]:
    """Every session of the window, the costliest first (requests without a session as one line)."""
    groups = await ledger.totals(
        (Dimension.SESSION, Dimension.MODEL, Dimension.BATCH), since=since, until=until, customer=customer
    )
    totals: dict[str | None, Totals] = {}
    tiers: dict[str | None, dict[str, int]] = {}
    read_saved: dict[str | None, Decimal] = {}
    net_saved: dict[str | None, Decimal] = {}
    for g in groups:
        session, model = text_key(g, Dimension.SESSION), text_key(g, Dimension.MODEL)
        batch = g.key[Dimension.BATCH] is True
        usage = g.totals.usage
        totals[session] = totals.get(session, Totals()) + g.totals
        mix = tiers.setdefault(session, {})
        tier = tier_name(model, prices)
        mix[tier] = mix.get(tier, 0) + g.totals.requests
        reads = TokenUsage(cache_read_tokens=usage.cache_read_tokens)
        read_saved[session] = read_saved.get(session, ZERO) + cache_savings(
            model, reads, batch=batch, prices=prices
        )
        net_saved[session] = net_saved.get(session, ZERO) + cache_savings(
            model, usage, batch=batch, prices=prices
        )
    lines = [
        SessionLine(
            session,
            totals[session],
            {t: tiers[session][t] for t in sorted(tiers[session], key=_tier_rank)},
            read_saved[session],
            net_saved[session],
        )
        for session in totals
    ]
    return sorted(lines, key=lambda s: (-s.totals.total_cost_usd, -s.totals.requests, str(s.session)))


def _model_effort(core: Sequence[Group]) -> list[Group]:
    """Requests by model and effort, biggest spend first; empty when the ledger has no effort."""
    if all(g.key[Dimension.EFFORT] is None for g in core):
        return []
    return by_cost(regroup(core, [Dimension.MODEL, Dimension.EFFORT]))


def _label_order(label: object) -> int:
    return {"simple": 0, "moderate": 1, "complex": 2}.get(str(label), 3)


def _sorted_breakdown(groups: list[Group], dims: tuple[Dimension, ...]) -> list[Group]:
    if dims and dims[0] is Dimension.DAY:
        return sorted(groups, key=lambda g: tuple(str(g.key[d]) for d in dims))
    return by_cost(groups)


def _tier_rank(tier: str) -> int:
    return _TIER_ORDER.index(tier) if tier in _TIER_ORDER else len(_TIER_ORDER)
