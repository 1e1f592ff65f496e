"""`claude-router forecast`: what each policy would have cost on real (or planned) traffic.

A plain Typer-annotated function; the command line registers it. Bad input ends in one clear line
on standard error and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from ..catalog.pricing import PriceTable
from ..classify.factory import local_predictor
from ..config import Settings
from ..errors import ConfigError, LedgerError
from ..ledger import SqlLedger
from ..report.commands import LEDGER_HELP, ledger_url
from ..report.period import parse_since
from .builder import candidate_policies, needs_minutes
from .jsonl_source import read_jsonl
from .ledger_source import read_ledger
from .planned import replay_planned
from .render import render_html_page, render_table, to_json
from .replay import Forecast, replay
from .workload import Workload


class ForecastFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    HTML = "html"


def forecast(
    ledger: Annotated[str | None, typer.Option("--ledger", help=LEDGER_HELP, show_default=False)] = None,
    requests: Annotated[
        Path | None,
        typer.Option(
            "--requests", help="A JSONL file of Messages API requests to forecast instead of the ledger."
        ),
    ] = None,
    policy: Annotated[
        list[Path] | None,
        typer.Option("--policy", help="A draft claude-router TOML to compare; repeat for several."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="The configuration in force (else the default).")
    ] = None,
    fmt: Annotated[ForecastFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ForecastFormat.TABLE
    ),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file.")] = None,
    days: Annotated[int, typer.Option(min=1, help="Days the projection covers.")] = 30,
    since: Annotated[
        str, typer.Option(help="Ledger window start: 7d, 24h, 2w, 90m, a UTC date, or 'all'.")
    ] = "all",
    until: Annotated[str | None, typer.Option(help="Ledger window end (exclusive), same forms.")] = None,
) -> None:
    """Replay recorded (or planned) traffic through other policies and compare their cost.

    The policy in force, each --policy draft, all-Haiku / all-Sonnet / all-Opus, and the oracle
    where quality labels exist. Calls no model.
    """
    err = Console(stderr=True)
    try:
        now = datetime.now(UTC)
        window = (parse_since(since, now=now), parse_since(until, now=now))
    except ConfigError as exc:
        raise typer.BadParameter(exc.message) from None
    try:
        result = _run(ledger, requests, policy or [], config, days, window)
    except (ConfigError, LedgerError) as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(2) from None
    except (SQLAlchemyError, OSError) as exc:  # never echo the URL: it may hold a password
        err.print(f"[red]error:[/] cannot read the ledger ({type(exc).__name__}); check --ledger")
        raise typer.Exit(1) from None
    _emit(result, fmt, out)


Window = tuple[datetime | None, datetime | None]


def _run(
    ledger: str | None,
    requests: Path | None,
    drafts: list[Path],
    config: Path | None,
    days: int,
    window: Window,
) -> Forecast:
    settings = Settings.load(config)
    # the user's price corrections; tiers as the ladder in force has them
    prices = PriceTable.load(settings.catalog.path).for_ladder(settings.policy.label_models)
    policies = candidate_policies(settings, [(p.stem, Settings.load(p).policy) for p in drafts], prices)
    if requests is not None:
        planned = read_jsonl(requests, local_predictor(settings.classifier), prices)
        return asyncio.run(
            replay_planned(planned, policies, prices, days=days, affinity=settings.cache_affinity)
        )
    minutes = needs_minutes(policies)
    workload = asyncio.run(_from_ledger(ledger or settings.ledger.url, prices, minutes, window))
    return replay(workload, policies, prices, days=days)


async def _from_ledger(ledger: str | None, prices: PriceTable, by_minute: bool, window: Window) -> Workload:
    store = await SqlLedger.open(ledger_url(ledger))
    try:
        return await read_ledger(store, prices, by_minute=by_minute, since=window[0], until=window[1])
    finally:
        await store.close()


def _emit(result: Forecast, fmt: ForecastFormat, out: Path | None) -> None:
    if fmt is ForecastFormat.TABLE:
        console = Console(record=out is not None, width=140 if out else None)
        render_table(console, result)
        if out is not None:
            out.write_text(console.export_text(), encoding="utf-8")
        return
    text = (
        json.dumps(to_json(result), indent=2) + "\n"
        if fmt is ForecastFormat.JSON
        else render_html_page(result)
    )
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        Console(stderr=True).print(f"wrote {out}")
