"""Availability zones as Nova derives them (``nova/availability_zones.py``).

A compute service's zone is the ``availability_zone`` metadata of the aggregates its
host is in (several joined by commas), else ``[DEFAULT] default_availability_zone``;
every other service is in ``[DEFAULT] internal_service_availability_zone``. A zone
is *available* when an enabled service is in it, *not available* when only disabled
ones are; zones without services do not exist for this purpose (an aggregate's zone
with no compute host in it is not listed), nor does the internal zone in the list.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from oslo_config import cfg

from nova_tx.conf import availability_zone as az_conf
from nova_tx.db.api import models as api_models
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import models as cell_models
from nova_tx.objects.service import Service

AZ_KEY = "availability_zone"


def az_metadata_by_host(conn: sa.Connection,
                        hosts: Iterable[str] | None = None) -> dict[str, set[str]]:
    """``{host: {zone, ...}}`` from the aggregates' ``availability_zone`` metadata."""
    hosts_t = api_models.AggregateHost.__table__
    meta_t = api_models.AggregateMetadata.__table__
    query = (sa.select(hosts_t.c.host, meta_t.c.value)
             .select_from(hosts_t.join(meta_t,
                                       meta_t.c.aggregate_id == hosts_t.c.aggregate_id))
             .where(meta_t.c.key == AZ_KEY))
    if hosts is not None:
        query = query.where(hosts_t.c.host.in_(sorted(set(hosts))))
    result: dict[str, set[str]] = {}
    for row in conn.execute(query):
        result.setdefault(row.host, set()).add(row.value)
    return result


def service_zone(conf: cfg.ConfigOpts, service: Service,
                 host_zones: dict[str, set[str]]) -> str:
    if service.topic == "compute":
        zones = host_zones.get(service.host or "")
        if zones:
            return ",".join(sorted(zones))
        return conf.default_availability_zone
    return conf.internal_service_availability_zone


def get_availability_zones(conf: cfg.ConfigOpts, services: Iterable[Service],
                           host_zones: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """(available zones, not available zones), each sorted."""
    az_conf.register_opts(conf)
    available: set[str] = set()
    disabled: set[str] = set()
    for service in services:
        zone = service_zone(conf, service, host_zones)
        (disabled if service.disabled else available).add(zone)
    return sorted(available), sorted(disabled - available)


def get_services(conn: sa.Connection) -> list[Service]:
    """The live services of one cell database (what zones are made of)."""
    table = cell_models.Service.__table__
    rows = conn.execute(sa.select(table.c.id, table.c.uuid, table.c.host, table.c.binary,
                                  table.c.topic, table.c.disabled)
                        .where(table.c.deleted == 0).order_by(table.c.id))
    return [Service(id=r.id, uuid=r.uuid, host=r.host, binary=r.binary, topic=r.topic,
                    disabled=bool(r.disabled)) for r in rows]


class CellServices:
    """The services of every cell with their hosts' aggregate zones, read through the
    API database's thread pool (``cells``: a ``nova_tx.db.cells.CellEngines``). A cell
    that cannot be read is left out, as Nova skips down cells."""

    def __init__(self, api_db, cells: CellEngines):
        self.api_db = api_db
        self.cells = cells

    def _all(self, conn: sa.Connection) -> tuple[list[Service], dict[str, set[str]]]:
        found: list[Service] = []
        for services in self.cells.gather(conn, get_services, include_cell0=False).values():
            found.extend(services)
        return found, az_metadata_by_host(conn, [s.host for s in found if s.host])

    async def services_and_zones(self) -> tuple[list[Service], dict[str, set[str]]]:
        return await self.api_db.do(self._all)
