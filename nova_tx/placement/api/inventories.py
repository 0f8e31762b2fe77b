"""``/resource_providers/{uuid}/inventories`` and ``.../inventories/{resource_class}``."""
from __future__ import annotations

import copy

from nova_tx.placement import exception
from nova_tx.placement.api import common
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import PlacementResponse, check_accept, extract_json
from nova_tx.placement.objects import Inventory, ResourceProvider
from nova_tx.placement.storage import inventories as inv_store
from nova_tx.placement.storage import resource_classes as rc_store

MAX_INT = 2147483647
RC_PATTERN = "^[A-Z0-9_]+$"

BASE_SCHEMA = {
    "type": "object",
    "properties": {
        "resource_provider_generation": {"type": "integer"},
        "total": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
        "reserved": {"type": "integer", "maximum": MAX_INT, "minimum": 0},
        "min_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
        "max_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
        "step_size": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
        "allocation_ratio": {"type": "number", "maximum": 3.40282e+38},
    },
    "required": ["total", "resource_provider_generation"],
    "additionalProperties": False,
}
POST_SCHEMA = copy.deepcopy(BASE_SCHEMA)
POST_SCHEMA["properties"]["resource_class"] = {"type": "string", "pattern": RC_PATTERN}
POST_SCHEMA["required"].append("resource_class")
POST_SCHEMA["required"].remove("resource_provider_generation")
RECORD_SCHEMA = copy.deepcopy(BASE_SCHEMA)
RECORD_SCHEMA["required"].remove("resource_provider_generation")
del RECORD_SCHEMA["properties"]["resource_provider_generation"]
PUT_ALL_SCHEMA = {
    "type": "object",
    "properties": {
        "resource_provider_generation": {"type": "integer"},
        "inventories": {"type": "object",
                        "patternProperties": {RC_PATTERN: RECORD_SCHEMA},
                        "additionalProperties": False},
    },
    "required": ["resource_provider_generation", "inventories"],
    "additionalProperties": False,
}

FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def make_inventory(rc: str, data: dict) -> Inventory:
    return Inventory(resource_class=rc, **{f: data[f] for f in FIELDS if f in data})


def check_capacity(req, rp_uuid: str, inventories: list[Inventory], action: str) -> None:
    """Reserved may not exceed total (nor equal it before microversion 1.26)."""
    equal_ok = req.wants((1, 26))
    for inv in inventories:
        if inv.reserved > inv.total or (inv.reserved == inv.total and not equal_ok):
            what = "greater than total" if equal_ok else "greater than or equal to total"
            raise exception.BadRequest(
                f"Unable to {action} inventory for resource provider {rp_uuid}: Invalid "
                f"inventory for '{inv.resource_class}' on resource provider '{rp_uuid}'. "
                f"The reserved value is {what}.")


def check_reserved_maximum(rp_uuid: str, inv: Inventory, action: str) -> None:
    # One inventory at a time, Placement validates reserved against total in its
    # schema: the message is jsonschema's.
    if inv.reserved > inv.total:
        raise exception.BadRequest(
            f"Unable to {action} inventory for resource provider {rp_uuid}: JSON does not "
            f"validate: {inv.reserved} is greater than the maximum of {inv.total}\n\n"
            "Failed validating 'maximum' in schema['properties']['reserved']")


def _one_body(inv: Inventory, generation: int) -> dict:
    return {**inv.to_dict(), "resource_provider_generation": generation}


def _url(req, rp: ResourceProvider, rc: str) -> str:
    return common.provider_url(req, rp) + f"/inventories/{rc}"


@route("/resource_providers/<uuid>/inventories", "GET")
async def get_inventories(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:inventories:list")
    check_accept(req)
    rp = await common.provider(api, uuid)
    invs = await api.run(inv_store.get_all, rp)
    return PlacementResponse(body={
        "inventories": {rc: inv.to_dict() for rc, inv in invs.items()},
        "resource_provider_generation": rp.generation,
    }, last_modified=common.latest([rp.last_modified, *(i.updated_at for i in invs.values())]))


@route("/resource_providers/<uuid>/inventories", "POST")
async def create_inventory(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:inventories:create")
    data = extract_json(req, POST_SCHEMA)
    rp = await common.provider(api, uuid)
    inv = make_inventory(data["resource_class"], data)
    check_reserved_maximum(rp.uuid, inv, "create")
    check_capacity(req, rp.uuid, [inv], "create")

    def thd(conn):
        try:
            rc_store.ids_by_name(conn, [inv.resource_class])
        except exception.ResourceClassNotFound as e:
            raise exception.BadRequest(
                f"Unable to create inventory for resource provider {rp.uuid}: {e.detail}"
            ) from None
        return inv_store.add(conn, rp, data.get("resource_provider_generation"), inv)

    generation = await api.run(thd)
    return PlacementResponse(status=201, body=_one_body(inv, generation),
                             headers={"Location": _url(req, rp, inv.resource_class)})


@route("/resource_providers/<uuid>/inventories", "PUT")
async def set_inventories(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:inventories:update")
    data = extract_json(req, PUT_ALL_SCHEMA)
    rp = await common.provider(api, uuid)
    invs = {rc: make_inventory(rc, values) for rc, values in data["inventories"].items()}
    check_capacity(req, rp.uuid, list(invs.values()), "update")
    generation = await api.run(inv_store.replace_all, rp,
                               data["resource_provider_generation"], invs)
    return PlacementResponse(body={
        "inventories": {rc: inv.to_dict() for rc, inv in invs.items()},
        "resource_provider_generation": generation,
    })


@route("/resource_providers/<uuid>/inventories", "DELETE", min_version=(1, 5),
       too_old_status=405)
async def delete_inventories(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:inventories:delete")
    rp = await common.provider(api, uuid)
    await api.run(inv_store.delete_all, rp)
    return PlacementResponse(status=204)


@route("/resource_providers/<uuid>/inventories/<resource_class>", "GET")
async def get_inventory(api, req, uuid: str, resource_class: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:inventories:show")
    check_accept(req)
    rp = await common.provider(api, uuid)
    invs = await api.run(inv_store.get_all, rp)
    inv = invs.get(resource_class)
    if inv is None:
        raise exception.NotFound(f"No inventory of class {resource_class} for {rp.uuid}")
    return PlacementResponse(body=_one_body(inv, rp.generation),
                             last_modified=inv.updated_at or rp.last_modified)


@route("/resource_providers/<uuid>/inventories/<resource_class>", "PUT")
async def update_inventory(api, req, uuid: str, resource_class: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:inventories:update")
    data = extract_json(req, BASE_SCHEMA)
    rp = await common.provider(api, uuid)
    inv = make_inventory(resource_class, data)
    check_reserved_maximum(rp.uuid, inv, "update")
    check_capacity(req, rp.uuid, [inv], "update")
    generation = await api.run(inv_store.update_one, rp, data["resource_provider_generation"],
                               inv)
    return PlacementResponse(body=_one_body(inv, generation))


@route("/resource_providers/<uuid>/inventories/<resource_class>", "DELETE")
async def delete_inventory(api, req, uuid: str, resource_class: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:inventories:delete")
    rp = await common.provider(api, uuid)
    await api.run(inv_store.delete_one, rp, resource_class)
    return PlacementResponse(status=204)
