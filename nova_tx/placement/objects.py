"""Placement's domain objects: plain dataclasses, never ORM rows."""
from __future__ import annotations

import dataclasses
import datetime


@dataclasses.dataclass(frozen=True)
class ResourceProvider:
    id: int
    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    parent_provider_id: int | None = None
    root_provider_id: int | None = None

    @property
    def last_modified(self) -> datetime.datetime | None:
        return self.updated_at or self.created_at


@dataclasses.dataclass(frozen=True)
class Inventory:
    """One resource class of a provider; ``capacity`` is what allocations may use."""

    resource_class: str
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 2147483647
    step_size: int = 1
    allocation_ratio: float = 1.0
    updated_at: datetime.datetime | None = None

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)

    def to_dict(self) -> dict:
        return {"total": self.total, "reserved": self.reserved, "min_unit": self.min_unit,
                "max_unit": self.max_unit, "step_size": self.step_size,
                "allocation_ratio": self.allocation_ratio}


@dataclasses.dataclass(frozen=True)
class ResourceClass:
    name: str
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Trait:
    name: str
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Consumer:
    uuid: str
    project_id: str
    user_id: str
    generation: int
    consumer_type: str | None = None
    id: int | None = None


@dataclasses.dataclass
class ConsumerAllocations:
    """What a client asks for one consumer: its whole set of allocations.

    ``allocations`` maps provider uuid -> resource class -> amount; an empty map removes
    the consumer's allocations. ``consumer_generation`` is what the client believes
    (None for a new consumer); ``check_generation`` is False before microversion 1.28,
    where the generation is not checked.
    """

    consumer_uuid: str
    allocations: dict[str, dict[str, int]]
    project_id: str
    user_id: str
    consumer_generation: int | None = None
    check_generation: bool = False
    consumer_type: str | None = None


@dataclasses.dataclass(frozen=True)
class ConsumerView:
    """A consumer's allocations as GET /allocations/{consumer} shows them."""

    consumer: Consumer | None
    #: provider uuid -> {"generation": int, "resources": {class: amount}}
    allocations: dict[str, dict]
    last_modified: datetime.datetime | None = None
