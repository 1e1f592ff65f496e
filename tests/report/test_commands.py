"""`report` and `logs` as a user runs them, through the command line's app."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from claude_router.cli import app
from claude_router.ledger import Totals
from claude_router.types import UsageRecord


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("CLAUDE_ROUTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CLAUDE_ROUTER_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "180")
    return CliRunner()


def test_report_json_totals_are_the_ledger_sums(
    run: CliRunner, ledger_path: Path, records: list[UsageRecord]
) -> None:
    result = run.invoke(app, ["report", "--ledger", str(ledger_path), "--since", "all", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert Decimal(doc["actual_cost_usd"]) == Totals.of(records).total_cost_usd
    assert doc["ledger"] == str(ledger_path.resolve())


def test_report_csv_by_day_and_tag(run: CliRunner, ledger_path: Path) -> None:
    args = ["report", "--ledger", str(ledger_path), "--since", "2025-06-03", "--until", "2025-06-05"]
    result = run.invoke(app, [*args, "--by", "day", "--by", "tag", "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["day"] for r in rows[:-1]} == {"2025-06-03", "2025-06-04"}
    assert {r["tag"] for r in rows[:-1]} == {"batch-job", "customer_facing", ""}  # "": untagged


def test_report_html_and_table_files(run: CliRunner, ledger_path: Path, tmp_path: Path) -> None:
    html = tmp_path / "out.html"
    result = run.invoke(
        app, ["report", "--ledger", str(ledger_path), "--since", "all", "-f", "html", "-o", str(html)]
    )
    assert result.exit_code == 0, result.output
    assert html.read_text().count('<svg class="chart"') == 5
    table = tmp_path / "out.txt"
    result = run.invoke(app, ["report", "--ledger", str(ledger_path), "--since", "all", "-o", str(table)])
    assert result.exit_code == 0, result.output
    assert "Tier mix" in table.read_text()


def test_report_table_on_the_terminal(run: CliRunner, ledger_path: Path) -> None:
    result = run.invoke(app, ["report", "--ledger", str(ledger_path), "--since", "all", "--by", "customer"])
    assert result.exit_code == 0, result.output
    assert "Top customers" in result.stdout
    assert "Savings vs all Opus" in result.stdout


def test_default_ledger_comes_from_the_config(
    run: CliRunner, ledger_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "router.toml"
    config.write_text(f'[ledger]\nurl = "{ledger_path}"\n')
    monkeypatch.setenv("CLAUDE_ROUTER_CONFIG", str(config))
    result = run.invoke(app, ["logs", "-n", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["task_id"] for line in result.stdout.splitlines()] == [
        "task-1199",
        "task-1198",
        "task-1197",
    ]


def test_logs_filters_by_customer(run: CliRunner, ledger_path: Path) -> None:
    result = run.invoke(app, ["logs", "--ledger", str(ledger_path), "-n", "4", "--customer", "cust-2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("cust-2") == 4
    assert "cust-1 " not in result.stdout
    result = run.invoke(app, ["logs", "--ledger", str(ledger_path), "--customer", "nobody"])
    assert "no requests recorded for customer nobody" in result.stdout


def test_missing_ledger_is_a_clean_error(run: CliRunner, tmp_path: Path) -> None:
    result = run.invoke(app, ["report", "--ledger", str(tmp_path / "nothing.db")])
    assert result.exit_code == 1
    assert "no ledger at" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "nothing.db").exists()


def test_unreachable_postgres_never_shows_the_password(run: CliRunner) -> None:
    url = "postgresql://router:hunter2@127.0.0.1:9/ledger"  # nothing listens on port 9
    result = run.invoke(app, ["logs", "--ledger", url])
    assert result.exit_code == 1
    assert "cannot open the ledger at postgresql://router:***@127.0.0.1:9/ledger" in result.output
    assert "connection refused" in result.output
    assert "hunter2" not in result.output


@pytest.mark.parametrize(
    ("args", "message"), [(["--since", "soon"], "use a span"), (["--by", "week"], "week")]
)
def test_bad_options(run: CliRunner, ledger_path: Path, args: list[str], message: str) -> None:
    result = run.invoke(app, ["report", "--ledger", str(ledger_path), *args])
    assert result.exit_code == 2
    assert message in result.output
