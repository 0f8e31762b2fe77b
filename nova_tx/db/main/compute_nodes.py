"""Queries of ``compute_nodes``: the hypervisor nodes of one cell.

Plain functions of a Connection to a cell's database returning ``ComputeNode``
dataclasses (see ``nova_tx.db.api.cell_mappings`` for the conventions). As Nova reads
them by default, soft-deleted rows (``deleted`` != 0) are left out.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from nova_tx.db.main import models
from nova_tx.objects.compute_node import ComputeNode

compute_nodes = models.ComputeNode.__table__

_LIVE = compute_nodes.c.deleted == 0

_SELECT = sa.select(
    compute_nodes.c.id,
    compute_nodes.c.uuid,
    compute_nodes.c.host,
    compute_nodes.c.hypervisor_hostname,
    compute_nodes.c.mapped,
).where(_LIVE)


def _from_row(row: sa.Row) -> ComputeNode:
    return ComputeNode(id=row.id, uuid=row.uuid, host=row.host,
                       hypervisor_hostname=row.hypervisor_hostname, mapped=row.mapped or 0)


def get_unmapped(conn: sa.Connection) -> list[ComputeNode]:
    """The nodes whose host ``discover_hosts`` has not mapped yet, oldest first."""
    rows = conn.execute(
        _SELECT.where(sa.or_(compute_nodes.c.mapped.is_(None), compute_nodes.c.mapped < 1))
        .order_by(compute_nodes.c.id))
    return [_from_row(row) for row in rows]


def get_hosts(conn: sa.Connection) -> list[str]:
    """The hosts of the nodes, once each, in the order their first node was added."""
    rows = conn.execute(
        sa.select(compute_nodes.c.host).where(_LIVE).where(compute_nodes.c.host.is_not(None))
        .order_by(compute_nodes.c.id))
    return list(dict.fromkeys(rows.scalars()))


def count(conn: sa.Connection) -> int:
    return conn.execute(
        sa.select(sa.func.count()).select_from(compute_nodes).where(_LIVE)).scalar_one()


def set_mapped(conn: sa.Connection, mapped: int, *, ids: Sequence[int] | None = None,
               host: str | None = None) -> int:
    """Set ``mapped`` on the nodes ``ids``, or those of ``host``, or all; returns how many.

    ``ids`` empty changes nothing (rather than everything).
    """
    stmt = compute_nodes.update().where(_LIVE)
    if ids is not None:
        if not ids:
            return 0
        stmt = stmt.where(compute_nodes.c.id.in_(list(ids)))
    if host is not None:
        stmt = stmt.where(compute_nodes.c.host == host)
    return conn.execute(stmt.values(mapped=mapped)).rowcount
