"""``/os-simple-tenant-usage``: usage of a period, for every project (admin) or one
(``/{tenant_id}``, the project's readers).

``start`` and ``end`` (``%Y-%m-%dT%H:%M:%S``, with ``.%f`` or with a space for the
``T`` and ``.%f``; now when not given, and ``end`` never later than now) bound the
period; ``detailed=1`` adds each project's ``server_usages`` to the list. The first
value of a repeated parameter is the one read, as Nova's ``parse_qs`` does.

Microversions: 2.40 pages the instances (``limit``, ``marker`` = an instance uuid;
``tenant_usages_links`` / ``tenant_usage_links``); 2.75 refuses unknown query
parameters.
"""
from __future__ import annotations

import datetime
from typing import Any

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import pagination, wsgi
from nova_tx.api.compute._components import cell_engines
from nova_tx.api.compute._operator import _api_db
from nova_tx.api.compute.schemas import simple_tenant_usage as schema
from nova_tx.compute.usage import UsageAPI, tenant_usages
from nova_tx.db.types import utcnow

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-simple-tenant-usage:%s"
COLLECTION = "os-simple-tenant-usage"
_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def usage_api(req) -> UsageAPI:
    return UsageAPI(_api_db(req), cell_engines(req), req.conf)


def _first(req, name: str) -> str | None:
    values = [v for v in req.query.get(name, ()) if v]
    return values[0] if values else None


def _parse_datetime(value: str | None) -> datetime.datetime:
    if not value:
        return utcnow()
    for fmt in _FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise exception.InvalidInput(
        message="Invalid datetime string: Datetime is in invalid format")


def _period(req) -> tuple[datetime.datetime, datetime.datetime]:
    start = _parse_datetime(_first(req, "start"))
    stop = _parse_datetime(_first(req, "end"))
    if not start < stop:
        raise exception.InvalidInput(
            message="Invalid start time. The start time cannot occur after the end time.")
    return start, min(stop, utcnow())


async def _usages(req, *, project_id: str | None, detailed: bool, paged: bool
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    start, stop = _period(req)
    marker = None
    limit = pagination.max_limit(req)
    if paged:
        limit, marker = pagination.get_limit_and_marker(req)
    try:
        found = await usage_api(req).instances(start, stop, project_id=project_id,
                                               limit=limit, marker=marker)
    except exception.MarkerNotFound as e:
        raise exception.InvalidInput(message=e.format_message()) from None
    return tenant_usages(found, start, stop, detailed=detailed)


async def _index(req, *, paged: bool) -> dict:
    policy.authorize(req.context, POLICY_ROOT % "list", target={})
    detailed = _first(req, "detailed") == "1"
    usages, servers = await _usages(req, project_id=None, detailed=detailed, paged=paged)
    body: dict[str, Any] = {"tenant_usages": usages}
    if paged:
        next_links = pagination.collection_links(req, servers, COLLECTION, "instance_id")
        if next_links:
            body["tenant_usages_links"] = next_links
    return body


async def _show(req, tenant_id: str, *, paged: bool) -> dict:
    policy.authorize(req.context, POLICY_ROOT % "show", target={"project_id": tenant_id})
    usages, servers = await _usages(req, project_id=tenant_id, detailed=True, paged=paged)
    body: dict[str, Any] = {"tenant_usage": usages[0] if usages else {}}
    if paged:
        next_links = pagination.collection_links(req, servers,
                                                 f"{COLLECTION}/{tenant_id}",
                                                 "instance_id")
        if next_links:
            body["tenant_usage_links"] = next_links
    return body


@routes.get("/os-simple-tenant-usage", max_version="2.39")
@validation.query_schema(schema.index_query)
async def index(req):
    return await _index(req, paged=False)


@routes.get("/os-simple-tenant-usage", min_version="2.40")
@validation.query_schema(schema.index_query_v240, "2.40", "2.74")
@validation.query_schema(schema.index_query_275, "2.75")
async def index_v240(req):
    return await _index(req, paged=True)


@routes.get("/os-simple-tenant-usage/{tenant_id}", max_version="2.39")
@validation.query_schema(schema.show_query)
async def show(req, tenant_id):
    return await _show(req, tenant_id, paged=False)


@routes.get("/os-simple-tenant-usage/{tenant_id}", min_version="2.40")
@validation.query_schema(schema.show_query_v240, "2.40", "2.74")
@validation.query_schema(schema.show_query_275, "2.75")
async def show_v240(req, tenant_id):
    return await _show(req, tenant_id, paged=True)
