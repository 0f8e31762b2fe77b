"""A host aggregate as the API database stores it: hosts and key/value metadata."""
from __future__ import annotations

import dataclasses
import datetime


@dataclasses.dataclass(frozen=True)
class Aggregate:
    id: int | None
    uuid: str | None
    name: str | None
    hosts: tuple[str, ...] = ()
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get("availability_zone")
