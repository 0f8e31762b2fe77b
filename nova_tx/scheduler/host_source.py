"""Where a scheduler process's ``HostStates`` come from: the cell databases.

Nova's HostManager reads every compute node of every cell on each request. Here the
host states stay in memory between requests and a refresh reads only the compute
node and service rows that changed since the previous one (a second of overlap, as
MySQL keeps whole seconds), so a request costs one small query per cell however many
hosts there are. A deleted node is forgotten; a record older than a claim the
scheduler made since is ignored by ``HostStates`` itself, as Nova ignores it.

``read_cells(fn, *args)`` runs ``fn(conn, *args)`` in each cell and gives a Deferred
of ``{cell uuid: result}``: ``single_cell`` for a scheduler configured with only its
cell database, ``all_cells`` with the API database and its cell mappings.
"""
from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from nova_tx.db.main import scheduler_hosts
from nova_tx.scheduler.host_state import ComputeNodeRecord, HostStates

LOG = logging.getLogger(__name__)

ReadCells = Callable[..., defer.Deferred]

#: Re-read rows this much older than the newest change seen (timestamp resolution).
OVERLAP = datetime.timedelta(seconds=1)


def single_cell(pool: Any, cell_uuid: str | None = None) -> ReadCells:
    def read(fn: Callable, *args: Any) -> defer.Deferred:
        return pool.do(lambda conn: {cell_uuid: fn(conn, *args)})
    return read


def all_cells(api_pool: Any, cells: Any) -> ReadCells:
    """Every mapped cell but cell0 (nothing runs there), through ``CellEngines``."""
    def read(fn: Callable, *args: Any) -> defer.Deferred:
        return api_pool.do(lambda conn: cells.gather(conn, fn, *args, include_cell0=False))
    return read


def _changes(conn: Any, since: datetime.datetime | None) -> tuple[list, list]:
    return (scheduler_hosts.compute_nodes_changed(conn, since),
            scheduler_hosts.compute_services_changed(conn, since))


class CellHostSource:
    def __init__(self, read_cells: ReadCells):
        self.read_cells = read_cells
        self._since: dict[str | None, datetime.datetime] = {}

    async def refresh(self, states: HostStates) -> None:
        """Apply what changed in every cell since the previous refresh."""
        since = min(self._since.values()) - OVERLAP if self._since else None
        results = await self.read_cells(_changes, since)
        for cell_uuid, (nodes, services) in results.items():
            newest = self._since.get(cell_uuid)
            for service in services:
                newest = _later(newest, service["changed_at"])
                if not service["deleted"]:
                    states.update_service(service)
            for values in nodes:
                newest = _later(newest, values["changed_at"])
                if values["deleted"]:
                    states.remove_node(values["host"], values["hypervisor_hostname"])
                    continue
                # A ratio the compute left NULL takes the record's default (Nova's
                # ComputeNode reads the initial_*_allocation_ratio options there).
                known = {k: v for k, v in values.items()
                         if v is not None or not k.endswith("_allocation_ratio")}
                try:
                    record = ComputeNodeRecord.from_primitive(
                        {**known, "cell_uuid": cell_uuid})
                except (ValueError, TypeError, KeyError) as error:
                    LOG.warning("Compute node %s (%s) has a record the scheduler cannot "
                                "read; it is left out: %s", values["uuid"], values["host"],
                                error)
                    continue
                states.update_from_compute_node(record, states.services.get(record.host))
            if newest is not None:
                self._since[cell_uuid] = newest

    async def instances_of_host(self, host: str) -> list[str]:
        """The live instances of ``host`` (Nova's reload of a host's InstanceList)."""
        results = await self.read_cells(scheduler_hosts.instance_uuids_of_host, host)
        return sorted({uuid for uuids in results.values() for uuid in uuids})


def _later(a: datetime.datetime | None, b: datetime.datetime | None
           ) -> datetime.datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
