"""The relay keeps the SDK's retry contract exactly (`upstream/retry.py`).

The same fault scripts drive the official SDK's client and the gateway's byte relay
(`WireClient`) against the emulator, with the jitter drawn from the same seed on both sides: the
same attempts, the same waits between them, the same outcome. The rules themselves are checked
against the SDK's own methods, case by case.
"""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic._base_client import FinalRequestOptions

from claude_router.upstream import retry
from claude_router.upstream.attempts import CallTrace
from claude_router.upstream.client import attempt_body
from claude_router.upstream.wire import WireClient, WireConfig
from claude_router.upstream.wire_error import WireError

from .conftest import HAIKU, TEST_KEY

SEED = 20261207
MAX_RETRIES = 3
BODY = {"max_tokens": 16, "messages": [{"role": "user", "content": "Is 'Great blender.' positive?"}]}
Outcome = tuple[list[int | None], list[float], int | None]  # statuses (None: no answer), waits, final


@pytest.fixture
def seeded_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK and the relay each draw their jitter from a generator of the same seed."""
    monkeypatch.setattr("anthropic._base_client.random", random.Random(SEED).random)
    monkeypatch.setattr(retry, "random", random.Random(SEED).random)


async def through_sdk(url: str, script: dict[str, str]) -> Outcome:
    statuses: list[int | None] = []

    async def sent(request: httpx2.Request) -> None:
        statuses.append(None)  # stays None when no response comes

    async def answered(response: httpx2.Response) -> None:
        statuses[-1] = response.status_code

    waits: list[float] = []
    http = httpx2.AsyncClient(event_hooks={"request": [sent], "response": [answered]})
    client = anthropic.AsyncAnthropic(
        base_url=url, api_key=TEST_KEY, max_retries=MAX_RETRIES, default_headers=script, http_client=http
    )
    computed = client._calculate_retry_timeout

    def timed(*args: Any, **kwargs: Any) -> float:
        waits.append(computed(*args, **kwargs))
        return 0.0  # recorded, not slept

    client._calculate_retry_timeout = timed  # type: ignore[method-assign]
    final: int | None = 200
    async with client:
        try:
            await client.messages.create(**BODY, model=HAIKU)
        except anthropic.APIStatusError as exc:
            final = exc.status_code
        except anthropic.APIConnectionError:
            final = None
    return statuses, waits, final


async def through_relay(url: str, script: dict[str, str]) -> Outcome:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    wire = WireClient(WireConfig(url, TEST_KEY, max_retries=MAX_RETRIES, headers=script), sleep=sleep)
    trace = CallTrace()
    final: int | None = 200
    try:
        await wire.fetch(trace, HAIKU, attempt_body(BODY, HAIKU), {})
    except WireError as exc:
        final = exc.status
    finally:
        await wire.aclose()
    return [a.status for a in trace.attempts], waits, final


SCRIPTS = {
    "overloaded once": ({"x-emulator-fault": "529", "x-emulator-fault-attempts": "1"}, [529, 200]),
    "server errors twice": ({"x-emulator-fault": "500", "x-emulator-fault-attempts": "2"}, [500, 500, 200]),
    "rate limited throughout (retry-after)": ({"x-emulator-fault": "429"}, [429] * (MAX_RETRIES + 1)),
    # The emulator drops the connection after the headers, halfway through the body.
    "dropped connection once": ({"x-emulator-fault": "drop", "x-emulator-fault-attempts": "1"}, [200, 200]),
    "overloaded throughout": ({"x-emulator-fault": "529"}, [529] * (MAX_RETRIES + 1)),
    "a bad request": ({"x-emulator-stop": "not-a-stop"}, [400]),
}


@pytest.mark.parametrize("name", list(SCRIPTS))
async def test_the_relay_retries_as_the_sdk_does(emulator_url: str, seeded_jitter: None, name: str) -> None:
    script, statuses = SCRIPTS[name]
    sdk = await through_sdk(emulator_url, script)
    relay = await through_relay(emulator_url, script)
    assert sdk[0] == statuses
    assert relay == sdk
    assert sdk[2] == statuses[-1]


# ---- the rules, against the SDK's own methods ----------------------------------------------------

SDK = anthropic.AsyncAnthropic(api_key="unused", max_retries=MAX_RETRIES)
HINTS: list[dict[str, str]] = [{}, {"x-should-retry": "true"}, {"x-should-retry": "false"}]
STATUSES = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529]


@pytest.mark.parametrize("hint", HINTS, ids=["no hint", "true", "false"])
def test_which_statuses_are_retried(hint: dict[str, str]) -> None:
    for status in STATUSES:
        response = httpx2.Response(status, headers=hint)
        assert retry.should_retry(status, hint) is SDK._should_retry(response), status
    assert retry.should_retry_failure({"x-should-retry": "false"}) is False
    assert retry.should_retry_failure(None) is True


def _date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


WAITS: list[dict[str, str]] = [
    {},
    {"retry-after-ms": "1500"},
    {"retry-after": "3"},
    {"retry-after": "2.5"},
    {"retry-after": "0"},
    {"retry-after": "-4"},
    {"retry-after": "86400"},
    {"retry-after": "soon"},
    {"retry-after-ms": "x", "retry-after": "2"},
    {"retry-after-ms": "250", "retry-after": "9"},
]


@pytest.mark.parametrize("headers", WAITS, ids=[str(h) or "none" for h in WAITS])
def test_how_long_to_wait(monkeypatch: pytest.MonkeyPatch, headers: dict[str, str]) -> None:
    options = FinalRequestOptions.construct(method="post", url="/v1/messages")
    for taken in range(MAX_RETRIES + 5):  # past MAX_RETRY_DELAY_S too
        monkeypatch.setattr("anthropic._base_client.random", random.Random(taken).random)
        monkeypatch.setattr(retry, "random", random.Random(taken).random)
        expected = SDK._calculate_retry_timeout(MAX_RETRIES - taken, options, httpx2.Headers(headers))
        assert retry.retry_delay(taken, headers) == pytest.approx(expected), taken


def test_a_retry_after_date() -> None:
    later = retry.retry_after_s({"retry-after": _date(30)})
    assert later is not None
    assert 28 <= later <= 31
