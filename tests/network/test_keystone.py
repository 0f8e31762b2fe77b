"""The companions behind Keystone tokens (the embedded identity): users act with their
own tokens, Nova's service user binds ports, isolation follows the tokens' projects."""
from __future__ import annotations

import os

from twisted.trial import unittest

from nova_tx.conf import api as api_conf
from nova_tx.conf import default, embedded_services, glance, keystone_authtoken, neutron
from nova_tx.context import RequestContext
from nova_tx.image.glance import GlanceImageAPI
from nova_tx.image.service import ImageStoreService
from nova_tx.network import api
from nova_tx.network.neutron import NeutronNetworkAPI
from nova_tx.network.service import NetworkService
from tests.identity.fixtures import PASSWORDS, RunningIdentity
from tests.image.fixture import _rmtree, track_connections

SERVER = "6d8d5d0f-6c7b-4bb0-8f43-3e0c5d5b00aa"


class KeystoneTests(unittest.TestCase):

    async def setUp(self):
        import tempfile

        self.identity = RunningIdentity(self)
        conf = self.conf = self.identity.conf
        for module in (default, embedded_services, glance, neutron, keystone_authtoken,
                       api_conf):
            module.register_opts(conf)
        state = tempfile.mkdtemp(prefix="nova-tx-keystone-")
        self.addCleanup(_rmtree, state)
        conf.set_override("state_path", state)
        conf.set_override("auth_strategy", "keystone", group="api")
        service_user = {"auth_url": self.identity.url + "/v3", "username": "nova",
                        "password": PASSWORDS["nova"], "project_name": "service",
                        "user_domain_name": "Default", "project_domain_name": "Default"}
        for name, value in service_user.items():
            conf.set_override(name, value, group="keystone_authtoken")
            conf.set_override(name, value, group="neutron")
        conf.set_override("auth_type", "password", group="neutron")
        for name in ("image", "network"):
            conf.set_override(f"{name}_listen", "127.0.0.1", group="embedded")
            conf.set_override(f"{name}_port", 0, group="embedded")
        self.network = NetworkService(conf)
        self.image = ImageStoreService(conf)
        for service in (self.network, self.image):
            track_connections(self, service.listener.args[1])
            service.startService()
            self.addCleanup(service.stopService)
            await service.started
            self.assertFalse(service.exit_code)
        conf.set_override("endpoint_override",
                          f"http://127.0.0.1:{self.network.port}", group="neutron")
        conf.set_override("endpoint_override",
                          f"http://127.0.0.1:{self.image.port}", group="glance")
        self.neutron = NeutronNetworkAPI(conf)
        self.addCleanup(self.neutron.close)
        self.glance = GlanceImageAPI(conf)
        self.addCleanup(self.glance.close)

    async def context(self, user: str, project: str) -> RequestContext:
        status, token, body = await self.identity.password_token(user, project=project)
        self.assertEqual(201, status, body)
        return RequestContext(user_id=body["token"]["user"]["id"],
                              project_id=body["token"]["project"]["id"],
                              roles=[r["name"] for r in body["token"]["roles"]],
                              auth_token=token)

    async def test_boot_ports_with_service_user(self):
        demo = await self.context("demo", "demo")
        # A member may not bind; Nova's service user binds for it.
        port = await self.neutron.create_port(demo, {
            "network_id": (await self.neutron.list_networks(demo, name="private"))[0]["id"]})
        with self.assertRaises(api.NetworkForbidden):
            await self.neutron._call(demo, "PUT", f"/ports/{port['id']}",
                                     body={"port": {"binding:host_id": "compute-1"}})
        await self.neutron.delete_port(demo, port["id"])
        info = await self.neutron.allocate_for_instance(
            demo, SERVER, project_id=demo.project_id, host="compute-1")
        self.assertEqual(1, len(info))
        self.assertEqual(("ovs", True), (info[0]["type"], info[0]["active"]))
        port = await self.neutron.show_port(demo, info[0]["id"])
        self.assertEqual((demo.project_id, "compute-1"),
                         (port["project_id"], port["binding:host_id"]))
        groups = await self.neutron.list_security_groups(demo)
        self.assertEqual([demo.project_id], [g["project_id"] for g in groups])
        other = await self.context("demo", "other")
        self.assertEqual([], await self.neutron.list_ports(other))
        await self.neutron.deallocate_for_instance(demo, SERVER, network_info=info)
        self.assertEqual([], await self.neutron.list_ports(demo, device_id=SERVER))

    async def test_images_with_tokens(self):
        demo = await self.context("demo", "demo")
        image = await self.glance.create(demo, {"name": "mine", "disk_format": "raw",
                                                "container_format": "bare"},
                                         data=os.urandom(1000))
        self.assertEqual((demo.project_id, "active"), (image["owner"], image["status"]))
        other = await self.context("demo", "other")
        names = {i["name"] for i in await self.glance.list(other)}
        self.assertEqual({"nova-tx-tiny"}, names)
        admin = await self.context("admin", "admin")
        self.assertEqual({"nova-tx-tiny", "mine"},
                         {i["name"] for i in await self.glance.list(admin)})
