"""An agent's turn, answered the way a model answers it.

A request is an agent's turn when it offers tools under a system prompt (top level or a
`role: "system"` turn), or already holds a tool round trip. Such a turn is read and answered so that
an agent harness (Claude Code, an SDK tool runner, a framework's agent loop) behaves as it would
with a real model:

- The request is the user's own words: the last user turn's text without what the harness wraps
  around it (`<system-reminder>` blocks).
- A tool is called only when those words ask for what the tool does (`data/agent.toml`): "run
  `echo hi`" calls a shell tool, "read notes.txt" a file reader, "list the files here" a file
  lister or else the shell with `ls`, "what is the weather in Paris" a tool named for the weather.
  Anything else ("say hello") is answered in text.
- The call's arguments come from the request: the backticked command, the file named (absolute
  against the working directory the conversation states), a URL, quoted text, an id or a proper
  noun for other strings. Only the schema's required properties and those found are sent.
- After tool results the answer is final text built from them (their output, or the error), so
  an agent's loop ends after one tool round per user request.

    agent = Agent.load()
    if is_agent_turn(body):
        turn = agent.read(body)          # the request, its results, the working directory
        call = agent.choose(body, turn)  # (tool, arguments) or None
        text = agent.report(body, turn)  # after tool results
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

_FILE = re.compile(
    r"(?<![\w/.-])(/[\w./-]*\w|(?:\.{1,2}/)?(?:[\w-][\w.-]*/)*[\w-][\w.-]*\.[A-Za-z]\w{0,7})(?![\w/-])"
)
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_QUOTED = re.compile(r"""["“]([^"”\n]+)["”]|(?<!\w)'([^'\n]+)'(?!\w)""")
_URL = re.compile(r"\bhttps?://[^\s<>\"')]+")
_ID = re.compile(r"\b[A-Za-z]{0,6}-?\d[\w-]*\b")
_SENTENCE = re.compile(r"[^.?!\n]+")
_WORD = re.compile(r"[\w'-]+")
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_FIRST_SENTENCE = re.compile(r"^(.*?[.!?])(?:\s|$)", re.DOTALL)
_DESCRIPTION_CHARS = 300


@dataclass(frozen=True, slots=True)
class Capability:
    name: str
    request: re.Pattern[str]
    tool: re.Pattern[str]
    fallback: str | None = None
    command: str | None = None


@dataclass(frozen=True, slots=True)
class Results:
    templates: dict[str, str]
    max_lines: int
    max_chars: int


@dataclass(frozen=True, slots=True)
class Turn:
    """What an agent's turn is answered from."""

    request: str  # the user's own words
    results: tuple[dict[str, Any], ...]  # tool_result blocks, when the last user turn returns them
    working_dir: str | None


def is_agent_turn(body: dict[str, Any]) -> bool:
    """Tools offered under a system prompt, or a tool round trip already in the conversation."""
    messages = body["messages"]
    for message in messages:
        content = message["content"]
        if isinstance(content, list) and any(b["type"] in ("tool_use", "tool_result") for b in content):
            return True
    if not body.get("tools"):
        return False
    return bool(body.get("system")) or any(m["role"] == "system" for m in messages)


class Agent:
    """The capability table and answer templates of `data/agent.toml`, compiled once."""

    def __init__(self, raw: dict[str, Any]) -> None:
        flags = re.IGNORECASE | re.MULTILINE
        self._harness = [re.compile(p) for p in raw["harness_text"]]
        self._working_dir = [re.compile(p) for p in raw["working_dir"]]
        self._generic = frozenset(raw["generic_name_parts"])
        self.capabilities = tuple(
            Capability(
                c["name"],
                re.compile("|".join(f"(?:{p})" for p in c["request"]), flags),
                re.compile("|".join(f"(?:{p})" for p in c["tool"]), flags),
                c.get("fallback"),
                c.get("command"),
            )
            for c in raw["capabilities"]
        )
        self._roles = {name: role for role, names in raw["arguments"].items() for name in names}
        results = dict(raw["results"])
        self.results = Results(
            {k: str(v) for k, v in results.items() if isinstance(v, str)},
            int(results["max_lines"]),
            int(results["max_chars"]),
        )

    @classmethod
    def load(cls) -> Agent:
        text = resources.files(__package__).joinpath("data", "agent.toml").read_text("utf-8")
        return cls(tomllib.loads(text))

    # ---- reading the turn ------------------------------------------------------------------------

    def read(self, body: dict[str, Any]) -> Turn:
        messages = body["messages"]
        users = [_blocks(m["content"]) for m in messages if m["role"] == "user"]
        results = tuple(b for b in users[-1] if b["type"] == "tool_result") if users else ()
        # The request is the latest user turn with words of its own (a turn that only returns
        # tool results answers the request before it).
        request = next((words for words in map(self._own_words, reversed(users)) if words), "")
        return Turn(request, results, self._find_working_dir(body))

    def _own_words(self, blocks: Iterable[dict[str, Any]]) -> str:
        texts = []
        for block in blocks:
            if block["type"] != "text":
                continue
            text = block["text"]
            for pattern in self._harness:
                text = pattern.sub("", text)
            if text.strip():
                texts.append(text.strip())
        return "\n".join(texts)

    def _find_working_dir(self, body: dict[str, Any]) -> str | None:
        for text in _conversation_text(body):
            for pattern in self._working_dir:
                found = pattern.search(text)
                if found:
                    return found.group(1).rstrip(".,;:")
        return None

    # ---- choosing a tool -------------------------------------------------------------------------

    def choose(
        self, tools: list[dict[str, Any]], turn: Turn, forced: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The tool the request asks for and its arguments; None when it asks for none. `forced`
        (tool_choice any) picks the first tool when none fits."""
        for capability in self.capabilities:
            if not capability.request.search(turn.request):
                continue
            tool = self._offering(tools, capability)
            if tool is not None:
                return tool, self.arguments(tool, turn, capability)
            if capability.fallback is not None:
                shell = next(c for c in self.capabilities if c.name == capability.fallback)
                tool = self._offering(tools, shell)
                if tool is not None:
                    return tool, self.arguments(tool, turn, capability)
        named = self._named(tools, turn.request)
        if named is not None:
            return named, self.arguments(named, turn, None)
        if forced and tools:
            return tools[0], self.arguments(tools[0], turn, None)
        return None

    def _offering(self, tools: list[dict[str, Any]], capability: Capability) -> dict[str, Any] | None:
        return next((t for t in tools if capability.tool.search(_tool_text(t))), None)

    def _named(self, tools: list[dict[str, Any]], request: str) -> dict[str, Any] | None:
        """The first tool one of whose name's meaningful words the request uses (a plural too)."""
        words = set(re.findall(r"[a-z0-9]+", request.lower()))
        words |= {w[:-1] for w in words if w.endswith("s")}
        for tool in tools:
            parts = {p.lower() for p in _NAME_PARTS.findall(str(tool["name"]))}
            if any(len(p) >= 4 and p not in self._generic and p in words for p in parts):
                return tool
        return None

    def capability_of(self, tool: dict[str, Any]) -> Capability | None:
        text = _tool_text(tool)
        return next((c for c in self.capabilities if c.tool.search(text)), None)

    # ---- arguments -------------------------------------------------------------------------------

    def arguments(self, tool: dict[str, Any], turn: Turn, capability: Capability | None) -> dict[str, Any]:
        """The call's input as far as the request gives it: each string property whose name says
        what it holds, then the required strings left, from the request's ids and proper nouns."""
        schema = tool.get("input_schema")
        schema = schema if isinstance(schema, dict) else {}
        raw_properties, raw_required = schema.get("properties"), schema.get("required")
        properties: dict[str, Any] = raw_properties if isinstance(raw_properties, dict) else {}
        required = [r for r in raw_required if isinstance(r, str)] if isinstance(raw_required, list) else []
        found = _Found.of(turn.request)
        out: dict[str, Any] = {}
        for name, prop in properties.items():
            if not _is_string(prop):
                continue
            value = self._value(self._roles.get(str(name).lower()), found, turn, capability)
            if value is not None:
                out[str(name)] = value
        names = iter(found.names)
        for name in required:
            if name not in out and _is_string(properties.get(name)):
                value = next(names, None)
                if value is not None:
                    out[name] = value
        return out

    def _value(
        self, role: str | None, found: _Found, turn: Turn, capability: Capability | None
    ) -> str | None:
        kind = capability.name if capability is not None else None
        path = _absolute(found.file, turn.working_dir) if found.file else None
        if role == "command":
            if kind == "shell" and found.code:
                return found.code
            if capability is not None and capability.command is not None:
                return capability.command.format(path=found.file or ".")
            return found.code
        if role == "path":
            if kind == "list_files":
                return turn.working_dir
            return path
        if role == "pattern":
            return "*" if kind == "list_files" else found.quoted
        if role == "url":
            return found.url
        if role == "query":
            return found.quoted or turn.request
        if role == "content":
            return found.quoted or (found.code if kind == "write_file" else None)
        return None

    # ---- the answer after tool results -----------------------------------------------------------

    def report(self, body: dict[str, Any], turn: Turn) -> str:
        """The final answer: what each result says, in the order the calls were made."""
        calls = _calls(body["messages"])
        tools = {t["name"]: t for t in body.get("tools") or () if isinstance(t.get("name"), str)}
        paragraphs = []
        for result in turn.results:
            call = calls.get(result["tool_use_id"], {"name": "the tool", "input": {}})
            tool = tools.get(call["name"], {"name": call["name"]})
            paragraphs.append(self._paragraph(tool, call, result))
        return "\n\n".join(paragraphs)

    def _paragraph(self, tool: dict[str, Any], call: dict[str, Any], result: dict[str, Any]) -> str:
        templates = self.results.templates
        output = self._output(result.get("content"))
        arguments = call["input"] if isinstance(call["input"], dict) else {}
        values = {
            "tool": str(call["name"]),
            "output": output,
            "command": next((str(v) for k, v in arguments.items() if self._roles.get(k) == "command"), ""),
            "path": next((str(v) for k, v in arguments.items() if self._roles.get(k) == "path"), "the file"),
        }
        if result.get("is_error"):
            return templates["error"].format_map(values)
        capability = self.capability_of(tool)
        kind = capability.name if capability is not None else None
        if kind == "shell":
            return templates["shell" if output else "shell_silent"].format_map(values)
        if kind == "read_file" and output:
            return templates["read_file"].format_map(values)
        if not output:
            return templates["empty"].format_map(values)
        return templates["generic_long" if "\n" in output else "generic"].format_map(values)

    def _output(self, content: Any) -> str:
        if isinstance(content, list):
            text = "\n".join(
                b["text"] if b.get("type") == "text" else json.dumps(b, ensure_ascii=False) for b in content
            )
        else:
            text = str(content or "")
        for pattern in self._harness:
            text = pattern.sub("", text)
        lines = text.strip("\n").splitlines()[: self.results.max_lines]
        return "\n".join(lines)[: self.results.max_chars].rstrip()


@dataclass(frozen=True, slots=True)
class _Found:
    """Values lifted from the request."""

    code: str | None
    file: str | None
    url: str | None
    quoted: str | None
    names: tuple[str, ...]

    @classmethod
    def of(cls, request: str) -> _Found:
        code = _BACKTICKED.search(request)
        url = _URL.search(request)
        quoted = _QUOTED.search(request)
        without_urls = _URL.sub(" ", request)
        file = next((f for f in _FILE.findall(_BACKTICKED.sub(" ", without_urls)) if not f.isdigit()), None)
        ids = [i for i in _ID.findall(without_urls) if any(c.isdigit() for c in i)]
        names = [n for n in _proper_nouns(without_urls) if n not in ids]
        return cls(
            code.group(1).strip() if code else None,
            file,
            url.group(0).rstrip(".,;:") if url else None,
            next((q for q in quoted.groups() if q), None) if quoted else None,
            tuple(dict.fromkeys([*ids, *names])),
        )


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _conversation_text(body: dict[str, Any]) -> Iterable[str]:
    system = body.get("system")
    if isinstance(system, str):
        yield system
    elif isinstance(system, list):
        yield from (b["text"] for b in system)
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            yield content
        elif message["role"] != "assistant":
            yield from (b["text"] for b in content if b["type"] == "text")


def _tool_text(tool: dict[str, Any]) -> str:
    """A tool's name, then the first sentence of its description, one per line."""
    description = str(tool.get("description") or "")[:_DESCRIPTION_CHARS]
    first = _FIRST_SENTENCE.match(description)
    return f"{tool.get('name', '')}\n{(first.group(1) if first else description).strip()}"


def _calls(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every tool_use block of the conversation by id."""
    found: dict[str, dict[str, Any]] = {}
    for message in messages:
        content = message["content"]
        if message["role"] == "assistant" and isinstance(content, list):
            for block in content:
                if block["type"] == "tool_use":
                    found[block["id"]] = block
    return found


def _proper_nouns(text: str) -> list[str]:
    """Capitalised words that do not open a sentence ("What is the weather in Paris?" -> Paris)."""
    found = []
    for sentence in _SENTENCE.findall(text):
        for word in _WORD.findall(sentence)[1:]:
            if word[:1].isupper() and word != "I" and "'" not in word:
                found.append(word)
    return found


def _is_string(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    return kind == "string" or (isinstance(kind, list) and "string" in kind)


def _absolute(path: str, working_dir: str | None) -> str:
    if path.startswith("/") or working_dir is None:
        return path
    return posixpath.normpath(posixpath.join(working_dir, path))
