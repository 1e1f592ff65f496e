"""Labels for classifier-shaped requests, and the rule the emulator uses when no plug-in is given.

A request is classifier-shaped when its system prompt asks for exactly one of the words simple,
moderate and complex, and its max_tokens is at most 32 (the router's classifier call). The emulator
answers it with the label of the last user turn's text: from the configured plug-in
(`EmulatorConfig.labeler`, a callable or a "module:function" path) or from `RuleLabeler`, whose
documented rule lives in `data/labeler.toml`.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..types import Label
from .config import Labeler

CLASSIFIER_MAX_TOKENS = 32
_LABEL_WORDS = tuple(re.compile(rf"\b{label.value}\b", re.IGNORECASE) for label in Label)
_NUMBERED_PART = re.compile(r"\(\d{1,2}\)|^\s*\d{1,2}[.)]\s", re.MULTILINE)


def is_classifier_request(system_text: str, max_tokens: int) -> bool:
    """A system prompt naming all three labels, and room for one word."""
    return max_tokens <= CLASSIFIER_MAX_TOKENS and all(w.search(system_text) for w in _LABEL_WORDS)


def _compile(patterns: list[str]) -> re.Pattern[str]:
    """One alternation for a group, scanned once over the lowercased text.

    Patterns starting at a word boundary share one leading `\b`, so the alternatives are only
    tried where a word starts (ten times faster than `re.IGNORECASE` and one `\b` each).
    """
    at_word = [p.removeprefix("\\b") for p in patterns if p.startswith("\\b")]
    others = [p for p in patterns if not p.startswith("\\b")]
    parts = [f"\\b(?:{'|'.join(f'(?:{p})' for p in at_word)})"] if at_word else []
    parts.extend(f"(?:{p})" for p in others)
    return re.compile("|".join(parts), re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RuleLabeler:
    """The documented keyword rule of `data/labeler.toml` (see the comment at its top)."""

    long_text_chars: int
    short_text_chars: int
    min_numbered_parts: int
    domain: re.Pattern[str]
    analysis: re.Pattern[str]
    multi_document: re.Pattern[str]
    moderate: re.Pattern[str]
    simple: re.Pattern[str]
    question: re.Pattern[str]
    question_max_chars: int
    answer_tokens: dict[Label, tuple[int, int]]

    @classmethod
    def load(cls) -> RuleLabeler:
        raw = tomllib.loads(resources.files(__package__).joinpath("data", "labeler.toml").read_text("utf-8"))
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> RuleLabeler:
        return cls(
            long_text_chars=raw["long_text_chars"],
            short_text_chars=raw["short_text_chars"],
            min_numbered_parts=raw["min_numbered_parts"],
            domain=_compile(raw["complex"]["domain"]),
            analysis=_compile(raw["complex"]["analysis"]),
            multi_document=_compile(raw["complex"]["multi_document"]),
            moderate=_compile(raw["moderate"]["patterns"]),
            simple=_compile(raw["simple"]["patterns"]),
            question=re.compile(raw["simple"]["question"]),
            question_max_chars=raw["simple"]["question_max_chars"],
            answer_tokens={Label(k): (int(v[0]), int(v[1])) for k, v in raw["answer_tokens"].items()},
        )

    def __call__(self, text: str) -> str:
        return self.label(text).value

    def label(self, text: str) -> Label:
        text = text.lower()
        if self._complex(text):
            return Label.COMPLEX
        if self.moderate.search(text):
            return Label.MODERATE
        if self.simple.search(text):
            return Label.SIMPLE
        if len(text) <= self.question_max_chars and self.question.search(text):
            return Label.SIMPLE
        return Label.SIMPLE if len(text.strip()) < self.short_text_chars else Label.MODERATE

    def _complex(self, text: str) -> bool:
        if len(text) >= self.long_text_chars or self.multi_document.search(text):
            return True
        if not self.analysis.search(text):
            return False
        parts = len(_NUMBERED_PART.findall(text))
        return parts >= self.min_numbered_parts or self.domain.search(text) is not None


async def apply_labeler(labeler: Labeler, text: str) -> Label:
    """Call a plug-in (sync or async) and read its answer as a label.

    A plug-in that answers something other than the three labels is a server fault, not a bad
    request: the ValueError surfaces as a 500 api_error.
    """
    answer = labeler(text)
    if inspect.isawaitable(answer):
        answer = await answer
    return Label(str(answer).strip().lower())
