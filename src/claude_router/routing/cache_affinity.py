"""Cache-aware routing: keep a conversation on the tier that holds its warm prompt cache when that
is cheaper than moving it.

    affinity = CacheAffinity(prices, settings.cache_affinity)   # in process, or Redis when configured
    route = await affinity.adjust(route, params, meta)           # after the policy, before the call
    await affinity.observe(params, meta, model_used, usage)      # after the answer

Prompt caches are per model, so a conversation that the classifier sends to Opus for one turn and
to Haiku for the next writes its whole prefix again on Haiku (at 1.25x Haiku's input price) while
the Opus copy, readable at 0.1x Opus's price, goes unused. For each request the router knows, per
conversation (its session: `routing/session.py`) and per shared prefix (a hash of the
tools and system prompt), which models hold a warm cache, how many tokens and until when (the
5-minute or 1-hour TTL, refreshed by every read, as the API does). It then prices the request on
the routed model and on each warm model at or above its tier:

    cached reads on that model + the rest of the prefix written + the new tokens + the answer

each counted as that model's tokenizer counts them (the catalogue's `token_ratio`: Claude 4.7 and
later count the same text as about 1.3x Haiku 4.5's tokens, so a warm Opus 4.8 copy holds more
tokens than Haiku 4.5 would write for it), and takes the cheapest. A warm model below the routed
tier is never chosen: the label (or a floor) demands the higher tier. Forced models, concrete model
ids and rules are left alone.

The state lives in an `AffinityStore`: a bounded in-process LRU by default, Redis (shared by every
gateway replica, entries expiring with their caches) when `[cache_affinity] redis_url` is set.
Expiry times are wall-clock seconds so that replicas agree on them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ..catalog.pricing import PriceTable
from ..config import CacheAffinitySettings
from ..types import RequestMeta, Route, TokenUsage
from .affinity_store import TTL_S, AffinityStore, Entries, MemoryAffinityStore, WarmCache
from .session import session_key

REASON = "cache_affinity"
_CHARS_PER_TOKEN = 4  # a rough local estimate: the decision needs proportions, not exact counts
#: Routes whose model the policy chose from the label; anything else (a forced model, a concrete
#: model id, a rule) is what the caller or the operator asked for, and is kept.
_LABEL_REASONS = ("label", "downgrade:", "floor:")


class CacheAffinity:
    """The decision, over a store of keys each mapping model families to their warm cache."""

    def __init__(
        self,
        prices: PriceTable,
        settings: CacheAffinitySettings | None = None,
        *,
        store: AffinityStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.prices = prices
        self.settings = settings = settings or CacheAffinitySettings()
        if store is None and settings.redis_url:
            from .affinity_store_redis import REDIS_PREFIX, RedisAffinityStore  # the optional `redis` extra

            store = RedisAffinityStore(settings.redis_url, prefix=settings.redis_prefix or REDIS_PREFIX)
        self.store: AffinityStore = store or MemoryAffinityStore(settings.max_keys)
        self._clock = clock
        self._ratios: dict[str, Decimal] = {}

    async def aclose(self) -> None:
        await self.store.aclose()

    # ---- the decision ------------------------------------------------------------------------

    async def adjust(self, route: Route, params: Mapping[str, Any], meta: RequestMeta) -> Route:
        """`route`, or the same route on a warm higher-tier model when that costs less."""
        if not route.reason.startswith(_LABEL_REASONS):
            return route
        warm = await self.warm(params, meta)
        if not warm:
            return route
        floor = self.prices.tier_of(route.model).rank
        candidates = {self._family(route.model): route.model}
        for family, entry in warm.items():
            if self.prices.tier_of(family).rank >= floor:
                candidates.setdefault(family, entry.model)
        if len(candidates) == 1:
            return route
        # sizes as Haiku 4.5's tokenizer counts them; each candidate prices them as it counts them
        prefix = max(Decimal(entry.tokens) / self._ratio(family) for family, entry in warm.items())
        prompt = max(Decimal(estimate_prompt_tokens(params)), prefix)
        output, ceiling = self._expected_output(params, route)
        costs = {
            family: self._cost(family, warm.get(family), prefix, prompt, output, ceiling)
            for family in candidates
        }
        best = min(costs, key=lambda family: (costs[family], family != self._family(route.model)))
        if best == self._family(route.model):
            return route
        model = candidates[best]
        fallbacks = (route.model, *(m for m in route.fallbacks if m != model))
        return dataclasses.replace(route, model=model, fallbacks=fallbacks, reason=REASON)

    def _cost(
        self,
        family: str,
        entry: WarmCache | None,
        prefix: Decimal,
        prompt: Decimal,
        output: int,
        ceiling: int | None,
    ) -> Decimal:
        """The price on `family` of this request (warm reads, the rest of the prefix written, the rest
        fresh) and of `horizon_turns - 1` more like it, which read the whole prefix there. `prefix`,
        `prompt` and `output` are Haiku 4.5's counts, scaled to `family`'s; the warm entry is already
        in `family`'s own tokens, and `ceiling` (max_tokens) caps the answer in them."""
        rates = self.prices.resolve(family).rates
        ratio = self._ratio(family)
        prefix, new = prefix * ratio, (prompt - prefix) * ratio
        answer = output * ratio if ceiling is None else min(output * ratio, Decimal(ceiling))
        cached = entry.tokens if entry is not None else 0
        cacheable = prefix >= self.prices.min_cacheable_tokens(family)
        write, read = (rates.cache_write_5m, rates.cache_read) if cacheable else (rates.input, rates.input)
        fresh = new * rates.input + answer * rates.output
        now = cached * rates.cache_read + (prefix - cached) * write + fresh
        return now + (self.settings.horizon_turns - 1) * (prefix * read + fresh)

    def _expected_output(self, params: Mapping[str, Any], route: Route) -> tuple[int, int | None]:
        """The answer expected, as Haiku 4.5 counts it, and the max_tokens that caps it (if any)."""
        ceiling = params.get("max_tokens") or route.max_tokens
        return self.settings.expected_output_tokens, ceiling if isinstance(ceiling, int) else None

    def _ratio(self, model: str) -> Decimal:
        """Tokens `model`'s tokenizer counts per token of Haiku 4.5's, for the same text."""
        ratio = self._ratios.get(model)
        if ratio is None:
            ratio = self._ratios[model] = self.prices.catalogue.resolve(model).token_ratio
        return ratio

    # ---- the state ---------------------------------------------------------------------------

    async def warm(self, params: Mapping[str, Any], meta: RequestMeta) -> Entries:
        """The unexpired caches for this request: its conversation's, else its prefix's."""
        for key in self.keys(params, meta):
            live = await self._live(key)
            if live:
                return live
        return {}

    async def session_warm(self, session: str) -> Entries:
        """The unexpired caches of one session alone (not of the prefixes it shares with others)."""
        return await self._live(f"session:{session}")

    async def _live(self, key: str) -> Entries:
        now = self._clock()
        entries = await self.store.load(key)
        # A model this price sheet does not know (another replica's newer sheet) is ignored.
        return {f: e for f, e in entries.items() if e.expires_at > now and f in self.prices}

    async def observe(
        self, params: Mapping[str, Any], meta: RequestMeta, model: str, usage: TokenUsage
    ) -> None:
        """Remember the cache the answering call read or wrote (nothing when it cached nothing), in
        the answering model's own tokens."""
        cached = usage.cache_read_tokens + usage.cache_write_tokens
        if cached <= 0:
            return
        family = self._family(model)
        now = self._clock()
        shared = math.ceil(prefix_tokens(params) * self._ratio(family))  # the tools and system prompt
        for key in self.keys(params, meta):
            tokens = cached if key.startswith("session:") else min(cached, shared)
            if tokens <= 0:
                continue
            entries = {f: e for f, e in (await self.store.load(key)).items() if e.expires_at > now}
            previous = entries.get(family)
            # A 1-hour write keeps 1 hour; a read refreshes the TTL the entry already had.
            ttl = "1h" if usage.cache_write_1h_tokens else (previous.ttl if previous else "5m")
            entries[family] = WarmCache(model, tokens, now + TTL_S[ttl], ttl)
            await self.store.save(key, entries, now=now)

    def keys(self, params: Mapping[str, Any], meta: RequestMeta) -> list[str]:
        out = []
        session = session_key(meta, params)
        if session:
            out.append(f"session:{session}")
        prefix = _prefix_hash(params)
        if prefix is not None:
            out.append(f"prefix:{prefix}")
        return out

    def _family(self, model: str) -> str:
        return self.prices.resolve(model).family


def _without_cache_control(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list | tuple):
        return [_without_cache_control(v) for v in value]
    return value


def _prefix_hash(params: Mapping[str, Any]) -> str | None:
    """A hash of what every request sharing the prefix repeats: the tools and the system prompt."""
    shared = {"tools": params.get("tools"), "system": params.get("system")}
    if shared["tools"] is None and shared["system"] is None:
        return None
    text = json.dumps(_without_cache_control(shared), sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _text_tokens(value: Any) -> int:
    if value is None:
        return 0
    text = value if isinstance(value, str) else json.dumps(_without_cache_control(value), default=str)
    return -(-len(text) // _CHARS_PER_TOKEN)


def prefix_tokens(params: Mapping[str, Any]) -> int:
    return _text_tokens(params.get("tools")) + _text_tokens(params.get("system"))


def estimate_prompt_tokens(params: Mapping[str, Any]) -> int:
    return prefix_tokens(params) + _text_tokens(params.get("messages"))


__all__ = [
    "REASON",
    "AffinityStore",
    "CacheAffinity",
    "Entries",
    "MemoryAffinityStore",
    "WarmCache",
    "estimate_prompt_tokens",
    "prefix_tokens",
]
