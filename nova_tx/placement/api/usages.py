"""``/resource_providers/{uuid}/usages`` and ``/usages`` (1.9)."""
from __future__ import annotations

from nova_tx.placement.api import common
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import PlacementResponse, check_accept, validate_query
from nova_tx.placement.storage import usages as usage_store

_ID = {"type": "string", "minLength": 1, "maxLength": 255}


@route("/resource_providers/<uuid>/usages", "GET")
async def provider_usages(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:usages")
    check_accept(req)
    rp = await common.provider(api, uuid)
    used = await api.run(usage_store.for_provider, rp)
    return PlacementResponse(body={"resource_provider_generation": rp.generation,
                                   "usages": used})


@route("/usages", "GET", min_version=(1, 9))
async def project_usages(api, req) -> PlacementResponse:
    check_accept(req)
    properties = {"project_id": _ID, "user_id": _ID}
    if req.wants((1, 38)):
        properties["consumer_type"] = {"type": "string"}
    query = validate_query(req, {"type": "object", "properties": properties,
                                 "required": ["project_id"], "additionalProperties": False})
    api.authorize(req, "placement:usages", {"project_id": query["project_id"],
                                            "user_id": query.get("user_id")})
    used = await api.run(usage_store.for_project, query["project_id"], query.get("user_id"),
                         by_consumer_type=req.wants((1, 38)),
                         consumer_type=query.get("consumer_type"))
    return PlacementResponse(body={"usages": used})
