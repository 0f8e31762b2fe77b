"""``/flavors``: list, detail and show (anyone may read the flavors they can see).

Microversions: 2.55 adds ``description``; 2.61 adds ``extra_specs`` to detail and show
(when ``os_compute_api:os-flavor-extra-specs:index`` allows the caller); 2.75 shows a
``swap`` of 0 as ``0`` rather than ``""`` and refuses unknown query parameters.

Only admins may use ``is_public`` (absent: ``true``, public or shared with the caller's
project; ``none``: all); others always get the public, enabled flavors plus the private
ones their project may use.
"""
from __future__ import annotations

from typing import Any

from oslo_utils import strutils

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import links, pagination, wsgi
from nova_tx.api.compute.schemas import flavors as schema
from nova_tx.compute.flavors import FlavorAPI
from nova_tx.objects.flavor import Flavor

routes = wsgi.Routes()

DESCRIPTION_VERSION = "2.55"
EXTRA_SPECS_VERSION = "2.61"
SWAP_ZERO_VERSION = "2.75"
EXTRA_SPECS_INDEX = "os_compute_api:os-flavor-extra-specs:index"


def flavor_api(req) -> FlavorAPI:
    """The flavor operations over this API process's database pool and notifier."""
    components = req.app.components
    try:
        host = req.conf.host
    except Exception:  # no [DEFAULT] host registered (tests)
        host = "localhost"
    return FlavorAPI(components["api_db"], components.get("versioned_notifier"), host)


def may_see_extra_specs(req) -> bool:
    return policy.authorize(req.context, EXTRA_SPECS_INDEX, fatal=False)


def _links(req, flavor: Flavor) -> list[dict]:
    return links.links(req, flavor.flavorid, "flavors")


def basic_view(req, flavor: Flavor) -> dict[str, Any]:
    body: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                            "links": _links(req, flavor)}
    if req.supports(DESCRIPTION_VERSION):
        body["description"] = flavor.description
    return body


def show_view(req, flavor: Flavor, *, include_extra_specs: bool = False) -> dict[str, Any]:
    """The full view of a flavor (detail, show, create, update)."""
    body: dict[str, Any] = {
        "id": flavor.flavorid,
        "name": flavor.name,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "swap": flavor.swap or (0 if req.supports(SWAP_ZERO_VERSION) else ""),
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor or "",
        "links": _links(req, flavor),
    }
    if req.supports(DESCRIPTION_VERSION):
        body["description"] = flavor.description
    if include_extra_specs:
        body["extra_specs"] = dict(flavor.extra_specs or {})
    return body


def include_extra_specs(req) -> bool:
    return req.supports(EXTRA_SPECS_VERSION) and may_see_extra_specs(req)


def _last(req, name: str) -> str | None:
    values = req.query.get(name)
    return values[-1] if values else None


def _parse_is_public(value: str | None) -> bool | None:
    if value is None:
        return True  # public, or shared with the caller's project
    if value.lower() == "none":
        return None
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise exception.InvalidInput(
            message="Invalid is_public filter [%s]" % value) from None


def _int_filter(req, name: str) -> int | None:
    value = _last(req, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise exception.InvalidInput(
            message="Invalid %s filter [%s]" % (name, value)) from None


async def _flavors(req) -> list[Flavor]:
    context = req.context
    filters: dict[str, Any] = {
        "sort_key": _last(req, "sort_key") or "flavorid",
        "sort_dir": _last(req, "sort_dir") or "asc",
    }
    if context.is_admin:
        filters["is_public"] = _parse_is_public(_last(req, "is_public"))
    else:
        filters["is_public"] = True
        filters["disabled"] = False
    filters["min_memory_mb"] = _int_filter(req, "minRam")
    filters["min_root_gb"] = _int_filter(req, "minDisk")
    limit, marker = pagination.get_limit_and_marker(req)
    try:
        return await flavor_api(req).get_all(context, limit=limit, marker=marker, **filters)
    except exception.MarkerNotFound:
        raise exception.InvalidInput(message="marker [%s] not found" % marker) from None


def _collection(req, items: list[dict]) -> dict[str, Any]:
    body: dict[str, Any] = {"flavors": items}
    next_links = pagination.collection_links(req, items, "flavors", "id")
    if next_links:
        body["flavors_links"] = next_links
    return body


@routes.get("/flavors")
@validation.query_schema(schema.index_query_schema, "2.0", "2.74")
@validation.query_schema(schema.index_query_schema_v275, "2.75")
async def index(req):
    flavors = await _flavors(req)
    return _collection(req, [basic_view(req, f) for f in flavors])


@routes.get("/flavors/detail")
@validation.query_schema(schema.index_query_schema, "2.0", "2.74")
@validation.query_schema(schema.index_query_schema_v275, "2.75")
async def detail(req):
    flavors = await _flavors(req)
    extra = include_extra_specs(req)
    return _collection(req, [show_view(req, f, include_extra_specs=extra) for f in flavors])


@routes.get("/flavors/{flavor_id}")
async def show(req, flavor_id):
    flavor = await flavor_api(req).get(req.context, flavor_id)
    return {"flavor": show_view(req, flavor, include_extra_specs=include_extra_specs(req))}
