"""Every table is readable at 80 columns: ids and numbers are never cut; optional columns drop out
before anything is shortened to `C…`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from claude_router.report.fmt import usd
from claude_router.types import UsageRecord
from cli_support import invoke

WIDTHS = [80, 100, 120]


def lines_fit(output: str, width: int) -> None:
    assert "…" not in output, output
    assert max(len(line) for line in output.splitlines()) <= width, output


@pytest.mark.parametrize("width", WIDTHS)
def test_logs_keep_ids_and_costs_whole(
    ledger_path: Path, records: list[UsageRecord], tmp_path: Path, width: int
) -> None:
    result = invoke("logs", "-n", "8", "--ledger", str(ledger_path), home=tmp_path, columns=width)
    assert result.exit_code == 0, result.output
    lines_fit(result.output, width)
    as_json = invoke("logs", "-n", "8", "--json", "--ledger", str(ledger_path), home=tmp_path)
    for row in map(json.loads, as_json.output.splitlines()):
        assert row["task_id"] in result.output
    header = next(line for line in result.output.splitlines() if "Request" in line)
    assert {"Model", "Status", "Cost"} <= set(header.split())  # never dropped
    if width >= 120:
        assert {"Customer", "Label", "Latency"} <= set(header.split())  # room for the rest


@pytest.mark.parametrize("width", WIDTHS)
def test_the_report_keeps_every_model_and_cost_whole(ledger_path: Path, tmp_path: Path, width: int) -> None:
    result = invoke("report", "--since", "all", "--ledger", str(ledger_path), home=tmp_path, columns=width)
    assert result.exit_code == 0, result.output
    lines_fit(result.output, width)
    doc = json.loads(
        invoke("report", "--since", "all", "-f", "json", "--ledger", str(ledger_path), home=tmp_path).output
    )
    for group in doc["by_model"]:
        row = next(line for line in result.output.splitlines() if f" {group['model']} " in line)
        assert usd(Decimal(group["total_cost_usd"])) in row


@pytest.mark.parametrize("width", [60, *WIDTHS])
def test_key_ids_are_never_cut(tmp_path: Path, width: int) -> None:
    ledger = str(tmp_path / "ledger.db")
    for customer in ("acme-corporation-with-a-long-name", "globex"):
        args = ("keys", "create", "--customer", customer, "--budget-usd", "50", "--rpm", "600", "--json")
        assert invoke(*args, "--ledger", ledger, home=tmp_path).exit_code == 0
    ids = [
        key["key_id"]
        for key in json.loads(invoke("keys", "list", "--json", "--ledger", ledger, home=tmp_path).output)
    ]
    listed = invoke("keys", "list", "--ledger", ledger, home=tmp_path, columns=width)
    assert listed.exit_code == 0
    lines_fit(listed.output, width)
    if width >= 80:
        assert all(key_id in listed.output for key_id in ids)  # whole, on one line
    else:  # narrower than anyone should have to read: folded, every character still there
        cells = "".join(line.split()[0] for line in listed.output.splitlines()[3:] if line.strip())
        assert all(key_id in cells for key_id in ids)
