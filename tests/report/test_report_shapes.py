"""What a report shows a user: failures as failures (with their count) in every format, one row per
model family whichever dated id answered, untagged requests under --by tag, money written one
way, and an empty period refused rather than reported as a quiet one."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from claude_router.ledger import open_ledger
from claude_router.types import TokenUsage, UsageRecord
from cli_support import invoke

HAIKU, HAIKU_DATED = "claude-haiku-4-5", "claude-haiku-4-5-20251001"


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    """Six Haiku answers (three under the dated id, two tagged) and nine refusals, an hour ago."""
    path = tmp_path / "ledger.db"
    when = datetime.now(UTC) - timedelta(hours=1)

    async def fill() -> None:
        async with await open_ledger(path) as ledger:
            for i in range(6):
                await ledger.record(
                    UsageRecord(
                        f"ok{i}",
                        when,
                        "auto",
                        model_used=HAIKU_DATED if i % 2 else HAIKU,
                        usage=TokenUsage(100, 10),
                        cost_usd=Decimal("0.00015"),
                        cost_if_opus_usd=Decimal("0.00075"),
                        cost_if_sonnet_usd=Decimal("0.0001"),  # cheaper than what was paid: negative savings
                        tags=("nightly",) if i < 2 else (),
                    )
                )
            for i in range(9):
                await ledger.record(UsageRecord(f"no{i}", when, "auto", status="authentication_error"))

    asyncio.run(fill())
    return str(path)


def report(ledger: str, home: Path, *args: str) -> str:
    result = invoke("report", "--ledger", ledger, *args, home=home, columns=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_failures_are_shown_as_failures_with_their_count(ledger: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    report(ledger, tmp_path, "-f", "html", "-o", str(page))
    html = page.read_text()
    assert (
        '<div class="kpi bad"><div class="kpi-label">Failed requests</div><div class="kpi-value">9</div>'
        in html
    )
    assert "Failed: 9 requests (60.0%)" in html  # the donut's slice
    assert "None" not in html
    table = report(ledger, tmp_path)
    assert "Failed          9   60.0%" in table
    assert "9 errors" in table
    doc = json.loads(report(ledger, tmp_path, "-f", "json"))
    assert doc["totals"]["errors"] == 9
    assert {"tier": "failed", "requests": 9} in [
        {k: t[k] for k in ("tier", "requests")} for t in doc["tier_mix"]
    ]
    total = list(csv.DictReader(io.StringIO(report(ledger, tmp_path, "-f", "csv"))))[-1]
    assert total["errors"] == "9"


def test_one_row_per_model_family(ledger: str, tmp_path: Path) -> None:
    doc = json.loads(report(ledger, tmp_path, "-f", "json", "--by", "model"))
    models = {row["model"]: row["requests"] for row in doc["breakdown"]}
    assert models == {HAIKU: 6, None: 9}
    table = report(ledger, tmp_path, "--by", "model")
    assert HAIKU_DATED not in table
    by_tag = json.loads(report(ledger, tmp_path, "-f", "json", "--by", "tag", "--by", "model"))
    assert {(r["tag"], r["model"]): r["requests"] for r in by_tag["breakdown"]} == {
        ("nightly", HAIKU): 2,
        (None, HAIKU): 4,
        (None, None): 9,
    }


def test_untagged_requests_have_a_row_of_their_own(ledger: str, tmp_path: Path) -> None:
    table = report(ledger, tmp_path, "--by", "tag")
    untagged = next(line for line in table.splitlines() if "(untagged)" in line)
    assert " 13 " in untagged  # four answered, nine refused: none of them tagged
    doc = json.loads(report(ledger, tmp_path, "-f", "json", "--by", "tag"))
    assert sum(row["requests"] for row in doc["breakdown"]) == 15


def test_money_is_written_one_way(ledger: str, tmp_path: Path) -> None:
    table = report(ledger, tmp_path)
    assert "-$0.000300" in table  # savings against all-Sonnet: negative
    assert "$-" not in table
    text = report(ledger, tmp_path, "-f", "json") + report(ledger, tmp_path, "-f", "csv")
    assert "E-" not in text
    doc = json.loads(report(ledger, tmp_path, "-f", "json"))
    assert doc["savings_vs_sonnet_usd"] == "-0.000300000"
    assert doc["totals"]["classifier_cost_usd"] == "0.000000000"


@pytest.mark.parametrize(("since", "until"), [("1d", "7d"), ("2d", "2d")])
def test_an_empty_period_is_refused(ledger: str, tmp_path: Path, since: str, until: str) -> None:
    result = invoke("report", "--ledger", ledger, "--since", since, "--until", until, home=tmp_path)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: the period is empty: --since {since} (")
    assert "a span such as 7d counts back from now" in result.output
