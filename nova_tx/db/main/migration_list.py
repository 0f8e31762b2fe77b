"""What ``GET /os-migrations`` reads from a cell's ``migrations`` (Nova's
``migration_get_all_by_filters`` and ``migration_get_by_uuid``).

Plain functions of a Connection to one cell's database; soft-deleted rows are left
out. Rows come back as :class:`MigrationRecord`; merging the cells' pages is the
compute layer's (``nova_tx.compute.migrations``).
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from nova_tx.db.main import models

migrations = models.Migration.__table__


@dataclasses.dataclass(frozen=True)
class MigrationRecord:
    id: int
    uuid: str | None
    source_compute: str | None
    dest_compute: str | None
    source_node: str | None
    dest_node: str | None
    dest_host: str | None
    old_instance_type_id: int | None
    new_instance_type_id: int | None
    instance_uuid: str | None
    status: str | None
    migration_type: str | None
    hidden: bool
    memory_total: int | None
    memory_processed: int | None
    memory_remaining: int | None
    disk_total: int | None
    disk_processed: int | None
    disk_remaining: int | None
    user_id: str | None
    project_id: str | None
    created_at: datetime.datetime | None
    updated_at: datetime.datetime | None

    @property
    def sort_key(self) -> tuple:
        """(created_at, id): the order of the paged list (descending), rows without
        a creation time last."""
        return (self.created_at or datetime.datetime.min, self.id)


_FIELDS = [f.name for f in dataclasses.fields(MigrationRecord)]


def _record(row: sa.Row) -> MigrationRecord:
    values = dict(row._mapping)
    values["hidden"] = bool(values["hidden"])
    return MigrationRecord(**values)


def _select():
    return sa.select(*(migrations.c[name] for name in _FIELDS)).where(
        migrations.c.deleted == 0)


def _filtered(stmt, filters: Mapping[str, Any]):
    """Nova's filters: ``uuid`` and ``status`` (one or a list each), ``host`` (source or destination;
    else ``source_compute``), ``node``, ``migration_type``, ``hidden``,
    ``instance_uuid``, ``user_id``, ``project_id``, ``changes-since`` and
    ``changes-before`` (on ``updated_at``, both bounds included)."""
    if "uuid" in filters:
        uuid = filters["uuid"]
        stmt = stmt.where(migrations.c.uuid.in_(
            [uuid] if isinstance(uuid, str) else list(uuid)))
    if filters.get("changes-since") is not None:
        stmt = stmt.where(migrations.c.updated_at >= filters["changes-since"])
    if filters.get("changes-before") is not None:
        stmt = stmt.where(migrations.c.updated_at <= filters["changes-before"])
    if "status" in filters:
        status = filters["status"]
        stmt = stmt.where(migrations.c.status.in_(
            [status] if isinstance(status, str) else list(status)))
    if "host" in filters:
        host = filters["host"]
        stmt = stmt.where(sa.or_(migrations.c.source_compute == host,
                                 migrations.c.dest_compute == host))
    elif "source_compute" in filters:
        stmt = stmt.where(migrations.c.source_compute == filters["source_compute"])
    if "node" in filters:
        node = filters["node"]
        stmt = stmt.where(sa.or_(migrations.c.source_node == node,
                                 migrations.c.dest_node == node))
    for name in ("migration_type", "instance_uuid", "user_id", "project_id"):
        if name in filters:
            stmt = stmt.where(migrations.c[name] == filters[name])
    if "hidden" in filters:
        stmt = stmt.where(migrations.c.hidden == bool(filters["hidden"]))
    return stmt


def get_by_filters(conn: sa.Connection, filters: Mapping[str, Any]) -> list[MigrationRecord]:
    """Every live migration matching ``filters``, in id order."""
    stmt = _filtered(_select(), filters).order_by(migrations.c.id)
    return [_record(row) for row in conn.execute(stmt)]


def get_page(conn: sa.Connection, filters: Mapping[str, Any], *, limit: int | None,
             after: tuple[datetime.datetime | None, int] | None = None
             ) -> list[MigrationRecord]:
    """Up to ``limit`` migrations matching ``filters``, newest first (``created_at``
    then ``id``, descending), those that come after the sort values ``after`` only."""
    stmt = _filtered(_select(), filters)
    if after is not None:
        created_at, row_id = after
        if created_at is None:
            stmt = stmt.where(migrations.c.created_at.is_(None), migrations.c.id < row_id)
        else:
            stmt = stmt.where(sa.or_(
                migrations.c.created_at < created_at,
                migrations.c.created_at.is_(None),
                sa.and_(migrations.c.created_at == created_at,
                        migrations.c.id < row_id)))
    # NULL creation times sort last, on every database.
    stmt = stmt.order_by(migrations.c.created_at.is_(None), migrations.c.created_at.desc(),
                         migrations.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_record(row) for row in conn.execute(stmt)]


#: The statuses of a live migration in progress (Nova's list, for its two queries).
LIVE_MIGRATION_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")


def get_in_progress_by_instance(conn: sa.Connection, instance_uuid: str,
                                migration_type: str | None = None) -> list[MigrationRecord]:
    """The instance's migrations in progress (Nova's
    ``migration_get_in_progress_by_instance``), in id order."""
    stmt = _select().where(migrations.c.instance_uuid == instance_uuid,
                           migrations.c.status.in_(LIVE_MIGRATION_IN_PROGRESS))
    if migration_type is not None:
        stmt = stmt.where(migrations.c.migration_type == migration_type)
    return [_record(row) for row in conn.execute(stmt.order_by(migrations.c.id))]


def get_by_id_and_instance(conn: sa.Connection, migration_id: int,
                           instance_uuid: str) -> MigrationRecord | None:
    row = conn.execute(_select().where(migrations.c.id == migration_id,
                                       migrations.c.instance_uuid == instance_uuid)
                       ).one_or_none()
    return None if row is None else _record(row)


def get_by_uuid(conn: sa.Connection, migration_uuid: str) -> MigrationRecord | None:
    row = conn.execute(_select().where(migrations.c.uuid == migration_uuid)).one_or_none()
    return None if row is None else _record(row)
