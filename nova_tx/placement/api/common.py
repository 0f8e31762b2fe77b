"""Helpers the handler modules share: providers by uuid, their representation."""
from __future__ import annotations

from nova_tx.placement import exception
from nova_tx.placement.api.wire import PlacementRequest, is_uuid_like
from nova_tx.placement.objects import ResourceProvider
from nova_tx.placement.storage import resource_providers as rp_store


async def provider(api, uuid: str) -> ResourceProvider:
    """The provider ``uuid``; 404 with Placement's message when there is none."""
    if not is_uuid_like(uuid):
        raise exception.ResourceProviderNotFound(uuid)
    return await api.run(rp_store.get_by_uuid, uuid)


def provider_url(req: PlacementRequest, rp: ResourceProvider) -> str:
    return req.link(f"/resource_providers/{rp.uuid}")


def provider_body(req: PlacementRequest, rp: ResourceProvider) -> dict:
    base = provider_url(req, rp)
    links = [{"rel": "self", "href": base},
             {"rel": "inventories", "href": base + "/inventories"},
             {"rel": "usages", "href": base + "/usages"}]
    if req.wants((1, 1)):
        links.append({"rel": "aggregates", "href": base + "/aggregates"})
    if req.wants((1, 6)):
        links.append({"rel": "traits", "href": base + "/traits"})
    if req.wants((1, 11)):
        links.append({"rel": "allocations", "href": base + "/allocations"})
    body = {"generation": rp.generation, "uuid": rp.uuid, "name": rp.name, "links": links}
    if req.wants((1, 14)):
        body["parent_provider_uuid"] = rp.parent_provider_uuid
        body["root_provider_uuid"] = rp.root_provider_uuid
    return body


def latest(stamps):
    stamps = [s for s in stamps if s is not None]
    return max(stamps) if stamps else None
