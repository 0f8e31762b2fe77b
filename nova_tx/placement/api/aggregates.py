"""``/resource_providers/{uuid}/aggregates`` (1.1; generations from 1.19)."""
from __future__ import annotations

from nova_tx.placement.api import common, params
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import PlacementResponse, check_accept, extract_json
from nova_tx.placement.storage import aggregates as agg_store

_LIST = {"type": "array", "items": {"type": "string", "format": "uuid"},
         "uniqueItems": True}
PUT_SCHEMA_1_1 = _LIST
PUT_SCHEMA_1_19 = {
    "type": "object",
    "properties": {"aggregates": _LIST, "resource_provider_generation": {"type": "integer"}},
    "required": ["aggregates", "resource_provider_generation"],
    "additionalProperties": False,
}


def _body(req, aggregates: list[str], generation: int) -> dict:
    body: dict = {"aggregates": aggregates}
    if req.wants((1, 19)):
        body["resource_provider_generation"] = generation
    return body


@route("/resource_providers/<uuid>/aggregates", "GET", min_version=(1, 1))
async def get_aggregates(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:aggregates:list")
    check_accept(req)
    rp = await common.provider(api, uuid)
    aggregates = await api.run(agg_store.get_for_provider, rp)
    return PlacementResponse(body=_body(req, aggregates, rp.generation),
                             last_modified=rp.last_modified)


@route("/resource_providers/<uuid>/aggregates", "PUT", min_version=(1, 1))
async def set_aggregates(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:aggregates:update")
    with_generation = req.wants((1, 19))
    rp = await common.provider(api, uuid)
    data = extract_json(req, PUT_SCHEMA_1_19 if with_generation else PUT_SCHEMA_1_1)
    uuids = data["aggregates"] if with_generation else data
    uuids = [params.normalize_uuid(u) for u in uuids]
    generation = await api.run(
        agg_store.set_for_provider, rp, uuids,
        generation=data["resource_provider_generation"] if with_generation else None,
        increment_generation=with_generation)
    return PlacementResponse(body=_body(req, uuids, generation))
