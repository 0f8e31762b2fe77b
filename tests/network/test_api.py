"""The embedded network service's Neutron v2.0 API over HTTP."""
from __future__ import annotations

import ipaddress

from twisted.internet import defer
from twisted.trial import unittest

from tests.network.fixture import ADMIN, ALICE, BOB, NetworkServer


class NetworkAPITests(unittest.TestCase):

    async def setUp(self):
        self.server = NetworkServer(self, network_private_cidr_v6="fd00:10::/64")
        await self.server.start()
        self.call = self.server.request

    async def network(self, name="net", token=ALICE, **extra):
        status, body = await self.call("POST", "/v2.0/networks",
                                       {"network": {"name": name, **extra}}, token=token)
        self.assertEqual(201, status, body)
        return body["network"]

    async def subnet(self, network_id, cidr="192.168.1.0/24", token=ALICE, **extra):
        body = {"network_id": network_id, "cidr": cidr, "ip_version":
                ipaddress.ip_network(cidr).version, **extra}
        status, body = await self.call("POST", "/v2.0/subnets", {"subnet": body},
                                       token=token)
        self.assertEqual(201, status, body)
        return body["subnet"]

    async def port(self, network_id, token=ALICE, expect=201, **extra):
        status, body = await self.call("POST", "/v2.0/ports",
                                       {"port": {"network_id": network_id, **extra}},
                                       token=token)
        self.assertEqual(expect, status, body)
        return body["port"] if status == 201 else body

    async def test_discovery(self):
        status, body = await self.call("GET", "/", token=None)
        self.assertEqual(200, status)
        self.assertEqual("v2.0", body["versions"][0]["id"])
        status, body = await self.call("GET", "/v2.0/extensions")
        aliases = {e["alias"] for e in body["extensions"]}
        self.assertLessEqual({"security-group", "binding", "external-net", "provider",
                              "port-security"}, aliases)
        status, body = await self.call("GET", "/v2.0/extensions/binding")
        self.assertEqual((200, "binding"), (status, body["extension"]["alias"]))
        status, body = await self.call("GET", "/v2.0/extensions/nope")
        self.assertEqual(404, status)
        status, body = await self.call("GET", "/v2.0/networks", token=None)
        self.assertEqual(401, status)
        status, body = await self.call("GET", "/v2.0/routers")
        self.assertEqual(404, status)
        self.assertIn("NeutronError", body)

    async def test_seed(self):
        status, body = await self.call("GET", "/v2.0/networks?sort_key=name", token=BOB)
        self.assertEqual(200, status)
        nets = {n["name"]: n for n in body["networks"]}
        self.assertEqual({"public", "private"}, set(nets))
        self.assertTrue(nets["public"]["router:external"])
        self.assertTrue(nets["private"]["shared"])
        self.assertEqual(2, len(nets["private"]["subnets"]))
        _, body = await self.call("GET", "/v2.0/subnets?name=private-subnet", token=BOB)
        subnet = body["subnets"][0]
        self.assertEqual(("10.0.0.0/24", "10.0.0.1"), (subnet["cidr"], subnet["gateway_ip"]))
        self.assertEqual([{"start": "10.0.0.2", "end": "10.0.0.254"}],
                         subnet["allocation_pools"])
        # Anyone may have a port on the shared network: a v4 address and a SLAAC v6 one.
        port = await self.port(nets["private"]["id"], token=BOB)
        self.assertEqual(2, len(port["fixed_ips"]))
        self.assertEqual("10.0.0.2", port["fixed_ips"][0]["ip_address"])
        v6 = ipaddress.ip_address(port["fixed_ips"][1]["ip_address"])
        self.assertIn(v6, ipaddress.ip_network("fd00:10::/64"))
        self.assertEqual(int(port["mac_address"][-8:].replace(":", ""), 16),
                         int(v6) & 0xFFFFFF)  # EUI-64 ends with the MAC's last half
        # Not on someone else's non-shared network, nor changing the seed.
        await self.port(nets["public"]["id"], token=BOB, expect=404)
        status, _ = await self.call("PUT", f"/v2.0/networks/{nets['private']['id']}",
                                    {"network": {"name": "mine"}}, token=BOB)
        self.assertEqual(403, status)

    async def test_network_crud_and_errors(self):
        net = await self.network("n1", description="d")
        self.assertEqual(("project-a", "project-a", "ACTIVE", 1500, [], False),
                         (net["project_id"], net["tenant_id"], net["status"], net["mtu"],
                          net["subnets"], net["shared"]))
        status, body = await self.call("GET", f"/v2.0/networks/{net['id']}", token=ALICE)
        self.assertEqual((200, net), (status, body["network"]))
        status, body = await self.call("GET", f"/v2.0/networks/{net['id']}", token=BOB)
        self.assertEqual(404, status)
        self.assertEqual({"type": "NetworkNotFound",
                          "message": f"Network {net['id']} could not be found.",
                          "detail": ""}, body["NeutronError"])
        status, body = await self.call("PUT", f"/v2.0/networks/{net['id']}",
                                       {"network": {"name": "n2", "mtu": 1400}}, token=ALICE)
        self.assertEqual((200, "n2", 1400, 2),
                         (status, body["network"]["name"], body["network"]["mtu"],
                          body["network"]["revision_number"]))
        for body, code, kind in [
                ({"network": {"bogus": 1}}, 400, "HTTPBadRequest"),
                ({"network": {"shared": True}}, 403, "PolicyNotAuthorized"),
                ({"network": {"admin_state_up": "maybe"}}, 400, "InvalidInput"),
                ({"network": {"project_id": "project-b"}}, 400, "HTTPBadRequest"),
                ({"nothing": {}}, 400, "HTTPBadRequest")]:
            status, error = await self.call("POST", "/v2.0/networks", body, token=ALICE)
            self.assertEqual((code, kind), (status, error["NeutronError"]["type"]), body)
        status, error = await self.call("POST", "/v2.0/networks", raw=b"{",
                                        headers={"content-type": "application/json"})
        self.assertEqual(400, status)
        shared = await self.network("shared", token=ADMIN, shared=True, project_id="x")
        self.assertEqual("x", shared["project_id"])
        status, _ = await self.call("DELETE", f"/v2.0/networks/{net['id']}", token=BOB)
        self.assertEqual(404, status)
        status, _ = await self.call("DELETE", f"/v2.0/networks/{net['id']}", token=ALICE)
        self.assertEqual(204, status)

    async def test_subnets(self):
        net = await self.network()
        subnet = await self.subnet(net["id"], "192.168.1.0/24", name="s",
                                   dns_nameservers=["8.8.8.8"],
                                   allocation_pools=[{"start": "192.168.1.10",
                                                      "end": "192.168.1.20"}])
        self.assertEqual(("192.168.1.1", ["8.8.8.8"], True, 4),
                         (subnet["gateway_ip"], subnet["dns_nameservers"],
                          subnet["enable_dhcp"], subnet["ip_version"]))
        _, body = await self.call("GET", f"/v2.0/networks/{net['id']}", token=ALICE)
        self.assertEqual([subnet["id"]], body["network"]["subnets"])
        v6 = await self.subnet(net["id"], "2001:db8::/64", ipv6_address_mode="dhcpv6-stateful",
                               ipv6_ra_mode="dhcpv6-stateful")
        self.assertEqual("2001:db8::1", v6["gateway_ip"])
        cases = [
            ({"network_id": net["id"], "cidr": "192.168.1.128/25", "ip_version": 4},
             400, "InvalidInput"),  # overlaps
            ({"network_id": net["id"], "cidr": "nope", "ip_version": 4}, 400, "InvalidInput"),
            ({"network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 6}, 400,
             "InvalidInput"),
            ({"network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4,
              "allocation_pools": [{"start": "10.9.1.1", "end": "10.9.1.5"}]}, 400,
             "OutOfBoundsAllocationPool"),
            ({"network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4,
              "gateway_ip": "10.9.0.3",
              "allocation_pools": [{"start": "10.9.0.2", "end": "10.9.0.5"}]}, 409,
             "GatewayConflictWithAllocationPools"),
            ({"network_id": net["id"], "cidr": "10.9.0.0/24"}, 400, "HTTPBadRequest"),
            ({"network_id": "missing", "cidr": "10.9.0.0/24", "ip_version": 4}, 404,
             "NetworkNotFound"),
        ]
        for body, code, kind in cases:
            status, error = await self.call("POST", "/v2.0/subnets", {"subnet": body},
                                            token=ALICE)
            self.assertEqual((code, kind), (status, error["NeutronError"]["type"]), body)
        status, body = await self.call("PUT", f"/v2.0/subnets/{subnet['id']}",
                                       {"subnet": {"name": "renamed",
                                                   "dns_nameservers": ["1.1.1.1"]}},
                                       token=ALICE)
        self.assertEqual((200, "renamed", ["1.1.1.1"]),
                         (status, body["subnet"]["name"], body["subnet"]["dns_nameservers"]))
        status, body = await self.call("PUT", f"/v2.0/subnets/{subnet['id']}",
                                       {"subnet": {"cidr": "10.0.0.0/8"}}, token=ALICE)
        self.assertEqual(400, status)
        port = await self.port(net["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
        status, error = await self.call("DELETE", f"/v2.0/subnets/{subnet['id']}",
                                        token=ALICE)
        self.assertEqual((409, "SubnetInUse"), (status, error["NeutronError"]["type"]))
        status, error = await self.call("DELETE", f"/v2.0/networks/{net['id']}", token=ALICE)
        self.assertEqual((409, "NetworkInUse"), (status, error["NeutronError"]["type"]))
        status, _ = await self.call("DELETE", f"/v2.0/ports/{port['id']}", token=ALICE)
        self.assertEqual(204, status)
        status, _ = await self.call("DELETE", f"/v2.0/subnets/{subnet['id']}", token=ALICE)
        self.assertEqual(204, status)

    async def test_ports(self):
        net = await self.network()
        subnet = await self.subnet(net["id"], "192.168.7.0/29")
        port = await self.port(net["id"], name="p", device_id="server-1",
                               device_owner="compute:nova")
        self.assertTrue(port["mac_address"].startswith("fa:16:3e:"))
        self.assertEqual([{"subnet_id": subnet["id"], "ip_address": "192.168.7.2"}],
                         port["fixed_ips"])
        self.assertEqual(("DOWN", "unbound", ""), (port["status"], port["binding:vif_type"],
                                                   port["binding:host_id"]))
        # The project's default security group, made on first use.
        self.assertEqual(1, len(port["security_groups"]))
        _, body = await self.call("GET", "/v2.0/security-groups", token=ALICE)
        default = body["security_groups"][0]
        self.assertEqual(("default", [port["security_groups"][0]]),
                         (default["name"], [default["id"]]))
        self.assertEqual(4, len(default["security_group_rules"]))
        # A given address, a taken one, one outside the subnet, a given MAC.
        fixed = await self.port(net["id"], fixed_ips=[{"ip_address": "192.168.7.5"}])
        self.assertEqual("192.168.7.5", fixed["fixed_ips"][0]["ip_address"])
        error = await self.port(net["id"], expect=409,
                                fixed_ips=[{"ip_address": "192.168.7.5"}])
        self.assertEqual("IpAddressAlreadyAllocated", error["NeutronError"]["type"])
        error = await self.port(net["id"], expect=400,
                                fixed_ips=[{"subnet_id": subnet["id"],
                                            "ip_address": "10.1.1.1"}])
        self.assertEqual("InvalidIpForSubnet", error["NeutronError"]["type"])
        error = await self.port(net["id"], expect=409, mac_address=port["mac_address"])
        self.assertEqual("MacAddressInUse", error["NeutronError"]["type"])
        error = await self.port(net["id"], expect=403, **{"binding:host_id": "h1"})
        self.assertEqual("PolicyNotAuthorized", error["NeutronError"]["type"])
        # Binding needs an admin (Nova's service user); a bound server port is ACTIVE.
        status, body = await self.call("PUT", f"/v2.0/ports/{port['id']}",
                                       {"port": {"binding:host_id": "h1"}}, token=ADMIN)
        self.assertEqual(200, status, body)
        self.assertEqual(("ACTIVE", "ovs", "h1"),
                         (body["port"]["status"], body["port"]["binding:vif_type"],
                          body["port"]["binding:host_id"]))
        status, body = await self.call("PUT", f"/v2.0/ports/{port['id']}",
                                       {"port": {"fixed_ips": [
                                           {"ip_address": "192.168.7.6"}]}}, token=ALICE)
        self.assertEqual(["192.168.7.6"],
                         [f["ip_address"] for f in body["port"]["fixed_ips"]])
        # Filters.
        _, body = await self.call("GET", "/v2.0/ports?device_id=server-1", token=ALICE)
        self.assertEqual([port["id"]], [p["id"] for p in body["ports"]])
        _, body = await self.call("GET", f"/v2.0/ports?network_id={net['id']}"
                                  "&fixed_ips=ip_address%3D192.168.7.5", token=ALICE)
        self.assertEqual([fixed["id"]], [p["id"] for p in body["ports"]])
        _, body = await self.call("GET", "/v2.0/ports?fields=id&fields=mac_address",
                                  token=ALICE)
        self.assertEqual({"id", "mac_address"}, set(body["ports"][0]))
        status, body = await self.call("GET", "/v2.0/ports?colour=red", token=ALICE)
        self.assertEqual((400, "InvalidFilter"), (status, body["NeutronError"]["type"]))
        # Isolation.
        _, body = await self.call("GET", "/v2.0/ports", token=BOB)
        self.assertEqual([], body["ports"])
        status, _ = await self.call("GET", f"/v2.0/ports/{port['id']}", token=BOB)
        self.assertEqual(404, status)
        status, _ = await self.call("DELETE", f"/v2.0/ports/{port['id']}", token=BOB)
        self.assertEqual(404, status)
        _, body = await self.call("GET", "/v2.0/ports", token=ADMIN)
        self.assertEqual(2, len(body["ports"]))
        status, _ = await self.call("DELETE", f"/v2.0/ports/{port['id']}", token=ALICE)
        self.assertEqual(204, status)
        # Its address is free again.
        again = await self.port(net["id"])
        self.assertEqual("192.168.7.2", again["fixed_ips"][0]["ip_address"])

    async def test_exhaustion(self):
        net = await self.network()
        await self.subnet(net["id"], "192.168.9.0/29")  # .2 to .6: five addresses
        addresses = []
        for _ in range(5):
            port = await self.port(net["id"])
            addresses.append(port["fixed_ips"][0]["ip_address"])
        self.assertEqual([f"192.168.9.{i}" for i in range(2, 7)], addresses)
        error = await self.port(net["id"], expect=409)
        self.assertEqual({"type": "IpAddressGenerationFailure",
                          "message": f"No more IP addresses available on network "
                                     f"{net['id']}.", "detail": ""}, error["NeutronError"])

    async def test_concurrent_allocation(self):
        net = await self.network()
        await self.subnet(net["id"], "192.168.10.0/27")  # 29 addresses
        results = await defer.gatherResults([
            defer.Deferred.fromCoroutine(self.call("POST", "/v2.0/ports", {
                "port": {"network_id": net["id"]}}, token=ALICE)) for _ in range(35)])
        made = [body["port"] for status, body in results if status == 201]
        refused = [body for status, body in results if status == 409]
        self.assertEqual((29, 6), (len(made), len(refused)))
        addresses = [p["fixed_ips"][0]["ip_address"] for p in made]
        self.assertEqual(len(addresses), len(set(addresses)))
        self.assertEqual(len(made), len({p["mac_address"] for p in made}))
        _, body = await self.call("GET", "/v2.0/security-groups", token=ALICE)
        self.assertEqual(["default"], [g["name"] for g in body["security_groups"]])

    async def test_paging_and_sorting(self):
        for i in range(5):
            await self.network(f"n{i}")
        _, body = await self.call("GET", "/v2.0/networks?sort_key=name&sort_dir=desc",
                                  token=ALICE)
        names = [n["name"] for n in body["networks"]]
        self.assertEqual(["public", "private", "n4", "n3", "n2", "n1", "n0"], names)
        seen, url = [], "/v2.0/networks?limit=2&sort_key=name&sort_dir=asc"
        while url:
            status, body = await self.call("GET", url, token=ALICE)
            self.assertEqual(200, status, body)
            seen += [n["name"] for n in body["networks"]]
            links = {link["rel"]: link["href"] for link in body.get("networks_links", [])}
            url = links.get("next", "").replace(self.server.url, "") or None
        self.assertEqual(sorted(names), seen)
        _, body = await self.call("GET", "/v2.0/networks?shared=true", token=ALICE)
        self.assertEqual(["private"], [n["name"] for n in body["networks"]])
        _, body = await self.call("GET", "/v2.0/networks?name=n1&name=n2&sort_key=name",
                                  token=ALICE)
        self.assertEqual(["n1", "n2"], [n["name"] for n in body["networks"]])

    async def test_security_groups(self):
        status, body = await self.call("POST", "/v2.0/security-groups",
                                       {"security_group": {"name": "web"}}, token=ALICE)
        self.assertEqual(201, status, body)
        web = body["security_group"]
        self.assertEqual(2, len(web["security_group_rules"]))  # egress v4 and v6
        status, body = await self.call("POST", "/v2.0/security-group-rules", {
            "security_group_rule": {"security_group_id": web["id"], "direction": "ingress",
                                    "protocol": "tcp", "port_range_min": 80,
                                    "port_range_max": 80,
                                    "remote_ip_prefix": "0.0.0.0/0"}}, token=ALICE)
        self.assertEqual(201, status, body)
        rule = body["security_group_rule"]
        status, body = await self.call("POST", "/v2.0/security-group-rules", {
            "security_group_rule": {"security_group_id": web["id"], "direction": "ingress",
                                    "protocol": "tcp", "port_range_min": 80,
                                    "port_range_max": 80,
                                    "remote_ip_prefix": "0.0.0.0/0"}}, token=ALICE)
        self.assertEqual((409, "SecurityGroupRuleExists"),
                         (status, body["NeutronError"]["type"]))
        status, body = await self.call("POST", "/v2.0/security-group-rules", {
            "security_group_rule": {"security_group_id": web["id"],
                                    "direction": "sideways"}}, token=ALICE)
        self.assertEqual(400, status)
        _, body = await self.call("GET", f"/v2.0/security-group-rules?security_group_id="
                                  f"{web['id']}", token=ALICE)
        self.assertEqual(3, len(body["security_group_rules"]))
        status, _ = await self.call("GET", f"/v2.0/security-groups/{web['id']}", token=BOB)
        self.assertEqual(404, status)
        net = await self.network()
        await self.subnet(net["id"])
        port = await self.port(net["id"], security_groups=[web["id"]])
        self.assertEqual([web["id"]], port["security_groups"])
        error = await self.port(net["id"], expect=404, token=BOB,
                                security_groups=[web["id"]])
        status, error = await self.call("DELETE", f"/v2.0/security-groups/{web['id']}",
                                        token=ALICE)
        self.assertEqual((409, "SecurityGroupInUse"), (status, error["NeutronError"]["type"]))
        await self.call("DELETE", f"/v2.0/ports/{port['id']}", token=ALICE)
        status, _ = await self.call("DELETE", f"/v2.0/security-group-rules/{rule['id']}",
                                    token=ALICE)
        self.assertEqual(204, status)
        status, _ = await self.call("DELETE", f"/v2.0/security-groups/{web['id']}",
                                    token=ALICE)
        self.assertEqual(204, status)
        _, body = await self.call("GET", "/v2.0/security-groups?name=default", token=ALICE)
        default = body["security_groups"][0]
        status, error = await self.call("DELETE", f"/v2.0/security-groups/{default['id']}",
                                        token=ALICE)
        self.assertEqual((409, "SecurityGroupCannotRemoveDefault"),
                         (status, error["NeutronError"]["type"]))


class SeedTests(unittest.TestCase):

    async def test_seeded_once(self):
        first = NetworkServer(self, network_seed=True)
        await first.start()
        _, body = await first.request("GET", "/v2.0/networks?name=public")
        status, _ = await first.request("DELETE", f"/v2.0/networks/{body['networks'][0]['id']}")
        self.assertEqual(204, status)
        await first.service.stopService()
        again = NetworkServer(self, conf=first.conf)
        await again.start()
        _, body = await again.request("GET", "/v2.0/networks")
        self.assertEqual(["private"], [n["name"] for n in body["networks"]])


class ConcurrentAllocationOnServers(unittest.TestCase):
    """Many ports at once on a database server, where transactions really overlap: no
    address or MAC is given twice, and exhaustion is Neutron's 409."""

    async def allocate(self, backend):
        from tests.db.fixtures import fresh_database_url

        url = fresh_database_url(self, backend)
        server = NetworkServer(self, network_database=url)
        await server.start()
        self.assertGreater(server.service.pool.max_threads, 1)
        _, body = await server.request("POST", "/v2.0/networks",
                                       {"network": {"name": "n"}}, token=ALICE)
        net = body["network"]
        status, body = await server.request("POST", "/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "cidr": "192.168.20.0/27", "ip_version": 4}},
            token=ALICE)
        self.assertEqual(201, status, body)
        results = await defer.gatherResults([
            defer.Deferred.fromCoroutine(server.request("POST", "/v2.0/ports", {
                "port": {"network_id": net["id"]}}, token=ALICE)) for _ in range(40)])
        made = [body["port"] for status, body in results if status == 201]
        refused = [body["NeutronError"]["type"] for status, body in results if status != 201]
        self.assertEqual(29, len(made), refused)
        self.assertEqual(["IpAddressGenerationFailure"] * 11, refused)
        addresses = {p["fixed_ips"][0]["ip_address"] for p in made}
        self.assertEqual(29, len(addresses))
        _, body = await server.request("GET", "/v2.0/security-groups", token=ALICE)
        self.assertEqual(["default"], [g["name"] for g in body["security_groups"]])

    async def test_postgresql(self):
        await self.allocate("postgresql")

    async def test_mysql(self):
        await self.allocate("mysql")
