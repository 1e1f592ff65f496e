"""Each model a call tries gets the body adapted to it: the routed model, then every fallback (the
emulator refuses what a model does not take, so an unadapted fallback would be a 400)."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from .conftest import OPUS, UpstreamFactory, ask, fault_on

OLD_HAIKU = "claude-haiku-4-5"
# Written for Opus 5.5: adaptive thinking at xhigh, Claude Code's context management, geo.
FOR_OPUS: dict[str, Any] = {
    "thinking": {"type": "adaptive"},
    "output_config": {"effort": "xhigh"},
    "context_management": {"edits": []},
    "inference_geo": "us",
}
TO_OLD_HAIKU = (
    "thinking:adaptive>enabled",
    "effort:dropped",
    "context_management:dropped",
    "inference_geo:dropped",
)


async def test_a_fallback_from_opus_5_5_to_haiku_4_5_is_adapted_again(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0)
    body = ask(max_tokens=8192, extra_headers=fault_on(OPUS, "529"), **FOR_OPUS)
    result = await upstream.create(body, model=OPUS, fallbacks=(OLD_HAIKU,))
    assert (result.model_used, result.fallback) == (OLD_HAIKU, True)
    assert result.adapted == TO_OLD_HAIKU
    assert result.effort is None
    assert [b.type for b in result.message.content][-1] == "text"


async def test_a_streamed_fallback_is_adapted_too(make_upstream: UpstreamFactory) -> None:
    upstream = make_upstream(max_retries=0)
    overload = {"x-emulator-fault": "529", "x-emulator-fault-model": OPUS}
    stream = upstream.relay_stream(
        ask(max_tokens=8192, **FOR_OPUS), model=OPUS, fallbacks=(OLD_HAIKU,), headers=overload
    )
    await stream.open()
    try:
        chunks = [chunk async for chunk in stream.chunks()]
    finally:
        await stream.aclose()
    result = stream.result()
    assert chunks
    assert (result.model_used, result.adapted) == (OLD_HAIKU, TO_OLD_HAIKU)


async def test_the_routed_model_itself_gets_the_body_as_written_when_it_takes_it(
    make_upstream: UpstreamFactory,
) -> None:
    upstream = make_upstream()
    result = await upstream.create(ask(max_tokens=8192, **FOR_OPUS), model=OPUS)
    assert (result.adapted, result.effort) == ((), "xhigh")


async def test_as_written_sends_the_body_unchanged_and_the_api_says_no(
    make_upstream: UpstreamFactory,
) -> None:
    upstream = make_upstream()
    with pytest.raises(anthropic.BadRequestError, match="adaptive"):
        await upstream.create(ask(max_tokens=8192, **FOR_OPUS), model=OLD_HAIKU, as_written=True)
