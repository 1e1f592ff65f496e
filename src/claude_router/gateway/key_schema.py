"""The gateway's tables (virtual keys, customer budgets, batch owners) and their ordered, named
migrations (recorded in `gateway_migrations`). A released migration never changes: a schema
change is a new function appended to `MIGRATIONS`.

Keys live in the ledger's database (SQLite by default, PostgreSQL when configured) but migrate
on their own, so the ledger's schema history stays the ledger's. Only the SHA-256 of a key is
stored; the key itself is shown once, when it is created.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..ledger.engine import SQLITE_BEGIN
from ..ledger.schema import UtcDateTime

metadata = sa.MetaData()

gateway_migrations = sa.Table(
    "gateway_migrations",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("applied_at", UtcDateTime(), nullable=False),
)

virtual_keys = sa.Table(
    "virtual_keys",
    metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # SHA-256, hex
    sa.Column("hint", sa.String(20), nullable=False),  # the key's last characters, for people
    sa.Column("customer", sa.String(200), nullable=False),
    sa.Column("budget_nusd", sa.BigInteger(), nullable=True),  # nano-dollars; None: no budget
    sa.Column("period", sa.String(10), nullable=True),  # day | month | total
    sa.Column("rpm", sa.Integer(), nullable=True),
    sa.Column("tpm", sa.Integer(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Index("ix_virtual_keys_customer", "customer"),
)

customer_budgets = sa.Table(
    "customer_budgets",
    metadata,
    sa.Column("customer", sa.String(200), primary_key=True),
    sa.Column("budget_nusd", sa.BigInteger(), nullable=False),  # nano-dollars
    sa.Column("period", sa.String(10), nullable=False),  # day | month | total
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

batch_owners = sa.Table(
    "batch_owners",
    metadata,
    sa.Column("batch_id", sa.String(100), primary_key=True),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("customer", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # Set when deleted through the gateway; the row stays so its id still works as a list cursor.
    sa.Column("deleted_at", UtcDateTime(), nullable=True),
    # The batch's worst case (nano-dollars), counted as spent by its key and customer until...
    sa.Column("worst_nusd", sa.BigInteger(), nullable=False, server_default="0"),
    # ...its results are accounted (set once, by the fetch that accounts them) or it is deleted.
    sa.Column("accounted_at", UtcDateTime(), nullable=True),
    sa.Index("ix_batch_owners_key_created", "key_id", "created_at", "batch_id"),
    sa.Index("ix_batch_owners_customer_created", "customer", "created_at"),
)

Migration = Callable[[AsyncConnection], Awaitable[None]]
_PG_LOCK_KEY = 0x636C_6B65_7973  # "clkeys": one process migrates the keys at a time


async def m001_virtual_keys(conn: AsyncConnection) -> None:
    """Virtual keys: hashed, with a customer, an optional budget and per-minute limits."""
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[virtual_keys]))


async def m002_customer_budgets(conn: AsyncConnection) -> None:
    """A dollar budget per customer, shared by all of its keys."""
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[customer_budgets]))


async def m003_batch_owners(conn: AsyncConnection) -> None:
    """The key (and customer) that created each Message Batch through the gateway."""
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[batch_owners]))


async def m004_batch_holds(conn: AsyncConnection) -> None:
    """Each batch's worst case and when its results were accounted, and an index for reading a
    customer's held batches."""

    def upgrade(sync: sa.Connection) -> None:
        # A database created since has these already: m003 creates the table as defined now.
        have = {column["name"] for column in sa.inspect(sync).get_columns(batch_owners.name)}
        for column in (batch_owners.c.worst_nusd, batch_owners.c.accounted_at):
            if column.name not in have:
                spec = sa.schema.CreateColumn(column).compile(dialect=sync.dialect)
                sync.execute(sa.text(f"ALTER TABLE {batch_owners.name} ADD COLUMN {spec}"))
        for index in batch_owners.indexes:
            index.create(sync, checkfirst=True)

    await conn.run_sync(upgrade)


MIGRATIONS: tuple[Migration, ...] = (
    m001_virtual_keys,
    m002_customer_budgets,
    m003_batch_owners,
    m004_batch_holds,
)


async def migrate(engine: AsyncEngine) -> list[str]:
    """Apply the pending key migrations in one locked transaction; return their names."""
    async with engine.connect() as raw:
        conn = await raw.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        async with conn.begin():
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[gateway_migrations]))
            done = set((await conn.execute(sa.select(gateway_migrations.c.name))).scalars())
            ran = [step for step in MIGRATIONS if step.__name__ not in done]
            for step in ran:
                await step(conn)
                await conn.execute(
                    sa.insert(gateway_migrations), [{"name": step.__name__, "applied_at": datetime.now(UTC)}]
                )
    return [step.__name__ for step in ran]
