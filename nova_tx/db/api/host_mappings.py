"""Queries of ``host_mappings``: which cell each compute host is in.

Plain functions of a Connection returning ``HostMapping`` dataclasses (see
``cell_mappings`` for the conventions, ``base_urls`` included).
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings, models
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping
from nova_tx.objects.host_mapping import HostMapping

host_mappings = models.HostMapping.__table__

_SELECT = sa.select(
    host_mappings.c.id, host_mappings.c.host, *cell_mappings.COLUMNS,
).select_from(host_mappings.join(
    cell_mappings.cell_mappings, host_mappings.c.cell_id == cell_mappings.cell_mappings.c.id))


def _from_row(row: sa.Row, base_urls: BaseUrls | None) -> HostMapping:
    return HostMapping(id=row.id, host=row.host,
                       cell_mapping=cell_mappings.from_row(row, base_urls))


def get_all(conn: sa.Connection, *, base_urls: BaseUrls | None = None) -> list[HostMapping]:
    """Every host mapping, by host name."""
    rows = conn.execute(_SELECT.order_by(host_mappings.c.host))
    return [_from_row(row, base_urls) for row in rows]


def get_by_host(conn: sa.Connection, host: str, *,
                base_urls: BaseUrls | None = None) -> HostMapping:
    """The mapping of compute host ``host``; raises HostMappingNotFound."""
    row = conn.execute(_SELECT.where(host_mappings.c.host == host)).one_or_none()
    if row is None:
        raise exception.HostMappingNotFound(name=host)
    return _from_row(row, base_urls)


def get_by_cell_id(conn: sa.Connection, cell_id: int, *,
                   base_urls: BaseUrls | None = None) -> list[HostMapping]:
    """The hosts of one cell (by the cell mapping's ``id``), by host name."""
    rows = conn.execute(
        _SELECT.where(host_mappings.c.cell_id == cell_id).order_by(host_mappings.c.host))
    return [_from_row(row, base_urls) for row in rows]


def get_hosts(conn: sa.Connection) -> set[str]:
    """The names of every mapped host, without their cells (for discovery)."""
    return set(conn.execute(sa.select(host_mappings.c.host)).scalars())


def count(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(host_mappings)).scalar_one()


def create(conn: sa.Connection, host: str, cell_mapping: CellMapping) -> HostMapping:
    """Map ``host`` to ``cell_mapping`` (which must have its ``id``).

    Raises ``DBDuplicateEntry`` when the host is already mapped, to this cell or another.
    """
    if cell_mapping.id is None:
        raise ValueError(f"cell mapping {cell_mapping.uuid} has no id; load it first")
    result = conn.execute(host_mappings.insert().values(host=host, cell_id=cell_mapping.id))
    return HostMapping(id=result.inserted_primary_key[0], host=host, cell_mapping=cell_mapping)


def destroy(conn: sa.Connection, host: str) -> None:
    """Unmap ``host``; raises HostMappingNotFound."""
    result = conn.execute(host_mappings.delete().where(host_mappings.c.host == host))
    if result.rowcount == 0:
        raise exception.HostMappingNotFound(name=host)


def destroy_by_cell_id(conn: sa.Connection, cell_id: int) -> int:
    """Unmap every host of one cell; returns how many there were."""
    return conn.execute(
        host_mappings.delete().where(host_mappings.c.cell_id == cell_id)).rowcount
