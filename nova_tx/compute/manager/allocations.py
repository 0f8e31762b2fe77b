"""The compute's side of Placement (Nova's ``SchedulerReportClient`` as the compute
manager uses it): read an instance's allocations before the claim, delete them when a
build fails or an instance goes, and heal them at start-up.

Errors talking to Placement are logged and reported as False/None: a build or a
delete never fails because Placement is away, and the next start-up heals.
"""
from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import quote

from nova_tx.objects.instance import Instance

LOG = logging.getLogger(__name__)

#: Placement microversion with consumer generations, projects and users (as Nova's).
CONSUMER_VERSION = "1.28"


class PlacementAllocations:
    def __init__(self, client: Any):
        self.client = client

    async def get(self, ctxt: Any, instance_uuid: str) -> dict[str, Any]:
        """``{provider uuid: {"resources": {...}}}`` of the instance; {} if none or
        Placement cannot answer."""
        try:
            response = await self.client.get(f"/allocations/{instance_uuid}",
                                             version=CONSUMER_VERSION,
                                             global_request_id=_request_id(ctxt))
        except Exception:
            LOG.exception("Placement could not be reached for the allocations of %s",
                          instance_uuid)
            return {}
        if response.status_code != 200:
            LOG.warning("Placement answered %s for the allocations of %s: %s",
                        response.status_code, instance_uuid, response.text)
            return {}
        return dict(response.json().get("allocations") or {})

    async def delete(self, ctxt: Any, instance_uuid: str) -> bool:
        """Delete the instance's allocations (Nova's ``delete_allocation_for_instance``
        with ``force``); True when none remain."""
        try:
            response = await self.client.delete(f"/allocations/{instance_uuid}",
                                                global_request_id=_request_id(ctxt))
        except Exception:
            LOG.exception("Unable to delete the allocations of %s", instance_uuid)
            return False
        if response.status_code in (204, 404):
            return True
        LOG.error("Unable to delete the allocations of %s: %s %s", instance_uuid,
                  response.status_code, response.text)
        return False

    async def provider_uuid(self, ctxt: Any, nodename: str) -> str | None:
        """The uuid of the resource provider of compute node ``nodename``."""
        try:
            response = await self.client.get(f"/resource_providers?name={quote(nodename)}",
                                             global_request_id=_request_id(ctxt))
        except Exception:
            LOG.exception("Placement could not be reached for provider %s", nodename)
            return None
        providers = response.json().get("resource_providers") if response else None
        return providers[0]["uuid"] if providers else None

    async def provider_consumers(self, ctxt: Any, provider_uuid: str) -> set[str]:
        """The consumers holding allocations against the provider."""
        try:
            response = await self.client.get(
                f"/resource_providers/{provider_uuid}/allocations",
                global_request_id=_request_id(ctxt))
        except Exception:
            LOG.exception("Placement could not be reached for the allocations of "
                          "provider %s", provider_uuid)
            return set()
        if response.status_code != 200:
            return set()
        return set(response.json().get("allocations") or {})

    async def heal(self, ctxt: Any, instance: Instance, provider_uuid: str) -> bool:
        """Give ``instance`` the allocations its flavor means on ``provider_uuid`` when
        it holds none (a restart after Placement lost them or never had them, as
        ``nova-manage placement heal_allocations``); True when it made them."""
        if await self.get(ctxt, instance.uuid):
            return False
        resources = flavor_resources(instance)
        if not resources:
            return False
        body = {"allocations": {provider_uuid: {"resources": resources}},
                "project_id": instance.project_id, "user_id": instance.user_id,
                "consumer_generation": None}
        try:
            response = await self.client.put(f"/allocations/{instance.uuid}", body,
                                             version=CONSUMER_VERSION,
                                             global_request_id=_request_id(ctxt))
        except Exception:
            LOG.exception("Unable to heal the allocations of %s", instance.uuid)
            return False
        if response.status_code != 204:
            LOG.error("Unable to heal the allocations of %s: %s %s", instance.uuid,
                      response.status_code, response.text)
            return False
        LOG.info("Healed the allocations of instance %s on provider %s: %s",
                 instance.uuid, provider_uuid, resources)
        return True


def flavor_resources(instance: Instance) -> dict[str, int]:
    """What the instance's flavor takes (Nova's ``resources_from_flavor``): VCPU, or
    PCPU for a dedicated CPU policy, MEMORY_MB, and DISK_GB for root, ephemeral and
    swap (rounded up to a GiB); a volume-backed instance's root disk is not local."""
    flavor = instance.flavor
    if flavor is None:
        return {}
    extra = dict(flavor.extra_specs or {})
    cpu_class = "PCPU" if extra.get("hw:cpu_policy") == "dedicated" else "VCPU"
    swap_mb = int(getattr(flavor, "swap", 0) or 0)
    root = 0 if instance.image_ref in (None, "") else int(flavor.root_gb or 0)
    disk = root + int(flavor.ephemeral_gb or 0) + math.ceil(swap_mb / 1024)
    resources = {cpu_class: int(flavor.vcpus or 0), "MEMORY_MB": int(flavor.memory_mb or 0),
                 "DISK_GB": disk}
    return {rclass: amount for rclass, amount in resources.items() if amount}


def _request_id(ctxt: Any) -> str | None:
    return getattr(ctxt, "global_request_id", None) or getattr(ctxt, "request_id", None)
