"""The LLM classifier's prompt: loaded from `prompt.toml` (data), rendered to the text sent upstream.

The system prompt holds the three label definitions, a few examples per label, the tie-break rule
and the one-word reply instruction. The request's own text goes, unchanged but clipped, as the
user turn; an excerpt of the caller's system prompt and a note about tools go into the system
prompt as context, so the user turn is exactly what the caller's user wrote.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..errors import ConfigError
from ..types import LABELS, Label

PROMPT_RESOURCE = "prompt.toml"


@dataclass(frozen=True, slots=True)
class LabelSpec:
    definition: str
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClassifierPrompt:
    intro: str
    rule: str
    reply: str
    context_header: str
    tools_note: str
    labels: Mapping[Label, LabelSpec]

    @classmethod
    def load(cls, resource: str = PROMPT_RESOURCE) -> ClassifierPrompt:
        """Read the prompt shipped in this package (a clear `ConfigError` if it is malformed)."""
        raw = resources.files(__package__).joinpath(resource).read_text(encoding="utf-8")
        return cls.from_mapping(tomllib.loads(raw))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ClassifierPrompt:
        try:
            labels = {
                label: LabelSpec(
                    definition=str(data["labels"][label.value]["definition"]),
                    examples=tuple(str(e) for e in data["labels"][label.value]["examples"]),
                )
                for label in LABELS
            }
            return cls(
                intro=str(data["intro"]),
                rule=str(data["rule"]),
                reply=str(data["reply"]),
                context_header=str(data["context_header"]),
                tools_note=str(data["tools_note"]),
                labels=labels,
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"classifier prompt is missing or mistyped: {exc}") from None

    def system(self, caller_system: str | None = None, *, has_tools: bool = False) -> str:
        """The classifier's system prompt, with the request's context (if any) before the rules."""
        parts = [self.intro]
        for label, spec in self.labels.items():
            examples = "\n".join(f'- "{e}"' for e in spec.examples)
            parts.append(f"{label.value}: {spec.definition}\nExamples:\n{examples}")
        if caller_system:
            parts.append(f"{self.context_header}\n<system_prompt>\n{caller_system}\n</system_prompt>")
        if has_tools:
            parts.append(self.tools_note)
        parts.append(f"{self.rule}\n{self.reply}")
        return "\n\n".join(parts)


def clip(text: str, limit: int) -> str:
    """Keep at most `limit` characters: the head and the tail, with the omitted count between.

    Length itself is a signal of difficulty, so the marker says how much was left out.
    """
    if limit <= 0 or len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:]}"
