"""The reshaper: move inventories and the allocations on them in one transaction.

As in Placement, each provider first gets the union of its old and new inventories
(so allocations may move between classes and providers without being "in use" on a
class that disappears), then the allocations are replaced, then each provider gets
exactly its new inventory, which fails (InventoryInUse) if allocations remain on a
class being removed. One transaction: on any error nothing is changed.
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.placement import exception
from nova_tx.placement.objects import ConsumerAllocations, Inventory
from nova_tx.placement.storage import allocations as alloc_store
from nova_tx.placement.storage import inventories as inv_store
from nova_tx.placement.storage import resource_providers as rp_store


def reshape(conn: sa.Connection, inventories: dict[str, tuple[int, dict[str, Inventory]]],
            allocations: list[ConsumerAllocations]) -> None:
    """``inventories``: provider uuid -> (the generation the client saw, new inventory)."""
    providers = {}
    for uuid, (generation, _) in inventories.items():
        try:
            provider = rp_store.get_by_uuid(conn, uuid)
        except exception.ResourceProviderNotFound as e:
            raise exception.BadRequest(
                f"Resource provider {uuid} in inventories not found: {e.detail}",
                code=exception.RESOURCE_PROVIDER_NOT_FOUND) from None
        if provider.generation != generation:
            raise exception.ConcurrentUpdate(
                f"resource provider generation conflict for provider {uuid}: actual: "
                f"{provider.generation}, given: {generation}")
        providers[uuid] = provider
    for uuid, (_, new) in inventories.items():
        provider = providers[uuid]
        superset = {**inv_store.get_all(conn, provider), **new}
        _replace(conn, provider, superset, check_in_use=False)
    if allocations:
        alloc_store.replace(conn, allocations)
    for uuid, (_, new) in inventories.items():
        provider = rp_store.get_by_uuid(conn, uuid)
        _replace(conn, provider, new, check_in_use=True)


def _replace(conn, provider, invs, *, check_in_use: bool) -> None:
    try:
        inv_store.replace_all(conn, provider, None, invs, check_in_use=check_in_use)
    except exception.BadRequest as e:
        raise exception.BadRequest(f"malformed reshaper data: {e.detail}") from None
    except exception.InventoryInUse as e:
        raise exception.InventoryInUse(f"update conflict: {e.detail}") from None
