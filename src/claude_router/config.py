"""One settings object: a TOML file plus `CLAUDE_ROUTER_*` environment variables.

Read in exactly one place (`Settings.load`) and passed down explicitly. Nested sections map to
TOML tables (`[policy]`, `[classifier]`, ...) and to environment variables with a double
underscore (`CLAUDE_ROUTER_UPSTREAM__MAX_RETRIES=4`). The upstream key and base URL also honour
the official SDK's own `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError
from .paths import CONFIG_ENV
from .types import Label

HAIKU = "claude-haiku-5-5"
SONNET = "claude-sonnet-5-5"
OPUS = "claude-opus-5-5"

#: `output_config.effort` levels, lowest first.
EffortLevel = Literal["low", "medium", "high", "xhigh", "max"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSettings(_Section):
    """Force a model when a request carries one of `tags` and/or falls inside a UTC time window."""

    name: str
    model: str
    tags: list[str] = []
    # "HH:MM-HH:MM" in UTC; may wrap midnight ("22:00-06:00"). Empty: any time.
    window: str | None = None

    @field_validator("window")
    @classmethod
    def _window_format(cls, value: str | None) -> str | None:
        if value is not None:
            _window_minutes(value)
        return value

    @property
    def window_minutes(self) -> tuple[int, int] | None:
        """The window as minutes after midnight UTC, `(start, end)`; end is exclusive."""
        return _window_minutes(self.window) if self.window is not None else None


def _window_minutes(window: str) -> tuple[int, int]:
    match = _WINDOW.fullmatch(window.strip())
    if match is None:
        raise ValueError(f"time window {window!r} is not HH:MM-HH:MM (UTC)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"time window {window!r} has an impossible time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"time window {window!r} is empty; leave `window` out to match any time")
    return start, end


_WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


def _split_ladder(data: Any) -> Any:
    """Accept a ladder step as a model id or as `{ model = "...", effort = "..." }`: the models go
    to `label_models`, the efforts to `label_efforts`. A step named by its model alone has no
    effort of its own (the model's default) unless `label_efforts` gives one."""
    if not isinstance(data, dict) or not isinstance(data.get("label_models"), dict):
        return data
    models: dict[Label, Any] = {}
    efforts: dict[Label, Any] = {}
    for key, step in data["label_models"].items():
        label = Label(key)
        if isinstance(step, dict):
            unknown = set(step) - {"model", "effort"}
            if unknown or "model" not in step:
                raise ValueError(f"label_models.{label}: a step is {{ model, effort }}, got {sorted(step)}")
            models[label], efforts[label] = step["model"], step.get("effort")
        else:
            models[label], efforts[label] = step, None
    given = {Label(k): v for k, v in (data.get("label_efforts") or {}).items()}
    return {**data, "label_models": models, "label_efforts": {**efforts, **given}}


class AliasSettings(_Section):
    """A route alias such as `router:support`: a bundle of policy overrides."""

    floor: Label | None = None
    force_model: str | None = None
    # label -> model id, or { model, effort }
    label_models: dict[Label, str] = {}
    label_efforts: dict[Label, EffortLevel | None] = {}  # for the labels of `label_models`
    speculative: bool | None = None
    cache_system: bool | None = None
    tags: list[str] = []  # added to the request's own tags (for tag floors and rules)
    max_tokens: dict[Label, Annotated[int, Field(gt=0)]] = {}  # over the policy's defaults

    _ladder_steps = model_validator(mode="before")(_split_ladder)


# The ladder: each label routes to a model at an effort (thinking is billed as output, so effort
# moves the bill). The seed's 4.x ladder is one line away (README, "The 4.x ladder").
DEFAULT_LABEL_MODELS: dict[Label, str] = {Label.SIMPLE: HAIKU, Label.MODERATE: SONNET, Label.COMPLEX: OPUS}
DEFAULT_LABEL_EFFORTS: dict[Label, EffortLevel | None] = {
    Label.SIMPLE: "low",
    Label.MODERATE: "medium",
    Label.COMPLEX: "high",
}
# The answer ceiling when the caller gives none. The 5.x models think by default, and thinking is
# output: each ceiling leaves its label's answer room after the thinking its effort may take (the
# catalogue's `[thinking] room`), so an answer never ends after its thinking with no text.
DEFAULT_MAX_TOKENS: dict[Label, int] = {Label.SIMPLE: 2048, Label.MODERATE: 4096, Label.COMPLEX: 8192}


class PolicySettings(_Section):
    """Routing rules as data. A partial `label_models` / `max_tokens` table keeps the other defaults."""

    # label -> model id, or { model, effort }; a label not named keeps its default model and effort
    label_models: dict[Label, str] = DEFAULT_LABEL_MODELS
    label_efforts: dict[Label, EffortLevel | None] = DEFAULT_LABEL_EFFORTS
    # Used only when the caller gives no max_tokens.
    max_tokens: dict[Label, Annotated[int, Field(gt=0)]] = DEFAULT_MAX_TOKENS
    tag_floors: dict[str, Label] = {"customer_facing": Label.MODERATE}
    rules: list[RuleSettings] = []
    aliases: dict[str, AliasSettings] = {}
    speculative: bool = False
    cache_system: bool = False
    # Keep a conversation (or a shared prompt prefix) on the tier holding its warm prompt cache when
    # staying costs less than re-writing the cache on the cheaper tier (`[cache_affinity]`).
    cache_aware: bool = False
    # Traffic of coding agents (requests naming a session, as Claude Code's do): their side calls go
    # to the simple tier's model, and a session stays on the tier holding its warm prompt cache
    # (`[agent_traffic]`, docs/claude-code.md). Turns cache-aware routing on.
    agent_traffic: bool = False
    # A conversation whose history holds thinking blocks signed by one model stays on that model
    # (a signature is bound to its model: another model drops the earlier reasoning unread).
    keep_thinking_model: bool = True

    _ladder_steps = model_validator(mode="before")(_split_ladder)

    @field_validator("label_models")
    @classmethod
    def _every_label_has_a_model(cls, value: dict[Label, str]) -> dict[Label, str]:
        return {**DEFAULT_LABEL_MODELS, **value}

    @field_validator("label_efforts")
    @classmethod
    def _every_label_has_an_effort(
        cls, value: dict[Label, EffortLevel | None]
    ) -> dict[Label, EffortLevel | None]:
        return {**DEFAULT_LABEL_EFFORTS, **value}

    @field_validator("max_tokens")
    @classmethod
    def _every_label_has_a_ceiling(cls, value: dict[Label, int]) -> dict[Label, int]:
        return {**DEFAULT_MAX_TOKENS, **value}


class LabelThresholds(_Section):
    """Cut-offs on the local classifier's probabilities (`claude-router calibrate` writes them):
    complex when P(complex) >= `complex`, else moderate when P(moderate) + P(complex) >=
    `moderate`, else simple. A cut-off above 1 is never reached."""

    complex: float = Field(ge=0.0)
    moderate: float = Field(ge=0.0)


class ClassifierSettings(_Section):
    kind: Literal["llm", "local", "cascade"] = "cascade"
    model: str = HAIKU
    max_tokens: int = 32
    cache: Literal["memory", "redis", "none"] = "memory"
    cache_size: int = 10_000
    redis_url: str | None = None
    # Every key the Redis cache writes starts with this (None: `claude-router:clf:`); deployments
    # sharing one Redis keep their caches apart with a prefix each.
    redis_prefix: str | None = None
    cache_ttl_s: int = 7 * 24 * 3600
    # The local classifier's model file (`claude-router train --out`); None: the packaged model.
    local_model_path: str | None = None
    # The cascade asks the LLM classifier only below this local confidence. 0.7 was chosen on the
    # held-out labelled prompts: below it the local model is right about a third of the time,
    # and fewer than 5% of prompts fall below it (`eval classifier --classifier cascade`).
    cascade_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    # None: the most probable label wins.
    thresholds: LabelThresholds | None = None
    # Where the LLM classifier's labels go as training examples for `train --from-ledger` (the
    # gateway keeps them in the ledger's database): the label and the local model's features only,
    # unless keep_prompts also keeps each labelled request's text (docs/classifier.md).
    capture: bool = True
    keep_prompts: bool = False
    # Versioned local models (`claude-router model list | use | rollback`); None: <data home>/models.
    # The active one is used unless local_model_path names a file.
    models_dir: str | None = None


class CacheAffinitySettings(_Section):
    """How cache-aware routing (`[policy] cache_aware = true`) weighs staying against moving."""

    # Output tokens assumed when comparing tiers, capped by the request's max_tokens: the answer
    # costs more on the warm (higher) tier, so this is what staying must pay back in cache reads.
    expected_output_tokens: int = Field(default=256, ge=0)
    # Turns over which staying and moving are compared: 1 weighs this request alone; more spreads the
    # one-off cache write of a move over the turns expected to follow it on the cheaper tier.
    horizon_turns: int = Field(default=1, ge=1, le=100)
    max_keys: int = Field(default=100_000, ge=1)  # conversations and prefixes tracked in process
    redis_url: str | None = None  # share the state between gateway replicas (the `redis` extra)
    redis_prefix: str | None = None  # every key starts with this (None: `claude-router:affinity:`)


class AgentTrafficSettings(_Section):
    """How `[policy] agent_traffic` recognises a coding agent's side calls: requests of a session
    that are one user message, offer no tools and either ask for at most
    `side_call_max_tokens` or have a system prompt holding one of `side_call_phrases`
    (case-insensitive)."""

    # Claude Code's main turns ask for 32,000 to 128,000; its one-shot helpers (titles, summaries,
    # command checks) for far less, and offer no tools.
    side_call_max_tokens: int = Field(default=8192, ge=1)
    side_call_phrases: list[str] = [
        "title",
        "summar",
        "topic",
        "command prefix",
        "commit message",
        "branch name",
    ]
    # Keep a session's main turns on the tier holding its warm cache (and its thinking blocks).
    # Off: cache-aware routing alone decides, by price, and may move a session down.
    sticky: bool = True


class QualitySettings(_Section):
    """The answer-quality cascade: answer on the routed tier, check the answer, re-run it one tier up
    when its score is under `threshold`. Opt-in for `model="auto"` (`auto`) and per route alias."""

    auto: bool = False
    aliases: list[str] = []
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    max_escalations: int = Field(default=1, ge=1, le=2)
    judge: bool = False  # also ask a judge model (Haiku) to grade the answer with a rubric
    judge_model: str = HAIKU
    judge_max_tokens: int = Field(default=8, ge=1)


class UpstreamSettings(_Section):
    api_key: SecretStr | None = None
    base_url: str | None = None
    max_retries: int = 2
    timeout_s: float = 600.0
    # Tried in order after the routed model when retries are exhausted on a retryable failure.
    fallback_chain: list[str] = [OPUS, SONNET, HAIKU]
    cooldown_after: int = 3  # overloads in a row before a model is cooled down
    cooldown_s: float = 30.0
    # The SDK's HTTP transport: "aiohttp" (the SDK's `aiohttp` extra, which the `gateway` extra
    # installs) costs an SDK call about 0.7x the CPU httpx does; "auto" is aiohttp in the gateway
    # when installed, httpx elsewhere (an aiohttp session belongs to one event loop).
    http_client: Literal["auto", "httpx", "aiohttp"] = "auto"


class AlertSettings(_Section):
    """Daily spend alerts (`[ledger.alerts]`): a log line and a JSON POST to `webhook_url` when a
    UTC day's spend crosses a threshold, once per day and threshold (remembered in the ledger)."""

    daily_total_usd: Decimal | None = Field(default=None, gt=0)  # all customers together
    daily_customer_usd: Decimal | None = Field(default=None, gt=0)  # each customer
    customers: dict[str, Annotated[Decimal, Field(gt=0)]] = {}  # per customer, over the default
    webhook_url: SecretStr | None = None  # may carry a token: never logged
    webhook_timeout_s: float = Field(default=5.0, gt=0)

    @field_validator("webhook_url")
    @classmethod
    def _http_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("webhook_url must be an http:// or https:// URL")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.daily_total_usd or self.daily_customer_usd or self.customers)


class LedgerSettings(_Section):
    url: str | None = None  # a SQLite path or a postgresql:// URL; default: <home>/ledger.db
    alerts: AlertSettings = AlertSettings()


class QueueSettings(_Section):
    url: str | None = None  # a SQLite path or a redis:// URL; default: <home>/queue.db
    name: str = "default"  # the Redis stream (one queue per name); SQLite: one queue per file
    # Redis: every key of the queue starts with this, then `:{name}:` (None: `claude-router:queue`).
    redis_prefix: str | None = None
    lease_s: float = Field(default=300.0, gt=0)  # how long a claimed job is a worker's alone
    max_attempts: int = Field(default=5, ge=1)  # claims before a failing job is parked
    # SQLite: "full" syncs every commit (survives power loss); "normal" survives a crash only.
    sqlite_synchronous: Literal["full", "normal"] = "full"
    # `auto` jobs go to the Message Batches API when their deadline leaves its 24 h window plus this.
    batches_api_margin_s: float = Field(default=3600.0, ge=0)


class GatewaySettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8080
    auth: bool = True
    max_body_bytes: int = 32 * 1024 * 1024
    # Processes `serve` runs on the one port. More than one needs `redis_url`: each process would
    # otherwise keep its own rate limits and budget holds, and together they could pass them.
    workers: int = Field(default=1, ge=1)
    redis_url: str | None = None
    redis_prefix: str | None = None  # every shared-state key starts with this (None: `claude-router:gw`)
    # Budget-aware routing (opt-in): past this share of a budget, route one tier lower.
    budget_downgrade_at: float | None = Field(default=None, gt=0.0, le=1.0)


class MonitorSettings(_Section):
    """Quality monitoring (`[monitor]`, off by default): a reproducible sample of routed answers
    (chosen by a hash of the request id) is re-run on the tier above and both answers are judged
    against the packaged rubric. It runs in the background and its spend is accounted apart."""

    enabled: bool = False
    sample_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    # The rubric's grades come back through a forced tool call, which Haiku 5.5 takes and Sonnet 5.5
    # and Opus 5.5 refuse (a judge there would be relaxed to `auto` and might not grade).
    judge_model: str = HAIKU
    concurrency: int = Field(default=2, ge=1)  # samples re-run and judged at once
    max_pending: int = Field(default=100, ge=1)  # samples waiting beyond this are skipped, not queued
    # The report flags a label when the cheaper tier did worse in more than this share of verdicts.
    flag_share: float = Field(default=0.2, ge=0.0, le=1.0)


class CatalogSettings(_Section):
    """The model catalogue: a TOML file of the packaged `models.toml`'s shape whose entries correct or
    add to the packaged ones (a price marked 3rd-party, a model released since)."""

    path: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLAUDE_ROUTER_", env_nested_delimiter="__", extra="forbid", frozen=True
    )
    _toml_path: ClassVar[Path | None] = None

    policy: PolicySettings = PolicySettings()
    classifier: ClassifierSettings = ClassifierSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    ledger: LedgerSettings = LedgerSettings()
    queue: QueueSettings = QueueSettings()
    gateway: GatewaySettings = GatewaySettings()
    cache_affinity: CacheAffinitySettings = CacheAffinitySettings()
    agent_traffic: AgentTrafficSettings = AgentTrafficSettings()
    quality: QualitySettings = QualitySettings()
    monitor: MonitorSettings = MonitorSettings()
    catalog: CatalogSettings = CatalogSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_path))
        return tuple(sources)

    @classmethod
    def load(cls, path: Path | str | None = None, **overrides: Any) -> Settings:
        """Read the TOML file (`path`, else `$CLAUDE_ROUTER_CONFIG`, else none) and the environment.

        Precedence: explicit overrides, then `CLAUDE_ROUTER_*` variables, then the file. A bad
        file or value raises `ConfigError` naming the field.
        """
        raw = path if path is not None else os.environ.get(CONFIG_ENV)
        toml_path = Path(raw).expanduser() if raw else None
        if toml_path is not None and not toml_path.is_file():
            raise ConfigError(f"config file not found: {toml_path}")
        try:
            cls._toml_path = toml_path
            settings = cls(**overrides)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, toml_path)) from None
        except ValueError as exc:  # a TOML syntax error
            raise ConfigError(f"{toml_path}: {exc}") from None
        finally:
            cls._toml_path = None
        return settings._with_sdk_environment()

    def _with_sdk_environment(self) -> Settings:
        """Fill the upstream key and base URL from the SDK's own variables when not set here."""
        up = self.upstream
        key = up.api_key or _secret(os.environ.get("ANTHROPIC_API_KEY"))
        base_url = up.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        if key is up.api_key and base_url == up.base_url:
            return self
        upstream = up.model_copy(update={"api_key": key, "base_url": base_url})
        return self.model_copy(update={"upstream": upstream})


def _secret(value: str | None) -> SecretStr | None:
    return SecretStr(value) if value else None


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f"{path}: " if path else ""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return f"{where}invalid settings: " + "; ".join(parts)


__all__ = [
    "CONFIG_ENV",
    "AlertSettings",
    "AliasSettings",
    "CacheAffinitySettings",
    "CatalogSettings",
    "ClassifierSettings",
    "GatewaySettings",
    "LabelThresholds",
    "LedgerSettings",
    "MonitorSettings",
    "PolicySettings",
    "QualitySettings",
    "QueueSettings",
    "RuleSettings",
    "Settings",
    "UpstreamSettings",
]

# Field is re-exported for section modules that add constrained fields.
_ = Field
