"""What the bulk statements need that PostgreSQL and SQLite spell differently, and nothing
else: a list of rows as a table, a list of values to match, a row lock.

The statements themselves (rules.py, updates.py) are written once. On PostgreSQL rows go
in as one array per column through unnest(), in binary (boztell.bulk.server_cursor): the
statement text never changes, so the server parses and plans it once per connection.
A few rows go in as VALUES on both (cheaper than arrays for psycopg to pass). On SQLite
they always go in as VALUES, and the transaction (IMMEDIATE) is the lock.
"""

import json
import uuid
from dataclasses import dataclass

from django.db import connection
from psycopg.types.json import Jsonb

from boztell.bulk import FEW, server_cursor


@dataclass(frozen=True)
class Column:
    """A column of a rows table: its name in the statement and its PostgreSQL type
    (uuid, text, timestamptz, int, bool or jsonb)."""

    name: str
    type: str


def postgresql() -> bool:
    return connection.vendor == "postgresql"


def rows_table(columns: tuple[Column, ...], rows: list[tuple], alias: str = "v"):
    """`rows` as a table named `alias` for a FROM clause: (sql, params)."""
    names = ", ".join(c.name for c in columns)
    if postgresql() and 0 < len(rows) <= FEW:
        # A few rows (a quiet webhook's one message): a parameter per value. Each array
        # costs psycopg a pass to find its element type, more than the values themselves.
        row = "(" + ", ".join(f"%b::{c.type}" for c in columns) + ")"
        params = [
            Jsonb(value) if c.type == "jsonb" else value
            for r in rows
            for c, value in zip(columns, r, strict=True)
        ]
        return f"(VALUES {', '.join([row] * len(rows))}) AS {alias}({names})", params
    if postgresql():
        arrays = ", ".join(f"%b::{c.type}[]" for c in columns)
        params = [list(column) for column in zip(*rows, strict=True)]
        for i, c in enumerate(columns):
            if c.type == "jsonb":
                params[i] = [Jsonb(value) for value in params[i]]
        return f"unnest({arrays}) AS {alias}({names})", params
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    renamed = ", ".join(f"column{i + 1} AS {c.name}" for i, c in enumerate(columns))
    values = ", ".join([row] * len(rows))
    params = [_sqlite(c.type, value) for r in rows for c, value in zip(columns, r, strict=True)]
    return f"(SELECT {renamed} FROM (VALUES {values})) AS {alias}", params  # noqa: S608


def _sqlite(kind: str, value):
    """A value as Django stores it in SQLite."""
    if value is None:
        return None
    if kind == "uuid":
        return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).hex
    if kind == "timestamptz":
        return connection.ops.adapt_datetimefield_value(value)
    if kind == "bool":
        return int(value)
    if kind == "jsonb":
        return json.dumps(value)
    return value


def any_of(column: str, values: list):
    """`column` is one of `values`: (sql, params). An empty list matches nothing. Many
    values on PostgreSQL: one array; a few: a parameter each (cheaper to pass)."""
    if postgresql() and len(values) > FEW:
        return f"{column} = ANY(%s)", [list(values)]
    if not values:
        return "0 = 1", []
    if not postgresql():  # SQLite: UUIDs as Django stores them there
        values = [v.hex if isinstance(v, uuid.UUID) else v for v in values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def lock_of(alias: str) -> str:
    """Lock the rows read (PostgreSQL); SQLite's IMMEDIATE transaction already holds the
    database."""
    return f" FOR UPDATE OF {alias}" if postgresql() else ""


def execute(sql: str, params: list) -> None:
    """Execute a bulk statement (server-side binding on PostgreSQL: see server_cursor)."""
    with server_cursor() as cursor:
        cursor.execute(sql, params)
