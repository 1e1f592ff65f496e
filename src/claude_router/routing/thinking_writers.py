"""Which model wrote each thinking signature the router has passed on, for signatures that do not
name their model (the real API's are opaque).

    writers = ThinkingWriters(MemoryWriterStore(100_000))   # or a RedisWriterStore, shared
    await writers.learn(signatures, model_used)             # after an answer
    known = await writers.known(params)                     # before routing: {digest: model}
    Needs.of(params, writers=known)

A thinking block is bound to the model that wrote it: another model drops it unread, and the
reasoning it carried is lost to the conversation. `Needs.thinking_from` keeps the conversation on
that model, which it can only do when it knows the writer. Signatures are kept by a 16-byte digest
(`catalog/signatures.digest`), never whole; only the history's latest signature is looked up, one
read per request that holds one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..catalog.signatures import digest, in_history, origin

MAX_SIGNATURES = 100_000  # kept in process: about 10 MB at most
TTL_S = 7 * 24 * 3600  # in Redis: a conversation resumed within a week stays on its model


class WriterStore(Protocol):
    """Signature digest -> the model that wrote it."""

    async def recall(self, key: str) -> str | None: ...

    async def remember(self, keys: Iterable[str], model: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryWriterStore:
    """A bounded LRU of digests, in this process only."""

    def __init__(self, max_keys: int = MAX_SIGNATURES) -> None:
        self.max_keys = max_keys
        self._keys: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    async def recall(self, key: str) -> str | None:
        model = self._keys.get(key)
        if model is not None:
            self._keys.move_to_end(key)
        return model

    async def remember(self, keys: Iterable[str], model: str) -> None:
        for key in keys:
            self._keys[key] = model
            self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    async def aclose(self) -> None:
        """Nothing to release."""


class ThinkingWriters:
    """What the router remembers of the thinking it passed on, over a `WriterStore`."""

    def __init__(self, store: WriterStore | None = None) -> None:
        self.store: WriterStore = store if store is not None else MemoryWriterStore()

    async def learn(self, signatures: Iterable[str], model: str) -> None:
        """`model` wrote `signatures`; those that name their model need no remembering."""
        keys = [digest(sig) for sig in signatures if origin(sig) is None]
        if keys:
            await self.store.remember(keys, model)

    async def known(self, params: Mapping[str, Any]) -> Mapping[str, str]:
        """The remembered writer of the history's latest signature, when it names no model."""
        messages = params.get("messages")
        if not isinstance(messages, list):
            return {}
        latest = next(in_history(messages), None)
        if latest is None or origin(latest) is not None:
            return {}
        key = digest(latest)
        model = await self.store.recall(key)
        return {key: model} if model is not None else {}

    async def aclose(self) -> None:
        await self.store.aclose()


__all__ = ["MAX_SIGNATURES", "MemoryWriterStore", "ThinkingWriters", "WriterStore"]
