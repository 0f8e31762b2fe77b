"""``/resource_classes`` and ``/resource_classes/{name}`` (1.2; PUT creates from 1.7)."""
from __future__ import annotations

from nova_tx.placement import exception
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import PlacementResponse, check_accept, extract_json, validate
from nova_tx.placement.objects import ResourceClass
from nova_tx.placement.storage import resource_classes as rc_store

NAME_SCHEMA = {"type": "string", "pattern": "^CUSTOM_[A-Z0-9_]+$", "maxLength": 255}
BODY_SCHEMA = {"type": "object", "properties": {"name": NAME_SCHEMA},
               "required": ["name"], "additionalProperties": False}


def _body(req, rc: ResourceClass) -> dict:
    return {"name": rc.name,
            "links": [{"rel": "self", "href": req.link(f"/resource_classes/{rc.name}")}]}


@route("/resource_classes", "GET", min_version=(1, 2))
async def list_resource_classes(api, req) -> PlacementResponse:
    api.authorize(req, "placement:resource_classes:list")
    check_accept(req)
    classes = await api.run(rc_store.get_all)
    return PlacementResponse(body={"resource_classes": [_body(req, rc) for rc in classes]})


@route("/resource_classes", "POST", min_version=(1, 2))
async def create_resource_class(api, req) -> PlacementResponse:
    api.authorize(req, "placement:resource_classes:create")
    data = extract_json(req, BODY_SCHEMA)
    await api.run(rc_store.create, data["name"])
    return PlacementResponse(status=201,
                             headers={"Location": req.link(f"/resource_classes/{data['name']}")})


@route("/resource_classes/<name>", "GET", min_version=(1, 2))
async def get_resource_class(api, req, name: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_classes:show")
    check_accept(req)
    rc = await api.run(rc_store.get, name)
    last = rc.updated_at or rc.created_at if rc_store.is_custom(name) else None
    return PlacementResponse(body=_body(req, rc), last_modified=last)


@route("/resource_classes/<name>", "PUT", min_version=(1, 2))
async def update_resource_class(api, req, name: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_classes:update")
    if req.wants((1, 7)):
        validate(name, NAME_SCHEMA, "JSON does not validate: {}")
        created = await api.run(rc_store.ensure, name)
        return PlacementResponse(
            status=201 if created else 204,
            headers={"Location": req.link(f"/resource_classes/{name}")})
    data = extract_json(req, BODY_SCHEMA)
    if not rc_store.is_custom(name):
        raise exception.BadRequest(f"Cannot update standard resource class {name}")
    rc = await api.run(rc_store.update, name, data["name"])
    return PlacementResponse(body=_body(req, rc))


@route("/resource_classes/<name>", "DELETE", min_version=(1, 2))
async def delete_resource_class(api, req, name: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_classes:delete")
    await api.run(rc_store.delete, name)
    return PlacementResponse(status=204)
