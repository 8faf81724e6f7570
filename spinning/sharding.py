"""Could the database be sharded by organization with Citus? A walk over every model that says,
table by table, what Citus would need and what would have to change (docs/SCALING.md).

Citus distributes a table by one column (here `organization_id`) and, for the rules to be checked
on one node, requires that on a distributed table:
- the primary key and every unique constraint include the distribution column;
- a foreign key to another distributed table include it on both sides (the two tables colocated);
  a foreign key to a reference table (replicated to every node) is fine;
- no reference table points at a distributed one.
Tables without an organization become reference tables (small, read everywhere, written through
the coordinator with two-phase commit).

    python -m spinning.sharding            # the markdown table docs/SCALING.md carries
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models

OUR_APPS = ("members_app", "packages_app", "bookings_app", "reports_app")
DIST = "organization"
# Tables of ours that carry no organization on purpose: the platform's people and its studios.
REFERENCE_MODELS = {"members_app.User", "members_app.Organization"}


@dataclass
class TableCheck:
    table: str
    model: str
    citus: str  # "distributed" or "reference"
    has_organization: bool
    unique_without_org: list[str] = field(default_factory=list)
    fks_without_org: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def ok_as_is(self) -> bool:
        return not self.changes


def _label(model) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def _is_distributed(model) -> bool:
    if _label(model) in REFERENCE_MODELS:
        return False
    return any(f.name == DIST and f.is_relation for f in model._meta.concrete_fields)


def _unique_keys(model) -> list[tuple[str, list[str], bool]]:
    """(name, columns, partial) for every unique key but the primary key."""
    meta = model._meta
    keys = []
    for f in meta.concrete_fields:
        if f.unique and not f.primary_key:
            keys.append((f"{f.column} unique", [f.name], False))
    for names in meta.unique_together:
        keys.append(("unique_together", list(names), False))
    for constraint in meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        columns = list(constraint.fields)
        for expression in constraint.expressions:
            columns += _refs(expression)
        keys.append((constraint.name, columns, constraint.condition is not None))
    return keys


def _refs(expression) -> list[str]:
    """The field names an index expression such as Lower("code") or F("organization") reads."""
    if isinstance(expression, models.F):
        return [expression.name]
    names = []
    for source in getattr(expression, "get_source_expressions", list)():
        names += _refs(source)
    return names


def check_model(model) -> TableCheck:
    meta = model._meta
    has_org = any(f.name == DIST for f in meta.concrete_fields)
    points_at_tenants = [
        f for f in meta.concrete_fields if f.is_relation and f.name != DIST and _is_distributed(f.related_model)
    ]
    distributed = _is_distributed(model)
    row = TableCheck(table=meta.db_table, model=_label(model), citus="distributed", has_organization=has_org)
    if not distributed:
        if not points_at_tenants:
            row.citus = "reference"
            return row
        # a reference table may not point at a distributed one: this row belongs to a studio too
        row.citus = "distributed, once it has organization_id"
        row.changes.append("add organization_id (copied from the row it belongs to)")
    row.changes.append("primary key (id) -> (organization_id, id)")
    for name, columns, partial in _unique_keys(model):
        if DIST not in columns:
            row.unique_without_org.append(f"{name} ({', '.join(columns)}){', partial' if partial else ''}")
    row.fks_without_org = [f"{f.column} -> {f.related_model._meta.db_table}" for f in points_at_tenants]
    if row.unique_without_org:
        row.changes.append("organization_id leads each unique key listed")
    if row.fks_without_org:
        row.changes.append("each foreign key listed becomes (organization_id, x_id) -> (organization_id, id)")
    return row


def check_all() -> list[TableCheck]:
    rows = []
    for app_label in OUR_APPS:
        for model in apps.get_app_config(app_label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                rows.append(check_model(model))
    return sorted(rows, key=lambda r: (r.citus == "reference", r.table))


def markdown(rows: list[TableCheck]) -> str:
    lines = [
        "| table | Citus | organization_id | unique keys without it | foreign keys to distributed tables | what changes |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r.table}` | {r.citus} | {'yes' if r.has_organization else 'no'} | "
            f"{'<br>'.join(r.unique_without_org) or '—'} | {'<br>'.join(r.fks_without_org) or '—'} | "
            f"{'; '.join(r.changes) or 'nothing'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spinning.settings")
    os.environ.setdefault("SPINNING_ALLOW_DEV_SECRET", "1")
    django.setup()
    print(markdown(check_all()))
