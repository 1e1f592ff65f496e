"""The demo: the eight mixed requests routed at concurrency 3, then the cost report.

Without `ANTHROPIC_API_KEY` (and no base URL configured) the requests go to the built-in
emulator, started in-process with its realistic latency model; with a key they go to the API.
Every request lands in a ledger (a temporary one unless `--ledger` names one), and the report is
read back from it, so its totals are the ledger's sums.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from rich.markup import escape

from .cli_errors import explain
from .config import Settings
from .routing.router import RoutedError, RoutedResponse, Router, RouterRequest
from .types import Label, RequestMeta
from .upstream.emulated import upstream_settings

DEMO_RESOURCE = "data/demo_requests.json"


@dataclass(frozen=True, slots=True)
class DemoRequest:
    task_id: str
    expected_label: Label
    params: dict[str, Any]


def demo_requests() -> list[DemoRequest]:
    """The eight requests the demo routes, with the label each should get."""
    raw = json.loads(resources.files("claude_router").joinpath(DEMO_RESOURCE).read_text(encoding="utf-8"))
    requests = []
    for item in raw:
        params = {k: v for k, v in item.items() if k not in ("task_id", "expected_label")}
        params["model"] = "auto"
        requests.append(DemoRequest(item["task_id"], Label(item["expected_label"]), params))
    return requests


async def run_demo(
    settings: Settings,
    requests: Sequence[DemoRequest],
    *,
    ledger: Any,
    concurrency: int = 3,
    on_result: Callable[[RoutedResponse | RoutedError], None] | None = None,
) -> list[RoutedResponse | RoutedError]:
    """Route `requests` through a router that writes to `ledger`; results in input order, and each
    handed to `on_result` as soon as it is in."""
    items = [RouterRequest(r.params, RequestMeta(task_id=r.task_id)) for r in requests]
    gate = asyncio.Semaphore(concurrency)
    async with Router(settings, ledger=ledger) as router:

        async def one(item: RouterRequest) -> RoutedResponse | RoutedError:
            async with gate:
                (result,) = await router.map([item], concurrency=1)
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(one(item) for item in items)))


async def demo_main(
    settings: Settings,
    *,
    json_out: bool = False,
    ledger_url: str | None = None,
    concurrency: int = 3,
    realistic: bool = True,
) -> int:
    """`claude-router demo`: route the demo requests, print each answer as it arrives, then the
    cost report. Returns how many requests failed."""
    from rich.console import Console

    from .ledger import open_ledger
    from .report.commands import record_json
    from .report.terminal import print_run_report

    console = Console()
    requests = demo_requests()
    with tempfile.TemporaryDirectory(prefix="claude-router-demo-") as scratch:
        target = ledger_url or str(Path(scratch) / "demo-ledger.db")
        # The ledger first: a --ledger that cannot be opened is one line before anything else.
        async with (
            await open_ledger(target) as ledger,
            upstream_settings(settings, realistic=realistic) as (routed_settings, emulated),
        ):
            if emulated and not json_out:
                latency = "realistic latency" if realistic else "no latency"
                console.print(
                    f"[yellow]No ANTHROPIC_API_KEY: routing through the built-in emulator "
                    f"({latency}, no network).[/]\n"
                )
            show = None if json_out else partial(_print_answer, console)
            if show is not None:
                console.print(f"Processing {len(requests)} requests...\n")
            results = await run_demo(
                routed_settings, requests, ledger=ledger, concurrency=concurrency, on_result=show
            )
            await ledger.flush()
            failed = sum(isinstance(r, RoutedError) for r in results)
            if json_out:
                records = [r.record for r in results if r.record is not None]
                print(json.dumps([record_json(r) for r in records], indent=2))
            else:
                ids = [r.record.request_id for r in results if r.record is not None]
                top = routed_settings.policy.label_models[Label.COMPLEX]  # the baseline: the ladder's top
                await print_run_report(console, ledger, ids, top=top)
        if ledger_url and not json_out:
            console.print(f"[dim]Ledger: {escape(ledger_url)}[/]")
    if failed:
        Console(stderr=True).print(
            f"{failed} of {len(requests)} requests failed", style="red", highlight=False
        )
    return failed


def _print_answer(console: Any, result: RoutedResponse | RoutedError) -> None:
    """One request's outcome, printed the moment it is in."""
    if isinstance(result, RoutedError):
        console.print(escape(f"[{result.task_id}] failed: {explain(result.error)}\n"), style="red")
        return
    tier = (result.model_used.split("-")[1] if "-" in result.model_used else result.model_used).upper()
    console.print(
        f"[bold]{escape(f'[{result.task_id}]')}[/] routed to [cyan]{tier}[/] "
        f"(label={result.label}, {result.latency_s:.2f}s)"
    )
    snippet = " ".join(result.text.split())
    console.print(f"  Response: {snippet[:120]}{'...' if len(snippet) > 120 else ''}\n", highlight=False)
