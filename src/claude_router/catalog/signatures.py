"""Thinking-block signatures: the ones that name the model which wrote them, and where to find
the signatures of a history or an answer.

The API's signatures are opaque, but bound to their model: another model drops the block unread.
The emulator signs its blocks with the writer's id inside (unless told to seal them), so a router
(and a test) can tell which model a conversation's reasoning belongs to; a signature of any other
form names no model, and the router remembers who wrote it when the answer passes through
(`routing/thinking_writers.py`), under its `digest`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

_PREFIX = "EmuSig"


def signature(model_id: str, material: str) -> str:
    """An opaque signature that names the model which wrote the block."""
    digest = hashlib.blake2b(f"{model_id}\n{material}".encode(), digest_size=24).digest()
    named = base64.urlsafe_b64encode(model_id.encode()).decode().rstrip("=")
    return f"{_PREFIX}.{named}.{base64.b64encode(digest).decode()}"


def origin(sig: str) -> str | None:
    """The model a signature names; None for a signature that names none."""
    parts = sig.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX:
        return None
    try:
        return base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def digest(sig: str) -> str:
    """A short key for a signature (they run to hundreds of bytes): 16 bytes of BLAKE2b, in hex."""
    return hashlib.blake2b(sig.encode(), digest_size=16).hexdigest()


def of_block(block: object) -> str | None:
    """What binds a thinking block to its model: a `thinking` block's signature, a
    `redacted_thinking` block's data; None for any other block."""
    if not isinstance(block, Mapping):
        return None
    kind = block.get("type")
    value = (
        block.get("signature")
        if kind == "thinking"
        else block.get("data")
        if kind == "redacted_thinking"
        else None
    )
    return value if isinstance(value, str) and value else None


def in_history(messages: Iterable[Any]) -> Iterator[str]:
    """The signatures of a conversation's assistant turns, latest first."""
    for message in reversed(list(messages)):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, list):
            for block in reversed(content):
                if (sig := of_block(block)) is not None:
                    yield sig


def in_content(content: Iterable[object]) -> tuple[str, ...]:
    """The signatures of an answer's content blocks (dicts, or the SDK's models)."""
    found = []
    for block in content:
        if not isinstance(block, Mapping) and hasattr(block, "model_dump"):
            block = block.model_dump()
        if (sig := of_block(block)) is not None:
            found.append(sig)
    return tuple(found)


def in_answer(body: bytes) -> tuple[str, ...]:
    """The signatures of a Message's JSON bytes; the body is parsed only when it holds one."""
    if b'"signature"' not in body and b'"redacted_thinking"' not in body:
        return ()
    try:
        message = json.loads(body)
    except ValueError:
        return ()
    content = message.get("content") if isinstance(message, dict) else None
    return in_content(content) if isinstance(content, list) else ()


__all__ = ["digest", "in_answer", "in_content", "in_history", "of_block", "origin", "signature"]
