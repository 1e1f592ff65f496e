"""Constants and small helpers shared by the emulator's tests."""

from __future__ import annotations

from datetime import date

#: The emulator's date in these tests: lifecycles are the catalogue's on this day, not today's.
TODAY = date(2026, 12, 7)

HAIKU = "claude-haiku-4-5"
SONNET = "claude-sonnet-4-6"
OPUS = "claude-opus-4-8"
HAIKU_5 = "claude-haiku-5-5"
SONNET_5 = "claude-sonnet-5-5"
OPUS_5 = "claude-opus-5-5"
API_KEY = "test-key"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]
