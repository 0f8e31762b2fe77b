"""Aggregates of providers (Placement's own: uuids only, no names or metadata)."""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.placement.models import aggregates, rp_aggregates
from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.objects import ResourceProvider
from nova_tx.placement.storage import resource_providers


def get_for_provider(conn: sa.Connection, rp: ResourceProvider) -> list[str]:
    return sorted(row.uuid for row in conn.execute(
        sa.select(aggregates.c.uuid)
        .join(rp_aggregates, rp_aggregates.c.aggregate_id == aggregates.c.id)
        .where(rp_aggregates.c.resource_provider_id == rp.id)))


def ensure_ids(conn: sa.Connection, uuids) -> dict[str, int]:
    """Ids of aggregates ``uuids``, creating those not known yet."""
    uuids = set(uuids)
    if not uuids:
        return {}
    found = {row.uuid: row.id for row in conn.execute(
        sa.select(aggregates.c.id, aggregates.c.uuid).where(aggregates.c.uuid.in_(uuids)))}
    for uuid in uuids - set(found):
        try:
            with conn.begin_nested():
                found[uuid] = conn.execute(aggregates.insert().values(
                    uuid=uuid, created_at=utcnow())).inserted_primary_key[0]
        except DBDuplicateEntry:
            found_id = conn.execute(
                sa.select(aggregates.c.id).where(aggregates.c.uuid == uuid)).scalar()
            if found_id is None:
                raise exception.ConcurrentCreate(
                    f"aggregate {uuid} was created concurrently") from None
            found[uuid] = found_id
    return found


def set_for_provider(conn: sa.Connection, rp: ResourceProvider, uuids: list[str], *,
                     generation: int | None = None, increment_generation: bool = True
                     ) -> int:
    """Make ``uuids`` the provider's aggregates; returns its (new) generation.

    Before microversion 1.19 the provider's generation neither is checked nor moves.
    """
    new_generation = rp.generation
    if increment_generation:
        new_generation = resource_providers.increment_generation(conn, rp, generation)
    ids = ensure_ids(conn, uuids)
    have = {row.aggregate_id for row in conn.execute(
        sa.select(rp_aggregates.c.aggregate_id)
        .where(rp_aggregates.c.resource_provider_id == rp.id))}
    gone = have - set(ids.values())
    if gone:
        conn.execute(rp_aggregates.delete().where(
            rp_aggregates.c.resource_provider_id == rp.id,
            rp_aggregates.c.aggregate_id.in_(gone)))
    new = set(ids.values()) - have
    if new:
        now = utcnow()
        conn.execute(rp_aggregates.insert(), [
            {"resource_provider_id": rp.id, "aggregate_id": a, "created_at": now}
            for a in new])
    return new_generation
