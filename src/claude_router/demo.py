"""The demo: the eight mixed requests routed at concurrency 3, then the cost report.

Without `ANTHROPIC_API_KEY` (and no base URL configured) the requests go to the built-in
emulator, started in-process with its realistic latency model; with a key they go to the API.
Every request lands in a ledger (a temporary one unless `--ledger` names one), and the report is
read back from it, so its totals are the ledger's sums.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rich.markup import escape

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
    settings: Settings, requests: Sequence[DemoRequest], *, ledger: Any, concurrency: int = 3
) -> list[RoutedResponse | RoutedError]:
    """Route `requests` through a router that writes to `ledger`; results in input order."""
    items = [RouterRequest(r.params, RequestMeta(task_id=r.task_id)) for r in requests]
    async with Router(settings, ledger=ledger) as router:
        return await router.map(items, concurrency=concurrency)


async def demo_main(
    settings: Settings,
    *,
    json_out: bool = False,
    ledger_url: str | None = None,
    concurrency: int = 3,
    realistic: bool = True,
) -> None:
    """`claude-router demo`: route the demo requests, then print each answer and the cost report."""
    from rich.console import Console

    from .ledger import open_ledger
    from .report.commands import record_json
    from .report.terminal import print_run_report

    console = Console()
    requests = demo_requests()
    with tempfile.TemporaryDirectory(prefix="claude-router-demo-") as scratch:
        target = ledger_url or str(Path(scratch) / "demo-ledger.db")
        async with upstream_settings(settings, realistic=realistic) as (routed_settings, emulated):
            if emulated and not json_out:
                latency = "realistic latency" if realistic else "no latency"
                console.print(
                    f"[yellow]No ANTHROPIC_API_KEY: routing through the built-in emulator "
                    f"({latency}, no network).[/]\n"
                )
            async with await open_ledger(target) as ledger:
                results = await run_demo(routed_settings, requests, ledger=ledger, concurrency=concurrency)
                await ledger.flush()
                if json_out:
                    records = [r.record for r in results if r.record is not None]
                    print(json.dumps([record_json(r) for r in records], indent=2))
                    return
                _print_answers(console, results)
                ids = [r.record.request_id for r in results if r.record is not None]
                top = routed_settings.policy.label_models[Label.COMPLEX]  # the baseline: the ladder's top
                await print_run_report(console, ledger, ids, top=top)
        if ledger_url:
            console.print(f"[dim]Ledger: {ledger_url}[/]")


def _print_answers(console: Any, results: Sequence[RoutedResponse | RoutedError]) -> None:
    console.print(f"Processing {len(results)} requests...\n")
    for result in results:
        if isinstance(result, RoutedError):
            failure = f"[{result.task_id}] failed: {type(result.error).__name__}: {result.error}"
            console.print(escape(failure), style="red")
            continue
        tier = (result.model_used.split("-")[1] if "-" in result.model_used else result.model_used).upper()
        console.print(
            f"[bold]{escape(f'[{result.task_id}]')}[/] routed to [cyan]{tier}[/] "
            f"(label={result.label}, {result.latency_s:.2f}s)"
        )
        snippet = " ".join(result.text.split())
        console.print(f"  Response: {snippet[:120]}{'...' if len(snippet) > 120 else ''}\n", highlight=False)
