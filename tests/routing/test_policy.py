"""Policy: the label map, every override, their precedence, aliases and loading from TOML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_router.catalog.pricing import PriceTable
from claude_router.config import AliasSettings, PolicySettings, RuleSettings, Settings
from claude_router.errors import ConfigError, UnknownModelError
from claude_router.routing.policy import ModelArgKind, Policy
from claude_router.types import ClassifierSource, Decision, Label, RequestMeta

HAIKU, SONNET, OPUS = "claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"
CHAIN = (OPUS, SONNET, HAIKU)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
AUTO: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": "hi"}]}


def decided(label: Label) -> Decision:
    return Decision(label, 0.9, ClassifierSource.LLM)


def meta(**fields: Any) -> RequestMeta:
    if "tags" in fields:
        fields["tags"] = frozenset(fields["tags"])
    return RequestMeta(**fields)


def policy(**settings: Any) -> Policy:
    return Policy(PolicySettings(**settings), PriceTable.default(), fallback_chain=CHAIN)


NIGHT_BATCH = RuleSettings(name="night-batch", model=HAIKU, tags=["background"], window="22:00-06:00")


# ---- the label map ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "model", "fallbacks", "max_tokens"),
    [
        (Label.SIMPLE, HAIKU, (), 2048),
        (Label.MODERATE, SONNET, (HAIKU,), 4096),
        (Label.COMPLEX, OPUS, (SONNET, HAIKU), 8192),
    ],
)
def test_label_map(label: Label, model: str, fallbacks: tuple[str, ...], max_tokens: int) -> None:
    route = policy().route(decided(label), meta(), AUTO, now=NOON)
    assert (route.model, route.fallbacks, route.max_tokens) == (model, fallbacks, max_tokens)
    assert route.label is label
    assert route.reason == "label"
    assert route.alias is None


def test_max_tokens_default_only_when_the_caller_gives_none() -> None:
    route = policy().route(decided(Label.COMPLEX), meta(), {**AUTO, "max_tokens": 64}, now=NOON)
    assert route.max_tokens is None
    custom = policy(max_tokens={Label.SIMPLE: 32})  # a partial table keeps the other ceilings
    assert custom.route(decided(Label.SIMPLE), meta(), AUTO, now=NOON).max_tokens == 32
    assert custom.route(decided(Label.MODERATE), meta(), AUTO, now=NOON).max_tokens == 4096


def test_fallbacks_for_a_model_outside_the_chain_stay_at_or_below_its_tier() -> None:
    p = policy(label_models={Label.MODERATE: "claude-sonnet-4-5-20250929"})
    route = p.route(decided(Label.MODERATE), meta(), AUTO, now=NOON)
    assert route.model == "claude-sonnet-4-5-20250929"
    assert route.fallbacks == (SONNET, HAIKU)


def test_fallbacks_exclude_the_routed_family_under_another_id() -> None:
    p = Policy(PolicySettings(), fallback_chain=(OPUS, "claude-haiku-5-5-20261007", SONNET, HAIKU))
    route = p.route(decided(Label.SIMPLE), meta(), AUTO, now=NOON)
    assert route.fallbacks == (SONNET,)


# ---- force_model and concrete models ---------------------------------------------------------


def test_force_model_beats_floor_rules_and_label() -> None:
    p = policy(rules=[RuleSettings(name="all-haiku", model=HAIKU)])
    forced = meta(force_model=OPUS, floor=Label.COMPLEX, tags={"background"})
    route = p.route(decided(Label.SIMPLE), forced, AUTO, now=NOON)
    assert (route.model, route.reason, route.fallbacks) == (OPUS, "force_model", ())
    cheap = p.route(decided(Label.COMPLEX), meta(force_model=HAIKU, floor=Label.COMPLEX), AUTO, now=NOON)
    assert (cheap.model, cheap.max_tokens) == (HAIKU, 2048)  # the ceiling of the model's tier


def test_request_force_beats_alias_force() -> None:
    p = policy(aliases={"cheap": AliasSettings(force_model=HAIKU)})
    assert p.route(decided(Label.COMPLEX), meta(), AUTO, alias="cheap", now=NOON).model == HAIKU
    route = p.route(decided(Label.SIMPLE), meta(force_model=SONNET), AUTO, alias="cheap", now=NOON)
    assert (route.model, route.alias) == (SONNET, "cheap")


def test_unknown_force_model_fails_before_any_call() -> None:
    with pytest.raises(UnknownModelError, match="claude-opus-9"):
        policy().route(decided(Label.SIMPLE), meta(force_model="claude-opus-9"), AUTO, now=NOON)


def test_concrete_model_bypasses_routing() -> None:
    p = policy(rules=[RuleSettings(name="all-haiku", model=HAIKU)], tag_floors={"vip": Label.COMPLEX})
    params = {"model": "claude-opus-4-20250514", "max_tokens": 100}
    route = p.route(None, meta(tags={"vip"}), params, now=NOON)
    assert (route.model, route.reason, route.fallbacks, route.label) == (
        params["model"],
        "concrete_model",
        (),
        None,
    )
    assert route.max_tokens is None
    assert p.route(None, meta(), {"model": SONNET}, now=NOON).max_tokens == 4096


def test_no_decision_for_auto_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="needs a classifier Decision"):
        policy().route(None, meta(), AUTO, now=NOON)


# ---- floors ----------------------------------------------------------------------------------


def test_request_floor_raises_the_route() -> None:
    route = policy().route(decided(Label.SIMPLE), meta(floor=Label.MODERATE), AUTO, now=NOON)
    assert (route.model, route.reason, route.label) == (SONNET, "floor:request", Label.SIMPLE)
    assert route.max_tokens == 2048  # ceilings follow the label
    above = policy().route(decided(Label.COMPLEX), meta(floor=Label.MODERATE), AUTO, now=NOON)
    assert (above.model, above.reason) == (OPUS, "label")


def test_tag_floor_customer_facing_by_default() -> None:
    route = policy().route(decided(Label.SIMPLE), meta(tags={"customer_facing"}), AUTO, now=NOON)
    assert (route.model, route.reason) == (SONNET, "floor:tag:customer_facing")


def test_strongest_floor_wins() -> None:
    p = policy(
        tag_floors={"customer_facing": Label.MODERATE, "legal": Label.COMPLEX},
        aliases={"support": AliasSettings(floor=Label.MODERATE)},
    )
    m = meta(tags={"customer_facing", "legal"}, floor=Label.MODERATE)
    route = p.route(decided(Label.SIMPLE), m, AUTO, alias="support", now=NOON)
    assert (route.model, route.reason) == (OPUS, "floor:tag:legal")
    route = p.route(decided(Label.SIMPLE), meta(floor=Label.COMPLEX), AUTO, alias="support", now=NOON)
    assert (route.model, route.reason) == (OPUS, "floor:request")


def test_floor_is_met_by_tier_not_by_label_name() -> None:
    # A map that sends moderate work to Haiku cannot satisfy a moderate floor with it.
    p = policy(label_models={Label.MODERATE: HAIKU})
    assert p.route(decided(Label.MODERATE), meta(), AUTO, now=NOON).model == HAIKU
    route = p.route(decided(Label.MODERATE), meta(floor=Label.MODERATE), AUTO, now=NOON)
    assert (route.model, route.reason) == (OPUS, "floor:request")  # the next label model at that tier
    p = policy(label_models={Label.MODERATE: HAIKU, Label.COMPLEX: HAIKU})
    route = p.route(decided(Label.SIMPLE), meta(floor=Label.MODERATE), AUTO, now=NOON)
    assert route.model == PriceTable.default().tier_model("sonnet")  # none in the map: the tier's own model


# ---- rules and time windows ------------------------------------------------------------------


def test_tag_rule_forces_a_model() -> None:
    p = policy(rules=[RuleSettings(name="bg", model=HAIKU, tags=["background", "nightly"])])
    route = p.route(decided(Label.COMPLEX), meta(tags={"nightly"}), AUTO, now=NOON)
    assert (route.model, route.reason, route.max_tokens) == (HAIKU, "rule:bg", 8192)
    assert p.route(decided(Label.COMPLEX), meta(tags={"other"}), AUTO, now=NOON).model == OPUS


@pytest.mark.parametrize(
    ("hour", "minute", "inside"),
    [
        (22, 0, True),
        (23, 59, True),
        (0, 0, True),
        (5, 59, True),
        (6, 0, False),
        (12, 0, False),
        (21, 59, False),
    ],
)
def test_window_wraps_midnight(hour: int, minute: int, inside: bool) -> None:
    p = policy(rules=[RuleSettings(name="night", model=HAIKU, window="22:00-06:00")])
    now = datetime(2026, 3, 2, hour, minute, 30, tzinfo=UTC)
    route = p.route(decided(Label.MODERATE), meta(), AUTO, now=now)
    assert route.model == (HAIKU if inside else SONNET)


@pytest.mark.parametrize(("hour", "inside"), [(8, False), (9, True), (16, True), (17, False)])
def test_window_within_a_day(hour: int, inside: bool) -> None:
    p = policy(rules=[RuleSettings(name="office", model=OPUS, window="09:00-17:00")])
    route = p.route(decided(Label.SIMPLE), meta(), AUTO, now=NOON.replace(hour=hour))
    assert route.model == (OPUS if inside else HAIKU)  # a rule may force a dearer model too


def test_window_reads_the_time_in_utc() -> None:
    p = policy(rules=[RuleSettings(name="night", model=HAIKU, window="22:00-06:00")])
    # 01:00 in UTC+3 is 22:00 UTC: inside; 23:00 in UTC+3 is 20:00 UTC: outside.
    plus3 = timezone(timedelta(hours=3))
    assert (
        p.route(decided(Label.COMPLEX), meta(), AUTO, now=datetime(2026, 1, 1, 1, tzinfo=plus3)).model
        == HAIKU
    )
    assert (
        p.route(decided(Label.COMPLEX), meta(), AUTO, now=datetime(2026, 1, 1, 23, tzinfo=plus3)).model
        == OPUS
    )
    naive_night = datetime(2026, 1, 1, 23, 0)  # taken as UTC
    assert p.route(decided(Label.COMPLEX), meta(), AUTO, now=naive_night).model == HAIKU


def test_tags_and_window_must_both_match() -> None:
    p = policy(rules=[NIGHT_BATCH])
    night = NOON.replace(hour=23)
    assert p.route(decided(Label.COMPLEX), meta(tags={"background"}), AUTO, now=night).model == HAIKU
    assert p.route(decided(Label.COMPLEX), meta(tags={"background"}), AUTO, now=NOON).model == OPUS
    assert p.route(decided(Label.COMPLEX), meta(), AUTO, now=night).model == OPUS


def test_first_matching_rule_wins() -> None:
    p = policy(
        rules=[
            RuleSettings(name="first", model=SONNET, tags=["a"]),
            RuleSettings(name="second", model=HAIKU, tags=["a", "b"]),
        ]
    )
    assert p.route(decided(Label.COMPLEX), meta(tags={"a", "b"}), AUTO, now=NOON).reason == "rule:first"
    assert p.route(decided(Label.COMPLEX), meta(tags={"b"}), AUTO, now=NOON).reason == "rule:second"


def test_a_rule_never_breaks_a_floor() -> None:
    p = policy(rules=[RuleSettings(name="bg", model=HAIKU, tags=["background"])])
    m = meta(tags={"background", "customer_facing"})
    route = p.route(decided(Label.COMPLEX), m, AUTO, now=NOON)
    assert (route.model, route.reason) == (SONNET, "floor:tag:customer_facing")


# ---- the budget hook -------------------------------------------------------------------------


def test_downgrade_steps_down_tiers() -> None:
    p = policy()
    route = p.route(decided(Label.COMPLEX), meta(), AUTO, now=NOON, downgrade=1)
    assert (route.model, route.reason, route.max_tokens) == (SONNET, "downgrade:1", 8192)
    assert p.route(decided(Label.COMPLEX), meta(), AUTO, now=NOON, downgrade=5).model == HAIKU
    assert p.route(decided(Label.SIMPLE), meta(), AUTO, now=NOON, downgrade=1).reason == "label"


def test_downgrade_never_goes_below_a_floor() -> None:
    p = policy()
    m = meta(floor=Label.MODERATE)
    route = p.route(decided(Label.COMPLEX), m, AUTO, now=NOON, downgrade=2)
    assert (route.model, route.reason) == (SONNET, "downgrade:1")
    route = p.route(decided(Label.SIMPLE), m, AUTO, now=NOON, downgrade=1)
    assert (route.model, route.reason) == (SONNET, "floor:request")


# ---- aliases and the model argument ----------------------------------------------------------


def test_resolve_model_arg() -> None:
    p = policy(aliases={"support": AliasSettings(floor=Label.MODERATE)})
    assert p.resolve_model_arg("auto").kind is ModelArgKind.AUTO
    arg = p.resolve_model_arg("router:support")
    assert (arg.kind, arg.alias) == (ModelArgKind.ALIAS, "support")
    arg = p.resolve_model_arg("claude-haiku-5-5-20261007")
    assert (arg.kind, arg.model, arg.family) == (ModelArgKind.CONCRETE, "claude-haiku-5-5-20261007", HAIKU)


@pytest.mark.parametrize("model", ["router:nope", "router:", "support", "claude-3-opus", "AUTO", None, 42])
def test_unknown_alias_or_model(model: object) -> None:
    p = policy(aliases={"support": AliasSettings(floor=Label.MODERATE)})
    with pytest.raises(UnknownModelError) as info:
        p.resolve_model_arg(model)
    assert "router:support" in info.value.message  # the hint lists what would work
    assert info.value.error_type == "not_found_error"


def test_unknown_alias_at_route_time() -> None:
    with pytest.raises(UnknownModelError, match="router:nope"):
        policy().route(decided(Label.SIMPLE), meta(), AUTO, alias="nope", now=NOON)


def test_alias_bundles_a_policy() -> None:
    p = policy(
        rules=[RuleSettings(name="bg", model=HAIKU, tags=["background"])],
        aliases={
            "support": AliasSettings(
                label_models={Label.COMPLEX: "claude-sonnet-4-5"},
                tags=["customer_facing"],
                max_tokens={Label.MODERATE: 512},
                cache_system=True,
            ),
            "jobs": AliasSettings(tags=["background"]),
        },
    )
    complex_ = p.route(decided(Label.COMPLEX), meta(), AUTO, alias="router:support", now=NOON)
    assert (complex_.model, complex_.alias, complex_.cache_system) == ("claude-sonnet-4-5", "support", True)
    simple = p.route(decided(Label.SIMPLE), meta(), AUTO, alias="support", now=NOON)
    assert (simple.model, simple.reason) == (SONNET, "floor:tag:customer_facing")
    assert p.route(decided(Label.MODERATE), meta(), AUTO, alias="support", now=NOON).max_tokens == 512
    assert p.route(decided(Label.COMPLEX), meta(), AUTO, alias="jobs", now=NOON).reason == "rule:bg"
    plain = p.route(decided(Label.COMPLEX), meta(), AUTO, now=NOON)
    assert (plain.model, plain.cache_system) == (OPUS, False)


# ---- speculation and caching flags -----------------------------------------------------------


def test_speculative_precedence_request_alias_policy() -> None:
    p = policy(speculative=True, aliases={"slow": AliasSettings(speculative=False)})
    assert p.route(decided(Label.SIMPLE), meta(), AUTO, now=NOON).speculative is True
    assert p.route(decided(Label.SIMPLE), meta(), AUTO, alias="slow", now=NOON).speculative is False
    m = meta(speculative=True)
    assert p.route(decided(Label.SIMPLE), m, AUTO, alias="slow", now=NOON).speculative is True
    assert policy().route(decided(Label.SIMPLE), meta(speculative=False), AUTO, now=NOON).speculative is False


def test_speculation_only_where_the_label_decides() -> None:
    p = policy(speculative=True, rules=[NIGHT_BATCH])
    night = NOON.replace(hour=23)
    assert p.speculative_model(meta(), now=NOON) == HAIKU
    assert p.speculative_model(meta(speculative=False), now=NOON) is None
    assert p.speculative_model(meta(floor=Label.MODERATE), now=NOON) is None
    assert p.speculative_model(meta(tags={"customer_facing"}), now=NOON) is None
    assert p.speculative_model(meta(force_model=HAIKU), now=NOON) is None
    assert p.speculative_model(meta(tags={"background"}), now=night) is None
    assert p.speculative_model(meta(tags={"background"}), now=NOON) == HAIKU
    assert p.route(decided(Label.SIMPLE), meta(floor=Label.MODERATE), AUTO, now=NOON).speculative is False
    assert p.route(decided(Label.SIMPLE), meta(force_model=HAIKU), AUTO, now=NOON).speculative is False


def test_cache_system_precedence_request_alias_policy() -> None:
    p = policy(cache_system=True, aliases={"raw": AliasSettings(cache_system=False)})
    assert p.route(decided(Label.SIMPLE), meta(), AUTO, now=NOON).cache_system is True
    assert p.route(decided(Label.SIMPLE), meta(), AUTO, alias="raw", now=NOON).cache_system is False
    m = meta(cache_system=True, force_model=OPUS)
    assert p.route(None, m, AUTO, alias="raw", now=NOON).cache_system is True


# ---- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "chain", "field"),
    [
        ({"label_models": {Label.SIMPLE: "claude-tiny"}}, CHAIN, "policy.label_models.simple"),
        ({"rules": [RuleSettings(name="r", model="claude-tiny")]}, CHAIN, r"policy.rules\[0\].model"),
        (
            {"aliases": {"a": AliasSettings(force_model="claude-tiny")}},
            CHAIN,
            "policy.aliases.a.force_model",
        ),
        (
            {"aliases": {"a": AliasSettings(label_models={Label.COMPLEX: "claude-tiny"})}},
            CHAIN,
            "policy.aliases.a.label_models.complex",
        ),
        ({}, (OPUS, "claude-tiny"), r"upstream.fallback_chain\[1\]"),
    ],
)
def test_unknown_models_in_config_fail_at_start_up(
    settings: dict[str, Any], chain: tuple[str, ...], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        Policy(PolicySettings(**settings), fallback_chain=chain)


POLICY_TOML = """
[policy]
speculative = true
label_models = { moderate = "claude-sonnet-4-5" }
max_tokens = { simple = 32 }
tag_floors = { customer_facing = "moderate", legal = "complex" }

[[policy.rules]]
name = "nightly-batch"
model = "claude-haiku-5-5"
tags = ["background"]
window = "22:00-06:00"

[policy.aliases.support]
floor = "moderate"
cache_system = true
tags = ["customer_facing"]

[upstream]
fallback_chain = ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-5-5"]
"""


def test_policy_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    path.write_text(POLICY_TOML)
    settings = Settings.load(path)
    p = Policy(settings.policy, fallback_chain=settings.upstream.fallback_chain)
    assert settings.policy.label_models[Label.COMPLEX] == OPUS  # the defaults not named stay
    moderate = p.route(decided(Label.MODERATE), meta(), AUTO, now=NOON)
    assert (moderate.model, moderate.fallbacks) == ("claude-sonnet-4-5", (HAIKU,))
    assert p.route(decided(Label.SIMPLE), meta(), AUTO, now=NOON).max_tokens == 32
    night = p.route(decided(Label.COMPLEX), meta(tags={"background"}), AUTO, now=NOON.replace(hour=2))
    assert night.reason == "rule:nightly-batch"
    support = p.route(decided(Label.SIMPLE), meta(), AUTO, alias=p.resolve_model_arg("router:support").alias)
    assert (support.model, support.cache_system, support.speculative) == ("claude-sonnet-4-5", True, False)
    legal = p.route(decided(Label.SIMPLE), meta(tags={"legal"}), AUTO, now=NOON)
    assert (legal.model, legal.reason) == (OPUS, "floor:tag:legal")


@pytest.mark.parametrize("window", ["25:00-06:00", "22:00", "10:00-10:00", "9-17", "22:60-23:00"])
def test_bad_time_window_is_a_config_error(tmp_path: Path, window: str) -> None:
    path = tmp_path / "router.toml"
    path.write_text(f'[[policy.rules]]\nname = "r"\nmodel = "{HAIKU}"\nwindow = "{window}"\n')
    with pytest.raises(ConfigError, match=r"policy.rules.0.window"):
        Settings.load(path)
