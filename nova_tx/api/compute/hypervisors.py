"""``/os-hypervisors``: the compute nodes of every cell (admin only by default).

Microversions:

- 2.1: list, detail, show, ``{pattern}/search``, ``{pattern}/servers``, statistics,
  ``{id}/uptime``; ids are the nodes' integer ids.
- 2.28: ``cpu_info`` is an object rather than a JSON string.
- 2.33: list and detail are paged (``limit``, ``marker``) with ``hypervisors_links``.
- 2.53: ids (of nodes and of their services) are uuids; list and detail take
  ``hypervisor_hostname_pattern`` and ``with_servers``, show ``with_servers``;
  ``search`` and ``servers`` are gone (404); unknown query parameters are refused.
- 2.75: ``with_servers`` gives ``"servers": []`` for a node without servers.
- 2.88: the resource fields (``vcpus``, ``memory_mb``, ..., ``cpu_info``) are gone from
  detail and show, which gain ``uptime`` (null when it cannot be had); the
  ``statistics`` and ``uptime`` routes are gone (404).

A node whose compute service was deleted is left out of lists (its row lingers until
cleaned up), as in Nova. ``state`` is the service's up/down, ``status`` its
enabled/disabled.
"""
from __future__ import annotations

import json
from typing import Any

from oslo_utils import strutils, uuidutils
from twisted.internet import defer

from nova_tx import exception, log, policy
from nova_tx.api import validation
from nova_tx.api.compute import _operator, faults, pagination, wsgi
from nova_tx.api.compute.schemas import hypervisors as schema
from nova_tx.bus.exception import MessagingTimeout
from nova_tx.compute.host_api import InCell
from nova_tx.objects.compute_node import ComputeNode
from nova_tx.objects.service import Service

LOG = log.getLogger(__name__)

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-hypervisors:%s"
RESOURCE_FIELDS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                   "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                   "running_vms", "disk_available_least")


def _authorize(req, action: str) -> None:
    policy.authorize(req.context, POLICY_ROOT % action, target={})


def _not_found(hypervisor_id: str) -> exception.NotFound:
    return exception.NotFound("Hypervisor with ID '%s' could not be found." % hypervisor_id)


def _no_match(pattern: str) -> exception.NotFound:
    return exception.NotFound("No hypervisor matching '%s' could be found." % pattern)


def _cpu_info(req, node: ComputeNode) -> Any:
    if not req.supports("2.28"):
        return node.cpu_info
    if not node.cpu_info:
        return {}
    try:
        return json.loads(node.cpu_info)
    except ValueError:
        return {}


#: How long 2.88's ``uptime`` field waits for a compute (seconds, at most
#: ``rpc_response_timeout``): it is informational, and a list waits for its slowest.
DETAIL_UPTIME_TIMEOUT = 10.0


def _detail_uptime_timeout(req) -> float:
    try:
        return min(float(req.conf.rpc_response_timeout), DETAIL_UPTIME_TIMEOUT)
    except Exception:  # the option not registered (tests)
        return DETAIL_UPTIME_TIMEOUT


async def _uptime_or_none(req, node: ComputeNode, service: Service) -> str | None:
    """2.88's ``uptime`` field: None when the service is down or the driver cannot
    tell, and (unlike Nova, which answers 500) when the compute does not answer
    within ``DETAIL_UPTIME_TIMEOUT``: one slow compute should not fail the list."""
    if not _operator.host_api(req).service_is_up(service):
        return None
    try:
        return await _operator.compute_rpcapi(req).get_host_uptime(
            req.context, node.host, timeout=_detail_uptime_timeout(req))
    except NotImplementedError:
        return None
    except MessagingTimeout:
        LOG.warning("Compute on %s did not tell its uptime in time", node.host)
        return None


async def _view(req, node: ComputeNode, service: Service, *, detail: bool,
                servers: list | None = None, with_servers: bool = False,
                uptime: str | None = None) -> dict[str, Any]:
    uuids = req.supports("2.53")
    body: dict[str, Any] = {
        "id": node.uuid if uuids else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if _operator.host_api(req).service_is_up(service) else "down",
        "status": "disabled" if service.disabled else "enabled",
    }
    if detail:
        body.update(hypervisor_type=node.hypervisor_type,
                    hypervisor_version=node.hypervisor_version, host_ip=node.host_ip)
        body["service"] = {"id": service.uuid if uuids else service.id, "host": node.host,
                           "disabled_reason": service.disabled_reason}
        if not req.supports("2.88"):
            for field in RESOURCE_FIELDS:
                body[field] = getattr(node, field)
            body["cpu_info"] = _cpu_info(req, node)
        else:
            body["uptime"] = await _uptime_or_none(req, node, service)
    if uptime is not None:
        body["uptime"] = uptime
    if servers:
        body["servers"] = [{"name": i.name, "uuid": i.uuid} for i in servers]
    elif with_servers and req.supports("2.75"):
        body["servers"] = []
    return body


async def _with_services(req, nodes: list[InCell[ComputeNode]]
                         ) -> list[tuple[InCell[ComputeNode], Service]]:
    by_host = await _operator.host_api(req).compute_services_of(nodes)
    found = []
    for node in nodes:
        service = by_host.get((node.cell_uuid, node.item.host))
        if service is None:
            LOG.debug("Unable to find service for compute node %s. The service may be "
                      "deleted and compute nodes need to be manually cleaned up.",
                      node.item.host)
            continue
        found.append((node, service))
    return found


async def _by_pattern(req, pattern: str) -> list[InCell[ComputeNode]]:
    nodes = await _operator.host_api(req).compute_node_search(pattern)
    if not nodes:
        raise _no_match(pattern)
    return nodes


async def _servers_of(req, node: InCell[ComputeNode]) -> list:
    return await _operator.host_api(req).instances_on_host(node.cell_uuid, node.item.host)


# -- list and detail -------------------------------------------------------------------

async def _list(req, *, detail: bool, paged: bool) -> dict:
    _authorize(req, "list-detail" if detail else "list")
    pattern = with_servers = None
    if req.supports("2.53"):
        values = req.query.get("hypervisor_hostname_pattern")
        pattern = values[-1] if values else None
        values = req.query.get("with_servers")
        with_servers = strutils.bool_from_string(values[-1] if values else False,
                                                 strict=True)
    limit = marker = None
    if paged:
        limit, marker = pagination.get_limit_and_marker(req)
        # As Nova's query: a limit of 0 is no limit.
        limit = limit or None
    links = paged
    if pattern is not None:
        if "limit" in req.query or marker:
            raise exception.Invalid("Paging over hypervisors with the "
                                    "hypervisor_hostname_pattern query parameter is not "
                                    "supported.")
        links = False
        nodes = await _by_pattern(req, pattern)
    else:
        try:
            nodes = await _operator.host_api(req).compute_node_get_all(
                limit=limit, marker=marker, uuid_marker=req.supports("2.53"))
        except exception.MarkerNotFound:
            raise exception.Invalid("marker [%s] not found" % marker) from None
    async def view(node: InCell[ComputeNode], service: Service) -> dict[str, Any]:
        servers = await _servers_of(req, node) if with_servers else None
        return await _view(req, node.item, service, detail=detail, servers=servers,
                           with_servers=bool(with_servers))

    # Concurrently: from 2.88 each detail asks its compute for its uptime.
    try:
        views = await defer.gatherResults(
            [defer.Deferred.fromCoroutine(view(node, service))
             for node, service in await _with_services(req, nodes)], consumeErrors=True)
    except defer.FirstError as e:
        e.subFailure.raiseException()
    body: dict[str, Any] = {"hypervisors": views}
    if links:
        collection = "os-hypervisors/detail" if detail else "os-hypervisors"
        next_links = pagination.collection_links(req, views, collection, "id")
        if next_links:
            body["hypervisors_links"] = next_links
    return body


@routes.get("/os-hypervisors", max_version="2.32")
async def index(req):
    return await _list(req, detail=False, paged=False)


@routes.get("/os-hypervisors", min_version="2.33")
@validation.query_schema(schema.list_query_schema_v233, "2.33", "2.52")
@validation.query_schema(schema.list_query_schema_v253, "2.53")
async def index_v233(req):
    return await _list(req, detail=False, paged=True)


@routes.get("/os-hypervisors/detail", max_version="2.32")
async def detail(req):
    return await _list(req, detail=True, paged=False)


@routes.get("/os-hypervisors/detail", min_version="2.33")
@validation.query_schema(schema.list_query_schema_v233, "2.33", "2.52")
@validation.query_schema(schema.list_query_schema_v253, "2.53")
async def detail_v233(req):
    return await _list(req, detail=True, paged=True)


# -- statistics (before 2.88) ------------------------------------------------------------

@routes.get("/os-hypervisors/statistics", max_version="2.87")
async def statistics(req):
    _authorize(req, "statistics")
    return {"hypervisor_statistics":
            await _operator.host_api(req).compute_node_statistics()}


# -- one node ----------------------------------------------------------------------------

def _node_id(req, hypervisor_id: str) -> int | str:
    """A uuid from 2.53 (400 otherwise), an integer before (404 otherwise)."""
    if req.supports("2.53"):
        if not uuidutils.is_uuid_like(hypervisor_id):
            raise exception.Invalid("Invalid uuid %s" % hypervisor_id)
        return hypervisor_id
    try:
        value = int(hypervisor_id)
    except ValueError:
        raise _not_found(hypervisor_id) from None
    if not 0 < value < 2 ** 31:
        raise _not_found(hypervisor_id)
    return value


async def _node_and_service(req, hypervisor_id: str
                            ) -> tuple[InCell[ComputeNode], Service]:
    key = _node_id(req, hypervisor_id)
    try:
        node = await _operator.host_api(req).compute_node_get(key)
    except exception.ComputeHostNotFound:
        raise _not_found(hypervisor_id) from None
    service = await _operator.host_api(req).compute_service_in_cell(node)
    if service is None:
        raise _not_found(hypervisor_id)
    return node, service


@routes.get("/os-hypervisors/{hypervisor_id}")
@validation.query_schema(schema.show_query_schema_v253, "2.53")
async def show(req, hypervisor_id):
    _authorize(req, "show")
    with_servers = False
    if req.supports("2.53"):
        values = req.query.get("with_servers")
        with_servers = strutils.bool_from_string(values[-1] if values else False,
                                                 strict=True)
    node, service = await _node_and_service(req, hypervisor_id)
    servers = await _servers_of(req, node) if with_servers else None
    return {"hypervisor": await _view(req, node.item, service, detail=True,
                                      servers=servers, with_servers=with_servers)}


@routes.get("/os-hypervisors/{hypervisor_id}/uptime", max_version="2.87")
async def uptime(req, hypervisor_id):
    _authorize(req, "uptime")
    node, service = await _node_and_service(req, hypervisor_id)
    if not _operator.host_api(req).service_is_up(service):
        raise exception.ComputeServiceUnavailable(host=node.item.host)
    try:
        value = await _operator.compute_rpcapi(req).get_host_uptime(req.context,
                                                                    node.item.host)
    except NotImplementedError:
        raise faults.HTTPError(501, "The requested functionality is not supported."
                               ) from None
    return {"hypervisor": await _view(req, node.item, service, detail=False,
                                      uptime=value)}


# -- by host name pattern (before 2.53) --------------------------------------------------

@routes.get("/os-hypervisors/{pattern}/search", max_version="2.52")
async def search(req, pattern):
    _authorize(req, "search")
    views = [await _view(req, node.item, service, detail=False)
             for node, service in await _with_services(req, await _by_pattern(req, pattern))]
    if not views:
        raise _no_match(pattern)
    return {"hypervisors": views}


@routes.get("/os-hypervisors/{pattern}/servers", max_version="2.52")
async def servers(req, pattern):
    _authorize(req, "servers")
    views = []
    for node, service in await _with_services(req, await _by_pattern(req, pattern)):
        views.append(await _view(req, node.item, service, detail=False,
                                 servers=await _servers_of(req, node)))
    return {"hypervisors": views}
