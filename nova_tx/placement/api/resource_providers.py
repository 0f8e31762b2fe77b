"""``/resource_providers`` and ``/resource_providers/{uuid}``."""
from __future__ import annotations

from nova_tx.placement import exception
from nova_tx.placement.api import common, params
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import (
    PlacementResponse,
    check_accept,
    extract_json,
    validate_query,
)
from nova_tx.placement.storage import resource_classes as rc_store
from nova_tx.placement.storage import resource_providers as rp_store
from nova_tx.placement.storage import traits as trait_store

_UUID = {"type": "string", "format": "uuid"}
_PARENT = {"anyOf": [_UUID, {"type": "null"}]}


def _body_schema(req, *, with_uuid: bool) -> dict:
    properties: dict = {"name": {"type": "string", "maxLength": 200}}
    if with_uuid:
        properties["uuid"] = _UUID
    if req.wants((1, 14)):
        properties["parent_provider_uuid"] = _PARENT
    return {"type": "object", "properties": properties, "required": ["name"],
            "additionalProperties": False}


def _list_query_schema(req) -> dict:
    properties: dict = {"name": {"type": "string", "maxLength": 200},
                        "uuid": _UUID}
    if req.wants((1, 3)):
        properties["member_of"] = {"type": "string"}
    if req.wants((1, 4)):
        properties["resources"] = {"type": "string"}
    if req.wants((1, 14)):
        properties["in_tree"] = _UUID
    if req.wants((1, 18)):
        properties["required"] = {"type": "string"}
    return {"type": "object", "properties": properties, "additionalProperties": False}


@route("/resource_providers", "GET")
async def list_resource_providers(api, req) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:list")
    check_accept(req)
    query = validate_query(req, _list_query_schema(req))
    filters: dict = {}
    if "name" in query:
        filters["name"] = query["name"]
    if "uuid" in query:
        filters["uuid"] = params.normalize_uuid(query["uuid"])
    if "in_tree" in query:
        filters["in_tree"] = params.normalize_uuid(query["in_tree"])
    if "member_of" in query:
        filters["member_of"] = params.parse_member_of(req)
    resources = params.parse_resources(query["resources"]) if "resources" in query else {}
    traits = params.parse_traits(req, "required") if "required" in query else None

    def thd(conn):
        if resources:
            try:
                ids = rc_store.ids_by_name(conn, resources)
            except exception.ResourceClassNotFound as e:
                raise exception.BadRequest(
                    f"Invalid resource class in resources parameter: {e.detail}") from None
            filters["resources"] = {ids[name]: amount for name, amount in resources.items()}
        if traits:
            filters["traits"] = trait_filter(conn, traits)
        return rp_store.get_all(conn, **filters)

    providers = await api.run(thd)
    return PlacementResponse(
        body={"resource_providers": [common.provider_body(req, rp) for rp in providers]},
        last_modified=common.latest(rp.last_modified for rp in providers))


def trait_filter(conn, traits: params.TraitQuery) -> rp_store.TraitFilter:
    """Trait names -> ids; an unknown name is a 400 (Placement's message)."""
    try:
        ids = trait_store.ids_by_name(conn, traits.names())
    except exception.TraitNotFound as e:
        raise exception.BadRequest(e.detail) from None
    return rp_store.TraitFilter(
        required={ids[n] for n in traits.required}, forbidden={ids[n] for n in traits.forbidden},
        any_of=[{ids[n] for n in names} for names in traits.any_of])


@route("/resource_providers", "POST")
async def create_resource_provider(api, req) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:create")
    data = extract_json(req, _body_schema(req, with_uuid=True))
    uuid = params.normalize_uuid(data["uuid"]) if data.get("uuid") else None
    parent = data.get("parent_provider_uuid")
    rp = await api.run(rp_store.create, name=data["name"], uuid=uuid,
                       parent_provider_uuid=params.normalize_uuid(parent) if parent else None)
    location = common.provider_url(req, rp)
    if req.wants((1, 20)):
        return PlacementResponse(status=200, body=common.provider_body(req, rp),
                                 headers={"Location": location},
                                 last_modified=rp.last_modified)
    return PlacementResponse(status=201, headers={"Location": location})


@route("/resource_providers/<uuid>", "GET")
async def get_resource_provider(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:show")
    check_accept(req)
    rp = await common.provider(api, uuid)
    return PlacementResponse(body=common.provider_body(req, rp), last_modified=rp.last_modified)


@route("/resource_providers/<uuid>", "PUT")
async def update_resource_provider(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:update")
    data = extract_json(req, _body_schema(req, with_uuid=False))
    await common.provider(api, uuid)
    kwargs: dict = {"name": data["name"], "allow_reparenting": req.wants((1, 37))}
    if "parent_provider_uuid" in data:
        parent = data["parent_provider_uuid"]
        kwargs["parent_provider_uuid"] = params.normalize_uuid(parent) if parent else None
    rp = await api.run(rp_store.update, uuid, **kwargs)
    return PlacementResponse(body=common.provider_body(req, rp), last_modified=rp.last_modified)


@route("/resource_providers/<uuid>", "DELETE")
async def delete_resource_provider(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:delete")
    await api.run(rp_store.delete, uuid)
    return PlacementResponse(status=204)
