"""Writing a compute node's provider to placement (the part of Nova's report client
``update_from_provider_tree`` that a compute node's root provider needs).

``ProviderReporter.sync(uuid, name, update)`` makes sure the provider exists, loads
what placement has of it into the ``ProviderTree`` (generation, inventories, traits,
aggregates), lets ``update(tree)`` change it (the driver's ``update_provider_tree``,
the tracker's traits, the provider config files), then writes the inventories and
traits that differ from what placement has, with the provider generation. A 409
(another writer changed the provider, or placement's ``concurrent_update``) starts
again from a fresh read, up to ``ATTEMPTS`` times, as Nova's ``@retrying`` does.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nova_tx import exception
from nova_tx.compute.provider_tree import ProviderTree, normalize_inventory
from nova_tx.placement.client import IPlacementClient

LOG = logging.getLogger(__name__)

ATTEMPTS = 4
#: Creating a provider returns it (1.20); inventories allow reserved == total (1.26).
PROVIDER_VERSION = "1.20"
INVENTORY_VERSION = "1.26"
TRAITS_VERSION = "1.6"
AGGREGATES_VERSION = "1.19"
RESOURCE_CLASS_VERSION = "1.7"


class _Conflict(Exception):
    """Placement refused a write because the provider changed: read again."""


def _error(call: str, response: Any) -> exception.PlacementAPIError:
    return exception.PlacementAPIError(call=call, status=response.status_code,
                                       text=response.text[:200])


class ProviderReporter:
    def __init__(self, client: IPlacementClient):
        self.client = client
        #: The tree as placement had it after the last write.
        self.tree = ProviderTree()
        self._known_traits: set[str] = set()
        self._known_classes: set[str] = set()

    async def sync(self, uuid: str, name: str,
                   update: Callable[[ProviderTree], None]) -> ProviderTree:
        for attempt in range(1, ATTEMPTS + 1):
            if attempt > 1 or not self.tree.exists(uuid):
                await self._load(uuid, name)
            placed = self.tree.data(uuid)
            wanted = self.tree.copy()
            update(wanted)
            try:
                await self._write(uuid, placed, wanted.data(uuid))
            except _Conflict:
                LOG.info("Provider %s changed in placement while it was written; "
                         "reading it again (attempt %d of %d)", uuid, attempt, ATTEMPTS)
                continue
            return self.tree
        raise exception.ResourceProviderUpdateConflict(
            uuid=uuid, generation=self.tree.data(uuid).generation or 0,
            error=f"still conflicting after {ATTEMPTS} attempts")

    async def _load(self, uuid: str, name: str) -> None:
        url = f"/resource_providers/{uuid}"
        response = await self.client.get(url, version=PROVIDER_VERSION)
        if response.status_code == 404:
            response = await self.client.post("/resource_providers",
                                              {"uuid": uuid, "name": name},
                                              version=PROVIDER_VERSION)
            if response.status_code == 409:
                raise _error(f"POST /resource_providers (name {name})", response)
        if response.status_code != 200:
            raise _error("GET " + url, response)
        generation = response.json()["generation"]
        inventories = await self._get(url + "/inventories", INVENTORY_VERSION)
        traits = await self._get(url + "/traits", TRAITS_VERSION)
        aggregates = await self._get(url + "/aggregates", AGGREGATES_VERSION)
        if self.tree.exists(uuid):
            self.tree.remove(uuid)
        self.tree.new_root(name, uuid, generation)
        self.tree.update_inventory(uuid, inventories["inventories"])
        self.tree.update_traits(uuid, traits["traits"])
        self.tree.update_aggregates(uuid, aggregates["aggregates"])

    async def _get(self, url: str, version: str) -> Any:
        response = await self.client.get(url, version=version)
        if response.status_code != 200:
            raise _error("GET " + url, response)
        return response.json()

    async def _write(self, uuid: str, placed: Any, wanted: Any) -> None:
        url = f"/resource_providers/{uuid}"
        generation = placed.generation
        if normalize_inventory(placed.inventory) != normalize_inventory(wanted.inventory):
            for rc in wanted.inventory:
                await self._ensure_class(rc)
            response = await self.client.put(url + "/inventories", {
                "resource_provider_generation": generation,
                "inventories": wanted.inventory}, version=INVENTORY_VERSION)
            generation = self._written(response, "PUT " + url + "/inventories")
            self.tree.update_inventory(uuid, wanted.inventory, generation)
        if placed.traits != wanted.traits:
            for trait in wanted.traits - placed.traits:
                await self._ensure_trait(trait)
            response = await self.client.put(url + "/traits", {
                "resource_provider_generation": generation,
                "traits": sorted(wanted.traits)}, version=TRAITS_VERSION)
            generation = self._written(response, "PUT " + url + "/traits")
            self.tree.update_traits(uuid, wanted.traits, generation)

    def _written(self, response: Any, call: str) -> int:
        if response.status_code == 409:
            body = response.json() or {}
            codes = {e.get("code") for e in body.get("errors", ())}
            if "placement.inventory.inuse" in codes:
                # Allocations need what the new inventory would take away: retrying
                # will not help; the next update tries again.
                raise _error(call, response)
            raise _Conflict()
        if response.status_code != 200:
            raise _error(call, response)
        return response.json()["resource_provider_generation"]

    async def _ensure_trait(self, trait: str) -> None:
        if not trait.startswith("CUSTOM_") or trait in self._known_traits:
            return
        response = await self.client.put(f"/traits/{trait}", None, version=TRAITS_VERSION)
        if response.status_code not in (201, 204):
            raise _error(f"PUT /traits/{trait}", response)
        self._known_traits.add(trait)

    async def _ensure_class(self, rc: str) -> None:
        if not rc.startswith("CUSTOM_") or rc in self._known_classes:
            return
        response = await self.client.put(f"/resource_classes/{rc}", None,
                                         version=RESOURCE_CLASS_VERSION)
        if response.status_code not in (201, 204):
            raise _error(f"PUT /resource_classes/{rc}", response)
        self._known_classes.add(rc)
