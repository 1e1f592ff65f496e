"""Tables that fit the terminal: ids and numbers are never cut. When a table is too wide, its
optional columns go first (the least useful first), then an id folds onto a second line; no cell
is ever shortened to `C…` or `$0…`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

Kind = Literal["id", "number", "text"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a fitted table. `drop` 0 is always shown; a higher one goes earlier."""

    header: str
    kind: Kind = "text"
    drop: int = 0


def fitted_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, **options: Any
) -> Table:
    """A table of `rows` at most `width` cells wide where its content allows, built by dropping
    optional columns; ids fold and numbers stay whole even when the required columns alone are
    wider. `options` go to `rich.table.Table`."""
    shown = list(range(len(columns)))
    table = _table(columns, rows, shown, options)
    measure = Console(width=max(width, 1), color_system=None)
    while _natural_width(measure, table) > width:
        optional = [i for i in shown if columns[i].drop > 0]
        if not optional:
            break
        shown.remove(max(optional, key=lambda i: (columns[i].drop, i)))
        table = _table(columns, rows, shown, options)
    return table


def _natural_width(console: Console, table: Table) -> int:
    return console.measure(table, options=console.options.update_width(10_000)).maximum


def _table(columns: Sequence[Column], rows: Sequence[Sequence[str]], shown: list[int], options: Any) -> Table:
    table = Table(**options)
    for i in shown:
        column = columns[i]
        if column.kind == "number":  # a fixed width: Rich narrows the other columns first
            cells = [column.header, *(row[i] for row in rows)]
            whole = max(Text.from_markup(cell).cell_len for cell in cells)
            table.add_column(column.header, justify="right", no_wrap=True, width=whole)
        elif column.kind == "id":
            table.add_column(column.header, overflow="fold")
        else:
            table.add_column(column.header)
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    return table


__all__ = ["Column", "fitted_table"]
