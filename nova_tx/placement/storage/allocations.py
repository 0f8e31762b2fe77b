"""Allocations: what consumers use of providers' inventories.

Writes check capacity, ``(total - reserved) * allocation_ratio``, and the inventory's
``min_unit``, ``max_unit`` and ``step_size``; they bump the generation of every
provider they touch and of every consumer they write, with a compare-and-swap, so two
concurrent writers cannot both take the last unit: the second gets a 409.
"""
from __future__ import annotations

import collections

import sqlalchemy as sa

from nova_tx.db.placement.models import allocations, inventories, resource_providers
from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.objects import ConsumerAllocations, ConsumerView, ResourceProvider
from nova_tx.placement.storage import consumers
from nova_tx.placement.storage import resource_classes as rc_store
from nova_tx.placement.storage import resource_providers as rp_store


def get_for_consumer(conn: sa.Connection, consumer_uuid: str) -> ConsumerView:
    consumer = consumers.get(conn, consumer_uuid)
    rows = conn.execute(
        sa.select(allocations.c.used, allocations.c.resource_class_id,
                  allocations.c.created_at, allocations.c.updated_at,
                  resource_providers.c.uuid, resource_providers.c.generation)
        .join(resource_providers, resource_providers.c.id == allocations.c.resource_provider_id)
        .where(allocations.c.consumer_id == consumer_uuid)).all()
    names = rc_store.names_by_id(conn) if rows else {}
    result: dict[str, dict] = {}
    last = None
    for row in rows:
        entry = result.setdefault(row.uuid, {"generation": row.generation, "resources": {}})
        entry["resources"][names[row.resource_class_id]] = row.used
        stamp = row.updated_at or row.created_at
        if stamp is not None and (last is None or stamp > last):
            last = stamp
    return ConsumerView(consumer=consumer, allocations=result, last_modified=last)


def get_for_provider(conn: sa.Connection, rp: ResourceProvider) -> dict[str, dict]:
    """Consumer uuid -> {"resources": {class: amount}} on provider ``rp``."""
    rows = conn.execute(
        sa.select(allocations.c.consumer_id, allocations.c.resource_class_id,
                  allocations.c.used)
        .where(allocations.c.resource_provider_id == rp.id)
        .order_by(allocations.c.id)).all()
    names = rc_store.names_by_id(conn) if rows else {}
    result: dict[str, dict] = {}
    for row in rows:
        result.setdefault(row.consumer_id, {"resources": {}})["resources"][
            names[row.resource_class_id]] = row.used
    return result


def replace(conn: sa.Connection, requests: list[ConsumerAllocations]) -> None:
    """Make each request's allocations its consumer's whole set, atomically.

    An empty set removes the consumer's allocations (and the consumer).
    """
    rp_uuids = {u for r in requests for u in r.allocations}
    providers = rp_store.get_by_uuids(conn, rp_uuids)
    for request in requests:
        for uuid in request.allocations:
            if uuid not in providers:
                raise exception.BadRequest(
                    f"Allocation for resource provider '{uuid}' that does not exist.")
    class_names = {rc for r in requests for res in r.allocations.values() for rc in res}
    try:
        rc_ids = rc_store.ids_by_name(conn, class_names)
    except exception.ResourceClassNotFound as e:
        consumer = requests[0].consumer_uuid if len(requests) == 1 else None
        prefix = (f"Unable to allocate inventory for consumer {consumer}: " if consumer
                  else "Unable to allocate inventory: ")
        raise exception.BadRequest(prefix + e.detail) from None

    # The providers that receive allocations were read above, before the capacity
    # check: the compare-and-swap of their generations at the end fails if anything
    # changed them in between. (As in Placement, providers that only lose
    # allocations keep their generation.)
    written = []
    for request in requests:
        written.append(consumers.ensure(
            conn, request.consumer_uuid, project=request.project_id, user=request.user_id,
            generation=request.consumer_generation, check_generation=request.check_generation,
            consumer_type=request.consumer_type))
        conn.execute(allocations.delete().where(
            allocations.c.consumer_id == request.consumer_uuid))

    wanted: dict[tuple[int, int], int] = collections.defaultdict(int)
    rows = []
    now = utcnow()
    for request in requests:
        for uuid, resources in request.allocations.items():
            provider = providers[uuid]
            for rc, amount in resources.items():
                wanted[provider.id, rc_ids[rc]] += amount
                rows.append({"resource_provider_id": provider.id,
                             "resource_class_id": rc_ids[rc],
                             "consumer_id": request.consumer_uuid, "used": amount,
                             "created_at": now})
    _check_capacity(conn, providers, rc_ids, requests, wanted)
    if rows:
        conn.execute(allocations.insert(), rows)
    for provider in providers.values():
        rp_store.increment_generation(
            conn, provider, provider.generation, message="Inventory and/or allocations changed while attempting "
            "to allocate: Another thread concurrently updated the data. Please retry your "
            "update", error=exception.ResourceProviderConcurrentUpdate)
    for consumer in written:
        consumers.increment_generation(conn, consumer)
    consumers.delete_if_no_allocations(
        conn, [r.consumer_uuid for r in requests if not r.allocations])


def _check_capacity(conn: sa.Connection, providers: dict, rc_ids: dict[str, int],
                    requests: list[ConsumerAllocations],
                    wanted: dict[tuple[int, int], int]) -> None:
    if not wanted:
        return
    rp_ids = {rp_id for rp_id, _ in wanted}
    usage = (sa.select(allocations.c.resource_provider_id, allocations.c.resource_class_id,
                       sa.func.sum(allocations.c.used).label("used"))
             .where(allocations.c.resource_provider_id.in_(rp_ids))
             .group_by(allocations.c.resource_provider_id, allocations.c.resource_class_id))
    # What is already used by others (this request's consumers were removed above,
    # and their new rows are not written yet).
    used = {(r.resource_provider_id, r.resource_class_id): r.used for r in conn.execute(usage)}
    invs = {(r.resource_provider_id, r.resource_class_id): r for r in conn.execute(
        sa.select(inventories).where(inventories.c.resource_provider_id.in_(rp_ids)))}
    names = {v: k for k, v in rc_ids.items()}
    uuids = {p.id: p.uuid for p in providers.values()}
    for request in requests:
        for uuid, resources in request.allocations.items():
            rp_id = providers[uuid].id
            for rc, amount in resources.items():
                inv = invs.get((rp_id, rc_ids[rc]))
                if inv is None:
                    raise exception.InvalidInventory(
                        f"Unable to allocate inventory: Inventory for '{rc}' on resource "
                        f"provider '{uuid}' invalid.")
                if (amount < inv.min_unit or amount > inv.max_unit
                        or amount % inv.step_size):
                    raise exception.InvalidInventory(
                        f"Unable to allocate inventory: Unable to create allocation for "
                        f"'{rc}' on resource provider '{uuid}'. The requested amount would "
                        "violate inventory constraints.")
    for (rp_id, rc_id), amount in sorted(wanted.items()):
        inv = invs[rp_id, rc_id]
        capacity = (inv.total - inv.reserved) * inv.allocation_ratio
        if used.get((rp_id, rc_id), 0) + amount > capacity:
            raise exception.InvalidInventory(
                f"Unable to allocate inventory: Unable to create allocation for "
                f"'{names[rc_id]}' on resource provider '{uuids[rp_id]}'. The requested "
                "amount would exceed the capacity.")


def delete_for_consumer(conn: sa.Connection, consumer_uuid: str) -> None:
    """Remove every allocation of ``consumer_uuid``; NotFound when it has none."""
    found = conn.execute(sa.select(allocations.c.id)
                         .where(allocations.c.consumer_id == consumer_uuid).limit(1)).first()
    if found is None:
        raise exception.NotFound(f"No allocations for consumer '{consumer_uuid}'")
    # Placement leaves the providers' generations alone here.
    conn.execute(allocations.delete().where(allocations.c.consumer_id == consumer_uuid))
    consumers.delete_if_no_allocations(conn, [consumer_uuid])
