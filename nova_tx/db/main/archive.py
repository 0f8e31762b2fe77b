"""Moving soft-deleted rows of a cell database to its shadow tables, and purging those.

Nova's ``archive_deleted_rows`` and ``purge_shadow_tables``, used by ``nova-manage db
archive_deleted_rows`` and ``db purge``. Synchronous: the command line runs them in
its own process (no reactor waits on them).

Tables are visited parents first (the metadata's foreign-key order). The deleted rows
of a parent are archived in one transaction together with every row that refers to
them through a foreign key, live or not, children of children included: archiving
an instance takes its ``instance_extra``, info cache, actions and their events with
it, so that no archived batch leaves a child pointing at a parent that is gone, and
so that ``--max_rows`` cannot split an instance from its rows.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from nova_tx.db.main import models

#: Shadow tables whose rows are never formally deleted: the "archived before" cut of
#: ``purge --before`` reads another timestamp column for them (as Nova does).
PURGE_COLUMN_OVERRIDES = {
    "shadow_instance_actions": "created_at",
    "shadow_instance_actions_events": "created_at",
    "shadow_task_log": "updated_at",
}


@dataclasses.dataclass
class ArchiveResult:
    """One batch: rows moved per base table, the uuids of the instances moved, total."""

    tables: dict[str, int]
    instance_uuids: list[str]
    total: int


def _metadata() -> sa.MetaData:
    return models.MainBase.metadata


def archivable_tables() -> list[sa.Table]:
    """Base tables that have a shadow twin, parents before children."""
    return [table for table in _metadata().sorted_tables
            if table.name in models.SHADOW_TABLES]


def _copy(conn: sa.Connection, table: sa.Table, where) -> sa.Insert:
    """INSERT INTO shadow_<table> SELECT ... FROM <table> WHERE ``where``.

    On PostgreSQL an enum column and its shadow twin are two named types, and one is
    not assigned to the other: the value goes through text.
    """
    shadow = models.shadow_table(table.name)
    columns = []
    for column in table.c:
        if conn.dialect.name == "postgresql" and isinstance(column.type, sa.Enum):
            columns.append(sa.cast(sa.cast(column, sa.Text), shadow.c[column.name].type)
                           .label(column.name))
        else:
            columns.append(column)
    return shadow.insert().from_select([c.name for c in table.c],
                                       sa.select(*columns).where(where))


def _fk_statements(conn: sa.Connection, table: sa.Table, column: sa.Column,
                   records: Sequence) -> tuple[collections.deque, collections.deque]:
    """Inserts into shadow tables and deletes of the rows that refer to ``records``.

    Deepest children come first in both deques, so that running the deletes in order
    never removes a row something still refers to.
    """
    inserts: collections.deque = collections.deque()
    deletes: collections.deque = collections.deque()
    if not records:
        return inserts, deletes
    for child in _metadata().sorted_tables:
        if child.name not in models.SHADOW_TABLES or not any(fk.column.table is table for fk in child.foreign_keys):
            continue
        child_id = child.c.id
        for fk in child.foreign_keys:
            if fk.column.table is not table:
                continue
            referenced = [row[0] for row in conn.execute(
                sa.select(fk.column).where(column.in_(records)))]
            if not referenced:
                continue
            child_records = [row[0] for row in conn.execute(
                sa.select(child_id).where(fk.parent.in_(referenced)))]
            if child_records:
                inserts.appendleft(_copy(conn, child, child_id.in_(child_records)))
                deletes.appendleft(child.delete().where(child_id.in_(child_records)))
            nested_inserts, nested_deletes = _fk_statements(conn, child, child_id,
                                                            child_records)
            inserts.extendleft(nested_inserts)
            deletes.extendleft(nested_deletes)
    return inserts, deletes


def _archive_table(engine: sa.Engine, table: sa.Table, max_rows: int,
                   before: datetime.datetime | None, task_log: bool
                   ) -> tuple[int, list[str], dict[str, int]]:
    """Archive up to ``max_rows`` deleted rows of ``table`` with the rows referring to
    them; returns (rows of ``table``, instance uuids, {child table: rows})."""
    column = table.c.id
    if table.name == "task_log" and task_log:
        # task_log rows are never deleted: --task-log takes them all.
        select = sa.select(column)
        if before is not None:
            select = select.where(table.c.updated_at < before)
    else:
        select = sa.select(column).where(table.c.deleted != 0)
        if before is not None:
            select = select.where(table.c.deleted_at < before)
    select = select.order_by(column).limit(max_rows)
    extras: dict[str, int] = collections.defaultdict(int)
    with engine.begin() as conn:
        records = [row[0] for row in conn.execute(select)]
        if not records:
            return 0, [], {}
        uuids: list[str] = []
        if table.name == "instances":
            uuids = [row[0] for row in conn.execute(
                sa.select(table.c.uuid).where(column.in_(records)))]
        fk_inserts, fk_deletes = _fk_statements(conn, table, column, records)
        for statement in fk_inserts:
            conn.execute(statement)
        for statement in fk_deletes:
            extras[statement.table.name] += conn.execute(statement).rowcount
        conn.execute(_copy(conn, table, column.in_(records)))
        archived = conn.execute(table.delete().where(column.in_(records))).rowcount
    return archived, uuids, dict(extras)


def archive_deleted_rows(engine: sa.Engine, max_rows: int,
                         before: datetime.datetime | None = None,
                         task_log: bool = False) -> ArchiveResult:
    """Move up to about ``max_rows`` deleted rows of this database to the shadow tables.

    The limit counts rows of every table; the rows that refer to an archived row come
    with it even if that goes beyond the limit (as in Nova).
    """
    tables: dict[str, int] = collections.defaultdict(int)
    instance_uuids: list[str] = []
    total = 0
    for table in archivable_tables():
        if total >= max_rows:
            break
        archived, uuids, extras = _archive_table(engine, table, max_rows - total,
                                                 before, task_log)
        total += archived
        if table.name == "instances":
            instance_uuids = uuids
        if archived:
            tables[table.name] += archived
            for name, rows in extras.items():
                tables[name] += rows
                total += rows
    return ArchiveResult(dict(tables), instance_uuids, total)


def purgeable_tables() -> list[sa.Table]:
    return [models.shadow_table(table.name) for table in reversed(archivable_tables())]


def purge_shadow_tables(engine: sa.Engine, before: datetime.datetime | None,
                        status: Callable[[str], None] = lambda message: None) -> int:
    """Delete shadow rows (archived before ``before``, or all); returns how many."""
    total = 0
    for table in purgeable_tables():
        column = None
        if before is not None:
            name = PURGE_COLUMN_OVERRIDES.get(table.name)
            if name is None:
                name = next((n for n in ("deleted_at", "updated_at", "created_at")
                             if n in table.c), None)
            if name is None:
                status(f"Unable to purge table {table.name} because it has no "
                       "timestamp column")
                continue
            column = table.c[name]
        delete = table.delete()
        if column is not None:
            delete = delete.where(column < before)
        with engine.begin() as conn:
            deleted = conn.execute(delete).rowcount
        if deleted > 0:
            status(f"Deleted {deleted} rows from {table.name} based on timestamp column "
                   f"{column.name if column is not None else '(n/a)'}")
        total += deleted
    return total


def shadow_row_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per non-empty shadow table (what ``verify`` and tests look at)."""
    counts = {}
    with engine.connect() as conn:
        for table in purgeable_tables():
            count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            if count:
                counts[table.name] = count
    return counts
