"""``/os-availability-zone``: the zones of the compute services, without their hosts.

The internal zone (``[DEFAULT] internal_service_availability_zone``) is never listed;
with no compute service the list is empty.

``/os-availability-zone/detail`` (admin) lists the internal zone too, and for each
available zone its hosts and their enabled services (the API services left out):
``{host: {binary: {"available": <up>, "active": true, "updated_at": ...}}}``.
Zones that are not available have ``"hosts": null``.
"""
from __future__ import annotations

from nova_tx import availability_zones, exception, policy
from nova_tx.api.compute import _operator, wsgi
from nova_tx.api.compute._components import cell_engines
from nova_tx.conf import availability_zone as az_conf

routes = wsgi.Routes()


def cell_services(req) -> availability_zones.CellServices:
    """``components["cell_services"]`` (anything with ``services_and_zones()``), made
    over the API database and ``components["cell_engines"]`` on first use."""
    components = req.app.components
    source = components.get("cell_services")
    if source is None:
        if components.get("api_db") is None:
            raise exception.ConfigError(reason="the compute API has no API database "
                                        "([api_database] connection)")
        source = components["cell_services"] = availability_zones.CellServices(
            components["api_db"], cell_engines(req))
    return source


def _zones(req, zones: list[str], available: bool) -> list[dict]:
    internal = req.conf.internal_service_availability_zone
    return [{"zoneName": zone, "zoneState": {"available": available}, "hosts": None}
            for zone in zones if zone != internal]


@routes.get("/os-availability-zone")
async def index(req):
    policy.authorize(req.context, "os_compute_api:os-availability-zone:list", target={})
    az_conf.register_opts(req.conf)
    services, host_zones = await cell_services(req).services_and_zones()
    available, not_available = availability_zones.get_availability_zones(
        req.conf, services, host_zones)
    return {"availabilityZoneInfo": _zones(req, available, True)
            + _zones(req, not_available, False)}


@routes.get("/os-availability-zone/detail")
async def detail(req):
    policy.authorize(req.context, "os_compute_api:os-availability-zone:detail", target={})
    az_conf.register_opts(req.conf)
    host_api = _operator.host_api(req)
    services = [found.item for found in await host_api.service_get_all()]
    host_zones = await host_api.host_zones(s.host for s in services if s.host)
    available, not_available = availability_zones.get_availability_zones(
        req.conf, services, host_zones)
    hosts_by_zone: dict[str, dict] = {}
    for service in services:
        if service.disabled:
            continue
        zone = availability_zones.service_zone(req.conf, service, host_zones)
        hosts_by_zone.setdefault(zone, {}).setdefault(service.host, {})[service.binary] = {
            "available": host_api.service_is_up(service),
            "active": True,
            "updated_at": service.updated_at,
        }
    return {"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": True},
         "hosts": hosts_by_zone.get(zone, {})} for zone in available
    ] + [{"zoneName": zone, "zoneState": {"available": False}, "hosts": None}
         for zone in not_available]}
