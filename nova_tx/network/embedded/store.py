"""The embedded network service's rules: networks, subnets, ports with their fixed IPs
and MACs, and security groups, kept in its own tables.

Every public method runs one transaction in the DBThreadPool and returns resources as
Neutron shows them (plain dicts). Visibility follows Neutron's defaults: a project sees
its own resources plus shared and external networks (and their subnets); admins see
everything. Addresses are allocated from the subnet's allocation pools, lowest free
first (IPv6 SLAAC subnets: EUI-64 of the MAC); a concurrent allocation of the same
address loses on the primary key and the whole operation is retried.
"""
from __future__ import annotations

import ipaddress
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer, task

from nova_tx import log
from nova_tx.context import RequestContext
from nova_tx.db.exception import DBDuplicateEntry, is_deadlock
from nova_tx.db.pool import DBThreadPool
from nova_tx.db.types import utcnow
from nova_tx.embedded_web import is_admin
from nova_tx.network.embedded import errors
from nova_tx.network.embedded.tables import (
    default_security_groups,
    facts,
    ip_allocations,
    metadata,
    networks,
    port_security_groups,
    ports,
    security_group_rules,
    security_groups,
    subnets,
)

LOG = log.getLogger(__name__)

#: Times an operation that lost an allocation race is run again.
RETRIES = 20
IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
SLAAC_MODES = ("slaac", "dhcpv6-stateless")
VIF_DETAILS = {"port_filter": True, "connectivity": "l2", "bridge_name": "br-int",
               "datapath_type": "system", "ovs_hybrid_plug": False}


def isotime(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _standard(row: Any) -> dict:
    return {"description": row.description, "created_at": isotime(row.created_at),
            "updated_at": isotime(row.updated_at), "revision_number": row.revision_number,
            "tags": []}


def _owner(row: Any) -> dict:
    return {"project_id": row.project_id, "tenant_id": row.project_id}


def eui64(cidr: str, mac: str) -> str:
    """The SLAAC address of ``mac`` in the /64 ``cidr`` (RFC 4291 modified EUI-64)."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = bytes(octets[:3] + [0xFF, 0xFE] + octets[3:])
    network = ipaddress.ip_network(cidr)
    return str(network.network_address + int.from_bytes(iid, "big"))


class NetworkStore:
    def __init__(self, pool: DBThreadPool, *, base_mac: str = "fa:16:3e:00:00:00",
                 mtu: int = 1500, reactor: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.pool = pool
        self.base_mac = [int(x, 16) for x in base_mac.split(":")]
        self.mtu = mtu

    # -- plumbing --------------------------------------------------------------------

    def create_schema(self) -> defer.Deferred:
        return self.pool.do_with_engine(lambda engine: metadata.create_all(engine))

    def get_fact(self, name: str) -> defer.Deferred:
        return self.pool.do(lambda conn: conn.execute(
            sa.select(facts.c.value).where(facts.c.name == name)).scalar_one_or_none())

    def set_fact(self, name: str, value: str) -> defer.Deferred:
        def thd(conn):
            conn.execute(sa.delete(facts).where(facts.c.name == name))
            conn.execute(sa.insert(facts).values(name=name, value=value))
        return self.pool.do(thd)

    async def _run(self, fn: Callable, *args: Any) -> Any:
        """``fn(conn, *args)`` in one transaction, again (after a short random pause)
        when it lost a race: a duplicate address, MAC or default group, a deadlock."""
        for attempt in range(RETRIES):
            try:
                return await self.pool.do(fn, *args)
            except Exception as e:
                if attempt == RETRIES - 1 or not _retriable(e):
                    raise
                LOG.debug("Retrying %s after %s", fn.__name__, e)
                await task.deferLater(self.reactor, random.uniform(0, 0.02 * (attempt + 1)))

    def random_mac(self) -> str:
        octets = self.base_mac[:3] + [random.randint(0, 255) for _ in range(3)]
        return ":".join("%02x" % o for o in octets)

    # -- networks --------------------------------------------------------------------

    def _network_view(self, conn: sa.Connection, row: Any) -> dict:
        subnet_ids = [r.id for r in conn.execute(
            sa.select(subnets.c.id).where(subnets.c.network_id == row.id)
            .order_by(subnets.c.created_at, subnets.c.id))]
        return {
            "id": row.id, "name": row.name, **_owner(row),
            "admin_state_up": row.admin_state_up, "status": "ACTIVE", "mtu": row.mtu,
            "subnets": subnet_ids, "shared": row.shared, "router:external": row.external,
            "port_security_enabled": row.port_security_enabled,
            "availability_zone_hints": [], "availability_zones": ["nova"],
            "ipv4_address_scope": None, "ipv6_address_scope": None, "l2_adjacency": True,
            "is_default": False, "provider:network_type": row.network_type,
            "provider:physical_network": row.physical_network,
            "provider:segmentation_id": row.segmentation_id, **_standard(row),
        }

    @staticmethod
    def _network_visible(row: Any, context: RequestContext) -> bool:
        return (is_admin(context) or row.shared or row.external
                or row.project_id == context.project_id)

    def _network_row(self, conn: sa.Connection, context: RequestContext, network_id: str,
                     *, owned: bool = False) -> Any:
        row = conn.execute(sa.select(networks).where(networks.c.id == network_id)).first()
        if row is None or not self._network_visible(row, context):
            raise errors.NetworkNotFound(net_id=network_id)
        if owned and not (is_admin(context) or row.project_id == context.project_id):
            raise errors.PolicyNotAuthorized(action="update_network")
        return row

    def create_network(self, context: RequestContext, body: dict) -> defer.Deferred:
        now = utcnow()
        values = {"id": str(uuid.uuid4()), "project_id": body.get("project_id"),
                  "name": body.get("name", ""), "description": body.get("description", ""),
                  "admin_state_up": body.get("admin_state_up", True),
                  "shared": body.get("shared", False),
                  "external": body.get("router:external", False),
                  "mtu": body.get("mtu", self.mtu),
                  "port_security_enabled": body.get("port_security_enabled", True),
                  "network_type": body.get("provider:network_type") or "flat",
                  "physical_network": body.get("provider:physical_network"),
                  "segmentation_id": body.get("provider:segmentation_id"),
                  "created_at": now, "updated_at": now}

        def thd(conn):
            conn.execute(sa.insert(networks).values(**values))
            row = conn.execute(sa.select(networks).where(networks.c.id == values["id"])).one()
            return self._network_view(conn, row)
        return self.pool.do(thd)

    def get_network(self, context: RequestContext, network_id: str) -> defer.Deferred:
        return self.pool.do(lambda conn: self._network_view(
            conn, self._network_row(conn, context, network_id)))

    def list_networks(self, context: RequestContext, where: dict) -> defer.Deferred:
        def thd(conn):
            query = _where(sa.select(networks), networks, where)
            return [self._network_view(conn, row) for row in conn.execute(
                query.order_by(networks.c.created_at, networks.c.id))
                if self._network_visible(row, context)]
        return self.pool.do(thd)

    def update_network(self, context: RequestContext, network_id: str, body: dict
                       ) -> defer.Deferred:
        columns = {"name": "name", "description": "description",
                   "admin_state_up": "admin_state_up", "shared": "shared",
                   "router:external": "external", "mtu": "mtu",
                   "port_security_enabled": "port_security_enabled"}

        def thd(conn):
            row = self._network_row(conn, context, network_id, owned=True)
            values = {columns[k]: v for k, v in body.items() if k in columns}
            _bump(conn, networks, row, values)
            return self._network_view(conn, conn.execute(
                sa.select(networks).where(networks.c.id == network_id)).one())
        return self.pool.do(thd)

    def delete_network(self, context: RequestContext, network_id: str) -> defer.Deferred:
        def thd(conn):
            self._network_row(conn, context, network_id, owned=True)
            in_use = conn.execute(sa.select(ports.c.id).where(
                ports.c.network_id == network_id,
                ports.c.device_owner != "network:dhcp")).first()
            if in_use is not None:
                raise errors.NetworkInUse(net_id=network_id)
            port_ids = sa.select(ports.c.id).where(ports.c.network_id == network_id)
            conn.execute(sa.delete(ip_allocations).where(
                ip_allocations.c.network_id == network_id))
            conn.execute(sa.delete(port_security_groups).where(
                port_security_groups.c.port_id.in_(port_ids)))
            conn.execute(sa.delete(ports).where(ports.c.network_id == network_id))
            conn.execute(sa.delete(subnets).where(subnets.c.network_id == network_id))
            conn.execute(sa.delete(networks).where(networks.c.id == network_id))
        return self.pool.do(thd)

    # -- subnets ---------------------------------------------------------------------

    @staticmethod
    def _subnet_view(row: Any) -> dict:
        return {
            "id": row.id, "name": row.name, **_owner(row), "network_id": row.network_id,
            "ip_version": row.ip_version, "cidr": row.cidr, "gateway_ip": row.gateway_ip,
            "enable_dhcp": row.enable_dhcp,
            "allocation_pools": json.loads(row.allocation_pools),
            "dns_nameservers": json.loads(row.dns_nameservers),
            "host_routes": json.loads(row.host_routes),
            "ipv6_ra_mode": row.ipv6_ra_mode, "ipv6_address_mode": row.ipv6_address_mode,
            "subnetpool_id": None, "service_types": [], "dns_publish_fixed_ip": False,
            **_standard(row),
        }

    def _subnet_row(self, conn: sa.Connection, context: RequestContext, subnet_id: str,
                    *, owned: bool = False) -> Any:
        row = conn.execute(sa.select(subnets).where(subnets.c.id == subnet_id)).first()
        if row is None:
            raise errors.SubnetNotFound(subnet_id=subnet_id)
        network = conn.execute(sa.select(networks).where(
            networks.c.id == row.network_id)).one()
        if not (is_admin(context) or row.project_id == context.project_id
                or network.shared or network.external):
            raise errors.SubnetNotFound(subnet_id=subnet_id)
        if owned and not (is_admin(context) or row.project_id == context.project_id):
            raise errors.PolicyNotAuthorized(action="update_subnet")
        return row

    def create_subnet(self, context: RequestContext, body: dict) -> defer.Deferred:
        def thd(conn):
            network = self._network_row(conn, context, body["network_id"])
            if not (is_admin(context) or network.project_id == context.project_id):
                raise errors.PolicyNotAuthorized(action="create_subnet")
            values = subnet_values(body)
            for other in conn.execute(sa.select(subnets.c.cidr).where(
                    subnets.c.network_id == network.id)):
                if ipaddress.ip_network(other.cidr).overlaps(
                        ipaddress.ip_network(values["cidr"])):
                    raise errors.InvalidInput(error_message=(
                        f"Requested subnet with cidr: {values['cidr']} for network: "
                        f"{network.id} overlaps with another subnet"))
            now = utcnow()
            values.update(id=str(uuid.uuid4()), network_id=network.id,
                          project_id=body.get("project_id"), name=body.get("name", ""),
                          description=body.get("description", ""),
                          enable_dhcp=body.get("enable_dhcp", True),
                          created_at=now, updated_at=now)
            conn.execute(sa.insert(subnets).values(**values))
            return self._subnet_view(conn.execute(
                sa.select(subnets).where(subnets.c.id == values["id"])).one())
        return self.pool.do(thd)

    def get_subnet(self, context: RequestContext, subnet_id: str) -> defer.Deferred:
        return self.pool.do(lambda conn: self._subnet_view(
            self._subnet_row(conn, context, subnet_id)))

    def list_subnets(self, context: RequestContext, where: dict) -> defer.Deferred:
        def thd(conn):
            visible = {r.id for r in conn.execute(sa.select(networks))
                       if self._network_visible(r, context)}
            query = _where(sa.select(subnets), subnets, where)
            return [self._subnet_view(row) for row in conn.execute(
                query.order_by(subnets.c.created_at, subnets.c.id))
                if is_admin(context) or row.project_id == context.project_id
                or row.network_id in visible]
        return self.pool.do(thd)

    def update_subnet(self, context: RequestContext, subnet_id: str, body: dict
                      ) -> defer.Deferred:
        def thd(conn):
            row = self._subnet_row(conn, context, subnet_id, owned=True)
            values = {k: body[k] for k in ("name", "description", "enable_dhcp")
                      if k in body}
            if "dns_nameservers" in body:
                values["dns_nameservers"] = json.dumps(
                    check_nameservers(body["dns_nameservers"]))
            if "host_routes" in body:
                values["host_routes"] = json.dumps(body["host_routes"] or [])
            if "gateway_ip" in body or "allocation_pools" in body:
                merged = self._subnet_view(row)
                merged.update({k: body[k] for k in ("gateway_ip", "allocation_pools")
                               if k in body})
                checked = subnet_values({**merged, "gateway_ip": merged["gateway_ip"]})
                values["gateway_ip"] = checked["gateway_ip"]
                values["allocation_pools"] = checked["allocation_pools"]
            _bump(conn, subnets, row, values)
            return self._subnet_view(conn.execute(
                sa.select(subnets).where(subnets.c.id == subnet_id)).one())
        return self.pool.do(thd)

    def delete_subnet(self, context: RequestContext, subnet_id: str) -> defer.Deferred:
        def thd(conn):
            self._subnet_row(conn, context, subnet_id, owned=True)
            used = conn.execute(
                sa.select(ip_allocations.c.port_id).join(
                    ports, ports.c.id == ip_allocations.c.port_id)
                .where(ip_allocations.c.subnet_id == subnet_id,
                       ports.c.device_owner != "network:dhcp")).first()
            if used is not None:
                raise errors.SubnetInUse(subnet_id=subnet_id)
            conn.execute(sa.delete(ip_allocations).where(
                ip_allocations.c.subnet_id == subnet_id))
            conn.execute(sa.delete(subnets).where(subnets.c.id == subnet_id))
        return self.pool.do(thd)

    # -- ports -----------------------------------------------------------------------

    def _port_views(self, conn: sa.Connection, rows: list) -> list[dict]:
        ids = [r.id for r in rows]
        fixed: dict[str, list] = {i: [] for i in ids}
        groups: dict[str, list] = {i: [] for i in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for a in conn.execute(sa.select(ip_allocations).where(
                    ip_allocations.c.port_id.in_(chunk))):
                fixed[a.port_id].append({"subnet_id": a.subnet_id,
                                         "ip_address": a.ip_address})
            for g in conn.execute(sa.select(port_security_groups).where(
                    port_security_groups.c.port_id.in_(chunk))):
                groups[g.port_id].append(g.security_group_id)
        return [self._port_view(r, fixed[r.id], groups[r.id]) for r in rows]

    @staticmethod
    def _port_view(row: Any, fixed_ips: list, groups: list) -> dict:
        bound = bool(row.binding_host_id)
        fixed_ips = sorted(fixed_ips, key=lambda f: (
            ipaddress.ip_address(f["ip_address"]).version, f["ip_address"]))
        return {
            "id": row.id, "name": row.name, **_owner(row), "network_id": row.network_id,
            "mac_address": row.mac_address, "admin_state_up": row.admin_state_up,
            "status": row.status, "device_id": row.device_id,
            "device_owner": row.device_owner, "fixed_ips": fixed_ips,
            "security_groups": sorted(groups),
            "allowed_address_pairs": json.loads(row.allowed_address_pairs),
            "extra_dhcp_opts": [], "port_security_enabled": row.port_security_enabled,
            "binding:host_id": row.binding_host_id,
            "binding:vnic_type": row.binding_vnic_type,
            "binding:profile": json.loads(row.binding_profile),
            "binding:vif_type": "ovs" if bound else "unbound",
            "binding:vif_details": dict(VIF_DETAILS) if bound else {},
            "dns_name": "", "dns_assignment": [], "ip_allocation": "immediate",
            "propagate_uplink_status": False, "resource_request": None,
            **_standard(row),
        }

    def _port_row(self, conn: sa.Connection, context: RequestContext, port_id: str) -> Any:
        row = conn.execute(sa.select(ports).where(ports.c.id == port_id)).first()
        if row is None or not (is_admin(context) or row.project_id == context.project_id):
            raise errors.PortNotFound(port_id=port_id)
        return row

    def _get_port(self, conn: sa.Connection, port_id: str) -> dict:
        return self._port_views(conn, [conn.execute(
            sa.select(ports).where(ports.c.id == port_id)).one()])[0]

    def _allocate(self, conn: sa.Connection, network: Any, port_id: str, mac: str,
                  requested: list[dict] | None) -> None:
        """Give the port its fixed IPs: those requested, or one per IP version."""
        all_subnets = list(conn.execute(sa.select(subnets).where(
            subnets.c.network_id == network.id).order_by(subnets.c.created_at,
                                                           subnets.c.id)))
        if requested is None:
            chosen: list[tuple[Any, str | None]] = []
            v4 = [s for s in all_subnets if s.ip_version == 4]
            for subnet in v4:
                if _free_address(conn, subnet) is not None:
                    chosen.append((subnet, None))
                    break
            else:
                if v4:
                    raise errors.IpAddressGenerationFailure(net_id=network.id)
            chosen += [(s, None) for s in all_subnets if s.ip_version == 6]
        else:
            chosen = []
            by_id = {s.id: s for s in all_subnets}
            for item in requested:
                subnet_id, address = item.get("subnet_id"), item.get("ip_address")
                if subnet_id is not None and subnet_id not in by_id:
                    raise errors.InvalidInput(error_message=(
                        f"Failed to create port on network {network.id}, because "
                        f"fixed_ips included invalid subnet {subnet_id}"))
                if address is not None:
                    try:
                        ip = ipaddress.ip_address(address)
                    except ValueError:
                        raise errors.InvalidInput(error_message=(
                            f"'{address}' is not a valid IP address")) from None
                    candidates = [by_id[subnet_id]] if subnet_id else all_subnets
                    match = [s for s in candidates
                             if ip in ipaddress.ip_network(s.cidr)]
                    if not match:
                        if subnet_id:
                            raise errors.InvalidIpForSubnet(ip_address=address)
                        raise errors.InvalidIpForNetwork(ip_address=address)
                    chosen.append((match[0], str(ip)))
                elif subnet_id is not None:
                    chosen.append((by_id[subnet_id], None))
                else:
                    raise errors.InvalidInput(error_message="Invalid fixed_ips entry")
        for subnet, address in chosen:
            if address is None:
                if subnet.ip_version == 6 and subnet.ipv6_address_mode in SLAAC_MODES:
                    address = eui64(subnet.cidr, mac)
                else:
                    address = _free_address(conn, subnet)
                    if address is None:
                        raise errors.IpAddressGenerationFailure(net_id=network.id)
            elif conn.execute(sa.select(ip_allocations.c.port_id).where(
                    ip_allocations.c.subnet_id == subnet.id,
                    ip_allocations.c.ip_address == address)).first() is not None:
                raise errors.IpAddressAlreadyAllocated(ip=address, subnet_id=subnet.id)
            conn.execute(sa.insert(ip_allocations).values(
                subnet_id=subnet.id, ip_address=address, port_id=port_id,
                network_id=network.id))

    def _check_groups(self, conn: sa.Connection, project_id: str | None,
                      group_ids: list[str]) -> list[str]:
        for group_id in group_ids:
            row = conn.execute(sa.select(security_groups).where(
                security_groups.c.id == group_id)).first()
            if row is None or row.project_id != project_id:
                raise errors.SecurityGroupNotFound(id=group_id)
        return list(dict.fromkeys(group_ids))

    def create_port(self, context: RequestContext, body: dict) -> defer.Deferred:
        def thd(conn):
            network = self._network_row(conn, context, body["network_id"])
            project_id = body.get("project_id")
            if not (is_admin(context) or network.shared
                    or network.project_id == context.project_id):
                raise errors.NetworkNotFound(net_id=network.id)
            port_id = str(uuid.uuid4())
            mac = body.get("mac_address") or self._unused_mac(conn, network.id)
            if conn.execute(sa.select(ports.c.id).where(
                    ports.c.network_id == network.id,
                    ports.c.mac_address == mac)).first() is not None:
                raise errors.MacAddressInUse(net_id=network.id, mac=mac)
            security = body.get("port_security_enabled", network.port_security_enabled)
            owner = body.get("device_owner", "")
            if "security_groups" in body:
                groups = self._check_groups(conn, project_id, body["security_groups"] or [])
            elif security and not owner.startswith("network:") and project_id:
                groups = [_default_group(conn, project_id)]
            else:
                groups = []
            if groups and not security:
                raise errors.InvalidInput(error_message=(
                    "Port security must be enabled in order to have security groups "
                    "on the port"))
            now = utcnow()
            host = body.get("binding:host_id") or ""
            conn.execute(sa.insert(ports).values(
                id=port_id, network_id=network.id, project_id=project_id,
                name=body.get("name", ""), description=body.get("description", ""),
                mac_address=mac, admin_state_up=body.get("admin_state_up", True),
                status=_status(host, owner), device_id=body.get("device_id", ""),
                device_owner=owner, binding_host_id=host,
                binding_vnic_type=body.get("binding:vnic_type") or "normal",
                binding_profile=json.dumps(body.get("binding:profile") or {}),
                port_security_enabled=security,
                allowed_address_pairs=json.dumps(body.get("allowed_address_pairs") or []),
                created_at=now, updated_at=now))
            self._allocate(conn, network, port_id, mac, body.get("fixed_ips"))
            for group_id in groups:
                conn.execute(sa.insert(port_security_groups).values(
                    port_id=port_id, security_group_id=group_id))
            return self._get_port(conn, port_id)
        return self._run(thd)

    def _unused_mac(self, conn: sa.Connection, network_id: str) -> str:
        for _ in range(16):
            mac = self.random_mac()
            if conn.execute(sa.select(ports.c.id).where(
                    ports.c.network_id == network_id,
                    ports.c.mac_address == mac)).first() is None:
                return mac
        raise errors.MacAddressGenerationFailure(net_id=network_id)

    def get_port(self, context: RequestContext, port_id: str) -> defer.Deferred:
        return self.pool.do(lambda conn: self._port_views(
            conn, [self._port_row(conn, context, port_id)])[0])

    def list_ports(self, context: RequestContext, where: dict) -> defer.Deferred:
        def thd(conn):
            query = _where(sa.select(ports), ports, where)
            if not is_admin(context):
                query = query.where(ports.c.project_id == context.project_id)
            return self._port_views(conn, list(conn.execute(
                query.order_by(ports.c.created_at, ports.c.id))))
        return self.pool.do(thd)

    def update_port(self, context: RequestContext, port_id: str, body: dict
                    ) -> defer.Deferred:
        columns = {"name": "name", "description": "description",
                   "admin_state_up": "admin_state_up", "device_id": "device_id",
                   "device_owner": "device_owner", "binding:host_id": "binding_host_id",
                   "binding:vnic_type": "binding_vnic_type",
                   "port_security_enabled": "port_security_enabled"}

        def thd(conn):
            row = self._port_row(conn, context, port_id)
            values = {columns[k]: (v if v is not None else "") for k, v in body.items()
                      if k in columns}
            if "binding:profile" in body:
                values["binding_profile"] = json.dumps(body["binding:profile"] or {})
            if "allowed_address_pairs" in body:
                values["allowed_address_pairs"] = json.dumps(
                    body["allowed_address_pairs"] or [])
            if "mac_address" in body and body["mac_address"] != row.mac_address:
                if row.binding_host_id:
                    raise errors.PortBound(port_id=port_id, vif_type="ovs",
                                           old_mac=row.mac_address,
                                           new_mac=body["mac_address"])
                if conn.execute(sa.select(ports.c.id).where(
                        ports.c.network_id == row.network_id,
                        ports.c.mac_address == body["mac_address"])).first() is not None:
                    raise errors.MacAddressInUse(net_id=row.network_id,
                                                 mac=body["mac_address"])
                values["mac_address"] = body["mac_address"]
            values["status"] = _status(values.get("binding_host_id", row.binding_host_id),
                                       values.get("device_owner", row.device_owner))
            if "fixed_ips" in body:
                conn.execute(sa.delete(ip_allocations).where(
                    ip_allocations.c.port_id == port_id))
                network = conn.execute(sa.select(networks).where(
                    networks.c.id == row.network_id)).one()
                self._allocate(conn, network, port_id,
                               values.get("mac_address", row.mac_address),
                               body["fixed_ips"] or [])
            if "security_groups" in body:
                groups = self._check_groups(conn, row.project_id,
                                            body["security_groups"] or [])
                security = values.get("port_security_enabled", row.port_security_enabled)
                if groups and not security:
                    raise errors.InvalidInput(error_message=(
                        "Port security must be enabled in order to have security groups "
                        "on the port"))
                conn.execute(sa.delete(port_security_groups).where(
                    port_security_groups.c.port_id == port_id))
                for group_id in groups:
                    conn.execute(sa.insert(port_security_groups).values(
                        port_id=port_id, security_group_id=group_id))
            _bump(conn, ports, row, values)
            return self._get_port(conn, port_id)
        return self._run(thd)

    def delete_port(self, context: RequestContext, port_id: str) -> defer.Deferred:
        def thd(conn):
            self._port_row(conn, context, port_id)
            conn.execute(sa.delete(ip_allocations).where(
                ip_allocations.c.port_id == port_id))
            conn.execute(sa.delete(port_security_groups).where(
                port_security_groups.c.port_id == port_id))
            conn.execute(sa.delete(ports).where(ports.c.id == port_id))
        return self.pool.do(thd)

    # -- security groups -------------------------------------------------------------

    @staticmethod
    def _rule_view(row: Any) -> dict:
        return {
            "id": row.id, "security_group_id": row.security_group_id, **_owner(row),
            "direction": row.direction, "ethertype": row.ethertype,
            "protocol": row.protocol, "port_range_min": row.port_range_min,
            "port_range_max": row.port_range_max, "remote_ip_prefix": row.remote_ip_prefix,
            "remote_group_id": row.remote_group_id, "remote_address_group_id": None,
            "normalized_cidr": (str(ipaddress.ip_network(row.remote_ip_prefix,
                                                         strict=False))
                                if row.remote_ip_prefix else None),
            "belongs_to_default_sg": None, **_standard(row),
        }

    def _group_view(self, conn: sa.Connection, row: Any) -> dict:
        rules = [self._rule_view(r) for r in conn.execute(
            sa.select(security_group_rules).where(
                security_group_rules.c.security_group_id == row.id)
            .order_by(security_group_rules.c.created_at, security_group_rules.c.id))]
        return {"id": row.id, "name": row.name, **_owner(row), "stateful": row.stateful,
                "shared": False, "security_group_rules": rules, **_standard(row)}

    def _group_row(self, conn: sa.Connection, context: RequestContext, group_id: str
                   ) -> Any:
        row = conn.execute(sa.select(security_groups).where(
            security_groups.c.id == group_id)).first()
        if row is None or not (is_admin(context) or row.project_id == context.project_id):
            raise errors.SecurityGroupNotFound(id=group_id)
        return row

    def ensure_default_group(self, project_id: str) -> defer.Deferred:
        return self._run(_default_group, project_id)

    def create_security_group(self, context: RequestContext, body: dict) -> defer.Deferred:
        def thd(conn):
            if body.get("project_id"):
                _default_group(conn, body["project_id"])
            group_id = _insert_group(conn, body.get("project_id"), body.get("name", ""),
                                     body.get("description", ""),
                                     body.get("stateful", True))
            return self._group_view(conn, conn.execute(sa.select(security_groups).where(
                security_groups.c.id == group_id)).one())
        return self._run(thd)

    def get_security_group(self, context: RequestContext, group_id: str) -> defer.Deferred:
        return self.pool.do(lambda conn: self._group_view(
            conn, self._group_row(conn, context, group_id)))

    def list_security_groups(self, context: RequestContext, where: dict) -> defer.Deferred:
        def thd(conn):
            if context.project_id:
                _default_group(conn, context.project_id)
            query = _where(sa.select(security_groups), security_groups, where)
            if not is_admin(context):
                query = query.where(security_groups.c.project_id == context.project_id)
            return [self._group_view(conn, row) for row in conn.execute(
                query.order_by(security_groups.c.created_at, security_groups.c.id))]
        return self._run(thd)

    def update_security_group(self, context: RequestContext, group_id: str, body: dict
                              ) -> defer.Deferred:
        def thd(conn):
            row = self._group_row(conn, context, group_id)
            if row.name == "default" and body.get("name", "default") != "default":
                raise errors.InvalidInput(error_message=(
                    "'default' security group name cannot be changed"))
            _bump(conn, security_groups, row,
                  {k: body[k] for k in ("name", "description", "stateful") if k in body})
            return self._group_view(conn, conn.execute(sa.select(security_groups).where(
                security_groups.c.id == group_id)).one())
        return self.pool.do(thd)

    def delete_security_group(self, context: RequestContext, group_id: str
                              ) -> defer.Deferred:
        def thd(conn):
            row = self._group_row(conn, context, group_id)
            if conn.execute(sa.select(default_security_groups).where(
                    default_security_groups.c.security_group_id == group_id)).first() \
                    and not is_admin(context):
                raise errors.SecurityGroupCannotRemoveDefault()
            if conn.execute(sa.select(port_security_groups).where(
                    port_security_groups.c.security_group_id == group_id)).first():
                raise errors.SecurityGroupInUse(id=group_id)
            conn.execute(sa.delete(security_group_rules).where(
                security_group_rules.c.security_group_id == group_id))
            conn.execute(sa.delete(default_security_groups).where(
                default_security_groups.c.security_group_id == group_id))
            conn.execute(sa.delete(security_groups).where(security_groups.c.id == row.id))
        return self.pool.do(thd)

    def _rule_row(self, conn: sa.Connection, context: RequestContext, rule_id: str) -> Any:
        row = conn.execute(sa.select(security_group_rules).where(
            security_group_rules.c.id == rule_id)).first()
        if row is None or not (is_admin(context) or row.project_id == context.project_id):
            raise errors.SecurityGroupRuleNotFound(id=rule_id)
        return row

    def create_security_group_rule(self, context: RequestContext, body: dict
                                   ) -> defer.Deferred:
        def thd(conn):
            group = self._group_row(conn, context, body["security_group_id"])
            if body.get("remote_group_id"):
                self._group_row(conn, context, body["remote_group_id"])
            values = rule_values(body)
            for existing in conn.execute(sa.select(security_group_rules).where(
                    security_group_rules.c.security_group_id == group.id)):
                if all(getattr(existing, k) == v for k, v in values.items()
                       if k != "description"):
                    raise errors.SecurityGroupRuleExists(rule_id=existing.id)
            rule_id = str(uuid.uuid4())
            now = utcnow()
            conn.execute(sa.insert(security_group_rules).values(
                id=rule_id, security_group_id=group.id, project_id=group.project_id,
                created_at=now, updated_at=now, **values))
            return self._rule_view(conn.execute(sa.select(security_group_rules).where(
                security_group_rules.c.id == rule_id)).one())
        return self.pool.do(thd)

    def get_security_group_rule(self, context: RequestContext, rule_id: str
                                ) -> defer.Deferred:
        return self.pool.do(lambda conn: self._rule_view(
            self._rule_row(conn, context, rule_id)))

    def list_security_group_rules(self, context: RequestContext, where: dict
                                  ) -> defer.Deferred:
        def thd(conn):
            query = _where(sa.select(security_group_rules), security_group_rules, where)
            if not is_admin(context):
                query = query.where(security_group_rules.c.project_id == context.project_id)
            return [self._rule_view(r) for r in conn.execute(query.order_by(
                security_group_rules.c.created_at, security_group_rules.c.id))]
        return self.pool.do(thd)

    def delete_security_group_rule(self, context: RequestContext, rule_id: str
                                   ) -> defer.Deferred:
        def thd(conn):
            self._rule_row(conn, context, rule_id)
            conn.execute(sa.delete(security_group_rules).where(
                security_group_rules.c.id == rule_id))
        return self.pool.do(thd)


# -- helpers -------------------------------------------------------------------------


def _retriable(error: Exception) -> bool:
    return isinstance(error, DBDuplicateEntry) or is_deadlock(error)


def _where(query, table: sa.Table, where: dict):
    """Equality filters pushed to SQL: column -> list of accepted values."""
    for column, values in where.items():
        query = query.where(table.c[column].in_(values))
    return query


def _bump(conn: sa.Connection, table: sa.Table, row: Any, values: dict) -> None:
    values = dict(values, updated_at=utcnow(), revision_number=row.revision_number + 1)
    conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))


def _status(host: str, device_owner: str) -> str:
    """A bound port of a server or of the network itself is up (no agent to wait for)."""
    return "ACTIVE" if host and device_owner else "DOWN"


def _free_address(conn: sa.Connection, subnet: Any) -> str | None:
    """The lowest unallocated address of the subnet's pools (not the gateway)."""
    used = {r.ip_address for r in conn.execute(sa.select(ip_allocations.c.ip_address).where(
        ip_allocations.c.subnet_id == subnet.id))}
    if subnet.gateway_ip:
        used.add(subnet.gateway_ip)
    for pool in json.loads(subnet.allocation_pools):
        address = ipaddress.ip_address(pool["start"])
        last = ipaddress.ip_address(pool["end"])
        while address <= last:
            if str(address) not in used:
                return str(address)
            address += 1
    return None


def _insert_group(conn: sa.Connection, project_id: str | None, name: str,
                  description: str, stateful: bool = True) -> str:
    group_id = str(uuid.uuid4())
    now = utcnow()
    conn.execute(sa.insert(security_groups).values(
        id=group_id, project_id=project_id, name=name, description=description,
        stateful=stateful, created_at=now, updated_at=now))
    # Every group lets everything out (Neutron adds these two rules to new groups).
    for ethertype in ("IPv4", "IPv6"):
        conn.execute(sa.insert(security_group_rules).values(
            id=str(uuid.uuid4()), security_group_id=group_id, project_id=project_id,
            direction="egress", ethertype=ethertype, description="",
            created_at=now, updated_at=now))
    return group_id


def _default_group(conn: sa.Connection, project_id: str) -> str:
    """The project's ``default`` group, made on first use: all egress, and ingress from
    members of the group only."""
    found = conn.execute(sa.select(default_security_groups.c.security_group_id).where(
        default_security_groups.c.project_id == project_id)).scalar_one_or_none()
    if found is not None:
        return found
    group_id = _insert_group(conn, project_id, "default", "Default security group")
    now = utcnow()
    for ethertype in ("IPv4", "IPv6"):
        conn.execute(sa.insert(security_group_rules).values(
            id=str(uuid.uuid4()), security_group_id=group_id, project_id=project_id,
            direction="ingress", ethertype=ethertype, remote_group_id=group_id,
            description="", created_at=now, updated_at=now))
    # Two first uses at once: one insert wins, the other transaction is retried.
    conn.execute(sa.insert(default_security_groups).values(
        project_id=project_id, security_group_id=group_id))
    return group_id


def check_nameservers(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise errors.InvalidInput(error_message=f"'{values}' is not a list")
    for value in values:
        try:
            ipaddress.ip_address(value)
        except (ValueError, TypeError):
            raise errors.InvalidInput(error_message=(
                f"'{value}' is not a valid nameserver. '{value}' is not a valid IP "
                "address")) from None
    if len(set(values)) != len(values):
        raise errors.InvalidInput(error_message=f"Duplicate nameserver in {values}")
    return values


def subnet_values(body: dict) -> dict:
    """The checked cidr, version, gateway, pools, nameservers and IPv6 modes of a
    subnet request (Neutron's defaults filled in)."""
    try:
        network = ipaddress.ip_network(body.get("cidr"), strict=False)
    except (ValueError, TypeError):
        raise errors.InvalidInput(error_message=(
            f"'{body.get('cidr')}' is not a valid IP subnet")) from None
    version = body.get("ip_version", 4)
    if version not in (4, 6):
        raise errors.InvalidInput(error_message=f"{version} is not in [4, 6]")
    if network.version != version:
        raise errors.InvalidInput(error_message=(
            f"Cidr {body['cidr']} does not match ip_version {version}"))
    hosts_first = network.network_address + (1 if version == 4 or network.prefixlen < 128
                                             else 0)
    hosts_last = network.broadcast_address - (1 if version == 4 else 0)
    if version == 4 and network.prefixlen >= 31:
        hosts_first, hosts_last = network.network_address, network.broadcast_address
    if "gateway_ip" in body:
        gateway = body["gateway_ip"]
        if gateway is not None:
            try:
                gateway_ip = ipaddress.ip_address(gateway)
            except ValueError:
                raise errors.InvalidInput(error_message=(
                    f"'{gateway}' is not a valid IP address")) from None
            if gateway_ip.version != version:
                raise errors.InvalidInput(error_message=(
                    "Gateway IP version inconsistent with allocation pool version"))
            gateway = str(gateway_ip)
    else:
        gateway = str(hosts_first)
    pools = body.get("allocation_pools")
    if not pools:
        first, last = hosts_first, hosts_last
        pools = []
        if gateway is not None and ipaddress.ip_address(gateway) == first:
            first += 1
        elif gateway is not None and ipaddress.ip_address(gateway) == last:
            last -= 1
        if first <= last:
            if gateway is not None and first < ipaddress.ip_address(gateway) < last:
                g = ipaddress.ip_address(gateway)
                pools = [{"start": str(first), "end": str(g - 1)},
                         {"start": str(g + 1), "end": str(last)}]
            else:
                pools = [{"start": str(first), "end": str(last)}]
    else:
        checked = []
        for pool in pools:
            try:
                start = ipaddress.ip_address(pool["start"])
                end = ipaddress.ip_address(pool["end"])
            except (KeyError, TypeError, ValueError):
                raise errors.InvalidAllocationPool(pool=pool) from None
            if start.version != version or end.version != version or start > end:
                raise errors.InvalidAllocationPool(pool=pool)
            if start not in network or end not in network:
                raise errors.OutOfBoundsAllocationPool(pool=pool, subnet_cidr=str(network))
            if gateway is not None and start <= ipaddress.ip_address(gateway) <= end:
                raise errors.GatewayConflictWithAllocationPools(
                    ip_address=gateway, pool=f"{start}-{end}")
            checked.append({"start": str(start), "end": str(end)})
        pools = checked
    ra_mode = body.get("ipv6_ra_mode")
    address_mode = body.get("ipv6_address_mode")
    for name, mode in (("ipv6_ra_mode", ra_mode), ("ipv6_address_mode", address_mode)):
        if mode is not None and (version != 6 or mode not in IPV6_MODES):
            raise errors.InvalidInput(error_message=f"{mode} is not a valid {name}")
    return {"cidr": str(network), "ip_version": version, "gateway_ip": gateway,
            "allocation_pools": json.dumps(pools),
            "dns_nameservers": json.dumps(check_nameservers(body.get("dns_nameservers"))),
            "host_routes": json.dumps(body.get("host_routes") or []),
            "ipv6_ra_mode": ra_mode, "ipv6_address_mode": address_mode}


PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132,
             "gre": 47, "ah": 51, "esp": 50, "any": None}


def rule_values(body: dict) -> dict:
    """The checked direction, ethertype, protocol, ports and remote of a rule request."""
    direction = body.get("direction")
    if direction not in ("ingress", "egress"):
        raise errors.InvalidInput(error_message=(
            f"{direction} is not in ['ingress', 'egress']"))
    ethertype = body.get("ethertype", "IPv4")
    if ethertype not in ("IPv4", "IPv6"):
        raise errors.InvalidInput(error_message=f"{ethertype} is not in ['IPv4', 'IPv6']")
    protocol = body.get("protocol")
    if protocol is not None:
        protocol = str(protocol).lower()
        if protocol not in PROTOCOLS and not (protocol.isdigit() and int(protocol) <= 255):
            raise errors.InvalidInput(error_message=(
                f"Security group rule protocol {protocol} not supported"))
        if protocol == "any":
            protocol = None
    low, high = body.get("port_range_min"), body.get("port_range_max")
    if (low is not None or high is not None) and protocol in ("tcp", "udp", "sctp", "6",
                                                              "17", "132"):
        if low is None or high is None or not (0 <= low <= high <= 65535):
            raise errors.InvalidInput(error_message=(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max"))
    remote_ip = body.get("remote_ip_prefix")
    if remote_ip is not None:
        try:
            prefix = ipaddress.ip_network(remote_ip, strict=False)
        except ValueError:
            raise errors.InvalidInput(error_message=(
                f"'{remote_ip}' is not a valid IP subnet")) from None
        if f"IPv{prefix.version}" != ethertype:
            raise errors.InvalidInput(error_message=(
                f"Conflicting value ethertype {ethertype} for CIDR {remote_ip}"))
    if remote_ip is not None and body.get("remote_group_id"):
        raise errors.InvalidInput(error_message=(
            "Only remote_ip_prefix or remote_group_id may be provided."))
    return {"direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": low, "port_range_max": high, "remote_ip_prefix": remote_ip,
            "remote_group_id": body.get("remote_group_id"),
            "description": body.get("description", "")}
