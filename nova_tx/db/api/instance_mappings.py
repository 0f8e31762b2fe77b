"""Queries of ``instance_mappings``: which cell each instance lives in.

Plain functions of a Connection returning ``InstanceMapping`` dataclasses (see
``cell_mappings`` for the conventions, ``base_urls`` included).
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings, models
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping
from nova_tx.objects.instance_mapping import InstanceMapping

instance_mappings = models.InstanceMapping.__table__

_SELECT = sa.select(
    instance_mappings.c.id,
    instance_mappings.c.instance_uuid,
    instance_mappings.c.project_id,
    instance_mappings.c.user_id,
    instance_mappings.c.queued_for_delete,
    *cell_mappings.COLUMNS,
).select_from(instance_mappings.outerjoin(
    cell_mappings.cell_mappings,
    instance_mappings.c.cell_id == cell_mappings.cell_mappings.c.id))


def _from_row(row: sa.Row, base_urls: BaseUrls | None) -> InstanceMapping:
    cell = cell_mappings.from_row(row, base_urls) if row.cell_id is not None else None
    return InstanceMapping(
        id=row.id,
        instance_uuid=row.instance_uuid,
        cell_mapping=cell,
        project_id=row.project_id,
        user_id=row.user_id,
        queued_for_delete=bool(row.queued_for_delete),
    )


def get_by_instance_uuid(conn: sa.Connection, instance_uuid: str, *,
                         base_urls: BaseUrls | None = None) -> InstanceMapping:
    """The mapping of one instance; raises InstanceMappingNotFound."""
    row = conn.execute(
        _SELECT.where(instance_mappings.c.instance_uuid == instance_uuid)).one_or_none()
    if row is None:
        raise exception.InstanceMappingNotFound(uuid=instance_uuid)
    return _from_row(row, base_urls)


def get_by_cell_id(conn: sa.Connection, cell_id: int, *,
                   base_urls: BaseUrls | None = None) -> list[InstanceMapping]:
    """The instances mapped to one cell (by the cell mapping's ``id``), oldest first."""
    rows = conn.execute(
        _SELECT.where(instance_mappings.c.cell_id == cell_id).order_by(instance_mappings.c.id))
    return [_from_row(row, base_urls) for row in rows]


def get_by_project_id(conn: sa.Connection, project_id: str, *,
                      base_urls: BaseUrls | None = None) -> list[InstanceMapping]:
    """The instances of one project, oldest first."""
    rows = conn.execute(_SELECT.where(instance_mappings.c.project_id == project_id)
                        .order_by(instance_mappings.c.id))
    return [_from_row(row, base_urls) for row in rows]


def get_mapped_uuids(conn: sa.Connection, instance_uuids: Iterable[str]) -> set[str]:
    """Those of ``instance_uuids`` that already have a mapping."""
    wanted = list(instance_uuids)
    if not wanted:
        return set()
    return set(conn.execute(
        sa.select(instance_mappings.c.instance_uuid)
        .where(instance_mappings.c.instance_uuid.in_(wanted))).scalars())


def count_by_cell_id(conn: sa.Connection, cell_id: int) -> int:
    return conn.execute(
        sa.select(sa.func.count()).select_from(instance_mappings)
        .where(instance_mappings.c.cell_id == cell_id)).scalar_one()


def create(
    conn: sa.Connection,
    *,
    instance_uuid: str,
    project_id: str,
    cell_mapping: CellMapping | None = None,
    user_id: str | None = None,
    queued_for_delete: bool = False,
) -> InstanceMapping:
    """Record where an instance is (``cell_mapping`` None: not scheduled yet).

    Raises ``DBDuplicateEntry`` when the instance is already mapped.
    """
    if cell_mapping is not None and cell_mapping.id is None:
        raise ValueError(f"cell mapping {cell_mapping.uuid} has no id; load it first")
    result = conn.execute(instance_mappings.insert().values(
        instance_uuid=instance_uuid, project_id=project_id, user_id=user_id,
        cell_id=cell_mapping.id if cell_mapping is not None else None,
        queued_for_delete=queued_for_delete))
    return InstanceMapping(id=result.inserted_primary_key[0], instance_uuid=instance_uuid,
                           cell_mapping=cell_mapping, project_id=project_id, user_id=user_id,
                           queued_for_delete=queued_for_delete)


def set_cell(conn: sa.Connection, instance_uuid: str, cell_mapping: CellMapping) -> None:
    """Record that a scheduled instance now lives in ``cell_mapping``."""
    if cell_mapping.id is None:
        raise ValueError(f"cell mapping {cell_mapping.uuid} has no id; load it first")
    _update(conn, instance_uuid, cell_id=cell_mapping.id)


def set_queued_for_delete(conn: sa.Connection, instance_uuid: str, queued: bool) -> None:
    _update(conn, instance_uuid, queued_for_delete=queued)


def _update(conn: sa.Connection, instance_uuid: str, **values) -> None:
    result = conn.execute(instance_mappings.update()
                          .where(instance_mappings.c.instance_uuid == instance_uuid)
                          .values(**values))
    if result.rowcount == 0:
        raise exception.InstanceMappingNotFound(uuid=instance_uuid)


def destroy(conn: sa.Connection, instance_uuid: str) -> None:
    """Forget an instance's mapping; raises InstanceMappingNotFound."""
    result = conn.execute(instance_mappings.delete()
                          .where(instance_mappings.c.instance_uuid == instance_uuid))
    if result.rowcount == 0:
        raise exception.InstanceMappingNotFound(uuid=instance_uuid)


def destroy_by_cell_id(conn: sa.Connection, cell_id: int) -> int:
    """Forget every mapping to one cell; returns how many there were."""
    return conn.execute(instance_mappings.delete()
                        .where(instance_mappings.c.cell_id == cell_id)).rowcount
