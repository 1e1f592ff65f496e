"""`QualityMonitor`: re-run a sample of routed requests on the tier above and judge both answers.

    monitor = attach_monitor(router, VerdictStore(ledger.store.engine))  # None unless [monitor] enabled
    ...
    await router.aclose()                                               # waits for samples in flight

A request is sampled when the router classified it (a concrete model asked for is not a routing
decision), its answering model has a tier above it on the price sheet (Haiku → Sonnet, Sonnet →
Opus; Opus answers are never sampled), and its request id hashes below `sample_rate`. The
sampled body, exactly as the cheaper model got it, is sent to the higher tier's model; the judge
compares the two answers; the verdict, with what the re-run and the judge cost, goes to the
verdict sink (the ledger's `quality_verdicts`). Monitoring spend is never added to the routed
request's own record: it is the operator's overhead, reported on its own line.

All of it runs in background tasks, at most `concurrency` samples at a time and at most
`max_pending` waiting (more are skipped and counted, never queued without bound). The caller's
`create` only pays for a hash. Errors are logged and counted, never raised to the caller.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from ..catalog.pricing import TIERS, PriceTable
from ..classify.llm import describe_error
from ..config import MonitorSettings
from ..errors import LedgerError, RouterError, UnknownModelError
from ..ledger.verdicts import Better, Verdict, VerdictSink
from ..routing.router import RoutedResponse, Router
from ..upstream import Upstream, routed_params
from .judge import Judge, Judgement
from .sampling import answer_order_swapped, is_sampled

if TYPE_CHECKING:  # the SDK is imported where it is used
    from anthropic.types import Message

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 30.0


@dataclass(slots=True)
class MonitorStats:
    """What the monitor did since it started (samples taken, skipped when full, written, failed)."""

    sampled: int = 0
    skipped: int = 0
    written: int = 0
    failed: int = 0


class QualityMonitor:
    """A `ResponseObserver` for `Router` (see the module docstring)."""

    def __init__(
        self,
        settings: MonitorSettings,
        upstream: Upstream,
        verdicts: VerdictSink,
        *,
        prices: PriceTable,
        judge: Judge | None = None,
        close_timeout_s: float = CLOSE_TIMEOUT_S,
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.verdicts = verdicts
        self.prices = prices
        self.judge = judge if judge is not None else Judge(upstream, prices, model=settings.judge_model)
        self.stats = MonitorStats()
        self._close_timeout_s = close_timeout_s
        self._gate = asyncio.Semaphore(settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Samples taken whose verdict is not yet written."""
        return len(self._tasks)

    def higher_model(self, model: str) -> str | None:
        """The price sheet's model for the tier above `model`'s; None at the top or off the sheet."""
        try:
            rank = TIERS.index(self.prices.tier_of(model))
        except UnknownModelError:
            return None
        return self.prices.tier_model(TIERS[rank + 1]) if rank + 1 < len(TIERS) else None

    def sample(self, routed: RoutedResponse) -> str | None:
        """The model to re-run `routed` on, or None when it is not in the sample."""
        if routed.decision is None or not is_sampled(routed.record.request_id, self.settings.sample_rate):
            return None
        return self.higher_model(routed.model_used)

    def observe(self, params: Mapping[str, Any], routed: RoutedResponse) -> None:
        higher = self.sample(routed)
        if higher is None:
            return
        if len(self._tasks) >= self.settings.max_pending:
            self.stats.skipped += 1
            log.debug("quality monitoring is full; %s not sampled", routed.record.request_id)
            return
        self.stats.sampled += 1
        task = asyncio.create_task(self._run(dict(params), routed, higher), name="quality sample")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Return once every sample taken so far has its verdict written (or failed)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self) -> None:
        """Let samples in flight finish (for up to `close_timeout_s`), then cancel the rest."""
        try:
            async with asyncio.timeout(self._close_timeout_s):
                await self.drain()
        except TimeoutError:
            log.warning("quality monitoring: %d samples cancelled at close", len(self._tasks))
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(set(self._tasks))

    async def _run(self, params: dict[str, Any], routed: RoutedResponse, higher: str) -> None:
        request_id = routed.record.request_id
        try:
            async with self._gate:
                verdict = await self.evaluate(params, routed, higher)
                await self.verdicts.write(verdict)
        except (LedgerError, SQLAlchemyError, OSError) as exc:
            self.stats.failed += 1
            log.warning("quality verdict for %s not stored (%s)", request_id, describe_error(exc))
        except Exception:  # a background task's boundary: nothing may reach the caller
            self.stats.failed += 1
            log.exception("quality monitoring of %s failed", request_id)
        else:
            self.stats.written += 1

    async def evaluate(self, params: Mapping[str, Any], routed: RoutedResponse, higher: str) -> Verdict:
        """Re-run `routed`'s request on `higher` and judge both answers (never raises for upstream)."""
        import anthropic

        record = routed.record
        base = Verdict(
            request_id=record.request_id,
            created_at=record.created_at,
            label=record.label.value if record.label else None,
            model=routed.model_used,
            higher_model=higher,
            better=Better.UNKNOWN,
            judge_model=self.judge.model,
            rubric=self.judge.rubric.version,
        )
        try:
            rerun = await self.upstream.create(
                routed_params(params, routed.route), model=higher, fallbacks=()
            )
        except (anthropic.APIError, RouterError) as exc:
            log.warning(
                "quality re-run of %s on %s failed (%s)", record.request_id, higher, describe_error(exc)
            )
            return replace(base, reason=f"re-run failed: {describe_error(exc)}")
        judgement = await self.judge.compare(
            request_text(params),
            answer_text(routed.message),
            answer_text(rerun.message),
            swap=answer_order_swapped(record.request_id),
        )
        return _judged(
            base,
            judgement,
            higher_model=rerun.model_used,
            rerun_usage=rerun.usage,
            rerun_cost_usd=self.prices.cost(rerun.model_used, rerun.usage),
        )


def _judged(base: Verdict, judgement: Judgement, **rerun: Any) -> Verdict:
    return replace(
        base,
        better=judgement.better,
        judge_model=judgement.model,
        cheaper_scores=dict(judgement.cheaper_scores),
        higher_scores=dict(judgement.higher_scores),
        judge_usage=judgement.usage,
        judge_cost_usd=judgement.cost_usd,
        reason=judgement.reason,
        **rerun,
    )


def _blocks(content: Any) -> str:
    """Text of a content field (a string or blocks); tool calls and results shown as JSON."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        data = block if isinstance(block, Mapping) else block.model_dump()
        kind = data.get("type")
        if kind == "text":
            parts.append(str(data.get("text", "")))
        elif kind == "tool_use":
            parts.append(f"[tool call] {data.get('name')} {json.dumps(data.get('input'), default=str)}")
        elif kind == "tool_result":
            parts.append(f"[tool result] {_blocks(data.get('content', ''))}")
    return "\n".join(p for p in parts if p)


def request_text(params: Mapping[str, Any]) -> str:
    """The request as the judge reads it: system prompt, offered tools, then every turn."""
    parts: list[str] = []
    if params.get("system"):
        parts.append(f"[system]\n{_blocks(params['system'])}")
    tools = [str(t.get("name")) for t in params.get("tools") or () if isinstance(t, Mapping)]
    if tools:
        parts.append(f"[tools offered] {', '.join(tools)}")
    for message in params.get("messages") or ():
        if isinstance(message, Mapping):
            parts.append(f"[{message.get('role')}]\n{_blocks(message.get('content'))}")
    return "\n\n".join(parts)


def answer_text(message: Message) -> str:
    return _blocks(message.content)


def attach_monitor(
    router: Router,
    verdicts: VerdictSink,
    *,
    settings: MonitorSettings | None = None,
    judge: Judge | None = None,
) -> QualityMonitor | None:
    """Monitor `router`'s answers when `[monitor] enabled` (or `settings.enabled`); else None."""
    settings = settings if settings is not None else router.settings.monitor
    if not settings.enabled:
        return None
    monitor = QualityMonitor(settings, router.upstream, verdicts, prices=router.prices, judge=judge)
    router.add_observer(monitor)
    return monitor
