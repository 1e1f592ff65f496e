"""A deterministic `input` for a tool call, drawn from the tool's JSON schema.

Schemas come from callers, so anything malformed is tolerated: an unreadable part yields a string.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

MAX_DEPTH = 4
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_FORMATS = {
    "date": "2025-06-30",
    "date-time": "2025-06-30T12:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def tool_input(schema: Any, rng: random.Random, hint: str) -> dict[str, Any]:
    """An object for `schema` (the tool's input_schema); words for strings come from `hint`."""
    words = _WORD.findall(hint) or ["example"]
    value = _sample(schema, rng, words, 0)
    return value if isinstance(value, dict) else {}


def _sample(schema: Any, rng: random.Random, words: list[str], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return rng.choice(words)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[rng.randrange(len(enum))]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _sample(options[0], rng, words, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
        return _object(schema, rng, words, depth)
    if kind == "array":
        return [_sample(schema.get("items"), rng, words, depth + 1)]
    return _scalar(kind, schema, rng, words)


def _object(schema: dict[str, Any], rng: random.Random, words: list[str], depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    # Only names count: a schema may list anything here (`[["a"]]`), and the API does not check.
    wanted = {name for name in required if isinstance(name, str)} if isinstance(required, list) else set()
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        if name in wanted or rng.random() < 0.5:
            out[str(name)] = _sample(sub, rng, words, depth + 1)
    return out


def _bound(schema: dict[str, Any], key: str, default: float) -> float:
    value = schema.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range
        return default
    return min(max(number, -1e15), 1e15) if math.isfinite(number) else default


def _scalar(kind: Any, schema: dict[str, Any], rng: random.Random, words: list[str]) -> Any:
    if kind == "integer":
        first = int(_bound(schema, "minimum", 1))
        return rng.randint(first, max(first, int(_bound(schema, "maximum", first + 99))))
    if kind == "number":
        low = _bound(schema, "minimum", 0.0)
        return round(rng.uniform(low, max(low, _bound(schema, "maximum", low + 100.0))), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    return rng.choice(words)
