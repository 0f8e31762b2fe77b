"""openstacksdk against the embedded network service: networks, subnets, ports."""
from __future__ import annotations

from twisted.internet import threads
from twisted.trial import unittest

from tests.network.fixture import NetworkServer


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        network_endpoint_override=url)


class OpenStackSDKNetworkTests(unittest.TestCase):

    async def setUp(self):
        self.server = NetworkServer(self)
        await self.server.start()

    def scenario(self):
        conn = connect(self.server.url, "alice:project-a")
        other = connect(self.server.url, "bob:project-b")
        try:
            self.assertEqual({"public", "private"}, {n.name for n in conn.network.networks()})
            network = conn.network.create_network(name="sdk-net")
            self.assertEqual("project-a", network.project_id)
            subnet = conn.network.create_subnet(network_id=network.id, name="sdk-subnet",
                                                ip_version=4, cidr="10.20.0.0/24",
                                                dns_nameservers=["10.20.0.53"])
            self.assertEqual("10.20.0.1", subnet.gateway_ip)
            self.assertEqual(["sdk-subnet"],
                             [s.name for s in conn.network.subnets(network_id=network.id)])
            found = conn.network.find_network("sdk-net")
            self.assertEqual(network.id, found.id)
            port = conn.network.create_port(network_id=network.id, name="sdk-port")
            self.assertEqual("10.20.0.2", port.fixed_ips[0]["ip_address"])
            self.assertTrue(port.mac_address.startswith("fa:16:3e:"))
            self.assertEqual(port.id, conn.network.get_port(port.id).id)
            self.assertEqual([port.id], [p.id for p in conn.network.ports(
                network_id=network.id)])
            conn.network.update_port(port, name="renamed")
            self.assertEqual("renamed", conn.network.get_port(port.id).name)
            self.assertEqual(["renamed"],
                             [p.name for p in conn.network.ports(name="renamed")])
            self.assertIsNone(other.network.find_network("sdk-net"))
            self.assertEqual([], list(other.network.ports()))
            groups = list(conn.network.security_groups())
            self.assertEqual(["default"], [g.name for g in groups])
            # Paging through the SDK.
            for i in range(3):
                conn.network.create_network(name=f"page-{i}")
            names = [n.name for n in conn.network.networks(limit=2, sort_key="name",
                                                           sort_dir="asc")]
            self.assertEqual(sorted(names), names)
            self.assertEqual(6, len(names))
            conn.network.delete_port(port)
            self.assertIsNone(conn.network.find_port(port.id))
            conn.network.delete_subnet(subnet)
            conn.network.delete_network(network)
            self.assertIsNone(conn.network.find_network("sdk-net"))
        finally:
            conn.close()
            other.close()

    async def test_sdk(self):
        await threads.deferToThread(self.scenario)
