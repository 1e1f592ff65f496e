"""Injected faults: per request by header, or at random (reproducibly) from `FaultConfig`.

Headers on a POST /v1/messages request:

    x-emulator-fault: 529 | 500 | 429 | drop    answer with that error, or drop the connection
                                                (after the first events when streaming)
    x-emulator-delay-ms: 300                    hold the answer this long first
    x-emulator-fault-attempts: 1                fault only the first N attempts (as counted by the
                                                SDK's x-stainless-retry-count), so a retry succeeds
    x-emulator-fault-model: claude-opus-4-8     fault only requests for models whose id starts so
                                                (a fallback to another model then succeeds)
    x-emulator-stop: refusal | pause_turn | model_context_window_exceeded
                                                answer (200) with that stop_reason: the reply stops
                                                halfway, without a tool call; a refusal carries
                                                stop_details {"type": "refusal", ...}

A request's headers take precedence over the random draw.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .config import FaultConfig
from .errors import EmulatorError

FaultKind = Literal["529", "500", "429", "drop"]
FAULT_HEADER = "x-emulator-fault"
DELAY_HEADER = "x-emulator-delay-ms"
ATTEMPTS_HEADER = "x-emulator-fault-attempts"
MODEL_HEADER = "x-emulator-fault-model"
RETRY_COUNT_HEADER = "x-stainless-retry-count"
STOP_HEADER = "x-emulator-stop"
STOPS = ("refusal", "pause_turn", "model_context_window_exceeded")
MAX_DELAY_MS = 600_000
_KINDS: tuple[FaultKind, ...] = ("529", "500", "429", "drop")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind | None = None
    delay_s: float = 0.0


NO_FAULT = Fault()


class FaultInjector:
    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)

    def draw(self, headers: Mapping[str, str], model: str = "") -> Fault:
        """The fault for one request (for `model`): the headers' if any, else a seeded draw. 400 on
        a bad header."""
        kind, delay_s = self._random() if self.config.enabled else (None, 0.0)
        header_kind = headers.get(FAULT_HEADER)
        if header_kind is not None:
            faulted = _attempt_faulted(headers) and model.startswith(headers.get(MODEL_HEADER, ""))
            kind = _kind(header_kind) if faulted else None
        header_delay = headers.get(DELAY_HEADER)
        if header_delay is not None:
            delay_s = _delay_ms(header_delay) / 1000.0
        return Fault(kind, delay_s) if kind or delay_s else NO_FAULT

    def _random(self) -> tuple[FaultKind | None, float]:
        c = self.config
        draw = self._rng.random()
        kind: FaultKind | None = None
        for candidate, probability in zip(
            _KINDS, (c.overloaded, c.api_error, c.rate_limited, c.drop), strict=True
        ):
            if draw < probability:
                kind = candidate
                break
            draw -= probability
        delayed = c.delay > 0 and self._rng.random() < c.delay
        return kind, (c.delay_ms / 1000.0 if delayed else 0.0)

    def error(self, kind: FaultKind) -> EmulatorError:
        """The error an injected 529 / 500 / 429 answers with."""
        if kind == "529":
            return EmulatorError(529, "overloaded_error", "Overloaded")
        if kind == "500":
            return EmulatorError(500, "api_error", "Internal server error")
        return EmulatorError(
            429,
            "rate_limit_error",
            "This request would exceed your organization's rate limit. Please try again later.",
            headers={"retry-after": str(self.config.retry_after_s)},
        )


def forced_stop(headers: Mapping[str, str]) -> str | None:
    """The stop_reason `x-emulator-stop` asks for (None without the header); 400 on a bad value."""
    value = headers.get(STOP_HEADER)
    if value is None:
        return None
    cleaned = value.strip().lower()
    if cleaned not in STOPS:
        raise EmulatorError(400, "invalid_request_error", f"{STOP_HEADER}: must be one of {', '.join(STOPS)}")
    return cleaned


def _kind(value: str) -> FaultKind:
    cleaned = value.strip().lower()
    for kind in _KINDS:
        if cleaned == kind:
            return kind
    raise EmulatorError(400, "invalid_request_error", f"{FAULT_HEADER}: must be one of {', '.join(_KINDS)}")


def _whole(value: str, limit: int) -> int | None:
    """A non-negative integer up to `limit`, or None."""
    cleaned = value.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > len(str(limit)):
        return None
    number = int(cleaned)
    return number if number <= limit else None


def _delay_ms(value: str) -> int:
    number = _whole(value, MAX_DELAY_MS)
    if number is None:
        raise EmulatorError(
            400,
            "invalid_request_error",
            f"{DELAY_HEADER}: must be a whole number of milliseconds up to {MAX_DELAY_MS}",
        )
    return number


def _attempt_faulted(headers: Mapping[str, str]) -> bool:
    raw = headers.get(ATTEMPTS_HEADER)
    if raw is None:
        return True
    attempts = _whole(raw, 1_000_000)
    if attempts is None:
        raise EmulatorError(400, "invalid_request_error", f"{ATTEMPTS_HEADER}: must be a whole number")
    retry = _whole(headers.get(RETRY_COUNT_HEADER, "0"), 1_000_000)
    return (retry or 0) < attempts
