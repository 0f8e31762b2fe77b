"""``POST /servers``: create one server or several (``min_count``/``max_count``).

The body is checked against the schema of its microversion
(``schemas/servers_create.py``), read as Nova's ``ServersController.create`` reads it,
authorised, and handed to ``nova_tx.compute.servers_create``. The answer is 202 with
``{"server": {"id", "links", "OS-DCF:diskConfig", "security_groups"[, "adminPass"]}}``
and a ``Location`` header, or ``{"reservation_id": "r-..."}`` when
``return_reservation_id`` is true. The API sends no notification of its own for a
create (the conductor does), except the server group's ``add_member`` when the
``group`` hint puts the servers in one.

Errors are Nova's: what the compute layer raises keeps its status, except the lookups
Nova answers with 400 (an unknown image, key pair, flavor, network, port or security
group, an inactive image).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from twisted.internet import defer

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import faults, links, wsgi
from nova_tx.api.compute._components import cell_engines, quota_engine
from nova_tx.api.compute.schemas import servers_create as schema
from nova_tx.availability_zones import CellServices, get_availability_zones
from nova_tx.compute import block_device
from nova_tx.compute.server_groups import ServerGroupAPI
from nova_tx.compute.servers_create import (
    CreateRequest,
    ServersCreateAPI,
    parse_availability_zone,
)
from nova_tx.image import api as image_api
from nova_tx.network import api as network_api
from nova_tx.notifications.server_group import ServerGroupNotifier
from nova_tx.objects.request_spec import NetworkRequest

routes = wsgi.Routes()

SERVERS = "os_compute_api:servers:%s"
REQUESTED_DESTINATION = "compute:servers:create:requested_destination"

#: Lookups whose failure Nova answers with 400 and a message of its own.
_BAD_REQUEST_MESSAGES: tuple[tuple[type, str | None], ...] = (
    (image_api.ImageNotFound, "Can not find requested image"),
    (exception.KeypairNotFound, "Invalid key_name provided."),
    (exception.FlavorNotFound, None),
    (image_api.ImageNotActive, None),
    (image_api.ImageBadRequest, None),
    (image_api.ImageNotAuthorized, None),
    (network_api.NetworkNotFound, None),
    (network_api.PortNotFound, None),
    (network_api.SecurityGroupNotFound, None),
    (network_api.FixedIpAlreadyInUse, None),
    (exception.VolumeTypeNotFound, None),
    (exception.ComputeHostNotFound, None),
)


def _host(req) -> str:
    try:
        return req.conf.host
    except Exception:  # no [DEFAULT] host registered (tests)
        return "localhost"


def _image_port(req):
    components = req.app.components
    if components.get("image_api") is None:
        components["image_api"] = image_api.make_image_api(req.conf)
    return components["image_api"]


def _network_port(req):
    components = req.app.components
    if components.get("network_api") is None:
        components["network_api"] = network_api.make_network_api(req.conf)
    return components["network_api"]


async def _compute_task_api(req):
    """The conductor's task API: the process's (``compute_task_api``), else one on
    ``[DEFAULT] transport_url``, connected on first use (once, however many requests
    arrive meanwhile)."""
    components = req.app.components
    if components.get("compute_task_api") is not None:
        return components["compute_task_api"]
    lock = components.setdefault("compute_task_api_lock", defer.DeferredLock())
    async with lock:
        return await _make_compute_task_api(req)


async def _make_compute_task_api(req):
    components = req.app.components
    if components.get("compute_task_api") is None:
        from nova_tx.bus.url import get_transport
        from nova_tx.conductor.rpcapi import ComputeTaskAPI
        from nova_tx.conf import messaging

        messaging.register_opts(req.conf)
        transport = components.get("rpc_transport")
        if transport is None:
            transport = get_transport(req.conf)
            await transport.connect()
            components["rpc_transport"] = transport
        components["compute_task_api"] = ComputeTaskAPI(transport, req.conf)
    return components["compute_task_api"]


async def servers_create_api(req) -> ServersCreateAPI:
    components = req.app.components
    if components.get("api_db") is None:
        raise exception.ConfigError(reason="the compute API has no API database "
                                    "([api_database] connection)")
    db = components["api_db"]
    quota = quota_engine(req)
    cells = cell_engines(req)
    notifier = ServerGroupNotifier(_host(req), versioned=components.get("versioned_notifier"),
                                   legacy=components.get("notifier"))
    zone_source = components.get("cell_services") or CellServices(db, cells)

    async def zones() -> list[str]:
        services, host_zones = await zone_source.services_and_zones()
        available, _ = get_availability_zones(req.conf, services, host_zones)
        return available

    return ServersCreateAPI(
        db, quota, req.conf, images=_image_port(req), networks=_network_port(req),
        server_groups=ServerGroupAPI(db, quota, req.conf, notifier, cells=cells),
        compute_task=await _compute_task_api(req), zones=zones, cells=cells)


# -- reading the body (Nova's ServersController.create) ---------------------------------

def _get_id_from_href(href: Any) -> str:
    """A flavor id, or the last path segment of a flavor URL."""
    return urlsplit(str(href)).path.split("/")[-1] if "/" in str(href) else str(href)


def _requested_networks(networks: Any) -> list[NetworkRequest] | None:
    if networks is None:
        return None
    if isinstance(networks, str):
        return [NetworkRequest(network_id=networks)]
    requests = []
    for network in networks:
        request = NetworkRequest(address=network.get("fixed_ip"),
                                 port_id=network.get("port"), tag=network.get("tag"))
        if request.port_id:
            if request.address is not None:
                raise faults.HTTPError(
                    400, "Specified Fixed IP '%s' cannot be used with port '%s': the two "
                    "cannot be specified together." % (request.address, request.port_id))
        else:
            if "uuid" not in network:
                raise faults.HTTPError(400, "Bad network format: missing 'uuid'")
            request.network_id = network["uuid"]
            _validate_network_id(request.network_id)
        requests.append(request)
    return requests


def _validate_network_id(net_id: str) -> None:
    from oslo_utils import uuidutils

    # Neutron once allowed a "br-" prefix; Nova still honours it.
    if not uuidutils.is_uuid_like(net_id) and not uuidutils.is_uuid_like(
            net_id.split("-", 1)[-1]):
        raise faults.HTTPError(
            400, "Bad networks format: network uuid is not in proper format (%s)" % net_id)


def _block_device_mappings(req, server: dict[str, Any], target: dict[str, Any]
                           ) -> tuple[list[dict[str, Any]], bool]:
    legacy = server.get("block_device_mapping") or []
    v2 = server.get("block_device_mapping_v2") or []
    if legacy and v2:
        raise faults.HTTPError(400, "Using different block_device_mapping syntaxes is not "
                               "allowed in the same request.")
    if legacy:
        bdms = [dict(b) for b in legacy]
        for bdm in bdms:
            if "delete_on_termination" in bdm:
                bdm["delete_on_termination"] = block_device.bool_from_string(
                    bdm["delete_on_termination"])
        result, is_legacy = bdms, True
    elif v2:
        result = [block_device.from_api(b, server.get("imageRef")) for b in v2]
        is_legacy = False
    else:
        # No mappings: the legacy path, which puts the image in as the root disk.
        result, is_legacy = [], True
    if result:
        policy.authorize(req.context, SERVERS % "create:attach_volume", target)
    return result, is_legacy


def _parse(req) -> tuple[CreateRequest, bool]:
    """(the create request, whether the body asked for the reservation id)."""
    context = req.context
    body = req.body
    server = body["server"]
    name = server["name"].strip() if req.is_legacy_v2 else server["name"]
    description = server.get("description") if req.supports("2.19") else name
    min_count = int(server.get("min_count", 1))
    max_count = int(server.get("max_count", min_count))
    if min_count > max_count:
        raise faults.HTTPError(400, "min_count must be <= max_count")
    hints = body.get("os:scheduler_hints")
    if hints is None:
        hints = body.get("OS-SCH-HNT:scheduler_hints") or {}
    zone = server.get("availability_zone")
    target = {"project_id": context.project_id, "user_id": context.user_id,
              "availability_zone": zone}
    policy.authorize(context, SERVERS % "create", target)
    trusted_certs = server.get("trusted_image_certificates")
    if trusted_certs:
        policy.authorize(context, SERVERS % "create:trusted_certs", target)
    zone, host, node = parse_availability_zone(context, zone)
    if host or node:
        policy.authorize(context, SERVERS % "create:forced_host", target)
    requested_host = requested_node = None
    if req.supports("2.74"):
        requested_host = server.get("host")
        requested_node = server.get("hypervisor_hostname")
        if requested_host or requested_node:
            policy.authorize(context, REQUESTED_DESTINATION, target)
            if host or node:
                raise faults.HTTPError(
                    400, "One mechanism with host and/or hypervisor_hostname and another "
                    "mechanism with zone:host:node are mutually exclusive.")
    bdms, legacy_bdm = _block_device_mappings(req, server, target)
    image_ref = server.get("imageRef")
    if not image_ref:
        if not bdms:
            raise faults.HTTPError(400, "Missing imageRef attribute")
        image_ref = ""
    networks = _requested_networks(server.get("networks"))
    if networks and not (len(networks) == 1 and networks[0].network_id == "none"):
        policy.authorize(context, SERVERS % "create:attach_network", target)
    disk_config = server.get("OS-DCF:diskConfig")
    security_groups = server.get("security_groups")
    create = CreateRequest(
        flavor_id=_get_id_from_href(server["flavorRef"]), image_ref=image_ref,
        display_name=name, display_description=description,
        hostname=server.get("hostname") if req.supports("2.90") else None,
        metadata=dict(server.get("metadata") or {}),
        admin_password=server.get("adminPass"), user_data=server.get("user_data"),
        key_name=server.get("key_name"),
        config_drive=block_device.bool_from_string(server.get("config_drive", False)),
        security_groups=None if security_groups is None else
        [g["name"] for g in security_groups if g.get("name")],
        scheduler_hints=dict(hints), min_count=min_count, max_count=max_count,
        availability_zone=zone, forced_host=host, forced_node=node,
        requested_host=requested_host, requested_hypervisor_hostname=requested_node,
        tags=list(server.get("tags") or []) if req.supports("2.52") else [],
        trusted_certs=trusted_certs or None, requested_networks=networks,
        block_device_mapping=bdms, legacy_bdm=legacy_bdm,
        auto_disk_config=None if disk_config is None else disk_config == "AUTO",
        access_ip_v4=server.get("accessIPv4"), access_ip_v6=server.get("accessIPv6"),
        injected_files=[(f.get("path"), f.get("contents"))
                        for f in server.get("personality") or []],
        supports_multiattach=req.supports("2.60"))
    return create, block_device.bool_from_string(server.get("return_reservation_id", False))


def _as_bad_request(error: Exception) -> None:
    for kind, message in _BAD_REQUEST_MESSAGES:
        if isinstance(error, kind):
            raise faults.HTTPError(400, message or error.format_message()) from None


def _enable_instance_password(req) -> bool:
    try:
        return bool(req.conf.api.enable_instance_password)
    except Exception:  # not registered: Nova's default
        return True


def _body_schemas(func):
    """One ``@validation.schema`` per microversion range of ``schema.BY_VERSION``."""
    for body_schema, low, high in reversed(schema.BY_VERSION):
        func = validation.schema(body_schema, low, high)(func)
    return func


@routes.post("/servers", status=202)
@_body_schemas
async def create(req):
    create_request, reservation_only = _parse(req)
    api = await servers_create_api(req)
    try:
        created = await api.create(req.context, create_request)
    except exception.NovaException as e:
        _as_bad_request(e)
        raise
    if reservation_only:
        return {"reservation_id": created.reservation_id}
    instance = created.instances[0]
    server_links = links.links(req, instance.uuid, "servers")
    server = {
        "id": instance.uuid,
        "links": server_links,
        "OS-DCF:diskConfig": "AUTO" if instance.auto_disk_config else "MANUAL",
        # As Nova: the groups as the request named them (default when it named none).
        "security_groups": req.body["server"].get("security_groups",
                                                   [{"name": "default"}]),
    }
    if _enable_instance_password(req):
        server["adminPass"] = created.admin_password
    return wsgi.Response({"server": server},
                         headers={"Location": server_links[0]["href"]})
