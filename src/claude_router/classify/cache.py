"""`CachedClassifier`, its key, and the in-process LRU backend (Redis is in `cache_redis.py`).

The key is the SHA-256 of the inner classifier's `version` and every `ClassifierInput` field,
each length-prefixed so no two inputs share an encoding (the request-shape fields only when one
differs from a plain single message, so such a message keeps the key it always had). A hit
answers with the stored label and confidence, `source=CACHE` and zero tokens. Fallback decisions
(failed calls) are never stored. Concurrent misses on one key share a single inner call.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import Protocol, runtime_checkable

from ..types import ClassifierSource, Decision, Label
from .base import Classifier, ClassifierInput

DEFAULT_MAX_ENTRIES = 10_000


def _field(value: str) -> bytes:
    data = value.encode("utf-8", "surrogatepass")
    return len(data).to_bytes(8, "big") + data


def _key_seed(version: str) -> hashlib._Hash:
    return hashlib.sha256(_field(version))


def _key(seed: hashlib._Hash, item: ClassifierInput) -> bytes:
    digest = seed.copy()
    digest.update(_field(item.text))
    digest.update(b"N" if item.system is None else b"S" + _field(item.system))
    digest.update(b"T" if item.has_tools else b"F")
    shape = _shape(item)
    if shape:  # a plain single message keeps the key it always had
        digest.update(b"X" + _field(shape))
    return digest.digest()


def _shape(item: ClassifierInput) -> str:
    """The request-shape fields, when any differs from a plain single message; '' otherwise.

    `max_tokens` is left out: a count_tokens call has none, and the create call it precedes must
    find the label it left in the cache.
    """
    values: tuple[int | str, ...] = (item.tool_count, item.tool_results, item.turns, item.context_chars)
    values += (item.thinking_tokens, item.effort or "")
    if values == (0, 0, 1, 0, 0, ""):
        return ""
    return "\x00".join(str(v) for v in values)


def cache_key(item: ClassifierInput, version: str) -> bytes:
    """32 bytes identifying (`version`, `item`) with no two inputs sharing an encoding."""
    return _key(_key_seed(version), item)


def cached_decision(label: Label, confidence: float) -> Decision:
    """What a hit returns: the label and confidence, from the cache, at no cost."""
    return Decision(label=label, confidence=confidence, source=ClassifierSource.CACHE)


class CacheBackend(Protocol):
    """Stores hit-shaped decisions (see `cached_decision`) by key. Never raises on a store failure."""

    async def get(self, key: bytes) -> Decision | None: ...

    async def set(self, key: bytes, decision: Decision) -> None: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Closable(Protocol):
    async def aclose(self) -> None: ...


class LRUCache:
    """In-process, bounded, least-recently-used first out; O(1) per operation."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, Decision] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: bytes) -> bool:
        return key in self._entries

    async def get(self, key: bytes) -> Decision | None:
        decision = self._entries.get(key)
        if decision is not None:
            self._entries.move_to_end(key)
        return decision

    async def set(self, key: bytes, decision: Decision) -> None:
        self._entries[key] = decision
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def aclose(self) -> None:
        self._entries.clear()


class CachedClassifier:
    """Wraps any classifier with a cache; its `version` is the inner one's."""

    def __init__(self, inner: Classifier, backend: CacheBackend) -> None:
        self.inner = inner
        self.backend = backend
        self.version = inner.version
        self._seed = _key_seed(inner.version)  # hashed once, copied per request
        self._inflight: dict[bytes, asyncio.Future[Decision]] = {}

    async def classify(self, item: ClassifierInput) -> Decision:
        key = _key(self._seed, item)
        hit = await self.backend.get(key)
        if hit is not None:
            return hit
        pending = self._inflight.get(key)
        if pending is not None:
            return await self._follow(pending, item)
        return await self._lead(key, item)

    async def _lead(self, key: bytes, item: ClassifierInput) -> Decision:
        shared: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._inflight[key] = shared
        try:
            decision = await self.inner.classify(item)
            shared.set_result(decision)
            if decision.source is not ClassifierSource.FALLBACK:
                await self.backend.set(key, cached_decision(decision.label, decision.confidence))
            return decision
        finally:
            if not shared.done():  # the inner call raised or was cancelled: followers go alone
                shared.cancel()
            del self._inflight[key]

    async def _follow(self, shared: asyncio.Future[Decision], item: ClassifierInput) -> Decision:
        """Wait for the call already in flight for this key; its tokens were paid by the leader."""
        try:
            decision = await asyncio.shield(shared)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not shared.cancelled() or (task is not None and task.cancelling()):
                raise  # we ourselves were cancelled
            return await self.inner.classify(item)
        if decision.source is ClassifierSource.FALLBACK:
            return decision
        return cached_decision(decision.label, decision.confidence)

    async def aclose(self) -> None:
        """Close the backend, and the inner classifier if it holds resources (a nested cache)."""
        await self.backend.aclose()
        if isinstance(self.inner, Closable):
            await self.inner.aclose()
