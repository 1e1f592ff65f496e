"""Structured output: with `output_config.format` the answer's text is JSON that validates against the
schema (checked here by a small validator of the keywords the emulator honours)."""

from __future__ import annotations

import json
import re
from typing import Any

import anthropic
import pytest
from anthropic.types import TextBlock

from .support import HAIKU, HAIKU_5, OPUS_5, user

TICKET = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "bug", "feature"]},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "urgent": {"type": "boolean"},
        "summary": {"type": "string", "minLength": 20, "maxLength": 60},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4},
        "customer": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"}},
            "required": ["name", "email"],
            "additionalProperties": False,
        },
        "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["category", "priority", "confidence", "urgent", "summary", "tags", "customer", "steps"],
    "additionalProperties": False,
    "$defs": {
        "step": {
            "type": "object",
            "properties": {"order": {"type": "integer", "minimum": 1}, "action": {"type": "string"}},
            "required": ["order", "action"],
        }
    },
}
_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def errors(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str = "$") -> list[str]:
    """Where `value` breaks `schema`: types, enums, required and extra properties, bounds, $ref, anyOf."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return errors(value, root["$defs"][name], root, where)
    if "anyOf" in schema:
        ok = any(not errors(value, option, root, where) for option in schema["anyOf"])
        return [] if ok else [f"{where}: matches no anyOf branch"]
    found: list[str] = []
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: not an integer"]
    elif kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            return [f"{where}: not a number"]
    elif kind is not None and not isinstance(value, _TYPES[kind]):
        return [f"{where}: not a {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: not in enum")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: below minimum")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: above maximum")
    if "minLength" in schema and len(value) < schema["minLength"]:
        found.append(f"{where}: too short")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        found.append(f"{where}: too long")
    if schema.get("format") == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", value):
        found.append(f"{where}: not an email")
    if kind == "array":
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            found.append(f"{where}: item count")
        for index, item in enumerate(value):
            found += errors(item, schema.get("items", {}), root, f"{where}[{index}]")
    if kind == "object":
        properties = schema.get("properties", {})
        found += [f"{where}.{name}: missing" for name in schema.get("required", []) if name not in value]
        if schema.get("additionalProperties") is False:
            found += [f"{where}.{name}: not allowed" for name in value if name not in properties]
        for name, item in value.items():
            if name in properties:
                found += errors(item, properties[name], root, f"{where}.{name}")
    return found


def test_the_validator_finds_breaks() -> None:
    assert errors({"category": "other"}, TICKET, TICKET)
    assert errors({"order": 0, "action": "x"}, TICKET["$defs"]["step"], TICKET)


@pytest.mark.parametrize("model", [HAIKU, HAIKU_5, OPUS_5])
@pytest.mark.parametrize(
    "text",
    ["Classify this ticket: 'I was charged twice for my order.'", "The export button crashes the app.", "Hi"],
)
async def test_the_answer_validates_against_the_schema(
    sdk: anthropic.AsyncAnthropic, model: str, text: str
) -> None:
    message = await sdk.messages.create(
        model=model,
        max_tokens=4_000,
        messages=user(text),
        output_config={"format": {"type": "json_schema", "schema": TICKET}},
    )

    block = message.content[-1]
    assert isinstance(block, TextBlock)
    value = json.loads(block.text)
    assert errors(value, TICKET, TICKET) == []
    assert message.stop_reason == "end_turn"


async def test_the_same_request_gets_the_same_json(sdk: anthropic.AsyncAnthropic) -> None:
    body: dict[str, Any] = {
        "model": HAIKU,
        "max_tokens": 500,
        "messages": user("Classify: 'refund please'"),
        "output_config": {"format": {"type": "json_schema", "schema": TICKET}},
    }
    first = await sdk.messages.create(**body)
    again = await sdk.messages.create(**body)

    assert first.content == again.content
