"""Consumers, their projects, users and types, and their generations."""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.placement.models import allocations, consumer_types, consumers, projects, users
from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.objects import Consumer

#: The consumer type shown for consumers written before microversion 1.38.
UNKNOWN_TYPE = "unknown"

_select = (
    sa.select(consumers.c.id, consumers.c.uuid, consumers.c.generation,
              projects.c.external_id.label("project"), users.c.external_id.label("user"),
              consumer_types.c.name.label("type_name"))
    .select_from(consumers.join(projects, projects.c.id == consumers.c.project_id)
                 .join(users, users.c.id == consumers.c.user_id)
                 .outerjoin(consumer_types, consumer_types.c.id == consumers.c.consumer_type_id)))


def _consumer(row) -> Consumer:
    return Consumer(uuid=row.uuid, project_id=row.project, user_id=row.user,
                    generation=row.generation, consumer_type=row.type_name, id=row.id)


def get(conn: sa.Connection, uuid: str) -> Consumer | None:
    row = conn.execute(_select.where(consumers.c.uuid == uuid)).one_or_none()
    return _consumer(row) if row is not None else None


def _external_id(conn: sa.Connection, table: sa.Table, external_id: str) -> int:
    query = sa.select(table.c.id).where(table.c.external_id == external_id)
    found = conn.execute(query).scalar()
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            return conn.execute(table.insert().values(
                external_id=external_id, created_at=utcnow())).inserted_primary_key[0]
    except DBDuplicateEntry:
        return _created_elsewhere(conn, query, table.name, external_id)


def _created_elsewhere(conn: sa.Connection, query, what: str, name: str) -> int:
    found = conn.execute(query).scalar()
    if found is None:
        raise exception.ConcurrentCreate(f"{what} {name} was created concurrently") from None
    return found


def project_id(conn: sa.Connection, external_id: str) -> int:
    return _external_id(conn, projects, external_id)


def user_id(conn: sa.Connection, external_id: str) -> int:
    return _external_id(conn, users, external_id)


def consumer_type_id(conn: sa.Connection, name: str) -> int:
    query = sa.select(consumer_types.c.id).where(consumer_types.c.name == name)
    found = conn.execute(query).scalar()
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            return conn.execute(consumer_types.insert().values(
                name=name, created_at=utcnow())).inserted_primary_key[0]
    except DBDuplicateEntry:
        return _created_elsewhere(conn, query, "consumer type", name)


def ensure(conn: sa.Connection, uuid: str, *, project: str, user: str,
           generation: int | None, check_generation: bool,
           consumer_type: str | None) -> Consumer:
    """The consumer ``uuid``, created or updated to ``project``/``user``/type.

    With ``check_generation`` (microversion 1.28 and later) the client's
    ``generation`` must be the consumer's (None for a consumer that does not exist).
    """
    current = get(conn, uuid)
    if current is None:
        if check_generation and generation is not None:
            raise exception.ConcurrentUpdate(
                f"consumer generation conflict - expected null but got {generation}")
        values = {"uuid": uuid, "project_id": project_id(conn, project),
                  "user_id": user_id(conn, user), "generation": 0, "created_at": utcnow()}
        if consumer_type is not None:
            values["consumer_type_id"] = consumer_type_id(conn, consumer_type)
        try:
            with conn.begin_nested():
                conn.execute(consumers.insert().values(**values))
        except DBDuplicateEntry:
            raise exception.ConcurrentUpdate(
                f"Another thread concurrently created a consumer with uuid {uuid}.") from None
        return get(conn, uuid)
    if check_generation and current.generation != generation:
        raise exception.ConcurrentUpdate(
            "consumer generation conflict - expected %s but got %s"
            % (current.generation, "null" if generation is None else generation))
    values = {}
    if current.project_id != project:
        values["project_id"] = project_id(conn, project)
    if current.user_id != user:
        values["user_id"] = user_id(conn, user)
    if consumer_type is not None and current.consumer_type != consumer_type:
        values["consumer_type_id"] = consumer_type_id(conn, consumer_type)
    if values:
        conn.execute(consumers.update().where(consumers.c.id == current.id)
                     .values(updated_at=utcnow(), **values))
        current = get(conn, uuid)
    return current


def increment_generation(conn: sa.Connection, consumer: Consumer) -> int:
    result = conn.execute(
        consumers.update()
        .where(consumers.c.id == consumer.id, consumers.c.generation == consumer.generation)
        .values(generation=consumer.generation + 1, updated_at=utcnow()))
    if result.rowcount != 1:
        raise exception.ConcurrentUpdate(
            f"consumer generation conflict - expected {consumer.generation} but the "
            "consumer changed concurrently")
    return consumer.generation + 1


def delete_if_no_allocations(conn: sa.Connection, uuids) -> None:
    """Consumers without allocations are not kept (as Placement does)."""
    uuids = list(uuids)
    if not uuids:
        return
    conn.execute(consumers.delete().where(
        consumers.c.uuid.in_(uuids),
        consumers.c.uuid.not_in(sa.select(allocations.c.consumer_id)
                                .where(allocations.c.consumer_id.in_(uuids)))))
