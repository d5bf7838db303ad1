"""Many rows in one INSERT, with the ids back: the write path for what arrives in bulk
(a webhook body's messages, a second's worth of events).

Django's `bulk_create` compiles a query per call and, with `ignore_conflicts`, cannot say
which rows went in. This builds one statement per row count, once, and returns the ids
the database wrote (`RETURNING id`), so a caller knows which rows were new. It works on
PostgreSQL and SQLite (3.35+).
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

CHUNK = 500  # rows per INSERT: well under SQLite's 32,766 parameters
FEW = 8  # up to this many rows, VALUES; more, on PostgreSQL, arrays through unnest()


def _unnest(db, rows: int) -> bool:
    return db.vendor == "postgresql" and rows > FEW


@contextmanager
def server_cursor() -> Iterator:
    """A cursor for the bulk statements. On PostgreSQL it sends the parameters apart from
    the query (server-side binding), so arrays go in binary (`%b`): about 6 times cheaper
    than quoting them into the SQL text as Django's client-side cursor does. Django's
    error classes still apply; its query log (DEBUG, CaptureQueriesContext) does not see
    these statements. On SQLite, Django's own cursor."""
    # The connection object itself: each `connection.x` is a lookup in asgiref's
    # thread-critical local, a tenth of a queued webhook answer's CPU when done five times.
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    db.ensure_connection()
    with db.wrap_database_errors, _prepared_cursor()(db.connection) as cursor:
        yield cursor


@cache
def _prepared_cursor() -> type:
    import psycopg

    class PreparedCursor(psycopg.Cursor):
        """Statements the server parses and plans once per connection: the bulk
        statements are few and run all the time."""

        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    return PreparedCursor


@cache
def _insert_sql(model: type[models.Model], with_pk: bool, rows: int, ignore: bool) -> str:
    """Many rows on PostgreSQL: one statement whatever the count, an array per column
    through unnest() (as Django's own bulk_create does), so psycopg parses a short query
    once rather than thousands of placeholders every time. A few rows (a webhook body
    kept whole): VALUES, cheaper than quoting arrays. `rows` is 0 for unnest()."""
    fields = _fields(model, with_pk)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    if rows == 0:
        arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
        source = f"SELECT * FROM unnest({arrays})"  # noqa: S608
    else:
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        source = f"VALUES {', '.join([row] * rows)}"
    conflict = " ON CONFLICT DO NOTHING" if ignore else ""
    # Only the model's own table, column names and types, and a row count; values are
    # parameters.
    return (
        f"INSERT INTO {table} ({columns}) {source}{conflict} "
        f"RETURNING {quote(model._meta.pk.column)}"
    )


@cache
def _fields(model: type[models.Model], with_pk: bool) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]


def insert_returning_ids(objs: list[models.Model], *, ignore_conflicts: bool = False) -> list:
    """INSERT `objs` (all of one model), in order, and return the primary keys of the rows
    written: all of them, or with `ignore_conflicts` only those that broke no unique
    constraint. Objects without a primary key get theirs set. Call inside a transaction
    when the rows belong together."""
    if not objs:
        return []
    model = type(objs[0])
    with_pk = objs[0].pk is not None
    db = connections[DEFAULT_DB_ALIAS]
    spec = _spec(model, with_pk, db.vendor)
    ids: list = []
    with server_cursor() as cursor:
        for start in range(0, len(objs), CHUNK):
            chunk = objs[start : start + CHUNK]
            rows = [_row(obj, spec, db) for obj in chunk]
            if _unnest(db, len(chunk)):
                params = [list(column) for column in zip(*rows, strict=True)]
                sql = _insert_sql(model, with_pk, 0, ignore_conflicts)
            else:
                params = [value for row in rows for value in row]
                sql = _insert_sql(model, with_pk, len(chunk), ignore_conflicts)
            cursor.execute(sql, params)
            written = [model._meta.pk.to_python(row[0]) for row in cursor.fetchall()]
            if not with_pk:
                for obj, pk in zip(chunk, written, strict=True):
                    obj.pk = pk
            ids += written
    return ids


# Field classes whose database value, for a value of exactly this Python type, is the
# value itself: Django's per-field preparation (a third of a bulk insert's CPU) is skipped
# for them. Anything else (JSON, decimals, enums, naive datetimes, subclasses) goes through
# Django.
_PLAIN = {
    models.UUIDField: uuid.UUID,
    models.TextField: str,
    models.CharField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.DateTimeField: datetime,
}


@cache
def _spec(model: type[models.Model], with_pk: bool, vendor: str) -> list[tuple]:
    """Per column: the field, its attribute, its plain type, whether it stamps itself.
    Plain types only on PostgreSQL, where psycopg adapts UUIDs and aware datetimes
    itself; SQLite needs Django's preparation (a UUID as hex, a datetime as UTC text)."""
    plain = _PLAIN if vendor == "postgresql" else {}
    return [
        (
            f,
            f.attname,
            plain.get(type(f.target_field if isinstance(f, models.ForeignKey) else f)),
            getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False),
        )
        for f in _fields(model, with_pk)
    ]


def _row(obj: models.Model, spec: list[tuple], db) -> list:
    row = []
    for field, attname, plain, stamps in spec:
        value = getattr(obj, attname)
        if value is None and stamps:
            value = field.pre_save(obj, True)
        if plain is None or not (
            value is None
            or (type(value) is plain and (plain is not datetime or value.tzinfo is not None))
        ):
            value = field.get_db_prep_save(value, db)
        row.append(value)
    return row
