"""``/os-aggregates``: host aggregates (admin only by default).

Microversions:

- 2.1: list, create (200, without ``hosts`` and ``metadata`` in the answer), show,
  update, delete (200, no body), and the ``add_host``, ``remove_host`` and
  ``set_metadata`` actions.
- 2.41: ``uuid`` in every view.
- 2.81: ``POST /os-aggregates/{id}/images`` asks the aggregate's computes to pre-cache
  images (202).

The rules (zones, mirroring into placement, what the schedulers are told) are
``nova_tx.compute.aggregates``'s; this module parses, authorizes and renders.
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import _operator, wsgi
from nova_tx.api.compute.schemas import aggregates as schema
from nova_tx.objects.aggregate import Aggregate

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-aggregates:%s"
#: The largest id an aggregates row can have (a 32-bit column on every database).
MAX_ID = 2 ** 31 - 1


def _authorize(req, action: str) -> None:
    policy.authorize(req.context, POLICY_ROOT % action, target={})


def _aggregate_id(value: str) -> int:
    """Nova's ``validate_integer(id, 'id')``: 400 for anything but an integer."""
    try:
        return int(value)
    except ValueError:
        raise exception.InvalidInput(reason="id must be an integer") from None


def _in_range(aggregate_id: int) -> None:
    if not 0 < aggregate_id <= MAX_ID:
        raise exception.AggregateNotFound(aggregate_id=aggregate_id)


def _normalize(name: str) -> str:
    """Nova's ``common.normalize_name``: the legacy v2 endpoint accepts spaces around."""
    return name.strip()


def _view(req, aggregate: Aggregate, *, members: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "availability_zone": aggregate.availability_zone,
        "created_at": aggregate.created_at,
        "deleted": False,
        "deleted_at": None,
        "id": aggregate.id,
        "name": aggregate.name,
        "updated_at": aggregate.updated_at,
    }
    if members:
        body["hosts"] = list(aggregate.hosts)
        body["metadata"] = dict(aggregate.metadata)
    if req.supports("2.41"):
        body["uuid"] = aggregate.uuid
    return {"aggregate": body}


async def _get(req, aggregate_id: str) -> tuple[int, Any]:
    agg_id = _aggregate_id(aggregate_id)
    _in_range(agg_id)
    return agg_id, _operator.aggregate_api(req)


@routes.get("/os-aggregates")
async def index(req):
    _authorize(req, "index")
    aggregates = await _operator.aggregate_api(req).get_aggregate_list(req.context)
    return {"aggregates": [_view(req, a)["aggregate"] for a in aggregates]}


@routes.post("/os-aggregates", status=200)
@validation.schema(schema.create_v20, "2.0", "2.0")
@validation.schema(schema.create, "2.1")
async def create(req):
    _authorize(req, "create")
    params = req.body["aggregate"]
    zone = params.get("availability_zone")
    if zone:
        zone = _normalize(zone)
    aggregate = await _operator.aggregate_api(req).create_aggregate(
        req.context, _normalize(params["name"]), zone)
    return _view(req, aggregate, members=False)


@routes.get("/os-aggregates/{aggregate_id}")
async def show(req, aggregate_id):
    _authorize(req, "show")
    agg_id, api = await _get(req, aggregate_id)
    return _view(req, await api.get_aggregate(req.context, agg_id))


@routes.put("/os-aggregates/{aggregate_id}")
@validation.schema(schema.update_v20, "2.0", "2.0")
@validation.schema(schema.update, "2.1")
async def update(req, aggregate_id):
    _authorize(req, "update")
    updates = dict(req.body["aggregate"])
    if "name" in updates:
        updates["name"] = _normalize(updates["name"])
    if updates.get("availability_zone"):
        updates["availability_zone"] = _normalize(updates["availability_zone"])
    agg_id, api = await _get(req, aggregate_id)
    return _view(req, await api.update_aggregate(req.context, agg_id, updates))


@routes.delete("/os-aggregates/{aggregate_id}", status=200)
async def delete(req, aggregate_id):
    _authorize(req, "delete")
    agg_id, api = await _get(req, aggregate_id)
    await api.delete_aggregate(req.context, agg_id)


# -- actions -------------------------------------------------------------------------

ACTION_PATH = "/os-aggregates/{aggregate_id}/action"


@routes.action(ACTION_PATH, "add_host", status=200)
@validation.schema(schema.add_host)
async def add_host(req, aggregate_id):
    _authorize(req, "add_host")
    host = req.body["add_host"]["host"]
    agg_id, api = await _get(req, aggregate_id)
    try:
        aggregate = await api.add_host_to_aggregate(req.context, agg_id, host)
    except exception.InvalidAggregateAction as e:
        # A zone conflict on add is a 409, not the 400 it is elsewhere.
        raise exception.Conflict(e.format_message()) from None
    return _view(req, aggregate)


@routes.action(ACTION_PATH, "remove_host", status=200)
@validation.schema(schema.remove_host)
async def remove_host(req, aggregate_id):
    _authorize(req, "remove_host")
    host = req.body["remove_host"]["host"]
    agg_id, api = await _get(req, aggregate_id)
    message = "Cannot remove host %s in aggregate %s" % (host, agg_id)
    try:
        aggregate = await api.remove_host_from_aggregate(req.context, agg_id, host)
    except (exception.AggregateNotFound, exception.AggregateHostNotFound,
            exception.ComputeHostNotFound):
        raise exception.NotFound(message) from None
    except (exception.InvalidAggregateAction, exception.ResourceProviderUpdateConflict):
        raise exception.Conflict(message) from None
    return _view(req, aggregate)


@routes.action(ACTION_PATH, "set_metadata", status=200)
@validation.schema(schema.set_metadata)
async def set_metadata(req, aggregate_id):
    _authorize(req, "set_metadata")
    metadata = req.body["set_metadata"]["metadata"]
    agg_id, api = await _get(req, aggregate_id)
    return _view(req, await api.update_aggregate_metadata(req.context, agg_id, metadata))


# -- image pre-caching (2.81) -----------------------------------------------------------

@routes.post("/os-aggregates/{aggregate_id}/images", min_version="2.81", status=202)
@validation.schema(schema.images)
async def images(req, aggregate_id):
    policy.authorize(req.context, "compute:aggregates:images", target={})
    agg_id = _aggregate_id(aggregate_id)
    image_ids = [item["id"] for item in req.body["cache"]]
    if len(set(image_ids)) != len(image_ids):
        raise exception.InvalidInput(message="Duplicate images in request")
    _in_range(agg_id)
    api = _operator.aggregate_api(req)
    aggregate = await api.get_aggregate(req.context, agg_id)
    try:
        await api.cache_images(req.context, aggregate, image_ids,
                               image_api=_operator.image_api(req),
                               compute_rpcapi=_operator.compute_rpcapi(req))
    except exception.NovaException as e:
        if e.code >= 500:
            raise
        raise exception.InvalidInput(message=e.format_message()) from None
