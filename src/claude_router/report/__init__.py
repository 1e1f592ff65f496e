"""Cost reports over the ledger: rich tables, JSON, CSV and a self-contained HTML page with charts."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .period import parse_since

if TYPE_CHECKING:
    from .export import to_csv, to_json
    from .html import render_html
    from .summary import Summary, build_summary
    from .terminal import logs_table, print_run_report, render_summary

# Loaded on first use: importing a module of this package (its commands) stays light.
_LAZY = {
    "to_csv": "export",
    "to_json": "export",
    "render_html": "html",
    "Summary": "summary",
    "build_summary": "summary",
    "logs_table": "terminal",
    "print_run_report": "terminal",
    "render_summary": "terminal",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
