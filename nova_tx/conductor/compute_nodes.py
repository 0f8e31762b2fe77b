"""The conductor's gateway to ``compute_nodes`` for computes (which have no database).

A compute creates its node's record at its first resource update and rewrites it
after each one; the scheduler and ``os-hypervisors`` read the row. Served by
nova-conductor on topic ``conductor``, namespace ``compute_nodes``; records cross the
bus as dicts of the row's columns, timestamps as ISO 8601 text.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from nova_tx import exception
from nova_tx.bus.rpc import Target, expected_exceptions
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.main import compute_nodes

NAMESPACE = "compute_nodes"


def record_to_primitive(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime.datetime) else v
            for k, v in record.items()}


class ComputeNodeGateway:
    """Version history:

    * 1.0: compute_node_get_by_host_and_nodename, compute_node_get_all_by_host,
      compute_node_create, compute_node_update, compute_node_delete
    """

    target = Target(namespace=NAMESPACE, version="1.0")

    def __init__(self, pool: Callable[[], Any]):
        # The conductor's pool exists only once it has prepared: asked for per call.
        self.pool = pool

    def _do(self, fn: Any, *args: Any) -> Any:
        return self.pool().do(fn, *args)

    @expected_exceptions(exception.ComputeHostNotFound)
    async def compute_node_get_by_host_and_nodename(self, ctxt: Any, host: str,
                                                    nodename: str) -> dict[str, Any]:
        return record_to_primitive(await self._do(
            compute_nodes.get_record_by_host_and_nodename, host, nodename))

    async def compute_node_get_all_by_host(self, ctxt: Any, host: str
                                           ) -> list[dict[str, Any]]:
        return [record_to_primitive(r)
                for r in await self._do(compute_nodes.get_records_by_host, host)]

    @expected_exceptions(DBDuplicateEntry, exception.Invalid)
    async def compute_node_create(self, ctxt: Any, values: dict[str, Any]
                                  ) -> dict[str, Any]:
        return record_to_primitive(await self._do(compute_nodes.create_record, dict(values)))

    @expected_exceptions(exception.ComputeHostNotFound, exception.Invalid)
    async def compute_node_update(self, ctxt: Any, node_id: int, values: dict[str, Any]
                                  ) -> dict[str, Any]:
        return record_to_primitive(await self._do(
            compute_nodes.update_record, node_id, dict(values)))

    @expected_exceptions(exception.ComputeHostNotFound)
    async def compute_node_delete(self, ctxt: Any, node_id: int) -> None:
        await self._do(compute_nodes.delete_record, node_id)
