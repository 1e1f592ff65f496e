"""The answer-quality cascade (FrugalGPT-style): answer on the routed tier, score the answer, and
re-run the request one tier up when the score is under the threshold.

    cascade = QualityCascade(settings.quality, prices, upstream)
    if cascade.applies(arg):
        checked = await cascade.check(params, route, first_result, send)

Scoring is the local checks first (free); the optional judge is asked only about answers the
checks pass, since a failed check already settles it. Every call is returned as a leg so the one
`UsageRecord` of the request prices them all, and `escalated` marks the re-run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..catalog.pricing import TIERS, PriceTable
from ..config import QualitySettings
from ..quality.checks import LocalChecks
from ..quality.judge import Judge
from ..quality.score import Score
from ..types import Route
from ..upstream import Upstream, UpstreamResult
from .accounting import Leg
from .policy import ModelArg, ModelArgKind

if TYPE_CHECKING:  # the SDK is imported where it is used
    pass

Send = Callable[[Mapping[str, Any], Route], Awaitable[UpstreamResult]]


@dataclass(frozen=True, slots=True)
class Checked:
    """The answer to return, every other call the request made, and what the scorers said."""

    result: UpstreamResult
    legs: tuple[Leg, ...] = ()
    escalated: bool = False
    scores: tuple[Score, ...] = ()


class QualityCascade:
    def __init__(
        self,
        settings: QualitySettings,
        prices: PriceTable,
        upstream: Upstream,
        *,
        checks: LocalChecks | None = None,
    ) -> None:
        self.settings = settings
        self.prices = prices
        self.checks = checks or LocalChecks.load()
        self.judge = (
            Judge(upstream, model=settings.judge_model, max_tokens=settings.judge_max_tokens)
            if settings.judge
            else None
        )
        self._aliases = frozenset(settings.aliases)

    def applies(self, arg: ModelArg) -> bool:
        """Opt-in: `model="auto"` when `auto` is set, and each listed route alias."""
        if arg.kind is ModelArgKind.AUTO:
            return self.settings.auto
        return arg.kind is ModelArgKind.ALIAS and arg.alias in self._aliases

    async def score(self, params: Mapping[str, Any], result: UpstreamResult) -> Score:
        local = self.checks.check(params, result.message)
        if self.judge is None or local.value is None or local.value < self.settings.threshold:
            return local
        judged = await self.judge.score(params, result.message)
        value = local.value if judged.value is None else min(local.value, judged.value)
        return dataclasses.replace(judged, value=value, reasons=local.reasons + judged.reasons)

    async def check(
        self, params: Mapping[str, Any], route: Route, first: UpstreamResult, send: Send
    ) -> Checked:
        """Score `first`; while the score is low and a tier is left, re-run one tier up."""
        import anthropic

        result, legs, scores = first, list[Leg](), list[Score]()
        for _ in range(self.settings.max_escalations):
            score = await self.score(params, result)
            scores.append(score)
            if score.model is not None:
                legs.append(Leg(score.model, score.usage))
            upper = self._next_tier(result.model_used)
            if score.value is None or score.value >= self.settings.threshold or upper is None:
                break
            try:
                upgraded = await send(params, dataclasses.replace(route, model=upper, fallbacks=()))
            except anthropic.APIError:
                break  # the weak answer is still an answer; the failed attempt consumed nothing
            legs.append(Leg(result.model_used, result.usage))
            result = upgraded
        return Checked(result, tuple(legs), escalated=result is not first, scores=tuple(scores))

    def _next_tier(self, model: str) -> str | None:
        rank = self.prices.tier_of(model).rank
        return self.prices.tier_model(TIERS[rank + 1]) if rank + 1 < len(TIERS) else None
