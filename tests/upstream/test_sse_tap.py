"""The tap's own reading of server-sent events: the rules of the format it relies on, without the
SDK's decoder (a gateway that only relays never loads the SDK)."""

from __future__ import annotations

import json

from claude_router.upstream.sse_tap import SSETap


def events(*chunks: bytes) -> SSETap:
    tap = SSETap(0.0)
    for chunk in chunks:
        tap.feed(chunk)
    tap.flush()
    return tap


START = json.dumps({"type": "message_start", "message": {"usage": {"input_tokens": 7, "output_tokens": 1}}})
DELTA = json.dumps(
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}
)


def test_comments_ids_and_unspaced_fields_are_read_as_the_format_says() -> None:
    tap = events(
        b": a keep-alive comment\n\n",
        b"id: 1\nevent:message_start\ndata:" + START.encode() + b"\n\n",
        b"retry: 100\nevent: message_delta\ndata: " + DELTA.encode() + b"\n\n",
        b"event: message_stop\ndata: {}\n\n",
    )
    assert tap.events == 3  # a comment alone is no event
    assert (tap.usage.input_tokens, tap.usage.output_tokens) == (7, 5)
    assert tap.accounting.stop_reason == "end_turn"
    assert tap.outcome is None


def test_data_over_several_lines_is_one_payload() -> None:
    head, tail = START.split(", ", 1)  # between two members, where a newline is only white space
    tap = events(f"event: message_start\ndata: {head},\ndata: {tail}\n\n".encode())
    assert tap.usage.input_tokens == 7


def test_an_error_event_keeps_its_type_and_data_as_sent() -> None:
    error = json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    tap = events(b"event: error\r\n", b"data: " + error.encode() + b"\r\n\r\n")
    assert tap.error_type == "overloaded_error"
    assert tap.error_data == error.encode()
    assert tap.outcome == "overloaded_error"


def test_a_malformed_event_is_counted_and_breaks_nothing() -> None:
    tap = events(b"event: message_start\ndata: {not json\n\n", b"event: message_stop\ndata: {}\n\n")
    assert tap.events == 2
    assert not tap.started
    assert tap.outcome is None  # message_stop came


def test_an_event_cut_off_by_the_end_of_the_stream_still_counts() -> None:
    tap = events(b"event: message_start\ndata: " + START.encode())
    assert tap.started
    assert tap.events == 1
    assert tap.outcome == "cancelled"  # no message_stop
