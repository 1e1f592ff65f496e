"""The judge's rubric: loaded from `rubric.toml` (data), rendered to the Messages API body sent.

The judge sees the request, then answer A and answer B, and grades each on every criterion on a
whole-number scale, then names the better one. In "tool" mode (the default) it must call one tool
whose input schema is that verdict, which is how the API gives structured output; in "text" mode
it is asked for the same JSON object as plain text.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from ..classify.prompt import clip
from ..errors import ConfigError

RUBRIC_RESOURCE = "rubric.toml"
#: The verdict's "better" field: answer A, answer B, or neither.
CHOICES = ("a", "b", "tie")

ReplyMode = Literal["tool", "text"]


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Rubric:
    intro: str
    criteria: tuple[Criterion, ...]
    scale_min: int
    scale_max: int
    scale_note: str
    reply: ReplyMode
    tool_name: str
    tool_description: str
    tool_instruction: str
    text_instruction: str
    max_tokens: int
    max_chars: int

    @classmethod
    def load(cls, resource: str = RUBRIC_RESOURCE) -> Rubric:
        """The rubric shipped in this package (a clear `ConfigError` if it is malformed)."""
        raw = resources.files(__package__).joinpath(resource).read_text(encoding="utf-8")
        return cls.from_mapping(tomllib.loads(raw))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Rubric:
        try:
            criteria = tuple(Criterion(str(c["name"]), str(c["description"])) for c in data["criteria"])
            rubric = cls(
                intro=str(data["intro"]),
                criteria=criteria,
                scale_min=int(data["scale_min"]),
                scale_max=int(data["scale_max"]),
                scale_note=str(data["scale_note"]),
                reply=_reply_mode(data["reply"]),
                tool_name=str(data["tool_name"]),
                tool_description=str(data["tool_description"]),
                tool_instruction=str(data["tool_instruction"]),
                text_instruction=str(data["text_instruction"]),
                max_tokens=int(data["max_tokens"]),
                max_chars=int(data["max_chars"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"quality rubric is missing or mistyped: {exc}") from None
        if not criteria or rubric.scale_min >= rubric.scale_max or rubric.max_tokens < 1:
            raise ConfigError("quality rubric needs criteria, scale_min < scale_max and max_tokens >= 1")
        return rubric

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.criteria)

    @property
    def version(self) -> str:
        """A short hash of everything that can change a verdict for the same answers."""
        material = json.dumps(self.request("\x01", "\x02", "\x03"), sort_keys=True)
        return "rubric-" + hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:12]

    def system(self) -> str:
        lines = "\n".join(f"- {c.name}: {c.description}" for c in self.criteria)
        scale = f"Score each criterion from {self.scale_min} to {self.scale_max}: {self.scale_note}"
        if self.reply == "tool":
            instruction = self.tool_instruction
        else:
            shape = ", ".join(f'"{name}": n' for name in self.names)
            instruction = self.text_instruction.replace("{CRITERIA}", "{" + shape + "}")
        return f"{self.intro}\n\nCriteria:\n{lines}\n\n{scale}\n\n{instruction}"

    def tool(self) -> dict[str, Any]:
        """The verdict tool: its input schema is the verdict itself."""
        score = {"type": "integer", "minimum": self.scale_min, "maximum": self.scale_max}
        grades = {
            "type": "object",
            "properties": {name: dict(score) for name in self.names},
            "required": list(self.names),
        }
        return {
            "name": self.tool_name,
            "description": self.tool_description,
            "input_schema": {
                "type": "object",
                "properties": {
                    "a": grades,
                    "b": dict(grades),
                    "better": {"type": "string", "enum": list(CHOICES)},
                },
                "required": ["a", "b", "better"],
            },
        }

    def request(self, question: str, answer_a: str, answer_b: str) -> dict[str, Any]:
        """The Messages API body for one comparison (without the model, which the caller sets)."""
        limit = self.max_chars
        content = (
            f"<request>\n{clip(question, limit)}\n</request>\n\n"
            f"<answer_a>\n{clip(answer_a, limit)}\n</answer_a>\n\n"
            f"<answer_b>\n{clip(answer_b, limit)}\n</answer_b>"
        )
        body: dict[str, Any] = {
            # No sampling parameters: API version 2026-10-21 rejects them on every model.
            "max_tokens": self.max_tokens,
            "system": self.system(),
            "messages": [{"role": "user", "content": content}],
        }
        if self.reply == "tool":
            body["tools"] = [self.tool()]
            body["tool_choice"] = {"type": "tool", "name": self.tool_name}
        return body


def _reply_mode(value: Any) -> ReplyMode:
    if value == "tool":
        return "tool"
    if value == "text":
        return "text"
    raise ValueError(f"reply must be 'tool' or 'text', not {value!r}")
