"""What a scorer says about one answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..types import NO_USAGE, TokenUsage

if TYPE_CHECKING:  # the SDK is imported where it is used
    from anthropic.types import Message


@dataclass(frozen=True, slots=True)
class Score:
    """`value` in [0, 1] (None: the scorer abstained); the failed checks; what scoring cost."""

    value: float | None
    reasons: tuple[str, ...] = ()
    usage: TokenUsage = NO_USAGE
    model: str | None = None  # the judge model that spent `usage`


class Scorer(Protocol):
    async def score(self, params: Mapping[str, Any], message: Message) -> Score: ...
