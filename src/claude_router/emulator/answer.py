"""The emulated model's answer: deterministic content, seeded by the conversation.

- A classifier-shaped request (see `labeler`) is answered with its label, one word.
- With client tools offered, the answer may call one: always for tool_choice `any` / `tool`; for
  `auto` when the user text names the tool, else on a seeded coin flip, but never right after a
  tool_result (then it answers in text). The call's `input` is drawn from the tool's schema.
- Otherwise the answer is text shaped like the task (see `compose`: "Positive.", a language, a
  label, SQL, review bullets, a summary, numbered points, prose) whose natural length follows the
  built-in rule's label (`answer_tokens` in `data/labeler.toml`).
Stop sequences cut the text before the first one found (stop_reason `stop_sequence`); max_tokens
cuts it at exactly `4 * max_tokens` characters (stop_reason `max_tokens`). The same conversation
always produces the same text, so a cut answer is a prefix of the uncut one.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .compose import Composer
from .config import Labeler
from .ids import IdFactory
from .labeler import RuleLabeler, apply_labeler, is_classifier_request
from .prompt import Prompt
from .tokens import CHARS_PER_TOKEN, text_tokens
from .tool_input import tool_input

_GENERIC_NAME_PARTS = frozenset(
    {"get", "set", "list", "fetch", "make", "create", "find", "tool", "call", "run"}
)
_NAME_PARTS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Answer:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


def _blocks_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        if block.get("type") == "text":
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            parts.append(_blocks_text(block.get("content", "")))
    return "\n".join(p for p in parts if p)


def user_text(body: dict[str, Any]) -> tuple[str, bool]:
    """The last user turn's text, and whether that turn returns a tool result."""
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            content = message["content"]
            returns_result = isinstance(content, list) and any(b["type"] == "tool_result" for b in content)
            return _blocks_text(content), returns_result
    return "", False


class Writer:
    """Writes answers; owns the phrase banks, the rule labeler and the configured label plug-in."""

    def __init__(self, labeler: Labeler | None, ids: IdFactory) -> None:
        self.rule = RuleLabeler.load()
        self._labeler: Labeler = labeler if labeler is not None else self.rule
        self._composer = Composer.load(self.rule.answer_tokens)
        self._ids = ids

    async def answer(self, prompt: Prompt) -> Answer:
        body = prompt.body
        text, returns_result = user_text(body)
        system = _blocks_text(body.get("system") or "")
        stops = body.get("stop_sequences") or ()
        if is_classifier_request(system, prompt.max_tokens):
            label = await apply_labeler(self._labeler, text)
            return self._text_answer(label.value, prompt.max_tokens, stops)
        rng = random.Random(prompt.seed)
        tool = _choose_tool(body, text, returns_result, rng)
        if tool is not None:
            call = self._tool_answer(tool, body, text, rng, prompt.max_tokens, stops)
            if call is not None:
                return call
        label = self.rule.label(text)
        prose = self._composer.compose(text, system, label, rng)
        return self._text_answer(prose, prompt.max_tokens, stops)

    def _text_answer(self, text: str, max_tokens: int, stops: Iterable[str]) -> Answer:
        cut, reason, sequence = _cut(text, max_tokens, stops)
        content = [{"type": "text", "text": cut}] if cut else []
        return Answer(content, reason, sequence, _output_tokens(text_tokens(cut), max_tokens))

    def _tool_answer(
        self,
        tool: dict[str, Any],
        body: dict[str, Any],
        text: str,
        rng: random.Random,
        max_tokens: int,
        stops: Iterable[str],
    ) -> Answer | None:
        """A tool call, with a short preamble under tool_choice auto; None when it does not fit."""
        forced = (body.get("tool_choice") or {}).get("type") in ("any", "tool")
        preamble = "" if forced else f"I'll use the {tool['name']} tool for this."
        arguments = tool_input(tool.get("input_schema"), rng, text)
        cost = text_tokens(preamble) + text_tokens(tool["name"] + json.dumps(arguments))
        cut, reason, _ = _cut(preamble, max_tokens, stops)
        if reason != "end_turn" or cost > max_tokens:
            return None if reason == "end_turn" else self._text_answer(preamble, max_tokens, stops)
        call = {"type": "tool_use", "id": self._ids.new("toolu"), "name": tool["name"], "input": arguments}
        content = [{"type": "text", "text": cut}, call] if cut else [call]
        return Answer(content, "tool_use", None, cost)


def _cut(text: str, max_tokens: int, stops: Iterable[str]) -> tuple[str, str, str | None]:
    """The text as emitted: before the first stop sequence, within max_tokens."""
    end, reason, sequence = len(text), "end_turn", None
    for stop in stops:
        at = text.find(stop)
        if 0 <= at < end:
            end, reason, sequence = at, "stop_sequence", stop
    limit = max_tokens * CHARS_PER_TOKEN
    if limit < end:
        end, reason, sequence = limit, "max_tokens", None
    return text[:end], reason, sequence


def _output_tokens(tokens: int, max_tokens: int) -> int:
    """At least one token (the end of turn) whenever any output was allowed, as the API reports."""
    return max(tokens, 1) if max_tokens > 0 else 0


def _named(tool: dict[str, Any], text: str) -> bool:
    lowered = text.lower()
    parts = _NAME_PARTS.findall(str(tool["name"]).lower())
    return any(len(p) >= 4 and p not in _GENERIC_NAME_PARTS and p in lowered for p in parts)


def _choose_tool(
    body: dict[str, Any], text: str, returns_result: bool, rng: random.Random
) -> dict[str, Any] | None:
    tools: list[dict[str, Any]] = [t for t in body.get("tools") or () if t.get("type") in (None, "custom")]
    choice = (body.get("tool_choice") or {"type": "auto"})["type"]
    if not tools or choice == "none":
        return None
    if choice == "tool":
        wanted = body["tool_choice"]["name"]
        return next((t for t in tools if t["name"] == wanted), None)
    named = [t for t in tools if _named(t, text)]
    if choice == "any":
        return named[0] if named else tools[rng.randrange(len(tools))]
    if returns_result:
        return None
    if named:
        return named[0]
    return tools[rng.randrange(len(tools))] if rng.random() < 0.5 else None
