"""Routing that respects what a request needs, effort on the ladder, and every request adapted to the
model it is sent to: all through the emulator, which refuses what a model does not take."""

from __future__ import annotations

import anthropic
import pytest

from claude_router.catalog.signatures import signature
from claude_router.config import Settings
from claude_router.routing.policy import Policy
from claude_router.types import ClassifierSource, Decision, Label, RequestMeta

from .conftest import COMPLEX, SIMPLE, RouterFactory, ask

LADDER_4 = {"simple": "claude-haiku-4-5", "moderate": "claude-sonnet-4-6", "complex": "claude-opus-4-8"}
PREFILL = [{"role": "user", "content": SIMPLE}, {"role": "assistant", "content": "The sentiment is"}]


# ---- effort on the ladder ---------------------------------------------------------------------


def test_each_label_maps_to_a_model_and_an_effort() -> None:
    policy = Policy(Settings().policy)
    routes = {
        label: policy.route(Decision(label, 1.0, ClassifierSource.LOCAL), RequestMeta(), {"messages": []})
        for label in Label
    }
    assert {label: (r.model, r.effort) for label, r in routes.items()} == {
        Label.SIMPLE: ("claude-haiku-5-5", "low"),
        Label.MODERATE: ("claude-sonnet-5-5", "medium"),
        Label.COMPLEX: ("claude-opus-5-5", "high"),
    }
    own = policy.route(
        Decision(Label.SIMPLE, 1.0, ClassifierSource.LOCAL),
        RequestMeta(),
        {"messages": [], "output_config": {"effort": "max"}},
    )
    assert own.effort == "max"  # the caller's own effort wins


def test_the_4x_ladder_is_one_line_away_and_has_no_efforts_of_its_own() -> None:
    policy = Settings(policy={"label_models": LADDER_4}).policy  # type: ignore[arg-type]
    assert dict(policy.label_models) == LADDER_4
    assert set(policy.label_efforts.values()) == {None}
    step = Settings(policy={"label_models": {"simple": {"model": "claude-haiku-5-5", "effort": "medium"}}})  # type: ignore[arg-type]
    assert (step.policy.label_models[Label.SIMPLE], step.policy.label_efforts[Label.SIMPLE]) == (
        "claude-haiku-5-5",
        "medium",
    )


async def test_the_effort_sent_is_recorded(make_router: RouterFactory) -> None:
    router = make_router()
    routed = await router.create(**ask(SIMPLE, max_tokens=2048))
    assert (routed.model_used, routed.record.effort) == ("claude-haiku-5-5", "low")


async def test_default_max_tokens_leave_room_for_an_answer_on_every_tier(make_router: RouterFactory) -> None:
    router = make_router()
    for text in (SIMPLE, COMPLEX):
        routed = await router.create(model="auto", messages=[{"role": "user", "content": text}])
        assert routed.text.strip(), routed.model_used
        assert routed.message.stop_reason == "end_turn"


async def test_a_small_max_tokens_turns_thinking_off_rather_than_answer_nothing(
    make_router: RouterFactory,
) -> None:
    router = make_router()
    routed = await router.create(**ask(SIMPLE, max_tokens=300))
    assert routed.text.strip()
    assert [b.type for b in routed.message.content] == ["text"]
    assert routed.record.adapted == ("thinking:disabled(max_tokens)",)
    short = await router.create(**ask(COMPLEX, max_tokens=64))  # Opus 5.5 always thinks
    assert short.route.reason == "label;needs:thinking.always_on"
    assert short.model_used == "claude-sonnet-5-5"
    assert short.text.strip()


# ---- requirements ------------------------------------------------------------------------------


async def test_a_prefilled_request_goes_only_to_a_model_that_takes_prefill(
    make_router: RouterFactory,
) -> None:
    router = make_router()
    routed = await router.create(model="auto", max_tokens=256, messages=PREFILL)
    assert routed.label is Label.SIMPLE
    assert routed.model_used == "claude-haiku-4-5"  # the nearest served model that continues a turn
    assert routed.route.reason == "label;needs:prefill"
    assert routed.text


async def test_a_prefilled_request_is_not_raced_on_a_model_that_refuses_prefill(
    make_router: RouterFactory,
) -> None:
    router = make_router()
    routed = await router.create(
        model="auto", max_tokens=256, messages=PREFILL, meta=RequestMeta(speculative=True)
    )
    assert (routed.model_used, routed.record.speculative) == ("claude-haiku-4-5", False)


async def test_adaptive_thinking_with_effort_skips_tiers_that_refuse_it(make_router: RouterFactory) -> None:
    router = make_router(policy={"label_models": LADDER_4})
    body = ask(SIMPLE, max_tokens=4096, thinking={"type": "adaptive"}, output_config={"effort": "xhigh"})
    routed = await router.create(**body)
    # Haiku 4.5 refuses adaptive thinking, Sonnet 4.6 the xhigh effort: Opus 4.8 takes both.
    assert (routed.label, routed.model_used) == (Label.SIMPLE, "claude-opus-4-8")
    assert routed.route.reason == "label;needs:thinking.adaptive"
    assert routed.record.adapted == ()


async def test_context_management_skips_a_tier_without_it(make_router: RouterFactory) -> None:
    router = make_router(policy={"label_models": LADDER_4})
    edits = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    routed = await router.create(**ask(SIMPLE, max_tokens=256, context_management=edits))
    # Haiku 4.5 takes no context management: the nearest tier that does, as written.
    assert (routed.label, routed.model_used) == (Label.SIMPLE, "claude-sonnet-4-6")
    assert routed.route.reason == "label;needs:context_management"
    assert routed.record.adapted == ()


async def test_fast_mode_is_served_where_its_beta_is_sent(make_router: RouterFactory) -> None:
    router = make_router(policy={"label_models": LADDER_4})
    fast = ask(SIMPLE, max_tokens=256, speed="fast")
    with_beta = await router.create(**fast, extra_headers={"anthropic-beta": "fast-mode-2026-02-01"})
    assert (with_beta.model_used, with_beta.route.reason) == ("claude-opus-4-8", "label;needs:speed.fast")
    assert with_beta.record.adapted == ()
    # Without its beta no tier takes it as written: the label's tier, with the speed dropped.
    without = await router.create(**fast)
    assert (without.model_used, without.route.reason) == ("claude-haiku-4-5", "label")
    assert without.record.adapted == ("speed:dropped",)


async def test_a_need_no_ladder_tier_meets_is_adapted_on_the_labels_tier(make_router: RouterFactory) -> None:
    router = make_router()
    budget = ask(COMPLEX, max_tokens=8192, thinking={"type": "enabled", "budget_tokens": 3000})
    routed = await router.create(**budget)
    assert (routed.model_used, routed.route.reason) == ("claude-opus-5-5", "label")
    assert routed.record.adapted == ("thinking:enabled>adaptive",)  # the ladder's effort stays


async def test_a_conversation_with_thinking_stays_on_the_model_that_wrote_it(
    make_router: RouterFactory,
) -> None:
    block = {"type": "thinking", "thinking": "", "signature": signature("claude-sonnet-5-5", "earlier")}
    messages = [
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": [block, {"type": "text", "text": "Hello! How can I help?"}]},
        {"role": "user", "content": COMPLEX},
    ]
    kept = await make_router().create(model="auto", max_tokens=4096, messages=messages)
    assert (kept.model_used, kept.route.reason) == ("claude-sonnet-5-5", "thinking_history:claude-sonnet-5-5")
    moved = await make_router(policy={"keep_thinking_model": False}).create(
        model="auto", max_tokens=4096, messages=messages
    )
    assert moved.model_used == "claude-opus-5-5"


# ---- adaptation on the way out -----------------------------------------------------------------


async def test_sampling_parameters_are_dropped_for_routed_requests(make_router: RouterFactory) -> None:
    routed = await make_router().create(**ask(SIMPLE, max_tokens=2048, temperature=0.2))
    assert routed.record.adapted == ("sampling:dropped",)


async def test_a_request_naming_its_model_goes_as_written(make_router: RouterFactory) -> None:
    router = make_router()
    with pytest.raises(anthropic.BadRequestError, match="temperature"):
        await router.create(**ask(SIMPLE, model="claude-haiku-5-5", temperature=0.2))
    assert router.recent[-1].adapted == ()
    routed = await router.create(**ask(SIMPLE, model="claude-haiku-5-5", max_tokens=2048))
    assert (routed.record.adapted, routed.record.effort) == ((), None)


async def test_a_speculative_leg_is_adapted_to_its_model(make_router: RouterFactory) -> None:
    router = make_router()
    routed = await router.create(
        **ask(SIMPLE, max_tokens=2048, temperature=0.3), meta=RequestMeta(speculative=True)
    )
    assert routed.record.speculative
    assert routed.record.adapted == ("sampling:dropped",)


def test_a_prompt_too_large_for_the_window_moves_to_a_model_whose_window_holds_it() -> None:
    policy = Policy(Settings(policy={"label_models": LADDER_4}).policy)  # type: ignore[arg-type]
    big = {"messages": [{"role": "user", "content": "word " * 250_000}], "max_tokens": 1024}
    route = policy.route(Decision(Label.SIMPLE, 1.0, ClassifierSource.LOCAL), RequestMeta(), big)
    # about 312,000 tokens: over Haiku 4.5's 200K window, inside Sonnet 4.6's 1M
    assert (route.model, route.reason) == ("claude-sonnet-4-6", "label;needs:context")


def test_a_need_never_moves_a_request_below_its_floor() -> None:
    policy = Policy(Settings().policy)
    forced = {"messages": [{"role": "user", "content": COMPLEX}], "tool_choice": {"type": "any"}}
    meta = RequestMeta(floor=Label.MODERATE)
    route = policy.route(Decision(Label.COMPLEX, 1.0, ClassifierSource.LOCAL), meta, forced)
    # Haiku 5.5 would take the forced tool choice as written, but it is below the floor: Opus 5.5
    # stays, and the upstream relaxes the tool choice for it.
    assert (route.model, route.reason) == ("claude-opus-5-5", "label")
