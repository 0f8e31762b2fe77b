"""Queries of ``request_specs``: one RequestSpec per instance, kept for moves.

The ``spec`` column holds the JSON Nova writes (``RequestSpec.to_db_spec()``: the
versioned-object primitive without the per-request fields), so rows written by Nova
load here and ours load in Nova.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import models
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.types import utcnow
from nova_tx.objects.request_spec import RequestSpec

request_specs = models.RequestSpec.__table__


def create(conn: sa.Connection, spec: RequestSpec) -> RequestSpec:
    """Store ``spec`` (it needs its ``instance_uuid``); sets and returns it with ``id``.

    Raises ``Invalid`` when it already has an id or another spec exists for the
    instance.
    """
    if spec.id is not None:
        raise exception.Invalid("RequestSpec already created")
    if not spec.instance_uuid:
        raise exception.Invalid("RequestSpec needs an instance_uuid to be stored")
    exists = conn.execute(sa.select(request_specs.c.id).where(
        request_specs.c.instance_uuid == spec.instance_uuid)).first()
    if exists is not None:
        # Checked first: a failed insert would abort a PostgreSQL transaction.
        raise exception.Invalid(
            f"RequestSpec for instance {spec.instance_uuid} already exists")
    try:
        result = conn.execute(request_specs.insert().values(
            instance_uuid=spec.instance_uuid, spec=spec.to_db_spec()))
    except DBDuplicateEntry:
        raise exception.Invalid(
            f"RequestSpec for instance {spec.instance_uuid} already exists") from None
    spec.id = result.inserted_primary_key[0]
    return spec


def get_by_instance_uuid(conn: sa.Connection, instance_uuid: str) -> RequestSpec:
    """The stored spec of one instance; raises RequestSpecNotFound."""
    row = conn.execute(sa.select(request_specs.c.id, request_specs.c.spec).where(
        request_specs.c.instance_uuid == instance_uuid)).one_or_none()
    if row is None:
        raise exception.RequestSpecNotFound(instance_uuid=instance_uuid)
    spec = RequestSpec.from_db_spec(row.spec, id=row.id)
    spec.instance_uuid = instance_uuid
    return spec


def save(conn: sa.Connection, spec: RequestSpec) -> None:
    """Rewrite the stored spec of ``spec.instance_uuid`` (the whole JSON, as Nova)."""
    result = conn.execute(request_specs.update()
                          .where(request_specs.c.instance_uuid == spec.instance_uuid)
                          .values(spec=spec.to_db_spec(), updated_at=utcnow()))
    if result.rowcount == 0:
        raise exception.RequestSpecNotFound(instance_uuid=spec.instance_uuid)


def destroy(conn: sa.Connection, instance_uuid: str) -> None:
    result = conn.execute(request_specs.delete().where(
        request_specs.c.instance_uuid == instance_uuid))
    if result.rowcount == 0:
        raise exception.RequestSpecNotFound(instance_uuid=instance_uuid)


def destroy_bulk(conn: sa.Connection, instance_uuids: Iterable[str]) -> int:
    """Delete the specs of these instances; how many there were."""
    uuids = list(instance_uuids)
    if not uuids:
        return 0
    return conn.execute(request_specs.delete().where(
        request_specs.c.instance_uuid.in_(uuids))).rowcount
