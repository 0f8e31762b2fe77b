"""Mapping new compute hosts to their cell (Nova's ``discover_hosts``): shared by
``nova-manage cell_v2 discover_hosts`` and the scheduler's periodic
``[scheduler] discover_hosts_in_cells_interval``.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from nova_tx.db.api import host_mappings
from nova_tx.db.main import compute_nodes, services
from nova_tx.objects.cell_mapping import CellMapping


def discover_in_cell(api_conn: sa.Connection, cell_conn: sa.Connection, cell: CellMapping,
                     *, by_service: bool = False,
                     status: Callable[[str], None] = lambda message: None) -> list[str]:
    """Map the cell's unmapped compute hosts (by compute node, marking the nodes
    mapped, or by ``nova-compute`` service); the hosts mapped. Both connections are
    the caller's transactions."""
    mapped = host_mappings.get_hosts(api_conn)
    added: list[str] = []
    node_ids: list[int] = []
    if by_service:
        for host in services.get_compute_hosts(cell_conn):
            if host in mapped:
                continue
            status(f"Creating host mapping for service {host}")
            host_mappings.create(api_conn, host, cell)
            mapped.add(host)
            added.append(host)
    else:
        for node in compute_nodes.get_unmapped(cell_conn):
            status(f"Checking host mapping for compute host '{node.host}': {node.uuid}")
            if node.host in added:
                node_ids.append(node.id)
                continue
            if node.host in mapped:
                continue
            status(f"Creating host mapping for compute host '{node.host}': {node.uuid}")
            host_mappings.create(api_conn, node.host, cell)
            mapped.add(node.host)
            added.append(node.host)
            node_ids.append(node.id)
    compute_nodes.set_mapped(cell_conn, 1, ids=node_ids)
    return added
