"""What the scheduler reads of a cell: compute node and compute service records
changed since it last looked, and the instances of one host.

Rows come back as plain dicts of the columns (the JSON columns as stored text), the
form ``nova_tx.scheduler.host_state.ComputeNodeRecord.from_primitive`` reads. A
``since`` of None reads everything; soft-deleted rows are included so that the
scheduler forgets deleted nodes.
"""
from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa

from nova_tx.db.main import models

compute_nodes = models.ComputeNode.__table__
services = models.Service.__table__
instances = models.Instance.__table__

_NODE_COLUMNS = (
    "id", "uuid", "host", "hypervisor_hostname", "memory_mb", "memory_mb_used",
    "free_ram_mb", "local_gb", "local_gb_used", "free_disk_gb", "disk_available_least",
    "vcpus", "vcpus_used", "cpu_allocation_ratio", "ram_allocation_ratio",
    "disk_allocation_ratio", "hypervisor_type", "hypervisor_version", "cpu_info",
    "supported_instances", "host_ip", "stats", "metrics", "numa_topology", "pci_stats",
    "created_at", "updated_at", "deleted")
_SERVICE_COLUMNS = ("id", "uuid", "host", "binary", "topic", "disabled", "disabled_reason",
                    "forced_down", "last_seen_up", "created_at", "updated_at", "deleted",
                    "version", "report_count")


def _changed_at(table: sa.Table):
    """When a row last changed: its deletion, else its last update, else its creation
    (deleted_at is set after any update; the columns are portable, GREATEST is not)."""
    return sa.func.coalesce(table.c.deleted_at, table.c.updated_at, table.c.created_at)


def _rows(conn: sa.Connection, table: sa.Table, names: tuple[str, ...],
          since: datetime.datetime | None, where: Any = None) -> list[dict[str, Any]]:
    stamp = _changed_at(table)
    stmt = sa.select(*(table.c[n] for n in names), table.c.deleted_at,
                     stamp.label("changed_at"))
    if since is not None:
        stmt = stmt.where(stamp >= since)
    if where is not None:
        stmt = stmt.where(where)
    return [dict(row._mapping) for row in conn.execute(stmt.order_by(table.c.id))]


def compute_nodes_changed(conn: sa.Connection, since: datetime.datetime | None = None
                          ) -> list[dict[str, Any]]:
    """The compute node rows created, updated or deleted at or after ``since``."""
    return _rows(conn, compute_nodes, _NODE_COLUMNS, since)


def compute_services_changed(conn: sa.Connection, since: datetime.datetime | None = None
                             ) -> list[dict[str, Any]]:
    """The ``nova-compute`` service rows changed at or after ``since``."""
    return _rows(conn, services, _SERVICE_COLUMNS, since,
                 services.c.binary == "nova-compute")


def instance_uuids_of_host(conn: sa.Connection, host: str) -> list[str]:
    """The live instances of compute ``host``."""
    stmt = (sa.select(instances.c.uuid)
            .where(instances.c.host == host, instances.c.deleted == 0)
            .order_by(instances.c.id))
    return list(conn.execute(stmt).scalars())
