"""One destination the scheduler chose (Nova's ``objects.Selection``).

``select_destinations`` answers, per instance, the chosen host and its alternates as
Selections: the conductor builds on the first and, when the build fails, retries on
the next without asking the scheduler again. ``allocation_request`` is the JSON text
of the Placement allocation request for that host: the chosen host's is already
claimed; an alternate's is what the conductor claims before retrying there.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from nova_tx.objects.request_spec import NAMESPACE, SchedulerLimits, unwrap

#: Nova Zed's Selection (1.1 added availability_zone).
SELECTION_VERSION = "1.1"


@dataclasses.dataclass
class Selection:
    service_host: str
    nodename: str
    compute_node_uuid: str
    cell_uuid: str | None
    limits: SchedulerLimits | None = None
    allocation_request: str | None = None
    allocation_request_version: str | None = None
    availability_zone: str | None = None

    @property
    def allocations(self) -> dict[str, Any] | None:
        """The allocation request's ``allocations`` (resource provider → resources)."""
        if self.allocation_request is None:
            return None
        return json.loads(self.allocation_request)["allocations"]

    def to_primitive(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["limits"] = None if self.limits is None else self.limits.to_primitive()
        return {"nova_object.name": "Selection", "nova_object.namespace": NAMESPACE,
                "nova_object.version": SELECTION_VERSION, "nova_object.data": data,
                "nova_object.changes": sorted(data)}

    @classmethod
    def from_primitive(cls, primitive: Any) -> Selection:
        data = dict(unwrap(primitive))
        limits = data.get("limits")
        return cls(service_host=data["service_host"], nodename=data["nodename"],
                   compute_node_uuid=data["compute_node_uuid"],
                   cell_uuid=data.get("cell_uuid"),
                   limits=None if limits is None else SchedulerLimits.from_primitive(limits),
                   allocation_request=data.get("allocation_request"),
                   allocation_request_version=data.get("allocation_request_version"),
                   availability_zone=data.get("availability_zone"))

    def to_legacy_dict(self) -> dict[str, Any]:
        """What ``select_destinations`` answered before RPC 4.4 (``return_objects``
        False): ``{"host", "nodename", "limits"}``."""
        return {"host": self.service_host, "nodename": self.nodename,
                "limits": {} if self.limits is None else self.limits.to_dict()}
