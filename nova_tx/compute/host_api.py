"""Services and compute nodes across the cells (Nova's ``HostAPI``): what
``os-services``, ``os-hypervisors``, ``os-availability-zone/detail`` and the
aggregate rules read and change.

Everything runs in a thread of the API database's pool: the cell mappings come from
the API database, each cell's rows from its own database (``CellEngines``), and a
write goes to the one cell that holds the row, in a transaction of its own. Cell0 is
never read (it has no services), and a cell that cannot be read is left out of lists
as Nova leaves out down cells.

Results carry the cell they came from (``InCell``), so that an update or a delete
goes back to the same database: service and node ids are only unique per cell, which
is why microversion 2.53 moved the API to uuids.
"""
from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from oslo_config import cfg

from nova_tx import exception, log
from nova_tx.db.api import cell_mappings, host_mappings
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import compute_nodes, instances, migration_records, services
from nova_tx.db.types import utcnow
from nova_tx.notifications import service as service_notifications
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping
from nova_tx.objects.compute_node import ComputeNode
from nova_tx.objects.service import Service
from nova_tx.servicegroup.api import service_is_up

LOG = log.getLogger(__name__)

T = TypeVar("T")

#: The API services have no heartbeat; Nova leaves them out of every service view.
API_BINARIES = ("nova-osapi_compute", "nova-metadata")


@dataclasses.dataclass(frozen=True)
class InCell(Generic[T]):
    """A row and the uuid of the cell whose database holds it."""

    cell_uuid: str
    item: T


class HostAPI:
    """``api_db``: the API database's DBThreadPool; ``cells``: CellEngines;
    ``versioned_notifier``: where ``service.update``/``service.delete`` go (None:
    nowhere); ``clock``: naive UTC now, for up/down."""

    def __init__(self, api_db, cells: CellEngines, conf: cfg.ConfigOpts, *,
                 versioned_notifier=None,
                 clock: Callable[[], datetime.datetime] = utcnow):
        self.api_db = api_db
        self.cells = cells
        self.conf = conf
        self.versioned_notifier = versioned_notifier
        self.clock = clock

    # -- running in the cells (pool threads) ---------------------------------------------

    def _cell_list(self, api_conn: sa.Connection) -> list[CellMapping]:
        base_urls = BaseUrls.from_conf(self.conf)
        return [cell for cell in cell_mappings.get_all(api_conn, base_urls=base_urls)
                if not cell.is_cell0 and cell.database_connection]

    def _cell(self, api_conn: sa.Connection, cell_uuid: str) -> CellMapping:
        return cell_mappings.get_by_uuid(api_conn, cell_uuid,
                                         base_urls=BaseUrls.from_conf(self.conf))

    def _read(self, cell: CellMapping, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        with self.cells.engine(cell.database_connection).connect() as conn:
            return fn(conn, *args, **kw)

    def _write(self, cell: CellMapping, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        with self.cells.engine(cell.database_connection).begin() as conn:
            return fn(conn, *args, **kw)

    def _gather(self, api_conn: sa.Connection, fn: Callable[..., T], *args: Any,
                **kw: Any) -> list[tuple[str, T]]:
        """``fn`` in every cell that answers, in the cells' order."""
        results = self.cells.gather(api_conn, fn, *args, include_cell0=False, **kw)
        return [(cell.uuid, results[cell.uuid]) for cell in self._cell_list(api_conn)
                if cell.uuid in results]

    def _first(self, api_conn: sa.Connection, fn: Callable[..., T], *args: Any,
               missing: type[Exception]) -> InCell[T]:
        """The first cell where ``fn`` finds its row (``missing`` elsewhere)."""
        for cell in self._cell_list(api_conn):
            try:
                return InCell(cell.uuid, self._read(cell, fn, *args))
            except missing:
                continue
            except sa.exc.SQLAlchemyError as e:
                LOG.warning("Cell %s did not answer; it is left out: %s", cell.identity, e)
        raise missing

    def _host_cell(self, api_conn: sa.Connection, host: str) -> CellMapping:
        mapping = host_mappings.get_by_host(api_conn, host,
                                            base_urls=BaseUrls.from_conf(self.conf))
        return mapping.cell_mapping

    # -- services ---------------------------------------------------------------------------

    def service_is_up(self, service: Service) -> bool:
        return service_is_up(service, self.clock(), self.conf)

    async def service_get_all(self, *, host: str | None = None,
                              binary: str | None = None) -> list[InCell[Service]]:
        """Every live service but the API's, cell by cell (cells that do not answer
        are left out)."""
        found, _down = await self.service_get_all_with_down_cells(host=host, binary=binary)
        return found

    async def service_get_all_with_down_cells(
            self, *, host: str | None = None, binary: str | None = None
    ) -> tuple[list[InCell[Service]], list[InCell[str]]]:
        """(services of the cells that answered, the mapped compute hosts of the cells
        that did not): what 2.69's partial service views are made of."""
        def thd(api_conn):
            found = []
            results = self.cells.gather(api_conn, services.get_all, host=host,
                                        binary=binary, include_cell0=False)
            down = []
            for cell in self._cell_list(api_conn):
                if cell.uuid not in results:
                    LOG.warning("Cell %s is not responding and hence only partial results "
                                "are available from this cell.", cell.identity)
                    down.extend(InCell(cell.uuid, mapping.host) for mapping in
                                host_mappings.get_by_cell_id(api_conn, cell.id)
                                if host is None or mapping.host == host)
                    continue
                found.extend(InCell(cell.uuid, s) for s in results[cell.uuid]
                             if s.binary not in API_BINARIES)
            if binary not in (None, "nova-compute"):
                down = []
            return found, down
        return await self.api_db.do(thd)

    async def service_get_by_id(self, service_id: int) -> InCell[Service]:
        """The service with this id; ServiceNotFound, or ServiceNotUnique when
        several cells have one (ids are per cell; Nova refuses to guess)."""
        def thd(api_conn):
            found = None
            for cell in self._cell_list(api_conn):
                try:
                    service = self._read(cell, services.get, service_id)
                except exception.ServiceNotFound:
                    continue
                except sa.exc.SQLAlchemyError as e:
                    LOG.warning("Cell %s did not answer; it is left out: %s",
                                cell.identity, e)
                    continue
                if found is not None:
                    raise exception.ServiceNotUnique()
                found = InCell(cell.uuid, service)
            if found is None:
                raise exception.ServiceNotFound(service_id=service_id)
            return found
        return await self.api_db.do(thd)

    async def service_get_by_uuid(self, service_uuid: str) -> InCell[Service]:
        def thd(api_conn):
            try:
                return self._first(api_conn, services.get_by_uuid, service_uuid,
                                   missing=exception.ServiceNotFound)
            except exception.ServiceNotFound:
                raise exception.ServiceNotFound(service_id=service_uuid) from None
        return await self.api_db.do(thd)

    async def service_get_by_host_and_binary(self, host: str, binary: str
                                             ) -> InCell[Service]:
        """Through the host's mapping, as Nova's ``@target_host_cell``:
        HostMappingNotFound or HostBinaryNotFound."""
        def thd(api_conn):
            cell = self._host_cell(api_conn, host)
            return InCell(cell.uuid, self._read(cell, services.get_by_host_and_binary,
                                                host, binary))
        return await self.api_db.do(thd)

    async def find_compute_service(self, host: str) -> InCell[Service]:
        """The nova-compute service of ``host``: in its mapped cell, else in whichever
        cell has it (a host not yet discovered); ComputeHostNotFound."""
        def thd(api_conn):
            try:
                cell = self._host_cell(api_conn, host)
            except exception.HostMappingNotFound:
                try:
                    return self._first(api_conn, services.get_by_compute_host, host,
                                       missing=exception.ComputeHostNotFound)
                except exception.ComputeHostNotFound:
                    raise exception.ComputeHostNotFound(host=host) from None
            return InCell(cell.uuid, self._read(cell, services.get_by_compute_host, host))
        return await self.api_db.do(thd)

    async def service_update(self, context, found: InCell[Service],
                             values: dict[str, Any]) -> InCell[Service]:
        """Change ``disabled``/``disabled_reason``/``forced_down`` and send
        ``service.update`` when one of them was asked for (as Nova's ``save``)."""
        def thd(api_conn):
            cell = self._cell(api_conn, found.cell_uuid)
            return self._write(cell, services.update, found.item.id, values)
        updated = await self.api_db.do(thd)
        if service_notifications.NOTIFIED_FIELDS.intersection(values):
            service_notifications.notify_service(self.versioned_notifier, context,
                                                 service_notifications.UPDATE, updated)
        return InCell(found.cell_uuid, updated)

    async def service_delete(self, context, found: InCell[Service]) -> None:
        """Soft-delete the service (and a compute's nodes), then ``service.delete``."""
        def thd(api_conn):
            cell = self._cell(api_conn, found.cell_uuid)
            return self._write(cell, services.soft_delete, found.item.id)
        deleted = await self.api_db.do(thd)
        service_notifications.notify_service(self.versioned_notifier, context,
                                             service_notifications.DELETE, deleted)

    async def destroy_host_mapping(self, host: str) -> bool:
        """Unmap ``host``; False when it was not mapped (never discovered)."""
        def thd(api_conn):
            try:
                host_mappings.destroy(api_conn, host)
            except exception.HostMappingNotFound:
                return False
            return True
        return await self.api_db.do(thd)

    async def host_zones(self, hosts: Iterable[str]) -> dict[str, set[str]]:
        """``{host: {zone, ...}}`` from the aggregates' ``availability_zone`` metadata."""
        from nova_tx.availability_zones import az_metadata_by_host

        return await self.api_db.do(az_metadata_by_host, sorted(set(hosts)))

    # -- instances and migrations ------------------------------------------------------------

    async def count_instances_on_hosts(self, hosts: Iterable[str]) -> int:
        """Live instances on these hosts in every cell (cell0 skipped)."""
        hosts = sorted(set(hosts))

        def count(conn):
            return sum(instances.count(conn, host=h) for h in hosts)

        def thd(api_conn):
            return sum(n for _cell, n in self._gather(api_conn, count))
        if not hosts:
            return 0
        return await self.api_db.do(thd)

    async def count_in_progress_migrations(self, cell_uuid: str,
                                           nodes: Iterable[ComputeNode]) -> int:
        nodes = list(nodes)

        def count(conn):
            return sum(migration_records.count_in_progress_by_host_and_node(
                conn, n.host, n.hypervisor_hostname) for n in nodes)

        def thd(api_conn):
            return self._read(self._cell(api_conn, cell_uuid), count)
        return await self.api_db.do(thd)

    async def count_done_evacuations(self, cell_uuid: str, host: str) -> int:
        def thd(api_conn):
            return self._read(self._cell(api_conn, cell_uuid),
                              migration_records.count_done_evacuations_from, host)
        return await self.api_db.do(thd)

    async def instances_on_host(self, cell_uuid: str, host: str) -> list:
        """The live instances of ``host`` in its cell, oldest first (Nova's
        ``InstanceList.get_by_host``: soft-deleted and hidden ones included)."""
        def thd(api_conn):
            found = self._read(self._cell(api_conn, cell_uuid),
                               instances.get_all_by_filters_sort,
                               {"host": host, "deleted": False, "soft_deleted": True,
                                "hidden": [True, False, None]})
            return sorted(found, key=lambda i: i.id or 0)
        return await self.api_db.do(thd)

    # -- compute nodes -----------------------------------------------------------------------

    async def compute_nodes_of(self, found: InCell[Service]) -> list[ComputeNode]:
        """The nodes of a compute service's host, in its cell."""
        def thd(api_conn):
            return self._read(self._cell(api_conn, found.cell_uuid),
                              compute_nodes.get_full_by_host, found.item.host)
        return await self.api_db.do(thd)

    async def compute_node_get_all(self, *, limit: int | None = None,
                                   marker: str | None = None, uuid_marker: bool = False
                                   ) -> list[InCell[ComputeNode]]:
        """Nodes cell by cell, by id within a cell, after the node ``marker`` (its id,
        or with ``uuid_marker`` its uuid) and at most ``limit`` of them (Nova's
        ``compute_node_get_all``); MarkerNotFound when no cell has the marker."""
        def thd(api_conn):
            found: list[InCell[ComputeNode]] = []
            remaining = limit
            pending = marker
            for cell in self._cell_list(api_conn):
                try:
                    marker_id = None
                    if pending is not None:
                        marker_id = self._read(cell, _marker_id, pending, uuid_marker)
                        if marker_id is None:
                            continue
                    rows = self._read(cell, compute_nodes.get_all_full, limit=remaining,
                                      marker_id=marker_id)
                except sa.exc.SQLAlchemyError as e:
                    LOG.warning("Cell %s did not answer; it is left out: %s",
                                cell.identity, e)
                    continue
                pending = None
                found.extend(InCell(cell.uuid, node) for node in rows)
                if remaining is not None:
                    remaining -= len(rows)
                    if remaining <= 0:
                        break
            if pending is not None:
                raise exception.MarkerNotFound(marker=marker)
            return found
        return await self.api_db.do(thd)

    async def compute_node_get(self, node_id: int | str) -> InCell[ComputeNode]:
        """One node by id (int) or uuid (str); ComputeHostNotFound."""
        fn = compute_nodes.get_full if isinstance(node_id, int) else \
            compute_nodes.get_full_by_uuid

        def thd(api_conn):
            try:
                return self._first(api_conn, fn, node_id,
                                   missing=exception.ComputeHostNotFound)
            except exception.ComputeHostNotFound:
                raise exception.ComputeHostNotFound(host=node_id) from None
        return await self.api_db.do(thd)

    async def compute_node_search(self, pattern: str) -> list[InCell[ComputeNode]]:
        def thd(api_conn):
            return [InCell(cell_uuid, node) for cell_uuid, nodes
                    in self._gather(api_conn, compute_nodes.search_by_hypervisor, pattern)
                    for node in nodes]
        return await self.api_db.do(thd)

    async def compute_node_statistics(self) -> dict[str, int]:
        """Nova's totals over the enabled computes of every cell."""
        def thd(api_conn):
            totals = dict.fromkeys(("count", *compute_nodes.STATISTICS_FIELDS), 0)
            for _cell, stats in self._gather(api_conn, compute_nodes.statistics):
                for name, value in stats.items():
                    totals[name] += value
            return totals
        return await self.api_db.do(thd)

    async def compute_services_of(self, nodes: Iterable[InCell[ComputeNode]]
                                  ) -> dict[tuple[str, str], Service]:
        """``{(cell uuid, host): live nova-compute service}`` for the hosts of these
        nodes: one query per cell, however many nodes (Nova asks once per node)."""
        by_cell: dict[str, set[str]] = {}
        for node in nodes:
            if node.item.host:
                by_cell.setdefault(node.cell_uuid, set()).add(node.item.host)

        def thd(api_conn):
            found: dict[tuple[str, str], Service] = {}
            for cell_uuid, hosts in by_cell.items():
                for service in self._read(self._cell(api_conn, cell_uuid),
                                          services.get_compute_services_by_hosts, hosts):
                    found[(cell_uuid, service.host)] = service
            return found
        if not by_cell:
            return {}
        return await self.api_db.do(thd)

    async def compute_service_in_cell(self, node: InCell[ComputeNode]) -> Service | None:
        """The live nova-compute service of a node's host, from the node's cell; None
        when it was deleted (its nodes may linger until cleaned up)."""
        def thd(api_conn):
            try:
                return self._read(self._cell(api_conn, node.cell_uuid),
                                  services.get_by_compute_host, node.item.host or "")
            except exception.ComputeHostNotFound:
                return None
        return await self.api_db.do(thd)


def _marker_id(conn: sa.Connection, marker: str, by_uuid: bool) -> int | None:
    """The id of the marker node in this cell, or None when it is not here."""
    table = compute_nodes.compute_nodes
    if by_uuid:
        condition = table.c.uuid == marker
    else:
        try:
            condition = table.c.id == int(marker)
        except ValueError:
            return None
    return conn.execute(sa.select(table.c.id).where(condition)
                        .where(table.c.deleted == 0)).scalar_one_or_none()
