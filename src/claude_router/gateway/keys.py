"""Virtual keys: what a client presents to the gateway instead of the upstream API key.

    store = await KeyStore.open(settings.ledger.url)          # the ledger's database
    new = await store.create("acme", budget_usd=Decimal("50"), period="month", rpm=600)
    new.key                                                   # shown once; only its hash is kept
    info = await store.authenticate(presented)                # None: unknown or revoked
    await store.revoke(new.info.key_id)

A key is `sk-cr-` plus 43 URL-safe characters (256 random bits); it is looked up by its SHA-256.
Recent lookups are cached for `cache_s` seconds, so a key revoked from another process stops
working within that time (at once in this one).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..ledger.engine import DATABASE_ERRORS, cannot_open, create_engine, readonly_engine, resolve_url
from ..ledger.money import from_nano, to_nano
from .batch_owners import BatchOwners
from .key_records import CustomerBudget, KeyInfo, NewKey, Period
from .key_schema import customer_budgets, migrate, virtual_keys

KEY_PREFIX = "sk-cr-"
KEY_BYTES = 32
HINT_CHARS = 4
CACHE_S = 2.0


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, engine: AsyncEngine, *, cache_s: float = CACHE_S) -> None:
        self.engine = engine
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, KeyInfo]] = {}
        self._customers: dict[str, tuple[float, CustomerBudget | None]] = {}
        self.batches = BatchOwners(engine)  # which key created each Message Batch

    @classmethod
    async def open(
        cls, url_or_path: str | Path | None = None, *, home: Path | None = None, cache_s: float = CACHE_S
    ) -> KeyStore:
        """The key store in the ledger database at a SQLite path or `postgresql://` URL (migrated);
        `LedgerError` naming the cause when the database cannot be opened."""
        url = resolve_url(url_or_path, home=home)
        engine = create_engine(url)
        try:
            await migrate(engine)
        except BaseException as exc:
            await engine.dispose()
            if isinstance(exc, DATABASE_ERRORS):
                raise cannot_open(url, exc) from exc
            raise
        return cls(engine, cache_s=cache_s)

    @classmethod
    async def open_readonly(
        cls, url_or_path: str | Path | None = None, *, home: Path | None = None
    ) -> KeyStore:
        """The key store of an existing ledger database, to read: nothing is created or migrated.
        `LedgerError` when there is no ledger there; `holds_keys()` says whether keys were ever made."""
        url, engine = readonly_engine(url_or_path, home=home)
        store = cls(engine)
        try:
            await store.holds_keys()
        except BaseException as exc:
            await engine.dispose()
            if isinstance(exc, DATABASE_ERRORS):
                raise cannot_open(url, exc) from exc
            raise
        return store

    async def holds_keys(self) -> bool:
        """Whether the database has the key tables (a key was ever created in it)."""
        async with self.engine.connect() as conn:
            return bool(await conn.run_sync(lambda sync: sa.inspect(sync).has_table(virtual_keys.name)))

    async def close(self) -> None:
        await self.engine.dispose()

    async def create(
        self,
        customer: str,
        *,
        budget_usd: Decimal | None = None,
        period: Period | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> NewKey:
        if not customer.strip():
            raise ValueError("a key needs a customer")
        for name, limit in (("rpm", rpm), ("tpm", tpm)):
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1")
        if budget_usd is not None and budget_usd <= 0:
            raise ValueError("budget_usd must be positive")
        key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        info = KeyInfo(
            key_id=f"vk_{secrets.token_hex(8)}",
            customer=customer.strip(),
            hint=key[-HINT_CHARS:],
            created_at=datetime.now(UTC),
            budget_usd=budget_usd,
            period=(period or Period.MONTH) if budget_usd is not None else period,
            rpm=rpm,
            tpm=tpm,
        )
        row = {
            "key_id": info.key_id,
            "key_hash": hash_key(key),
            "hint": info.hint,
            "customer": info.customer,
            "budget_nusd": to_nano(budget_usd) if budget_usd is not None else None,
            "period": info.period.value if info.period is not None else None,
            "rpm": rpm,
            "tpm": tpm,
            "created_at": info.created_at,
        }
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(virtual_keys), [row])
        return NewKey(key, info)

    async def authenticate(self, key: str) -> KeyInfo | None:
        """The active key `key` is, or None (unknown, revoked, or not a key at all)."""
        if not key.startswith(KEY_PREFIX):
            return None
        digest = hash_key(key)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(virtual_keys).where(virtual_keys.c.key_hash == digest))
            ).first()
        info = _info(row._mapping) if row is not None else None
        if info is None or not info.active:
            self._cache.pop(digest, None)
            return None
        self._cache[digest] = (now + self._cache_s, info)
        return info

    async def list_keys(self, *, include_revoked: bool = False) -> list[KeyInfo]:
        query = sa.select(virtual_keys).order_by(virtual_keys.c.created_at, virtual_keys.c.key_id)
        if not include_revoked:
            query = query.where(virtual_keys.c.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            return [_info(row._mapping) for row in await conn.execute(query)]

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key by id; False if there is no such active key."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.update(virtual_keys)
                .where(virtual_keys.c.key_id == key_id, virtual_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
                .returning(virtual_keys.c.key_hash)
            )
            revoked = [digest for (digest,) in result]
        for digest in revoked:
            self._cache.pop(digest, None)
        return bool(revoked)

    async def set_customer_budget(
        self, customer: str, budget_usd: Decimal | None, period: Period = Period.MONTH
    ) -> CustomerBudget | None:
        """Set (or with None, remove) `customer`'s budget, shared by all of its keys."""
        customer = customer.strip()
        if not customer:
            raise ValueError("a budget needs a customer")
        if budget_usd is not None and budget_usd <= 0:
            raise ValueError("budget_usd must be positive")
        table = customer_budgets
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(table).where(table.c.customer == customer))
            if budget_usd is not None:
                row = {
                    "customer": customer,
                    "budget_nusd": to_nano(budget_usd),
                    "period": period.value,
                    "updated_at": datetime.now(UTC),
                }
                await conn.execute(sa.insert(table), [row])
        self._customers.pop(customer, None)
        return CustomerBudget(customer, budget_usd, period) if budget_usd is not None else None

    async def customer_budget(self, customer: str) -> CustomerBudget | None:
        """`customer`'s budget (cached for `cache_s` seconds, like keys), or None."""
        now = time.monotonic()
        cached = self._customers.get(customer)
        if cached is not None and cached[0] > now:
            return cached[1]
        table = customer_budgets
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(table).where(table.c.customer == customer))).first()
        found = _customer_budget(row._mapping) if row is not None else None
        self._customers[customer] = (now + self._cache_s, found)
        return found

    async def customer_budgets(self) -> list[CustomerBudget]:
        table = customer_budgets
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(table).order_by(table.c.customer))
            return [_customer_budget(row._mapping) for row in rows]


def _customer_budget(row: Any) -> CustomerBudget:
    return CustomerBudget(row["customer"], from_nano(row["budget_nusd"]), Period(row["period"]))


def _info(row: Any) -> KeyInfo:
    budget = row["budget_nusd"]
    return KeyInfo(
        key_id=row["key_id"],
        customer=row["customer"],
        hint=row["hint"],
        created_at=row["created_at"],
        budget_usd=from_nano(budget) if budget is not None else None,
        period=Period(row["period"]) if row["period"] else None,
        rpm=row["rpm"],
        tpm=row["tpm"],
        revoked_at=row["revoked_at"],
    )


__all__ = ["CustomerBudget", "KeyInfo", "KeyStore", "NewKey", "Period", "hash_key"]
