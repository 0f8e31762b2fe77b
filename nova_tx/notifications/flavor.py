"""``flavor.create``, ``flavor.update`` and ``flavor.delete`` with Nova's
``FlavorPayload`` 1.4.

Nova sends them from its Flavor object: ``create`` after the insert (extra specs not
loaded, so ``null``; access list ``[]``), ``update`` after a change of description,
extra specs or access list (everything loaded), ``delete`` after the delete (extra
specs and projects ``null``). Nova has no legacy (unversioned) flavor notification,
so none is sent with ``notification_format = unversioned``.
"""
from __future__ import annotations

from typing import Any

from nova_tx.notifications import base
from nova_tx.objects.flavor import Flavor

CREATE, UPDATE, DELETE = "create", "update", "delete"


class FlavorPayload(base.NotificationPayloadBase):
    SCHEMA_NAME = "FlavorPayload"
    # 1.0 first; 1.1 projects and extra_specs; 1.2 rxtx_factor etc. for all;
    # 1.3 projects nullable; 1.4 description.
    VERSION = "1.4"

    def __init__(self, flavor: Flavor):
        self.flavor = flavor

    def data(self) -> dict[str, Any]:
        f = self.flavor
        return {
            "flavorid": f.flavorid,
            "name": f.name,
            "memory_mb": f.memory_mb,
            "vcpus": f.vcpus,
            "root_gb": f.root_gb,
            "ephemeral_gb": f.ephemeral_gb,
            "swap": f.swap,
            "rxtx_factor": f.rxtx_factor,
            "vcpu_weight": f.vcpu_weight,
            "disabled": f.disabled,
            "is_public": f.is_public,
            "extra_specs": dict(f.extra_specs) if f.extra_specs is not None else None,
            "projects": list(f.projects) if f.projects is not None else None,
            "description": f.description,
        }


def flavor_notification(action: str, flavor: Flavor, host: str,
                        source: str = "nova-api") -> base.NotificationBase:
    return base.NotificationBase(
        event_type=base.EventType("flavor", action),
        publisher=base.NotificationPublisher(host=host, source=source),
        payload=FlavorPayload(flavor))
