"""An agent's turn: a tool call only when the user asks for what a tool does, with arguments read
from the request, and a final answer built from the tool's result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from .support import API_KEY, OPUS_5, SONNET

WORKDIR = "/home/dev/project"
REMINDER = (
    "<system-reminder>\nToday is 2026-12-07. Use the Agent tool for broad searches.\n</system-reminder>"
)
PER_TURN_CONTROL = "per-turn-control-2026-07-01"


def tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"name": name, "description": description, "input_schema": schema}


STRING = {"type": "string"}
#: A coding agent's tools, described the way Claude Code describes them.
AGENT_TOOLS = [
    tool(
        "Agent",
        "Launch a new agent to handle complex, multi-step tasks. Each agent type has its own tools.",
        {"description": STRING, "prompt": STRING, "subagent_type": STRING},
        ["description", "prompt"],
    ),
    tool(
        "Bash",
        "Executes a bash command and returns its output.\n\n- Prefer absolute paths.",
        {
            "command": STRING,
            "timeout": {"type": "number"},
            "description": STRING,
            "run_in_background": {"type": "boolean"},
        },
        ["command"],
    ),
    tool(
        "Read",
        "Reads a file from the local filesystem.\n\n- `file_path` must be an absolute path.",
        {"file_path": STRING, "offset": {"type": "integer"}, "limit": {"type": "integer"}},
        ["file_path"],
    ),
    tool("Skill", "Invoke a skill.", {"skill": STRING, "args": STRING}, ["skill"]),
    tool(
        "Write",
        "Writes a file to the local filesystem, overwriting if one exists.",
        {"file_path": STRING, "content": STRING},
        ["file_path", "content"],
    ),
    {**tool("DeferredToolPlaceholder", "Never call this tool.", {}, []), "defer_loading": True},
]
WEATHER = tool("get_weather", "Current weather for a city.", {"city": STRING}, ["city"])
GLOB = tool("Glob", "Fast file pattern matching.", {"pattern": STRING, "path": STRING}, ["pattern"])


def agent_body(text: str, tools: list[dict[str, Any]] = AGENT_TOOLS, **extra: Any) -> dict[str, Any]:
    """A turn shaped like Claude Code's: reminders around the user's words, a system turn."""
    return {
        "model": OPUS_5,
        "max_tokens": 32_000,
        "system": [{"type": "text", "text": "You are an agent working with the user toward their goals."}],
        "tools": tools,
        "thinking": {"type": "adaptive", "display": "omitted"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": REMINDER}, {"type": "text", "text": text}]},
            {"role": "system", "content": f"# Environment\n - Primary working directory: {WORKDIR}\n"},
        ],
        **extra,
    }


@pytest.fixture
async def http(emulator_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    async with httpx2.AsyncClient(base_url=emulator_url, headers=headers) as client:
        yield client


async def create(http: httpx2.AsyncClient, body: dict[str, Any], betas: str = "") -> dict[str, Any]:
    response = await http.post("/v1/messages", json=body, headers={"anthropic-beta": betas} if betas else {})
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()
    return message


def calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in message["content"] if b["type"] == "tool_use"]


def text(message: dict[str, Any]) -> str:
    return "".join(b["text"] for b in message["content"] if b["type"] == "text")


async def test_a_greeting_is_answered_in_words(http: httpx2.AsyncClient) -> None:
    message = await create(http, agent_body("say hello"))

    assert message["stop_reason"] == "end_turn"
    assert calls(message) == []
    assert text(message).startswith("Hello")


@pytest.mark.parametrize(
    "request_text",
    ["What is 2+2?", "Tell me something interesting, number 3.", "Explain recursion briefly."],
)
async def test_an_agent_never_calls_a_tool_it_was_not_asked_for(
    http: httpx2.AsyncClient, request_text: str
) -> None:
    message = await create(http, agent_body(request_text))

    assert message["stop_reason"] == "end_turn"
    assert calls(message) == []


@pytest.mark.parametrize(
    ("request_text", "name", "arguments"),
    [
        ("run `echo hi` in the shell and tell me what it printed", "Bash", {"command": "echo hi"}),
        ("read the file notes.txt", "Read", {"file_path": f"{WORKDIR}/notes.txt"}),
        ("Show me the contents of /etc/hostname", "Read", {"file_path": "/etc/hostname"}),
        ("list the files here", "Bash", {"command": "ls"}),
        (
            'write "buy milk" to the file todo.txt',
            "Write",
            {"file_path": f"{WORKDIR}/todo.txt", "content": "buy milk"},
        ),
    ],
)
async def test_a_request_for_what_a_tool_does_calls_it_with_arguments_from_the_request(
    http: httpx2.AsyncClient, request_text: str, name: str, arguments: dict[str, Any]
) -> None:
    message = await create(http, agent_body(request_text))

    assert message["stop_reason"] == "tool_use"
    (call,) = calls(message)
    assert call["name"] == name
    assert call["input"] == arguments  # optional properties are left out


async def test_a_file_lister_is_preferred_to_the_shell(http: httpx2.AsyncClient) -> None:
    message = await create(http, agent_body("list the files here", [*AGENT_TOOLS, GLOB]))

    (call,) = calls(message)
    assert call["name"] == "Glob"
    assert call["input"] == {"pattern": "*", "path": WORKDIR}


async def test_a_tool_named_by_the_request_gets_its_proper_noun(http: httpx2.AsyncClient) -> None:
    body = {
        "model": SONNET,
        "max_tokens": 500,
        "system": "You are a travel assistant.",
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "What's the weather in Paris today?"}],
    }
    (call,) = calls(await create(http, body))

    assert call["input"] == {"city": "Paris"}


async def round_trip(http: httpx2.AsyncClient, request_text: str, result: dict[str, Any]) -> dict[str, Any]:
    body = agent_body(request_text)
    first = await create(http, body)
    (call,) = calls(first)
    body["messages"] += [
        {"role": "assistant", "content": first["content"]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call["id"], **result},
                {"type": "text", "text": REMINDER},
            ],
        },
    ]
    return await create(http, body)


async def test_the_answer_after_a_tool_result_reports_it(http: httpx2.AsyncClient) -> None:
    final = await round_trip(
        http, "run `echo hi` in the shell and tell me what it printed", {"content": "hi\n"}
    )

    assert final["stop_reason"] == "end_turn"
    assert calls(final) == []
    assert text(final) == "The command `echo hi` printed:\n\n```\nhi\n```"


async def test_a_file_read_is_quoted_in_the_answer(http: httpx2.AsyncClient) -> None:
    content = [{"type": "text", "text": "     1\tremember the milk\n     2\tand the eggs"}]
    final = await round_trip(http, "read the file notes.txt", {"content": content})

    assert "remember the milk" in text(final)
    assert f"{WORKDIR}/notes.txt" in text(final)


async def test_a_failed_tool_is_reported_not_retried(http: httpx2.AsyncClient) -> None:
    final = await round_trip(
        http, "read the file notes.txt", {"content": "File does not exist.", "is_error": True}
    )

    assert final["stop_reason"] == "end_turn"
    assert text(final) == "The Read call failed: File does not exist."


async def test_a_forced_tool_choice_still_calls(http: httpx2.AsyncClient) -> None:
    body = agent_body("say hello", [WEATHER], model="claude-opus-4-8", tool_choice={"type": "any"})
    del body["thinking"]  # forced tool use and thinking do not go together

    (call,) = calls(await create(http, body))
    assert call["name"] == "get_weather"


async def test_a_turn_may_carry_its_own_output_config_under_the_per_turn_beta(
    http: httpx2.AsyncClient,
) -> None:
    body = agent_body("say hello")
    body["messages"][1]["output_config"] = {"effort": "medium"}

    refused = await http.post("/v1/messages", json=body)
    accepted = await create(http, body, betas=f"claude-code-20250219,{PER_TURN_CONTROL}")

    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "messages.1.output_config: Extra inputs are not permitted"
    assert text(accepted).startswith("Hello")
