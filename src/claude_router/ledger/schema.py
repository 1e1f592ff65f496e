"""The ledger's current schema (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

`usage` holds exactly one row per request id. The `usage_daily*` tables are rollups kept in the
same transaction as each insert, so a report over a million requests reads a few thousand
rollup rows instead of scanning the table (see `store.py`). `migrations.py` builds this shape
step by step; a test checks that a migrated database matches it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime: `timestamptz` on PostgreSQL, ISO text (UTC, naive) on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Token counts of the answering call(s) and of the classifier, as stored in `usage`.
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)
CLASSIFIER_TOKEN_COLUMNS = tuple(f"classifier_{name}" for name in TOKEN_COLUMNS)
MONEY_COLUMNS = ("cost_nusd", "classifier_cost_nusd", "cost_if_opus_nusd", "cost_if_sonnet_nusd")

#: Rollup measures summed as they are, from the `usage` column of the same name.
SUMMED = (*TOKEN_COLUMNS, "classifier_input_tokens", "classifier_output_tokens", *MONEY_COLUMNS, "retries")
#: Rollup measures that count rows whose boolean `usage` column is true.
FLAGS = {"fallbacks": "fallback", "escalations": "escalated", "speculatives": "speculative"}
#: Rollup measures that count rows whose boolean `usage` column is false.
NOT_FLAGS = {"unpriced": "priced"}
#: Rollup key columns (besides `tag` in `usage_daily_tags`). NULL is stored as '' in a key.
ROLLUP_KEYS = ("day", "customer", "model", "label", "batch", "effort")
#: `usage` columns added after the first release (by m005), with what older rows hold.
ADDED_M005 = ("effort", "adapted", "priced", "inference_geo", "speed")
#: `usage` columns added by m007 (older rows hold NULL: no session known).
ADDED_M007 = ("session",)

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("applied_at", UtcDateTime(), nullable=False),
)


def usage_columns() -> list[sa.Column[Any]]:
    def count(name: str) -> sa.Column[Any]:
        return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")

    def flag(name: str) -> sa.Column[Any]:
        return sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false())

    return [
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("day", sa.Date, nullable=False),  # UTC date of created_at
        sa.Column("task_id", sa.String(256)),
        sa.Column("customer", sa.String(256)),
        sa.Column("key_id", sa.String(128)),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),  # JSON array
        sa.Column("label", sa.String(16)),
        sa.Column("confidence", sa.Float),
        sa.Column("classifier_source", sa.String(16), nullable=False),
        sa.Column("model_requested", sa.String(128), nullable=False),
        sa.Column("model_used", sa.String(128)),
        flag("fallback"),
        sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("error_type", sa.String(64)),
        flag("batch"),
        *(count(name) for name in (*TOKEN_COLUMNS, *CLASSIFIER_TOKEN_COLUMNS, *MONEY_COLUMNS)),
        sa.Column("latency_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("ttft_s", sa.Float),
        flag("speculative"),
        flag("escalated"),
        sa.Column("effort", sa.String(16)),  # output_config.effort the answering call was sent with
        sa.Column("adapted", sa.Text, nullable=False, server_default="[]"),  # JSON array: body changes
        sa.Column("priced", sa.Boolean, nullable=False, server_default=sa.true()),  # False: unknown model
        sa.Column("inference_geo", sa.String(32)),  # as the usage reported it (prices depend on it)
        sa.Column("speed", sa.String(16)),  # "fast" / "standard", as the usage reported it
        sa.Column("session", sa.String(128)),  # the conversation, e.g. Claude Code's session id
    ]


usage = sa.Table(
    "usage",
    metadata,
    *usage_columns(),
    sa.Index("ix_usage_created_at", "created_at"),
    sa.Index("ix_usage_customer_created_at", "customer", "created_at"),
    sa.Index("ix_usage_model_created_at", "model_used", "created_at"),
    sa.Index("ix_usage_session_created_at", "session", "created_at"),
)

usage_tags = sa.Table(
    "usage_tags",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("tag", sa.String(128), primary_key=True),
    sa.Index("ix_usage_tags_tag", "tag"),
)


def rollup_columns(*, tagged: bool) -> list[sa.Column[Any]]:
    """Key and measure columns of `usage_daily` (or `usage_daily_tags` when `tagged`)."""
    keys: list[sa.Column[Any]] = [sa.Column("day", sa.Date, primary_key=True)]
    if tagged:
        keys.append(sa.Column("tag", sa.String(128), primary_key=True))
    keys += [
        sa.Column("customer", sa.String(256), primary_key=True),
        sa.Column("model", sa.String(128), primary_key=True),
        sa.Column("label", sa.String(16), primary_key=True),
        sa.Column("batch", sa.Boolean, primary_key=True),
        sa.Column("effort", sa.String(16), primary_key=True),
    ]
    measures = [
        sa.Column(name, sa.BigInteger, nullable=False, server_default="0")
        for name in ("requests", *SUMMED, *FLAGS, *NOT_FLAGS, "errors")
    ]
    return [*keys, *measures, sa.Column("latency_s", sa.Float, nullable=False, server_default="0")]


usage_daily = sa.Table("usage_daily", metadata, *rollup_columns(tagged=False))
usage_daily_tags = sa.Table("usage_daily_tags", metadata, *rollup_columns(tagged=True))

alert_state = sa.Table(
    "alert_state",
    metadata,
    sa.Column("period", sa.String(32), primary_key=True),  # e.g. 2025-06-01 (a UTC day)
    sa.Column("scope", sa.String(300), primary_key=True),  # "total" or "customer:<name>"
    sa.Column("threshold_nusd", sa.BigInteger, nullable=False),
    sa.Column("spent_nusd", sa.BigInteger, nullable=False),
    sa.Column("fired_at", UtcDateTime(), nullable=False),
)

# The LLM classifier's labels kept as training examples (`examples.py`): one row per distinct
# reading (`key`: a hash of the stored features); `input` only when prompts are kept (opt-in).
classifier_examples = sa.Table(
    "classifier_examples",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # sha256 of version + features
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("label", sa.String(16), nullable=False),
    sa.Column("labeller", sa.String(128)),  # the model that gave the label
    sa.Column("features_version", sa.String(32), nullable=False),
    sa.Column("features", sa.Text, nullable=False),  # JSON: {"groups": [[...]], "shape": [...]}
    sa.Column("input", sa.Text),  # JSON classifier input; only with keep_prompts
    sa.Index("ix_classifier_examples_created_at", "created_at"),
)
