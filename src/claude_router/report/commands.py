"""`claude-router report` and `claude-router logs`: the ledger, read back for people.

These are plain Typer-annotated functions; the CLI registers them as commands. Both only read:
the ledger is opened read-only, and a missing or empty one is one clear line, never a new file
or table. Failures reach the command line's boundary, which prints them as one line.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ..cli_options import ConfigOption, load_settings
from ..cli_runner import run
from ..ledger import Dimension
from .period import check_period, parse_since

if TYPE_CHECKING:  # the store and the renderers load when a command runs, not for --help
    from ..config import Settings
    from ..ledger import SqlLedger
    from ..types import UsageRecord
    from .summary import Summary

T = TypeVar("T")
LEDGER_HELP = (
    "A SQLite path or a postgresql:// URL (default: the config's \\[ledger] url, else the data directory)."
)
LedgerOption = Annotated[str | None, typer.Option("--ledger", help=LEDGER_HELP, show_default=False)]


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def read_ledger(ledger: str | None, settings: Settings, work: Callable[[SqlLedger], Awaitable[T]]) -> T:
    """Open the ledger read-only (--ledger, else the settings', else the data directory's), run
    `work` on it, close it."""
    from ..ledger import SqlLedger

    async def read() -> T:
        store = await SqlLedger.open_readonly(ledger or settings.ledger.url)
        try:
            return await work(store)
        finally:
            await store.close()

    return run(read())


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
    config: ConfigOption = None,
) -> None:
    """Cost report: tier mix, cost against the ladder's top and middle models, classifier and cache shares.

    As tables, JSON, CSV or one self-contained HTML page with charts.
    """
    now = datetime.now(UTC)
    start, end = parse_since(since, now=now), parse_since(until, now=now)
    check_period(start, end, since_text=since, until_text=until)
    dims = tuple(by or [Dimension.MODEL])
    settings = load_settings(config)

    async def work(store: SqlLedger) -> Summary:
        from ..catalog.pricing import Baseline, PriceTable
        from ..ledger.verdicts import VerdictStore
        from .summary import build_summary

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
            flag_share=settings.monitor.flag_share,
            prices=prices,
            baseline=Baseline.of_ladder(settings.policy.label_models),  # the ladder in force
        )

    _emit(read_ledger(ledger, settings, work), fmt, out)


def _emit(summary: Summary, fmt: Format, out: Path | None) -> None:
    from rich.console import Console

    if fmt is Format.TABLE:
        from .terminal import render_summary

        console = Console(record=out is not None, width=140 if out else None)
        render_summary(console, summary)
        if out is not None:
            out.write_text(console.export_text(), encoding="utf-8")
        return
    if fmt is Format.JSON:
        from .export import to_json

        text = json.dumps(to_json(summary), indent=2) + "\n"
    elif fmt is Format.CSV:
        from .export import to_csv

        text = to_csv(summary)
    else:
        from .html import render_html

        text = render_html(summary)
        out = out or Path(f"claude-router-report-{summary.generated_at:%Y%m%d-%H%M%S}.html")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        Console(stderr=True).print(f"wrote {out}", markup=False, highlight=False)


def logs(
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many requests.")] = 20,
    customer: Annotated[str | None, typer.Option(help="Only this customer.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ledger: LedgerOption = None,
    config: ConfigOption = None,
) -> None:
    """The latest requests in the ledger, newest first, like a log viewer."""
    from rich.console import Console

    async def work(store: SqlLedger) -> list[UsageRecord]:
        return await store.rows(customer=customer, limit=count)

    records = read_ledger(ledger, load_settings(config), work)
    if as_json:
        for rec in records:
            typer.echo(json.dumps(record_json(rec)))
        return
    console = Console()
    if not records:
        console.print(
            "no requests recorded" + (f" for customer {customer}" if customer else ""), markup=False
        )
        return
    from .terminal import logs_table

    console.print(logs_table(records, console.width))


def record_json(rec: UsageRecord) -> dict[str, object]:
    """One ledger record as JSON (money as exact decimal strings; null with `priced: false` for a
    model the price sheet does not know, never "0")."""
    from ..ledger.money import usd_text

    u, c = rec.usage, rec.classifier_usage
    return {
        "request_id": rec.request_id,
        "created_at": rec.created_at.isoformat(),
        "task_id": rec.task_id,
        "session": rec.session,
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
        "cost_usd": usd_text(rec.cost_usd) if rec.priced else None,
        "classifier_cost_usd": usd_text(rec.classifier_cost_usd),
        "cost_if_opus_usd": usd_text(rec.cost_if_opus_usd) if rec.priced else None,
        "latency_s": rec.latency_s,
        "ttft_s": rec.ttft_s,
    }
