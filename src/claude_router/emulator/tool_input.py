"""Deterministic JSON instances of a JSON schema: a tool call's `input`, and the answer to a request
with structured output (`output_config.format`).

The instance validates against the schema: objects with their required properties (others on a
seeded coin flip), arrays within minItems / maxItems, enums and consts, strings within minLength /
maxLength and of a known format, numbers within their bounds, `$ref` to `$defs` / `definitions`,
`allOf` merged, the first branch of `anyOf` / `oneOf`. Schemas come from callers, so anything
malformed is tolerated: an unreadable part yields a string.
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


MAX_ITEMS = 3  # items drawn for an array without a tighter bound


def tool_input(schema: Any, rng: random.Random, hint: str) -> dict[str, Any]:
    """An object for `schema` (the tool's input_schema); words for strings come from `hint`."""
    value = json_instance(schema, rng, hint)
    return value if isinstance(value, dict) else {}


def json_instance(schema: Any, rng: random.Random, hint: str) -> Any:
    """A value that validates against `schema`; words for strings come from `hint`."""
    words = _WORD.findall(hint) or ["example"]
    return _Sampler(schema, rng, words).sample(schema, 0)


class _Sampler:
    def __init__(self, root: Any, rng: random.Random, words: list[str]) -> None:
        self.root = root
        self.rng = rng
        self.words = words

    def sample(self, schema: Any, depth: int) -> Any:
        rng, words = self.rng, self.words
        schema = self._resolved(schema)
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return rng.choice(words)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[rng.randrange(len(enum))]
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                merged = _merge(merged, self._resolved(part))
            return self.sample(merged, depth + 1)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return self.sample(options[0], depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        return _scalar(kind, schema, rng, words)

    def _resolved(self, schema: Any) -> Any:
        """`schema` with a local `$ref` (`#/$defs/name`, `#/definitions/name`) followed."""
        for _ in range(MAX_DEPTH):
            ref = schema.get("$ref") if isinstance(schema, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return schema
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            schema = target
        return schema

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        required = schema.get("required")
        # Only names count: a schema may list anything here (`[["a"]]`), and the API does not check.
        wanted = {n for n in required if isinstance(n, str)} if isinstance(required, list) else set()
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in wanted or self.rng.random() < 0.5:
                out[str(name)] = self.sample(sub, depth + 1)
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        low = max(0, int(_bound(schema, "minItems", 1)))
        high = max(low, int(_bound(schema, "maxItems", max(low, MAX_ITEMS))))
        count = max(low, min(high, 1 + self.rng.randrange(MAX_ITEMS)))
        return [self.sample(schema.get("items"), depth + 1) for _ in range(count)]


def _merge(base: dict[str, Any], extra: Any) -> dict[str, Any]:
    if not isinstance(extra, dict):
        return base
    merged = {**base, **extra}
    for key in ("properties",):
        if isinstance(base.get(key), dict) and isinstance(extra.get(key), dict):
            merged[key] = {**base[key], **extra[key]}
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = [*base["required"], *extra["required"]]
    return merged


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
        first = math.ceil(_bound(schema, "minimum", _bound(schema, "exclusiveMinimum", 0) + 1))
        last = math.floor(_bound(schema, "maximum", _bound(schema, "exclusiveMaximum", first + 100) - 1))
        return rng.randint(first, max(first, last))
    if kind == "number":
        low = _bound(schema, "minimum", _bound(schema, "exclusiveMinimum", -0.01) + 0.01)
        high = _bound(schema, "maximum", _bound(schema, "exclusiveMaximum", low + 100.01) - 0.01)
        return min(max(round(rng.uniform(low, max(low, high)), 2), low), max(low, high))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    return _string(rng.choice(words), schema, words)


def _string(text: str, schema: dict[str, Any], words: list[str]) -> str:
    """`text` grown with words to `minLength` and cut to `maxLength`."""
    low = int(_bound(schema, "minLength", 0))
    high = int(_bound(schema, "maxLength", max(low, len(text), 1)))
    index = 0
    while len(text) < low:
        text = f"{text} {words[index % len(words)]}"
        index += 1
    return text[: max(high, low)]
