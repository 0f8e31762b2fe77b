"""Queries of ``services``: the service processes (nova-compute, ...) of one cell.

Plain functions of a Connection to a cell's database (see
``nova_tx.db.api.cell_mappings`` for the conventions); soft-deleted rows are left out.
"""
from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.main import models
from nova_tx.db.types import utcnow
from nova_tx.objects.service import Service

services = models.Service.__table__

#: Columns a service (or the conductor on its behalf) may change with ``update``;
#: the counters and timestamps are the DB layer's business.
UPDATABLE = frozenset({"topic", "disabled", "disabled_reason", "forced_down", "version"})


def get_compute_hosts(conn: sa.Connection) -> list[str]:
    """The hosts of the nova-compute services, disabled ones included, oldest first."""
    rows = conn.execute(
        sa.select(services.c.host)
        .where(services.c.deleted == 0).where(services.c.binary == "nova-compute")
        .where(services.c.host.is_not(None))
        .order_by(services.c.id))
    return list(dict.fromkeys(rows.scalars()))


def _from_row(row: sa.Row) -> Service:
    return Service(
        id=row.id, uuid=row.uuid, host=row.host, binary=row.binary, topic=row.topic,
        report_count=row.report_count, disabled=bool(row.disabled),
        disabled_reason=row.disabled_reason, forced_down=bool(row.forced_down),
        version=row.version or 0, last_seen_up=row.last_seen_up,
        created_at=row.created_at, updated_at=row.updated_at)


def get(conn: sa.Connection, service_id: int) -> Service:
    row = conn.execute(sa.select(services).where(services.c.id == service_id)
                       .where(services.c.deleted == 0)).one_or_none()
    if row is None:
        raise exception.ServiceNotFound(service_id=service_id)
    return _from_row(row)


def get_by_host_and_binary(conn: sa.Connection, host: str, binary: str) -> Service:
    row = conn.execute(sa.select(services).where(services.c.host == host)
                       .where(services.c.binary == binary)
                       .where(services.c.deleted == 0)).one_or_none()
    if row is None:
        raise exception.HostBinaryNotFound(host=host, binary=binary)
    return _from_row(row)


def create(conn: sa.Connection, *, host: str, binary: str, topic: str | None,
           version: int = 0, disabled: bool = False, disabled_reason: str | None = None,
           uuid: str | None = None) -> Service:
    """A new record; a live one for the same host and binary is ``DBDuplicateEntry``."""
    result = conn.execute(services.insert().values(
        host=host, binary=binary, topic=topic, version=version, disabled=disabled,
        disabled_reason=disabled_reason, uuid=uuid or str(uuid_module.uuid4()),
        report_count=0, forced_down=False, deleted=0, created_at=utcnow()))
    return get(conn, result.inserted_primary_key[0])


def update(conn: sa.Connection, service_id: int, values: Mapping[str, Any]) -> Service:
    unknown = set(values) - UPDATABLE
    if unknown:
        raise exception.Invalid("Cannot update service fields: %s" % ", ".join(sorted(unknown)))
    if values:
        result = conn.execute(services.update().where(services.c.id == service_id)
                              .where(services.c.deleted == 0)
                              .values(updated_at=utcnow(), **values))
        if result.rowcount == 0:
            raise exception.ServiceNotFound(service_id=service_id)
    return get(conn, service_id)


def report(conn: sa.Connection, service_id: int) -> Service:
    """One heartbeat: ``report_count`` goes up and, with it, ``last_seen_up`` (Nova's
    DB layer does the same when it sees the counter change)."""
    now = utcnow()
    result = conn.execute(services.update().where(services.c.id == service_id)
                          .where(services.c.deleted == 0)
                          .values(report_count=services.c.report_count + 1,
                                  last_seen_up=now, updated_at=now))
    if result.rowcount == 0:
        raise exception.ServiceNotFound(service_id=service_id)
    return get(conn, service_id)


def get_minimum_version(conn: sa.Connection, binaries: list[str]) -> dict[str, int]:
    """The lowest ``version`` of each binary's live records (Nova's
    ``service_get_minimum_version``): forced-down services do not hold it back, and a
    binary with no record is 0."""
    rows = conn.execute(
        sa.select(services.c.binary, sa.func.min(services.c.version))
        .where(services.c.binary.in_(binaries)).where(services.c.deleted == 0)
        .where(services.c.forced_down == sa.false())
        .group_by(services.c.binary))
    found = {binary: version or 0 for binary, version in rows}
    return {binary: found.get(binary, 0) for binary in binaries}


# -- what os-services, os-hypervisors and aggregates read and change ------------------

def get_all(conn: sa.Connection, *, host: str | None = None,
            binary: str | None = None) -> list[Service]:
    """The live services, oldest first, optionally of one host and/or binary."""
    stmt = sa.select(services).where(services.c.deleted == 0).order_by(services.c.id)
    if host is not None:
        stmt = stmt.where(services.c.host == host)
    if binary is not None:
        stmt = stmt.where(services.c.binary == binary)
    return [_from_row(row) for row in conn.execute(stmt)]


def get_by_uuid(conn: sa.Connection, service_uuid: str) -> Service:
    row = conn.execute(sa.select(services).where(services.c.uuid == service_uuid)
                       .where(services.c.deleted == 0)).one_or_none()
    if row is None:
        raise exception.ServiceNotFound(service_id=service_uuid)
    return _from_row(row)


def get_by_compute_host(conn: sa.Connection, host: str) -> Service:
    """The nova-compute service of ``host``; raises ComputeHostNotFound.

    The match is exact even on a database whose comparison ignores case (MySQL's
    default collation): Nova refuses ``Host1`` for ``host1`` in the same way.
    """
    rows = conn.execute(sa.select(services).where(services.c.host == host)
                        .where(services.c.binary == "nova-compute")
                        .where(services.c.deleted == 0)).all()
    for row in rows:
        if row.host == host:
            return _from_row(row)
    raise exception.ComputeHostNotFound(host=host)


def get_compute_services_by_hosts(conn: sa.Connection, hosts: Iterable[str]
                                  ) -> list[Service]:
    """The live nova-compute services of these hosts (exact names, as
    ``get_by_compute_host``), oldest first."""
    wanted = set(hosts)
    if not wanted:
        return []
    rows = conn.execute(sa.select(services).where(services.c.deleted == 0)
                        .where(services.c.binary == "nova-compute")
                        .where(services.c.host.in_(sorted(wanted)))
                        .order_by(services.c.id))
    return [_from_row(row) for row in rows if row.host in wanted]


def soft_delete(conn: sa.Connection, service_id: int) -> Service:
    """Soft-delete a service (``deleted`` takes the row's id, as Nova's) and, for a
    nova-compute, its compute nodes (Nova's ``service_destroy``); the record as it was.
    """
    from nova_tx.db.main import compute_nodes

    service = get(conn, service_id)
    conn.execute(services.update().where(services.c.id == service_id)
                 .values(deleted=services.c.id, deleted_at=utcnow()))
    if service.binary == "nova-compute" and service.host:
        compute_nodes.soft_delete_by_host(conn, service.host, service_id)
    return service
