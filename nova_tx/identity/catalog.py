"""The service catalog of the embedded identity: the all-in-one's endpoints.

By default one service per companion, each with the same URL on its ``public``,
``internal`` and ``admin`` interfaces in ``[embedded] identity_region``, built from
``[embedded] identity_endpoint_host`` and the service's port. ``[embedded]
identity_catalog`` replaces, adds or removes entries. Ids are derived from the type
and interface so that they are the same in every process.
"""
from __future__ import annotations

import dataclasses

from nova_tx import exception
from nova_tx.identity.directory import stable_id

INTERFACES = ("public", "internal", "admin")

#: type -> (Keystone service name, default port, path, where the port option is).
DEFAULT_SERVICES = {
    "identity": ("keystone", 5000, "/v3", ("embedded", "identity_port")),
    "compute": ("nova", 8774, "/v2.1", (None, "osapi_compute_listen_port")),
    "placement": ("placement", 8778, "", ("embedded", "placement_port")),
    "image": ("glance", 9292, "", ("embedded", "image_port")),
    "network": ("neutron", 9696, "", ("embedded", "network_port")),
}


@dataclasses.dataclass(frozen=True)
class Service:
    type: str
    name: str
    #: interface -> URL
    urls: dict[str, str]


def _option(conf, group: str | None, name: str, default):
    try:
        holder = conf if group is None else getattr(conf, group)
        value = getattr(holder, name)
    except Exception:  # not registered in this process
        return default
    return default if value is None else value


def build(conf) -> list[Service]:
    """The catalog ``conf`` describes."""
    opts = conf.embedded
    host = opts.identity_endpoint_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    urls: dict[str, dict[str, str]] = {}
    for type_, (_, port, path, (group, option)) in DEFAULT_SERVICES.items():
        port = _option(conf, group, option, port)
        urls[type_] = {i: f"http://{host}:{port}{path}" for i in INTERFACES}
    for entry in opts.identity_catalog:
        entry = entry.strip()
        if not entry:
            continue
        key, sep, url = entry.partition("=")
        type_, _, interface = key.strip().partition(":")
        if not sep or not type_ or (interface and interface not in INTERFACES):
            raise exception.ConfigError(
                reason="[embedded] identity_catalog: %r is not 'type=url' or "
                "'type:interface=url' (interface: public, internal or admin)" % entry)
        url = url.strip().rstrip("/")
        if not url:
            if interface:
                urls.get(type_, {}).pop(interface, None)
            else:
                urls.pop(type_, None)
            continue
        for name in (interface,) if interface else INTERFACES:
            urls.setdefault(type_, {})[name] = url
    return [Service(type_, DEFAULT_SERVICES.get(type_, (type_,))[0], by_interface)
            for type_, by_interface in urls.items() if by_interface]


def render(services: list[Service], region: str) -> list[dict]:
    """The catalog as Keystone's token body and ``GET /v3/auth/catalog`` show it."""
    return [{
        "endpoints": [{
            "id": stable_id("endpoint", f"{service.type}:{interface}"),
            "interface": interface,
            "region": region,
            "region_id": region,
            "url": url,
        } for interface, url in service.urls.items()],
        "id": stable_id("service", service.type),
        "type": service.type,
        "name": service.name,
    } for service in services]
