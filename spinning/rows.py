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

from django.db import connection as default_connection


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
        field = self.model._meta.get_field(name)
        return f"{self.alias}.{self.connection.ops.quote_name(field.column)}"

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
