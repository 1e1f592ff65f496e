"""`claude-router forecast`: what each policy would have cost on real (or planned) traffic.

A plain Typer-annotated function; the command line registers it, and its boundary turns any
failure into one clear line. It only reads: a ledger is opened read-only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..cli_options import load_settings
from ..cli_runner import run
from ..report.commands import LEDGER_HELP, read_ledger
from ..report.period import check_period, parse_since

if TYPE_CHECKING:  # the replay, the catalogue and the ledger load when the command runs
    from ..catalog.pricing import PriceTable
    from ..ledger import SqlLedger
    from .replay import Forecast
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
    now = datetime.now(UTC)
    window = (parse_since(since, now=now), parse_since(until, now=now))
    check_period(*window, since_text=since, until_text=until)
    _emit(_run(ledger, requests, policy or [], config, days, window), fmt, out)


Window = tuple[datetime | None, datetime | None]


def _run(
    ledger: str | None,
    requests: Path | None,
    drafts: list[Path],
    config: Path | None,
    days: int,
    window: Window,
) -> Forecast:
    from ..catalog.pricing import PriceTable
    from .builder import candidate_policies, needs_minutes
    from .replay import replay

    settings = load_settings(config)
    # the user's price corrections; tiers as the ladder in force has them
    prices = PriceTable.load(settings.catalog.path).for_ladder(settings.policy.label_models)
    policies = candidate_policies(settings, [(p.stem, load_settings(p).policy) for p in drafts], prices)
    if requests is not None:  # the local classifier labels them (and the emulator counts tokens)
        from ..classify.factory import local_predictor
        from .jsonl_source import read_jsonl
        from .planned import replay_planned

        planned = read_jsonl(requests, local_predictor(settings.classifier), prices)
        return run(replay_planned(planned, policies, prices, days=days, affinity=settings.cache_affinity))
    minutes = needs_minutes(policies)

    async def workload(store: SqlLedger) -> Workload:
        return await _workload(store, prices, minutes, window)

    return replay(read_ledger(ledger, settings, workload), policies, prices, days=days)


async def _workload(store: SqlLedger, prices: PriceTable, by_minute: bool, window: Window) -> Workload:
    from .ledger_source import read_ledger as read_workload

    return await read_workload(store, prices, by_minute=by_minute, since=window[0], until=window[1])


def _emit(result: Forecast, fmt: ForecastFormat, out: Path | None) -> None:
    from rich.console import Console

    from .render import render_html_page, render_table, to_json

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
