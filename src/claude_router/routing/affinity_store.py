"""Where cache-aware routing keeps the warm prompt caches of each conversation or shared prefix:
the `AffinityStore` protocol, its entries, and the in-process store (`affinity_store_redis.py` holds
the Redis one)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

TTL_S = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True, slots=True)
class WarmCache:
    """A model's cached copy of a prefix: how many tokens, until when (monotonic seconds)."""

    model: str
    tokens: int
    expires_at: float
    ttl: str = "5m"


Entries = dict[str, WarmCache]  # model family -> its warm cache


class AffinityStore(Protocol):
    """Where the warm caches of each conversation / prefix key are kept."""

    async def load(self, key: str) -> Entries: ...

    async def save(self, key: str, entries: Entries, *, now: float) -> None: ...

    async def aclose(self) -> None: ...


class MemoryAffinityStore:
    """A bounded LRU of keys, in this process only."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._keys: OrderedDict[str, Entries] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    async def load(self, key: str) -> Entries:
        entries = self._keys.get(key)
        if entries is None:
            return {}
        self._keys.move_to_end(key)
        return dict(entries)

    async def save(self, key: str, entries: Entries, *, now: float) -> None:
        self._keys[key] = dict(entries)
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    async def aclose(self) -> None:
        """Nothing to release."""
