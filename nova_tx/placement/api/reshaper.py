"""``POST /reshaper`` (1.30): inventories and allocations changed together."""
from __future__ import annotations

from nova_tx.placement import exception
from nova_tx.placement.api import params
from nova_tx.placement.api.allocations import UUID_KEY, consumer_schema, to_request
from nova_tx.placement.api.app import route
from nova_tx.placement.api.inventories import PUT_ALL_SCHEMA, check_capacity, make_inventory
from nova_tx.placement.api.wire import PlacementResponse, extract_json
from nova_tx.placement.storage import reshaper


def reshaper_schema(version) -> dict:
    return {
        "type": "object",
        "properties": {
            "inventories": {"type": "object", "minProperties": 1,
                            "patternProperties": {UUID_KEY: PUT_ALL_SCHEMA},
                            "additionalProperties": False},
            "allocations": {"type": "object",
                            "patternProperties": {UUID_KEY: consumer_schema(version, post=True)},
                            "additionalProperties": False},
        },
        "required": ["inventories", "allocations"],
        "additionalProperties": False,
    }


@route("/reshaper", "POST", min_version=(1, 30))
async def reshape(api, req) -> PlacementResponse:
    api.authorize(req, "placement:reshaper:reshape")
    data = extract_json(req, reshaper_schema(req.version))
    inventories = {}
    for uuid, body in data["inventories"].items():
        uuid = params.normalize_uuid(uuid)
        invs = {rc: make_inventory(rc, values) for rc, values in body["inventories"].items()}
        check_capacity(req, uuid, list(invs.values()), "update")
        inventories[uuid] = (body["resource_provider_generation"], invs)
    allocations = [to_request(api, req, params.normalize_uuid(uuid), body)
                   for uuid, body in data["allocations"].items()]

    def thd(conn):
        try:
            reshaper.reshape(conn, inventories, allocations)
        except exception.ConcurrentUpdate as e:
            if e.detail.startswith("resource provider generation conflict for provider"):
                raise
            raise exception.ConcurrentUpdate(f"update conflict: {e.detail}") from None

    await api.run(thd)
    return PlacementResponse(status=204)
