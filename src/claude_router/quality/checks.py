"""The fast local answer check: empty, truncated, refused, invalid JSON when JSON was asked for,
or missing the tool call that tool_choice demanded. Penalties and cues are data (`checks.toml`)."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..classify import classifier_input
from .score import Score

if TYPE_CHECKING:  # the SDK is imported where it is used
    from anthropic.types import Message

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LocalChecks:
    penalties: Mapping[str, float]
    json_cues: tuple[re.Pattern[str], ...]
    refusal_phrases: tuple[str, ...]
    refusal_window: int

    @classmethod
    def load(cls) -> LocalChecks:
        raw = tomllib.loads(resources.files(__package__).joinpath("checks.toml").read_text("utf-8"))
        return cls(
            penalties={k: float(v) for k, v in raw["penalties"].items()},
            json_cues=tuple(re.compile(p, re.IGNORECASE) for p in raw["json"]["cues"]),
            refusal_phrases=tuple(p.lower() for p in raw["refusal"]["phrases"]),
            refusal_window=int(raw["refusal"]["window"]),
        )

    async def score(self, params: Mapping[str, Any], message: Message) -> Score:
        return self.check(params, message)

    def check(self, params: Mapping[str, Any], message: Message) -> Score:
        text = "".join(block.text for block in message.content if block.type == "text")
        calls = [block for block in message.content if block.type == "tool_use"]
        failed = []
        if not text.strip() and not calls:
            failed.append("empty")
        if message.stop_reason == "max_tokens":
            failed.append("truncated")
        if message.stop_reason == "refusal" or self._refuses(text):
            failed.append("refusal")
        if self.asks_for_json(params) and not calls and text.strip() and not _parses(text):
            failed.append("invalid_json")
        if _demands_tool(params) and not calls:
            failed.append("missing_tool")
        value = max(0.0, 1.0 - sum(self.penalties.get(name, 1.0) for name in failed))
        return Score(value, tuple(failed))

    def asks_for_json(self, params: Mapping[str, Any]) -> bool:
        output = params.get("output_format")
        if isinstance(output, Mapping) and output.get("type") == "json_schema":
            return True
        item = classifier_input(params)
        return any(cue.search(part) for part in (item.text, item.system or "") for cue in self.json_cues)

    def _refuses(self, text: str) -> bool:
        opening = text[: self.refusal_window].lower()
        return any(phrase in opening for phrase in self.refusal_phrases)


def _parses(text: str) -> bool:
    fenced = _FENCE.match(text)
    try:
        json.loads(fenced.group(1) if fenced else text)
    except ValueError:
        return False
    return True


def _demands_tool(params: Mapping[str, Any]) -> bool:
    choice = params.get("tool_choice")
    return bool(params.get("tools")) and isinstance(choice, Mapping) and choice.get("type") in ("any", "tool")
