"""The compute's picture of its resource providers (Nova's ``compute.provider_tree``).

A ``ProviderTree`` holds the providers a compute reports: one root per compute node
and, when a driver has them, children (a GPU, a PCI device). Each provider has a
uuid, a name, a generation (placement's, for the next write), its inventories by
resource class, its traits and its aggregates. Drivers fill it in
``update_provider_tree``; the resource tracker compares it with what placement was
last told and writes only what changed.

Unlike Nova's there is no lock: the tree is used from the reactor thread only.
Callers get copies (``data()``), never the provider objects themselves, so a driver
cannot change what the tracker believes placement has without going through the
``update_*`` methods that record the change.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from nova_tx import exception

#: The fields an inventory record may carry, with placement's defaults.
INVENTORY_DEFAULTS = {"reserved": 0, "min_unit": 1, "step_size": 1,
                      "allocation_ratio": 1.0}


def normalize_inventory(inventory: Mapping[str, Mapping[str, Any]]
                        ) -> dict[str, dict[str, Any]]:
    """Each record with placement's defaults filled in (``max_unit`` defaults to
    ``total``), so that a record and the same record read back compare equal."""
    result = {}
    for rc, record in inventory.items():
        full = {**INVENTORY_DEFAULTS, "max_unit": record["total"], **record}
        full["allocation_ratio"] = float(full["allocation_ratio"])
        result[rc] = full
    return result


@dataclasses.dataclass
class ProviderData:
    """A copy of one provider as the tree has it."""

    uuid: str
    name: str
    generation: int | None = None
    parent_uuid: str | None = None
    inventory: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    traits: set[str] = dataclasses.field(default_factory=set)
    aggregates: set[str] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class _Provider:
    uuid: str
    name: str
    generation: int | None
    parent_uuid: str | None
    inventory: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    traits: set[str] = dataclasses.field(default_factory=set)
    aggregates: set[str] = dataclasses.field(default_factory=set)
    children: dict[str, _Provider] = dataclasses.field(default_factory=dict)

    def data(self) -> ProviderData:
        return ProviderData(self.uuid, self.name, self.generation, self.parent_uuid,
                            copy.deepcopy(self.inventory), set(self.traits),
                            set(self.aggregates))


class ProviderTree:
    def __init__(self) -> None:
        self.roots: list[_Provider] = []
        self._by_uuid: dict[str, _Provider] = {}
        self._by_name: dict[str, _Provider] = {}

    # -- shape ----------------------------------------------------------------------

    def _find(self, name_or_uuid: str) -> _Provider:
        provider = self._by_uuid.get(name_or_uuid) or self._by_name.get(name_or_uuid)
        if provider is None:
            raise exception.ResourceProviderNotFound(name_or_uuid=name_or_uuid)
        return provider

    def exists(self, name_or_uuid: str) -> bool:
        return name_or_uuid in self._by_uuid or name_or_uuid in self._by_name

    def _add(self, name: str, uuid: str, generation: int | None,
             parent: _Provider | None) -> str:
        if uuid in self._by_uuid or name in self._by_name:
            raise ValueError(f"Provider {name} ({uuid}) already exists.")
        provider = _Provider(uuid, name, generation, parent.uuid if parent else None)
        if parent is None:
            self.roots.append(provider)
        else:
            parent.children[uuid] = provider
        self._by_uuid[uuid] = provider
        self._by_name[name] = provider
        return uuid

    def new_root(self, name: str, uuid: str, generation: int | None = None) -> str:
        """Add a root provider (a compute node); returns its uuid."""
        return self._add(name, uuid, generation, None)

    def new_child(self, name: str, parent: str, uuid: str,
                  generation: int | None = None) -> str:
        """Add a child of the provider ``parent`` (a name or uuid)."""
        return self._add(name, uuid, generation, self._find(parent))

    def remove(self, name_or_uuid: str) -> None:
        """Remove a provider and its descendants."""
        provider = self._find(name_or_uuid)
        for child in list(provider.children.values()):
            self.remove(child.uuid)
        if provider.parent_uuid is None:
            self.roots.remove(provider)
        else:
            del self._by_uuid[provider.parent_uuid].children[provider.uuid]
        del self._by_uuid[provider.uuid]
        del self._by_name[provider.name]

    def data(self, name_or_uuid: str) -> ProviderData:
        return self._find(name_or_uuid).data()

    def get_provider_uuids(self, name_or_uuid: str | None = None) -> list[str]:
        """The uuids of a provider and its descendants (or of the whole tree), parents
        before children."""
        starts = [self._find(name_or_uuid)] if name_or_uuid else list(self.roots)
        result: list[str] = []
        stack = list(reversed(starts))
        while stack:
            provider = stack.pop()
            result.append(provider.uuid)
            stack.extend(reversed(list(provider.children.values())))
        return result

    def get_provider_uuids_in_tree(self, name_or_uuid: str) -> list[str]:
        """Every uuid of the tree ``name_or_uuid`` belongs to."""
        provider = self._find(name_or_uuid)
        while provider.parent_uuid is not None:
            provider = self._by_uuid[provider.parent_uuid]
        return self.get_provider_uuids(provider.uuid)

    # -- generation, inventory, traits, aggregates ----------------------------------

    def update_generation(self, name_or_uuid: str, generation: int) -> None:
        self._find(name_or_uuid).generation = generation

    def has_inventory_changed(self, name_or_uuid: str,
                              inventory: Mapping[str, Mapping[str, Any]]) -> bool:
        return (normalize_inventory(self._find(name_or_uuid).inventory)
                != normalize_inventory(inventory))

    def update_inventory(self, name_or_uuid: str, inventory: Mapping[str, Mapping[str, Any]],
                         generation: int | None = None) -> bool:
        """Replace the provider's inventories; True when they changed. ``generation``
        (placement's, after a write) is recorded whether or not they did."""
        provider = self._find(name_or_uuid)
        if generation is not None:
            provider.generation = generation
        if not self.has_inventory_changed(name_or_uuid, inventory):
            return False
        provider.inventory = copy.deepcopy({rc: dict(r) for rc, r in inventory.items()})
        return True

    def has_traits(self, name_or_uuid: str, traits: Iterable[str]) -> bool:
        return set(traits) <= self._find(name_or_uuid).traits

    def have_traits_changed(self, name_or_uuid: str, traits: Iterable[str]) -> bool:
        return self._find(name_or_uuid).traits != set(traits)

    def update_traits(self, name_or_uuid: str, traits: Iterable[str],
                      generation: int | None = None) -> bool:
        provider = self._find(name_or_uuid)
        if generation is not None:
            provider.generation = generation
        traits = set(traits)
        if provider.traits == traits:
            return False
        provider.traits = traits
        return True

    def add_traits(self, name_or_uuid: str, *traits: str) -> None:
        self._find(name_or_uuid).traits |= set(traits)

    def remove_traits(self, name_or_uuid: str, *traits: str) -> None:
        self._find(name_or_uuid).traits -= set(traits)

    def in_aggregates(self, name_or_uuid: str, aggregates: Iterable[str]) -> bool:
        return set(aggregates) <= self._find(name_or_uuid).aggregates

    def have_aggregates_changed(self, name_or_uuid: str, aggregates: Iterable[str]) -> bool:
        return self._find(name_or_uuid).aggregates != set(aggregates)

    def update_aggregates(self, name_or_uuid: str, aggregates: Iterable[str],
                          generation: int | None = None) -> bool:
        provider = self._find(name_or_uuid)
        if generation is not None:
            provider.generation = generation
        aggregates = set(aggregates)
        if provider.aggregates == aggregates:
            return False
        provider.aggregates = aggregates
        return True

    def copy(self) -> ProviderTree:
        return copy.deepcopy(self)
