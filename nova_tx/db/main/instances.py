"""Queries of ``instances``: the servers of one cell.

Plain functions of a Connection to a cell's database returning ``Instance`` dataclasses
(see ``nova_tx.db.api.cell_mappings`` for the conventions). Counts leave soft-deleted
rows out, as Nova reads them by default; the lookups say where they include them.
"""
from __future__ import annotations

import datetime

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.main import models
from nova_tx.objects.instance import Instance

instances = models.Instance.__table__

_SELECT = sa.select(instances.c.uuid, instances.c.project_id, instances.c.user_id,
                    instances.c.deleted)

# A row without created_at counts as the oldest, the same way on every database
# (their orderings of NULL differ).
_EPOCH = sa.literal(datetime.datetime(1970, 1, 1), sa.DateTime)
_CREATED = sa.func.coalesce(instances.c.created_at, _EPOCH)


def _from_row(row: sa.Row) -> Instance:
    return Instance(uuid=row.uuid, project_id=row.project_id, user_id=row.user_id,
                    deleted=bool(row.deleted))


def get_by_uuid(conn: sa.Connection, instance_uuid: str) -> Instance:
    """The instance ``instance_uuid``, soft-deleted or not; raises InstanceNotFound.

    An instance that is not found at all has been archived (or never existed).
    """
    row = conn.execute(_SELECT.where(instances.c.uuid == instance_uuid)).one_or_none()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return _from_row(row)


def get_after(conn: sa.Connection, marker: str | None, limit: int) -> list[Instance]:
    """Up to ``limit`` instances, deleted ones included, oldest first, after ``marker``.

    Oldest means by ``created_at`` then ``id``. Raises MarkerNotFound when no instance
    has the uuid ``marker``.
    """
    stmt = _SELECT.order_by(_CREATED, instances.c.id).limit(limit)
    if marker is not None:
        row = conn.execute(sa.select(_CREATED.label("created"), instances.c.id)
                           .where(instances.c.uuid == marker)).one_or_none()
        if row is None:
            raise exception.MarkerNotFound(marker=marker)
        stmt = stmt.where(sa.or_(_CREATED > row.created,
                                 sa.and_(_CREATED == row.created, instances.c.id > row.id)))
    return [_from_row(row) for row in conn.execute(stmt)]


def count(conn: sa.Connection, *, host: str | None = None) -> int:
    """The live instances of the cell, or of one compute ``host``."""
    stmt = (sa.select(sa.func.count()).select_from(instances)
            .where(instances.c.deleted == 0))
    if host is not None:
        stmt = stmt.where(instances.c.host == host)
    return conn.execute(stmt).scalar_one()
