"""Hand-written SQL on the hottest paths, read into model instances (issue 14).

On this machine the ORM costs ~1.3-4 ms of CPU per statement (building the queryset, compiling
it, making the instances) against ~0.2-0.3 ms for the same SQL sent by hand: on a booking or a
timetable page, which every member app sends all day, that was most of the request. The few
statements on those paths that run on every request (the token with the person's standing, the
locks of the booking path) are written as SQL once per process and read back through `Columns`:

    members = Columns(Member, "m")
    sql = f"SELECT {members.sql} FROM {members.table} m WHERE m.{q('user_id')} = %s"
    member = members.load(row, start)   # the model instance, each value converted as the ORM would

`Columns` applies the same database converters the ORM's compiler applies (UUIDs, datetimes,
decimals and booleans on SQLite), so a row read here is the instance a queryset would return.
Only plain SELECTs of whole rows and simple expressions; everything else stays with the ORM.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime

from django.db import connection as default_connection

from spinning import locking


def quote(name: str) -> str:
    return default_connection.ops.quote_name(name)


class Columns:
    """Every concrete column of `model` under a table alias, and how to read them back."""

    def __init__(self, model, alias: str, *, connection=None):
        self.model = model
        self.alias = alias
        self.connection = connection or default_connection
        self.fields = list(model._meta.concrete_fields)
        ops = self.connection.ops
        self.table = ops.quote_name(model._meta.db_table)
        self.sql = ", ".join(f"{alias}.{ops.quote_name(field.column)}" for field in self.fields)
        self.width = len(self.fields)
        self.attnames = [field.attname for field in self.fields]
        self._pk_index = self.attnames.index(model._meta.pk.attname)
        self._converters = []
        for index, field in enumerate(self.fields):
            column = field.get_col(alias)
            converters = ops.get_db_converters(column) + field.get_db_converters(self.connection)
            if converters:
                self._converters.append((index, converters, column))

    def column(self, name: str) -> str:
        """`alias."column"` of a field, by field name."""
        return f"{self.alias}.{self.bare(name)}"

    def bare(self, name: str) -> str:
        """`"column"` of a field, by field name (an UPDATE's SET and WHERE)."""
        return self.connection.ops.quote_name(self.model._meta.get_field(name).column)

    def load(self, row, start: int = 0):
        """The instance from `row[start:start + width]`; None when its primary key is NULL (an
        outer join that found nothing)."""
        values = list(row[start : start + self.width])
        if values[self._pk_index] is None:
            return None
        for index, converters, column in self._converters:
            value = values[index]
            for converter in converters:
                value = converter(value, column, self.connection)
            values[index] = value
        return self.model.from_db(self.connection.alias, self.attnames, values)


@functools.cache
def columns(model, alias: str) -> Columns:
    """`Columns` of a model under an alias, made once per process."""
    return Columns(model, alias)


class _Named(dict):
    """`{field}` in a fragment of SQL -> the quoted column (`column`: aliased or bare)."""

    def __init__(self, column):
        super().__init__()
        self.column = column

    def __missing__(self, name: str) -> str:
        return self.column(name)


def select(model, where: str, params, *, lock: bool = False, order_by: str = "", limit: int | None = None) -> list:
    """Whole rows of `model` (alias `x`) as instances: `where` / `order_by` name fields as
    `{field}` (`"{member} = %s AND {remaining} > 0"`). `lock`: `FOR UPDATE OF x` (skipped where the
    database has no row locks, and when a control test switched locks off: spinning.locking)."""
    cols = columns(model, "x")
    sql = _select_sql(model, where, order_by, limit, for_update("x") if lock else "")
    with default_connection.cursor() as cursor:
        cursor.execute(sql, adapt(params))
        return [cols.load(row) for row in cursor.fetchall()]


@functools.lru_cache(maxsize=512)
def _select_sql(model, where: str, order_by: str, limit: int | None, locking_clause: str) -> str:
    """The statement of `select`, written once per shape and process."""
    cols = columns(model, "x")
    named = _Named(cols.column)
    sql = f"SELECT {cols.sql} FROM {cols.table} x WHERE {where.format_map(named)}"
    if order_by:
        sql += f" ORDER BY {order_by.format_map(named)}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql + locking_clause


def exists(model, where: str, params) -> bool:
    """Whether a row of `model` (alias `x`) matches `where` (fields as `{field}`)."""
    sql = _exists_sql(model, where)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, adapt(params))
        return cursor.fetchone() is not None


@functools.lru_cache(maxsize=512)
def _exists_sql(model, where: str) -> str:
    cols = columns(model, "x")
    return f"SELECT 1 FROM {cols.table} x WHERE {where.format_map(_Named(cols.column))} LIMIT 1"


def update(model, assignments: str, where: str, params) -> int:
    """`UPDATE <model> SET <assignments> WHERE <where>` (fields as `{field}`, no alias); returns
    the rows changed: a conditional update (`{remaining} = {remaining} - %s ... AND {remaining}
    >= %s`) tells whether its condition held, as `QuerySet.update` does."""
    sql = _update_sql(model, assignments, where)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, adapt(params))
        return cursor.rowcount


@functools.lru_cache(maxsize=512)
def _update_sql(model, assignments: str, where: str) -> str:
    cols = columns(model, "x")
    named = _Named(cols.bare)
    return f"UPDATE {cols.table} SET {assignments.format_map(named)} WHERE {where.format_map(named)}"


@functools.cache
def _insert_sql(model) -> str:
    cols = columns(model, "x")
    names = ", ".join(default_connection.ops.quote_name(field.column) for field in cols.fields)
    return f"INSERT INTO {cols.table} ({names}) VALUES ({', '.join(['%s'] * cols.width)})"


def insert(obj) -> None:
    """`obj.save(force_insert=True)` for a model whose primary key is made in Python (a UUID), in
    one statement without the ORM's per-save machinery. No model here has save() logic or signals
    (docs/ARCHITECTURE.md); each field's `pre_save` and database preparation still apply."""
    cols = columns(type(obj), "x")
    values = [field.get_db_prep_save(field.pre_save(obj, True), default_connection) for field in cols.fields]
    with default_connection.cursor() as cursor:
        cursor.execute(_insert_sql(type(obj)), values)
    obj._state.adding, obj._state.db = False, default_connection.alias


def for_update(*aliases: str) -> str:
    """` FOR UPDATE OF <aliases>` as `select_for_update(of=...)` would add it (nothing on SQLite,
    whose writers are serialized, or with locks switched off by a control test)."""
    features = default_connection.features
    if not locking.locks_enabled() or not features.has_select_for_update:
        return ""
    if features.has_select_for_update_of and aliases:
        return " FOR UPDATE OF " + ", ".join(aliases)
    return " FOR UPDATE"


def adapt(params) -> list:
    """Parameters as the ORM would send them: UUIDs as 32 hex characters and datetimes as text on
    SQLite (Django's storage there), native on PostgreSQL."""
    out = []
    for value in params:
        if isinstance(value, uuid.UUID):
            value = adapt_uuid(value)
        elif isinstance(value, datetime):
            value = adapt_datetime(value)
        elif isinstance(value, date):
            value = default_connection.ops.adapt_datefield_value(value)
        out.append(value)
    return out


def adapt_datetime(value):
    """A datetime as the connection wants it as a parameter (SQLite stores text)."""
    return default_connection.ops.adapt_datetimefield_value(value)


def adapt_uuid(value):
    """A UUID parameter: native on PostgreSQL, 32 hex characters on SQLite (Django's storage)."""
    if value is None:
        return None
    if default_connection.features.has_native_uuid_field:
        return value
    return value.hex
