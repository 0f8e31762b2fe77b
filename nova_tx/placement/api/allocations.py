"""``/allocations/{consumer_uuid}``, ``POST /allocations`` (1.13) and
``/resource_providers/{uuid}/allocations``."""
from __future__ import annotations

import copy

from nova_tx.placement import exception
from nova_tx.placement.api import common
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import (
    PlacementResponse,
    check_accept,
    extract_json,
    is_uuid_like,
)
from nova_tx.placement.objects import ConsumerAllocations
from nova_tx.placement.storage import allocations as alloc_store
from nova_tx.placement.storage.consumers import UNKNOWN_TYPE

UUID_KEY = "^[0-9a-fA-F-]{36}$"
_UUID = {"type": "string", "format": "uuid"}
_ID = {"type": "string", "minLength": 1, "maxLength": 255}
RESOURCES = {
    "type": "object", "minProperties": 1,
    "patternProperties": {"^[0-9A-Z_]+$": {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}
CONSUMER_TYPE = {"type": "string", "pattern": "^[A-Z0-9_]+$", "minLength": 1,
                 "maxLength": 255}
MAPPINGS = {
    "type": "object", "minProperties": 1,
    "patternProperties": {"^[a-zA-Z0-9_-]{0,64}$": {
        "type": "array", "items": _UUID, "minItems": 1, "uniqueItems": True}},
    "additionalProperties": False,
}

LIST_SCHEMA = {
    "type": "object",
    "properties": {"allocations": {
        "type": "array", "minItems": 1,
        "items": {
            "type": "object",
            "properties": {
                "resource_provider": {"type": "object", "properties": {"uuid": _UUID},
                                      "required": ["uuid"], "additionalProperties": False},
                "resources": RESOURCES,
            },
            "required": ["resource_provider", "resources"],
            "additionalProperties": False,
        },
    }},
    "required": ["allocations"],
    "additionalProperties": False,
}


def allocations_dict_schema(min_properties: int) -> dict:
    return {
        "type": "object", "minProperties": min_properties,
        "patternProperties": {UUID_KEY: {
            "type": "object",
            "properties": {"resources": RESOURCES, "generation": {"type": "integer"}},
            "required": ["resources"],
            "additionalProperties": False,
        }},
        "additionalProperties": False,
    }


def consumer_schema(version, *, post: bool = False) -> dict:
    """The body of one consumer's allocations at ``version`` (1.12 and later); in
    ``POST /allocations`` an empty set always clears the consumer's allocations."""
    newer = version.matches((1, 28))
    properties: dict = {"allocations": allocations_dict_schema(0 if newer or post else 1),
                        "project_id": _ID, "user_id": _ID}
    required = ["allocations", "project_id", "user_id"]
    if newer:
        properties["consumer_generation"] = {"type": ["integer", "null"]}
        required.append("consumer_generation")
    if version.matches((1, 34)):
        properties["mappings"] = MAPPINGS
    if version.matches((1, 38)):
        properties["consumer_type"] = CONSUMER_TYPE
        required.append("consumer_type")
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def put_schema(version) -> dict:
    if version.matches((1, 12)):
        return consumer_schema(version)
    schema = copy.deepcopy(LIST_SCHEMA)
    if version.matches((1, 8)):
        schema["properties"].update(project_id=_ID, user_id=_ID)
        schema["required"] += ["project_id", "user_id"]
    return schema


def to_request(api, req, consumer_uuid: str, data: dict) -> ConsumerAllocations:
    """One consumer's wanted allocations from a (validated) body at any version."""
    if req.wants((1, 12)):
        allocs = {str(_norm(u)): dict(v["resources"]) for u, v in data["allocations"].items()}
    else:
        allocs = {}
        for item in data["allocations"]:
            resources = allocs.setdefault(_norm(item["resource_provider"]["uuid"]), {})
            resources.update(item["resources"])
    project = data.get("project_id") or api.option(
        "incomplete_consumer_project_id", "00000000-0000-0000-0000-000000000000")
    user = data.get("user_id") or api.option(
        "incomplete_consumer_user_id", "00000000-0000-0000-0000-000000000000")
    return ConsumerAllocations(
        consumer_uuid=consumer_uuid, allocations=allocs, project_id=project, user_id=user,
        consumer_generation=data.get("consumer_generation"),
        check_generation=req.wants((1, 28)), consumer_type=data.get("consumer_type"))


def _norm(uuid: str) -> str:
    import uuid as uuidlib

    return str(uuidlib.UUID(uuid))


@route("/allocations/<consumer_uuid>", "GET")
async def get_allocations(api, req, consumer_uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:allocations:list")
    check_accept(req)
    view = await api.run(alloc_store.get_for_consumer, consumer_uuid)
    body: dict = {"allocations": view.allocations}
    consumer = view.consumer
    if req.wants((1, 12)) and view.allocations and consumer is not None:
        body["project_id"] = consumer.project_id
        body["user_id"] = consumer.user_id
    if req.wants((1, 28)) and consumer is not None:
        body["consumer_generation"] = consumer.generation
    if req.wants((1, 38)) and consumer is not None:
        body["consumer_type"] = consumer.consumer_type or UNKNOWN_TYPE
    return PlacementResponse(body=body, last_modified=view.last_modified)


@route("/allocations/<consumer_uuid>", "PUT")
async def set_allocations(api, req, consumer_uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:allocations:update")
    data = extract_json(req, put_schema(req.version))
    if not is_uuid_like(consumer_uuid):
        raise exception.BadRequest(f"Malformed consumer_uuid: {consumer_uuid}")
    request = to_request(api, req, _norm(consumer_uuid), data)
    await api.run(alloc_store.replace, [request])
    return PlacementResponse(status=204)


@route("/allocations", "POST", min_version=(1, 13))
async def post_allocations(api, req) -> PlacementResponse:
    api.authorize(req, "placement:allocations:manage")
    schema = {"type": "object", "minProperties": 1,
              "patternProperties": {UUID_KEY: consumer_schema(req.version, post=True)},
              "additionalProperties": False}
    data = extract_json(req, schema)
    requests = [to_request(api, req, _norm(uuid), body) for uuid, body in data.items()]
    await api.run(alloc_store.replace, requests)
    return PlacementResponse(status=204)


@route("/allocations/<consumer_uuid>", "DELETE")
async def delete_allocations(api, req, consumer_uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:allocations:delete")
    await api.run(alloc_store.delete_for_consumer, consumer_uuid)
    return PlacementResponse(status=204)


@route("/resource_providers/<uuid>/allocations", "GET")
async def provider_allocations(api, req, uuid: str) -> PlacementResponse:
    api.authorize(req, "placement:resource_providers:allocations:list")
    check_accept(req)
    rp = await common.provider(api, uuid)
    allocations = await api.run(alloc_store.get_for_provider, rp)
    return PlacementResponse(body={"allocations": allocations,
                                   "resource_provider_generation": rp.generation})
