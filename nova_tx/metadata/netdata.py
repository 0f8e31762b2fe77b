"""``network_data.json`` from the info cache (Nova's ``netutils.get_network_metadata``).

Only the first IPv4 and the first IPv6 subnet of each VIF are described, as Nova does;
VIFs without subnets are skipped. A subnet with a DHCP server is announced as
``ipv4_dhcp``/``ipv6_dhcp`` and its link's MTU left to DHCP (null).
"""
from __future__ import annotations

import ipaddress
from typing import Any

#: VIF types Nova shows as the link type; any other is ``phy``.
LEGACY_EXPOSED_VIF_TYPES = ("bridge", "dvs", "hw_veb", "hyperv", "ovs", "tap",
                            "vhostuser", "vif")


def _version(subnet: dict) -> int:
    version = subnet.get("version")
    if version:
        return int(version)
    return ipaddress.ip_network(subnet["cidr"], strict=False).version


def _first_subnet(network: dict, version: int) -> dict | None:
    for subnet in network.get("subnets") or ():
        if _version(subnet) == version:
            return subnet
    return None


def _meta(item: dict | None, key: str) -> Any:
    return ((item or {}).get("meta") or {}).get(key)


def _link_mtu(vif: dict) -> int | None:
    for subnet in vif["network"].get("subnets") or ():
        if _meta(subnet, "dhcp_server"):
            return None
    return _meta(vif["network"], "mtu")


def _link(vif: dict, number: int) -> dict:
    vif_type = vif.get("type")
    return {
        "id": vif.get("devname") or "interface%d" % number,
        "vif_id": vif.get("id"),
        "type": vif_type if vif_type in LEGACY_EXPOSED_VIF_TYPES else "phy",
        "mtu": _link_mtu(vif),
        "ethernet_mac_address": vif.get("address"),
    }


def _dns(subnet: dict) -> list[dict]:
    return [{"type": "dns", "address": ip.get("address")} for ip in subnet.get("dns") or ()]


def _default_route(version: int, subnet: dict) -> list[dict]:
    gateway = (subnet.get("gateway") or {}).get("address")
    if not gateway:
        return []
    any_address = "0.0.0.0" if version == 4 else "::"
    return [{"network": any_address, "netmask": any_address, "gateway": gateway}]


def _network(vif: dict, subnet: dict, version: int, number: int, link_id: str) -> dict:
    if _meta(subnet, "dhcp_server") is not None:
        return {"id": "network%d" % number, "type": "ipv%d_dhcp" % version,
                "link": link_id, "network_id": vif["network"].get("id")}
    ip = subnet["ips"][0]
    cidr = ipaddress.ip_network(subnet["cidr"], strict=False)
    prefix = _meta(ip, "prefixlen")
    netmask = (str(ipaddress.ip_network("%s/%s" % (ip["address"], prefix), strict=False)
                   .netmask) if prefix else str(cidr.netmask))
    mode = _meta(subnet, "ipv6_address_mode") if version == 6 else None
    info = {
        "id": "network%d" % number,
        "type": "ipv6_%s" % mode if mode else "ipv%d" % version,
        "link": link_id,
        "ip_address": ip["address"],
        "netmask": netmask,
        "routes": _default_route(version, subnet),
        "network_id": vif["network"].get("id"),
    }
    for route in subnet.get("routes") or ():
        destination = ipaddress.ip_network(route["cidr"], strict=False)
        info["routes"].append({"network": str(destination.network_address),
                               "netmask": str(destination.netmask),
                               "gateway": (route.get("gateway") or {}).get("address")})
    info["services"] = _dns(subnet)
    return info


def network_metadata(network_info: list[dict] | None) -> dict | None:
    """The ``network_data.json`` document, None without network info."""
    if not network_info:
        return None
    links: list[dict] = []
    networks: list[dict] = []
    services: list[dict] = []
    link_number = -1
    net_number = -1
    for vif in network_info:
        network = vif.get("network")
        if not network or not network.get("subnets"):
            continue
        subnets = [(4, _first_subnet(network, 4)), (6, _first_subnet(network, 6))]
        link_number += 1
        link = None
        if any(subnet for _, subnet in subnets):
            link = _link(vif, link_number)
            links.append(link)
        for version, subnet in subnets:
            if not subnet or not subnet.get("ips"):
                continue
            net_number += 1
            networks.append(_network(vif, subnet, version, net_number, link["id"]))
            services += [dns for dns in _dns(subnet) if dns not in services]
    return {"links": links, "networks": networks, "services": services}


def fixed_and_floating(network_info: list[dict] | None) -> tuple[list[str], list[str]]:
    """IPv4 fixed addresses and floating addresses, in order (EC2's local/public)."""
    fixed: list[str] = []
    floating: list[str] = []
    for vif in network_info or ():
        for subnet in (vif.get("network") or {}).get("subnets") or ():
            for ip in subnet.get("ips") or ():
                address = ip.get("address")
                if address and ":" not in address:
                    fixed.append(address)
                for fip in ip.get("floating_ips") or ():
                    if fip.get("address"):
                        floating.append(fip["address"])
    return fixed, floating
