"""An answer's `usage` read from its bytes: from the tail when it is the message's last field,
the same counts as parsing the whole document in every case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from claude_router.types import TokenUsage
from claude_router.upstream.client import _trailing_usage, usage_of

USAGE = {
    "input_tokens": 12,
    "output_tokens": 7,
    "cache_creation_input_tokens": 30,
    "cache_read_input_tokens": 4,
    "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20},
    "service_tier": "standard",
}
DECOY = {"input_tokens": 999, "output_tokens": 999}


def message(**extra: Any) -> dict[str, Any]:
    text = 'the answer quotes JSON: ,"usage":{"input_tokens":999}} and {"usage": 1}'
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        **extra,
    }


# (document, whether the tail holds the outermost usage)
CASES = [
    (json.dumps(message(usage=USAGE), separators=(",", ":")).encode(), True),
    (json.dumps(message(usage=USAGE), indent=2).encode() + b"\n", True),
    (json.dumps({"usage": USAGE}).encode(), True),
    # usage not last: a field after it
    (json.dumps(message(usage=USAGE, container=None)).encode(), False),
    # the last `"usage":` belongs to a nested object
    (json.dumps(message(usage=USAGE, extra={"usage": DECOY})).encode(), False),
    # a nested `"usage":` before the outermost one changes nothing
    (json.dumps(message(content=[{"type": "x", "usage": DECOY}], usage=USAGE)).encode(), True),
    # inside a key: the quote before it is escaped
    (json.dumps(message(usage=USAGE, **{'a"usage': DECOY})).encode(), False),
    # no usage at all
    (json.dumps(message()).encode(), False),
    (json.dumps(message(usage=None)).encode(), False),
]


@pytest.mark.parametrize(("content", "from_tail"), CASES)
def test_usage_read_from_the_tail_matches_the_whole_document(content: bytes, from_tail: bool) -> None:
    whole = json.loads(content)
    assert usage_of(content) == TokenUsage.from_api(whole.get("usage"))
    assert (_trailing_usage(content) is not None) is from_tail


def test_an_answer_that_is_not_json_still_fails() -> None:
    with pytest.raises(json.JSONDecodeError):
        usage_of(b'{"content": [}')
    with pytest.raises(UnicodeDecodeError):
        usage_of(b"\xff\xfe not json")
