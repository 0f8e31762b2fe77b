"""Inventories: what a provider has of each resource class."""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.placement.models import allocations, inventories, resource_classes
from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.objects import Inventory, ResourceProvider
from nova_tx.placement.storage import resource_classes as rc_store
from nova_tx.placement.storage import resource_providers

FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def get_all(conn: sa.Connection, rp: ResourceProvider) -> dict[str, Inventory]:
    return for_providers(conn, [rp.id])[rp.id]


def for_providers(conn: sa.Connection, rp_ids) -> dict[int, dict[str, Inventory]]:
    """Provider id -> class name -> Inventory."""
    rp_ids = list(rp_ids)
    result: dict[int, dict[str, Inventory]] = {rp_id: {} for rp_id in rp_ids}
    for i in range(0, len(rp_ids), 500):
        rows = conn.execute(
            sa.select(inventories, resource_classes.c.name.label("rc_name"))
            .join(resource_classes, resource_classes.c.id == inventories.c.resource_class_id)
            .where(inventories.c.resource_provider_id.in_(rp_ids[i:i + 500]))
            .order_by(inventories.c.resource_class_id))
        for row in rows:
            result[row.resource_provider_id][row.rc_name] = _inventory(row)
    return result


def _inventory(row) -> Inventory:
    return Inventory(resource_class=row.rc_name, total=row.total, reserved=row.reserved,
                     min_unit=row.min_unit, max_unit=row.max_unit, step_size=row.step_size,
                     allocation_ratio=row.allocation_ratio,
                     updated_at=row.updated_at or row.created_at)


def _classes_in_use(conn: sa.Connection, rp: ResourceProvider, rc_ids) -> list[int]:
    if not rc_ids:
        return []
    return sorted(row.resource_class_id for row in conn.execute(
        sa.select(allocations.c.resource_class_id).distinct()
        .where(allocations.c.resource_provider_id == rp.id,
               allocations.c.resource_class_id.in_(rc_ids))))


def _in_use_error(rp: ResourceProvider, names: list[str], action: str) -> exception.Conflict:
    return exception.InventoryInUse(
        f"Unable to {action} inventory for resource provider {rp.uuid}: update conflict: "
        f"Inventory for '{', '.join(names)}' on resource provider '{rp.uuid}' in use.")


def replace_all(conn: sa.Connection, rp: ResourceProvider, generation: int | None,
                new: dict[str, Inventory], *, check_in_use: bool = True) -> int:
    """Make ``new`` the provider's whole inventory; returns the new generation.

    Removing a class that has allocations is refused (InventoryInUse), except in the
    reshaper (``check_in_use=False``), which moves those allocations in the same
    transaction.
    """
    try:
        ids = rc_store.ids_by_name(conn, new)
    except exception.ResourceClassNotFound as e:
        raise exception.BadRequest(
            f"Unknown resource class in inventory for resource provider {rp.uuid}: "
            f"{e.detail}") from None
    existing = {row.resource_class_id: row for row in conn.execute(
        sa.select(inventories).where(inventories.c.resource_provider_id == rp.id))}
    gone = set(existing) - set(ids.values())
    if check_in_use:
        in_use = _classes_in_use(conn, rp, gone)
        if in_use:
            names = rc_store.names_by_id(conn)
            raise _in_use_error(rp, [names[i] for i in in_use], "update")
    new_generation = resource_providers.increment_generation(conn, rp, generation)
    if gone:
        conn.execute(inventories.delete().where(
            inventories.c.resource_provider_id == rp.id,
            inventories.c.resource_class_id.in_(gone)))
    now = utcnow()
    for name, inv in new.items():
        values = {f: getattr(inv, f) for f in FIELDS}
        rc_id = ids[name]
        if rc_id in existing:
            if any(getattr(existing[rc_id], f) != values[f] for f in FIELDS):
                conn.execute(inventories.update().where(
                    inventories.c.id == existing[rc_id].id).values(updated_at=now, **values))
        else:
            conn.execute(inventories.insert().values(
                resource_provider_id=rp.id, resource_class_id=rc_id, created_at=now, **values))
    return new_generation


def add(conn: sa.Connection, rp: ResourceProvider, generation: int | None,
        inv: Inventory) -> int:
    """Add one class to the inventory; Conflict when the provider has it already."""
    current = get_all(conn, rp)
    if inv.resource_class in current:
        raise exception.ConcurrentUpdate(
            f"Update conflict: Inventory for {inv.resource_class} on resource provider "
            f"{rp.uuid} already exists.")
    return replace_all(conn, rp, generation, {**current, inv.resource_class: inv})


def update_one(conn: sa.Connection, rp: ResourceProvider, generation: int | None,
               inv: Inventory) -> int:
    current = get_all(conn, rp)
    if inv.resource_class not in current:
        raise exception.BadRequest(
            f"No inventory record with resource class for resource provider {rp.uuid}: "
            f"No inventory of class {inv.resource_class} found")
    return replace_all(conn, rp, generation, {**current, inv.resource_class: inv})


def delete_one(conn: sa.Connection, rp: ResourceProvider, resource_class: str,
               generation: int | None = None) -> int:
    current = get_all(conn, rp)
    if resource_class not in current:
        raise exception.NotFound(
            f"No inventory of class {resource_class} found for delete")
    rc_id = rc_store.ids_by_name(conn, [resource_class])[resource_class]
    if _classes_in_use(conn, rp, [rc_id]):
        raise _in_use_error(rp, [resource_class], "delete")
    del current[resource_class]
    return replace_all(conn, rp, generation, current)


def delete_all(conn: sa.Connection, rp: ResourceProvider) -> int:
    current = get_all(conn, rp)
    in_use = _classes_in_use(conn, rp, rc_store.ids_by_name(conn, current).values())
    if in_use:
        names = rc_store.names_by_id(conn)
        raise _in_use_error(rp, [names[i] for i in in_use], "delete")
    return replace_all(conn, rp, None, {})
