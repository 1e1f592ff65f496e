"""A queued request checked as the Messages API would check it, before anything is queued: a line
the API would refuse with a 400 is refused at `batch submit`, with its line number, instead of
failing hours later in a worker.

What is checked: the body's shape (messages and their roles and content, system, the sampling
fields), `max_tokens` (at least 1; required unless the router picks the model and its ceiling),
the model id's form, and the API's 32 MB limit on one request. Whether a model *exists* is not
checked here: a model the price sheet does not know yet may be new, and the API says so itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

AUTO = "auto"
ALIAS_PREFIX = "router:"
MAX_REQUEST_BYTES = 32 * 1024 * 1024  # the Messages API's limit on one request body
MAX_MODEL_ID = 256
ROLES = ("user", "assistant")


def model_id_problem(model: object) -> str | None:
    """Why `model` cannot be a model id or route at all (None: it can). The one check of a model
    id's form: whether such a model exists is the API's to say."""
    if not isinstance(model, str):
        return "model must be a string"
    if not model or len(model) > MAX_MODEL_ID or not model.isprintable() or any(c.isspace() for c in model):
        return f"model {model[:60]!r} is not a model id (1 to {MAX_MODEL_ID} printable characters, no spaces)"
    return None


def routed(model: str) -> bool:
    """Whether the router picks the model (and, when none is given, the answer's ceiling)."""
    return model == AUTO or model.startswith(ALIAS_PREFIX)


def request_problem(body: Mapping[str, Any], *, size_bytes: int | None = None) -> str | None:
    """The first reason the API would refuse `body` (a Messages API body), or None. `size_bytes`:
    the body's size as read (else it is measured)."""
    size = size_bytes if size_bytes is not None else _encoded_size(body)
    if size > MAX_REQUEST_BYTES:
        return f"the request is {size:,} bytes: the API takes at most {MAX_REQUEST_BYTES:,}"
    for check in (_model, _max_tokens, _messages, _system, _sampling):
        problem = check(body)
        if problem is not None:
            return problem
    return None


def _model(body: Mapping[str, Any]) -> str | None:
    return model_id_problem(body.get("model", AUTO))


def _max_tokens(body: Mapping[str, Any]) -> str | None:
    value = body.get("max_tokens")
    if value is None:
        model = body.get("model", AUTO)
        return None if routed(model) else f"max_tokens: required for a request to a model ({model})"
    if isinstance(value, bool) or not isinstance(value, int):
        return "max_tokens: must be an integer"
    return None if value >= 1 else f"max_tokens: must be at least 1, got {value}"


def _messages(body: Mapping[str, Any]) -> str | None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: a non-empty list is required"
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            return f"{where}: must be an object with role and content"
        if message.get("role") not in ROLES:
            return f"{where}.role: must be 'user' or 'assistant'"
        problem = _content(message.get("content"), f"{where}.content")
        if problem is not None:
            return problem
    return None


def _content(content: object, where: str) -> str | None:
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"{where}: must be a string or a list of content blocks"
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"{where}.{i}: a content block needs a string 'type'"
    return None


def _system(body: Mapping[str, Any]) -> str | None:
    system = body.get("system")
    if system is None or isinstance(system, str):
        return None
    return _content(system, "system") if isinstance(system, list) else "system: must be a string or a list"


def _sampling(body: Mapping[str, Any]) -> str | None:
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and (not _number(value) or not 0 <= value <= 1):
            return f"{name}: must be a number from 0 to 1"
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        return "top_k: must be a non-negative integer"
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        return "stop_sequences: must be a list of strings"
    if body.get("stream"):
        return "stream: batch requests cannot be streamed"
    return None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _encoded_size(body: Mapping[str, Any]) -> int:
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


__all__ = ["MAX_REQUEST_BYTES", "model_id_problem", "request_problem", "routed"]
