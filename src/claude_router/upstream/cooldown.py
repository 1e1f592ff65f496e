"""Per-model cooldown: a model that keeps answering "overloaded" is skipped for a while.

After `after` overloaded responses in a row from one model, that model cools down for `seconds`:
the upstream skips it and goes straight to the next model of the fallback chain. Any success
from the model (even one that was in flight when it cooled) ends its cooldown and resets its
count, so a recovered model is used again at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Cooldowns:
    """Overload counts and cooldown deadlines per model. Owned by one `Upstream`, one event loop."""

    def __init__(self, after: int, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.after = after  # 0 or less: never cool a model down
        self.seconds = seconds
        self._clock = clock
        self._in_a_row: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def overloaded(self, model: str) -> None:
        """Count one overloaded response; start the cooldown when the count reaches `after`."""
        count = self._in_a_row.get(model, 0) + 1
        self._in_a_row[model] = count
        if self.after > 0 and count >= self.after:
            self._until[model] = self._clock() + self.seconds
            self._in_a_row[model] = 0

    def succeeded(self, model: str) -> None:
        self._in_a_row.pop(model, None)
        self._until.pop(model, None)

    def remaining_s(self, model: str) -> float:
        """Seconds left in the model's cooldown (0.0 when it is not cooling down)."""
        until = self._until.get(model)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._until[model]
            return 0.0
        return left

    def cooling(self, model: str) -> bool:
        return self.remaining_s(model) > 0

    def usable(self, models: tuple[str, ...]) -> tuple[str, ...]:
        """The models not cooling down, in order; all of them when every one is cooling down.

        Trying a cooled model beats refusing the request without a single call.
        """
        warm = tuple(m for m in models if not self.cooling(m))
        return warm or models
