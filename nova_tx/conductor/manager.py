"""The conductor's RPC endpoint: the database gateway of services without a database.

A compute never opens a database (DESIGN.md); it reads and writes the records it owns
through these methods, served by nova-conductor on topic ``conductor``. Results are
plain dicts (``Service.to_primitive``) so that they cross the bus as JSON; errors
(``HostBinaryNotFound``, ``ServiceNotFound``) come back to the caller as themselves.
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception
from nova_tx.bus.rpc import Target, expected_exceptions
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.servicegroup.api import ServiceRecords


class ConductorManager:
    """Version history:

    * 1.0: service_get_by_host_and_binary, service_create, service_update,
      service_report, service_get_minimum_version
    """

    target = Target(version="1.0")

    def __init__(self, records: ServiceRecords):
        # DatabaseServiceRecords in nova-conductor; its pool starts in prepare().
        self.records = records

    @expected_exceptions(exception.HostBinaryNotFound)
    async def service_get_by_host_and_binary(self, ctxt: Any, host: str, binary: str
                                             ) -> dict[str, Any]:
        return (await self.records.get_by_host_and_binary(host, binary)).to_primitive()

    @expected_exceptions(DBDuplicateEntry)
    async def service_create(self, ctxt: Any, values: dict[str, Any]) -> dict[str, Any]:
        return (await self.records.create(dict(values))).to_primitive()

    @expected_exceptions(exception.ServiceNotFound, exception.Invalid)
    async def service_update(self, ctxt: Any, service_id: int, values: dict[str, Any]
                             ) -> dict[str, Any]:
        return (await self.records.update(service_id, dict(values))).to_primitive()

    @expected_exceptions(exception.ServiceNotFound)
    async def service_report(self, ctxt: Any, service_id: int) -> dict[str, Any]:
        return (await self.records.report(service_id)).to_primitive()

    async def service_get_minimum_version(self, ctxt: Any, binaries: list[str]
                                          ) -> dict[str, int]:
        return await self.records.get_minimum_version(list(binaries))
