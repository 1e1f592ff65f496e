"""The simulated prompt cache: prefixes ending at cache_control breakpoints, stored with their TTL.

As on the API:
- a prefix runs in the order tools → system → messages up to and including a breakpoint block;
- a breakpoint whose prefix is shorter than the model's minimum is ignored (no error);
- a request reads the longest stored prefix found at a breakpoint or up to 20 blocks before one
  (so a growing conversation hits the prefix the previous turn wrote), which refreshes its TTL;
- it writes every eligible breakpoint past that point; the written tokens are split by the TTL of
  the breakpoint that ends each stretch (`cache_creation.ephemeral_5m/1h_input_tokens`).
Caches are separate per model. `plan` only looks; `commit` writes, so a refused request changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .prompt import Prompt
from .tokens import REQUEST_TOKENS

LOOKBACK_BLOCKS = 20
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True, slots=True)
class CachePlan:
    read_tokens: int = 0
    write_5m_tokens: int = 0
    write_1h_tokens: int = 0
    hit: bytes | None = None  # the entry read (its TTL is refreshed on commit)
    hit_ttl: str = "5m"
    writes: tuple[tuple[bytes, str], ...] = ()  # (key, ttl) to store on commit

    @property
    def write_tokens(self) -> int:
        return self.write_5m_tokens + self.write_1h_tokens


NO_CACHE = CachePlan()


class PromptCache:
    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        self._entries: OrderedDict[bytes, tuple[float, str]] = OrderedDict()  # key -> (expiry, ttl)
        self._max_entries = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def plan(self, prompt: Prompt) -> CachePlan:
        if not prompt.breakpoints:
            return NO_CACHE
        minimum = prompt.spec.min_cacheable_tokens
        prefix = _prefix_tokens(prompt)
        eligible = [(i, ttl) for i, ttl in prompt.breakpoints if prefix[i] >= minimum]
        if not eligible:
            return NO_CACHE
        keys = _prefix_keys(prompt, eligible[-1][0])
        hit = self._longest_hit(keys, [i for i, _ in eligible])
        read = prefix[hit] if hit >= 0 else 0
        written = {"5m": 0, "1h": 0}
        writes: list[tuple[bytes, str]] = []
        covered = read
        for index, ttl in eligible:
            if index <= hit:
                continue
            written[ttl] += prefix[index] - covered
            covered = prefix[index]
            writes.append((keys[index], ttl))
        hit_key = keys[hit] if hit >= 0 else None
        hit_ttl = self._entries[hit_key][1] if hit_key is not None else "5m"
        return CachePlan(read, written["5m"], written["1h"], hit_key, hit_ttl, tuple(writes))

    def commit(self, plan: CachePlan) -> None:
        now = self._clock()
        if plan.hit is not None:
            self._store(plan.hit, plan.hit_ttl, now)
        for key, ttl in plan.writes:
            self._store(key, ttl, now)

    def _store(self, key: bytes, ttl: str, now: float) -> None:
        self._entries[key] = (now + TTL_SECONDS[ttl], ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def _longest_hit(self, keys: list[bytes], breakpoints: list[int]) -> int:
        now = self._clock()
        for index in reversed(breakpoints):
            for candidate in range(index, max(index - LOOKBACK_BLOCKS, -1), -1):
                entry = self._entries.get(keys[candidate])
                if entry is None:
                    continue
                if entry[0] <= now:
                    del self._entries[keys[candidate]]
                    continue
                return candidate
        return -1


def _prefix_tokens(prompt: Prompt) -> list[int]:
    total = REQUEST_TOKENS
    out: list[int] = []
    for part in prompt.segments:
        total += part.tokens
        out.append(total)
    return out


def _prefix_keys(prompt: Prompt, last: int) -> list[bytes]:
    """A running hash of the prefix ending at each segment (cache_control itself is not content)."""
    running = hashlib.blake2b(prompt.model.id.encode(), digest_size=16)
    keys: list[bytes] = []
    for part in prompt.segments[: last + 1]:
        running.update(json.dumps(_without_cache_control(part.block), sort_keys=True, default=str).encode())
        keys.append(running.digest())
    return keys


def _without_cache_control(value: object) -> object:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_without_cache_control(v) for v in value]
    return value
