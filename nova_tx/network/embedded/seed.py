"""The networks the service creates on its first start (``[embedded] network_seed``).

``public``: a flat external network (``router:external``), subnet ``public-subnet``
from ``network_public_cidr`` without DHCP. ``private``: a flat shared network, so that
every project can boot servers on it and Nova picks it when a server names no network,
with ``private-subnet`` from ``network_private_cidr`` and, if ``network_private_cidr_v6``
is set, a SLAAC ``ipv6-private-subnet``. Both belong to no project: only admins change
them.
"""
from __future__ import annotations

import ipaddress

from nova_tx.context import RequestContext
from nova_tx.network.embedded.store import NetworkStore

ADMIN = RequestContext(user_id="admin", project_id=None, roles=["admin"], is_admin=True)


async def seed_networks(store: NetworkStore, options) -> bool:
    """Create the seed networks unless done before; whether they were created."""
    if await store.get_fact("seeded"):
        return False
    dns = list(options.network_dns_nameservers or [])
    public = await store.create_network(ADMIN, {
        "name": "public", "project_id": None, "router:external": True, "shared": False,
        "provider:network_type": "flat", "provider:physical_network": "public"})
    if options.network_public_cidr:
        await store.create_subnet(ADMIN, _subnet(public["id"], "public-subnet",
                                                 options.network_public_cidr, dns,
                                                 enable_dhcp=False))
    private = await store.create_network(ADMIN, {
        "name": "private", "project_id": None, "shared": True,
        "provider:network_type": "flat", "provider:physical_network": "private"})
    if options.network_private_cidr:
        await store.create_subnet(ADMIN, _subnet(private["id"], "private-subnet",
                                                 options.network_private_cidr, dns))
    if options.network_private_cidr_v6:
        body = _subnet(private["id"], "ipv6-private-subnet",
                       options.network_private_cidr_v6, [])
        body.update(ipv6_address_mode="slaac", ipv6_ra_mode="slaac")
        await store.create_subnet(ADMIN, body)
    await store.set_fact("seeded", "1")
    return True


def _subnet(network_id: str, name: str, cidr: str, dns: list[str], *,
            enable_dhcp: bool = True) -> dict:
    return {"network_id": network_id, "name": name, "cidr": cidr, "project_id": None,
            "ip_version": ipaddress.ip_network(cidr, strict=False).version,
            "enable_dhcp": enable_dhcp, "dns_nameservers": dns}
