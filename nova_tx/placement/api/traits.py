"""``/traits``, ``/traits/{name}`` and ``/resource_providers/{uuid}/traits`` (1.6)."""
from __future__ import annotations

import re

from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.api import common
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import (
    PlacementResponse,
    check_accept,
    extract_json,
    validate_query,
)
from nova_tx.placement.storage import traits as trait_store

CUSTOM_TRAIT = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
TRAIT_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
SET_SCHEMA = {
    "type": "object",
    "properties": {
        "traits": {"type": "array", "items": TRAIT_NAME, "uniqueItems": True},
        "resource_provider_generation": {"type": "integer"},
    },
    "required": ["traits", "resource_provider_generation"],
    "additionalProperties": False,
}
LIST_QUERY = {"type": "object",
              "properties": {"name": {"type": "string"}, "associated": {"type": "string"}},
              "additionalProperties": False}


@route("/traits", "GET", min_version=(1, 6))
async def list_traits(api, req) -> PlacementResponse:
    api.authorize(req, "placement:traits:list")
    check_accept(req)
    query = validate_query(req, LIST_QUERY)
    filters: dict = {}
    if "name" in query:
        name = query["name"]
        if name.startswith("in:"):
            filters["names"] = [n for n in name[3:].split(",")]
        elif name.startswith("startswith:"):
            filters["prefix"] = name[len("startswith:"):]
        else:
            raise exception.BadRequest(
                "Badly formatted name parameter. Expected name query string parameter in "
                f'form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "{name}"')
    if "associated" in query:
        if query["associated"] not in ("true", "false"):
            raise exception.BadRequest(
                'The query parameter "associated" only accepts "true" or "false"')
        filters["associated"] = query["associated"] == "true"
    found = await api.run(trait_store.get_all, **filters)
    return PlacementResponse(body={"traits": [t.name for t in found]})


@route("/traits/<name>", "GET", min_version=(1, 6))
async def get_trait(api, req, name: str) -> PlacementResponse:
    api.authorize(req, "placement:traits:show")
    check_accept(req)
    trait = await api.run(trait_store.get, name)
    return PlacementResponse(status=204, last_modified=trait.updated_at or trait.created_at)


@route("/traits/<name>", "PUT", min_version=(1, 6))
async def put_trait(api, req, name: str) -> PlacementResponse:
    api.authorize(req, "placement:traits:update")
    if len(name) > 255 or not CUSTOM_TRAIT.match(name):
        raise exception.BadRequest(
            'The trait is invalid. A valid trait must be no longer than 255 characters, '
            'start with the prefix "CUSTOM_" and use following characters: "A"-"Z", '
            '"0"-"9" and "_"')
    created = await api.run(trait_store.ensure, name)
    headers = {"Location": req.link(f"/traits/{name}")}
    return PlacementResponse(status=201 if created else 204, headers=headers,
                             last_modified=utcnow())


@route("/traits/<name>", "DELETE", min_version=(1, 6))
async def delete_trait(api, req, name: str) -> PlacementResponse:
    api.authorize(req, "placement:traits:delete")
    await api.run(trait_store.delete, name)
    return PlacementResponse(status=204)


@route("/resource_providers/<uuid>/traits", "GET", min_version=(1, 6))
async def provider_traits(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:traits:list")
    check_accept(req)
    rp = await common.provider(api, uuid)
    names = await api.run(trait_store.get_for_provider, rp)
    return PlacementResponse(body={"traits": names, "resource_provider_generation":
                                   rp.generation}, last_modified=rp.last_modified)


@route("/resource_providers/<uuid>/traits", "PUT", min_version=(1, 6))
async def set_provider_traits(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:traits:update")
    data = extract_json(req, SET_SCHEMA)
    rp = await common.provider(api, uuid)

    def thd(conn):
        try:
            return trait_store.set_for_provider(
                conn, rp, data["traits"], data["resource_provider_generation"])
        except exception.TraitNotFound as e:
            raise exception.BadRequest(e.detail) from None
        except exception.ConcurrentUpdate:
            raise exception.ConcurrentUpdate(
                "Resource provider's generation already changed. Please update the "
                "generation and try again.") from None

    generation = await api.run(thd)
    return PlacementResponse(body={"traits": sorted(data["traits"]),
                                   "resource_provider_generation": generation})


@route("/resource_providers/<uuid>/traits", "DELETE", min_version=(1, 6))
async def delete_provider_traits(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:traits:delete")
    rp = await common.provider(api, uuid)
    await api.run(trait_store.set_for_provider, rp, [], None)
    return PlacementResponse(status=204)
