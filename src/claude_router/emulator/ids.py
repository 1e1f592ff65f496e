"""Object ids shaped like the API's (`msg_01…`, `toolu_01…`, `req_01…`): unique, not deterministic."""

from __future__ import annotations

import os
import random

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # base58
_LENGTH = 22


class IdFactory:
    """Fast unique ids: a private generator seeded from the OS (ids are not secrets)."""

    def __init__(self) -> None:
        self._rng = random.Random(os.urandom(16))

    def new(self, prefix: str) -> str:
        return f"{prefix}_01{''.join(self._rng.choices(_ALPHABET, k=_LENGTH))}"
