"""The most a request can cost, before it is classified or routed: what a budget reserves."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..catalog.pricing import PriceTable
from ..config import Settings
from ..routing.policy import ModelArgKind, Policy
from ..types import LABELS, ClassifierSource, Decision, RequestMeta, TokenUsage
from .limits import CHARS_PER_TOKEN

_UNIT = TokenUsage(input_tokens=1_000, output_tokens=1_000)


class WorstCase:
    """Input estimated from the body's size, `max_tokens` (else the largest ceiling), priced at the
    dearest model the request could reach, plus the classifier's own worst case.

    Without a downgrade that model is the dearest anywhere in the policy (labels, rules, aliases,
    fallbacks: a quality escalation or a warm cache may go there). A downgraded request is routed
    under every label it could get, so its reservation honours the floors and rules that apply."""

    def __init__(self, settings: Settings, policy: Policy, prices: PriceTable) -> None:
        self._prices = prices
        self._policy = policy
        self._classifier_model = settings.classifier.model
        self._classifier_tokens = settings.classifier.max_tokens
        policy_settings = settings.policy
        candidates = {*policy_settings.label_models.values(), *settings.upstream.fallback_chain}
        candidates |= {rule.model for rule in policy_settings.rules}
        for alias in policy_settings.aliases.values():
            candidates |= set(alias.label_models.values())
            candidates |= {alias.force_model} if alias.force_model else set()
        self._dearest = max(candidates, key=self._unit_price)
        self._ceiling = max(
            [*policy_settings.max_tokens.values()]
            + [n for alias in policy_settings.aliases.values() for n in alias.max_tokens.values()]
        )

    def _unit_price(self, model: str) -> Decimal:
        return self._prices.cost(model, _UNIT)

    def cost(
        self, body: Mapping[str, Any], body_bytes: int, meta: RequestMeta, *, batch: bool = False
    ) -> Decimal:
        """USD; with `batch`, the answer at Message Batches prices (the classifier runs at submission,
        in real time, so it stays at standard prices)."""
        arg = self._policy.resolve_model_arg(body.get("model"))
        concrete = arg.kind is ModelArgKind.CONCRETE
        max_tokens = body.get("max_tokens") or self._ceiling
        if meta.force_model or concrete:
            model = meta.force_model or arg.model
        elif meta.downgrade > 0:
            model, max_tokens = self._downgraded(body, meta, arg.alias)
        else:
            model = self._dearest
        input_tokens = body_bytes // CHARS_PER_TOKEN
        answer = TokenUsage(input_tokens=input_tokens, output_tokens=max_tokens)
        total = self._prices.cost(model, answer, batch=batch)
        if not concrete and meta.force_model is None:
            classifier = TokenUsage(input_tokens=input_tokens, output_tokens=self._classifier_tokens)
            total += self._prices.cost(self._classifier_model, classifier)
        return total

    def _downgraded(self, body: Mapping[str, Any], meta: RequestMeta, alias: str | None) -> tuple[str, int]:
        models: set[str] = set()
        ceiling = 0
        for label in LABELS:
            decision = Decision(label, 1.0, ClassifierSource.LOCAL)
            route = self._policy.route(decision, meta, body, alias=alias, downgrade=meta.downgrade)
            models |= {route.model, *route.fallbacks}
            ceiling = max(ceiling, route.max_tokens or body.get("max_tokens") or 0)
        return max(models, key=self._unit_price), ceiling
