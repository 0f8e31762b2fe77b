"""A compute node's provider in placement aggregates, as Nova's report client
(``aggregate_add_host``, ``aggregate_remove_host``, ``delete_resource_provider``)
does it for the compute API, over any ``IPlacementClient``.

Membership is read and written whole (``GET``/``PUT
/resource_providers/{uuid}/aggregates`` at 1.19, with the provider generation), so a
concurrent change makes the PUT a 409 ``placement.concurrent_update``; that is retried
with a fresh read up to four times, as Nova's ``@retrying`` does, and then raised as
ResourceProviderUpdateConflict.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nova_tx import exception
from nova_tx.placement.client import IPlacementClient

#: The version that returns and takes the provider generation with aggregates.
AGGREGATES_VERSION = "1.19"
ATTEMPTS = 4


def _error(call: str, response) -> exception.PlacementAPIError:
    return exception.PlacementAPIError(call=call, status=response.status_code,
                                       text=response.text[:200])


async def provider_uuid_by_name(client: IPlacementClient, name: str) -> str:
    """The uuid of the provider named ``name`` (a node's hypervisor hostname)."""
    response = await client.get("/resource_providers?name=%s" % quote(name, safe=""),
                                version="1.14")
    if response.status_code != 200:
        raise _error("GET /resource_providers?name=%s" % name, response)
    providers = response.json()["resource_providers"]
    if not providers:
        raise exception.ResourceProviderNotFound(name_or_uuid=name)
    return providers[0]["uuid"]


async def get_aggregates(client: IPlacementClient, rp_uuid: str) -> tuple[set[str], int]:
    """(aggregate uuids, provider generation); ResourceProviderNotFound on 404."""
    url = "/resource_providers/%s/aggregates" % rp_uuid
    response = await client.get(url, version=AGGREGATES_VERSION)
    if response.status_code == 404:
        raise exception.ResourceProviderNotFound(name_or_uuid=rp_uuid)
    if response.status_code != 200:
        raise _error("GET " + url, response)
    body: dict[str, Any] = response.json()
    return set(body["aggregates"]), body["resource_provider_generation"]


async def _change(client: IPlacementClient, rp_uuid: str, agg_uuid: str, add: bool) -> bool:
    """Add or remove one aggregate; False when there was nothing to do."""
    url = "/resource_providers/%s/aggregates" % rp_uuid
    for attempt in range(1, ATTEMPTS + 1):
        aggregates, generation = await get_aggregates(client, rp_uuid)
        if (agg_uuid in aggregates) == add:
            return False
        aggregates = aggregates | {agg_uuid} if add else aggregates - {agg_uuid}
        response = await client.put(url, {"aggregates": sorted(aggregates),
                                          "resource_provider_generation": generation},
                                    version=AGGREGATES_VERSION)
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            raise exception.ResourceProviderNotFound(name_or_uuid=rp_uuid)
        if response.status_code == 409 and attempt < ATTEMPTS:
            continue
        if response.status_code == 409:
            raise exception.ResourceProviderUpdateConflict(
                uuid=rp_uuid, generation=generation, error=response.text[:200])
        raise _error("PUT " + url, response)
    raise AssertionError("unreachable")


async def add_to_aggregate(client: IPlacementClient, rp_uuid: str, agg_uuid: str) -> bool:
    return await _change(client, rp_uuid, agg_uuid, add=True)


async def remove_from_aggregate(client: IPlacementClient, rp_uuid: str,
                                agg_uuid: str) -> bool:
    return await _change(client, rp_uuid, agg_uuid, add=False)


async def delete_provider(client: IPlacementClient, rp_uuid: str) -> bool:
    """Delete a compute node's provider; False when placement had none. Its
    allocations must be gone first (the service delete refuses a host with
    instances), so a 409 here is raised as ResourceProviderUpdateConflict."""
    url = "/resource_providers/%s" % rp_uuid
    response = await client.delete(url, version="1.14")
    if response.status_code in (204, 200):
        return True
    if response.status_code == 404:
        return False
    if response.status_code == 409:
        raise exception.ResourceProviderUpdateConflict(uuid=rp_uuid, generation=-1,
                                                       error=response.text[:200])
    raise _error("DELETE " + url, response)


async def set_trait(client: IPlacementClient, rp_uuid: str, trait: str,
                    present: bool) -> bool:
    """Add or remove one trait of a provider, keeping its others (read and written
    whole with the generation, retried on a conflict); False when there was nothing
    to do. ResourceProviderNotFound when placement has no such provider."""
    url = "/resource_providers/%s/traits" % rp_uuid
    for attempt in range(1, ATTEMPTS + 1):
        response = await client.get(url, version="1.6")
        if response.status_code == 404:
            raise exception.ResourceProviderNotFound(name_or_uuid=rp_uuid)
        if response.status_code != 200:
            raise _error("GET " + url, response)
        body = response.json()
        traits = set(body["traits"])
        if (trait in traits) == present:
            return False
        traits = traits | {trait} if present else traits - {trait}
        response = await client.put(url, {"traits": sorted(traits),
                                          "resource_provider_generation":
                                          body["resource_provider_generation"]},
                                    version="1.6")
        if response.status_code == 200:
            return True
        if response.status_code == 409 and attempt < ATTEMPTS:
            continue
        if response.status_code == 409:
            raise exception.ResourceProviderUpdateConflict(
                uuid=rp_uuid, generation=body["resource_provider_generation"],
                error=response.text[:200])
        raise _error("PUT " + url, response)
    raise AssertionError("unreachable")
