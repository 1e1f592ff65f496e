"""`claude-router report` and `claude-router logs`: the ledger, read back for people.

These are plain Typer-annotated functions; the CLI registers them as commands.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from ..catalog.pricing import PriceTable
from ..config import Settings
from ..errors import ConfigError, LedgerError
from ..ledger import Dimension, SqlLedger, resolve_url
from ..ledger.verdicts import VerdictStore
from ..routing.accounting import Baseline
from ..types import UsageRecord
from .export import to_csv, to_json
from .html import render_html
from .period import parse_since
from .summary import Summary, build_summary
from .terminal import logs_table, render_summary

T = TypeVar("T")
LEDGER_HELP = (
    "A SQLite path or a postgresql:// URL (default: the config's [ledger] url, else the data directory)."
)
LedgerOption = Annotated[str | None, typer.Option("--ledger", help=LEDGER_HELP, show_default=False)]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def ledger_url(ledger: str | None) -> str:
    """The ledger to read: --ledger, else the config, else the data directory. A SQLite file that
    does not exist is an error (reading must not leave an empty ledger behind)."""
    url = resolve_url(ledger if ledger else Settings.load().ledger.url)
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        if not path.exists():
            raise LedgerError(f"no ledger at {path}: nothing has been recorded there yet")
    return url


def _read(ledger: str | None, work: Callable[[SqlLedger], Awaitable[T]]) -> T:
    """Open the ledger, run `work` on it, close it; a clean error and exit 1 on failure."""

    async def run() -> T:
        store = await SqlLedger.open(ledger_url(ledger))
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (ConfigError, LedgerError) as exc:
        message = exc.message
    except (SQLAlchemyError, OSError) as exc:  # never echo the URL: it may hold a password
        message = f"cannot read the ledger ({type(exc).__name__}); check --ledger and that the database is up"
    Console(stderr=True).print(f"[red]error:[/] {message}")
    raise typer.Exit(1)


def report(
    since: Annotated[str, typer.Option(help="Window start: 7d, 24h, 2w, 90m, a UTC date, or 'all'.")] = "7d",
    until: Annotated[
        str | None, typer.Option(help="Window end (exclusive), same forms; default: now.")
    ] = None,
    by: Annotated[
        list[Dimension] | None, typer.Option("--by", help="Breakdown; repeat to cross (--by day --by model).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.TABLE,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file.", show_default=False)
    ] = None,
    customer: Annotated[str | None, typer.Option(help="Only this customer.", show_default=False)] = None,
    top: Annotated[int, typer.Option(min=1, help="How many top customers to list.")] = 10,
    ledger: LedgerOption = None,
) -> None:
    """Cost report: tier mix, cost against the ladder's top and middle models, classifier and cache shares.

    As tables, JSON, CSV or one self-contained HTML page with charts.
    """
    try:
        now = datetime.now(UTC)
        start, end = parse_since(since, now=now), parse_since(until, now=now)
    except ConfigError as exc:
        raise typer.BadParameter(exc.message) from None
    dims = tuple(by or [Dimension.MODEL])

    async def work(store: SqlLedger) -> Summary:
        settings = Settings.load()
        flag_share = settings.monitor.flag_share
        verdicts = VerdictStore(store.engine) if customer is None else None  # verdicts are not per customer
        prices = PriceTable.load(settings.catalog.path)
        return await build_summary(
            store,
            since=start,
            until=end,
            customer=customer,
            by=dims,
            top=top,
            name=store.url,
            verdicts=verdicts,
            flag_share=flag_share,
            prices=prices,
            baseline=Baseline.of_ladder(settings.policy.label_models),  # the ladder in force
        )

    _emit(_read(ledger, work), fmt, out)


def _emit(summary: Summary, fmt: Format, out: Path | None) -> None:
    if fmt is Format.TABLE:
        console = Console(record=out is not None, width=140 if out else None)
        render_summary(console, summary)
        if out is not None:
            out.write_text(console.export_text(), encoding="utf-8")
        return
    if fmt is Format.JSON:
        text = json.dumps(to_json(summary), indent=2) + "\n"
    elif fmt is Format.CSV:
        text = to_csv(summary)
    else:
        text = render_html(summary)
        out = out or Path(f"claude-router-report-{summary.generated_at:%Y%m%d-%H%M%S}.html")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        Console(stderr=True).print(f"wrote {out}")


def logs(
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many requests.")] = 20,
    customer: Annotated[str | None, typer.Option(help="Only this customer.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ledger: LedgerOption = None,
) -> None:
    """The latest requests in the ledger, newest first, like a log viewer."""

    async def work(store: SqlLedger) -> list[UsageRecord]:
        return await store.rows(customer=customer, limit=count)

    records = _read(ledger, work)
    if as_json:
        for rec in records:
            typer.echo(json.dumps(record_json(rec)))
        return
    console = Console()
    if not records:
        console.print("no requests recorded" + (f" for customer {customer}" if customer else ""))
        return
    console.print(logs_table(records))


def record_json(rec: UsageRecord) -> dict[str, object]:
    """One ledger record as JSON (money as exact decimal strings; null with `priced: false` for a
    model the price sheet does not know, never "0")."""
    u, c = rec.usage, rec.classifier_usage
    return {
        "request_id": rec.request_id,
        "created_at": rec.created_at.isoformat(),
        "task_id": rec.task_id,
        "customer": rec.customer,
        "tags": list(rec.tags),
        "label": rec.label.value if rec.label else None,
        "model_requested": rec.model_requested,
        "model_used": rec.model_used,
        "effort": rec.effort,
        "adapted": list(rec.adapted),
        "status": rec.status,
        "batch": rec.batch,
        "fallback": rec.fallback,
        "retries": rec.retries,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_write_5m_tokens": u.cache_write_5m_tokens,
        "cache_write_1h_tokens": u.cache_write_1h_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "inference_geo": u.inference_geo,
        "speed": u.speed,
        "classifier_input_tokens": c.input_tokens,
        "classifier_output_tokens": c.output_tokens,
        "priced": rec.priced,
        "cost_usd": str(rec.cost_usd) if rec.priced else None,
        "classifier_cost_usd": str(rec.classifier_cost_usd),
        "cost_if_opus_usd": str(rec.cost_if_opus_usd) if rec.priced else None,
        "latency_s": rec.latency_s,
        "ttft_s": rec.ttft_s,
    }
