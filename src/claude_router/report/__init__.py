"""Cost reports over the ledger: rich tables, JSON, CSV and a self-contained HTML page with charts."""

from __future__ import annotations

from .export import to_csv, to_json
from .html import render_html
from .period import parse_since
from .summary import Summary, build_summary
from .terminal import logs_table, print_run_report, render_summary

__all__ = [
    "Summary",
    "build_summary",
    "logs_table",
    "parse_since",
    "print_run_report",
    "render_html",
    "render_summary",
    "to_csv",
    "to_json",
]
