"""The Neutron v2.0 client (nova_tx.network.neutron) against the embedded service."""
from __future__ import annotations

from twisted.trial import unittest
from zope.interface.verify import verifyObject

from nova_tx.context import RequestContext
from nova_tx.network import api
from nova_tx.network.neutron import NeutronNetworkAPI
from tests.network.fixture import NetworkServer

ADMIN = RequestContext(user_id="admin", project_id="admin-project",
                       auth_token="admin:admin-project", roles=["admin"])
ALICE = RequestContext(user_id="alice", project_id="project-a", auth_token="alice:project-a")
BOB = RequestContext(user_id="bob", project_id="project-b", auth_token="bob:project-b")
SERVER = "6d8d5d0f-6c7b-4bb0-8f43-3e0c5d5b0001"


class NeutronClientTests(unittest.TestCase):

    async def setUp(self):
        self.server = NetworkServer(self)
        await self.server.start()
        # The client finds the service through [embedded] network_listen/network_port.
        self.server.conf.set_override("network_port", self.server.service.port,
                                      group="embedded")
        self.neutron = NeutronNetworkAPI(self.server.conf)
        self.addCleanup(self.neutron.close)

    def test_interface(self):
        verifyObject(api.INetworkAPI, self.neutron)

    async def own_network(self, context, name="own", cidr="192.168.50.0/29"):
        network = (await self.neutron._call(context, "POST", "/networks",
                                            body={"network": {"name": name}}))["network"]
        await self.neutron._call(context, "POST", "/subnets", body={"subnet": {
            "network_id": network["id"], "cidr": cidr, "ip_version": 4,
            "dns_nameservers": ["192.0.2.53"]}})
        return network

    async def test_networks(self):
        extensions = {e["alias"] for e in await self.neutron.get_extensions(BOB)}
        self.assertIn("binding", extensions)
        names = sorted(n["name"] for n in await self.neutron.list_networks(BOB))
        self.assertEqual(["private", "public"], names)
        private = (await self.neutron.list_networks(BOB, name="private"))[0]
        self.assertEqual(private, await self.neutron.get_network(BOB, private["id"]))
        with self.assertRaises(api.NetworkNotFound):
            await self.neutron.get_network(BOB, "missing")
        available = await self.neutron.get_available_networks(BOB)
        self.assertEqual(["private"], [n["name"] for n in available])
        own = await self.own_network(ALICE)
        self.assertEqual({"own", "private"}, {n["name"] for n in
                                              await self.neutron.get_available_networks(ALICE)})
        self.assertEqual([own["id"]], [n["id"] for n in
                                       await self.neutron.get_available_networks(
                                           ALICE, [own["id"]])])
        with self.assertRaises(api.NetworkNotFound):
            await self.neutron.get_available_networks(BOB, [own["id"]])

    async def test_allocate_on_the_only_network(self):
        info = await self.neutron.allocate_for_instance(BOB, SERVER, project_id="project-b")
        self.assertEqual(1, len(info))
        vif = info[0]
        self.assertEqual("private", vif["network"]["label"])
        self.assertEqual("10.0.0.2", vif["network"]["subnets"][0]["ips"][0]["address"])
        self.assertEqual("10.0.0.1", vif["network"]["subnets"][0]["gateway"]["address"])
        self.assertEqual("10.0.0.0/24", vif["network"]["subnets"][0]["cidr"])
        self.assertEqual(("unbound", False, False), (vif["type"], vif["active"],
                                                     vif["preserve_on_delete"]))
        self.assertEqual(("tap" + vif["id"])[:14], vif["devname"])
        port = await self.neutron.show_port(BOB, vif["id"])
        self.assertEqual((SERVER, "compute:nova"), (port["device_id"], port["device_owner"]))
        self.assertEqual(info, await self.neutron.get_instance_nw_info(BOB, SERVER))
        # Binding is an admin action (Nova's service user; here an admin caller).
        info = await self.neutron.bind_ports_to_host(ADMIN, SERVER, "compute-1")
        self.assertEqual(("ovs", True, vif["id"]),
                         (info[0]["type"], info[0]["active"], info[0]["ovs_interfaceid"]))
        with self.assertRaises(api.NetworkForbidden):
            await self.neutron.bind_ports_to_host(BOB, SERVER, "compute-2")
        await self.neutron.deallocate_for_instance(BOB, SERVER, network_info=info)
        self.assertEqual([], await self.neutron.list_ports(BOB, device_id=SERVER))

    async def test_ambiguous_and_none(self):
        await self.own_network(ALICE)
        with self.assertRaises(api.NetworkAmbiguous):
            await self.neutron.allocate_for_instance(ALICE, SERVER, project_id="project-a")
        private = (await self.neutron.list_networks(ADMIN, name="private"))[0]
        await self.neutron._call(ADMIN, "PUT", f"/networks/{private['id']}",
                                 body={"network": {"shared": False}})
        self.assertEqual([], await self.neutron.allocate_for_instance(
            BOB, SERVER, project_id="project-b"))

    async def test_requested_networks_ports_and_errors(self):
        own = await self.own_network(ALICE)
        private = (await self.neutron.list_networks(ALICE, name="private"))[0]
        mine = await self.neutron.create_port(ALICE, {"network_id": own["id"],
                                                      "name": "kept"})
        info = await self.neutron.allocate_for_instance(
            ADMIN, SERVER, project_id="project-a", host="compute-1",
            requested_networks=[{"network_id": private["id"], "address": "10.0.0.9"},
                                {"port_id": mine["id"]}],
            security_groups=["default"])
        self.assertEqual(["10.0.0.9", mine["fixed_ips"][0]["ip_address"]],
                         sorted(v["network"]["subnets"][0]["ips"][0]["address"]
                                for v in info))
        kept = [v for v in info if v["id"] == mine["id"]][0]
        self.assertTrue(kept["preserve_on_delete"])
        self.assertEqual([{"address": "192.0.2.53", "type": "dns", "version": 4,
                           "meta": {}}], kept["network"]["subnets"][0]["dns"])
        self.assertTrue(all(v["type"] == "ovs" for v in info))
        # The claimed port is in use; an address in use; the pool exhausted; rollback.
        other = "6d8d5d0f-6c7b-4bb0-8f43-3e0c5d5b0002"
        with self.assertRaises(api.PortInUse):
            await self.neutron.allocate_for_instance(
                ALICE, other, project_id="project-a",
                requested_networks=[{"port_id": mine["id"]}])
        with self.assertRaises(api.FixedIpAlreadyInUse):
            await self.neutron.allocate_for_instance(
                ALICE, other, project_id="project-a",
                requested_networks=[{"network_id": private["id"]},
                                    {"network_id": private["id"], "address": "10.0.0.9"}])
        self.assertEqual([], await self.neutron.list_ports(ALICE, device_id=other))
        for _ in range(4):  # 192.168.50.2-6: two taken, three left
            try:
                await self.neutron.create_port(ALICE, {"network_id": own["id"]})
            except api.NetworkConflict:
                break
        with self.assertRaises(api.NoMoreFixedIps):
            await self.neutron.allocate_for_instance(
                ALICE, other, project_id="project-a",
                requested_networks=[{"network_id": own["id"]}])
        with self.assertRaises(api.SecurityGroupNotFound):
            await self.neutron.allocate_for_instance(
                ALICE, other, project_id="project-a", security_groups=["nope"],
                requested_networks=[{"network_id": private["id"]}])
        # Deallocation deletes what Nova made and keeps (unbound) what the user made.
        await self.neutron.deallocate_for_instance(ADMIN, SERVER, network_info=info)
        self.assertEqual([], await self.neutron.list_ports(ADMIN, device_id=SERVER))
        kept = await self.neutron.show_port(ALICE, mine["id"])
        self.assertEqual(("", "", ""), (kept["device_id"], kept["device_owner"],
                                        kept["binding:host_id"]))

    async def test_endpoint_override_and_catalog(self):
        conf = self.server.conf
        url = self.server.url
        conf.set_override("network_port", 1, group="embedded")
        conf.set_override("http_retries", 0, group="neutron")
        neutron = NeutronNetworkAPI(conf)
        self.addCleanup(neutron.close)
        with self.assertRaises(api.NetworkServiceUnavailable):
            await neutron.list_networks(BOB)
        context = RequestContext(user_id="bob", project_id="project-b",
                                 auth_token="bob:project-b", service_catalog=[
                                     {"type": "network", "endpoints": [
                                         {"interface": "public", "url": url + "/v2.0"}]}])
        self.assertEqual(2, len(await neutron.list_networks(context)))
        conf.set_override("endpoint_override", url + "/", group="neutron")
        self.assertEqual(2, len(await neutron.list_networks(BOB)))


class TLSTests(unittest.TestCase):
    """HTTPS to the network service: cafile, insecure, an unknown authority."""

    async def setUp(self):
        import tempfile

        from twisted.internet import reactor

        from tests.identity.tls import Certificates
        from tests.image.fixture import _rmtree

        directory = tempfile.mkdtemp(prefix="nova-tx-tls-")
        self.addCleanup(_rmtree, directory)
        self.certificates = Certificates(directory)
        self.server = NetworkServer(self)
        await self.server.start()
        site = self.server.service.listener.args[1]
        port = reactor.listenSSL(0, site, self.certificates.server_options(),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.url = f"https://localhost:{port.getHost().port}"
        conf = self.server.conf
        conf.set_override("endpoint_override", self.url, group="neutron")
        conf.set_override("http_retries", 0, group="neutron")

    def client(self) -> NeutronNetworkAPI:
        neutron = NeutronNetworkAPI(self.server.conf)
        self.addCleanup(neutron.close)
        return neutron

    async def test_cafile(self):
        self.server.conf.set_override("cafile", self.certificates.cacert, group="neutron")
        self.assertEqual(2, len(await self.client().list_networks(BOB)))

    async def test_unknown_authority_and_insecure(self):
        self.server.conf.set_override("cafile", self.certificates.other_ca,
                                      group="neutron")
        with self.assertRaises(api.NetworkServiceUnavailable):
            await self.client().list_networks(BOB)
        self.server.conf.set_override("insecure", True, group="neutron")
        self.assertEqual(2, len(await self.client().list_networks(BOB)))
