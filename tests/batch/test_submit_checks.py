"""`batch submit` checks every line as the API would before anything is queued: a line the API would
refuse is named with its number, and nothing is queued (not even a queue file is made)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_router.batch.request_check import MAX_REQUEST_BYTES
from cli_support import invoke


def ask(**fields: Any) -> dict[str, Any]:
    return {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **fields}


def test_every_line_the_api_would_refuse_is_named_and_nothing_is_queued(tmp_path: Path) -> None:
    lines = [
        ask(),  # 1: fine
        ask(model="claude-nope-9"),  # 2: well formed, unknown to the price sheet: the API's to judge
        ask(model="claude haiku"),  # 3: not a model id at all
        ask(max_tokens=0),  # 4
        ask(max_tokens=-5),  # 5
        {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]},  # 6: no max_tokens
        {"messages": [{"role": "user", "content": "hi"}]},  # 7: fine, the router picks the ceiling
        ask(messages=[{"role": "system", "content": "be brief"}]),  # 8
        ask(messages=[{"role": "user", "content": [{"text": "no type"}]}]),  # 9
        ask(temperature=1.5),  # 10
        ask(messages=[{"role": "user", "content": "x" * MAX_REQUEST_BYTES}]),  # 11: over the size limit
    ]
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))

    result = invoke("batch", "submit", str(source), home=tmp_path / "home")

    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "line 3: model 'claude haiku' is not a model id" in said
    assert "line 4: max_tokens: must be at least 1, got 0" in said
    assert "line 5: max_tokens: must be at least 1, got -5" in said
    assert "line 6: max_tokens: required for a request to a model (claude-haiku-4-5)" in said
    assert "line 8: messages.0.role: must be 'user' or 'assistant'" in said
    assert "line 9: messages.0.content.0: a content block needs a string 'type'" in said
    assert "line 10: temperature: must be a number from 0 to 1" in said
    assert f"line 11: the request is {len(json.dumps(lines[10]).encode()):,} bytes" in said
    assert all(f"line {n}:" not in said for n in (1, 2, 7))
    assert said.endswith("Nothing was enqueued.")
    assert not (tmp_path / "home").exists()  # no queue was even opened


def test_a_good_file_is_queued(tmp_path: Path) -> None:
    source = tmp_path / "requests.jsonl"
    source.write_text(json.dumps(ask(model="claude-nope-9")) + "\n" + json.dumps(ask()) + "\n")
    result = invoke("batch", "submit", str(source), "--json", home=tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accepted"] == 2
