"""A completed answer replayed as the Messages API's server-sent events, at the model's pace.

The sequence is the API's: message_start (empty content, stop_reason null), then per content block
content_block_start, a ping after the first, content_block_delta (text_delta; input_json_delta for
tool_use; thinking_delta then one signature_delta for thinking), content_block_stop; then
message_delta (stop_reason, stop_sequence, usage) and message_stop. Text is sent a few words per
delta. An omitted thinking block sends no thinking_delta, only its signature; its thinking tokens
pace the stream as if it had been written out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .tokens import text_tokens

_TEXT_PIECE = re.compile(r"\S+(?:\s+\S+){0,2}\s*|\s+")  # up to three words per text delta
JSON_PIECE_CHARS = 24


@dataclass(frozen=True, slots=True)
class Event:
    data: bytes  # the encoded `event: ...\ndata: ...\n\n` frame
    output_tokens: int  # the tokens this event carries, for pacing
    first_content: bool = False  # the first event after the model's time to first token


def frame(kind: str, payload: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


_PING = frame("ping", {"type": "ping"})


def events(message: dict[str, Any]) -> Iterator[Event]:
    """Every SSE event for `message` (a full Message object), in order."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {
        **message["usage"],
        "output_tokens": min(1, message["usage"]["output_tokens"]),
        "output_tokens_details": {"thinking_tokens": 0},
    }
    yield Event(frame("message_start", {"type": "message_start", "message": start}), 0)
    thinking_tokens = message["usage"]["output_tokens_details"]["thinking_tokens"]
    blocks = message["content"]
    thinking_blocks = sum(1 for b in blocks if b["type"] == "thinking") or 1
    for index, block in enumerate(blocks):
        if block["type"] == "thinking":
            yield from _thinking_events(index, block, thinking_tokens // thinking_blocks, first=index == 0)
        else:
            yield from _block_events(index, block, first=index == 0)
    usage = message["usage"]
    delta = {
        "type": "message_delta",
        "delta": {
            "stop_reason": message["stop_reason"],
            "stop_sequence": message["stop_sequence"],
            "stop_details": message["stop_details"],
        },
        "usage": {
            "input_tokens": usage["input_tokens"],
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
            "output_tokens": usage["output_tokens"],
            "output_tokens_details": usage["output_tokens_details"],
        },
    }
    yield Event(frame("message_delta", delta), 0, first_content=not message["content"])
    yield Event(frame("message_stop", {"type": "message_stop"}), 0)


def _block_events(index: int, block: dict[str, Any], *, first: bool) -> Iterator[Event]:
    if block["type"] == "tool_use":
        opening = {**block, "input": {}}
        pieces = _json_pieces(json.dumps(block["input"], separators=(",", ":")))
        delta_type, field = "input_json_delta", "partial_json"
    else:
        opening = {"type": "text", "text": ""}
        pieces = _TEXT_PIECE.findall(block["text"])
        delta_type, field = "text_delta", "text"
    start = {"type": "content_block_start", "index": index, "content_block": opening}
    yield Event(frame("content_block_start", start), 0, first_content=first)
    if first:  # the API pings once, right after the first block opens
        yield Event(_PING, 0)
    for piece in pieces:
        delta = {"type": "content_block_delta", "index": index, "delta": {"type": delta_type, field: piece}}
        yield Event(frame("content_block_delta", delta), text_tokens(piece))
    yield Event(frame("content_block_stop", {"type": "content_block_stop", "index": index}), 0)


def _thinking_events(index: int, block: dict[str, Any], tokens: int, *, first: bool) -> Iterator[Event]:
    opening = {"type": "thinking", "thinking": "", "signature": ""}
    start = {"type": "content_block_start", "index": index, "content_block": opening}
    yield Event(frame("content_block_start", start), 0, first_content=first)
    if first:
        yield Event(_PING, 0)
    pieces = _TEXT_PIECE.findall(block["thinking"])
    shown = 0
    for piece in pieces:
        shown += text_tokens(piece)
        delta = {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "thinking_delta", "thinking": piece},
        }
        yield Event(frame("content_block_delta", delta), text_tokens(piece))
    signed = {"type": "signature_delta", "signature": block["signature"]}
    # The unshown rest of the reasoning takes its time before the signature arrives.
    yield Event(
        frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": signed}),
        max(0, tokens - shown),
    )
    yield Event(frame("content_block_stop", {"type": "content_block_stop", "index": index}), 0)


def _json_pieces(text: str) -> list[str]:
    """The tool input as the API streams it: an empty first piece, then short fragments."""
    return ["", *(text[i : i + JSON_PIECE_CHARS] for i in range(0, len(text), JSON_PIECE_CHARS))]
