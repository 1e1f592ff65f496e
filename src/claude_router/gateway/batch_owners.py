"""Which virtual key created each Message Batch, so that a key only ever sees its own.

owners = keys.batches                                   # beside the keys, in the same database
await owners.record(batch_id, key_id, customer, worst)  # worst case held, in nano-dollars
owner = await owners.get(batch_id)                      # None: not created through the gateway
page = await owners.page(key_id, 20, after_id=last_id)  # newest first, like the API's list
await owners.account(batch_id)                          # True once: results accounted, hold over
await owners.forget(batch_id)                           # deleted: hidden, still a cursor

A batch's worst case counts as spent (`budgets.ledger_spend`) until the first of those two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .key_schema import batch_owners
from .refusals import invalid_request

_T = batch_owners


@dataclass(frozen=True, slots=True)
class BatchOwner:
    batch_id: str
    key_id: str
    customer: str
    created_at: datetime
    deleted_at: datetime | None = None
    worst_nusd: int = 0
    accounted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OwnedPage:
    """One page of a key's batch ids, newest first; `has_more` in the direction asked for."""

    ids: list[str]
    has_more: bool


class BatchOwners:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(self, batch_id: str, key_id: str, customer: str, worst_nusd: int = 0) -> BatchOwner:
        owner = BatchOwner(batch_id, key_id, customer, datetime.now(UTC), worst_nusd=worst_nusd)
        row = {
            "batch_id": batch_id,
            "key_id": key_id,
            "customer": customer,
            "created_at": owner.created_at,
            "worst_nusd": worst_nusd,
        }
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(_T), [row])
        return owner

    async def get(self, batch_id: str) -> BatchOwner | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(_T).where(_T.c.batch_id == batch_id))).first()
        return _owner(row._mapping) if row is not None else None

    async def account(self, batch_id: str) -> bool:
        """Mark the batch's results accounted; True only for the call that did (so its hold is
        released once however often, and however concurrently, the results are fetched)."""
        held = sa.and_(_T.c.batch_id == batch_id, _T.c.accounted_at.is_(None), _T.c.deleted_at.is_(None))
        async with self.engine.begin() as conn:
            done = await conn.execute(sa.update(_T).where(held).values(accounted_at=datetime.now(UTC)))
        return bool(done.rowcount)

    async def forget(self, batch_id: str) -> bool:
        """Mark a batch deleted; its row stays, so a page cursor naming it keeps working. True when
        this ended its hold: it was neither deleted nor accounted before."""
        now, mine = datetime.now(UTC), sa.and_(_T.c.batch_id == batch_id, _T.c.deleted_at.is_(None))
        async with self.engine.begin() as conn:
            # Row-level: a concurrent `account` either sees this deletion or is seen by it.
            held = await conn.execute(
                sa.update(_T).where(mine, _T.c.accounted_at.is_(None)).values(deleted_at=now)
            )
            if not held.rowcount:
                await conn.execute(sa.update(_T).where(mine).values(deleted_at=now))
        return bool(held.rowcount)

    async def page(
        self, key_id: str, limit: int, *, before_id: str | None = None, after_id: str | None = None
    ) -> OwnedPage:
        """`after_id` pages toward older batches, `before_id` toward newer (the page nearest the
        cursor); a cursor must be one of this key's batches, else a 400."""
        mine = sa.and_(_T.c.key_id == key_id, _T.c.deleted_at.is_(None))
        query = sa.select(_T.c.batch_id).where(mine)
        newest_first = before_id is None
        if after_id is not None:
            created, ident = await self._cursor(key_id, after_id)
            query = query.where(_older_than(created, ident))
        if before_id is not None:
            created, ident = await self._cursor(key_id, before_id)
            query = query.where(_newer_than(created, ident))
        if newest_first:
            query = query.order_by(_T.c.created_at.desc(), _T.c.batch_id.desc())
        else:
            query = query.order_by(_T.c.created_at, _T.c.batch_id)
        async with self.engine.connect() as conn:
            ids = list((await conn.execute(query.limit(limit + 1))).scalars())
        has_more = len(ids) > limit
        ids = ids[:limit]
        return OwnedPage(ids if newest_first else ids[::-1], has_more)

    async def _cursor(self, key_id: str, batch_id: str) -> tuple[datetime, str]:
        owner = await self.get(batch_id)
        if owner is None or owner.key_id != key_id:  # another key's id is no cursor of this one's
            raise invalid_request(f"invalid pagination cursor: {batch_id!r}")
        return owner.created_at, owner.batch_id


def _older_than(created: datetime, ident: str) -> sa.ColumnElement[bool]:
    """Rows before (`created`, `ident`) in creation order; the id breaks ties in a timestamp."""
    return sa.or_(_T.c.created_at < created, sa.and_(_T.c.created_at == created, _T.c.batch_id < ident))


def _newer_than(created: datetime, ident: str) -> sa.ColumnElement[bool]:
    return sa.or_(_T.c.created_at > created, sa.and_(_T.c.created_at == created, _T.c.batch_id > ident))


def _owner(row: Any) -> BatchOwner:
    return BatchOwner(
        row["batch_id"],
        row["key_id"],
        row["customer"],
        row["created_at"],
        row["deleted_at"],
        row["worst_nusd"],
        row["accounted_at"],
    )
