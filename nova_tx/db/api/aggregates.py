"""Queries of ``aggregates``, ``aggregate_hosts`` and ``aggregate_metadata``.

Plain functions of a Connection returning ``Aggregate`` dataclasses (see
``cell_mappings`` for the conventions): the read side the scheduler's prefilters
need (Nova's ``AggregateList.get_by_metadata`` and
``get_non_matching_by_metadata_keys``), plus ``create`` for tools and tests, and the
write side of ``/os-aggregates`` (``get``, ``update``, ``add_host``, ``remove_host``,
``destroy``). The API database has no soft delete: a deleted aggregate's rows go.
"""
from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import models
from nova_tx.db.types import utcnow
from nova_tx.objects.aggregate import Aggregate

aggregates = models.Aggregate.__table__
aggregate_hosts = models.AggregateHost.__table__
aggregate_metadata = models.AggregateMetadata.__table__


def _load(conn: sa.Connection, ids: Iterable[int]) -> list[Aggregate]:
    """The aggregates with these ids, with all their hosts and metadata, by id."""
    ids = sorted(set(ids))
    if not ids:
        return []
    rows = conn.execute(sa.select(aggregates).where(aggregates.c.id.in_(ids))
                        .order_by(aggregates.c.id)).all()
    hosts: dict[int, list[str]] = {i: [] for i in ids}
    for row in conn.execute(sa.select(aggregate_hosts.c.aggregate_id, aggregate_hosts.c.host)
                            .where(aggregate_hosts.c.aggregate_id.in_(ids))
                            .order_by(aggregate_hosts.c.id)):
        hosts[row.aggregate_id].append(row.host)
    metadata: dict[int, dict[str, str]] = {i: {} for i in ids}
    for row in conn.execute(sa.select(aggregate_metadata.c.aggregate_id,
                                      aggregate_metadata.c.key, aggregate_metadata.c.value)
                            .where(aggregate_metadata.c.aggregate_id.in_(ids))):
        metadata[row.aggregate_id][row.key] = row.value
    return [Aggregate(id=row.id, uuid=row.uuid, name=row.name, hosts=tuple(hosts[row.id]),
                      metadata=metadata[row.id], created_at=row.created_at,
                      updated_at=row.updated_at) for row in rows]


def get_all(conn: sa.Connection) -> list[Aggregate]:
    return _load(conn, conn.execute(sa.select(aggregates.c.id)).scalars())


def get_by_host(conn: sa.Connection, host: str) -> list[Aggregate]:
    """The aggregates ``host`` is a member of."""
    return _load(conn, conn.execute(sa.select(aggregate_hosts.c.aggregate_id)
                                    .where(aggregate_hosts.c.host == host)).scalars())


def get_by_metadata(conn: sa.Connection, key: str | None = None,
                    value: str | None = None) -> list[Aggregate]:
    """Aggregates with a metadata entry of this key and/or value (Nova's
    ``AggregateList.get_by_metadata``); each comes with all its metadata."""
    query = sa.select(aggregate_metadata.c.aggregate_id).distinct()
    if key is not None:
        query = query.where(aggregate_metadata.c.key == key)
    if value is not None:
        query = query.where(aggregate_metadata.c.value == value)
    return _load(conn, conn.execute(query).scalars())


def get_non_matching_by_metadata_keys(conn: sa.Connection, ignored_keys: Iterable[str],
                                      key_prefix: str, value: str) -> list[Aggregate]:
    """Aggregates with at least one metadata entry whose key starts with
    ``key_prefix``, whose value is ``value`` and whose key is not in ``ignored_keys``
    (Nova's ``get_non_matching_by_metadata_keys``, for ``isolate_aggregates``)."""
    if not key_prefix:
        raise ValueError("key_prefix mandatory field.")
    ignored = sorted(set(ignored_keys))
    prefix = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (sa.select(aggregate_metadata.c.aggregate_id).distinct()
             .where(aggregate_metadata.c.value == value)
             .where(aggregate_metadata.c.key.like(prefix + "%", escape="\\")))
    if ignored:
        query = query.where(aggregate_metadata.c.key.not_in(ignored))
    return _load(conn, conn.execute(query).scalars())


def create(conn: sa.Connection, name: str, *, uuid: str | None = None,
           metadata: Mapping[str, str] | None = None,
           hosts: Iterable[str] = ()) -> Aggregate:
    """A new aggregate with its metadata and hosts (no placement mirroring here)."""
    uuid = uuid or str(uuidlib.uuid4())
    agg_id = conn.execute(aggregates.insert().values(uuid=uuid, name=name)
                          ).inserted_primary_key[0]
    for key, value in (metadata or {}).items():
        conn.execute(aggregate_metadata.insert().values(aggregate_id=agg_id, key=key,
                                                        value=value))
    for host in hosts:
        conn.execute(aggregate_hosts.insert().values(aggregate_id=agg_id, host=host))
    return _load(conn, [agg_id])[0]


def get(conn: sa.Connection, aggregate_id: int) -> Aggregate:
    """The aggregate ``aggregate_id``; raises AggregateNotFound."""
    found = _load(conn, [aggregate_id])
    if not found:
        raise exception.AggregateNotFound(aggregate_id=aggregate_id)
    return found[0]


def get_by_uuid(conn: sa.Connection, uuid: str) -> Aggregate:
    """The aggregate of this uuid; raises AggregateNotFound."""
    agg_id = conn.execute(sa.select(aggregates.c.id).where(aggregates.c.uuid == uuid)
                          ).scalar_one_or_none()
    if agg_id is None:
        raise exception.AggregateNotFound(aggregate_id=uuid)
    return get(conn, agg_id)


def _check_name_free(conn: sa.Connection, name: str, aggregate_id: int | None) -> None:
    query = sa.select(aggregates.c.id).where(aggregates.c.name == name)
    if aggregate_id is not None:
        query = query.where(aggregates.c.id != aggregate_id)
    if conn.execute(query).first() is not None:
        raise exception.AggregateNameExists(aggregate_name=name)


def create_checked(conn: sa.Connection, name: str, *,
                   metadata: Mapping[str, str] | None = None,
                   uuid: str | None = None) -> Aggregate:
    """``create`` for the API: a name already taken is AggregateNameExists (the
    unique constraint still guards a concurrent create)."""
    _check_name_free(conn, name, None)
    return create(conn, name, uuid=uuid, metadata=metadata)


def _touch(conn: sa.Connection, aggregate_id: int) -> None:
    conn.execute(aggregates.update().where(aggregates.c.id == aggregate_id)
                 .values(updated_at=utcnow()))


def _merge_metadata(conn: sa.Connection, aggregate_id: int,
                    changes: Mapping[str, str | None]) -> None:
    current = {row.key: row.value for row in conn.execute(
        sa.select(aggregate_metadata.c.key, aggregate_metadata.c.value)
        .where(aggregate_metadata.c.aggregate_id == aggregate_id))}
    for key, value in changes.items():
        if value is None:
            conn.execute(aggregate_metadata.delete()
                         .where(aggregate_metadata.c.aggregate_id == aggregate_id)
                         .where(aggregate_metadata.c.key == key))
        elif key in current:
            if current[key] != value:
                conn.execute(aggregate_metadata.update()
                             .where(aggregate_metadata.c.aggregate_id == aggregate_id)
                             .where(aggregate_metadata.c.key == key)
                             .values(value=value, updated_at=utcnow()))
        else:
            conn.execute(aggregate_metadata.insert().values(
                aggregate_id=aggregate_id, key=key, value=value))


def update(conn: sa.Connection, aggregate_id: int, *, name: str | None = None,
           metadata: Mapping[str, str | None] | None = None) -> Aggregate:
    """Rename and/or merge metadata in one transaction: listed keys are set, keys
    whose value is None are removed (a missing one is ignored), others are kept
    (Nova's ``Aggregate.update_metadata``). Raises AggregateNotFound and
    AggregateNameExists."""
    get(conn, aggregate_id)
    if name is not None:
        _check_name_free(conn, name, aggregate_id)
        conn.execute(aggregates.update().where(aggregates.c.id == aggregate_id)
                     .values(name=name))
    if metadata:
        _merge_metadata(conn, aggregate_id, metadata)
    _touch(conn, aggregate_id)
    return get(conn, aggregate_id)


def add_host(conn: sa.Connection, aggregate_id: int, host: str) -> Aggregate:
    """Raises AggregateNotFound and AggregateHostExists."""
    aggregate = get(conn, aggregate_id)
    if host in aggregate.hosts:
        raise exception.AggregateHostExists(aggregate_id=aggregate_id, host=host)
    conn.execute(aggregate_hosts.insert().values(aggregate_id=aggregate_id, host=host))
    return get(conn, aggregate_id)


def remove_host(conn: sa.Connection, aggregate_id: int, host: str) -> Aggregate:
    """Raises AggregateNotFound and AggregateHostNotFound."""
    get(conn, aggregate_id)
    result = conn.execute(aggregate_hosts.delete()
                          .where(aggregate_hosts.c.aggregate_id == aggregate_id)
                          .where(aggregate_hosts.c.host == host))
    if result.rowcount == 0:
        raise exception.AggregateHostNotFound(aggregate_id=aggregate_id, host=host)
    return get(conn, aggregate_id)


def remove_host_everywhere(conn: sa.Connection, host: str) -> list[Aggregate]:
    """Take ``host`` out of every aggregate (its service is being deleted); the
    aggregates as they are afterwards."""
    ids = list(conn.execute(sa.select(aggregate_hosts.c.aggregate_id)
                            .where(aggregate_hosts.c.host == host)).scalars())
    conn.execute(aggregate_hosts.delete().where(aggregate_hosts.c.host == host))
    return _load(conn, ids)


def destroy(conn: sa.Connection, aggregate_id: int) -> Aggregate:
    """Delete an aggregate with no hosts and its metadata; the aggregate as it was.

    Raises AggregateNotFound, and InvalidAggregateActionDelete while hosts remain
    (checked in the same transaction, so a host added meanwhile is not orphaned).
    """
    aggregate = get(conn, aggregate_id)
    if aggregate.hosts:
        raise exception.InvalidAggregateActionDelete(
            aggregate_id=aggregate_id, reason="Host aggregate is not empty")
    conn.execute(aggregate_metadata.delete()
                 .where(aggregate_metadata.c.aggregate_id == aggregate_id))
    conn.execute(aggregates.delete().where(aggregates.c.id == aggregate_id))
    return aggregate
