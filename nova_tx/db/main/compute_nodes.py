"""Queries of ``compute_nodes``: the hypervisor nodes of one cell.

Plain functions of a Connection to a cell's database returning ``ComputeNode``
dataclasses (see ``nova_tx.db.api.cell_mappings`` for the conventions). As Nova reads
them by default, soft-deleted rows (``deleted`` != 0) are left out.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.main import models
from nova_tx.db.types import utcnow
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


# -- the full records (os-hypervisors) ---------------------------------------------------

#: The resource columns os-hypervisors shows, as ComputeNode fields.
RESOURCE_FIELDS = (
    "service_id", "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
    "local_gb_used", "hypervisor_type", "hypervisor_version", "free_ram_mb",
    "free_disk_gb", "current_workload", "running_vms", "cpu_info", "disk_available_least",
    "host_ip",
)
#: What ``statistics`` sums, in Nova's order.
STATISTICS_FIELDS = (
    "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
    "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
    "disk_available_least",
)

_SELECT_FULL = sa.select(
    compute_nodes.c.id, compute_nodes.c.uuid, compute_nodes.c.host,
    compute_nodes.c.hypervisor_hostname, compute_nodes.c.mapped,
    *(compute_nodes.c[name] for name in RESOURCE_FIELDS),
).where(_LIVE)


def _full_from_row(row: sa.Row) -> ComputeNode:
    values: dict[str, Any] = {name: getattr(row, name) for name in RESOURCE_FIELDS}
    if values["host_ip"] is not None:
        values["host_ip"] = str(values["host_ip"])
    return ComputeNode(id=row.id, uuid=row.uuid, host=row.host,
                       hypervisor_hostname=row.hypervisor_hostname, mapped=row.mapped or 0,
                       **values)


def get_all_full(conn: sa.Connection, *, limit: int | None = None,
                 marker_id: int | None = None) -> list[ComputeNode]:
    """Nodes with their resources, by id, after the node ``marker_id`` (Nova's
    ``ComputeNodeList.get_by_pagination``)."""
    stmt = _SELECT_FULL.order_by(compute_nodes.c.id)
    if marker_id is not None:
        stmt = stmt.where(compute_nodes.c.id > marker_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_full_from_row(row) for row in conn.execute(stmt)]


def get_full(conn: sa.Connection, node_id: int) -> ComputeNode:
    """One node by id; raises ComputeHostNotFound (Nova's message names the id)."""
    row = conn.execute(_SELECT_FULL.where(compute_nodes.c.id == node_id)).one_or_none()
    if row is None:
        raise exception.ComputeHostNotFound(host=node_id)
    return _full_from_row(row)


def get_full_by_uuid(conn: sa.Connection, node_uuid: str) -> ComputeNode:
    """One node by uuid; raises ComputeHostNotFound."""
    row = conn.execute(_SELECT_FULL.where(compute_nodes.c.uuid == node_uuid)
                       ).one_or_none()
    if row is None:
        raise exception.ComputeHostNotFound(host=node_uuid)
    return _full_from_row(row)


def get_full_by_host(conn: sa.Connection, host: str) -> list[ComputeNode]:
    """The nodes of one compute host, oldest first."""
    rows = conn.execute(_SELECT_FULL.where(compute_nodes.c.host == host)
                        .order_by(compute_nodes.c.id))
    return [_full_from_row(row) for row in rows]


def search_by_hypervisor(conn: sa.Connection, pattern: str) -> list[ComputeNode]:
    """Nodes whose ``hypervisor_hostname`` is LIKE ``%pattern%``, as Nova's
    ``compute_node_search_by_hypervisor`` (so ``%`` and ``_`` are wildcards there too)."""
    rows = conn.execute(
        _SELECT_FULL.where(compute_nodes.c.hypervisor_hostname.like("%" + pattern + "%"))
        .order_by(compute_nodes.c.id))
    return [_full_from_row(row) for row in rows]


def statistics(conn: sa.Connection) -> dict[str, int]:
    """Sums over the nodes whose host has an enabled, live nova-compute service
    (Nova's ``compute_node_statistics``), with ``count``."""
    services = models.Service.__table__
    joined = compute_nodes.join(services, sa.and_(
        sa.or_(compute_nodes.c.host == services.c.host,
               compute_nodes.c.service_id == services.c.id),
        services.c.disabled == sa.false(), services.c.binary == "nova-compute",
        services.c.deleted == 0))
    row = conn.execute(
        sa.select(sa.func.count().label("count"),
                  *(sa.func.sum(compute_nodes.c[name]).label(name)
                    for name in STATISTICS_FIELDS))
        .select_from(joined).where(_LIVE)).one()
    return {"count": int(row.count or 0),
            **{name: int(getattr(row, name) or 0) for name in STATISTICS_FIELDS}}


def soft_delete_by_host(conn: sa.Connection, host: str, service_id: int | None = None
                        ) -> int:
    """Soft-delete the nodes of a compute host (its service is deleted): ``deleted``
    takes the row's id, as Nova's soft delete; returns how many."""
    condition = compute_nodes.c.host == host
    if service_id is not None:
        condition = sa.or_(condition, compute_nodes.c.service_id == service_id)
    return conn.execute(compute_nodes.update().where(_LIVE).where(condition).values(
        deleted=compute_nodes.c.id, deleted_at=utcnow())).rowcount


# -- the compute's own record (the conductor's gateway, issue 9) -------------------------

#: The columns a compute writes and reads back of its node, beside ``id``.
RECORD_FIELDS = tuple(
    c.name for c in compute_nodes.columns if c.name not in ("id", "deleted", "deleted_at"))
#: What a compute may set: everything but the bookkeeping columns.
WRITABLE_FIELDS = frozenset(RECORD_FIELDS) - {"created_at", "updated_at", "mapped"}


def _record(row: sa.Row) -> dict[str, Any]:
    record = {"id": row.id, **{name: getattr(row, name) for name in RECORD_FIELDS}}
    if record["host_ip"] is not None:
        record["host_ip"] = str(record["host_ip"])
    return record


def _writable(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - WRITABLE_FIELDS
    if unknown:
        raise exception.Invalid(
            f"compute node fields that cannot be written: {', '.join(sorted(unknown))}")
    return dict(values)


def get_record_by_host_and_nodename(conn: sa.Connection, host: str, nodename: str
                                    ) -> dict[str, Any]:
    """Every column of the live node ``nodename`` of ``host`` (Nova's
    ``compute_node_get_by_host_and_nodename``); raises ComputeHostNotFound."""
    row = conn.execute(
        sa.select(compute_nodes).where(_LIVE).where(compute_nodes.c.host == host)
        .where(compute_nodes.c.hypervisor_hostname == nodename)
        .order_by(compute_nodes.c.id)).first()
    if row is None:
        raise exception.ComputeHostNotFound(host=f"{host} ({nodename})")
    return _record(row)


def get_records_by_host(conn: sa.Connection, host: str) -> list[dict[str, Any]]:
    """Every column of the live nodes of ``host``, oldest first."""
    rows = conn.execute(sa.select(compute_nodes).where(_LIVE)
                        .where(compute_nodes.c.host == host).order_by(compute_nodes.c.id))
    return [_record(row) for row in rows]


def get_record(conn: sa.Connection, node_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(compute_nodes).where(_LIVE)
                       .where(compute_nodes.c.id == node_id)).one_or_none()
    if row is None:
        raise exception.ComputeHostNotFound(host=node_id)
    return _record(row)


def create_record(conn: sa.Connection, values: dict[str, Any]) -> dict[str, Any]:
    """Insert a node (``uuid``, ``host``, ``hypervisor_hostname`` and the resources);
    a second live node with the same uuid or host and node name is DBDuplicateEntry."""
    values = _writable(values)
    values.setdefault("stats", "{}")
    node_id = conn.execute(compute_nodes.insert().values(
        **values, mapped=0, deleted=0, created_at=utcnow())).inserted_primary_key[0]
    return get_record(conn, node_id)


def update_record(conn: sa.Connection, node_id: int, values: dict[str, Any]
                  ) -> dict[str, Any]:
    """Change the given columns of a live node; raises ComputeHostNotFound."""
    values = _writable(values)
    if values:
        updated = conn.execute(compute_nodes.update().where(_LIVE)
                               .where(compute_nodes.c.id == node_id)
                               .values(**values, updated_at=utcnow())).rowcount
        if not updated:
            raise exception.ComputeHostNotFound(host=node_id)
    return get_record(conn, node_id)


def delete_record(conn: sa.Connection, node_id: int) -> None:
    """Soft-delete one node (its hypervisor is gone); raises ComputeHostNotFound."""
    deleted = conn.execute(compute_nodes.update().where(_LIVE)
                           .where(compute_nodes.c.id == node_id)
                           .values(deleted=compute_nodes.c.id, deleted_at=utcnow())).rowcount
    if not deleted:
        raise exception.ComputeHostNotFound(host=node_id)
