"""The network port: what Nova's compute API and computes ask of the network service.

Networks, subnets, ports and security groups are plain dicts as Neutron v2.0 shows
them. What Nova adds on top is here too: picking the networks of a server, making and
binding its ports, and its ``network_info``: the list of VIFs that Nova keeps in the
instance's info cache and that the metadata service and config drive read, as plain
dicts shaped like Nova's ``nova.network.model.VIF`` once serialised::

    {"id": port, "address": mac, "type": "ovs", "details": {...}, "devname": "tap...",
     "ovs_interfaceid": port, "active": bool, "vnic_type": "normal", "profile": {},
     "preserve_on_delete": bool, "meta": {},
     "network": {"id", "bridge", "label", "meta": {"injected", "tenant_id", "mtu",
                 "physical_network", "tunneled"},
                 "subnets": [{"cidr", "version", "gateway": {ip}, "dns": [{ip}],
                              "routes": [...], "ips": [{ip, "floating_ips": []}],
                              "meta": {"dhcp_server": ...}}]}}

where ``{ip}`` is ``{"address", "type", "version", "meta": {}}``. The one adapter is
``nova_tx.network.neutron.NeutronNetworkAPI``, a Neutron v2.0 client that talks to a
real Neutron or to the embedded service (``nova_tx.network.embedded``).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from zope.interface import Interface

from nova_tx import exception
from nova_tx.context import RequestContext

#: Nova's device_owner prefix for the ports of servers (``compute:<availability zone>``).
DEVICE_OWNER_COMPUTE = "compute:nova"
TUNNELED_TYPES = ("vxlan", "gre", "geneve")


class NetworkNotFound(exception.NotFound):
    msg_fmt = "Network %(network_id)s could not be found."


class PortNotFound(exception.NotFound):
    msg_fmt = "Port id %(port_id)s could not be found."


class SecurityGroupNotFound(exception.NotFound):
    msg_fmt = "Security group %(security_group_id)s not found."


class PortInUse(exception.Conflict):
    msg_fmt = "Port %(port_id)s is still in use."


class NoMoreFixedIps(exception.NovaException):
    msg_fmt = "No fixed IP addresses available for network: %(net)s"
    code = 409


class FixedIpAlreadyInUse(exception.NovaException):
    msg_fmt = "Fixed IP address %(address)s is already in use on instance %(instance_uuid)s."
    code = 409


class NetworkAmbiguous(exception.Invalid):
    msg_fmt = ("More than one possible network found. Specify network ID(s) to select "
               "which one(s) to connect to.")
    code = 409


class NetworkForbidden(exception.NovaException):
    msg_fmt = "The network service refused: %(reason)s"
    code = 403


class NetworkBadRequest(exception.Invalid):
    msg_fmt = "The network service refused the request: %(reason)s"


class NetworkConflict(exception.Conflict):
    msg_fmt = "The network service reported a conflict: %(reason)s"


class NetworkServiceUnavailable(exception.NovaException):
    msg_fmt = "The network service at %(server)s is unavailable: %(reason)s"
    code = 503


class INetworkAPI(Interface):
    """Nova's ``network.neutron.API``, asynchronous, with Neutron dicts."""

    async def get_extensions(context: RequestContext) -> list[dict[str, Any]]:
        """The extensions the network service announces."""

    async def list_networks(context: RequestContext, **filters: Any) -> list[dict]:
        """Networks visible to the caller matching Neutron's filters."""

    async def get_network(context: RequestContext, network_id: str) -> dict:
        """One network; NetworkNotFound."""

    async def get_available_networks(context: RequestContext,
                                     network_ids: list[str] | None = None) -> list[dict]:
        """The networks a server of the caller's project may use: those named (each
        must exist), or the project's own and the shared ones (not external ones)."""

    async def list_subnets(context: RequestContext, **filters: Any) -> list[dict]:
        """Subnets visible to the caller matching Neutron's filters."""

    async def create_port(context: RequestContext, port: dict) -> dict:
        """A new port from Neutron's port attributes."""

    async def show_port(context: RequestContext, port_id: str) -> dict:
        """One port; PortNotFound."""

    async def list_ports(context: RequestContext, **filters: Any) -> list[dict]:
        """Ports visible to the caller matching Neutron's filters (``device_id`` ...)."""

    async def update_port(context: RequestContext, port_id: str, changes: dict, *,
                          admin: bool = False) -> dict:
        """Change a port (as Nova's service user when ``admin``: bindings need it)."""

    async def delete_port(context: RequestContext, port_id: str) -> None:
        """Delete a port; a port already gone is not an error."""

    async def list_security_groups(context: RequestContext, **filters: Any) -> list[dict]:
        """The caller's security groups."""

    async def allocate_for_instance(context: RequestContext, instance_uuid: str, *,
                                    project_id: str, host: str | None = None,
                                    requested_networks: list[dict] | None = None,
                                    security_groups: list[str] | None = None
                                    ) -> list[dict]:
        """Make (or claim) and bind the ports of a server; return its network_info.

        ``requested_networks``: dicts with ``network_id``, ``port_id`` and
        ``address`` (or ``fixed_ip``), as Nova's NetworkRequest. None or empty: the one
        available network (NetworkAmbiguous when there are several, no port when there
        is none). ``security_groups``: names or ids (default: the project's default).
        On failure the ports made so far are deleted and claimed ones released."""

    async def deallocate_for_instance(context: RequestContext, instance_uuid: str, *,
                                      network_info: list[dict] | None = None) -> None:
        """Delete the server's ports; those marked ``preserve_on_delete`` in
        ``network_info`` (ports the user made) are unbound and kept."""

    async def bind_ports_to_host(context: RequestContext, instance_uuid: str,
                                 host: str) -> list[dict]:
        """Bind the server's ports to ``host`` (a move); return its network_info."""

    async def get_instance_nw_info(context: RequestContext, instance_uuid: str, *,
                                   preserve: set[str] | None = None) -> list[dict]:
        """The server's network_info built from its ports (``preserve``: the ids of
        ports to mark ``preserve_on_delete``)."""


def _ip(address: str, kind: str) -> dict:
    return {"address": address, "type": kind,
            "version": ipaddress.ip_address(address).version, "meta": {}}


def vif_from_port(port: dict, network: dict, subnets: dict[str, dict], *,
                  preserve: bool = False, bridge: str = "br-int") -> dict:
    """One VIF of a server's network_info from its port, network and subnets."""
    by_subnet: dict[str, list[str]] = {}
    for fixed in port.get("fixed_ips", ()):
        by_subnet.setdefault(fixed["subnet_id"], []).append(fixed["ip_address"])
    vif_subnets = []
    for subnet_id, addresses in by_subnet.items():
        subnet = subnets.get(subnet_id)
        if subnet is None:
            continue
        meta: dict[str, Any] = {}
        if subnet.get("enable_dhcp"):
            # No DHCP port to name (the embedded service runs no agent): the gateway
            # stands for the DHCP server, which makes network_data.json say "dhcp".
            meta["dhcp_server"] = subnet.get("gateway_ip")
        if subnet.get("ipv6_address_mode"):
            meta["ipv6_address_mode"] = subnet["ipv6_address_mode"]
        vif_subnets.append({
            "cidr": subnet["cidr"], "version": subnet["ip_version"],
            "gateway": (_ip(subnet["gateway_ip"], "gateway") if subnet.get("gateway_ip")
                        else {"address": None, "type": "gateway", "version": None,
                              "meta": {}}),
            "dns": [_ip(a, "dns") for a in subnet.get("dns_nameservers", ())],
            "routes": [{"cidr": r["destination"], "gateway": _ip(r["nexthop"], "gateway"),
                        "interface": None, "meta": {}}
                       for r in subnet.get("host_routes", ())],
            "ips": [dict(_ip(a, "fixed"), floating_ips=[]) for a in addresses],
            "meta": meta,
        })
    vif_type = port.get("binding:vif_type") or "unbound"
    return {
        "id": port["id"], "address": port["mac_address"], "type": vif_type,
        "details": port.get("binding:vif_details") or {},
        "devname": ("tap" + port["id"])[:14],
        "ovs_interfaceid": port["id"] if vif_type == "ovs" else None,
        "qbh_params": None, "qbg_params": None,
        "active": port.get("status") == "ACTIVE",
        "vnic_type": port.get("binding:vnic_type") or "normal",
        "profile": port.get("binding:profile") or {},
        "preserve_on_delete": preserve, "delegate_create": True, "meta": {},
        "network": {
            "id": network["id"], "bridge": bridge, "label": network.get("name"),
            "subnets": vif_subnets,
            "meta": {"injected": False, "tenant_id": network.get("project_id"),
                     "mtu": network.get("mtu"),
                     "physical_network": network.get("provider:physical_network"),
                     "tunneled": network.get("provider:network_type") in TUNNELED_TYPES},
        },
    }


def make_network_api(conf: Any, *, reactor: Any = None) -> Any:
    """The network port's adapter for ``conf`` ([neutron] and ``[embedded]``)."""
    from nova_tx.network.neutron import NeutronNetworkAPI

    return NeutronNetworkAPI(conf, reactor=reactor)
