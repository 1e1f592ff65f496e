"""Constants and small helpers shared by the emulator's tests."""

from __future__ import annotations

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"
OPUS = "claude-opus-4-8"
API_KEY = "test-key"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]
