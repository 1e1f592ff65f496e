"""What a virtual key is, as data: its record, its budget period, a customer's budget, a new key.

Apart from the key store (`keys.py`) so that the command line can name these without loading
the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"
    TOTAL = "total"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as stored: never the key itself."""

    key_id: str
    customer: str
    hint: str
    created_at: datetime
    budget_usd: Decimal | None = None
    period: Period | None = None
    rpm: int | None = None
    tpm: int | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "customer": self.customer,
            "hint": f"...{self.hint}",
            "budget_usd": str(self.budget_usd) if self.budget_usd is not None else None,
            "period": self.period.value if self.period is not None else None,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True, slots=True)
class CustomerBudget:
    """A dollar budget shared by every key of one customer."""

    customer: str
    budget_usd: Decimal
    period: Period

    def as_json(self) -> dict[str, Any]:
        return {"customer": self.customer, "budget_usd": str(self.budget_usd), "period": self.period.value}


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # the only time it exists outside the client
    info: KeyInfo
