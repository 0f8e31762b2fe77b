"""``/os-services``: the service processes of every cell (admin only by default).

Microversions:

- 2.1: list (``?host=``, ``?binary=``; the API services left out), ``PUT
  /os-services/{enable,disable,disable-log-reason}`` with ``host`` and ``binary`` in
  the body, delete by integer id.
- 2.11: ``forced_down`` in the list, and ``PUT /os-services/force-down``.
- 2.53: services are named by uuid: ``id`` is the uuid, ``PUT /os-services/{uuid}``
  with ``status``, ``disabled_reason`` and ``forced_down``, delete by uuid.
- 2.69: the compute hosts of a cell that does not answer are listed as
  ``{"binary": "nova-compute", "host": ..., "status": "UNKNOWN"}`` (from their host
  mappings); before, they are left out.
- 2.75: unknown query parameters of the list are refused.

Only nova-compute services can be updated; enabling or disabling one also sets or
removes ``COMPUTE_STATUS_DISABLED`` on its nodes' providers (see
``nova_tx.compute.services.sync_disabled_trait``). ``state`` is the servicegroup's up/down
(heartbeat age and ``forced_down``); ``zone`` is the host's availability zone for a
compute and the internal zone for the others.
"""
from __future__ import annotations

from typing import Any

from oslo_utils import strutils, uuidutils

from nova_tx import availability_zones, exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import _operator, wsgi
from nova_tx.api.compute.schemas import services as schema
from nova_tx.compute import services as service_ops
from nova_tx.compute.host_api import InCell
from nova_tx.objects.service import Service

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-services:%s"


def _authorize(req, action: str) -> None:
    policy.authorize(req.context, POLICY_ROOT % action, target={})


def _detail(req, service: Service, zones: dict[str, set[str]], *,
                  forced_down: bool) -> dict[str, Any]:
    host_api = _operator.host_api(req)
    body = {
        "binary": service.binary,
        "host": service.host,
        "id": service.uuid if req.supports("2.53") else service.id,
        "zone": availability_zones.service_zone(req.conf, service, zones),
        "status": "disabled" if service.disabled else "enabled",
        "state": "up" if host_api.service_is_up(service) else "down",
        "updated_at": service.updated_at,
        "disabled_reason": service.disabled_reason,
    }
    if forced_down:
        body["forced_down"] = service.forced_down
    return body


async def _zones(req, services: list[Service]) -> dict[str, set[str]]:
    return await _operator.host_api(req).host_zones(s.host for s in services if s.host)


# -- list --------------------------------------------------------------------------------

@routes.get("/os-services")
@validation.query_schema(schema.index_query_schema, "2.0", "2.74")
@validation.query_schema(schema.index_query_schema_275, "2.75")
async def index(req):
    _authorize(req, "list")
    host = (req.query.get("host") or [""])[-1] or None
    binary = (req.query.get("binary") or [""])[-1] or None
    found, down = await _operator.host_api(req).service_get_all_with_down_cells(
        host=host, binary=binary)
    services = [f.item for f in found]
    zones = await _zones(req, services)
    forced_down = req.supports("2.11")
    views = [_detail(req, s, zones, forced_down=forced_down) for s in services]
    if req.supports("2.69"):
        # A cell that does not answer: its compute hosts, from their host mappings.
        views += [{"binary": "nova-compute", "host": d.item, "status": "UNKNOWN"}
                  for d in down]
    return {"services": views}


# -- update before 2.53: PUT /os-services/<action> ---------------------------------------

async def _update_by_host(req, host: str, binary: str, values: dict[str, Any]) -> None:
    if binary != "nova-compute":
        raise exception.Invalid("Updating a %s service is not supported. Only "
                                "nova-compute services can be updated." % binary)
    host_api = _operator.host_api(req)
    try:
        found = await host_api.service_get_by_host_and_binary(host, binary)
    except exception.HostMappingNotFound as e:
        raise exception.NotFound(e.format_message()) from None
    if values.get("forced_down") is False:
        await service_ops.check_for_evacuations(host_api, found)
    updated = await host_api.service_update(req.context, found, values)
    if "disabled" in values:
        await service_ops.sync_disabled_trait(host_api, _operator.placement_client(req),
                                              updated)


async def _enable_disable(req, status: str, values: dict[str, Any]) -> dict:
    body = req.body
    result: dict[str, Any] = {"host": body["host"], "binary": body["binary"],
                              "status": status}
    if values.get("disabled_reason"):
        result["disabled_reason"] = values["disabled_reason"]
    await _update_by_host(req, body["host"], body["binary"], values)
    return {"service": result}


async def _enable(req) -> dict:
    return await _enable_disable(req, "enabled", {"disabled": False,
                                                  "disabled_reason": None})


async def _disable(req) -> dict:
    return await _enable_disable(req, "disabled", {"disabled": True,
                                                   "disabled_reason": None})


async def _disable_log_reason(req) -> dict:
    if "disabled_reason" not in req.body:
        raise exception.Invalid("Missing disabled reason field")
    return await _enable_disable(req, "disabled", {
        "disabled": True, "disabled_reason": req.body["disabled_reason"]})


async def _force_down(req) -> dict:
    body = req.body
    if "forced_down" not in body:
        raise exception.Invalid("Missing forced_down field")
    forced_down = strutils.bool_from_string(body["forced_down"])
    await _update_by_host(req, body["host"], body["binary"], {"forced_down": forced_down})
    return {"service": {"host": body["host"], "binary": body["binary"],
                        "forced_down": forced_down}}


ACTIONS = {"enable": _enable, "disable": _disable, "disable-log-reason": _disable_log_reason}


@routes.put("/os-services/{service_id}", max_version="2.52")
@validation.schema(schema.service_update, "2.0", "2.10")
@validation.schema(schema.service_update_v211, "2.11", "2.52")
async def update(req, service_id):
    _authorize(req, "update")
    actions = dict(ACTIONS)
    if req.supports("2.11"):
        actions["force-down"] = _force_down
    action = actions.get(service_id)
    if action is None:
        raise exception.NotFound("Unknown action")
    return await action(req)


# -- update from 2.53: PUT /os-services/{uuid} -----------------------------------------------

def _check_uuid(service_id: str) -> None:
    if not uuidutils.is_uuid_like(service_id):
        raise exception.Invalid("Invalid uuid %s" % service_id)


@routes.put("/os-services/{service_id}", min_version="2.53")
@validation.schema(schema.service_update_v253)
async def update_v253(req, service_id):
    _authorize(req, "update")
    _check_uuid(service_id)
    body = req.body
    host_api = _operator.host_api(req)
    found = await host_api.service_get_by_uuid(service_id)
    service = found.item
    if service.binary != "nova-compute":
        raise exception.Invalid("Updating a %s service is not supported. Only "
                                "nova-compute services can be updated." % service.binary)
    values: dict[str, Any] = {}
    if "status" in body:
        if body["status"] == "enabled":
            if body.get("disabled_reason"):
                raise exception.Invalid("Specifying 'disabled_reason' with status "
                                        "'enabled' is invalid.")
            values.update(disabled=False, disabled_reason=None)
        else:
            values.update(disabled=True, disabled_reason=body.get("disabled_reason"))
    if "forced_down" in body:
        values["forced_down"] = strutils.bool_from_string(body["forced_down"], strict=True)
        if values["forced_down"] is False:
            await service_ops.check_for_evacuations(host_api, found)
    if not values:
        raise exception.Invalid("No updates were requested. Fields 'status' or "
                                "'forced_down' should be specified.")
    updated = await host_api.service_update(req.context, found, values)
    if "disabled" in values:
        await service_ops.sync_disabled_trait(host_api, _operator.placement_client(req),
                                              updated)
    zones = await _zones(req, [updated.item])
    return {"service": _detail(req, updated.item, zones, forced_down=True)}


# -- delete ------------------------------------------------------------------------------

@routes.delete("/os-services/{service_id}", status=204)
async def delete(req, service_id):
    _authorize(req, "delete")
    host_api = _operator.host_api(req)
    try:
        if req.supports("2.53"):
            _check_uuid(service_id)
            found: InCell[Service] = await host_api.service_get_by_uuid(service_id)
        else:
            try:
                numeric = int(service_id)
            except ValueError:
                raise exception.InvalidInput(reason="id must be an integer") from None
            if not 0 < numeric < 2 ** 31:
                raise exception.ServiceNotFound(service_id=service_id)
            found = await host_api.service_get_by_id(numeric)
    except exception.ServiceNotFound:
        raise exception.NotFound("Service %s not found." % service_id) from None
    except exception.ServiceNotUnique:
        raise exception.Invalid("Service id %s refers to multiple services." % service_id
                                ) from None
    await service_ops.delete_service(req.context, host_api, _operator.aggregate_api(req),
                                     _operator.placement_client(req), found)
