"""The emulated model's answer: deterministic content, seeded by the conversation.

- A classifier-shaped request (see `labeler`) is answered with its label, one word.
- An agent's turn (tools under a system prompt, or a conversation already in a tool round trip;
  see `agent`) is answered as a model would: a tool call only when the user's own words ask for
  what a tool does, its arguments read from them; after tool results, a final answer built from
  those results.
- Other requests with client tools may call one: always for tool_choice `any` / `tool`; for
  `auto` when the user text names the tool, else on a seeded coin flip. The call's `input` is
  drawn from the tool's schema.
- Otherwise the answer is text shaped like the task (see `compose`: "Positive.", a language, a
  label, SQL, review bullets, a summary, numbered points, prose) whose natural length follows the
  built-in rule's label (`answer_tokens` in `data/labeler.toml`).
- With structured output (`output_config.format`), the text is a JSON instance of the schema.
Stop sequences cut the text before the first one found (stop_reason `stop_sequence`); max_tokens
cuts it at exactly `4 * max_tokens` characters (stop_reason `max_tokens`; fewer for a tokenizer
that counts more tokens per character). A thinking block comes first when the request thinks
(see `thinking`), and its tokens count against max_tokens: a small max_tokens can end the answer
inside its thinking, with no text. The same conversation always produces the same text, so a cut
answer is a prefix of the uncut one.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..catalog.signatures import signature
from ..types import Label
from .agent import Agent, Turn, is_agent_turn
from .compose import Composer
from .config import Labeler
from .ids import IdFactory
from .labeler import RuleLabeler, apply_labeler, is_classifier_request
from .prompt import Prompt
from .thinking import seal, summary
from .tokens import chars_within, scaled, text_tokens
from .tool_input import json_instance, tool_input

_GENERIC_NAME_PARTS = frozenset(
    {"get", "set", "list", "fetch", "make", "create", "find", "tool", "call", "run"}
)
_NAME_PARTS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Answer:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int  # thinking included
    thinking_tokens: int = 0
    stop_details: dict[str, Any] | None = None


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


@dataclass(frozen=True, slots=True)
class _Turn:
    """What one answer is written from."""

    prompt: Prompt
    text: str
    returns_result: bool
    system: str
    stops: tuple[str, ...]
    label: Label
    rng: random.Random
    agent: Turn | None = None  # an agent's turn (see `agent`), read out of its conversation

    @property
    def ratio(self) -> Fraction:
        return self.prompt.ratio


class Writer:
    """Writes answers; owns the phrase banks, the rule labeler and the configured label plug-in."""

    def __init__(self, labeler: Labeler | None, ids: IdFactory, *, opaque_signatures: bool = False) -> None:
        self.opaque_signatures = opaque_signatures
        self.rule = RuleLabeler.load()
        self._labeler: Labeler = labeler if labeler is not None else self.rule
        self._composer = Composer.load(self.rule.answer_tokens)
        self._agent = Agent.load()
        self._ids = ids

    async def answer(self, prompt: Prompt, stop: str | None = None) -> Answer:
        """The answer to `prompt`: a thinking block first when the request thinks, then the reply.
        `stop` (refusal, pause_turn, model_context_window_exceeded) interrupts the reply halfway."""
        body = prompt.body
        agent = self._agent.read(body) if is_agent_turn(body) else None
        text, returns_result = (agent.request, bool(agent.results)) if agent else user_text(body)
        turn = _Turn(
            prompt,
            text,
            returns_result,
            _blocks_text(body.get("system") or ""),
            tuple(body.get("stop_sequences") or ()),
            self.rule.label(text),
            random.Random(prompt.seed),
            agent,
        )
        budget = prompt.max_tokens
        thought = min(prompt.thinking.tokens(turn.label), budget)
        head: list[dict[str, Any]] = []
        if thought:
            head = [self._thinking_block(prompt, summary(text, turn.label))]
            if thought == budget:  # the answer ends inside its thinking, before any text
                return Answer(head, "max_tokens", None, budget, budget)
        reply = await self._reply(turn, budget - thought)
        if stop is not None:
            reply = _interrupted(reply, stop, turn.ratio)
        return Answer(
            head + reply.content,
            reply.stop_reason,
            reply.stop_sequence,
            thought + reply.output_tokens,
            thought + reply.thinking_tokens,
            reply.stop_details,
        )

    async def _reply(self, turn: _Turn, max_tokens: int) -> Answer:
        body, prompt = turn.prompt.body, turn.prompt
        if is_classifier_request(turn.system, prompt.max_tokens):
            label = await apply_labeler(self._labeler, turn.text)
            return _text_answer(label.value, max_tokens, turn)
        if turn.agent is not None:
            reply = self._agent_reply(turn, turn.agent, max_tokens)
            if reply is not None:
                return reply
        else:
            tool = _choose_tool(body, turn.text, turn.returns_result, turn.rng)
            if tool is not None:
                call = self._tool_answer(tool, turn, max_tokens)
                if call is not None:
                    return call
        schema = prompt.output_schema
        if schema is not None:
            return _text_answer(json.dumps(json_instance(schema, turn.rng, turn.text)), max_tokens, turn)
        prose = self._composer.compose(turn.text, turn.system, turn.label, turn.rng)
        return _text_answer(prose, max_tokens, turn)

    def _agent_reply(self, turn: _Turn, agent: Turn, max_tokens: int) -> Answer | None:
        """An agent's turn: the final answer after tool results, else the tool the request asks
        for (any tool under a forced tool_choice); None to answer in words."""
        body = turn.prompt.body
        choice = body.get("tool_choice") or {"type": "auto"}
        forced = choice["type"] in ("any", "tool")
        if agent.results and not forced and turn.prompt.output_schema is None:
            return _text_answer(self._agent.report(body, agent), max_tokens, turn)
        tools = [t for t in _client_tools(body) if not t.get("defer_loading")]
        if not tools or choice["type"] == "none" or (agent.results and not forced):
            return None
        if choice["type"] == "tool":
            tools = [t for t in tools if t["name"] == choice["name"]]
        chosen = self._agent.choose(tools, agent, forced=forced)
        if chosen is None:
            return None
        tool, arguments = chosen
        return self._tool_answer(tool, turn, max_tokens, arguments)

    def _thinking_block(self, prompt: Prompt, text: str) -> dict[str, Any]:
        shown = text if prompt.thinking.display == "summarized" else ""
        sig = signature(prompt.spec.id, str(prompt.seed))
        return {
            "type": "thinking",
            "thinking": shown,
            "signature": seal(sig) if self.opaque_signatures else sig,
        }

    def _tool_answer(
        self, tool: dict[str, Any], turn: _Turn, max_tokens: int, found: dict[str, Any] | None = None
    ) -> Answer | None:
        """A tool call, with a short preamble under tool_choice auto; None when it does not fit.
        A model that returns text between tool calls as thinking sends the preamble as a thinking block.
        `found` (an agent's turn): the arguments read from the request, with the schema's other
        required properties drawn from it; otherwise every argument is drawn from the schema."""
        body, ratio = turn.prompt.body, turn.ratio
        forced = (body.get("tool_choice") or {}).get("type") in ("any", "tool")
        preamble = "" if forced else f"I'll use the {tool['name']} tool for this."
        arguments = tool_input(tool.get("input_schema"), turn.rng, turn.text)
        if found is not None:
            arguments = _agent_arguments(tool.get("input_schema"), found, arguments)
        preamble_tokens = scaled(text_tokens(preamble), ratio)
        cost = preamble_tokens + scaled(text_tokens(tool["name"] + json.dumps(arguments)), ratio)
        cut, reason, _ = _cut(preamble, max_tokens, turn.stops, ratio)
        if reason != "end_turn" or cost > max_tokens:
            return None if reason == "end_turn" else _text_answer(preamble, max_tokens, turn)
        call = {"type": "tool_use", "id": self._ids.new("toolu"), "name": tool["name"], "input": arguments}
        if not cut:
            return Answer([call], "tool_use", None, cost)
        if turn.prompt.thinking.between_tools:
            block = self._thinking_block(turn.prompt, cut)
            return Answer([block, call], "tool_use", None, cost, preamble_tokens)
        return Answer([{"type": "text", "text": cut}, call], "tool_use", None, cost)


def _text_answer(text: str, max_tokens: int, turn: _Turn) -> Answer:
    cut, reason, sequence = _cut(text, max_tokens, turn.stops, turn.ratio)
    content = [{"type": "text", "text": cut}] if cut else []
    tokens = max_tokens if reason == "max_tokens" else scaled(text_tokens(cut), turn.ratio)
    return Answer(content, reason, sequence, _output_tokens(min(tokens, max_tokens), max_tokens))


def _interrupted(reply: Answer, reason: str, ratio: Fraction) -> Answer:
    """`reply` stopped halfway through its text, for `reason`: no tool call is made."""
    kept: list[dict[str, Any]] = []
    tokens = reply.thinking_tokens
    for block in reply.content:
        if block["type"] == "text":
            half = block["text"][: len(block["text"]) // 2].rstrip()
            if half:
                kept.append({"type": "text", "text": half})
            tokens += scaled(text_tokens(half), ratio)
        elif block["type"] == "thinking":
            kept.append(block)
    details = {"type": "refusal", "category": None, "explanation": None} if reason == "refusal" else None
    return Answer(kept, reason, None, max(tokens, 1), reply.thinking_tokens, details)


def _cut(text: str, max_tokens: int, stops: Iterable[str], ratio: Fraction) -> tuple[str, str, str | None]:
    """The text as emitted: before the first stop sequence, within max_tokens."""
    end, reason, sequence = len(text), "end_turn", None
    for stop in stops:
        at = text.find(stop)
        if 0 <= at < end:
            end, reason, sequence = at, "stop_sequence", stop
    limit = chars_within(max_tokens, ratio)
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


def _client_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in body.get("tools") or () if t.get("type") in (None, "custom")]


def _agent_arguments(schema: Any, found: dict[str, Any], sampled: dict[str, Any]) -> dict[str, Any]:
    """The properties `found` in the request, and the other required ones as `sampled`, in the
    schema's order."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    required = schema.get("required") if isinstance(schema, dict) else None
    wanted = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    out: dict[str, Any] = {}
    for name in properties if isinstance(properties, dict) else ():
        if name in found:
            out[name] = found[name]
        elif name in wanted and name in sampled:
            out[name] = sampled[name]
    return out


def _choose_tool(
    body: dict[str, Any], text: str, returns_result: bool, rng: random.Random
) -> dict[str, Any] | None:
    tools = _client_tools(body)
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
