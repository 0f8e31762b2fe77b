"""A host aggregate as the API database stores it: hosts and key/value metadata.

Its wire form (``to_primitive``) is Nova's ``Aggregate`` 1.3 object, the shape the
API's ``update_aggregates``/``delete_aggregate`` casts carry to the schedulers.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any

#: Nova's ``Aggregate`` object version (1.3 added ``uuid``'s non-null guarantee).
OBJECT_VERSION = "1.3"


def _iso(value: datetime.datetime | None) -> str | None:
    """oslo.versionedobjects' DateTime field: ISO 8601 with a UTC offset."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.isoformat().replace("+00:00", "Z")


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

    def to_primitive(self) -> dict[str, Any]:
        return {
            "nova_object.name": "Aggregate",
            "nova_object.namespace": "nova",
            "nova_object.version": OBJECT_VERSION,
            "nova_object.data": {
                "id": self.id, "uuid": self.uuid, "name": self.name,
                "hosts": list(self.hosts), "metadata": dict(self.metadata),
                "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
                "deleted_at": None, "deleted": False,
            },
        }
