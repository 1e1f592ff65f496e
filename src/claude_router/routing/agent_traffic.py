"""The policy for coding agents' traffic (`[policy] agent_traffic = true`): Claude Code and the like.

    agent = AgentTraffic(policy, prices, affinity, settings.agent_traffic)
    if agent.side_call(params, meta):
        route = agent.side_call_route(params, meta, alias=..., now=...)   # the simple tier's model
    else:
        route = await agent.stick(route, meta)                             # after cache-aware routing

A coding session is a long conversation whose prompt (tools, system prompt, every turn so far) is
cached on the model that answers it; between its turns the agent makes small side calls (a title
for the session, a summary, a check of a shell command) that share nothing with that cache. So:

- A side call goes to the simple tier's model, whatever model it names, without a classifier call.
  It is recognised by its shape (`AgentTrafficSettings`): a request of a session that is one user
  message (so it carries no thinking block) and offers no tools, asking for a short answer or with
  a side call's system prompt. A floor, a forced model or a rule still wins over it.
- A main turn of a session whose cache is warm on a higher tier than its label routes it to stays
  on that tier: moving would write the whole prompt again on the lower tier, drop the reasoning
  (thinking blocks) the higher model wrote, and leave the warm copy unread. It still moves up when
  its label asks for more. A request that names a model is sent to it, as always, and a budget
  downgrade is kept. A session held on the top of the ladder is not classified at all: no label
  could move it.

Neither step moves a conversation onto a model that cannot read its thinking blocks: a side call
has none, and stickiness only returns a session to the model that wrote its cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..catalog.pricing import PriceTable
from ..config import AgentTrafficSettings
from ..types import ClassifierSource, Decision, Label, RequestMeta, Route
from .cache_affinity import REASON as AFFINITY_REASON
from .cache_affinity import CacheAffinity
from .policy import Policy

SIDE_CALL = "agent:side_call"
SESSION_WARM = "agent:session_warm"
#: The side call's label, as a decision no classifier was asked for.
SIDE_CALL_DECISION = Decision(Label.SIMPLE, 1.0, ClassifierSource.BYPASS)
#: What the top of the ladder would be routed as: the ceiling a held session cannot rise above.
_TOP = Decision(Label.COMPLEX, 1.0, ClassifierSource.BYPASS)
#: Routes a session's warm tier may lift: the label's choice (and a floor's, and cache-aware
#: routing's). A budget downgrade, a rule or a named model is left as it is.
_STICKY_REASONS = ("label", "floor:", AFFINITY_REASON)


class AgentTraffic:
    def __init__(
        self, policy: Policy, prices: PriceTable, affinity: CacheAffinity, settings: AgentTrafficSettings
    ) -> None:
        self.policy = policy
        self.prices = prices
        self.affinity = affinity
        self.settings = settings
        self._phrases = tuple(p.lower() for p in settings.side_call_phrases)

    def side_call(self, params: Mapping[str, Any], meta: RequestMeta) -> bool:
        """Whether this request is a side call of an agent's session (see the module docstring)."""
        if meta.session is None or meta.force_model is not None or meta.floor is not None:
            return False
        messages = params.get("messages")
        # One question that can act on nothing: a conversation's later turns (and so any thinking
        # block, which only an assistant turn holds) are main turns.
        if params.get("tools") or not isinstance(messages, list) or len(messages) != 1:
            return False
        max_tokens = params.get("max_tokens")
        if isinstance(max_tokens, int) and max_tokens <= self.settings.side_call_max_tokens:
            return True
        system = _text(params.get("system")).lower()
        return any(phrase in system for phrase in self._phrases)

    def side_call_route(
        self, params: Mapping[str, Any], meta: RequestMeta, *, alias: str | None, now: datetime
    ) -> Route:
        """The simple label's route (its floors and rules applied), whatever model was named."""
        route = self.policy.route(SIDE_CALL_DECISION, meta, params, alias=alias, now=now)
        return dataclasses.replace(route, reason=SIDE_CALL) if route.reason == "label" else route

    async def held(
        self,
        params: Mapping[str, Any],
        meta: RequestMeta,
        *,
        alias: str | None,
        now: datetime,
        writers: Mapping[str, str] | None = None,
    ) -> Route | None:
        """The route of a main turn whose session is held on the top of the ladder, where no label
        could move it: it needs no classifier call (nor its latency). None when the turn must be
        classified: no warm cache at the top, a rule or floor deciding, a budget downgrade."""
        if meta.downgrade or (model := await self._warmest(meta)) is None:
            return None
        top = self.policy.route(_TOP, meta, params, alias=alias, now=now, writers=writers)
        if top.reason != "label" or self.prices.tier_of(model).rank < self.prices.tier_of(top.model).rank:
            return None
        fallbacks = tuple(m for m in top.fallbacks if m != model)
        return dataclasses.replace(top, model=model, fallbacks=fallbacks, label=None, reason=SESSION_WARM)

    async def stick(self, route: Route, meta: RequestMeta) -> Route:
        """`route`, or its session's warm model when that is on a higher tier than the label chose."""
        if not route.reason.startswith(_STICKY_REASONS) or (model := await self._warmest(meta)) is None:
            return route
        if self.prices.tier_of(model).rank <= self.prices.tier_of(route.model).rank:
            return route
        fallbacks = (route.model, *(m for m in route.fallbacks if m != model))
        return dataclasses.replace(route, model=model, fallbacks=fallbacks, reason=SESSION_WARM)

    async def _warmest(self, meta: RequestMeta) -> str | None:
        """The model on the highest tier holding the session's warm cache (None: none, or not sticky)."""
        if not self.settings.sticky or meta.session is None:
            return None
        warm = await self.affinity.session_warm(meta.session)
        models = (entry.model for entry in warm.values())
        return max(models, key=lambda m: self.prices.tier_of(m).rank, default=None)


def _text(system: Any) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        texts = (block.get("text") for block in system if isinstance(block, Mapping))
        return " ".join(text for text in texts if isinstance(text, str))
    return ""


__all__ = ["SESSION_WARM", "SIDE_CALL", "AgentTraffic"]
