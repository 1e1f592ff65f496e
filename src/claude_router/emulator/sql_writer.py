"""A SQL query built from the tables and columns a request names.

    "the 10 customers with the highest total order value, given the tables
     orders(id, customer_id, total) and customers(id, name, email)"
    ->  SELECT c.id, c.name, SUM(o.total) AS total_order ... JOIN ... GROUP BY ... LIMIT 10;

Tables are read from `name(col, col, ...)`; two tables join where one has `<other>_id`; the
aggregate, its direction and the row limit come from cue words (`[sql]` in answers.toml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .phrasebook import Aggregate, Sql

_TABLE = re.compile(r"\b([A-Za-z_]\w*)\s*\(\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*\)")
_NAMED_TABLE = re.compile(r"\b(?:from|in|the)\s+([a-z_]\w*)\s+table\b")
_LIMIT = re.compile(r"\b(?:top|first|the|best|worst|last)\s+(\d{1,4})\b|\blimit\s+(\d{1,4})\b")


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]

    @property
    def singular(self) -> str:
        return self.name[:-1] if self.name.endswith("s") and not self.name.endswith("ss") else self.name


@dataclass(frozen=True, slots=True)
class Query:
    sql: str
    slots: dict[str, str]  # what the explanatory notes may name: fact, dim, fk, col, limit


def write_sql(text: str, book: Sql) -> Query:
    lower = text.lower()
    tables = [
        Table(name, tuple(c.strip() for c in cols.split(",")))
        for name, cols in _TABLE.findall(text)
        if name.lower() not in book.functions
    ]
    limit_match = _LIMIT.search(lower)
    limit = next((g for g in limit_match.groups() if g), "") if limit_match else ""
    order = "ASC" if book.ascending.search(lower) else "DESC"
    aggregate = next((a for a in book.aggregates if a.cue.search(lower)), None)
    joined = _join(tables)
    if joined is not None:
        return _joined(*joined, aggregate, order, limit, book)
    if tables:
        return _single(tables[0], aggregate, order, limit, book)
    named = _NAMED_TABLE.search(lower)
    name = named.group(1) if named else book.default_table
    return Query(f"SELECT *\nFROM {name}\nLIMIT {limit or 100};", {"fact": name})


def _join(tables: list[Table]) -> tuple[Table, Table, str] | None:
    """(fact, dimension, foreign key) for the first pair where one table points at the other."""
    for fact in tables:
        for dim in tables:
            key = f"{dim.singular}_id"
            if dim is not fact and key in fact.columns:
                return fact, dim, key
    return None


def _aliases(fact: Table, dim: Table) -> tuple[str, str]:
    f, d = fact.name[0], dim.name[0]
    return (f, d) if f != d else (fact.name[:2], dim.name[:2])


def _measure(table: Table, book: Sql) -> str | None:
    return next((c for c in table.columns if c in book.measures), None)


def _alias(aggregate: Aggregate, fact: Table, col: str) -> str:
    alias = aggregate.alias.format(fact=fact.singular, col=col)
    return f"{fact.singular}_{col}" if alias == f"total_{col}" and col == "total" else alias


def _joined(
    fact: Table, dim: Table, key: str, aggregate: Aggregate | None, order: str, limit: str, book: Sql
) -> Query:
    f, d = _aliases(fact, dim)
    shown = [f"{d}.id"] if "id" in dim.columns else []
    shown += [f"{d}.{c}" for c in dim.columns if c in book.display][:1]
    col = _measure(fact, book) or "id"
    lines = []
    if aggregate is not None:
        alias = _alias(aggregate, fact, col)
        value = "COUNT(*)" if aggregate.function == "COUNT" else f"{aggregate.function}({f}.{col})"
        lines.append(f"SELECT {', '.join(shown)}, {value} AS {alias}")
    else:
        alias = f"{f}.{col}"
        lines.append(f"SELECT {', '.join([*shown, alias])}")
    lines.append(f"FROM {dim.name} AS {d}")
    lines.append(f"JOIN {fact.name} AS {f} ON {f}.{key} = {d}.id")
    if aggregate is not None:
        lines.append(f"GROUP BY {', '.join(shown)}")
    lines.append(f"ORDER BY {alias} {order}")
    if limit:
        lines.append(f"LIMIT {limit}")
    slots = {"fact": fact.name, "dim": dim.name, "fk": key, "col": col}
    if limit:
        slots["limit"] = limit
    return Query("\n".join(lines) + ";", slots)


def _single(table: Table, aggregate: Aggregate | None, order: str, limit: str, book: Sql) -> Query:
    col = _measure(table, book)
    if aggregate is not None and col is not None:
        group = next((c for c in table.columns if c.endswith("_id")), None)
        value = "COUNT(*)" if aggregate.function == "COUNT" else f"{aggregate.function}({col})"
        alias = _alias(aggregate, table, col)
        head = [group] if group else []
        lines = [f"SELECT {', '.join([*head, f'{value} AS {alias}'])}", f"FROM {table.name}"]
        if group:
            lines += [f"GROUP BY {group}", f"ORDER BY {alias} {order}"]
    else:
        lines = [f"SELECT {', '.join(table.columns[:4])}", f"FROM {table.name}"]
        if col is not None:
            lines.append(f"ORDER BY {col} {order}")
    if limit:
        lines.append(f"LIMIT {limit}")
    slots = {"fact": table.name, **({"col": col} if col else {}), **({"limit": limit} if limit else {})}
    return Query("\n".join(lines) + ";", slots)
