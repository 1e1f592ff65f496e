"""`Judge`: one call to the judge model (Sonnet by default) comparing two answers to one request.

The cheaper and the higher tier's answers are shown as A and B in an order the caller picks
(drawn from the request id, so a judge's bias for the first position evens out over a sample and
a verdict is reproducible). The reply is read robustly: the verdict tool's input, else a JSON
object anywhere in the text (code fences and chatter around it are ignored); anything that is not
a complete verdict on the rubric's scale is garbage and gives `Better.UNKNOWN`. A failed call
gives `UNKNOWN` too, with the reason; the judge never raises for an upstream failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..catalog.pricing import PriceTable
from ..classify.llm import describe_error
from ..config import HAIKU
from ..errors import RouterError
from ..ledger.verdicts import Better
from ..types import ZERO, TokenUsage
from ..upstream import Upstream
from .rubric import Rubric

if TYPE_CHECKING:  # the SDK is imported where it is used
    from anthropic.types import Message

log = logging.getLogger(__name__)

UNPARSED = "unparsed judge reply"
_CHOICE_WORDS = {
    "a": "a",
    "answer_a": "a",
    "answer a": "a",
    "b": "b",
    "answer_b": "b",
    "answer b": "b",
    "tie": "tie",
}


@dataclass(frozen=True, slots=True)
class Grades:
    """A parsed verdict, in the judge's own terms (answers A and B)."""

    a: Mapping[str, int]
    b: Mapping[str, int]
    better: str  # one of CHOICES


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict in the router's terms (cheaper and higher tier), and what the judge call cost."""

    better: Better
    model: str
    cheaper_scores: Mapping[str, int] = field(default_factory=dict)
    higher_scores: Mapping[str, int] = field(default_factory=dict)
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost_usd: Decimal = ZERO
    reason: str | None = None


def parse_reply(message: Message, rubric: Rubric) -> Grades | None:
    """The verdict in a judge's reply: the verdict tool's input first, else JSON in the text."""
    for block in message.content:
        if block.type == "tool_use" and block.name == rubric.tool_name:
            return grades_of(block.input, rubric)
    text = "".join(block.text for block in message.content if block.type == "text")
    return parse_text(text, rubric)


def parse_text(text: str, rubric: Rubric) -> Grades | None:
    """A verdict written as one JSON object, possibly fenced or surrounded by prose."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return grades_of(data, rubric)


def grades_of(data: Any, rubric: Rubric) -> Grades | None:
    """Validate a decoded verdict: every criterion scored on the scale for both answers."""
    if not isinstance(data, Mapping):
        return None
    fields = {str(k).strip().lower(): v for k, v in data.items()}
    better = _CHOICE_WORDS.get(str(fields.get("better", "")).strip().lower())
    a = _scores(fields.get("a", fields.get("answer_a")), rubric)
    b = _scores(fields.get("b", fields.get("answer_b")), rubric)
    if better is None or a is None or b is None:
        return None
    return Grades(a, b, better)


def _scores(raw: Any, rubric: Rubric) -> dict[str, int] | None:
    if not isinstance(raw, Mapping):
        return None
    given = {str(k).strip().lower(): v for k, v in raw.items()}
    scores: dict[str, int] = {}
    for name in rubric.names:
        value = _whole(given.get(name))
        if value is None or not rubric.scale_min <= value <= rubric.scale_max:
            return None
        scores[name] = value
    return scores


def _whole(value: Any) -> int | None:
    """An integer score: 4, 4.0 or "4"; never a bool."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class Judge:
    """Compares two answers with one call to `model`, graded against `rubric`."""

    def __init__(
        self,
        upstream: Upstream,
        prices: PriceTable,
        *,
        model: str = HAIKU,
        rubric: Rubric | None = None,
        timeout_s: float | None = 120.0,
    ) -> None:
        prices.resolve(model)  # an unpriceable judge is a configuration error, found at start-up
        self.upstream = upstream
        self.prices = prices
        self.model = model
        self.rubric = rubric or Rubric.load()
        self.timeout_s = timeout_s

    async def compare(self, question: str, cheaper: str, higher: str, *, swap: bool) -> Judgement:
        """Judge `cheaper` against `higher`; shown as A and B, or as B and A when `swap`."""
        import anthropic

        first, second = (higher, cheaper) if swap else (cheaper, higher)
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await self.upstream.create(
                    self.rubric.request(question, first, second), model=self.model, fallbacks=()
                )
        except (anthropic.APIError, RouterError, TimeoutError) as exc:
            reason = f"judge failed: {describe_error(exc)}"
            log.warning("quality judge call to %s failed (%s)", self.model, describe_error(exc))
            return Judgement(Better.UNKNOWN, self.model, reason=reason)
        cost = self.prices.cost(result.model_used, result.usage)
        grades = parse_reply(result.message, self.rubric)
        if grades is None:
            return Judgement(
                Better.UNKNOWN, result.model_used, usage=result.usage, cost_usd=cost, reason=UNPARSED
            )
        cheap_side, high_side = ("b", "a") if swap else ("a", "b")
        sides = {"a": grades.a, "b": grades.b}
        better = {cheap_side: Better.CHEAPER, high_side: Better.HIGHER, "tie": Better.TIE}[grades.better]
        return Judgement(
            better,
            result.model_used,
            cheaper_scores=sides[cheap_side],
            higher_scores=sides[high_side],
            usage=result.usage,
            cost_usd=cost,
        )
