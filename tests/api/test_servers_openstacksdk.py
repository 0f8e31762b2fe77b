"""openstacksdk and the stock ``openstack`` command (python-openstackclient) against
the servers read, update and delete routes, server metadata, tags and instance
actions, with the microversion they negotiate (the highest both sides know: 2.93)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from twisted.internet import threads
from twisted.trial import unittest

from nova_tx.compute import states
from tests.api.servers_server import SAMPLE_PROJECT, ServersServer
from tests.helpers import unavailable

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")


def connect(url: str, token: str):
    from openstack import connection

    return connection.Connection(
        auth_type="admin_token", auth={"endpoint": url, "token": token},
        compute_endpoint_override=url)


class OpenStackSDKTests(unittest.TestCase):

    def scenario(self, api: ServersServer, web: str, db: str, building: str):
        user = connect(api.base + "/v2.1", "demo:" + SAMPLE_PROJECT)
        try:
            compute = user.compute
            listed = {s.id: s for s in compute.servers()}
            self.assertEqual({web, db, building}, set(listed))
            self.assertEqual("BUILD", listed[building].status)
            self.assertEqual([web], [s.id for s in compute.servers(name="^web")])
            self.assertEqual([db], [s.id for s in compute.servers(status="SHUTOFF")])
            self.assertEqual([web], [s.id for s in compute.servers(tags="red")])
            server = compute.get_server(web)
            self.assertEqual(("web", "ACTIVE", "m1.tiny", ["red"]),
                             (server.name, server.status, server.flavor.original_name,
                              server.tags))
            compute.update_server(server, name="web2", description="front")
            server = compute.get_server(web)
            self.assertEqual(("web2", "front"), (server.name, server.description))
            compute.set_server_metadata(server, role="frontend")
            self.assertEqual({"a": "1", "role": "frontend"},
                             compute.get_server_metadata(server).metadata)
            compute.delete_server_metadata(server, ["a"])
            self.assertEqual({"role": "frontend"},
                             compute.get_server_metadata(server).metadata)
            compute.add_tag_to_server(server, "blue")
            self.assertEqual(["blue", "red"], sorted(compute.get_server(web).tags))
            compute.remove_tag_from_server(server, "red")
            self.assertEqual(["blue"], compute.get_server(web).tags)
            actions = list(compute.server_actions(server))
            self.assertEqual(["create"], [a.action for a in actions])
            compute.delete_server(building)
            compute.delete_server(db)
            self.assertEqual({web}, {s.id for s in compute.servers()})
        finally:
            user.close()

    async def test_sdk(self):
        api = ServersServer(self)
        web = api.add_instance(display_name="web", metadata={"a": "1"}, tags=["red"]).uuid
        api.add_action(web, "req-1")
        db = api.add_instance(display_name="db", vm_state=states.STOPPED).uuid
        building = api.add_build_request(display_name="building").uuid
        await threads.deferToThread(self.scenario, api, web, db, building)


class OpenStackClientTests(unittest.TestCase):
    """The stock ``openstack`` command (python-openstackclient)."""

    def openstack(self, api: ServersServer, *args: str) -> str:
        url = api.base + "/v2.1"
        result = subprocess.run(
            [OPENSTACK, "--os-auth-type", "admin_token", "--os-endpoint", url,
             "--os-token", "demo:" + SAMPLE_PROJECT, "--os-compute-api-version", "2.93",
             *args],
            capture_output=True, text=True, timeout=120,
            env={k: v for k, v in os.environ.items() if not k.startswith("OS_")})
        self.assertEqual(0, result.returncode, (args, result.stdout, result.stderr))
        return result.stdout

    def scenario(self, api: ServersServer, web: str, building: str):
        # (``server list`` needs Keystone's catalog: the all-in-one test runs it.)
        self.openstack(api, "server", "set", "--name", "web2", "--property", "role=front",
                       "--tag", "blue", web)
        self.openstack(api, "server", "unset", "--property", "a", web)
        shown = json.loads(self.openstack(api, "server", "show", web, "-f", "json"))
        self.assertEqual(("web2", "ACTIVE"), (shown["name"], shown["status"]))
        self.assertEqual({"role": "front"}, api.get_instance(
            web, expected_attrs=("metadata",)).metadata)
        self.assertEqual(["blue"], api.get_instance(web, expected_attrs=("tags",)).tags)
        self.openstack(api, "server", "delete", building)
        self.assertTrue(api.get_instance(web).uuid)
        with api.engine.connect() as conn:
            self.assertEqual(0, conn.exec_driver_sql(
                "SELECT count(*) FROM build_requests").scalar())

    async def test_openstack_client(self):
        if not os.path.exists(OPENSTACK):
            unavailable("python-openstackclient is not installed (test extra)")
        api = ServersServer(self)
        web = api.add_instance(display_name="web", metadata={"a": "1"}).uuid
        building = api.add_build_request(display_name="building").uuid
        await threads.deferToThread(self.scenario, api, web, building)
