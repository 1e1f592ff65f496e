"""Daily spend alerts: per customer and for the total, checked as ledger batches are committed.

When a UTC day's spend crosses a threshold, a warning is logged and, if a webhook is configured,
a JSON document is POSTed to it. Each (day, scope) fires once: the claim is a row in the
ledger's `alert_state` table, inserted before the POST, so neither a restart nor a second
gateway replica alerts twice. A failed POST is logged and not retried.

    ledger = await open_configured_ledger(settings)      # alerts attached when configured
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from ..config import AlertSettings, Settings
from ..types import UsageRecord
from . import BufferedLedger, Dimension, SqlLedger, merge_groups, open_ledger, to_nano

log = logging.getLogger(__name__)
TOTAL = "total"


@dataclass(frozen=True, slots=True)
class SpendAlert:
    day: date
    scope: str  # "total" or "customer:<name>"
    customer: str | None
    spent_usd: Decimal
    threshold_usd: Decimal

    def payload(self) -> dict[str, object]:
        return {
            "type": "spend_alert",
            "period": "day",
            "day": self.day.isoformat(),
            "scope": TOTAL if self.customer is None else "customer",
            "customer": self.customer,
            "spent_usd": str(self.spent_usd),
            "threshold_usd": str(self.threshold_usd),
        }


class SpendAlerts:
    """Checks a day's spend against the thresholds; fires each alert once per day."""

    def __init__(self, store: SqlLedger, settings: AlertSettings) -> None:
        self._store = store
        self._settings = settings
        self._dirty: dict[date, set[str | None]] = {}
        self._running = False

    def attach(self, ledger: BufferedLedger) -> None:
        ledger.subscribe(self.on_batch)

    def threshold_for(self, customer: str) -> Decimal | None:
        return self._settings.customers.get(customer, self._settings.daily_customer_usd)

    async def on_batch(self, records: Sequence[UsageRecord]) -> None:
        """Note the days and customers a committed batch touched, and check them. At most one check
        runs at a time; batches that arrive meanwhile are folded into the next round."""
        for rec in records:
            day = rec.created_at.astimezone(UTC).date()
            self._dirty.setdefault(day, set()).add(rec.customer)
        if self._running:
            return
        self._running = True
        try:
            while self._dirty:
                dirty, self._dirty = self._dirty, {}
                for day in sorted(dirty):
                    await self.check(day, dirty[day])
        finally:
            self._running = False

    async def check(self, day: date, customers: set[str | None] | None = None) -> list[SpendAlert]:
        """Fire the alerts that `day`'s spend now crosses (among `customers`, if given)."""
        since = datetime.combine(day, time(), tzinfo=UTC)
        until = since + timedelta(days=1)
        crossed: list[SpendAlert] = []
        limit = self._settings.daily_total_usd
        if limit is not None:
            spent = merge_groups(await self._store.totals(since=since, until=until)).total_cost_usd
            if spent >= limit:
                crossed.append(SpendAlert(day, TOTAL, None, spent, limit))
        if self._settings.daily_customer_usd is not None or self._settings.customers:
            for group in await self._store.totals([Dimension.CUSTOMER], since=since, until=until):
                customer = group.key[Dimension.CUSTOMER]
                if not isinstance(customer, str) or (customers is not None and customer not in customers):
                    continue
                limit = self.threshold_for(customer)
                spent = group.totals.total_cost_usd
                if limit is not None and spent >= limit:
                    crossed.append(SpendAlert(day, f"customer:{customer}", customer, spent, limit))
        return [alert for alert in crossed if await self._fire(alert)]

    async def _fire(self, alert: SpendAlert) -> bool:
        claimed = await self._store.claim_alert(
            alert.day.isoformat(),
            alert.scope,
            threshold_nusd=to_nano(alert.threshold_usd),
            spent_nusd=to_nano(alert.spent_usd),
        )
        if not claimed:
            return False
        who = "total spend" if alert.customer is None else f"customer {alert.customer!r}"
        log.warning(
            "spend alert: %s reached $%s on %s (daily threshold $%s)",
            who,
            alert.spent_usd,
            alert.day,
            alert.threshold_usd,
        )
        if self._settings.webhook_url is not None:
            await self._post(alert)
        return True

    async def _post(self, alert: SpendAlert) -> None:
        assert self._settings.webhook_url is not None
        url = self._settings.webhook_url.get_secret_value()
        body = json.dumps(alert.payload()).encode()
        try:
            await asyncio.to_thread(_post_json, url, body, self._settings.webhook_timeout_s)
        except (urllib.error.URLError, OSError, ValueError) as exc:  # the URL may hold a token: not logged
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else type(exc).__name__
            log.error("spend alert webhook failed for %s on %s: %s", alert.scope, alert.day, reason)


_HEADERS = {"content-type": "application/json", "user-agent": "claude-router"}


def _post_json(url: str, body: bytes, timeout_s: float) -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError("the webhook URL must be http:// or https://")
    request = urllib.request.Request(url, data=body, method="POST", headers=_HEADERS)
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()


async def open_configured_ledger(
    settings: Settings, url_or_path: str | Path | None = None, *, home: Path | None = None
) -> BufferedLedger:
    """The ledger named by `url_or_path`, else by the settings; spend alerts attached when configured."""
    ledger = await open_ledger(url_or_path or settings.ledger.url, home=home)
    if settings.ledger.alerts.enabled:
        SpendAlerts(ledger.store, settings.ledger.alerts).attach(ledger)
    return ledger
