"""An optional judge model (Haiku by default) grading an answer against a rubric (`judge.toml`).

It answers one integer from 1 to 10, read as a score of n / 10. An answer that holds no such
integer, or a failed judge call, is an abstention: the cascade then goes by the local checks.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..classify import classifier_input
from ..upstream import Upstream
from .score import Score

if TYPE_CHECKING:  # the SDK is imported where it is used
    from anthropic.types import Message

_GRADE = re.compile(r"\b(10|[1-9])\b")


@dataclass(frozen=True, slots=True)
class Rubric:
    system: str
    template: str
    max_chars: int

    @classmethod
    def load(cls) -> Rubric:
        raw = tomllib.loads(resources.files(__package__).joinpath("judge.toml").read_text("utf-8"))
        return cls(raw["system"], raw["template"], int(raw["max_chars"]))


class Judge:
    def __init__(
        self, upstream: Upstream, *, model: str, max_tokens: int, rubric: Rubric | None = None
    ) -> None:
        self.upstream = upstream
        self.model = model
        self.max_tokens = max_tokens
        self.rubric = rubric or Rubric.load()

    async def score(self, params: Mapping[str, Any], message: Message) -> Score:
        import anthropic

        rubric = self.rubric
        answer = "".join(block.text for block in message.content if block.type == "text")
        prompt = rubric.template.format(
            request=classifier_input(params).text[: rubric.max_chars], answer=answer[: rubric.max_chars]
        )
        body = {
            "max_tokens": self.max_tokens,
            "system": rubric.system,
            "messages": [{"role": "user", "content": prompt}],
        }
        try:
            result = await self.upstream.create(body, model=self.model)
        except anthropic.APIError:
            return Score(None, ("judge_failed",))
        verdict = "".join(block.text for block in result.message.content if block.type == "text")
        grade = _GRADE.search(verdict)
        value = int(grade.group(1)) / 10 if grade else None
        return Score(value, () if grade else ("judge_abstained",), result.usage, result.model_used)
