"""The Messages API request body as typed data, validated the way the API does (strict, no extras).

`parse_create` / `parse_count` accept raw JSON bytes (the HTTP path: parsed and validated in one pass)
or an already decoded dict (the batch path) and return the body as plain dicts, or raise a 400
`EmulatorError` whose message names the field the way the API does: `messages.0.role: Input should
be 'user' or 'assistant'`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NotRequired, Required

from pydantic import ConfigDict, Discriminator, Tag, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic needs it before Python 3.12

from .errors import EmulatorError

#: Deeper JSON is refused: it only ever comes from a broken or hostile client.
MAX_DEPTH = 64
_STRICT = ConfigDict(extra="forbid", strict=True)
_LOOSE = ConfigDict(extra="allow", strict=True)


@with_config(_STRICT)
class CacheControl(TypedDict):
    type: Literal["ephemeral"]
    ttl: NotRequired[Literal["5m", "1h"]]


@with_config(_STRICT)
class TextBlock(TypedDict):
    type: Literal["text"]
    text: str
    cache_control: NotRequired[CacheControl | None]
    citations: NotRequired[list[dict[str, Any]] | None]


@with_config(_STRICT)
class ImageBlock(TypedDict):
    type: Literal["image"]
    source: dict[str, Any]
    cache_control: NotRequired[CacheControl | None]
    transformations: NotRequired[Any]


@with_config(_STRICT)
class DocumentBlock(TypedDict):
    type: Literal["document"]
    source: dict[str, Any]
    cache_control: NotRequired[CacheControl | None]
    citations: NotRequired[Any]
    context: NotRequired[str | None]
    title: NotRequired[str | None]


@with_config(_STRICT)
class SearchResultBlock(TypedDict):
    type: Literal["search_result"]
    content: list[TextBlock]
    source: str
    title: str
    cache_control: NotRequired[CacheControl | None]
    citations: NotRequired[Any]


@with_config(_STRICT)
class ThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


@with_config(_STRICT)
class RedactedThinkingBlock(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


@with_config(_STRICT)
class ToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    cache_control: NotRequired[CacheControl | None]
    caller: NotRequired[Any]
    toolset_name: NotRequired[Any]


#: Blocks produced by server tools, passed back as the API returned them: checked for their type only.
SERVER_BLOCK_TYPES = (
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "container_upload",
)


@with_config(_LOOSE)
class ServerBlock(TypedDict):
    type: Literal[SERVER_BLOCK_TYPES]  # type: ignore[valid-type]
    cache_control: NotRequired[CacheControl | None]


def _block_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str):
            return "~server" if kind in SERVER_BLOCK_TYPES else f"~{kind}"
    return None


def _content_tag(value: Any) -> str:
    return "~str" if isinstance(value, str) else "~list"


_NESTED_BLOCK_TYPES = ("text", "image", "document", "search_result")
NestedBlock = Annotated[
    Annotated[TextBlock, Tag("~text")]
    | Annotated[ImageBlock, Tag("~image")]
    | Annotated[DocumentBlock, Tag("~document")]
    | Annotated[SearchResultBlock, Tag("~search_result")],
    Discriminator(_block_tag, custom_error_type="block_type", custom_error_message="unknown block type"),
]


@with_config(_STRICT)
class ToolResultBlock(TypedDict):
    type: Literal["tool_result"]
    tool_use_id: str
    content: NotRequired[
        Annotated[
            Annotated[str, Tag("~str")] | Annotated[list[NestedBlock], Tag("~list")],
            Discriminator(_content_tag),
        ]
    ]
    is_error: NotRequired[bool]
    cache_control: NotRequired[CacheControl | None]
    toolset_name: NotRequired[Any]


BLOCK_TYPES = (
    *_NESTED_BLOCK_TYPES,
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_result",
    *SERVER_BLOCK_TYPES,
)
Block = Annotated[
    Annotated[TextBlock, Tag("~text")]
    | Annotated[ImageBlock, Tag("~image")]
    | Annotated[DocumentBlock, Tag("~document")]
    | Annotated[SearchResultBlock, Tag("~search_result")]
    | Annotated[ThinkingBlock, Tag("~thinking")]
    | Annotated[RedactedThinkingBlock, Tag("~redacted_thinking")]
    | Annotated[ToolUseBlock, Tag("~tool_use")]
    | Annotated[ToolResultBlock, Tag("~tool_result")]
    | Annotated[ServerBlock, Tag("~server")],
    Discriminator(_block_tag, custom_error_type="block_type", custom_error_message="unknown block type"),
]
Content = Annotated[
    Annotated[str, Tag("~str")] | Annotated[list[Block], Tag("~list")],
    Discriminator(_content_tag),
]


@with_config(_STRICT)
class Message(TypedDict):
    # "system" turns inside `messages` are a per-model rule (see `rules`), not a shape error.
    role: Literal["user", "assistant", "system"]
    content: Content


@with_config(_LOOSE)
class Tool(TypedDict, total=False):
    name: Required[str]
    type: str | None
    description: str
    input_schema: dict[str, Any]
    cache_control: CacheControl | None
    strict: bool


@with_config(_STRICT)
class ToolChoiceAuto(TypedDict):
    type: Literal["auto"]
    disable_parallel_tool_use: NotRequired[bool]


@with_config(_STRICT)
class ToolChoiceAny(TypedDict):
    type: Literal["any"]
    disable_parallel_tool_use: NotRequired[bool]


@with_config(_STRICT)
class ToolChoiceTool(TypedDict):
    type: Literal["tool"]
    name: str
    disable_parallel_tool_use: NotRequired[bool]


@with_config(_STRICT)
class ToolChoiceNone(TypedDict):
    type: Literal["none"]


ToolChoice = Annotated[
    ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone, Discriminator("type")
]


@with_config(_STRICT)
class Metadata(TypedDict, total=False):
    user_id: str | None


Display = Literal["summarized", "omitted"]


@with_config(_STRICT)
class ThinkingEnabled(TypedDict):
    type: Literal["enabled"]
    budget_tokens: int
    display: NotRequired[Display | None]


@with_config(_STRICT)
class ThinkingAdaptive(TypedDict):
    type: Literal["adaptive"]
    display: NotRequired[Display | None]
    block_binding: NotRequired[Any]


@with_config(_STRICT)
class ThinkingDisabled(TypedDict):
    type: Literal["disabled"]


@with_config(_STRICT)
class ThinkingBetweenTools(TypedDict):
    type: Literal["between_tools"]


Thinking = Annotated[
    ThinkingEnabled | ThinkingAdaptive | ThinkingDisabled | ThinkingBetweenTools, Discriminator("type")
]


@with_config(_STRICT)
class JsonSchemaFormat(TypedDict):
    type: Literal["json_schema"]
    schema: dict[str, Any]


@with_config(_STRICT)
class OutputConfig(TypedDict, total=False):
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None
    format: JsonSchemaFormat | None
    task_budget: Any


@with_config(_STRICT)
class CountBody(TypedDict, total=False):
    """POST /v1/messages/count_tokens."""

    model: Required[str]
    messages: Required[list[Message]]
    system: Annotated[
        Annotated[str, Tag("~str")] | Annotated[list[TextBlock], Tag("~list")], Discriminator(_content_tag)
    ]
    tools: list[Tool]
    tool_choice: ToolChoice
    cache_control: CacheControl | None
    thinking: Thinking
    output_config: OutputConfig
    context_management: dict[str, Any] | None
    mcp_servers: list[dict[str, Any]]
    speed: Literal["standard", "fast"] | None
    user_profile_id: str
    workspace_id: str
    # Beta features the emulator accepts and ignores.
    billing_policy: Any
    compaction: Any


@with_config(_STRICT)
class CreateBody(CountBody, total=False):
    """POST /v1/messages (and each request of a Message Batch)."""

    max_tokens: Required[int]
    stop_sequences: list[str]
    stream: bool
    metadata: Metadata
    temperature: float
    top_p: float
    top_k: int
    service_tier: Literal["auto", "standard_only"]
    container: Any
    diagnostics: Any
    inference_geo: str | None
    # Beta features the emulator accepts and ignores.
    thread: Any
    fallbacks: Any
    fallback_credit_token: Any


_CREATE: TypeAdapter[CreateBody] = TypeAdapter(CreateBody)
_COUNT: TypeAdapter[CountBody] = TypeAdapter(CountBody)


def parse_create(body: bytes | dict[str, Any]) -> dict[str, Any]:
    return _validate(_CREATE, body)


def parse_count(body: bytes | dict[str, Any]) -> dict[str, Any]:
    return _validate(_COUNT, body)


def _validate(adapter: TypeAdapter[Any], body: bytes | dict[str, Any]) -> dict[str, Any]:
    value = load_json(body) if isinstance(body, bytes | bytearray) else body
    if not isinstance(body, bytes | bytearray) and _too_deep(value):
        raise _unparsable(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return adapter.validate_python(value)  # type: ignore[no-any-return]
    except ValidationError as err:
        raise EmulatorError(400, "invalid_request_error", describe(err)) from None


def _unparsable(reason: str) -> EmulatorError:
    return EmulatorError(400, "invalid_request_error", f"There was an error parsing the body: {reason}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_json(raw: bytes | bytearray) -> Any:
    """Strict JSON (no NaN or Infinity), at most MAX_DEPTH levels deep; a 400 otherwise."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise _unparsable(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, NaN / Infinity
        raise _unparsable(str(err)) from None
    # Only a body with that many brackets can be that deep: most bodies skip the walk.
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _too_deep(value):
        raise _unparsable(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def describe(err: ValidationError) -> str:
    """The first error as `field.path: message`, the way the API words validation errors."""
    first = err.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return f"There was an error parsing the body: {first['msg']}"
    loc = [part for part in first["loc"] if not (isinstance(part, str) and part.startswith("~"))]
    where = ".".join(str(part) for part in loc)
    message = first["msg"]
    if first["type"] == "block_type":
        given = first["input"].get("type") if isinstance(first["input"], dict) else None
        expected = ", ".join(f"'{t}'" for t in BLOCK_TYPES)
        message = (
            f"Input tag {given!r} found using 'type' does not match any of the expected tags: {expected}"
            if isinstance(given, str)
            else "Input should be an object with a string 'type'"
        )
    return f"{where}: {message}" if where else message
