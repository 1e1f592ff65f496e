"""The emulator's token estimate: deterministic, documented, and the same for usage and count_tokens.

    text                    ceil(characters / 4)
    each message            + 4 (role and turn framing)
    each request            + 3
    a tool definition       text of its name, description and JSON input schema, + 8
    a tool_use block        text of its name and JSON input
    a tool_result block     its content (text, or nested blocks)
    an image                1,600 (the API's cost of a ~1.15-megapixel image)
    a document              its text (text / content sources), else 1,600 for a PDF, URL or file
    any other block         its JSON text

Output tokens use the same text rule, so a 400-character answer is 100 tokens and `max_tokens = n`
allows exactly `4 * n` characters. These are the counts of Haiku 4.5's tokenizer; a model of another
tokenizer generation counts each segment (and its output) times its catalogue `token_ratio`, rounded
up: Claude 4.7 and later count the same text as about 1.3x as many tokens.

The request is cut into segments (one per tool, system block and message block, in the API's
prefix order tools → system → messages) so the prompt cache can price any prefix; the segments plus
the request overhead sum to the total.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

CHARS_PER_TOKEN = 4
REQUEST_TOKENS = 3
MESSAGE_TOKENS = 4
TOOL_TOKENS = 8
IMAGE_TOKENS = 1_600
DOCUMENT_TOKENS = 1_600


def text_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def scaled(tokens: int, ratio: Fraction) -> int:
    """`tokens` of Haiku 4.5's tokenizer as another generation counts them (rounded up)."""
    if ratio == 1:
        return tokens
    return -(-tokens * ratio.numerator // ratio.denominator)


def chars_within(tokens: int, ratio: Fraction) -> int:
    """The most characters whose count under `ratio` stays within `tokens`."""
    return (tokens * ratio.denominator // ratio.numerator) * CHARS_PER_TOKEN


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Segment:
    """One cacheable unit of the prompt: a tool, a system block or a message block."""

    tokens: int
    block: Any  # the JSON value hashed for the prompt cache
    cache_ttl: str | None  # "5m" or "1h" when the block carries a cache_control breakpoint


def block_tokens(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return text_tokens(block["text"])
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        return _document_tokens(block)
    if kind == "tool_use":
        return text_tokens(block["name"] + _json_text(block["input"]))
    if kind == "tool_result":
        return content_tokens(block.get("content", ""))
    if kind == "thinking":
        return text_tokens(block["thinking"])
    if kind == "search_result":
        texts = "".join(b["text"] for b in block["content"])
        return text_tokens(block["title"] + block["source"] + texts)
    return text_tokens(_json_text(block))


def content_tokens(content: str | list[dict[str, Any]]) -> int:
    if isinstance(content, str):
        return text_tokens(content)
    return sum(block_tokens(b) for b in content)


def tool_tokens(tool: dict[str, Any]) -> int:
    if tool.get("type") in (None, "custom"):
        text = tool["name"] + str(tool.get("description") or "") + _json_text(tool.get("input_schema"))
    else:  # a server tool: its whole definition
        text = _json_text(tool)
    return text_tokens(text) + TOOL_TOKENS


def _document_tokens(block: dict[str, Any]) -> int:
    """A document's text where its source has one; a document source is free-form JSON."""
    source = block["source"]
    extra = text_tokens(str(block.get("title") or "") + str(block.get("context") or ""))
    data, content = source.get("data"), source.get("content")
    if source.get("type") == "text" and isinstance(data, str):
        return extra + text_tokens(data)
    if source.get("type") == "content" and isinstance(content, str):
        return extra + text_tokens(content)
    if source.get("type") == "content" and isinstance(content, list):
        texts = (b.get("text") for b in content if isinstance(b, dict))
        return extra + sum(text_tokens(t) for t in texts if isinstance(t, str))
    return extra + DOCUMENT_TOKENS


def _ttl(block: dict[str, Any]) -> str | None:
    control = block.get("cache_control")
    if control is None:
        return None
    return str(control.get("ttl", "5m"))


def segments(body: dict[str, Any], ratio: Fraction = Fraction(1)) -> list[Segment]:
    """The prompt's segments in prefix order (tools, system, messages); see the module docstring."""
    out = _segments(body)
    if ratio == 1:
        return out
    return [Segment(scaled(s.tokens, ratio), s.block, s.cache_ttl) for s in out]


def _segments(body: dict[str, Any]) -> list[Segment]:
    out: list[Segment] = []
    for tool in body.get("tools") or ():
        out.append(Segment(tool_tokens(tool), tool, _ttl(tool)))
    system = body.get("system")
    if isinstance(system, str):
        if system:
            out.append(Segment(text_tokens(system), system, None))
    elif system:
        out.extend(Segment(block_tokens(b), b, _ttl(b)) for b in system)
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            out.append(Segment(MESSAGE_TOKENS + text_tokens(content), message, None))
            continue
        for index, block in enumerate(content):
            if index == 0:  # the turn's framing (and its role) belongs to its first block
                out.append(
                    Segment(MESSAGE_TOKENS + block_tokens(block), [message["role"], block], _ttl(block))
                )
            else:
                out.append(Segment(block_tokens(block), block, _ttl(block)))
    return out


def total_tokens(parts: list[Segment]) -> int:
    return REQUEST_TOKENS + sum(s.tokens for s in parts)
