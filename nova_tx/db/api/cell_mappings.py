"""Queries of ``cell_mappings``: plain functions of a Connection, returning dataclasses.

Each function does its work in the caller's transaction, so the caller decides what is
atomic: a service runs one through its thread pool (``pool.do(cell_mappings.get_all)``),
``nova-manage`` calls several inside one ``engine.begin()``.

Loaders take ``base_urls`` (``BaseUrls.from_conf(conf)``): with it, URL templates are
filled from this host's options as they are loaded, which is what anything that
*connects* to a cell needs; without it, the URLs come back as stored, which is what an
editor of mappings needs.
"""
from __future__ import annotations

import uuid as uuidlib

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import models
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping

cell_mappings = models.CellMapping.__table__

#: The columns a CellMapping is built from, labelled so joins can reuse them.
COLUMNS = (
    cell_mappings.c.id.label("cell_id"),
    cell_mappings.c.uuid.label("cell_uuid"),
    cell_mappings.c.name.label("cell_name"),
    cell_mappings.c.transport_url.label("cell_transport_url"),
    cell_mappings.c.database_connection.label("cell_database_connection"),
    cell_mappings.c.disabled.label("cell_disabled"),
)


def from_row(row: sa.Row, base_urls: BaseUrls | None = None) -> CellMapping:
    """The CellMapping of a row selected with ``COLUMNS`` (also by joins)."""
    mapping = row._mapping
    cell = CellMapping(
        id=mapping["cell_id"],
        uuid=mapping["cell_uuid"],
        name=mapping["cell_name"],
        transport_url=mapping["cell_transport_url"],
        database_connection=mapping["cell_database_connection"],
        disabled=bool(mapping["cell_disabled"]),
    )
    return cell.with_base_urls(base_urls)


def get_all(conn: sa.Connection, *, base_urls: BaseUrls | None = None) -> list[CellMapping]:
    """Every cell mapping, oldest first (cell0 is usually the first)."""
    rows = conn.execute(sa.select(*COLUMNS).order_by(cell_mappings.c.id))
    return [from_row(row, base_urls) for row in rows]


def get_by_uuid(conn: sa.Connection, uuid: str, *,
                base_urls: BaseUrls | None = None) -> CellMapping:
    """The mapping of cell ``uuid``; raises CellMappingNotFound."""
    row = conn.execute(
        sa.select(*COLUMNS).where(cell_mappings.c.uuid == uuid)).one_or_none()
    if row is None:
        raise exception.CellMappingNotFound(uuid=uuid)
    return from_row(row, base_urls)


def get_by_id(conn: sa.Connection, cell_id: int, *,
              base_urls: BaseUrls | None = None) -> CellMapping:
    """The mapping whose primary key is ``cell_id``; raises CellMappingNotFound."""
    row = conn.execute(
        sa.select(*COLUMNS).where(cell_mappings.c.id == cell_id)).one_or_none()
    if row is None:
        raise exception.CellMappingNotFound(uuid=f"with id {cell_id}")
    return from_row(row, base_urls)


def get_enabled(conn: sa.Connection, *,
                base_urls: BaseUrls | None = None) -> list[CellMapping]:
    """The cells the scheduler may place instances in (cell0 is never one of them)."""
    rows = conn.execute(
        sa.select(*COLUMNS)
        .where(sa.or_(cell_mappings.c.disabled.is_(None), cell_mappings.c.disabled.is_(False)))
        .where(cell_mappings.c.uuid != CellMapping.CELL0_UUID)
        .order_by(cell_mappings.c.id))
    return [from_row(row, base_urls) for row in rows]


def create(
    conn: sa.Connection,
    *,
    transport_url: str,
    database_connection: str,
    name: str | None = None,
    disabled: bool = False,
    uuid: str | None = None,
) -> CellMapping:
    """Record a new cell (a fresh uuid unless one is given).

    Raises ``DBDuplicateEntry`` when a cell with that uuid exists.
    """
    cell_uuid = uuid or str(uuidlib.uuid4())
    result = conn.execute(cell_mappings.insert().values(
        uuid=cell_uuid, name=name, transport_url=transport_url,
        database_connection=database_connection, disabled=disabled))
    return CellMapping(uuid=cell_uuid, name=name, transport_url=transport_url,
                       database_connection=database_connection, disabled=disabled,
                       id=result.inserted_primary_key[0])


_UPDATABLE = frozenset({"name", "transport_url", "database_connection", "disabled"})


def update(conn: sa.Connection, uuid: str, **values) -> CellMapping:
    """Change some of ``name``, ``transport_url``, ``database_connection``, ``disabled``.

    Returns the mapping as stored afterwards; raises CellMappingNotFound.
    """
    unknown = set(values) - _UPDATABLE
    if unknown:
        raise TypeError("cannot update {} of a cell mapping".format(", ".join(sorted(unknown))))
    if values:
        result = conn.execute(
            cell_mappings.update().where(cell_mappings.c.uuid == uuid).values(**values))
        if result.rowcount == 0:
            raise exception.CellMappingNotFound(uuid=uuid)
    return get_by_uuid(conn, uuid)


def destroy(conn: sa.Connection, uuid: str) -> None:
    """Delete the mapping of cell ``uuid``; raises CellMappingNotFound.

    Host and instance mappings that still point at the cell make the database refuse
    (foreign keys): delete them first.
    """
    result = conn.execute(cell_mappings.delete().where(cell_mappings.c.uuid == uuid))
    if result.rowcount == 0:
        raise exception.CellMappingNotFound(uuid=uuid)
